"""Every `t(id, ...)` call in the package, read with `ast`: its id is in every catalog, with
exactly the named parameters the call gives (an id missing or a parameter forgotten is a
KeyError at run time, an exit 70; a parameter given and never shown is a message that lost a
word). Ids built at run time are checked through the ids they can take: those listed (RUNTIME_IDS, or
the module-level constants the code reads) each exactly; for an f-string, the catalog's ids of
its form, of which at least one must take exactly the call's parameters (siblings of the same
form with other parameters, `softmax.rule.title` beside `softmax.softmax.title`, are other
messages)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from tensorshape_cli.messages import CATALOGS

PACKAGE = Path(__file__).resolve().parent.parent / "tensorshape_cli"


# Ids held in a variable or a table: (module, the id's code) → the ids it can be, as a regex
# over the catalog's ids, with where they come from.
def _module_ids(module: str, prefix: str) -> list[str]:
    """The message ids a module keeps as constants (vocabulary.INPLACE = "vocab.inplace", …)."""
    import importlib

    values = vars(importlib.import_module(module)).values()
    return sorted({v for v in values if isinstance(v, str) and v.startswith(prefix)})


def _table_ids(module: str, name: str) -> list[str]:
    import importlib

    table = getattr(importlib.import_module(module), name)
    items = table.values() if isinstance(table, dict) else table
    return sorted({v if isinstance(v, str) else next(x for x in v if isinstance(x, str)) for v in items})


RUNTIME_IDS: dict[tuple[str, str], str | list[str]] = {
    # vocabulary.refusal(path): one of the vocabulary module's constants
    ("expr/parser.py", "reason"): _module_ids("tensorshape_cli.vocabulary", "vocab."),
    ("expr/parser.py", "WRITING_KEYWORDS[kw.arg]"): _table_ids(
        "tensorshape_cli.expr.parser", "WRITING_KEYWORDS"
    ),
    # files._FILE_KINDS (test, id) pairs, or "input.kind_other"
    ("files.py", "kind"): [*_table_ids("tensorshape_cli.files", "_FILE_KINDS"), "input.kind_other"],
    ("ops/demo.py", "what"): _table_ids("tensorshape_cli.ops.demo", "PARTS"),
    # f"normalization.{b.kind}.rule", each call under its own `if b.kind …`
    ("ops/families/normalization.py", "rule"): r"normalization\.[a-z_]+\.rule",
    ("render/rich_format.py", "ERROR_TITLES[error_kind]"): r"render\.error_title\..*",  # ERROR_TITLES
    ("render/rich_format.py", "own"): r"error_title\..*",  # f"error_title.{kind}", when in the catalog
    ("tensorfiles.py", "key"): r"file\.dtype(_convert)?",  # the two ids just above the call
}
# Calls passing **kwargs, read by hand: the parameters they give, or None when the id and its
# parameters travel together (usage.UsageFailure(msg_id, **params), built in compat.py with
# each id's own parameters; tests/test_cli.py runs every usage error).
BY_HAND: dict[tuple[str, str], set[str] | None] = {
    ("usage.py", "self.msg_id"): None,
    # numel, nan, inf and **numbers, whose keys are ("min", "max", "mean", "std")
    ("render/cells.py", "'render.summary'"): {"numel", "nan", "inf", "min", "max", "mean", "std"},
    # each promotion reason travels with its own parameters (pointwise._predict);
    # tests/test_family_pointwise.py formats every reason in both languages
    ("ops/families/pointwise.py", "guess.reason"): None,
}


def _fields(template: str) -> set[str]:
    return {
        re.split(r"[.\[]", f)[0]
        for _, f, _, _ in string.Formatter().parse(template)
        if f is not None and f != ""
    }


def _ids(node: ast.expr, where: tuple[str, str]) -> str | list[str] | None:
    """The ids a call's first argument can be: literal ids, or a regex."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):  # `"a" if c else "b"`: checked apart (see _branches)
        return None
    if isinstance(node, ast.JoinedStr):  # f"reduce.{how}.title": every id of that form
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else r"[A-Za-z0-9_]+" for v in node.values]
        return "".join(parts)
    return RUNTIME_IDS.get(where)  # type: ignore[return-value]


def _branches(catalog: dict[str, str], module: str, line: int, node: ast.IfExp, names: set[str]) -> list[str]:
    """`t("a" if c else "b", **shared)`: each id in the catalog, each showing only parameters
    given, and every parameter given shown by one of them."""
    ids = [v.value for v in (node.body, node.orelse) if isinstance(v, ast.Constant)]
    if len(ids) != 2:
        return [f"{module}:{line}: a conditional id whose branches are not both literal ids"]
    missing = [i for i in ids if i not in catalog]
    if missing:
        return [f"{module}:{line}: {missing} not in the catalog"]
    shown = [_fields(catalog[i]) for i in ids]
    if any(not f <= names for f in shown) or set().union(*shown) != names:
        return [f"{module}:{line}: {ids} take {[sorted(f) for f in shown]}, given {sorted(names)}"]
    return []


def _calls() -> list[tuple[str, int, ast.expr, set[str] | None]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t":
                names = {k.arg for k in node.keywords}
                found.append((module, node.lineno, node.args[0], None if None in names else names))
    return found


CALLS = _calls()


def test_the_scan_finds_the_calls():
    assert len(CALLS) > 500  # the package's message calls, not an empty walk


@pytest.mark.parametrize("lang", sorted(CATALOGS))
def test_every_call_names_an_id_with_exactly_its_parameters(lang):
    catalog = CATALOGS[lang]
    wrong = []
    for module, line, first, names in CALLS:
        where = (module, ast.unparse(first))
        if names is None:
            assert where in BY_HAND, f"{module}:{line}: t(..., **kwargs) not listed in BY_HAND"
            names = BY_HAND[where]
            if names is None:
                continue
        if isinstance(first, ast.IfExp):
            wrong += _branches(catalog, module, line, first, names)
            continue
        ids = _ids(first, where)
        if ids is None:
            wrong.append(f"{module}:{line}: id {where[1]} built at run time, not in RUNTIME_IDS")
            continue
        if isinstance(ids, str):
            matching = [i for i in catalog if re.fullmatch(ids, i)]
            if not any(_fields(catalog[i]) == names for i in matching):
                wrong.append(f"{module}:{line}: no id of the form {ids} takes exactly {sorted(names)}")
            continue
        for msg_id in ids:
            if msg_id not in catalog:
                wrong.append(f"{module}:{line}: {msg_id} is not in the {lang} catalog")
            elif _fields(catalog[msg_id]) != names:
                takes = sorted(_fields(catalog[msg_id]))
                wrong.append(f"{module}:{line}: {msg_id} takes {takes}, given {sorted(names)}")
    assert not wrong, "\n".join(wrong)


def test_errors_are_never_given_an_english_sentence_directly():
    """InputError and OpError messages come from the catalogs: a literal with a space is English."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
                "InputError",
                "OpError",
                "Refused",
            }:
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    texts = [arg] if isinstance(arg, ast.Constant) else []
                    if isinstance(arg, ast.JoinedStr):
                        texts = [v for v in arg.values if isinstance(v, ast.Constant)]
                    if any(isinstance(s.value, str) and " " in s.value.strip() for s in texts):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, found

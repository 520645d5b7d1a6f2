"""What a learner sees: vectors that do not look like matrices, steps numbered once and named,
errors titled in words, large tensors elided, every `>>>` line runnable Python."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
import torch
from conftest import assert_tensor, run_tshape
from rich.console import Console
from test_lang import CORPUS

from tensorshape_cli import settings
from tensorshape_cli.describe import info
from tensorshape_cli.explanation import MISMATCH, OK, Explanation, Step, Table
from tensorshape_cli.messages import EN
from tensorshape_cli.render import plain_format, rich_format
from tensorshape_cli.render.cells import layout

NO_COLOR = {"NO_COLOR": "1", "COLUMNS": "80"}
ROOT = Path(__file__).resolve().parent.parent


def _drawn(t: torch.Tensor) -> str:
    """The rich view's values of t, with no colour: what tells a vector from a matrix."""
    console = Console(file=io.StringIO(), width=80, no_color=True, color_system=None)
    console.print(rich_format.tensor_view(info(t), 80))
    return console.file.getvalue()  # type: ignore[attr-defined]


# --- a vector is not a (1, n) matrix -------------------------------------------------------------


def test_vector_row_and_column_are_drawn_differently_without_colour():
    x = torch.tensor([1, 2, 3])
    vector, row, column = _drawn(x), _drawn(x.unsqueeze(0)), _drawn(x.unsqueeze(1))
    assert len({vector, row, column}) == 3
    # the vector in brackets, as torch prints it, with no row label that reads like a value
    body = vector.splitlines()[-1].split()
    assert body[0] == "[" and body[-1] == "]"
    assert body[1:-1] == [str(v) for v in x.tolist()]
    # the (1, 3) row vector is a matrix: its one row is labelled 0
    assert row.splitlines()[-1].split() == ["0", *map(str, x.tolist())]
    # and the column has one value per line
    assert [line.split()[-1] for line in column.splitlines()[-3:]] == [str(v) for v in x.tolist()]


@pytest.mark.parametrize(("t", "word"), [(torch.zeros(3), "vector"), (torch.zeros(1, 3), "row vector")])
def test_the_shape_line_says_what_the_tensor_is(t, word):
    console = Console(file=io.StringIO(), width=120, no_color=True)
    console.print(rich_format.shape_text(info(t)))
    assert word in console.file.getvalue()  # type: ignore[attr-defined]


def test_plain_writes_a_vector_and_a_row_as_torch_does():
    x = torch.tensor([1, 2, 3])
    assert layout(info(x)) == "[1, 2, 3]"
    assert layout(info(x.unsqueeze(0))) == "[[1, 2, 3]]"


@pytest.mark.parametrize(
    ("args", "vectors"),
    [
        (["unsqueeze", "[1, 2, 3]", "--dim", "0"], 1),
        (["linear"], 1),  # the bias (2,)
        (["broadcast", "[[1], [2]]", "[1, 2, 3]"], 1),  # b (3,)
    ],
)
def test_every_1d_step_is_drawn_as_a_vector(args, vectors):
    r = run_tshape(*args, "-f", "rich", env=NO_COLOR)
    assert r.code == 0, r.stderr
    doc = run_tshape(*args, "--json").doc
    ones = [s for s in doc["steps"] if s["tensor"] and len(s["tensor"]["shape"]) == 1]
    assert len(ones) == vectors
    panels = re.split(r"╭─  \d+\. ", r.stdout)[1:]
    for step in ones:
        panel = next(p for p in panels if p.startswith(step["title"] + "  "))
        lines = [line.strip("│ ").strip() for line in panel.splitlines()]
        bracketed = [line.split() for line in lines if line.startswith("[") and line.endswith("]")]
        # one bracketed line holding its values, as torch prints a vector; no labelled row
        assert [len(b) - 2 for b in bracketed] == [len(step["tensor"]["values"])], panel
        assert ["0", *bracketed[0][1:-1]] not in [line.split() for line in lines], panel


# --- titles: numbered once, each names what it shows --------------------------------------------


@pytest.mark.parametrize("args", CORPUS, ids=[" ".join(a)[:60] for a in CORPUS])
def test_steps_are_numbered_once_and_titled_apart(args):
    r = run_tshape(*args, "--json")
    if r.code == 2:
        return
    for doc in r.docs:
        titles = [s["title"] for s in doc["steps"]]
        assert len(set(titles)) == len(titles), titles
        assert not any(re.match(r"(Step|Paso) \d", title) for title in titles), titles


def test_inputs_are_named():
    doc = run_tshape("weighted", "--json").doc
    titles = [s["title"] for s in doc["steps"][:2]]
    assert titles == [EN["step.input_of"].format(name="x"), EN["step.input_of"].format(name="weights")]


# --- the error panel: words, the id stays in JSON ------------------------------------------------

NOT_CONTIGUOUS = ["view", "[[1, 2, 3], [4, 5, 6]]", "--transpose", "0,1", "--shape", "6"]


def test_the_error_panel_is_titled_in_words():
    r = run_tshape(*NOT_CONTIGUOUS, "-f", "rich", env=NO_COLOR)
    assert r.code == 1
    assert "view_not_contiguous" not in r.stdout
    assert EN["render.error_title.not_contiguous"] in r.stdout
    assert run_tshape(*NOT_CONTIGUOUS, "--json").doc["error"]["kind"] == "view_not_contiguous"


def test_every_error_kind_has_a_title_in_words():
    """Every kind an op can give (read from the source) maps to a title in the catalog."""
    source = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "tensorshape_cli").rglob("*.py"))
    kinds = set(re.findall(r'OpError\(\s*"([a-z_]+)"', source)) | set(re.findall(r'kind="([a-z_]+)"', source))
    kinds |= set(re.findall(r'kind: str = "([a-z_]+)"', source))
    assert {"view_not_contiguous", "broadcast_mismatch", "torch_error"} <= kinds
    own = {k.removeprefix("error_title.") for k in EN if k.startswith("error_title.")}
    titled = set(rich_format.ERROR_TITLES) | own
    assert kinds <= titled, kinds - titled
    assert all(title in EN for title in rich_format.ERROR_TITLES.values())


# --- a refused view: memory order first, then the rule, then both fixes --------------------------


def test_a_refused_view_shows_memory_order_then_the_rule_then_both_fixes():
    xt = torch.tensor([[1, 2, 3], [4, 5, 6]]).transpose(0, 1)
    with pytest.raises(RuntimeError):
        xt.view(6)
    doc = run_tshape(*NOT_CONTIGUOUS, "--json").doc
    steps = doc["steps"]
    order = next(i for i, s in enumerate(steps) if s["table"])
    table = steps[order]["table"]
    memory = [str(v) for v in xt.as_strided((6,), (1,)).tolist()]  # 1 2 3 4 5 6
    read = [str(v) for v in xt.reshape(-1).tolist()]  # 1 4 2 5 3 6
    assert memory != read
    assert table["rows"][0][1:] == memory
    assert table["rows"][1][1:] == read
    assert table["status"] == [OK, MISMATCH]
    rule = next(i for i, s in enumerate(steps) if "stride[i+1]" in s["note"])
    fixes = [i for i, s in enumerate(steps) if s["code"] in ("x.reshape(6)", "x.contiguous().view(6)")]
    assert order < rule < fixes[0] < fixes[1]
    assert_tensor(steps[fixes[0]]["tensor"], xt.reshape(6))
    assert_tensor(steps[fixes[1]]["tensor"], xt.contiguous().view(6))
    # the transposed x is shown once, not again as the Input
    shown = [s for s in steps if s["tensor"] and s["tensor"]["stride"] == list(xt.stride())]
    assert len(shown) == 1


# --- large tensors: elided as torch prints, on one screen ----------------------------------------


def test_a_thousand_values_are_not_printed_twice_and_fit_a_screen():
    x = torch.arange(1000)
    y = x.view(10, -1)
    r = run_tshape("view", "arange(1000)", "--shape", "10,-1", "-f", "rich", env=NO_COLOR)
    assert r.code == 0
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) <= 45  # the whole explanation, its two tensors elided to a few lines each
    numbers = re.findall(r"(?<![\d.,(])\d+(?![\d.,)])", r.stdout)
    # torch's elision: the first and last 3 of each long dimension; 999 and 500 as torch prints
    assert str(int(y[-1, -1])) in numbers and str(int(y[5, 50])) not in numbers
    assert len(numbers) < 120
    plain = run_tshape("view", "arange(1000)", "--shape", "10,-1", "-f", "plain")
    torch.set_printoptions(threshold=100)
    try:
        expected = repr(y).removeprefix("tensor(").removesuffix(")")
    finally:
        torch.set_printoptions(profile="default")
    # the same first and last items torch prints for a large tensor, line by line
    wanted = [line.strip() for line in expected.splitlines()]
    got = [line.strip() for line in plain.stdout.splitlines()]
    start = got.index(wanted[0])
    assert got[start : start + len(wanted)] == wanted


def test_rich_width_is_capped():
    r = run_tshape("demo", "-f", "rich", env={"COLUMNS": "100000"})
    assert r.code == 0
    assert max(len(line) for line in r.stdout.splitlines()) <= rich_format.MAX_WIDTH
    assert len(r.stdout) < 400_000  # today's 51 MB came from lines 100,000 wide


# --- every >>> line is Python that runs ----------------------------------------------------------


def _tensor(doc_tensor: dict) -> torch.Tensor:
    return torch.tensor(doc_tensor["values"], dtype=getattr(torch, doc_tensor["dtype"]))


@pytest.mark.parametrize("args", CORPUS, ids=[" ".join(a)[:60] for a in CORPUS])
def test_every_code_line_is_python_and_gives_the_steps_tensor(args):
    r = run_tshape(*args, "--json")
    if r.code == 2:
        return
    for doc in r.docs:
        names: dict[str, object] = {"torch": torch}
        if all(i["values"] is not None for i in doc["inputs"].values()):
            names.update({n: _tensor(i) for n, i in doc["inputs"].items()})
        for step in doc["steps"]:
            code = step["code"]
            tree = ast.parse(code)  # raises on `6 // 3 = 2`
            assert len(tree.body) == 1, code
            stmt = tree.body[0]
            assert isinstance(stmt, (ast.Expr, ast.Assign)), code
            assert not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)), code
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            if not used <= set(names) or doc["op"] == "expr":
                continue  # names the explanation defines elsewhere (m, W, tensors)
            try:
                if isinstance(stmt, ast.Assign):
                    exec(compile(tree, "<step>", "exec"), {}, names)  # our own step code, in a test
                    value = names[stmt.targets[0].id] if isinstance(stmt.targets[0], ast.Name) else None
                else:
                    value = eval(compile(ast.Expression(stmt.value), "<step>", "eval"), {}, names)
            except RuntimeError:
                assert doc["error"] is not None, code  # only the step that fails may raise
                break
            tensor = step["tensor"]
            if isinstance(value, torch.Tensor) and tensor is not None and tensor["values"] is not None:
                assert_tensor(tensor, value)


# --- the demo says what it is and marks its parts ------------------------------------------------


def test_demo_opens_with_what_it_is_and_marks_its_parts():
    r = run_tshape("demo", "-f", "plain")
    assert r.code == 0
    lines = r.stdout.splitlines()
    n = len(run_tshape("demo", "--json").docs)
    assert lines[0] == EN["demo.intro"].format(n=n)
    parts = [line for line in lines if line.startswith("== ")]
    assert len(parts) == n
    assert parts[0] == "== " + EN["demo.part"].format(i=1, n=n, what=EN["demo.part.unsqueeze_vector"]) + " =="
    rich = run_tshape("demo", "-f", "rich", env=NO_COLOR)
    assert rich.stdout.splitlines()[0].startswith("tshape demo")
    assert f"1/{n} {EN['demo.part.unsqueeze_vector']}" in rich.stdout


# --- table rows carry a status; renderers choose the glyph ---------------------------------------


def test_a_mismatch_row_is_data_and_each_renderer_marks_it():
    table = Table(["dim", "a", "b", "result"], [])
    table.add(["0", "2", "3", ""], MISMATCH)
    table.add(["1", "4", "4", "4"])
    assert table.to_dict()["status"] == [MISMATCH, OK]
    ex = Explanation("broadcast", "a + b", steps=[Step("s", "a + b", None, "", table)])
    with settings.use(settings.Settings()):
        out = io.StringIO()
        plain_format.render(ex, out)
        row = next(line for line in out.getvalue().splitlines() if line.strip().startswith("0 "))
        assert row.split()[-1] == "✗"
        coloured = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
        rich_format.draw(ex, coloured)
        text = coloured.file.getvalue()  # type: ignore[attr-defined]
        assert "✗" in text and "\x1b[31m" in text  # red

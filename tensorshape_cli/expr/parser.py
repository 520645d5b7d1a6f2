"""Parse an expression with `ast`, check it against the syntax whitelist and the limits, then
look up every torch name it uses in the vocabulary: all before any tensor is read.

Nothing is ever passed to eval or exec. What is refused is named, with why (exit 2).
"""

from __future__ import annotations

import ast
import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.text import clip, fmt_count

MAX_CHARS = 1000
MAX_DEPTH = 32  # nesting of the syntax tree
MAX_NODES = 400
INT64_MAX = 2**63 - 1  # the largest size or index torch holds: a larger literal is never one

# The roots a dotted name may start from, and what they stand for (F. and nn. as torch's
# own documentation spells them), unless the user bound that name to a tensor.
ROOTS = {"torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn"}
OPERATORS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.MatMult: "@",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.USub: "-",
    ast.Invert: "~",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
# Named in the refusal: operators outside the whitelist.
REFUSED_OPERATORS = {
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Not: "not",
    ast.UAdd: "+x",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
# Constructs refused by kind; their names are messages "expr.what.<Kind>".
REFUSED_NODES = frozenset(
    {
        *("Lambda", "ListComp", "SetComp", "DictComp", "GeneratorExp", "BoolOp", "IfExp"),
        *("Dict", "Set", "JoinedStr", "FormattedValue", "NamedExpr", "Await", "Yield", "YieldFrom"),
        "Starred",
    }
)
# Keyword arguments that would write into a tensor: refused whatever the function.
WRITING_KEYWORDS = {"out": "expr.why.out", "inplace": "expr.why.inplace"}


class Refused(InputError):
    """A construct outside the whitelist: exit 2, naming it."""


@dataclass
class Program:
    """A checked expression: its tree, and the vocabulary entry of every torch name in it."""

    source: str
    tree: ast.Expression
    names: set[str]
    entries: dict[int, Any] = field(default_factory=dict)  # id(node) → vocabulary Entry
    constants: dict[int, Any] = field(default_factory=dict)  # id(node) → torch.float32, torch.inf…


def vocabulary() -> ModuleType:
    """torch's vocabulary, read from its own metadata (tensorshape_cli/vocabulary.py)."""
    return importlib.import_module("tensorshape_cli.vocabulary")


def compile_expr(source: str, names: Sequence[str]) -> Program:
    """Parse, check the syntax, then look up the torch names; any refusal is exit 2."""
    if len(source) > MAX_CHARS:
        raise Refused(t("expr.too_long", size=fmt_count(len(source)), limit=fmt_count(MAX_CHARS)))
    if not source.strip():
        raise Refused(t("expr.empty"))
    source = source.strip()
    try:
        with warnings.catch_warnings():  # a SyntaxWarning would be a second line on stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        message = e.msg or "invalid syntax"
        if "nested" in message:
            raise Refused(t("expr.too_deep", limit=MAX_DEPTH)) from None
        raise Refused(t("expr.syntax", col=e.offset or 0, error=message)) from None
    except (RecursionError, MemoryError, ValueError):
        raise Refused(t("expr.too_deep", limit=MAX_DEPTH)) from None
    _check_size(tree)
    program = Program(source, tree, set(names))
    checker = _Checker(program)
    checker.check(tree.body, "value")
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    unused = [name for name in names if name not in used]
    if unused:  # an unused binding still costs its memory, and is most often a typo
        raise Refused(t("expr.unused", names=", ".join(unused)))
    return program


def _check_size(tree: ast.AST) -> None:
    """Depth and node count, walked without recursion (the tree may be deep)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise Refused(t("expr.too_deep", limit=MAX_DEPTH))
        if count > MAX_NODES:
            raise Refused(t("expr.too_many_nodes", limit=MAX_NODES))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def dotted(node: ast.expr, bound: set[str]) -> str:
    """`F.softmax` → 'torch.nn.functional.softmax'; '' when not rooted in torch, F or nn."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in ROOTS and node.id not in bound:
        return ".".join([ROOTS[node.id], *reversed(parts)])
    return ""


class _Checker:
    """The whitelist, applied to the tree before anything runs: the syntax, then each torch
    name in the vocabulary (the first lookup imports torch; no tensor is read yet)."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.names = program.names

    def refuse(self, node: ast.AST, what: str, why: str = "") -> Refused:
        col = getattr(node, "col_offset", 0) + 1
        code = ast.get_source_segment(self.program.source, node) or ""
        return Refused(
            t("expr.refused", what=what, col=col, code=clip(code, 30), why=why or t("expr.why.help"))
        )

    def check(self, node: ast.AST, role: str) -> None:
        if isinstance(node, ast.Constant):
            self.constant(node, role)
        elif isinstance(node, ast.Name):
            if node.id in ROOTS and node.id not in self.names:
                raise self.refuse(node, t("expr.what.torch_alone"), t("expr.why.calls"))
            if node.id not in self.names:
                raise Refused(
                    t("expr.unknown_name", name=node.id, col=node.col_offset + 1, known=_known(self.names))
                )
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.check(elt, role)
        elif isinstance(node, ast.BinOp):
            self.operator(node, node.op)
            self.check(node.left, "value")
            self.check(node.right, "value")
        elif isinstance(node, ast.UnaryOp):
            self.operator(node, node.op)
            self.check(node.operand, "value")
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                self.operator(node, op)
            for part in (node.left, *node.comparators):
                self.check(part, "value")
        elif isinstance(node, ast.Subscript):
            self.check(node.value, "value")
            self.check(node.slice, "index")
        elif isinstance(node, ast.Slice):
            if role != "index":
                raise self.refuse(node, t("expr.what.slice"))
            for bound in (node.lower, node.upper, node.step):
                if bound is not None:
                    self.check(bound, "value")
        elif isinstance(node, ast.Attribute):
            self.attribute(node, "attribute")
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            kind = type(node).__name__
            what = t(f"expr.what.{kind}") if kind in REFUSED_NODES else t("expr.what.node", kind=kind)
            raise self.refuse(node, what)

    def operator(self, node: ast.AST, op: ast.AST) -> None:
        if type(op) not in OPERATORS:
            symbol = REFUSED_OPERATORS.get(type(op), "?")
            raise self.refuse(node, t("expr.what.operator", op=symbol), t("expr.why.operators"))

    def constant(self, node: ast.Constant, role: str) -> None:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            digits = len(str(abs(value)))
            raise Refused(
                t("expr.int_too_big", code=clip(str(value), 12), col=node.col_offset + 1, digits=digits)
            )
        if isinstance(value, (bool, int, float, complex)):  # 2j: torch.full((2,), 1 + 2j)
            return
        if isinstance(value, str) and role == "argument":  # where torch takes one: checked per call
            return
        if (value is None or value is Ellipsis) and role in ("index", "argument"):
            return
        if isinstance(value, str):
            raise self.refuse(node, t("expr.what.string"), t("expr.why.string"))
        raise self.refuse(node, t("expr.what.constant", value=clip(repr(value), 12)))

    def attribute(self, node: ast.Attribute, use: str) -> None:
        """x.T, x.view(…), torch.cat(…), F.softmax(…), nn.Linear(…): never a private name.
        The outermost name is judged first, so the refusal names what the user reached for."""
        path = dotted(node, self.names)
        if any(part.startswith("_") for part in (path.split(".") if path else [node.attr])):
            what = t("expr.what.torch_attribute", name=path.removeprefix("torch."))
            raise self.refuse(
                node, what if path else t("expr.what.attribute", name=node.attr), t("expr.why.private")
            )
        if path:
            constant = _torch_constant(path) if use != "call" else None
            if constant is not None:  # torch.float32, torch.inf, torch.channels_last: a value
                self.program.constants[id(node)] = constant
                return
            if use != "call":  # torch.cat without a call: module attributes are called here
                what = t("expr.what.torch_attribute", name=path.removeprefix("torch."))
                raise self.refuse(node, what, t("expr.why.calls"))
            self.look_up(node, path, use)
            return
        self.look_up(node, f"torch.Tensor.{node.attr}", use)
        self.check(node.value, "value")

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            self.attribute(func, "call")
        elif isinstance(func, ast.Call):  # nn.Linear(4, 2)(x): a layer built here, then called
            self.call(func)
        elif isinstance(func, ast.Name):
            raise self.refuse(node, t("expr.what.call_name", name=func.id), t("expr.why.calls"))
        else:
            raise self.refuse(node, t("expr.what.call_other"), t("expr.why.calls"))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, t("expr.what.Starred"))
            self.check(arg, "argument")
        for kw in node.keywords:
            if kw.arg is None:
                raise self.refuse(node, t("expr.what.double_star"))
            if kw.arg in WRITING_KEYWORDS:
                raise self.refuse(node, t("expr.what.keyword", name=kw.arg), t(WRITING_KEYWORDS[kw.arg]))
            self.check(kw.value, "argument")

    def look_up(self, node: ast.AST, path: str, use: str) -> None:
        """A torch name, in torch's vocabulary: refused with why when it is not there."""
        vocab = vocabulary()
        entry = vocab.lookup(path)
        method = path.startswith("torch.Tensor.")
        name = path.removeprefix("torch.Tensor.") if method else path.removeprefix("torch.")
        if entry is None:
            reason = vocab.refusal(path)
            why = t(reason, name=name) if reason else t("expr.why.unknown")
            what = t("expr.what.attribute", name=name) if method else t("expr.what.torch_function", name=name)
            raise self.refuse(node, what, why)
        if entry.kind == "property" and use == "call":
            raise self.refuse(
                node, t("expr.what.attribute_called", name=name), t("expr.why.attribute", name=name)
            )
        if entry.kind != "property" and use != "call":
            raise self.refuse(node, t("expr.what.method_uncalled", name=name), t("expr.why.call", name=name))
        self.program.entries[id(node)] = entry


def _torch_constant(path: str) -> Any | None:
    """torch's own constants, written as torch spells them: a dtype (torch.float32,
    torch.long), a memory format (torch.channels_last), a layout (torch.strided; a result
    of another layout is refused when it is made), a float (torch.inf, torch.nan, torch.pi).
    None for anything else, functions and modules included."""
    module, _, name = path.rpartition(".")
    if module != "torch":
        return None
    import torch

    value = getattr(torch, name, None)
    if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)) or type(value) is float:
        return value
    return None


def _known(names: set[str]) -> str:
    return ", ".join(sorted(names)) if names else t("expr.no_names")

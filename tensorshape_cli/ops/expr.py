"""tshape expr: a whole tensor expression, parsed with `ast` and explained step by step.

Nothing is ever passed to eval or exec. The syntax tree is checked against a whitelist first
(names bound with -t; int, float and tuple literals; + - * / @ and unary minus; indexing with
ints and slices; a few tensor methods and torch functions), then walked node by node: each
operation is done by torch on the tensors, innermost first, and becomes a step. Before an
operation allocates or reads its data, the sizes it would touch are worked out from the shapes
alone, so that more than --max-elements is refused before any memory is taken.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import align, mismatch_error
from tensorshape_cli.ops._common import torch_error
from tensorshape_cli.text import fmt_args, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

MAX_CHARS = 1000
MAX_DEPTH = 32  # nesting of the syntax tree
MAX_NODES = 400
MAX_EINSUM_WORK = 10**10  # index combinations an einsum may visit
COLUMN_WIDTH = 24  # an operand's code as a table column, clipped

METHODS = frozenset(
    {
        *("squeeze", "unsqueeze", "reshape", "view", "flatten", "permute", "transpose", "expand"),
        *("matmul", "sum", "mean", "contiguous", "size", "dim", "float", "int"),
    }
)
ATTRIBUTES = frozenset({"T", "shape"})
TORCH_FUNCTIONS = frozenset(
    {
        *("cat", "stack", "matmul", "einsum", "broadcast_to", "sum", "mean", "zeros", "ones", "arange"),
        *("unsqueeze", "squeeze", "reshape", "flatten", "permute", "transpose"),
    }
)
FACTORIES = frozenset({"zeros", "ones", "arange"})
# Operations that return a view or a plain value: they allocate nothing and touch no data.
VIEWS = frozenset(
    {"view", "unsqueeze", "squeeze", "permute", "transpose", "T", "expand", "broadcast_to", "index"}
    | {"shape", "size", "dim"}
)
KEYWORDS = frozenset(
    {
        "dim",
        "keepdim",
        "start_dim",
        "end_dim",
        "dim0",
        "dim1",
        "dims",
        "size",
        "shape",
        "start",
        "end",
        "step",
    }
)
BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@"}
_FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "@": operator.matmul,
}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# How a refused construct is named in the one line on stderr.
REFUSED_OPERATORS = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
    ast.UAdd: "+x",
}
# Constructs refused by kind; their names are messages "expr.what.<Kind>".
REFUSED_NODES = frozenset(
    {
        *("Lambda", "ListComp", "SetComp", "DictComp", "GeneratorExp", "Compare", "BoolOp", "IfExp"),
        *("Dict", "Set", "JoinedStr", "FormattedValue", "NamedExpr", "Await", "Yield", "YieldFrom"),
        "Starred",
    }
)


class Refused(InputError):
    """A construct outside the whitelist: exit 2, naming it."""


@dataclass
class Operand:
    code: str
    value: Any


class Failure(Exception):
    """An operation torch (or a rule) refused: pinpointed, explained, exit 1."""

    def __init__(
        self,
        node: ast.expr,
        kind: str,
        operands: list[Operand],
        error: BaseException,
        call_args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(error))
        self.node, self.kind, self.operands, self.error = node, kind, operands, error
        self.call_args = call_args or []
        self.kwargs = kwargs or {}


# --- reading the command line --------------------------------------------------------------


def bindings(specs: Sequence[str]) -> list[tuple[str, str]]:
    """`-t NAME=TENSOR` options → [(name, tensor text)], names checked."""
    seen: dict[str, str] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        if not sep or not text.strip():
            raise InputError(t("expr.binding", spec=_clip(spec)))
        if not NAME.match(name) or keyword.iskeyword(name) or name == "torch":
            raise InputError(t("expr.binding_name", name=_clip(name)))
        if name in seen:
            raise InputError(t("expr.binding_twice", name=name))
        seen[name] = text
    return list(seen.items())


def compile_expr(source: str, names: Sequence[str]) -> ast.Expression:
    """Parse and check against the whitelist; any refusal is exit 2, naming the construct."""
    if len(source) > MAX_CHARS:
        raise Refused(t("expr.too_long", size=fmt_count(len(source)), limit=fmt_count(MAX_CHARS)))
    if not source.strip():
        raise Refused(t("expr.empty"))
    try:
        with warnings.catch_warnings():  # a SyntaxWarning would be a second line on stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        message = e.msg or "invalid syntax"
        if "nested" in message:
            raise Refused(t("expr.too_deep", limit=MAX_DEPTH)) from None
        raise Refused(t("expr.syntax", col=e.offset or 0, error=message)) from None
    except (RecursionError, MemoryError, ValueError):
        raise Refused(t("expr.too_deep", limit=MAX_DEPTH)) from None
    _check_size(tree)
    _Checker(source.strip(), set(names)).check(tree.body, "value")
    return tree


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


class _Checker:
    """The whitelist, applied to the tree before anything runs."""

    def __init__(self, source: str, names: set[str]) -> None:
        self.source = source
        self.names = names

    def refuse(self, node: ast.AST, what: str, why: str = "") -> Refused:
        col = getattr(node, "col_offset", 0) + 1
        code = ast.get_source_segment(self.source, node) or ""
        return Refused(
            t("expr.refused", what=what, col=col, code=_clip(code, 30), why=why or t("expr.why.help"))
        )

    def check(self, node: ast.AST, role: str) -> None:
        if isinstance(node, ast.Constant):
            self.constant(node, role)
        elif isinstance(node, ast.Name):
            if node.id == "torch":
                raise self.refuse(
                    node, t("expr.what.torch_alone"), t("expr.why.functions", allowed=_allowed_functions())
                )
            if node.id not in self.names:
                raise Refused(
                    t("expr.unknown_name", name=node.id, col=node.col_offset + 1, known=_known(self.names))
                )
        elif isinstance(node, (ast.Tuple, ast.List)):
            if role == "index" and isinstance(node, ast.List):
                raise self.refuse(node, t("expr.what.list_index"))
            for elt in node.elts:
                self.check(elt, "index" if role == "index" else "value")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY:
                raise self.refuse(
                    node,
                    t("expr.what.operator", op=REFUSED_OPERATORS.get(type(node.op), "?")),
                    t("expr.why.operators"),
                )
            self.check(node.left, "value")
            self.check(node.right, "value")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub):
                raise self.refuse(node, t("expr.what.operator", op=REFUSED_OPERATORS.get(type(node.op), "?")))
            self.check(node.operand, "value")
        elif isinstance(node, ast.Subscript):
            self.check(node.value, "value")
            self.check(node.slice, "index")
        elif isinstance(node, ast.Slice):
            if role != "index":
                raise self.refuse(node, t("expr.what.slice"))
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.check(part, "value")
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            kind = type(node).__name__
            what = t(f"expr.what.{kind}") if kind in REFUSED_NODES else t("expr.what.node", kind=kind)
            raise self.refuse(node, what)

    def constant(self, node: ast.Constant, role: str) -> None:
        value = node.value
        if isinstance(value, (bool, int, float)):
            return
        if isinstance(value, str) and role == "equation":
            return
        if (value is None or value is Ellipsis) and role == "index":
            return
        if isinstance(value, str):
            raise self.refuse(node, t("expr.what.string"), t("expr.why.string"))
        if isinstance(value, complex):
            raise self.refuse(node, t("expr.what.complex"))
        raise self.refuse(node, t("expr.what.constant", value=_clip(repr(value), 12)))

    def attribute(self, node: ast.Attribute) -> None:
        dotted = _torch_path(node)
        if dotted:
            raise self.refuse(
                node,
                t("expr.what.torch_attribute", name=dotted),
                t("expr.why.functions", allowed=_allowed_functions()),
            )
        if node.attr in ATTRIBUTES:
            self.check(node.value, "value")
            return
        if node.attr in METHODS:
            raise self.refuse(
                node, t("expr.what.method_uncalled", name=node.attr), t("expr.why.call", name=node.attr)
            )
        raise self.refuse(
            node, t("expr.what.attribute", name=node.attr), t("expr.why.methods", allowed=_allowed_methods())
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            raise self.refuse(node, t("expr.what.call_name", name=func.id), t("expr.why.calls"))
        if not isinstance(func, ast.Attribute):
            raise self.refuse(node, t("expr.what.call_other"), t("expr.why.calls"))
        dotted = _torch_path(func)
        if dotted and not isinstance(func.value, ast.Name):  # torch.nn.functional.relu(...)
            raise self.refuse(
                node,
                t("expr.what.torch_function", name=dotted),
                t("expr.why.functions", allowed=_allowed_functions()),
            )
        if isinstance(func.value, ast.Name) and func.value.id == "torch":
            if func.attr not in TORCH_FUNCTIONS:
                raise self.refuse(
                    node,
                    t("expr.what.torch_function", name=func.attr),
                    t("expr.why.functions", allowed=_allowed_functions()),
                )
            einsum = func.attr == "einsum"
        else:
            if func.attr in ATTRIBUTES:
                raise self.refuse(
                    node,
                    t("expr.what.attribute_called", name=func.attr),
                    t("expr.why.attribute", name=func.attr),
                )
            if func.attr not in METHODS:
                raise self.refuse(
                    node,
                    t("expr.what.attribute", name=func.attr),
                    t("expr.why.methods", allowed=_allowed_methods()),
                )
            self.check(func.value, "value")
            einsum = False
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, t("expr.what.Starred"))
            self.check(arg, "equation" if einsum and i == 0 else "value")
        for kw in node.keywords:
            if kw.arg is None:
                raise self.refuse(node, t("expr.what.double_star"))
            if kw.arg not in KEYWORDS:
                raise self.refuse(
                    node,
                    t("expr.what.keyword", name=kw.arg),
                    t("expr.why.keywords", allowed=", ".join(sorted(KEYWORDS))),
                )
            self.check(kw.value, "value")


# --- evaluating, step by step --------------------------------------------------------------


def explain(source: str, tensors: dict[str, torch.Tensor]) -> Explanation:
    tree = compile_expr(source, list(tensors))
    source = source.strip()
    ex = Explanation(
        op="expr", call=source, title=t("expr.title"), inputs={n: info(x) for n, x in tensors.items()}
    )
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for name, x in tensors.items():
        if name in used:
            ex.steps.append(
                Step(
                    t("step.input_of", name=name),
                    name,
                    info(x),
                    t("broadcastop.input", name=name, shape=fmt_shape(x.shape), n=x.dim()),
                )
            )
    walker = _Walker(source, tensors, ex)
    try:
        value = walker.value(tree.body)
    except Failure as failure:
        walker.explain_failure(failure)
        return ex
    import torch

    if isinstance(value, torch.Tensor):
        ex.result = info(value)
    return ex


class _Walker:
    def __init__(self, source: str, tensors: dict[str, torch.Tensor], ex: Explanation) -> None:
        self.source = source
        self.tensors = tensors
        self.ex = ex

    def code(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    # values ------------------------------------------------------------------------------

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.tensors[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.UnaryOp):
            return self.negate(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Subscript):
            return self.index(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise Refused(t("expr.refused", what=type(node).__name__, col=node.col_offset + 1, code=""))

    def negate(self, node: ast.UnaryOp) -> Any:
        inner = self.value(node.operand)
        if not _is_tensor(inner):
            if isinstance(inner, (bool, int, float)):
                return -inner
            raise Failure(
                node, "type", [Operand(self.code(node.operand), inner)], TypeError(t("expr.not_a_number"))
            )
        return self.run(
            node, "neg", lambda a, k: -a[0], [inner], {}, [Operand(self.code(node.operand), inner)]
        )

    def binary(self, node: ast.BinOp) -> Any:
        symbol = BINARY[type(node.op)]
        left, right = self.value(node.left), self.value(node.right)
        operands = [Operand(self.code(node.left), left), Operand(self.code(node.right), right)]
        fn = _FUNCTIONS[symbol]
        if not _is_tensor(left) and not _is_tensor(right):
            numbers = all(isinstance(v, (bool, int, float)) for v in (left, right))
            if not numbers or symbol == "@":
                raise Failure(node, "type", operands, TypeError(t("expr.binary_types", op=symbol)))
            try:
                return fn(left, right)
            except ZeroDivisionError as e:
                raise Failure(node, "python", operands, e) from None
        kind = "matmul" if symbol == "@" else "binary"
        return self.run(node, kind, lambda a, k: fn(a[0], a[1]), [left, right], {}, operands, symbol=symbol)

    def index(self, node: ast.Subscript) -> Any:
        base = self.value(node.value)
        key = self.index_key(node.slice)
        operands = [Operand(self.code(node.value), base)]
        if not _is_tensor(base):
            try:
                return base[key]
            except (TypeError, IndexError) as e:
                raise Failure(node, "index", operands, e) from None
        return self.run(node, "index", lambda a, k: a[0][key], [base], {}, operands, key=key)

    def index_key(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.value(p) for p in (node.lower, node.upper, node.step)]
            for part, sub in zip(parts, (node.lower, node.upper, node.step), strict=True):
                if part is not None and not _is_int(part):
                    raise Refused(t("expr.index_type", code=self.code(sub) if sub else "", kind=_kind(part)))
            return slice(*parts)
        if isinstance(node, ast.Tuple):
            return tuple(self.index_key(e) for e in node.elts)
        value = self.value(node)
        if value is None or value is Ellipsis or _is_int(value):
            return value
        raise Refused(t("expr.index_type", code=self.code(node), kind=_kind(value)))

    def attribute(self, node: ast.Attribute) -> Any:
        base = self.value(node.value)
        operands = [Operand(self.code(node.value), base)]
        if not _is_tensor(base):
            raise Failure(
                node, "type", operands, TypeError(t("expr.needs_tensor", name=node.attr, kind=_kind(base)))
            )
        if node.attr == "shape":
            return self.run(node, "shape", lambda a, k: a[0].shape, [base], {}, operands)
        return self.run(node, "T", lambda a, k: a[0].T, [base], {}, operands)

    def call(self, node: ast.Call) -> Any:
        func = node.func
        assert isinstance(func, ast.Attribute)
        name = func.attr
        args = [self.value(a) for a in node.args]
        kwargs = {kw.arg: self.value(kw.value) for kw in node.keywords if kw.arg}
        codes = [self.code(a) for a in node.args]
        if isinstance(func.value, ast.Name) and func.value.id == "torch":
            import torch

            fn = getattr(torch, name)  # name is in TORCH_FUNCTIONS: checked before
            if name in ("cat", "stack") and args and isinstance(args[0], tuple):
                operands = [
                    Operand(c, v) for c, v in zip(_element_codes(node.args[0], self), args[0], strict=False)
                ]
            elif name == "einsum":
                operands = [Operand(c, v) for c, v in zip(codes[1:], args[1:], strict=True)]
            else:
                operands = [Operand(c, v) for c, v in zip(codes, args, strict=True) if _is_tensor(v)]
            kind = name
            if name in FACTORIES:
                return self.run(node, name, lambda a, k: fn(*a, **k), args, kwargs, operands)
            if name in ("cat", "stack") and args and isinstance(args[0], tuple):
                return self.run(node, kind, lambda a, k: fn(list(a[0]), *a[1:], **k), args, kwargs, operands)
            return self.run(node, kind, lambda a, k: fn(*a, **k), args, kwargs, operands)
        receiver = self.value(func.value)
        operands = [Operand(self.code(func.value), receiver)]
        if not _is_tensor(receiver):
            raise Failure(
                node, "type", operands, TypeError(t("expr.needs_tensor", name=name, kind=_kind(receiver)))
            )
        operands += [Operand(c, v) for c, v in zip(codes, args, strict=True) if _is_tensor(v)]
        return self.run(
            node, name, lambda a, k: getattr(a[0], name)(*a[1:], **k), [receiver, *args], kwargs, operands
        )

    # one operation -------------------------------------------------------------------------

    def run(
        self,
        node: ast.expr,
        kind: str,
        apply: Callable[[list[Any], dict[str, Any]], Any],
        args: list[Any],
        kwargs: dict[str, Any],
        operands: list[Operand],
        *,
        symbol: str = "",
        key: Any = None,
    ) -> Any:
        if any(_is_meta(v) for v in _flat(args)) or any(_is_meta(v) for v in _flat(list(kwargs.values()))):
            # a shape-only operand makes the whole operation shape-only, as in the single commands
            args, kwargs = _to_meta(args), _to_meta(kwargs)
        self.guard(node, kind, args, kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = apply(args, kwargs)
            except Exception as e:  # torch's refusal, whatever its type: explained, exit 1
                raise Failure(node, kind, operands, e, args, kwargs) from None
        note, table = _note(kind, symbol, operands, args, kwargs, out, key)
        if caught:
            note += " " + t("expr.warning", text=str(caught[0].message).split(". ")[0])
        tensor = info(out) if _is_tensor(out) else None
        if tensor is None:
            note = t("expr.value", value=_show(out)) + (" " + note if note else "")
        self.ex.steps.append(Step(_title(kind, symbol), self.code(node), tensor, note, table))
        return out

    def guard(self, node: ast.expr, kind: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Refuse, before torch runs it, an operation that would make or read more than
        --max-elements elements (a stride-0 view can be far larger than its memory), or a
        product that would do too much work. The sizes come from the shapes alone."""
        limit = settings.current().max_elements
        code = _clip(self.code(node), 40)
        if kind == "einsum":
            _einsum_guard(code, args)
        if kind in VIEWS:
            return
        shape = _largest(kind, args, kwargs)
        if shape is not None and math.prod(shape) > limit:
            numel = fmt_count(math.prod(shape))
            raise InputError(
                t("expr.too_many", code=code, shape=fmt_shape(shape), numel=numel, limit=fmt_count(limit))
            )
        if kind == "matmul":
            _matmul_guard(code, args)

    # a failure, pinpointed -------------------------------------------------------------------

    def explain_failure(self, failure: Failure) -> None:
        node = failure.node
        code = self.code(node)
        where = _pointer(self.source, node)
        shapes = "; ".join(_describe(o) for o in failure.operands)
        note = t("expr.fails", shapes=shapes) if shapes else ""
        single: Any = failure.operands[0].value if len(failure.operands) == 1 else None
        tensor = info(single) if _is_tensor(single) else None
        error, steps = _single_explanation(failure)
        table = next((s.table for s in steps if s.table is not None), None)
        self.ex.steps.append(
            Step(
                t("expr.fails.title", what=_title(failure.kind, _symbol(node))),
                code,
                tensor,
                "\n".join(p for p in (where, note) if p),
                table,
            )
        )
        self.ex.error = error


def _single_explanation(failure: Failure) -> tuple[OpError, list[Step]]:
    """The explanation the single command gives for this operation on these operands."""
    from tensorshape_cli.ops import cat, expand, flatten, matmul, permute, reduce, squeeze, unsqueeze, view

    kind, operands, args, kwargs = failure.kind, failure.operands, failure.call_args, failure.kwargs
    names = [_clip(o.code, COLUMN_WIDTH) for o in operands]
    fallback = torch_error(failure.error)
    if kind in ("type", "python", "index") or not args:
        return _plain_error(failure), []
    try:
        if kind == "binary":
            a, b = (o.value for o in operands)
            shapes = [list(v.shape) if _is_tensor(v) else [] for v in (a, b)]
            alignment = align(shapes, names)
            if alignment.shape is None:
                return mismatch_error(alignment, names), [Step("", "", None, "", alignment.table)]
            return fallback, [Step("", "", None, "", alignment.table)]
        if kind == "matmul":
            a, b = args[0], args[1]
            if _is_tensor(a) and _is_tensor(b):
                sub = matmul.explain(a, b, names=(names[0], names[1] if len(names) > 1 else "b"))
                return sub.error or fallback, sub.steps
            return fallback, []
        x, rest = args[0], args[1:]
        if kind in ("view", "reshape"):
            shape = _sizes(rest, kwargs, "shape")
            error = view.shape_error(shape, x.numel())
            if error is None and kind == "view" and not x.is_contiguous():
                error = view.stride_error(x, shape, name=operands[0].code)
            return error or fallback, []
        if kind == "unsqueeze":
            sub = unsqueeze.explain(x, _one(rest, kwargs, "dim"))
        elif kind == "squeeze":
            dims = _optional_dims(rest, kwargs)
            sub = squeeze.explain(x, dims)
        elif kind == "flatten":
            start = rest[0] if rest else kwargs.get("start_dim", 0)
            end = rest[1] if len(rest) > 1 else kwargs.get("end_dim", -1)
            sub = flatten.explain(x, start, end)
        elif kind == "permute":
            sub = permute.explain_permute(x, _sizes(rest, kwargs, "dims"))
        elif kind == "transpose":
            d0 = rest[0] if rest else kwargs["dim0"]
            d1 = rest[1] if len(rest) > 1 else kwargs["dim1"]
            sub = permute.explain_transpose(x, d0, d1)
        elif kind in ("expand", "broadcast_to"):
            sub = expand.explain(x, _sizes(rest, kwargs, "size"))
        elif kind in ("sum", "mean"):
            dims = _optional_dims(rest[:1], {"dim": kwargs["dim"]} if "dim" in kwargs else {})
            keepdim = bool(rest[1]) if len(rest) > 1 else bool(kwargs.get("keepdim", False))
            sub = reduce.explain(x, dims, keepdim, kind)
        elif kind in ("cat", "stack"):
            tensors = list(x)
            dim = rest[0] if rest else kwargs.get("dim", 0)
            codes = [_clip(o.code, COLUMN_WIDTH) for o in operands]
            explainer = cat.explain_cat if kind == "cat" else cat.explain_stack
            sub = explainer(tensors, dim, codes if len(codes) == len(tensors) else None)
        else:
            return fallback, []
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError):
        return fallback, []
    return sub.error or fallback, sub.steps


def _plain_error(failure: Failure) -> OpError:
    e = failure.error
    if isinstance(e, ZeroDivisionError):
        return OpError("expr_zero_division", t("expr.zero_division"), t("expr.zero_division.hint"))
    if failure.kind == "type":
        return OpError("expr_type", str(e), t("expr.type.hint"))
    return torch_error(e)


# --- notes for the steps that worked ---------------------------------------------------------


def _note(
    kind: str,
    symbol: str,
    operands: list[Operand],
    args: list[Any],
    kwargs: dict[str, Any],
    out: Any,
    key: Any,
) -> tuple[str, Table | None]:
    if not _is_tensor(out):
        return "", None
    first: Any = operands[0].value if operands else None
    before = fmt_shape(first.shape) if _is_tensor(first) else ""
    after = fmt_shape(out.shape)
    if kind == "binary":
        a, b = (o.value for o in operands)
        if _is_tensor(a) and _is_tensor(b):
            if a.shape == b.shape:
                return t("expr.note.same_shape", op=symbol, shape=after), None
            names = [_clip(o.code, COLUMN_WIDTH) for o in operands]
            table = align([list(a.shape), list(b.shape)], names).table
            return t(
                "expr.note.broadcast", op=symbol, a=fmt_shape(a.shape), b=fmt_shape(b.shape), y=after
            ), table
        scalar = b if _is_tensor(a) else a
        return t("expr.note.scalar", op=symbol, value=_show(scalar), shape=after), None
    if kind == "matmul":
        from tensorshape_cli.ops.matmul import rule_table

        a, b = args[0], args[1]
        names = [_clip(o.code, COLUMN_WIDTH) for o in operands[:2]]
        if len(names) == 2 and _is_tensor(a) and _is_tensor(b) and a.dim() and b.dim():
            table, _, _ = rule_table(list(a.shape), list(b.shape), names)
            return t(
                "expr.note.matmul", a=fmt_shape(a.shape), b=fmt_shape(b.shape), y=after, k=a.shape[-1]
            ), table
        return "", None
    if kind in ("view", "reshape"):
        note = t("expr.note.view", before=before, after=after, numel=fmt_count(out.numel()))
        if kind == "reshape" and _is_tensor(first) and first.device.type != "meta" and out.numel():
            shared = out.untyped_storage().data_ptr() == first.untyped_storage().data_ptr()
            note += " " + t("expr.note.reshape_view" if shared else "expr.note.reshape_copy")
        return note, None
    if kind in ("transpose", "permute", "T"):
        note = t(
            "expr.note.permute",
            before=before,
            after=after,
            sb=fmt_shape(first.stride()) if _is_tensor(first) else "",
            sa=fmt_shape(out.stride()),
        )
        if not out.is_contiguous():
            note += " " + t("expr.note.not_contiguous")
        return note, None
    if kind in ("sum", "mean") and _is_tensor(first):
        from tensorshape_cli.ops._dims import wrap

        n = first.dim()
        dims = _optional_dims(args[1:2], kwargs)
        reduced = (
            sorted({w for d in dims if (w := wrap(d, n)) is not None and w < n}) if dims else list(range(n))
        )
        return t(
            "expr.note.reduce",
            before=before,
            after=after,
            dims=fmt_args(reduced) or t("squeeze.none"),
            sizes=" × ".join(str(first.shape[d]) for d in reduced) or "1",
            verb=t(f"reduce.{kind}.verb"),
        ), None
    if kind in ("cat", "stack"):
        shapes = ", ".join(fmt_shape(o.value.shape) for o in operands if _is_tensor(o.value))
        return t(f"expr.note.{kind}", shapes=shapes, y=after), None
    if kind in ("float", "int"):
        old = dtype_name(first.dtype) if _is_tensor(first) else ""
        return t("expr.note.dtype", before=old, after=dtype_name(out.dtype)), None
    if kind == "contiguous":
        same = _is_tensor(first) and out is first
        return t(
            "expr.note.contiguous_same" if same else "expr.note.contiguous_copy",
            stride=fmt_shape(out.stride()),
        ), None
    if kind == "index":
        return t("expr.note.index", before=before, after=after), None
    if kind in FACTORIES:
        return t("expr.note.new", shape=after, dtype=dtype_name(out.dtype)), None
    if kind == "einsum":
        return t("expr.note.einsum", eq=args[0] if args else "", y=after), None
    if kind in ("unsqueeze", "squeeze", "flatten", "expand", "broadcast_to", "neg"):
        extra = ""
        if kind in ("expand", "broadcast_to"):
            extra = " " + t("expr.note.stride", stride=fmt_shape(out.stride()))
        return t(f"expr.note.{kind}", before=before, after=after) + extra, None
    return t("expr.note.shape", before=before, after=after), None


def _title(kind: str, symbol: str) -> str:
    if kind == "binary":
        return t("expr.kind.binary", op=symbol)
    if kind in ("matmul", "index", "neg", "T", "shape", "type", "python"):
        return t(f"expr.kind.{kind}")
    if kind in TORCH_FUNCTIONS - METHODS:
        return t("expr.kind.function", name=kind)
    return t("expr.kind.method", name=kind)


# --- small helpers ---------------------------------------------------------------------------


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _is_meta(value: Any) -> bool:
    return _is_tensor(value) and value.device.type == "meta"


def _flat(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        out.extend(_flat(list(v)) if isinstance(v, (list, tuple)) else [v])
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if _is_tensor(value):
        return t("expr.kind_of.tensor", shape=fmt_shape(value.shape))
    return type(value).__name__


def _show(value: Any) -> str:
    import torch

    if isinstance(value, torch.Size):
        return fmt_shape(value)
    if isinstance(value, float):
        return repr(value)
    return _clip(repr(value), 60)


def _describe(operand: Operand) -> str:
    v = operand.value
    if _is_tensor(v):
        layout = t("render.contiguous") if v.is_contiguous() else t("render.not_contiguous")
        return t(
            "expr.operand",
            code=operand.code,
            shape=fmt_shape(v.shape),
            dtype=dtype_name(v.dtype),
            stride=fmt_shape(v.stride()),
            layout=layout,
        )
    return f"{operand.code} = {_show(v)}"


def _pointer(source: str, node: ast.AST) -> str:
    """The whole expression with ^^^ under the failing part."""
    line, end_line = getattr(node, "lineno", 1), getattr(node, "end_lineno", 1)
    start, end = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
            start = node.func.value.end_col_offset or start  # the method, not its receiver
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        start = node.value.end_col_offset or start
    if line != end_line or "\n" in source or end is None:
        return ""
    return f"{source}\n{' ' * start}{'^' * max(1, end - start)}"


def _symbol(node: ast.AST) -> str:
    return BINARY.get(type(node.op), "") if isinstance(node, ast.BinOp) else ""


def _to_meta(value: Any) -> Any:
    if _is_tensor(value):
        return value.to("meta")
    if isinstance(value, list):
        return [_to_meta(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_meta(v) for k, v in value.items()}
    return value


def _largest(kind: str, args: list[Any], kwargs: dict[str, Any]) -> list[int] | None:
    """The shape of the largest tensor this operation reads or makes, from shapes alone;
    None when the arguments are not understood (torch then judges them)."""
    tensors = [v for v in _flat(args) if _is_tensor(v)]
    shapes = [list(v.shape) for v in tensors]
    try:
        if kind in FACTORIES:
            if kind == "arange":
                numbers = [float(v) for v in args] + [
                    float(kwargs[k]) for k in ("start", "end", "step") if k in kwargs
                ]
                start, end, step = (
                    (0.0, numbers[0], 1.0)
                    if len(numbers) == 1
                    else (*numbers[:2], numbers[2] if len(numbers) > 2 else 1.0)
                )
                made = [max(0, math.ceil((end - start) / step))] if step else None
            else:
                made = _sizes(args, kwargs, "size")
        elif kind == "binary":
            made = align(shapes, ["a"] * len(shapes)).shape
        elif kind == "matmul" and len(shapes) == 2 and all(shapes):
            from tensorshape_cli.ops.matmul import rule_table

            made = rule_table(shapes[0], shapes[1], ["a", "b"])[1]
        elif kind in ("cat", "stack"):
            made = [sum(math.prod(s) for s in shapes)]
        else:
            made = None
    except (TypeError, ValueError, IndexError, OverflowError, KeyError):
        made = None
    candidates = [*shapes, *([made] if made is not None else [])]
    return max(candidates, key=math.prod, default=None)


def _matmul_guard(code: str, args: list[Any]) -> None:
    """A product multiplies n·k·m numbers per batch: bound that work, as for einsum."""
    a, b = args[0], args[1]
    if not (_is_tensor(a) and _is_tensor(b) and a.dim() and b.dim()):
        return
    k = a.shape[-1]
    work = math.prod(a.shape) // max(k, 1) * math.prod(b.shape)
    if b.dim() >= 2:
        work //= max(b.shape[-2], 1)
    work *= max(k, 1)
    if work > MAX_EINSUM_WORK:
        raise InputError(
            t("expr.einsum_work", code=code, work=fmt_count(work), limit=fmt_count(MAX_EINSUM_WORK))
        )


def _einsum_guard(code: str, args: list[Any]) -> None:
    """einsum may visit every combination of its index letters: bound that work."""
    if not args or not isinstance(args[0], str):
        return
    equation, operands = args[0].replace(" ", ""), args[1:]
    inputs = equation.split("->")[0].split(",")
    sizes: dict[str, int] = {}
    extra = 1
    for spec, x in zip(inputs, operands, strict=False):
        if not _is_tensor(x):
            return
        if "..." in spec:
            extra = max(extra, x.numel())
            continue
        for letter, size in zip(spec, x.shape, strict=False):
            sizes[letter] = max(sizes.get(letter, 1), size)
    work = math.prod(sizes.values()) * extra
    if work > MAX_EINSUM_WORK:
        raise InputError(
            t(
                "expr.einsum_work",
                code=_clip(code, 40),
                work=fmt_count(work),
                limit=fmt_count(MAX_EINSUM_WORK),
            )
        )


def _element_codes(node: ast.expr, walker: _Walker) -> list[str]:
    if isinstance(node, (ast.Tuple, ast.List)):
        return [walker.code(e) for e in node.elts]
    return []


def _sizes(rest: list[Any], kwargs: dict[str, Any], key: str) -> list[int]:
    """view(3, -1), view((3, -1)) or view(shape=(3, -1)) → [3, -1]."""
    if key in kwargs:
        value = kwargs[key]
        return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        return [int(v) for v in rest[0]]
    return [int(v) for v in rest]


def _one(rest: list[Any], kwargs: dict[str, Any], key: str) -> int:
    return int(rest[0]) if rest else int(kwargs[key])


def _optional_dims(rest: list[Any], kwargs: dict[str, Any]) -> list[int] | None:
    value = rest[0] if rest else kwargs.get("dim")
    if value is None:
        return None
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)]


def _torch_path(node: ast.Attribute) -> str:
    """'nn.functional.relu' for torch.nn.functional.relu; '' when the chain is not rooted in torch."""
    parts = [node.attr]
    value = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if isinstance(value, ast.Name) and value.id == "torch":
        return ".".join(reversed(parts))
    return ""


def _allowed_functions() -> str:
    return ", ".join(sorted(TORCH_FUNCTIONS))


def _allowed_methods() -> str:
    return ", ".join(sorted(METHODS | ATTRIBUTES))


def _known(names: set[str]) -> str:
    return ", ".join(sorted(names)) if names else t("expr.no_names")


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Evaluate a checked expression innermost first, one step per subexpression.

Each call, operator or index becomes a registry.Call. The spec that claims its callable
(registry.for_callable) explains it; any other allowed callable goes to the generic spec. The
walker knows Python's syntax, never an op: it has no per-op branch.
"""

from __future__ import annotations

import ast
import contextlib
import operator
import re
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry, settings
from tensorshape_cli.describe import dtype_name, info, plain_value
from tensorshape_cli.explanation import Explanation, OpError, Step, Table, TensorInfo
from tensorshape_cli.expr import guards
from tensorshape_cli.expr.parser import ROOTS, Program, Refused, dotted
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import torch_error
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import clip, fmt_shape
from tensorshape_cli.torchmeta import to_meta

if TYPE_CHECKING:
    import torch

COLUMN_WIDTH = 24  # an operand's code as a table column, clipped
FUNCTIONS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.MatMult: operator.matmul,
    ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.USub: operator.neg,
    ast.Invert: operator.invert,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
# A parameter that takes a string: typed str, a device (device='cpu'), or a string default
# (cdist's compute_mode='use_mm_for_euclid_dist_if_necessary', in an unannotated signature)
STRING_PARAMETER = re.compile(r"\bstr\b|\bDevice\b|=\s*['\"]")


class ExprTypeError(TypeError):
    """A part of the expression is the wrong kind of value (a method called on a number)."""


class Failure(Exception):
    """An operation torch (or a rule) refused: pinpointed, explained, exit 1."""

    def __init__(
        self, node: ast.AST, title: str, call: Call | None, spec: OpSpec | None, error: BaseException
    ):
        super().__init__(str(error))
        self.node, self.title, self.call, self.spec, self.error = node, title, call, spec, error


def explain(program: Program, tensors: dict[str, torch.Tensor]) -> Explanation:
    import torch

    ex = Explanation(
        op="expr", call=program.source, title=t("expr.title"), inputs={n: info(x) for n, x in tensors.items()}
    )
    used = {n.id for n in ast.walk(program.tree) if isinstance(n, ast.Name)}
    for name, x in tensors.items():
        if name in used:
            note = t("broadcastop.input", name=name, shape=fmt_shape(x.shape), n=x.dim())
            ex.steps.append(Step(t("step.input_of", name=name), name, info(x), note))
    walker = _Walker(program, tensors, ex)
    try:
        with torch.no_grad():  # a layer's parameters require grad: results need no graph
            value = walker.value(program.tree.body)
    except Failure as failure:
        walker.explain_failure(failure)
        return ex
    ex.result, ex.outputs, ex.value = _as_data(value)
    return ex


class _Walker:
    def __init__(self, program: Program, tensors: dict[str, torch.Tensor], ex: Explanation) -> None:
        self.program = program
        self.source = program.source
        self.tensors = tensors
        self.ex = ex

    def code(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    # values, by syntax ---------------------------------------------------------------------

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.tensors[node.id]
        if isinstance(node, ast.Tuple):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.List):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            return self.operator(node, node.op, [node.operand])
        if isinstance(node, ast.BinOp):
            return self.operator(node, node.op, [node.left, node.right])
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Subscript):
            return self.index(node)
        if isinstance(node, ast.Attribute):
            if id(node) in self.program.constants:
                return self.program.constants[id(node)]
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise Refused(t("expr.refused", what=type(node).__name__, col=node.col_offset + 1, code="", why=""))

    def operator(self, node: ast.expr, op: ast.AST, parts: list[ast.expr]) -> Any:
        from tensorshape_cli.expr.parser import OPERATORS

        symbol = OPERATORS[type(op)]
        values = [self.value(p) for p in parts]
        if isinstance(op, ast.MatMult):
            title = t("expr.kind.matmul")
        elif isinstance(op, ast.USub):
            title = t("expr.kind.neg")
        else:
            title = t("expr.kind.binary", op=symbol)
        fn = FUNCTIONS[type(op)]
        call = Call(fn, symbol, tuple(values), codes=[self.code(p) for p in parts], code=self.code(node))
        # Python's own arithmetic on plain numbers (-1, x.dim() + 1) is no step of its own
        return self.dispatch(node, call, fn, title, step=any(_is_tensor(v) for v in values))

    def compare(self, node: ast.Compare) -> Any:
        """a < b < c as Python reads it: (a < b) and (b < c), b evaluated once; a tensor of
        several elements has no truth value, so torch refuses the `and` (explained, with the fix)."""
        left_node: ast.expr = node.left
        left = self.value(left_node)
        result: Any = None
        for i, (op, right_node) in enumerate(zip(node.ops, node.comparators, strict=True)):
            right = self.value(right_node)
            part = ast.Compare(left=left_node, ops=[op], comparators=[right_node])
            ast.copy_location(part, left_node)
            part.end_lineno, part.end_col_offset = right_node.end_lineno, right_node.end_col_offset
            from tensorshape_cli.expr.parser import OPERATORS

            symbol = OPERATORS[type(op)]
            fn = FUNCTIONS[type(op)]
            codes = [self.code(left_node), self.code(right_node)]
            call = Call(fn, symbol, (left, right), codes=codes, code=self.code(part))
            result = self.dispatch(part, call, fn, t("expr.kind.binary", op=symbol))
            if i == len(node.ops) - 1:
                break
            try:
                truth = bool(result)
            except Exception as e:
                error = OpError("expr_chained", str(e).strip().splitlines()[0], t("expr.chained.hint"))
                raise Failure(node, t("expr.kind.chained"), None, None, _Explained(error)) from None
            if not truth:
                return result
            left_node, left = right_node, right
        return result

    def index(self, node: ast.Subscript) -> Any:
        base = self.value(node.value)
        key = self.index_key(node.slice)
        call = Call(
            operator.getitem,
            "[]",
            (base, key),
            codes=[self.code(node.value), self.code(node.slice)],
            code=self.code(node),
        )
        return self.dispatch(node, call, operator.getitem, t("expr.kind.index"))

    def index_key(self, node: ast.expr) -> Any:
        """ints, slices, None, ..., and tensors or lists of ints or booleans (advanced indexing)."""
        import torch

        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.value(p) for p in (node.lower, node.upper, node.step)]
            for part, sub in zip(parts, (node.lower, node.upper, node.step), strict=True):
                if part is not None and not _is_int(part):
                    raise Refused(t("expr.index_type", code=self.code(sub) if sub else "", kind=_kind(part)))
            return slice(*parts)
        if isinstance(node, ast.Tuple):
            return tuple(self.index_key(e) for e in node.elts)
        value = self.value(node)
        if value is None or value is Ellipsis or isinstance(value, (int, torch.Tensor)) or _int_list(value):
            return value
        raise Refused(t("expr.index_type", code=self.code(node), kind=_kind(value)))

    def attribute(self, node: ast.Attribute) -> Any:
        entry = self.program.entries[id(node)]
        base = self.value(node.value)
        if not _is_tensor(base):
            raise Failure(
                node, t("expr.kind.attribute", name=node.attr), None, None, _needs_tensor(node.attr, base)
            )
        call = Call(
            operator.attrgetter(node.attr),
            f".{node.attr}",
            (base,),
            codes=[self.code(node.value)],
            code=self.code(node),
        )
        return self.dispatch(node, call, entry.fn, t("expr.kind.attribute", name=node.attr))

    def call(self, node: ast.Call) -> Any:
        import torch

        func = node.func
        receiver: list[Any] = []
        codes: list[str] = []
        entry: Any = None
        if isinstance(func, ast.Call):  # a layer built in the expression, then called
            layer = self.value(func)
            if not isinstance(layer, torch.nn.Module):
                raise self.refuse(node, t("expr.what.call_other"), t("expr.why.layer_call"))
            fn, target, name = layer, type(layer), type(layer).__name__
            title = t("expr.kind.layer", name=name)
        else:
            assert isinstance(func, ast.Attribute)
            entry = self.program.entries[id(func)]
            fn = target = entry.fn
            path = dotted(func, self.program.names)
            if path:
                name = path
                title = t("expr.kind.function", name=path.removeprefix("torch."))
            else:
                value = self.value(func.value)
                if not _is_tensor(value):
                    raise Failure(
                        node,
                        t("expr.kind.method", name=func.attr),
                        None,
                        None,
                        _needs_tensor(func.attr, value),
                    )
                receiver, codes = [value], [self.code(func.value)]
                name, title = f".{func.attr}", t("expr.kind.method", name=func.attr)
        args = [*receiver, *(self.value(a) for a in node.args)]
        kwargs = {kw.arg: self.value(kw.value) for kw in node.keywords if kw.arg}
        codes += [self.code(a) for a in node.args]
        first = len(receiver)
        elements = {
            first + i: [self.code(e) for e in a.elts]
            for i, a in enumerate(node.args)
            if isinstance(a, (ast.Tuple, ast.List))
        }
        if any(isinstance(v, str) for v in [*args, *kwargs.values()]) and not _takes_strings(fn):
            where = next(
                a
                for a in [*node.args, *(k.value for k in node.keywords)]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
            raise self.refuse(where, t("expr.what.string"), t("expr.why.string_arg", name=name))
        if entry is not None and entry.draws(tuple(args), kwargs):
            if settings.current().seed is None:
                raise self.refuse(node, t("expr.what.random", name=name), t("expr.why.random"))
            settings.seed_torch()
        if isinstance(fn, torch.nn.Sequential) and len(fn) and len(args) == 1 and not kwargs:
            return self.sequential(node, fn, args[0], codes[0])
        call = Call(
            fn,
            name,
            tuple(args),
            kwargs,
            codes=codes,
            keyword_codes={kw.arg: self.code(kw.value) for kw in node.keywords if kw.arg},
            code=self.code(node),
            element_codes=elements,
        )
        return self.dispatch(node, call, target, title)

    def sequential(self, node: ast.Call, layers: torch.nn.Sequential, x: Any, code: str) -> Any:
        """nn.Sequential is see-through, as in trace: one step per inner layer, its input and
        output; each step's code is the Sequential cut after that layer, which runs as written."""
        built = self.code(node.func)
        value, operand = x, code
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            step_code = self.code(node) if last else f"{built}[:{i + 1}]({code})"
            kind = type(layer).__name__
            title = t("expr.kind.sequential_layer", name=kind, i=i, n=len(layers))
            call = Call(layer, kind, (value,), codes=[operand], code=step_code)
            value = self.dispatch(node, call, type(layer), title)
            operand = step_code
        return value

    def refuse(self, node: ast.AST, what: str, why: str) -> Refused:
        col = getattr(node, "col_offset", 0) + 1
        return Refused(t("expr.refused", what=what, col=col, code=clip(self.code(node), 30), why=why))

    # one operation -------------------------------------------------------------------------

    def dispatch(self, node: ast.AST, call: Call, target: Any, title: str, step: bool = True) -> Any:
        """Guard, run once, and ask the spec that claims `target` (else the generic spec)."""
        spec = registry.for_callable(target) or registry.get("generic")
        if any(x.device.type == "meta" for x in guards.tensors_in((call.args, call.kwargs))):
            # a shape-only operand makes the whole operation shape-only, as in the single commands
            call.args, call.kwargs = to_meta(call.args), to_meta(call.kwargs)
            call.fn = to_meta(call.fn)  # a layer's weights too, nested layers included
        try:
            guards.check(spec, call, clip(call.code, 40))
        except registry.Unfit as e:  # operands that are not this op's: explained, never run
            raise Failure(node, title, call, spec, e) from None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = call.run()
            except Exception as e:  # torch's refusal, whatever its type: explained, exit 1
                raise Failure(node, title, call, spec, e) from None
        _check_layout(out, call.code)
        if not step:
            return out
        sub, by = _explained(spec, call, ok=True)
        note, table = _summary(sub, by)
        if sub is not None:  # the family's hand checks (one element by hand) hold for this step
            self.ex.checks.extend(sub.checks)
        if caught:
            note += " " + t("expr.warning", text=str(caught[0].message).split(". ")[0])
        tensor, outputs, value = _as_data(out)
        if tensor is None and outputs is None:
            note = t("expr.value", value=_show(out)) + (" " + note if note else "")
        self.ex.steps.append(Step(title, call.code, tensor, note.strip(), table, outputs, value))
        return out

    # a failure, pinpointed -------------------------------------------------------------------

    def explain_failure(self, failure: Failure) -> None:
        node, call, e = failure.node, failure.call, failure.error
        sub = (
            _explained(failure.spec, call, ok=False)[0]
            if failure.spec is not None and call is not None
            else None
        )
        if isinstance(e, _Explained):
            error = e.error
        elif sub is not None and sub.error is not None:
            error = sub.error
        else:
            error = _plain_error(e)
        table = next((s.table for s in sub.steps if s.table is not None), None) if sub else None
        operands = _operands(call) if call is not None else []
        shapes = "; ".join(_describe(code, v) for code, v in operands)
        tensors = [v for _, v in operands if _is_tensor(v)]
        where = _pointer(self.source, node)
        note = t("expr.fails", shapes=shapes) if shapes else ""
        tensor = info(tensors[0]) if len(tensors) == 1 else None
        title = t("expr.fails.title", what=failure.title)
        self.ex.steps.append(
            Step(title, self.code(node), tensor, "\n".join(p for p in (where, note) if p), table)
        )
        self.ex.error = error


class _Explained(Exception):
    """A failure the walker explains itself (a chained comparison's truth value)."""

    def __init__(self, error: OpError) -> None:
        super().__init__(error.message)
        self.error = error


def _check_layout(value: Any, code: str) -> None:
    """A sparse, mkldnn or quantized result has no strides or plain values to show: refused
    in one sentence (exit 2) before any step describes it."""
    import torch

    for x in guards.tensors_in(value):
        if x.layout != torch.strided or x.is_quantized:
            layout = "quantized" if x.is_quantized else str(x.layout).removeprefix("torch.")
            raise Refused(t("expr.layout", code=clip(code, 40), layout=layout))


def _explained(spec: OpSpec, call: Call, ok: bool) -> tuple[Explanation | None, OpSpec | None]:
    """The spec's explanation of this call, and the spec; the generic spec's when the spec
    cannot bind the arguments or disagrees with torch (torch is right)."""
    for candidate in (spec, registry.get("generic")):
        try:
            sub = candidate.explain(call)
        except Exception:
            continue
        if (sub.error is None) == ok:
            return sub, candidate
    return None, None


def _summary(sub: Explanation | None, by: OpSpec | None = None) -> tuple[str, Table | None]:
    """One step's note and table from a spec's explanation: the notes of its rule steps when a
    family explained it (the rule with the numbers: conv's channel rule and output sizes, which
    dims a norm normalises together; a single command's steps speak of its own x and y), then
    its result step's note (why the result has its shape), and the first table (the rule,
    dimension by dimension)."""
    if sub is None:
        return "", None
    table = next((s.table for s in sub.steps if s.table is not None), None)
    results = [s for s in sub.steps if s.tensor is not None and s.tensor is sub.result]
    step = results[-1] if results else (sub.steps[-1] if sub.steps else None)
    final = step.note if step is not None else ""
    if by is None or by.family in ("dedicated", "generic"):
        return final, table
    rules = [
        s.note for s in sub.steps if s.tensor is None and s is not step and s.note and s.note not in final
    ]
    return " ".join([*dict.fromkeys(rules), final]).strip(), table


def _as_data(value: Any) -> tuple[TensorInfo | None, list[TensorInfo] | None, Any]:
    """A tensor → result; several → outputs; a plain number, bool or shape → value."""
    import torch

    if isinstance(value, torch.Tensor):
        return info(value), None, None
    if isinstance(value, (tuple, list)) and value and not isinstance(value, torch.Size):
        tensors = list(guards.tensors_in(value))
        if tensors and len(tensors) == len(_flat(value)):
            return None, [info(x) for x in tensors], None
    return None, None, plain_value(value)


def _flat(value: Any) -> list[Any]:
    out: list[Any] = []
    for v in value:
        out.extend(_flat(v) if isinstance(v, (tuple, list)) else [v])
    return out


def _operands(call: Call) -> list[tuple[str, Any]]:
    """Each argument as written, the elements of a written tuple of tensors one by one."""
    found: list[tuple[str, Any]] = []
    for i, value in enumerate(call.args):
        codes = call.element_codes.get(i)
        if codes is not None and isinstance(value, (tuple, list)) and len(codes) == len(value):
            found += [(c, v) for c, v in zip(codes, value, strict=True) if _is_tensor(v)]
        elif i < len(call.codes) and (_is_tensor(value) or isinstance(value, bool | int | float)):
            found.append((call.codes[i], value))
    if all(not _is_tensor(v) for _, v in found):
        return found
    return [(c, v) for c, v in found if _is_tensor(v)] if call.name.startswith((".", "torch")) else found


def _plain_error(e: BaseException) -> OpError:
    if isinstance(e, ZeroDivisionError):
        return OpError("expr_zero_division", t("expr.zero_division"), t("expr.zero_division.hint"))
    if isinstance(e, ExprTypeError):
        return OpError("expr_type", str(e), t("expr.type.hint"))
    return torch_error(e)


def _needs_tensor(name: str, value: Any) -> ExprTypeError:
    return ExprTypeError(t("expr.needs_tensor", name=name, kind=_kind(value)))


def _takes_strings(fn: Any) -> bool:
    """Whether torch's signature of this callable has a string parameter anywhere (einsum's
    equation, reduction='sum', mode='bilinear', padding='same', device='cpu'), from its
    Python signature or its operator schemas."""
    import inspect

    import torch

    texts: list[str] = []
    with contextlib.suppress(TypeError, ValueError):
        texts.append(str(inspect.signature(getattr(fn, "__init__", fn) if isinstance(fn, type) else fn)))
    name = getattr(fn, "__name__", "")
    with contextlib.suppress(Exception):  # no schema under this name: the Python signature decides
        texts += [str(s) for s in torch._C._jit_get_schemas_for_operator(f"aten::{name}")]
    return any(STRING_PARAMETER.search(text) for text in texts)


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) or _int_list(v) for v in value)


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
    return clip(repr(value), 60)


def _describe(code: str, value: Any) -> str:
    if _is_tensor(value):
        layout = t("render.contiguous") if value.is_contiguous() else t("render.not_contiguous")
        return t(
            "expr.operand",
            code=code,
            shape=fmt_shape(value.shape),
            dtype=dtype_name(value.dtype),
            stride=fmt_shape(value.stride()),
            layout=layout,
        )
    return f"{code} = {_show(value)}"


def _pointer(source: str, node: ast.AST) -> str:
    """The whole expression with ^^^ under the failing part."""
    line, end_line = getattr(node, "lineno", 1), getattr(node, "end_lineno", 1)
    start, end = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id in ROOTS):
            start = node.func.value.end_col_offset or start  # the method, not its receiver
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        start = node.value.end_col_offset or start
    if line != end_line or "\n" in source or end is None:
        return ""
    return f"{source}\n{' ' * start}{'^' * max(1, end - start)}"

"""Python's operators on tensors and numbers: + - * / ** // % & | ^ ~, comparisons, and indexing.

Two operands are broadcast against each other (the alignment table, the rule per dimension);
plain numbers are Python's own arithmetic. Indexing keeps, removes or adds dimensions by the
kind of each index; index tensors and masks pick elements.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from tensorshape_cli.describe import info, plain_value
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import align, mismatch_error
from tensorshape_cli.ops._common import torch_error
from tensorshape_cli.registry import Call, OpSpec, Shape, Unfit, register
from tensorshape_cli.text import clip, fmt_count, fmt_shape

COLUMN_WIDTH = 24  # an operand's code as a table column, clipped
MAX_DIGITS = 10_000  # a Python number ** may make, before it is refused
ELEMENTWISE = (
    *("add", "sub", "mul", "truediv", "pow", "floordiv", "mod", "and_", "or_", "xor"),
    *("lt", "le", "gt", "ge", "eq", "ne", "neg", "invert"),
)


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float, complex))


def _names(call: Call) -> list[str]:
    return [clip(n, COLUMN_WIDTH) for n in call.names(0, len(call.args))]


def _type_error(call: Call) -> OpError | None:
    """Operands must be tensors or numbers: `(1, 2) * 10**9` would repeat a tuple, not compute."""
    if all(_is_tensor(v) or _is_number(v) for v in call.args):
        return None
    return OpError("expr_type", t("expr.binary_types", op=call.name), t("expr.type.hint"))


def _output_shapes(call: Call) -> list[Shape]:
    if _type_error(call) is not None:
        raise Unfit(call.name)
    if call.fn is operator.pow and all(isinstance(v, int) for v in call.args):
        base, exponent = call.args
        digits = exponent * math.log10(abs(base)) if abs(base) > 1 and exponent > 0 else 0
        if digits > MAX_DIGITS:
            raise InputError(
                t(
                    "expr.too_large_number",
                    code=call.code,
                    digits=fmt_count(int(digits)),
                    limit=fmt_count(MAX_DIGITS),
                )
            )
    shapes = [list(v.shape) for v in call.args if _is_tensor(v)]
    if not shapes:
        return []
    out = align(shapes, ["a"] * len(shapes)).shape
    return [tuple(out)] if out is not None else []


def _explain(call: Call) -> Explanation:
    ex = Explanation(op=call.name, call=call.code or call.name, title=t("expr.kind.binary", op=call.name))
    ex.error = _type_error(call)
    if ex.error is not None:
        return ex
    if any(_is_tensor(v) for v in call.args):  # the pointwise family explains tensors' operators
        from tensorshape_cli import registry

        try:
            return registry.get("pointwise").explain(call)
        except (KeyError, TypeError):
            pass
    names = _names(call)
    tensors = [v for v in call.args if _is_tensor(v)]
    ex.inputs = {n: info(v) for n, v in zip(names, call.args, strict=True) if _is_tensor(v)}
    table = None
    if len(tensors) == 2:
        a, b = tensors
        alignment = align([list(a.shape), list(b.shape)], names)
        if a.shape != b.shape:
            table = alignment.table
        if alignment.shape is None:
            ex.steps.append(Step(t("broadcastop.align.title"), "", None, "", alignment.table))
            ex.error = mismatch_error(alignment, names)
            return ex
    try:
        out = call.run()
    except ZeroDivisionError:
        ex.error = OpError("expr_zero_division", t("expr.zero_division"), t("expr.zero_division.hint"))
        return ex
    except Exception as e:
        ex.error = torch_error(e)
        return ex
    if not _is_tensor(out):
        ex.value = plain_value(out) if _is_number(out) else None
        ex.steps.append(Step(t("step.result"), call.code, None, "", value=ex.value))
        return ex
    ex.result = info(out)
    ex.steps.append(Step(t("step.result"), call.code, ex.result, _note(call, out), table))
    return ex


def _note(call: Call, out: Any) -> str:
    y = fmt_shape(out.shape)
    if len(call.args) == 1:
        return t("expr.note.unary", op=call.name, shape=y)
    a, b = call.args
    if _is_tensor(a) and _is_tensor(b):
        if a.shape == b.shape:
            return t("expr.note.same_shape", op=call.name, shape=y)
        return t("expr.note.broadcast", op=call.name, a=fmt_shape(a.shape), b=fmt_shape(b.shape), y=y)
    scalar = b if _is_tensor(a) else a
    return t("expr.note.scalar", op=call.name, value=repr(scalar), shape=y)


def _index_shapes(call: Call) -> list[Shape]:
    """Basic indexing is a view (nothing read); a mask picks at most every element; index
    tensors make a result of their broadcast shape (torch works it out on shapes alone)."""
    import torch

    from tensorshape_cli.expr.guards import output_shapes

    base, key = call.args
    parts = key if isinstance(key, tuple) else (key,)
    if not _is_tensor(base) or not any(isinstance(p, (torch.Tensor, list)) for p in parts):
        return []
    if any(isinstance(p, torch.Tensor) and p.dtype == torch.bool for p in parts):
        return [tuple(base.shape)]
    return output_shapes(operator.getitem, (base, key), {}) or [tuple(base.shape)]


def _explain_index(call: Call) -> Explanation:
    """The indexing family explains it (the index-shape rule dimension by dimension, one
    element traced back); this spec keeps the size guard for expr's `x[...]`."""
    from tensorshape_cli import registry

    try:
        family = registry.get("indexing.getitem")
    except KeyError:
        return _explain_index_plainly(call)
    return family.explain(call)


def _explain_index_plainly(call: Call) -> Explanation:
    import torch

    base, key = call.args
    ex = Explanation(op="index", call=call.code or "x[...]", title=t("expr.kind.index"))
    try:
        out = call.run()
    except Exception as e:
        ex.error = torch_error(e)
        return ex
    if not _is_tensor(out):
        ex.steps.append(Step(t("step.result"), call.code, None, ""))
        return ex
    ex.inputs = {clip(call.names(0, 1)[0], COLUMN_WIDTH): info(base)}
    ex.result = info(out)
    parts = key if isinstance(key, tuple) else (key,)
    advanced = any(isinstance(p, (torch.Tensor, list)) for p in parts)
    before, after = fmt_shape(base.shape), fmt_shape(out.shape)
    note = t("expr.note.index_tensor" if advanced else "expr.note.index", before=before, after=after)
    ex.steps.append(Step(t("step.result"), call.code, ex.result, note))
    return ex


register(
    OpSpec(
        "operators",
        "pointwise",
        _explain,
        targets=tuple(f"operator.{name}" for name in ELEMENTWISE),
        output_shapes=_output_shapes,
    )
)
register(
    OpSpec("index", "indexing", _explain_index, targets=("operator.getitem",), output_shapes=_index_shapes)
)

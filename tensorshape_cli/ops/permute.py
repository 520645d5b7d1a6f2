"""x.permute(*dims) and x.transpose(d0, d1): dimensions reordered by reordering strides.

No data moves: each dimension takes its size and its stride to its new position, so the
result is usually not contiguous, and a later `view` that merges dimensions can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import fresh_stride, shape_check, storage_note, torch_error
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def explain_permute(x: torch.Tensor, dims: list[int]) -> Explanation:
    n = x.dim()
    args = fmt_args(dims)
    ex = start("permute", f"x.permute({args})", x)
    if len(dims) != n:
        ex.error = OpError(
            "permute_length", t("permute.length", n=n, k=len(dims)), t("permute.length.hint", last=n - 1)
        )
        return ex
    ex.error = check_dims(dims, n)
    if ex.error is not None:
        if ex.error.kind == "dim_repeated":
            ex.error.hint = t("permute.length.hint", last=n - 1)
        return ex
    perm = [wrap(d, n) or 0 for d in dims]
    return _finish(ex, x, perm, dims, lambda: x.permute(tuple(dims)), f"y = x.permute({args})")


def explain_transpose(x: torch.Tensor, dim0: int, dim1: int) -> Explanation:
    n = x.dim()
    ex = start("transpose", f"x.transpose({dim0}, {dim1})", x)
    ex.error = check_dims([dim0], n) or check_dims([dim1], n)
    if ex.error is not None:
        return ex
    perm = list(range(n))
    if n:
        a, b = wrap(dim0, n) or 0, wrap(dim1, n) or 0
        perm[a], perm[b] = perm[b], perm[a]
    return _finish(
        ex, x, perm, [dim0, dim1], lambda: x.transpose(dim0, dim1), f"y = x.transpose({dim0}, {dim1})"
    )


def start(op: str, call: str, x: torch.Tensor) -> Explanation:
    """An explanation opened on x's shape and strides: the first step of the ops that only
    rearrange strides (permute, transpose, expand)."""
    ex = Explanation(op=op, call=call, title=t(f"{op}.title"), inputs={"x": info(x)})
    ex.steps.append(
        Step(
            t("step.input_of", name="x"),
            "x, x.stride()",
            info(x),
            t("permute.input", shape=fmt_shape(x.shape), stride=fmt_shape(x.stride()), n=x.dim()),
        )
    )
    return ex


def _finish(
    ex: Explanation,
    x: torch.Tensor,
    perm: list[int],
    given: list[int],
    apply: Callable[[], torch.Tensor],
    code: str,
) -> Explanation:
    shape, stride = list(x.shape), list(x.stride())
    moved = [i for i, p in enumerate(perm) if i != p]
    rows = [[str(i), str(p), str(shape[p]), str(stride[p])] for i, p in enumerate(perm)]
    negatives = negative_note(given, x.dim())
    ex.steps.append(
        Step(
            t("permute.rule.title"),
            f"[x.shape[d] for d in {perm}], [x.stride(d) for d in {perm}]",
            None,
            t("permute.rule") + (" " + negatives if negatives else ""),
            Table(
                [t("permute.col.new"), t("permute.col.old"), t("permute.col.size"), t("permute.col.stride")],
                rows,
                [[i, c] for i in moved for c in (1, 2, 3)],
            ),
        )
    )
    try:
        result = apply()
    except (IndexError, RuntimeError) as e:
        ex.error = torch_error(e)
        return ex
    note = t(
        "permute.result",
        before=fmt_shape(shape),
        after=fmt_shape(result.shape),
        sb=fmt_shape(stride),
        sa=fmt_shape(result.stride()),
    )
    if result.is_contiguous():
        note += " " + t("permute.still_contiguous")
    else:
        note += " " + t(
            "permute.not_contiguous",
            shape=fmt_shape(result.shape),
            fresh=fmt_shape(fresh_stride(result.shape)),
        )
    ex.result = info(result, marked=moved)
    ex.steps.append(Step(t("step.result"), code, ex.result, note))
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    want_shape = [shape[p] for p in perm]
    want_stride = [stride[p] for p in perm]
    ex.checks.append(shape_check(t("permute.check.shape", perm=fmt_args(perm)), want_shape, result.shape))
    ex.checks.append(
        Check(
            t("permute.check.stride.label"),
            t("permute.check.stride", perm=fmt_args(perm)),
            fmt_shape(want_stride),
            fmt_shape(result.stride()),
            want_stride == list(result.stride()),
        )
    )
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("dims")
    return explain_permute(call.arg(0, "input"), call.sizes(1, "dims"))


def _explain_transpose_call(call: Call) -> Explanation:
    call.only("dim0", "dim1")
    return explain_transpose(call.arg(0, "input"), call.arg(1, "dim0"), call.arg(2, "dim1"))


def _explain_t_call(call: Call) -> Explanation:
    """x.T reverses every dimension: a permute, or a transpose for a matrix."""
    x = call.arg(0, "self")
    if x.dim() == 2:
        return explain_transpose(x, 0, 1)
    return explain_permute(x, list(range(x.dim()))[::-1])


register(
    OpSpec(
        "permute",
        "dedicated",
        _explain_call,
        targets=("torch.permute", "torch.Tensor.permute"),
        output_shapes=reads_nothing,
        command="permute",
    )
)
register(
    OpSpec(
        "transpose",
        "dedicated",
        _explain_transpose_call,
        targets=(
            *("torch.transpose", "torch.Tensor.transpose", "torch.swapaxes", "torch.Tensor.swapaxes"),
            *("torch.swapdims", "torch.Tensor.swapdims"),
        ),
        output_shapes=reads_nothing,
        command="transpose",
    )
)
register(OpSpec("T", "dedicated", _explain_t_call, targets=("torch.Tensor.T",), output_shapes=reads_nothing))

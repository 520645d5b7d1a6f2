"""x.reshape(*shape): as view, but torch copies when a view is impossible; which one it did."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Check, Explanation, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import torch_error
from tensorshape_cli.ops.view import layout_steps, stride_error
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def explain(x: torch.Tensor, shape: list[int], transpose: tuple[int, int] | None = None) -> Explanation:
    args = fmt_args(shape)
    ex = Explanation(op="reshape", call=f"x.reshape({args})", title=t("reshape.title"), inputs={"x": info(x)})
    laid_out = layout_steps(ex, x, shape, transpose, "reshape")
    if laid_out is None:
        return ex
    x = laid_out
    try:
        result = x.reshape(tuple(shape))
    except RuntimeError as e:
        ex.error = ex.error or torch_error(e)
        return ex
    ex.error = None  # torch accepted it: torch is right
    ex.result = info(result)
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = x.reshape({args})",
            ex.result,
            t("view.result", shape=fmt_shape(result.shape), stride=fmt_shape(result.stride())),
        )
    )
    try:
        x.view(tuple(shape))
        viewable, why = True, ""
    except RuntimeError:
        viewable, why = False, stride_error(x, shape).message
    shared = _shares_storage(x, result)
    if x.device.type == "meta":
        note = t("reshape.meta", verdict=t("reshape.word.view" if viewable else "reshape.word.copy"))
    elif shared:
        note = t("reshape.view.contiguous" if x.is_contiguous() else "reshape.view.strided", args=args)
    else:
        note = t("reshape.copy", args=args, why=why)
    ex.steps.append(Step(t("reshape.storage.title"), "y.data_ptr() == x.data_ptr()", None, note))
    predicted = t("reshape.word.view" if viewable else "reshape.word.copy")
    actual = t("reshape.word.view" if shared else "reshape.word.copy")
    ex.checks.append(
        Check(
            t("view.check.label"),
            t("view.check.expr", shape=fmt_shape(result.shape)),
            x.numel(),
            result.numel(),
            x.numel() == result.numel(),
        )
    )
    ex.checks.append(
        Check(
            t("reshape.check.label"),
            t("reshape.check.expr", args=args),
            predicted,
            actual,
            predicted == actual,
        )
    )
    return ex


def _shares_storage(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Same memory, read from torch: the data pointers when there is data, else whether
    torch made y as a view (empty and shape-only tensors have no pointer to compare)."""
    if x.device.type != "meta" and x.numel() and y.numel():
        return bool(y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())
    return bool(y._is_view())


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("shape")
    return explain(call.arg(0, "input"), call.sizes(1, "shape"), call.options.get("transpose"))


register(
    OpSpec(
        "reshape",
        "dedicated",
        _explain_call,
        targets=("torch.reshape", "torch.Tensor.reshape"),
        output_shapes=lambda call: [tuple(call.arg(0, "input").shape)],  # a copy at most
        command="reshape",
    )
)

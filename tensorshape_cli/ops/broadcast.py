"""Broadcasting several tensors (or shapes alone): the alignment table and the rule per dimension."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Explanation, Step, TensorInfo
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import align, mismatch_error
from tensorshape_cli.ops._common import broadcast_shape, fresh_stride, input_steps, shape_check, torch_error
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def operand_names(count: int) -> list[str]:
    """a, b, c, … as torch's messages call the operands of a binary op."""
    return [chr(ord("a") + i) if i < 26 else f"t{i}" for i in range(count)]


def explain(tensors: Sequence[torch.Tensor], names: Sequence[str] | None = None) -> Explanation:
    import torch

    names = list(names or operand_names(len(tensors)))
    shapes_code = ", ".join(f"{n}.shape" for n in names)
    ex = Explanation(
        op="broadcast",
        call=f"torch.broadcast_shapes({shapes_code})",
        title=t("broadcastop.title"),
        inputs={n: info(x) for n, x in zip(names, tensors, strict=True)},
    )
    ex.steps.extend(input_steps(names, tensors))
    shapes = [list(x.shape) for x in tensors]
    alignment = align(shapes, names)
    ex.steps.append(
        Step(
            t("broadcastop.align.title"),
            f"torch.broadcast_shapes({shapes_code})",
            None,
            t("broadcastop.align"),
            alignment.table,
        )
    )
    try:
        torch_shape = broadcast_shape(shapes)
    except RuntimeError as e:
        ex.error = mismatch_error(alignment, names) if alignment.shape is None else torch_error(e)
        return ex
    shape = alignment.shape if alignment.shape is not None else torch_shape
    for i, (n, x) in enumerate(zip(names, tensors, strict=True)):
        stretched = alignment.stretched_by[i] if alignment.stretched_by else []
        expanded = x.expand(tuple(shape))
        note = (
            t("broadcastop.same", name=n, shape=fmt_shape(shape))
            if not stretched
            else t(
                "broadcastop.stretched",
                name=n,
                before=fmt_shape(x.shape),
                after=fmt_shape(shape),
                dims=fmt_args(stretched),
                stride=fmt_shape(expanded.stride()),
            )
        )
        ex.steps.append(
            Step(
                t("broadcastop.expanded.title", name=n),
                f"torch.broadcast_to({n}, {fmt_shape(shape)})",
                info(expanded, marked=stretched),
                note,
            )
        )
    dtype = tensors[0].dtype
    for x in tensors[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    ex.result = TensorInfo(
        shape=shape,
        dtype=dtype_name(dtype),
        stride=fresh_stride(shape),
        contiguous=True,
        meta=any(x.device.type == "meta" for x in tensors),
    )
    ex.checks.append(shape_check(t("broadcastop.check"), shape, torch_shape))
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    """torch.broadcast_tensors(a, b, …), or torch.broadcast_shapes of shapes alone."""
    import torch

    call.only()
    tensors = [x if isinstance(x, torch.Tensor) else torch.empty(tuple(x), device="meta") for x in call.args]
    return explain(tensors, call.names(0, len(tensors)))


register(
    OpSpec(
        "broadcast",
        "dedicated",
        _explain_call,
        targets=("torch.broadcast_tensors", "torch.broadcast_shapes"),
        output_shapes=lambda call: (),  # broadcast_tensors' results are expanded views
        command="broadcast",
    )
)

"""x.expand(*sizes): size-1 dimensions stretched, new ones added on the left, all with stride 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import MISMATCH, OK, STRETCHED, Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import MISSING
from tensorshape_cli.ops._common import shape_check, storage_note, torch_error
from tensorshape_cli.ops.permute import start
from tensorshape_cli.text import fmt_args, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch


def explain(x: torch.Tensor, shape: list[int], call: str | None = None) -> Explanation:
    args = fmt_args(shape)
    ex = start("expand", call or f"x.expand({args})", x)
    n, k = x.dim(), len(shape)
    if k < n:
        ex.error = OpError("expand_rank", t("expand.rank", n=n, k=k), t("expand.rank.hint", n=n))
        return ex
    rows, marked, want_shape, want_stride, stretched = [], [], [], [], []
    status: list[str] = []
    for i, size in enumerate(shape):
        j = i - (k - n)
        have = x.shape[j] if j >= 0 else None
        out, stride = size, 0
        failed = False
        if have is None:
            if size < 0:
                ex.error = ex.error or OpError(
                    "expand_new_dim",
                    t("expand.new_negative", size=size, dim=i),
                    t("expand.new_negative.hint"),
                )
                rule = t("expand.rule.new_negative", size=size)
                failed = True
            elif size == 1:  # nothing to repeat: torch gives it the stride a fresh dimension has
                rule = t("expand.rule.new_one")
                stride = -1  # filled in below, from the dimensions to its right
            else:
                rule = t("expand.rule.new", size=size)
                stretched.append(i)
        elif size == -1 or size == have:
            out, stride = have, x.stride(j)
            rule = t("expand.rule.keep", size=have) if size == -1 else t("broadcast.rule.equal")
        elif have == 1 and size >= 0:
            rule = t("expand.rule.stretch", size=size)
            stretched.append(i)
        else:
            ex.error = ex.error or OpError(
                "expand_mismatch",
                t(
                    "expand.mismatch",
                    size=size,
                    have=have,
                    dim=i,
                    target=fmt_shape(shape),
                    sizes=fmt_shape(x.shape),
                ),
                t("expand.mismatch.hint"),
            )
            rule = t("expand.rule.clash", size=size, have=have)
            failed = True
        status.append(MISMATCH if failed else STRETCHED if i in stretched else OK)
        want_shape.append(out)
        want_stride.append(stride)
        if i in stretched:
            marked += [[i, 3], [i, 4]]
        rows.append(
            [
                str(i),
                MISSING if have is None else str(have),
                str(size),
                "" if failed else str(out),
                "" if failed else str(stride),
                rule,
            ]
        )
    for i in reversed(range(len(want_stride))):
        if want_stride[i] == -1:
            inner = want_stride[i + 1] * want_shape[i + 1] if i + 1 < len(want_stride) else 0
            want_stride[i] = inner
            rows[i][4] = str(inner)
    columns = [t("broadcast.col.dim"), "x", t("expand.col.target")]
    columns += [t("broadcast.col.result"), t("permute.col.stride"), t("broadcast.col.rule")]
    ex.steps.append(
        Step(
            t("expand.rule.title"),
            f"x.expand({args})",
            None,
            t("expand.rule"),
            Table(columns, rows, marked, status),
        )
    )
    if ex.error is not None:
        return ex
    try:
        result = x.expand(tuple(shape))
    except RuntimeError as e:
        ex.error = torch_error(e)
        return ex
    ex.result = info(result, marked=stretched)
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = x.expand({args})",
            ex.result,
            t(
                "expand.result",
                before=fmt_shape(x.shape),
                after=fmt_shape(result.shape),
                stride=fmt_shape(result.stride()),
                dims=fmt_args(stretched) or t("squeeze.none"),
                numel=fmt_count(result.numel()),
                stored=fmt_count(x.numel()),
            ),
        )
    )
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    ex.checks.append(shape_check(t("expand.check.shape", target=args), want_shape, result.shape))
    ex.checks.append(
        Check(
            t("permute.check.stride.label"),
            t("expand.check.stride"),
            fmt_shape(want_stride),
            fmt_shape(result.stride()),
            want_stride == list(result.stride()),
        )
    )
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("size")
    return explain(call.arg(0, "input"), call.sizes(1, "size"), call.code or None)


register(
    OpSpec(
        "expand",
        "dedicated",
        _explain_call,
        targets=("torch.Tensor.expand", "torch.broadcast_to", "torch.Tensor.broadcast_to"),
        output_shapes=reads_nothing,  # stride 0: any size is free until something reads it
        command="expand",
    )
)

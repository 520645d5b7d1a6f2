"""x.squeeze(dims): size-1 dimensions removed; asked-for dims whose size is not 1 stay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Explanation, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import shape_check, storage_note, torch_error
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def call_args(dims: Sequence[int] | None) -> str:
    if dims is None:
        return ""
    return str(dims[0]) if len(dims) == 1 else f"({fmt_args(dims)})"


def explain(x: torch.Tensor, dims: Sequence[int] | None = None) -> Explanation:
    n = x.dim()
    ex = Explanation(
        op="squeeze", call=f"x.squeeze({call_args(dims)})", title=t("squeeze.title"), inputs={"x": info(x)}
    )
    ones = [d for d, s in enumerate(x.shape) if s == 1]
    ex.steps.append(
        Step(
            t("step.input_of", name="x"),
            "x",
            info(x, marked=ones),
            t("squeeze.input", shape=fmt_shape(x.shape), n=n, ones=fmt_args(ones) or t("squeeze.none")),
        )
    )
    ex.error = check_dims(dims or [], n)
    if ex.error is not None:
        return ex
    asked = None if dims is None else {wrap(d, n) for d in dims}
    rows, marked, removed = [], [], []
    for d, size in enumerate(x.shape):
        if asked is not None and d not in asked:
            verdict = t("squeeze.kept_not_asked")
        elif size == 1:
            verdict = t("squeeze.removed")
            removed.append(d)
            marked.append([d, 2])
        else:
            verdict = t("squeeze.kept_size", size=size)
        rows.append([str(d), str(size), verdict])
    negatives = negative_note(dims or [], n)
    ex.steps.append(
        Step(
            t("squeeze.rule.title"),
            "x.shape",
            None,
            (t("squeeze.rule.asked") if dims is not None else t("squeeze.rule.all"))
            + (" " + negatives if negatives else ""),
            Table([t("squeeze.col.dim"), t("squeeze.col.size"), t("squeeze.col.verdict")], rows, marked),
        )
    )
    try:
        result = x.squeeze(tuple(dims)) if dims is not None else x.squeeze()
    except (IndexError, RuntimeError, TypeError) as e:
        ex.error = torch_error(e)
        return ex
    kept = [s for d, s in enumerate(x.shape) if d not in removed]
    ex.result = info(result)
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = x.squeeze({call_args(dims)})",
            ex.result,
            t(
                "squeeze.result",
                before=fmt_shape(x.shape),
                after=fmt_shape(result.shape),
                removed=fmt_args(removed) or t("squeeze.none"),
            ),
        )
    )
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    ex.checks.append(
        shape_check(
            t("squeeze.check", shape=fmt_shape(x.shape), removed=fmt_args(removed) or t("squeeze.none")),
            kept,
            result.shape,
        )
    )
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("dim")
    dims = call.arg(1, "dim", None)
    return explain(call.arg(0, "input"), None if dims is None else [int(d) for d in _as_list(dims)])


def _as_list(dims: Any) -> list[Any]:
    return list(dims) if isinstance(dims, (list, tuple)) else [dims]


register(
    OpSpec(
        "squeeze",
        "dedicated",
        _explain_call,
        targets=("torch.squeeze", "torch.Tensor.squeeze"),
        output_shapes=reads_nothing,
        command="squeeze",
    )
)

"""torch.flatten(x, start_dim, end_dim): dimensions start_dim … end_dim merged into one."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import shape_check, storage_note, torch_error
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import fmt_shape

if TYPE_CHECKING:
    import torch


def explain(x: torch.Tensor, start_dim: int = 0, end_dim: int = -1) -> Explanation:
    n = x.dim()
    args = f"start_dim={start_dim}, end_dim={end_dim}"
    ex = Explanation(
        op="flatten", call=f"torch.flatten(x, {args})", title=t("flatten.title"), inputs={"x": info(x)}
    )
    ex.steps.append(
        Step(t("step.input_of", name="x"), "x", info(x), t("unsqueeze.input", shape=fmt_shape(x.shape), n=n))
    )
    ex.error = check_dims([start_dim], n) or check_dims([end_dim], n)
    if ex.error is not None:
        return ex
    s, e = wrap(start_dim, n), wrap(end_dim, n)
    assert s is not None and e is not None
    negatives = negative_note([start_dim, end_dim], n)
    if s > e:
        ex.error = OpError(
            "flatten_order",
            t("flatten.order", start=start_dim, end=end_dim, s=s, e=e),
            t("flatten.order.hint", s=s, e=e),
        )
        return ex
    shape = list(x.shape)
    merged = shape[s : e + 1] if n else [1]
    size = math.prod(merged)
    rows = [
        [str(d), str(shape[d]), t("flatten.merged") if s <= d <= e else t("flatten.kept")] for d in range(n)
    ]
    ex.steps.append(
        Step(
            t("flatten.rule.title"),
            f"math.prod(x.shape[{s}:{e + 1}])" if n else "x.shape",
            None,
            (
                t("flatten.rule", s=s, e=e, sizes=" × ".join(map(str, merged)), size=size)
                if n
                else t("flatten.scalar")
            )
            + (" " + negatives if negatives else ""),
            Table(
                [t("squeeze.col.dim"), t("squeeze.col.size"), t("squeeze.col.verdict")],
                rows,
                [[d, 2] for d in range(s, e + 1) if n],
            ),
        )
    )
    try:
        result = x.flatten(start_dim, end_dim)
    except (IndexError, RuntimeError) as err:
        ex.error = torch_error(err)
        return ex
    expected = [*shape[:s], size, *shape[e + 1 :]] if n else [1]
    ex.result = info(result, marked=[s] if n else [0])
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = torch.flatten(x, {args})",
            ex.result,
            t("flatten.result", before=fmt_shape(shape), after=fmt_shape(result.shape), pos=s if n else 0),
        )
    )
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    ex.checks.append(
        shape_check(t("flatten.check", shape=fmt_shape(shape), s=s, e=e), expected, result.shape)
    )
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("start_dim", "end_dim")
    return explain(call.arg(0, "input"), call.arg(1, "start_dim", 0), call.arg(2, "end_dim", -1))


register(
    OpSpec(
        "flatten",
        "dedicated",
        _explain_call,
        targets=("torch.flatten", "torch.Tensor.flatten"),
        output_shapes=lambda call: [tuple(call.arg(0, "input").shape)],  # a copy at most
        command="flatten",
    )
)

"""torch.unsqueeze(x, dim): a new dimension of size 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import TORCH_ERRORS, storage_note, torch_error
from tensorshape_cli.text import fmt_shape

if TYPE_CHECKING:
    import torch


def explain(x: torch.Tensor, dim: int | None = None) -> Explanation:
    n = x.dim()
    lo, hi = -n - 1, n
    ex = Explanation(
        op="unsqueeze",
        call=f"torch.unsqueeze(x, {dim})" if dim is not None else "x.unsqueeze(dim)",
        title=t("unsqueeze.title"),
        inputs={"x": info(x)},
    )
    ex.steps.append(
        Step(t("step.input_of", name="x"), "x", info(x), t("unsqueeze.input", shape=fmt_shape(x.shape), n=n))
    )
    ex.steps.append(
        Step(t("unsqueeze.range.title"), "x.dim()", None, t("unsqueeze.range", lo=lo, hi=hi, n=n))
    )
    if dim is None:
        _tour(ex, x)
        return ex

    if dim < 0:
        ex.steps.append(
            Step(
                t("unsqueeze.negative.title"),
                f"{dim} + {n} + 1",
                None,
                t("unsqueeze.negative", dim=dim, n=n, pos=dim + n + 1),
            )
        )
    try:
        result = x.unsqueeze(dim)
    except TORCH_ERRORS as e:
        if not lo <= dim <= hi:
            ex.error = OpError(
                "dim_out_of_range",
                t("unsqueeze.out_of_range", dim=dim, n=n),
                t("unsqueeze.out_of_range.hint", lo=lo, hi=hi),
            )
        else:
            ex.error = torch_error(e)
        return ex
    pos = dim % (n + 1)
    step = _unsqueezed_step(x, dim, result=result)
    ex.steps.append(step)
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    expected = [*x.shape[:pos], 1, *x.shape[pos:]]
    ex.checks.append(
        Check(
            t("unsqueeze.check.label"),
            t("unsqueeze.check.expr", shape=fmt_shape(x.shape), pos=pos),
            fmt_shape(expected),
            fmt_shape(result.shape),
            expected == list(result.shape),
        )
    )
    ex.result = step.tensor
    return ex


def _tour(ex: Explanation, x: torch.Tensor) -> None:
    """Every valid dim: one table of dim → shape, where d and d - n - 1 share a row (they put
    the new dimension at the same place), then one step per position, 0, 1, …, n."""
    n = x.dim()
    table = Table([t("unsqueeze.col.dim"), t("unsqueeze.col.same"), t("unsqueeze.col.shape")], [])
    steps = []
    for pos in range(n + 1):
        step = _unsqueezed_step(x, pos)
        steps.append(step)
        assert step.tensor is not None
        table.add([str(pos), str(pos - n - 1), fmt_shape(step.tensor.shape)])
        table.marked.append([pos, 2])
    ex.steps.append(
        Step(
            t("unsqueeze.tour.summary.title"),
            f"[x.unsqueeze(d).shape for d in range({n + 1})]",
            None,
            t("unsqueeze.tour.summary", n=n, last=-n - 1),
            table,
        )
    )
    ex.steps.extend(steps)
    results = [s.tensor for s in steps if s.tensor is not None]
    if len(results) == 1:  # a 0-d tensor: one position only, so one result
        ex.result = results[0]
    else:
        ex.outputs = results


def _unsqueezed_step(x: torch.Tensor, dim: int, result: torch.Tensor | None = None) -> Step:
    """The result of `x.unsqueeze(dim)`; without `result`, one step of the tour of every dim."""
    n = x.dim()
    pos = dim % (n + 1)
    tour = result is None
    result = x.unsqueeze(dim) if result is None else result
    if pos == 0:
        where = t("unsqueeze.at_start")
    elif pos == n:
        where = t("unsqueeze.at_end")
    else:
        where = t("unsqueeze.in_middle", pos=pos)
    note = t(
        "unsqueeze.note",
        pos=pos,
        where=where,
        before=fmt_shape(x.shape),
        after=fmt_shape(result.shape),
    )
    if tour:
        note += " " + t("unsqueeze.tour.same", dim=dim, neg=dim - n - 1, n1=n + 1)
    elif dim < 0:
        note += " " + t("unsqueeze.note_negative", dim=dim, n=n, pos=pos)
    if tour:  # titled as the notebook does: "unsqueeze(0) - agregar dimensión al inicio"
        return Step(
            t("unsqueeze.tour.title", dim=dim, neg=dim - n - 1, where=where),
            f"x.unsqueeze({dim})",
            info(result, marked=[pos]),
            note,
        )
    return Step(t("step.result"), f"y = x.unsqueeze({dim})", info(result, marked=[pos]), note)


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("dim")
    return explain(call.arg(0, "input"), call.arg(1, "dim", None))  # None: the command's tour


register(
    OpSpec(
        "unsqueeze",
        "dedicated",
        _explain_call,
        targets=("torch.unsqueeze", "torch.Tensor.unsqueeze"),
        output_shapes=reads_nothing,
        command="unsqueeze",
    )
)

"""x.movedim(source, destination): the dims in source move to destination, the others keep
their order in the places left; like permute, no data moves (a view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import shape_check, torch_error
from tensorshape_cli.ops._dims import check_dims, wrap
from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def order(n: int, source: Sequence[int], destination: Sequence[int]) -> list[int]:
    """The old dim at each new position: moved dims where asked, the rest in order."""
    placed: dict[int, int] = {
        wrap(d, n) or 0: wrap(s, n) or 0 for s, d in zip(source, destination, strict=True)
    }
    rest = iter(d for d in range(n) if d not in placed.values())
    return [placed[i] if i in placed else next(rest) for i in range(n)]


def explain(
    x: torch.Tensor, source: Sequence[int], destination: Sequence[int], code: str = ""
) -> Explanation:
    n = x.dim()
    call = code or f"x.movedim(({fmt_args(source)}), ({fmt_args(destination)}))"
    ex = Explanation(op="movedim", call=call, title=t("movedim.title"), inputs={"x": info(x)})
    ex.steps.append(
        Step(t("step.input"), "x, x.stride()", info(x), t("movedim.input", shape=fmt_shape(x.shape), n=n))
    )
    if len(source) != len(destination):
        ex.error = OpError(
            "movedim_length", t("movedim.length", s=len(source), d=len(destination)), t("movedim.length.hint")
        )
        return ex
    ex.error = check_dims([*source], n) or check_dims([*destination], n)
    if ex.error is not None:
        return ex
    perm = order(n, source, destination)
    shape, stride = list(x.shape), list(x.stride())
    rows = [[str(i), str(p), str(shape[p]), str(stride[p])] for i, p in enumerate(perm)]
    moved = [i for i, p in enumerate(perm) if i != p]
    columns = [t("movedim.col.new"), t("movedim.col.old"), t("movedim.col.size"), t("movedim.col.stride")]
    ex.steps.append(
        Step(
            t("movedim.rule.title"),
            f"x.permute({fmt_args(perm)})",
            None,
            t("movedim.rule", perm=fmt_args(perm)),
            Table(columns, rows, [[i, c] for i in moved for c in (1, 2, 3)]),
        )
    )
    try:
        y = x.movedim(tuple(source), tuple(destination))
    except (RuntimeError, IndexError, TypeError, ValueError) as e:
        ex.error = torch_error(e)
        return ex
    ex.result = info(y, marked=moved)
    note = t(
        "movedim.result", before=fmt_shape(shape), after=fmt_shape(y.shape), stride=fmt_shape(y.stride())
    )
    ex.steps.append(Step(t("step.result"), f"y = {call}", ex.result, note))
    ex.checks.append(
        shape_check(t("movedim.check.shape", perm=fmt_args(perm)), [shape[p] for p in perm], y.shape)
    )
    want = [stride[p] for p in perm]
    ex.checks.append(
        Check(
            t("movedim.check.stride"),
            f"[x.stride(d) for d in {perm}]",
            fmt_shape(want),
            fmt_shape(y.stride()),
            want == list(y.stride()),
        )
    )
    return ex


def _dims(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)]


def _explain_call(call: Call) -> Explanation:
    call.only("source", "destination")
    x = call.arg(0, "input")
    return explain(x, _dims(call.arg(1, "source")), _dims(call.arg(2, "destination")), call.code)


register(
    OpSpec(
        "movedim",
        "dedicated",
        _explain_call,
        targets=("torch.movedim", "torch.Tensor.movedim", "torch.moveaxis", "torch.Tensor.moveaxis"),
        output_shapes=reads_nothing,
    )
)

"""x.sum(dim) and x.mean(dim): which dimensions disappear, or become 1 with keepdim."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import (
    agrees,
    eps_of,
    shape_check,
    skipped_check,
    torch_error,
    unravel,
)
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import elide_terms, fmt_args, fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

HOW = ("sum", "mean")
HAND_CHECKS = 4


def call_text(how: str, dims: Sequence[int] | None, keepdim: bool, name: str = "x") -> str:
    if dims is None:
        return f"{name}.{how}()" if not keepdim else f"{name}.{how}(dim=None, keepdim=True)"
    dim = str(dims[0]) if len(dims) == 1 else f"({fmt_args(dims)}{',' if len(dims) == 1 else ''})"
    return f"{name}.{how}(dim={dim}" + (", keepdim=True)" if keepdim else ")")


def explain(
    x: torch.Tensor, dims: Sequence[int] | None = None, keepdim: bool = False, how: str = "sum"
) -> Explanation:
    assert how in HOW
    n = x.dim()
    call = call_text(how, dims, keepdim)
    ex = Explanation(op=how, call=call, title=t(f"reduce.{how}.title"), inputs={"x": info(x)})
    ex.error = check_dims(dims or [], n)
    # a scalar accepts dim 0 or -1, but has no dimension to reduce
    reduced = sorted({w for d in (dims or []) if (w := wrap(d, n)) is not None and w < n})
    reduced = reduced if dims else list(range(n))
    ex.steps.append(
        Step(
            t("step.input_of", name="x"),
            "x",
            info(x, marked=reduced if ex.error is None else []),
            t("unsqueeze.input", shape=fmt_shape(x.shape), n=n),
        )
    )
    if ex.error is not None:
        return ex
    verb = t(f"reduce.{how}.verb")
    rows, marked = [], []
    for d, size in enumerate(x.shape):
        if d in reduced:
            verdict = t("reduce.kept_one", verb=verb) if keepdim else t("reduce.gone", verb=verb)
            marked.append([d, 2])
        else:
            verdict = t("reduce.kept")
        rows.append([str(d), str(size), verdict])
    negatives = negative_note(dims or [], n)
    rule = t("reduce.rule.all", verb=verb) if not dims else t("reduce.rule", verb=verb)
    rule += " " + (t("reduce.rule.keepdim") if keepdim else t("reduce.rule.no_keepdim"))
    ex.steps.append(
        Step(
            t("reduce.rule.title"),
            "x.shape",
            None,
            rule + (" " + negatives if negatives else ""),
            Table([t("squeeze.col.dim"), t("squeeze.col.size"), t("squeeze.col.verdict")], rows, marked),
        )
    )
    try:
        y = _apply(x, how, dims, keepdim)
    except (RuntimeError, IndexError) as e:
        if how == "mean" and not (x.is_floating_point() or x.is_complex()):
            ex.error = OpError(
                "mean_dtype",
                t("reduce.mean_dtype", dtype=dtype_name(x.dtype), torch=torch_error(e).message),
                t("reduce.mean_dtype.hint", call=call_text(how, dims, keepdim, "x.float()")),
            )
        else:
            ex.error = torch_error(e)
        return ex
    shape = list(x.shape)
    predicted = (
        [1 if d in reduced else s for d, s in enumerate(shape)]
        if keepdim
        else [s for d, s in enumerate(shape) if d not in reduced]
    )
    count = math.prod(shape[d] for d in reduced)
    ex.result = info(y, marked=reduced if keepdim else [])
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = {call}",
            ex.result,
            t(
                "reduce.result",
                before=fmt_shape(shape),
                after=fmt_shape(y.shape),
                dims=fmt_args(reduced) or t("squeeze.none"),
                sizes=" × ".join(str(shape[d]) for d in reduced) or "1",
                count=count,
                verb=verb,
            )
            + (" " + t("reduce.mean.note", count=count) if how == "mean" else ""),
        )
    )
    ex.checks.append(
        shape_check(
            t("reduce.check.shape", shape=fmt_shape(shape), dims=fmt_args(reduced) or t("squeeze.none")),
            predicted,
            y.shape,
        )
    )
    if x.device.type == "meta":
        ex.checks.append(skipped_check())
    else:
        ex.checks.extend(_hand_checks(x, y, reduced, how))
    return ex


def _apply(x: torch.Tensor, how: str, dims: Sequence[int] | None, keepdim: bool) -> torch.Tensor:
    fn = x.sum if how == "sum" else x.mean
    if dims is None:
        return fn(dim=None, keepdim=True) if keepdim else fn()
    return fn(dim=tuple(dims), keepdim=keepdim)


def _hand_checks(x: torch.Tensor, y: torch.Tensor, reduced: list[int], how: str) -> list[Check]:
    """The first outputs written out: the elements along the reduced dims, added (and divided)."""
    kept = [d for d in range(x.dim()) if d not in reduced]
    kept_shape = [x.shape[d] for d in kept]
    outer, count = math.prod(kept_shape), math.prod(x.shape[d] for d in reduced)
    if outer == 0:
        return []
    # one row per output, holding the elements it combines
    flat_groups = x.detach().permute(*kept, *reduced).reshape(outer, count) if x.dim() else x.reshape(1, 1)
    flat_y = y.detach().reshape(-1)
    eps = eps_of(dtype_name(y.dtype))
    checks = []
    for g in range(min(HAND_CHECKS, flat_groups.shape[0], flat_y.numel())):
        values = flat_groups[g].tolist()
        total = sum(values)
        manual: float | int = total
        if how == "mean":
            manual = total / len(values) if values else math.nan
        computed = flat_y[g].item()
        magnitude = sum(abs(float(v)) for v in values) / (len(values) if how == "mean" and values else 1)
        ok = agrees(float(manual), float(computed), magnitude, len(values), eps)
        index = unravel(g, kept_shape)
        if y.dim() > len(index):  # keepdim: the reduced dims are still there, with index 0
            for d in reduced:
                index.insert(d, 0)
        label = t("check.element", index=fmt_index(index)) if index else t("check.whole")
        checks.append(Check(label, _written(values, how), manual, computed, ok))
    return checks


def _written(values: list[object], how: str) -> str:
    text = " + ".join(elide_terms([fmt_num(v) for v in values])) or "0"
    return f"({text}) / {len(values)}" if how == "mean" else text


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, Shape, register  # noqa: E402


def _bind(call: Call) -> tuple[torch.Tensor, list[int] | None, bool]:
    call.only("dim", "keepdim")
    dims = call.arg(1, "dim", None)
    if dims is not None:
        dims = [int(d) for d in (dims if isinstance(dims, (tuple, list)) else [dims])]
    return call.arg(0, "input"), dims, bool(call.arg(2, "keepdim", False))


def _output_shapes(call: Call) -> list[Shape]:
    x, dims, keepdim = _bind(call)
    n = x.dim()
    gone = {w for d in dims if (w := wrap(d, n)) is not None} if dims else set(range(n))
    return [tuple(1 if i in gone else s for i, s in enumerate(x.shape) if keepdim or i not in gone)]


def _explain_sum(call: Call) -> Explanation:
    return explain(*_bind(call), "sum")


def _explain_mean(call: Call) -> Explanation:
    return explain(*_bind(call), "mean")


register(
    OpSpec(
        "sum",
        "dedicated",
        _explain_sum,
        targets=("torch.sum", "torch.Tensor.sum"),
        output_shapes=_output_shapes,
        command="sum",
    )
)
register(
    OpSpec(
        "mean",
        "dedicated",
        _explain_mean,
        targets=("torch.mean", "torch.Tensor.mean"),
        output_shapes=_output_shapes,
        command="mean",
    )
)

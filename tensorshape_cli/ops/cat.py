"""torch.cat and torch.stack: which sizes must match, and why.

cat joins along an existing dimension: every other dimension must match, the joined one adds
up. stack puts the tensors side by side along a new dimension: all shapes must be equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import MISMATCH, OK, Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import check_size, input_steps, same_device, shape_check, torch_error
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import fmt_shape

if TYPE_CHECKING:
    import torch

PIECES_CHECKED = 4


def check_result_size(
    join: Callable[[list[torch.Tensor]], torch.Tensor], tensors: Sequence[torch.Tensor]
) -> None:
    """Refuse a result over --max-elements before it is made: its shape comes from the same
    call on shape-only copies of the inputs (no data); a call torch refuses is left to fail
    for real, and be explained."""
    from tensorshape_cli import torchmeta
    from tensorshape_cli.tensorfiles import shape_only

    if any(x.device.type == "meta" for x in tensors):
        return
    try:
        with torchmeta.fast_meta():  # torch's meta matmul would import sympy (~0.2 s) for the check
            shape = join([shape_only(x) for x in tensors]).shape
    except (RuntimeError, IndexError, TypeError, ValueError):
        return
    check_size(shape, "y")


def same_values(part_code: str, part: torch.Tensor, name: str, x: torch.Tensor) -> tuple[str, bool]:
    """Whether a piece of y holds x's values, as code that runs as written: NaN equals NaN
    here (a NaN copied into y is the same NaN), so floating pieces are compared with
    torch.equal's NaN-aware form, allclose with no tolerance."""
    import torch

    x = x.to(part.dtype)
    if part.dtype.is_floating_point or part.dtype.is_complex:
        same = bool(torch.allclose(part, x, rtol=0, atol=0, equal_nan=True))
        return f"torch.allclose({part_code}, {name}, rtol=0, atol=0, equal_nan=True)", same
    return f"torch.equal({part_code}, {name})", bool(torch.equal(part, x))


def explain_cat(
    tensors: Sequence[torch.Tensor], dim: int = 0, names: Sequence[str] | None = None
) -> Explanation:

    names = list(names or [chr(ord("a") + i) for i in range(len(tensors))])
    tensors = same_device(tensors)
    ex = _start("cat", f"torch.cat(({_tuple(names)}), dim={dim})", tensors, names)
    scalars = [i for i, x in enumerate(tensors) if x.dim() == 0]
    if scalars:
        i = scalars[0]
        ex.error = OpError(
            "cat_scalar", t("cat.scalar", name=names[i], i=i), t("cat.scalar.hint", name=names[i])
        )
        return ex
    # torch still skips 1-D empty tensors, whatever the other shapes (a legacy rule)
    joined = [i for i, x in enumerate(tensors) if not (x.dim() == 1 and x.shape[0] == 0)]
    skipped = [names[i] for i in range(len(tensors)) if i not in joined]
    if not joined:  # nothing but skipped tensors: torch checks nothing, not even dim
        return _joined(ex, tensors, dim, names, d=0, joined=joined)
    first = tensors[joined[0]]
    n = first.dim()
    ex.error = check_dims([dim], n)
    if ex.error is not None:
        return ex
    d = wrap(dim, n)
    assert d is not None
    ranks = [i for i in joined if tensors[i].dim() != n]
    if ranks:
        i = ranks[0]
        ex.error = OpError(
            "cat_rank",
            t("cat.rank", a=names[joined[0]], na=n, b=names[i], nb=tensors[i].dim()),
            t("cat.rank.hint"),
        )
        return ex
    rows: list[list[str]] = []
    marked: list[list[int]] = []
    status: list[str] = []
    mismatch: tuple[int, int] | None = None  # (tensor, dim) of the first clash, as torch scans
    for i in joined[1:]:
        for k in range(n):
            if k != d and tensors[i].shape[k] != first.shape[k] and mismatch is None:
                mismatch = (i, k)
    for k in range(n):
        sizes = [tensors[i].shape[k] for i in joined]
        cells = [str(tensors[i].shape[k]) if i in joined else "·" for i in range(len(tensors))]
        if k == d:
            total = sum(sizes)
            rule, out = t("cat.rule.joined", sum=" + ".join(map(str, sizes)), total=total), str(total)
            marked += [[k, c + 1] for c in range(len(tensors) + 1)]
        elif len(set(sizes)) == 1:
            rule, out = t("cat.rule.match"), str(sizes[0])
        else:
            rule, out = t("cat.rule.clash", sizes=" ≠ ".join(map(str, sorted(set(sizes))))), ""
        rows.append([str(k), *cells, out, rule])
        status.append(MISMATCH if not out else OK)
    columns = [t("broadcast.col.dim"), *names, t("broadcast.col.result"), t("broadcast.col.rule")]
    note = t("cat.rule", d=d) + _skipped_note(skipped) + _negative(dim, n)
    ex.steps.append(
        Step(
            t("cat.rule.title"),
            "[x.shape for x in tensors]",
            None,
            note,
            Table(columns, rows, marked, status),
        )
    )
    if mismatch is not None:
        i, k = mismatch
        ex.error = OpError(
            "cat_mismatch",
            t("cat.mismatch", d=d, want=first.shape[k], got=tensors[i].shape[k], i=i, name=names[i], k=k),
            t("cat.mismatch.hint", d=d, k=k),
        )
        return ex
    return _joined(ex, tensors, dim, names, d=d, joined=joined)


def _joined(
    ex: Explanation, tensors: Sequence[torch.Tensor], dim: int, names: list[str], d: int, joined: list[int]
) -> Explanation:
    """torch.cat itself, the result, and checks that each piece landed where the rule says."""
    import torch

    check_result_size(lambda xs: torch.cat(xs, dim=dim), tensors)
    try:
        y = torch.cat(list(tensors), dim=dim)
    except (RuntimeError, IndexError, TypeError) as e:
        ex.error = torch_error(e)
        return ex
    ex.result = info(y, marked=[d] if joined else [])
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = {ex.call}",
            ex.result,
            t(
                "cat.result",
                d=d,
                shapes=", ".join(fmt_shape(x.shape) for x in tensors),
                y=fmt_shape(y.shape),
            )
            + _dtype_note(tensors, y),
        )
    )
    predicted = list(tensors[joined[0]].shape if joined else tensors[0].shape)
    if joined:
        predicted[d] = sum(tensors[i].shape[d] for i in joined)
    ex.checks.append(shape_check(t("cat.check.shape", d=d), predicted, y.shape))
    offset = 0
    for i in joined[:PIECES_CHECKED]:
        size = tensors[i].shape[d]
        if y.device.type != "meta":
            expression, same = same_values(
                f"y.narrow({d}, {offset}, {size})", y.narrow(d, offset, size), names[i], tensors[i]
            )
            ex.checks.append(
                Check(
                    t("cat.check.piece", name=names[i]),
                    expression,
                    True,
                    same,
                    same,
                )
            )
        offset += size
    return ex


def explain_stack(
    tensors: Sequence[torch.Tensor], dim: int = 0, names: Sequence[str] | None = None
) -> Explanation:
    import torch

    names = list(names or [chr(ord("a") + i) for i in range(len(tensors))])
    tensors = same_device(tensors)
    ex = _start("stack", f"torch.stack(({_tuple(names)}), dim={dim})", tensors, names)
    first = tensors[0]
    n = first.dim()
    ex.error = check_dims([dim], n, extra=1)
    if ex.error is not None:
        return ex
    p = wrap(dim, n, extra=1)
    assert p is not None
    width = max(x.dim() for x in tensors)
    table = Table([t("broadcast.col.dim"), *names, t("broadcast.col.result"), t("broadcast.col.rule")], [])
    clash = None
    for k in range(width):
        sizes = [x.shape[k] if k < x.dim() else None for x in tensors]
        cells = ["·" if s is None else str(s) for s in sizes]
        if len(set(sizes)) == 1:
            table.add([str(k), *cells, str(sizes[0]), t("cat.rule.match")])
        else:
            present = sorted({s for s in sizes if s is not None})
            clash_rule = t("stack.rule.clash", sizes=" ≠ ".join(map(str, present)) or "·")
            table.add([str(k), *cells, "", clash_rule], MISMATCH)
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != first.shape and clash is None:
            clash = i
    note = t("stack.rule", p=p, count=len(tensors)) + _negative(dim, n, extra=1)
    ex.steps.append(Step(t("cat.rule.title"), "[x.shape for x in tensors]", None, note, table))
    if clash is not None:
        ex.error = OpError(
            "stack_mismatch",
            t(
                "stack.mismatch",
                a=list(first.shape),
                b=list(tensors[clash].shape),
                i=clash,
                name=names[clash],
            ),
            t("stack.mismatch.hint"),
        )
        return ex
    check_result_size(lambda xs: torch.stack(xs, dim=dim), tensors)
    try:
        y = torch.stack(list(tensors), dim=dim)
    except (RuntimeError, IndexError, TypeError) as e:
        ex.error = torch_error(e)
        return ex
    ex.result = info(y, marked=[p])
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = {ex.call}",
            ex.result,
            t("stack.result", p=p, count=len(tensors), shape=fmt_shape(first.shape), y=fmt_shape(y.shape))
            + _dtype_note(tensors, y),
        )
    )
    predicted = [*first.shape[:p], len(tensors), *first.shape[p:]]
    ex.checks.append(shape_check(t("stack.check.shape", p=p, count=len(tensors)), predicted, y.shape))
    if y.device.type != "meta":
        for i, x in enumerate(tensors[:PIECES_CHECKED]):
            expression, same = same_values(f"y.select({p}, {i})", y.select(p, i), names[i], x)
            ex.checks.append(
                Check(
                    t("cat.check.piece", name=names[i]),
                    expression,
                    True,
                    same,
                    same,
                )
            )
    return ex


def _start(op: str, call: str, tensors: Sequence[torch.Tensor], names: Sequence[str]) -> Explanation:
    ex = Explanation(
        op=op,
        call=call,
        title=t(f"{op}.title"),
        inputs={n: info(x) for n, x in zip(names, tensors, strict=True)},
    )
    ex.steps.extend(input_steps(names, tensors))
    return ex


def _tuple(names: Sequence[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")


def _negative(dim: int, n: int, extra: int = 0) -> str:
    note = negative_note([dim], n, extra)
    return " " + note if note else ""


def _skipped_note(skipped: list[str]) -> str:
    return " " + t("cat.skipped", names=", ".join(skipped)) if skipped else ""


def _dtype_note(tensors: Sequence[torch.Tensor], y: torch.Tensor) -> str:
    dtypes = sorted({dtype_name(x.dtype) for x in tensors})
    if len(dtypes) == 1:
        return ""
    return " " + t("cat.promoted", dtypes=", ".join(dtypes), dtype=dtype_name(y.dtype))


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, Shape, register  # noqa: E402


def _bind(call: Call) -> tuple[list[torch.Tensor], int, list[str]]:
    call.only("dim", "axis")
    tensors = list(call.arg(0, "tensors"))
    dim = call.arg(1, "dim", call.kwargs.get("axis", 0))  # torch.concatenate names it axis
    return tensors, int(dim), call.names(0, len(tensors))


def _output_shapes(call: Call) -> list[Shape]:
    import math

    tensors = list(call.arg(0, "tensors"))
    return [(sum(math.prod(x.shape) for x in tensors),)]  # as many elements as the pieces


def _explain_cat(call: Call) -> Explanation:
    return explain_cat(*_bind(call))


def _explain_stack(call: Call) -> Explanation:
    return explain_stack(*_bind(call))


register(
    OpSpec(
        "cat",
        "dedicated",
        _explain_cat,
        targets=("torch.cat", "torch.concat", "torch.concatenate"),
        output_shapes=_output_shapes,
        command="cat",
    )
)
register(
    OpSpec(
        "stack",
        "dedicated",
        _explain_stack,
        targets=("torch.stack",),
        output_shapes=_output_shapes,
        command="stack",
    )
)

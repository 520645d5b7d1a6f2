"""a @ b (torch.matmul): which dimension is contracted, which are broadcast, which are dropped.

The rules, as torch documents them: 1-D @ 1-D is a dot product; a 1-D operand on the left
gets a 1 prepended (a row), on the right a 1 appended (a column), removed again from the
result; the last two dimensions are matrices, (n, k) @ (k, m) → (n, m); any dimensions
before them are batch dimensions, and broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import MISMATCH, OK, Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import MISSING, Alignment, align, mismatch_error
from tensorshape_cli.ops._common import (
    agrees,
    broadcast_shape,
    eps_of,
    same_device,
    shape_check,
    skipped_check,
    torch_error,
    unravel,
    written_sum,
)
from tensorshape_cli.text import fmt_index, fmt_shape

if TYPE_CHECKING:
    import torch

HAND_CHECKS = 4


def explain(a: torch.Tensor, b: torch.Tensor, names: Sequence[str] = ("a", "b")) -> Explanation:
    na, nb = names
    a, b = same_device([a, b])
    ex = Explanation(
        op="matmul", call=f"{na} @ {nb}", title=t("matmul.title"), inputs={na: info(a), nb: info(b)}
    )
    kb_dim = b.dim() - 2 if b.dim() >= 2 else 0
    ex.steps.append(
        Step(
            t("step.input_of", name=na),
            na,
            info(a, marked=[a.dim() - 1] if a.dim() else []),
            t("matmul.input.a", name=na, shape=fmt_shape(a.shape), n=a.dim()),
        )
    )
    ex.steps.append(
        Step(
            t("step.input_of", name=nb),
            nb,
            info(b, marked=[kb_dim] if b.dim() else []),
            t(
                "matmul.input.b" if b.dim() != 1 else "matmul.input.b_vector",
                name=nb,
                shape=fmt_shape(b.shape),
                n=b.dim(),
            ),
        )
    )
    if a.dim() == 0 or b.dim() == 0:
        name = na if a.dim() == 0 else nb
        ex.error = OpError(
            "matmul_scalar", t("matmul.scalar", name=name), t("matmul.scalar.hint", a=na, b=nb)
        )
        return ex
    table, predicted, batch_alignment = rule_table(list(a.shape), list(b.shape), names)
    ex.steps.append(Step(t("matmul.rule.title"), f"{na} @ {nb}", None, _rule_note(a, b, names), table))
    from tensorshape_cli.ops.cat import check_result_size

    check_result_size(lambda ab: ab[0] @ ab[1], (a, b))  # before torch makes it
    try:
        y = a @ b
    except (RuntimeError, NotImplementedError) as e:
        ex.error = _error(a, b, names, batch_alignment, e)
        return ex
    ex.result = info(y)
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = {na} @ {nb}",
            ex.result,
            t("matmul.result", a=fmt_shape(a.shape), b=fmt_shape(b.shape), y=fmt_shape(y.shape)),
        )
    )
    ex.checks.append(shape_check(t("matmul.check.shape"), predicted, y.shape))
    if y.device.type == "meta":
        ex.checks.append(skipped_check())
    else:
        ex.checks.extend(_hand_checks(a, b, y, names))
    return ex


def rule_table(a: list[int], b: list[int], names: Sequence[str]) -> tuple[Table, list[int], Alignment | None]:
    """The batch dims (broadcast), then n, k and m, with the rule for each, and the
    result's shape as the rules predict it (the contracted k marked)."""
    na, nb = names
    am = [1, *a] if len(a) == 1 else a
    bm = [*b, 1] if len(b) == 1 else b
    batch = align([am[:-2], bm[:-2]], names) if len(am) > 2 or len(bm) > 2 else None
    rows: list[list[str]] = []
    marked: list[list[int]] = []
    status: list[str] = []
    predicted: list[int] = []
    if batch is not None:
        for i, row in enumerate(batch.table.rows):
            rows.append([row[0], row[1], row[2], row[3], t("matmul.rule.batch", rule=row[4])])
            status.append(batch.table.row_status(i))
        marked += batch.table.marked
        predicted += batch.shape or []
    n, k_a = am[-2], am[-1]
    k_b, m = bm[-2], bm[-1]
    if len(a) > 1:
        rows.append([t("matmul.dim.n"), str(n), MISSING, str(n), t("matmul.rule.n", a=na)])
        predicted.append(n)
    else:
        rows.append([t("matmul.dim.n"), "(1)", MISSING, "—", t("matmul.rule.n_dropped", a=na)])
    k_ok = k_a == k_b
    rows.append(
        [
            t("matmul.dim.k"),
            str(k_a),
            str(k_b),
            "—" if k_ok else "",
            t("matmul.rule.k", a=na, b=nb) if k_ok else t("matmul.rule.k_clash", ka=k_a, kb=k_b),
        ]
    )
    marked += [[len(rows) - 1, 1], [len(rows) - 1, 2]]
    status += [OK] * (len(rows) - 1 - len(status)) + [OK if k_ok else MISMATCH]
    if len(b) > 1:
        rows.append([t("matmul.dim.m"), MISSING, str(m), str(m), t("matmul.rule.m", b=nb)])
        predicted.append(m)
    else:
        rows.append([t("matmul.dim.m"), MISSING, "(1)", "—", t("matmul.rule.m_dropped", b=nb)])
    columns = [t("broadcast.col.dim"), na, nb, t("broadcast.col.result"), t("broadcast.col.rule")]
    status += [OK] * (len(rows) - len(status))
    return Table(columns, rows, marked, status), predicted, batch


def _rule_note(a: torch.Tensor, b: torch.Tensor, names: Sequence[str]) -> str:
    na, nb = names
    if a.dim() == 1 and b.dim() == 1:
        return t("matmul.case.dot", a=na, b=nb)
    parts = []
    if a.dim() == 1:
        parts.append(t("matmul.case.a_vector", a=na, k=a.shape[0]))
    if b.dim() == 1:
        parts.append(t("matmul.case.b_vector", b=nb, k=b.shape[0]))
    parts.append(t("matmul.case.matrix", a=na, b=nb))
    if a.dim() > 2 or b.dim() > 2:
        parts.append(t("matmul.case.batch"))
    return " ".join(parts)


def _error(
    a: torch.Tensor, b: torch.Tensor, names: Sequence[str], batch: Alignment | None, e: BaseException
) -> OpError:
    na, nb = names
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.dim() >= 2 else b.shape[0]
    theirs = torch_error(e).message
    if k_a != k_b:
        where = t("matmul.where.only") if b.dim() == 1 else t("matmul.where.second_last")
        if b.dim() >= 2 and b.shape[-1] == k_a:
            flip = f"{nb}.T" if b.dim() == 2 else f"{nb}.mT"
            hint = t("matmul.mismatch.hint_transpose", a=na, flip=flip, k=k_a)
        else:
            hint = t("matmul.mismatch.hint", a=na, b=nb)
        return OpError(
            "matmul_mismatch",
            t("matmul.mismatch", a=na, b=nb, ka=k_a, kb=k_b, where=where, torch=theirs),
            hint,
        )
    if batch is not None and batch.shape is None:
        error = mismatch_error(batch, names, kind="matmul_batch_mismatch")
        error.message = t("matmul.batch_mismatch", message=error.message)
        return error
    if a.dtype != b.dtype:
        return OpError(
            "matmul_dtype",
            t("matmul.dtype", a=na, b=nb, da=dtype_name(a.dtype), db=dtype_name(b.dtype), torch=theirs),
            t("matmul.dtype.hint", a=na, b=nb),
        )
    return torch_error(e)


def _hand_checks(a: torch.Tensor, b: torch.Tensor, y: torch.Tensor, names: Sequence[str]) -> list[Check]:
    """The first outputs written out as sums of products over the contracted dimension."""

    if y.numel() == 0:
        return []
    am = a.unsqueeze(0) if a.dim() == 1 else a
    bm = b.unsqueeze(-1) if b.dim() == 1 else b
    batch = broadcast_shape([am.shape[:-2], bm.shape[:-2]])
    n, k, m = am.shape[-2], am.shape[-1], bm.shape[-1]
    ae = am.expand(*batch, n, k)
    be = bm.expand(*batch, k, m)
    ym = y.reshape(*batch, n, m)
    eps = eps_of(dtype_name(y.dtype))
    checks = []
    full = [*batch, n, m]
    for flat in range(min(HAND_CHECKS, ym.numel())):
        index = unravel(flat, full)
        *bi, i, j = index
        row = ae[tuple(bi)][i].tolist()
        col = be[tuple(bi)][:, j].tolist()
        products = [p * q for p, q in zip(row, col, strict=True)]
        manual = sum(products)
        computed = ym[tuple(index)].item()
        real = [*bi] + ([i] if a.dim() > 1 else []) + ([j] if b.dim() > 1 else [])
        label = t("check.element", index=fmt_index(real)) if real else t("check.whole")
        ok = agrees(float(manual), float(computed), sum(abs(float(p)) for p in products), len(products), eps)
        checks.append(Check(label, written_sum(list(zip(row, col, strict=True))), manual, computed, ok))
    return checks


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, Shape, Unfit, register  # noqa: E402


def _operands(call: Call) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    call.only("other")
    a, b = call.arg(0, "input"), call.arg(1, "other")
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise Unfit(call.name)  # x @ 2: a matrix product needs two tensors
    return a, b


def _explain_call(call: Call) -> Explanation:
    a, b = _operands(call)
    names = call.names(0, 2)
    return explain(a, b, names=(names[0], names[1]))


def _output_shapes(call: Call) -> list[Shape]:
    """torch's rule, from the shapes alone; shapes it refuses make nothing."""
    a, b = _operands(call)
    if not (a.dim() and b.dim()):
        return []
    shape = rule_table(list(a.shape), list(b.shape), ["a", "b"])[1]
    return [tuple(shape)] if shape is not None else []


def _work(call: Call) -> int:
    """A product multiplies n·k·m numbers per batch."""
    import math

    a, b = _operands(call)
    if not (a.dim() and b.dim()):
        return 0
    k = max(a.shape[-1], 1)
    work = math.prod(a.shape) // k * math.prod(b.shape)
    if b.dim() >= 2:
        work //= max(b.shape[-2], 1)
    return work * k


register(
    OpSpec(
        "matmul",
        "dedicated",
        _explain_call,
        targets=("torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__", "operator.matmul"),
        output_shapes=_output_shapes,
        work=_work,
        command="matmul",
    )
)

"""F.embedding and torch.embedding: each index picks one row of the weight; indices in [0, rows).

The result has the indices' shape plus one dimension, the rows' width. One output row is
traced back to the weight row its index names, compared value by value in plain Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import shape_check, skipped_check, torch_error, unravel
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

TARGETS = ("torch.nn.functional.embedding", "torch.embedding")
ROWS_SHOWN = 8


def _operands(call: Call) -> tuple[Any, str, Any, str, Any]:
    """(indices, their name, weight, its name, padding_idx) in either argument order."""
    import torch

    codes = list(call.codes) + [""] * 2
    if call.fn is torch.embedding:  # torch.embedding(weight, indices, padding_idx=-1, ...)
        pad = _calls.arg(call, 2, "padding_idx", -1)
        return (
            _calls.arg(call, 1, "indices"),
            codes[1] or "indices",
            _calls.arg(call, 0, "weight"),
            codes[0] or "weight",
            None if pad == -1 else pad,
        )
    return (
        _calls.arg(call, 0, "input"),
        codes[0] or call.keyword_codes.get("input", "input"),
        _calls.arg(call, 1, "weight"),
        codes[1] or call.keyword_codes.get("weight", "weight"),
        _calls.arg(call, 2, "padding_idx"),
    )


def _torch_says(error: BaseException | None) -> str:
    return t("embedding.torch_says", torch=torch_error(error).message) if error is not None else ""


def explain(call: Call) -> Explanation:
    import torch

    ex = _calls.start(call, "embedding", t("embedding.title"))
    idx, i_code, weight, w_code, pad = _operands(call)
    ok, result = _calls.run(ex, call)
    if not (isinstance(idx, torch.Tensor) and isinstance(weight, torch.Tensor)) or weight.dim() != 2:
        if ok:
            _calls.result_step(ex, call, result)
        return ex
    error = None if ok else result
    rows, width = weight.shape
    if idx.dtype not in (torch.int64, torch.int32):
        ex.error = OpError(
            "embedding_index_dtype",
            t("embedding.dtype", name=i_code, dtype=dtype_name(idx.dtype)) + _torch_says(error),
            t("embedding.dtype.hint", code=f"F.embedding({i_code}.long(), {w_code})"),
        )
        return ex
    if idx.device.type != "meta" and idx.numel():
        flat = idx.reshape(-1).tolist()
        bad = next((k for k, v in enumerate(flat) if not 0 <= v < rows), None)
        if bad is not None:
            top = max(flat)
            hint = (
                t("embedding.range.hint", code=f"nn.Embedding({top + 1}, {width})", max=top)
                if flat[bad] >= rows
                else t("embedding.range.negative")
            )
            ex.error = OpError(
                "embedding_index_range",
                t(
                    "embedding.range",
                    value=flat[bad],
                    name=i_code,
                    pos=fmt_index(unravel(bad, list(idx.shape))),
                    w=w_code,
                    rows=rows,
                )
                + _torch_says(error),
                hint,
            )
            return ex
    if not ok:
        return ex
    y: torch.Tensor = result
    note = t("embedding.rule", w=w_code, rows=rows, width=width, i=i_code, shape=fmt_shape(idx.shape))
    if pad is not None:
        note += " " + t("embedding.padding", pad=pad, w=w_code)
    table = None
    if idx.device.type != "meta":
        table = Table([t("embedding.col.position"), t("embedding.col.index"), t("embedding.col.row")], [])
        flat = idx.reshape(-1).tolist()
        for k, v in enumerate(flat[:ROWS_SHOWN]):
            table.add([fmt_index(unravel(k, list(idx.shape))), str(v), f"{w_code}[{v}]"])
    ex.steps.append(Step(t("embedding.rule.title"), f"{w_code}.shape", None, note, table))
    _calls.result_step(ex, call, y, t("embedding.result", shape=fmt_shape(y.shape), width=width))
    ex.checks.append(
        shape_check(t("embedding.check.shape", i=i_code, width=width), [*idx.shape, width], list(y.shape))
    )
    if idx.device.type == "meta":
        ex.checks.append(skipped_check())
    elif idx.numel():
        _trace_row(ex, call, idx, i_code, weight, w_code, y)
    return ex


def _trace_row(
    ex: Explanation,
    call: Call,
    idx: torch.Tensor,
    i_code: str,
    weight: torch.Tensor,
    w_code: str,
    y: torch.Tensor,
) -> None:
    """The last index's output row, against the weight row it names (read in Python)."""
    k = idx.numel() - 1
    position = unravel(k, list(idx.shape))
    value = int(idx.reshape(-1)[k])
    row = weight.detach().tolist()[value]
    got = y.detach().reshape(-1, weight.shape[1])[k].tolist()
    where = f"[{fmt_index(position)}]" if position else ""
    ex.steps.append(
        Step(
            t("embedding.trace.title"),
            f"{w_code}[{value}]",
            info(weight.detach()[value]),
            t("embedding.trace.note", pos=where or "()", value=value, w=w_code),
        )
    )
    ex.checks.append(
        Check(
            t("embedding.check.row", pos=f"{fmt_index(position)}" if position else "", w=w_code, value=value),
            f"{w_code}[{value}]",
            _listed(row),
            _listed(got),
            row == got,
        )
    )


def _listed(values: list[float]) -> str:
    return "[" + ", ".join(fmt_num(v) for v in values) + "]"


registry.register(
    OpSpec(
        name="embedding", family="embedding", explain=explain, targets=TARGETS, summary="embedding.summary"
    )
)

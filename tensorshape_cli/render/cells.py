"""Values → aligned strings, shared by the plain and rich renderers (torch's print style)."""

from __future__ import annotations

import math
from typing import Any

from tensorshape_cli.explanation import ELLIPSIS, MISMATCH, Table, TensorInfo
from tensorshape_cli.messages import t
from tensorshape_cli.text import fmt_nonfinite, fmt_num


def flat(values: Any) -> list[Any]:
    if not isinstance(values, list):
        return [values]
    out: list[Any] = []
    for v in values:
        out.extend(flat(v))
    return out


def number_format(info: TensorInfo, values: Any) -> str:
    """One format for the whole tensor, as torch prints: `61.`, `0.5000` or `1.0000e+08`."""
    if not info.dtype.startswith(("float", "bfloat", "complex")):
        return ""
    finite = [abs(v) for v in flat(values) if isinstance(v, float) and math.isfinite(v)]
    if not finite:
        return ".4f"
    if all(v.is_integer() for v in finite) and max(finite) < 1e8:
        return "int."
    nonzero = [v for v in finite if v]
    if nonzero and (max(nonzero) >= 1e8 or min(nonzero) < 1e-4):
        return ".4e"
    return ".4f"


def cell(value: Any, fmt: str) -> str:
    if value == ELLIPSIS and isinstance(value, str):
        return "..."
    if isinstance(value, bool) or not fmt or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return fmt_nonfinite(value)
    if fmt == "int.":
        return f"{value:.0f}."
    return format(value, fmt)


# A screen shows this many values of one tensor at most; beyond, each long dimension keeps
# its first and last EDGE_ITEMS, as torch prints a large tensor. The data (JSON) keeps them all.
DISPLAY_VALUES = 200
EDGE_ITEMS = 3


def shown_values(info: TensorInfo) -> Any:
    """The values a screen shows: all of them, or torch's first and last items per dimension."""
    if info.values is None:
        return info.preview
    if info.numel <= DISPLAY_VALUES:
        return info.values
    return _edges(info.values, info.shape)


def _edges(values: Any, shape: list[int]) -> Any:
    if not shape or not isinstance(values, list):
        return values
    inner = [_edges(v, shape[1:]) for v in values]
    if shape[0] > 2 * EDGE_ITEMS:
        return [*inner[:EDGE_ITEMS], ELLIPSIS, *inner[-EDGE_ITEMS:]]
    return inner


def cells(info: TensorInfo) -> Any:
    """Nested lists of strings (values, or the elided preview); None for a shape-only tensor."""
    values = shown_values(info)
    if values is None:
        return None
    fmt = number_format(info, values)

    def walk(v: Any) -> Any:
        return [walk(x) for x in v] if isinstance(v, list) else cell(v, fmt)

    return walk(values)


def kind(info: TensorInfo) -> str:
    """What a learner calls a tensor of this shape: a vector, a row or a column, a matrix."""
    shape = info.shape
    if len(shape) == 0:
        return t("render.kind.scalar")
    if len(shape) == 1:
        return t("render.kind.vector", n=shape[0])
    if len(shape) == 2 and shape[0] == 1:
        return t("render.kind.row", n=shape[1])
    if len(shape) == 2 and shape[1] == 1:
        return t("render.kind.column", n=shape[0])
    if len(shape) == 2:
        return t("render.kind.matrix", rows=shape[0], cols=shape[1])
    return t("render.kind.ndim", n=len(shape))


def summary_text(info: TensorInfo) -> str | None:
    """`min -1.2 · max 3.4 · …` for values too many to show even in part."""
    s = info.summary
    if info.values is not None or info.preview is not None or not s:
        return None
    numbers = {k: "–" if s.get(k) is None else fmt_num(s[k]) for k in ("min", "max", "mean", "std")}
    return t("render.summary", numel=f"{info.numel:,}", nan=s.get("nan", 0), inf=s.get("inf", 0), **numbers)


def layout(info: TensorInfo) -> str | None:
    """torch's own layout without `tensor(...)`: aligned columns, blank lines between blocks."""
    grid = cells(info)
    if grid is None:
        return None
    width = max((len(c) for c in flat(grid)), default=0)
    ndim = len(info.shape)

    def block(v: Any, depth: int) -> str:
        if not isinstance(v, list):
            return v.rjust(width)
        if depth >= ndim - 1:
            return "[" + ", ".join(" ..." if c == "..." else c.rjust(width) for c in v) + "]"  # as torch
        sep = "," + "\n" * max(1, ndim - depth - 1) + " " * (depth + 1)
        return "[" + sep.join(block(x, depth + 1) if x != "..." else "..." for x in v) + "]"

    return block(grid, 0)


# How each renderer marks a row's status: a glyph in the cells a clashing row cannot fill
# (its result), since the data says only `mismatch`.
STATUS_GLYPH = {MISMATCH: "✗"}


def table_rows(table: Table) -> list[list[str]]:
    """The table's cells as shown: a mismatch row's empty cells carry its glyph."""
    shown = []
    for r, row in enumerate(table.rows):
        glyph = STATUS_GLYPH.get(table.row_status(r))
        shown.append([glyph if glyph and not c else c for c in row])
    return shown

"""torch.Tensor → TensorInfo: the only place that turns a tensor into plain data."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.explanation import ELLIPSIS, TensorInfo

if TYPE_CHECKING:
    import torch

EDGE_ITEMS = 3  # torch's printing keeps 3 items at each end of an elided dimension
# A preview of many small dimensions (2, 2, …, 2) keeps every value, as torch's printing
# does: beyond this many, there is the summary alone (rendering millions of values hangs).
MAX_PREVIEW = 10_000


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def info(t: torch.Tensor, marked: Iterable[int] = ()) -> TensorInfo:
    is_meta = t.device.type == "meta"
    result = TensorInfo(
        shape=list(t.shape),
        dtype=dtype_name(t.dtype),
        stride=list(t.stride()),
        contiguous=t.is_contiguous(),
        marked=sorted({d % t.dim() for d in marked} if t.dim() else set()),
        meta=is_meta,
    )
    if is_meta:
        return result
    t = t.detach()
    if t.numel() <= settings.current().max_values:
        result.values = _plain(t.tolist())
    else:
        result.preview = _preview(t)
        result.summary = summary(t)
    return result


def _plain(values: Any) -> Any:
    # complex numbers have no JSON form: show them as text
    if isinstance(values, list):
        return [_plain(v) for v in values] if values and _has_complex(values) else values
    return str(values) if isinstance(values, complex) else values


def _has_complex(values: list[Any]) -> bool:
    first = values[0]
    while isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, complex)


def _preview(t: torch.Tensor) -> Any:
    """Keep the first and last EDGE_ITEMS along each long dimension, as torch prints
    (None when that still leaves more than MAX_PREVIEW values)."""
    import torch

    kept = math.prod(2 * EDGE_ITEMS if size > 2 * EDGE_ITEMS else size for size in t.shape)
    if kept > MAX_PREVIEW:
        return None

    elided: list[bool] = []
    for dim, size in enumerate(t.shape):
        long = size > 2 * EDGE_ITEMS
        elided.append(long)
        if long:
            keep = torch.cat([torch.arange(EDGE_ITEMS), torch.arange(size - EDGE_ITEMS, size)])
            t = t.index_select(dim, keep)
    return _mark(_plain(t.tolist()), elided)


def _mark(values: Any, elided: list[bool]) -> Any:
    if not elided or not isinstance(values, list):
        return values
    inner = [_mark(v, elided[1:]) for v in values]
    if elided[0]:
        inner.insert(EDGE_ITEMS, ELLIPSIS)
    return inner


def summary(t: torch.Tensor) -> dict[str, float | int | None]:
    import torch

    if t.is_complex():
        t = t.abs()
    # flat first: a boolean mask over 22 dimensions of 2 is ~20x slower than over one
    data = (t.double() if t.dtype != torch.float64 else t).reshape(-1)
    finite = data[torch.isfinite(data)]
    nan = int(torch.isnan(data).sum())
    inf = int(torch.isinf(data).sum())
    if finite.numel() == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "nan": nan, "inf": inf}
    std = float(finite.std()) if finite.numel() > 1 else 0.0
    return {
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": std,
        "nan": nan,
        "inf": inf,
    }

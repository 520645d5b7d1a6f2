"""torch.Tensor → TensorInfo: the only place that turns a tensor into plain data."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import ELLIPSIS, TensorInfo
from tensorshape_cli.messages import t
from tensorshape_cli.settings import DTYPES

if TYPE_CHECKING:
    import torch

EDGE_ITEMS = 3  # torch's printing keeps 3 items at each end of an elided dimension
# A preview of many small dimensions (2, 2, …, 2) keeps every value, as torch's printing
# does: beyond this many, there is the summary alone (rendering millions of values hangs).
MAX_PREVIEW = 10_000


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def torch_dtype(name: str | None) -> torch.dtype | None:
    """--dtype's name → torch's dtype (None: keep the tensor's own)."""
    import torch

    if name is None:
        return None
    if name not in DTYPES:
        raise InputError(t("input.dtype", name=name, known=", ".join(DTYPES)))
    dtype: torch.dtype = getattr(torch, name)
    return dtype


def info(t: torch.Tensor, marked: Iterable[int] = ()) -> TensorInfo:
    import torch

    is_meta = t.device.type == "meta"
    strided = t.layout == torch.strided
    if not strided:  # sparse (x.to_sparse_csr()) or mkldnn: no strides; the values read dense
        t = t.to_dense()
    result = TensorInfo(
        shape=list(t.shape),
        dtype=dtype_name(t.dtype),
        stride=list(t.stride()) if strided else [],
        contiguous=strided and t.is_contiguous(),
        marked=sorted({d % t.dim() for d in marked} if t.dim() else set()),
        meta=is_meta,
    )
    if is_meta:
        return result
    t = t.detach()
    if t.numel() > settings.current().max_elements:
        # a stride-0 view (expand) can be far larger than its memory: summing it would allocate
        return result
    if t.numel() <= settings.current().max_values:
        result.values = _plain(t.tolist())
    else:
        result.preview = _preview(t)
        result.summary = summary(t)
    return result


def plain_value(value: Any) -> Any:
    """A plain result (x.dim(), x.item(), x.shape, torch.equal) as JSON holds it: numbers and
    booleans as they are, a complex number as its text, as in a tensor's values ("(1+2j)"),
    (nested) lists of them; None for anything else."""
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, (tuple, list)):
        items = [plain_value(v) for v in value]
        return None if any(i is None for i in items) else items
    return None


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
    """min, max, mean and std of the finite values, and how many are NaN and infinite.

    An explanation describes the same data several times (the input, a view of it, the
    result): the summary is computed once per run for each set of elements.
    """
    key = _elements_key(t)
    memo = settings.memo().summaries
    if key in memo:
        memo[key] = memo.pop(key)  # most recently used last
    else:
        memo[key] = (t, _summary(t))  # holding t keeps its memory, so the key stays its own
        # ...but only up to --max-elements in all: the oldest entries are let go (and their
        # tensors freed) so that a long expression never keeps every intermediate alive
        held = sum(x.numel() for x, _ in memo.values())
        while held > settings.current().max_elements and len(memo) > 1:
            oldest = next(iter(memo))
            held -= memo.pop(oldest)[0].numel()
    return dict(memo[key][1])


def _elements_key(t: torch.Tensor) -> tuple[Any, ...]:
    """Equal for tensors that hold the same elements in any order (a view, a transpose)."""
    where = (t.untyped_storage().data_ptr(), t.storage_offset(), t.dtype, t._version, t.numel())
    if t.is_contiguous():
        return where
    return (*where, tuple(sorted((n, s) for n, s in zip(t.shape, t.stride(), strict=True) if n != 1)))


def _summary(t: torch.Tensor) -> dict[str, float | int | None]:
    import torch

    floating = t.is_floating_point() or t.is_complex()
    if t.is_complex():
        t = t.abs()
    # flat first: a boolean mask over 22 dimensions of 2 is ~20x slower than over one
    data = (t.double() if t.dtype != torch.float64 else t).reshape(-1)
    nan = inf = 0
    finite = data
    if floating:
        mask = torch.isfinite(data)
        count = int(mask.sum())
        if count < data.numel():  # only then pay for counting and masking
            nan = int(torch.isnan(data).sum())
            inf = data.numel() - count - nan
            finite = data[mask]
    if finite.numel() == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "nan": nan, "inf": inf}
    low, high = torch.aminmax(finite)
    # mean() and std() rather than std_mean(): its one-pass update drifts ~1e-12 on a million values
    return {
        "min": float(low),
        "max": float(high),
        "mean": float(finite.mean()),
        "std": float(finite.std()) if finite.numel() > 1 else 0.0,
        "nan": nan,
        "inf": inf,
    }

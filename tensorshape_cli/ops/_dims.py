"""Dimension arguments as torch reads them: negative dims, the range, repeats."""

from __future__ import annotations

from collections.abc import Sequence

from tensorshape_cli.explanation import OpError
from tensorshape_cli.messages import t


def dim_range(n: int, extra: int = 0) -> tuple[int, int]:
    """The dims torch accepts for n dimensions: [-n, n-1], a scalar counting as one
    dimension ([-1, 0]); `extra` positions more for ops that add one (unsqueeze, stack)."""
    m = max(n + extra, 1)
    return -m, m - 1


def wrap(dim: int, n: int, extra: int = 0) -> int | None:
    """dim counted from the start, or None when torch would refuse it."""
    lo, hi = dim_range(n, extra)
    if not lo <= dim <= hi:
        return None
    return dim % max(n + extra, 1)


def check_dims(dims: Sequence[int], n: int, extra: int = 0) -> OpError | None:
    """The first dim out of range, or the first one named twice (as 0 and -3, say)."""
    lo, hi = dim_range(n, extra)
    seen: dict[int, int] = {}
    for d in dims:
        w = wrap(d, n, extra)
        if w is None:
            return OpError(
                "dim_out_of_range",
                t("dim.out_of_range", dim=d, n=n),
                t("dim.out_of_range.hint", lo=lo, hi=hi),
            )
        if w in seen:
            first = seen[w]
            given = str(d) if first == d else f"{first} and {d}"
            return OpError("dim_repeated", t("dim.repeated", dim=w, given=given), t("dim.repeated.hint"))
        seen[w] = d
    return None


def negative_note(dims: Sequence[int], n: int, extra: int = 0) -> str:
    """'-1 is dimension 2 (-1 + 3)' for each negative dim, or ''."""
    parts = [t("dim.negative", dim=d, pos=d + max(n + extra, 1), n=max(n + extra, 1)) for d in dims if d < 0]
    return " ".join(parts)

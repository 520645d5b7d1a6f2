"""Small formatting helpers shared by ops (for messages) and renderers. No torch."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tensorshape_cli.messages import t


def fmt_shape(shape: Sequence[int]) -> str:
    """(3, 1, 2) as Python prints a tuple, so `(3,)` for one dimension and `()` for none."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def fmt_args(values: Sequence[int]) -> str:
    """3, 1, -1 as a user types them inside a call."""
    return ", ".join(str(v) for v in values)


def fmt_num(value: object) -> str:
    """A number as a person writes it in a hand check: 61, 0.5, 1.2, nan."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = f"{value:.6g}"
        return text
    return str(value)


def fmt_count(n: int) -> str:
    """A count grouped by thousands as the language writes it: 12,345 in English; in Spanish
    12 345 (a no-break space), with four-digit numbers left whole (RAE: 1000, 10 000)."""
    if abs(n) < int(t("number.group_from")):
        return str(n)
    return f"{n:,}".replace(",", t("number.thousands_sep"))


def fmt_index(index: Sequence[int]) -> str:
    return ", ".join(str(i) for i in index)


def fmt_bytes(n: int) -> str:
    """1,234 bytes, 4.0 KiB, 1.5 GiB: binary units, as file sizes are usually shown."""
    if n < 1024:
        return f"{n:,} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}"
    return f"{n:,} bytes"  # not reached

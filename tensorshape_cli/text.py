"""Small formatting helpers shared by ops (for messages) and renderers. No torch.

One place for each: numbers as a hand check writes them (nan and inf included), shapes,
counts, a long text clipped, a long sum elided, the first line of a message.
"""

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
        if not math.isfinite(value):
            return fmt_nonfinite(value)
        text = f"{value:.6g}"
        return text
    return str(value)


def fmt_nonfinite(value: float) -> str:
    """nan, inf or -inf, as torch prints them (and JSON, which has none, writes them)."""
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


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


def clip(text: str, limit: int = 40) -> str:
    """A user's text quoted in a message or a column: on one line, cut to `limit` with '…'."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_line(message: object, limit: int = 0) -> str:
    """The first line of a message (torch's, an exception's), or "" when it says nothing;
    cut to `limit` characters with '…' (0: as long as it is)."""
    text = str(message).strip()
    line = text.splitlines()[0] if text else ""
    return line if not limit or len(line) <= limit else line[: limit - 1] + "…"


def error_line(error: BaseException, limit: int = 0) -> str:
    """first_line of what an exception says, or its type's name when it says nothing."""
    return first_line(error, limit) or type(error).__name__


# A written sum (or list) longer than this shows its first few terms and its last.
MAX_TERMS_SHOWN = 6


def elide_terms(
    terms: Sequence[str], total: int | None = None, most: int = MAX_TERMS_SHOWN, gap: str | None = None
) -> list[str]:
    """The terms of a long sum as a hand check writes them: the first `most - 2`, then
    '… (n more terms) …' (or `gap`), then the last. `total`: how many terms there are, when
    `terms` holds only the first few and the last of them."""
    total = len(terms) if total is None else total
    if total <= most:
        return list(terms)
    return [*terms[: most - 2], t("check.more_terms", n=total - most + 1) if gap is None else gap, terms[-1]]

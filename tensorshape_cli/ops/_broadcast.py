"""Broadcasting, dimension by dimension: the alignment table that several ops show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tensorshape_cli.explanation import Table
from tensorshape_cli.messages import t

MISSING = "·"


@dataclass
class Alignment:
    table: Table
    shape: list[int] | None  # None when the shapes do not broadcast
    failed_dim: int | None = None  # index into the aligned (right-justified) dims
    failed_sizes: list[int | None] | None = None
    stretched: list[int] | None = None  # result dims where some operand was stretched


def align(shapes: Sequence[Sequence[int]], names: Sequence[str]) -> Alignment:
    """Right-align the shapes, pad with missing dims on the left, apply the rule per dim."""
    ndim = max((len(s) for s in shapes), default=0)
    padded: list[list[int | None]] = [[None] * (ndim - len(s)) + list(s) for s in shapes]
    rows: list[list[str]] = []
    result: list[int] = []
    stretched: list[int] = []
    failed: tuple[int, list[int | None]] | None = None
    for d in range(ndim):
        sizes = [p[d] for p in padded]
        present = [s for s in sizes if s is not None]
        big = sorted({s for s in present if s != 1})
        if len(big) > 1:
            rule, size = t("broadcast.rule.clash", sizes=" ≠ ".join(map(str, big))), "✗"
            failed = failed or (d, sizes)
        else:
            out = big[0] if big else 1
            size = str(out)
            result.append(out)
            if len(present) < len(sizes):
                rule = t("broadcast.rule.missing", size=out)
            elif any(s != out for s in present):
                rule = t("broadcast.rule.stretched", size=out)
            else:
                rule = t("broadcast.rule.equal")
            if any(s != out for s in sizes):
                stretched.append(d)
        rows.append([str(d), *(MISSING if s is None else str(s) for s in sizes), size, rule])
    table = Table([t("broadcast.col.dim"), *names, t("broadcast.col.result"), t("broadcast.col.rule")], rows)
    if failed:
        return Alignment(table, None, failed[0], failed[1])
    return Alignment(table, result, stretched=stretched)

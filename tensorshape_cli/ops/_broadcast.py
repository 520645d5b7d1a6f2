"""Broadcasting, dimension by dimension: the alignment table that several ops show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tensorshape_cli.explanation import MISMATCH, OK, STRETCHED, OpError, Table
from tensorshape_cli.messages import t

MISSING = "·"


@dataclass
class Alignment:
    table: Table
    shape: list[int] | None  # None when the shapes do not broadcast
    failed_dim: int | None = None  # index into the aligned (right-justified) dims
    failed_sizes: list[int | None] | None = None
    stretched: list[int] | None = None  # result dims where some operand was stretched
    # The two operands (indices into shapes) that clash at failed_dim, as torch names them.
    failed_pair: tuple[int, int] | None = None
    # Per operand, the result dims where it was stretched from 1 or padded (missing).
    stretched_by: list[list[int]] = field(default_factory=list)


def align(shapes: Sequence[Sequence[int]], names: Sequence[str]) -> Alignment:
    """Right-align the shapes, pad with missing dims on the left, apply the rule per dim.

    When several dims clash, the one reported is the rightmost: torch compares sizes from
    the last dimension backwards and names the first clash it meets.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded: list[list[int | None]] = [[None] * (ndim - len(s)) + list(s) for s in shapes]
    rows: list[list[str]] = []
    status: list[str] = []
    marked: list[list[int]] = []
    result: list[int] = []
    stretched: list[int] = []
    stretched_by: list[list[int]] = [[] for _ in shapes]
    failed: tuple[int, list[int | None]] | None = None
    for d in range(ndim):
        sizes = [p[d] for p in padded]
        present = [s for s in sizes if s is not None]
        big = sorted({s for s in present if s != 1})
        if len(big) > 1:
            rule, size = t("broadcast.rule.clash", sizes=" ≠ ".join(map(str, big))), ""
            failed = (d, sizes)  # keep the rightmost, as torch reports it
            status.append(MISMATCH)
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
            status.append(STRETCHED if any(s != out for s in sizes) else OK)
            if any(s != out for s in sizes):
                stretched.append(d)
            for i, s in enumerate(sizes):
                if s != out:
                    stretched_by[i].append(d)
                    marked.append([d, i + 1])
        rows.append([str(d), *(MISSING if s is None else str(s) for s in sizes), size, rule])
    columns = [t("broadcast.col.dim"), *names, t("broadcast.col.result"), t("broadcast.col.rule")]
    table = Table(columns, rows, marked, status)
    if failed:
        d, sizes = failed
        first = next(i for i, s in enumerate(sizes) if s is not None and s != 1)
        second = next(i for i, s in enumerate(sizes) if s is not None and s not in (1, sizes[first]))
        return Alignment(table, None, d, sizes, failed_pair=(first, second))
    return Alignment(table, result, stretched=stretched, stretched_by=stretched_by)


def mismatch_error(alignment: Alignment, names: Sequence[str], kind: str = "broadcast_mismatch") -> OpError:
    """torch's own sentence for the clash, plus what to change."""
    assert alignment.failed_pair is not None and alignment.failed_sizes is not None
    i, j = alignment.failed_pair
    sizes = alignment.failed_sizes
    return OpError(
        kind,
        t(
            "broadcast.mismatch",
            a=names[i],
            b=names[j],
            na=sizes[i],
            nb=sizes[j],
            dim=alignment.failed_dim,
        ),
        t("broadcast.mismatch.hint"),
    )

"""The shape family: ops that move, repeat, cut or pad elements without computing new ones.

movedim, swapaxes, t, unflatten, repeat, tile, repeat_interleave, split, chunk, tensor_split,
hsplit/vsplit/dsplit, unbind, narrow, select, roll, flip, rot90, diagonal, diag_embed, diag,
tril/triu, F.pad, take, meshgrid, atleast_*d. Each rule says where every dimension goes (a
table, with the numbers), predicts the result's shape in Python, and traces one element back
to its source position, read by hand from the input. view, reshape, flatten, permute,
transpose, expand, unsqueeze, squeeze, cat, stack and broadcast_to have dedicated ops.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.explanation import Explanation, OpError, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import unravel
from tensorshape_cli.ops._dims import dim_range
from tensorshape_cli.ops.families._moves import (
    NoRule,
    Rule,
    at,
    copied,
    dim_table,
    ints,
    read,
    rest_ints,
    torch_text,
    wrap,
)
from tensorshape_cli.ops.families._moves import explain as explain_moves
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call

# Ids built at run time (f"shape.{op}.title"): tests check each is in both catalogs.
OPS = (
    "movedim",
    "unflatten",
    "repeat",
    "repeat_interleave",
    "split",
    "narrow",
    "roll",
    "flip",
    "diagonal",
    "tril",
    "pad",
    "take",
    "meshgrid",
    "atleast",
)
RUNTIME_IDS = tuple(f"shape.{op}.title" for op in OPS)


def _x(call: Call) -> tuple[str, torch.Tensor]:
    import torch

    x = call.args[0] if call.args else call.kwargs.get("input")
    if not isinstance(x, torch.Tensor):
        raise NoRule
    name = call.codes[0] if call.codes else "input"
    return name, x


def _values(x: torch.Tensor) -> Any:
    return None if x.device.type == "meta" else x.tolist()


def _fn_name(call: Call) -> str:
    return getattr(call.fn, "__name__", "") or call.name.rpartition(".")[2]


# --- where each dim goes: movedim, swapaxes, t ---------------------------------------------------


def _order_rule(call: Call, name: str, x: torch.Tensor, order: list[int]) -> Rule:
    """The result's dim i is x's dim order[i]: a permutation, read off the table."""
    shape = list(x.shape)
    values = _values(x)
    rows = [[str(i), str(o), str(shape[o])] for i, o in enumerate(order)]
    moved = [i for i, o in enumerate(order) if i != o]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = [0] * len(order)
        for i, o in enumerate(order):
            src[o] = idx[i]
        return copied(name, values, src, via=f"{call.result_name}[{', '.join(map(str, idx))}]")

    return Rule(
        t("shape.rule.title"),
        "("
        + "".join(f"{name}.shape[{o}], " for o in order).rstrip(", ")
        + ("," if len(order) == 1 else "")
        + ")",
        t("shape.movedim.note", order=fmt_args(order)),
        [[shape[o] for o in order]],
        dim_table(rows, moved),
        trace=trace if x.dim() else None,
    )


def _movedim_rule(call: Call) -> Rule:
    name, x = _x(call)
    n = x.dim()
    fn = _fn_name(call)
    if fn in ("movedim", "moveaxis"):
        src = [wrap(d, n) for d in ints(_calls.arg(call, 1, "source"))]
        dst = [wrap(d, n) for d in ints(_calls.arg(call, 2, "destination"))]
        if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise NoRule
        order = [-1] * n
        for s, d in zip(src, dst, strict=True):
            order[d] = s
        rest = iter(i for i in range(n) if i not in src)
        order = [o if o >= 0 else next(rest) for o in order]
    elif fn in ("t", "t_copy"):
        order = list(range(n))[::-1] if n == 2 else list(range(n))
    else:  # swapaxes, swapdims, transpose_copy
        a = wrap(int(_calls.arg(call, 1, "axis0", _calls.arg(call, 1, "dim0"))), n)
        b = wrap(int(_calls.arg(call, 2, "axis1", _calls.arg(call, 2, "dim1"))), n)
        order = list(range(n))
        if n:
            order[a], order[b] = order[b], order[a]
    return _order_rule(call, name, x, order)


def _unflatten_rule(call: Call) -> Rule:
    name, x = _x(call)
    n = x.dim()
    d = wrap(int(_calls.arg(call, 1, "dim")), n)
    sizes = ints(_calls.arg(call, 2, "sizes"))
    size = x.shape[d]
    if sizes.count(-1) == 1:
        known = math.prod(s for s in sizes if s != -1)
        if known == 0 or size % known:
            raise NoRule
        sizes = [size // known if s == -1 else s for s in sizes]
    if math.prod(sizes) != size:
        raise NoRule
    shape = list(x.shape)
    new = shape[:d] + sizes + shape[d + 1 :]
    rows = [
        [str(i), str(i if i < d else d if i < d + len(sizes) else i - len(sizes) + 1), str(s)]
        for i, s in enumerate(new)
    ]
    values = _values(x)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        part = idx[d : d + len(sizes)]
        flat = 0
        for i, s in zip(part, sizes, strict=True):
            flat = flat * s + i
        return copied(name, values, [*idx[:d], flat, *idx[d + len(sizes) :]], via=at(call.result_name, idx))

    return Rule(
        t("shape.rule.title"),
        fmt_shape(new),
        t("shape.unflatten.note", dim=d, size=size, sizes=" × ".join(map(str, sizes))),
        [new],
        dim_table(rows, range(d, d + len(sizes))),
        trace=trace,
    )


# --- repeat, tile, repeat_interleave --------------------------------------------------------------


def _repeat_rule(call: Call) -> Rule:
    name, x = _x(call)
    fn = _fn_name(call)
    reps = rest_ints(call, 1, "dims" if fn == "tile" else "repeats")
    shape = list(x.shape)
    if fn == "tile" and len(reps) < len(shape):
        reps = [1] * (len(shape) - len(reps)) + reps
    if len(reps) < len(shape):
        raise NoRule
    added = len(reps) - len(shape)
    aligned = [1] * added + shape
    new = [s * r for s, r in zip(aligned, reps, strict=True)]
    table = Table(
        [t("moves.col.dim"), t("shape.col.size_in", name=name), t("shape.col.times"), t("moves.col.size")], []
    )
    for i, (s, r) in enumerate(zip(aligned, reps, strict=True)):
        table.add(
            [str(i), str(s) if i >= added else t("shape.added", size=1), str(r), str(s * r)],
            "stretched" if r != 1 or i < added else "ok",
        )
    values = _values(x)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = [i % s for i, s in zip(idx[added:], shape, strict=True)]
        via = at(call.result_name, idx)
        return copied(name, values, src, via=via)

    note = t("shape.repeat.note", fn=fn) + (" " + t("shape.repeat.added", k=added) if added else "")
    return Rule(
        t("shape.rule.title"),
        "("
        + ", ".join(f"{s} * {r}" for s, r in zip(aligned, reps, strict=True))
        + ("," if len(new) == 1 else "")
        + ")",
        note + " " + t("shape.repeat.trace"),
        [new],
        table,
        trace=trace,
    )


def _repeat_interleave_rule(call: Call) -> Rule:
    import torch

    name, x = _x(call)
    repeats = _calls.arg(call, 1, "repeats")
    dim = _calls.arg(call, 2, "dim")
    if repeats is None:
        raise NoRule
    shape = list(x.shape) if dim is not None else [x.numel()]
    d = wrap(int(dim), x.dim()) if dim is not None else 0
    if not shape:
        shape, d = [1], 0
    size = shape[d]
    if isinstance(repeats, torch.Tensor) and repeats.numel() != 1:
        if repeats.device.type == "meta":
            return Rule(
                t("shape.rule.title"),
                f"{call.codes[1] if len(call.codes) > 1 else 'repeats'}.sum()",
                t("shape.repeat_interleave.tensor", size=size),
                [],
                data_dependent=t("shape.repeat_interleave.unknown"),
            )
        counts = [int(v) for v in repeats.tolist()]
    else:
        counts = [int(repeats)] * size
    if len(counts) != size:
        raise NoRule
    new = list(shape)
    new[d] = sum(counts)
    starts = [sum(counts[:i]) for i in range(size)]
    flat_values = _values(x)
    if dim is None and flat_values is not None:
        flat_values = x.reshape(-1).tolist() if x.dim() else [x.item()]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        j = idx[d]
        src_j = max(i for i in range(size) if starts[i] <= j and counts[i])
        src = [*idx[:d], src_j, *idx[d + 1 :]]
        src_name = name if dim is not None else f"{name}.flatten()"
        return copied(src_name, flat_values, src, via=at(call.result_name, idx))

    uniform = len(set(counts)) == 1
    code = f"{size} * {counts[0]}" if uniform and counts else " + ".join(map(str, counts)) or "0"
    note = t("shape.repeat_interleave.note", dim=d, size=size, total=new[d])
    if dim is None:
        note = t("shape.repeat_interleave.flat", shape=fmt_shape(list(x.shape)), n=x.numel()) + " " + note
    return Rule(t("shape.rule.title"), code, note, [new], trace=trace)


# --- pieces: split, chunk, tensor_split, hsplit/vsplit/dsplit, unbind ------------------------------


def _split_rule(call: Call) -> Rule:
    name, x = _x(call)
    fn = _fn_name(call)
    shape = list(x.shape)
    n = x.dim()
    if fn == "unbind":
        d = wrap(int(_calls.arg(call, 1, "dim", 0)), n)
        return _unbind_rule(name, x, d, call.result_name)
    if fn in ("hsplit", "vsplit", "dsplit"):
        d = {"hsplit": 1 if n >= 2 else 0, "vsplit": 0, "dsplit": 2}[fn]
        spec = _calls.arg(call, 1, "indices_or_sections", _calls.arg(call, 1, "sections"))
        if d >= n:
            raise NoRule
    else:
        key = {"split": "split_size_or_sections", "chunk": "chunks", "tensor_split": "indices_or_sections"}
        spec = _calls.arg(
            call,
            1,
            key.get(fn, "split_size"),
            _calls.arg(
                call, 1, "split_size", _calls.arg(call, 1, "sections", _calls.arg(call, 1, "indices"))
            ),
        )
        d = wrap(int(_calls.arg(call, 2, "dim", 0)), n)
    size = shape[d]
    pieces: list[tuple[int, int]]  # (start, length) along d
    if fn in ("split", "split_with_sizes") and isinstance(spec, int):
        if spec <= 0 and size:
            raise NoRule
        step = spec
        pieces = [(s, min(step, size - s)) for s in range(0, size, step)] if size else [(0, 0)]
        note = t("shape.split.size", dim=d, size=size, step=step, n=len(pieces), last=pieces[-1][1])
    elif fn in ("split", "split_with_sizes"):
        lengths = ints(spec)
        if sum(lengths) != size:
            raise NoRule
        starts = [sum(lengths[:i]) for i in range(len(lengths))]
        pieces = list(zip(starts, lengths, strict=True))
        note = t("shape.split.sizes", dim=d, size=size, sizes=" + ".join(map(str, lengths)))
    elif fn == "chunk":
        chunks = int(spec)
        step = -(-size // chunks) if size else 0
        pieces = [(s, min(step, size - s)) for s in range(0, size, step)] if step else [(0, 0)] * chunks
        note = t("shape.split.chunk", dim=d, size=size, chunks=chunks, step=step, n=len(pieces))
    elif isinstance(spec, int) or (hasattr(spec, "dim") and spec.dim() == 0):
        sections = int(spec)
        if fn != "tensor_split" and size % sections:
            raise NoRule
        small, extra = divmod(size, sections)
        lengths = [small + 1] * extra + [small] * (sections - extra)
        starts = [sum(lengths[:i]) for i in range(sections)]
        pieces = list(zip(starts, lengths, strict=True))
        note = t(
            "shape.split.sections",
            dim=d,
            size=size,
            sections=sections,
            extra=extra,
            big=small + 1,
            small=small,
        )
    else:
        cuts = [min(max(c if c >= 0 else c + size, 0), size) for c in ints(spec)]
        bounds = [0, *cuts, size]
        pieces = [(a, max(b - a, 0)) for a, b in itertools.pairwise(bounds)]
        note = t("shape.split.indices", dim=d, size=size, cuts=fmt_args(cuts))
    shapes = [[*shape[:d], length, *shape[d + 1 :]] for _, length in pieces]
    table = Table([t("shape.col.piece"), t("shape.col.positions", dim=d), t("moves.col.size")], [])
    for k, (s, length) in enumerate(pieces):
        table.add([str(k), f"{s}:{s + length}", str(length)], "stretched" if length != pieces[0][1] else "ok")
    values = _values(x)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = list(idx)
        src[d] += pieces[k][0]
        index = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        return copied(name, values, src, via=f"{call.result_name}[{k}]{index}")

    last = len(pieces) - 1
    probes = [(last, (0,) * n), (last, tuple(s - 1 for s in shapes[last]))]
    return Rule(
        t("shape.split.title"),
        "[" + ", ".join(fmt_shape(s) for s in shapes) + "]",
        note,
        shapes,
        table,
        several=True,
        trace=trace,
        probes=probes,
    )


def _unbind_rule(name: str, x: torch.Tensor, d: int, out: str) -> Rule:
    shape = list(x.shape)
    piece = shape[:d] + shape[d + 1 :]
    values = _values(x)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        return copied(
            name,
            values,
            [*idx[:d], k, *idx[d:]],
            via=f"{out}[{k}]{'[' + ', '.join(map(str, idx)) + ']' if idx else ''}",
        )

    last = shape[d] - 1
    return Rule(
        t("shape.split.title"),
        f"[{fmt_shape(piece)}] * {shape[d]}",
        t("shape.unbind.note", dim=d, size=shape[d], shape=fmt_shape(piece)),
        [piece] * shape[d],
        several=True,
        trace=trace,
        probes=[(last, (0,) * len(piece)), (last, tuple(s - 1 for s in piece))] if shape[d] else [],
    )


def _narrow_rule(call: Call) -> Rule:
    name, x = _x(call)
    n = x.dim()
    fn = _fn_name(call)
    d = wrap(int(_calls.arg(call, 1, "dim")), n)
    shape = list(x.shape)
    values = _values(x)
    if fn == "select":
        i = int(_calls.arg(call, 2, "index"))
        i = i + shape[d] if i < 0 else i
        if not 0 <= i < shape[d]:
            raise NoRule
        new = shape[:d] + shape[d + 1 :]

        def trace_select(k: int, idx: tuple[int, ...]) -> Any:
            return copied(name, values, [*idx[:d], i, *idx[d:]], via=at(call.result_name, idx))

        return Rule(
            t("shape.rule.title"),
            fmt_shape(new),
            t("shape.select.note", dim=d, index=i),
            [new],
            trace=trace_select,
        )
    start = int(_calls.arg(call, 2, "start"))
    length = int(_calls.arg(call, 3, "length"))
    start = start + shape[d] if start < 0 else start
    if start < 0 or length < 0 or start + length > shape[d]:
        raise NoRule
    new = list(shape)
    new[d] = length

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = list(idx)
        src[d] += start
        return copied(name, values, src, via=at(call.result_name, idx))

    return Rule(
        t("shape.rule.title"),
        fmt_shape(new),
        t("shape.narrow.note", dim=d, start=start, end=start + length, length=length),
        [new],
        trace=trace,
    )


# --- roll, flip, rot90 ---------------------------------------------------------------------------


def _roll_rule(call: Call) -> Rule:
    name, x = _x(call)
    shifts = ints(_calls.arg(call, 1, "shifts"))
    dims_arg = _calls.arg(call, 2, "dims")
    shape = list(x.shape)
    values = _values(x)
    if dims_arg is None or ints(dims_arg) == []:
        total = x.numel()
        s = shifts[0]

        def trace_flat(k: int, idx: tuple[int, ...]) -> Any:
            flat = 0
            for i, size in zip(idx, shape, strict=True):
                flat = flat * size + i
            src = unravel((flat - s) % total, shape) if total else []
            return copied(name, values, src, via=at(call.result_name, idx))

        note = t("shape.roll.flat", shift=s, n=total)
        return Rule(t("shape.roll.title"), fmt_shape(shape), note, [shape], trace=trace_flat)
    dims = [wrap(d, x.dim()) for d in ints(dims_arg)]
    if len(dims) != len(shifts):
        raise NoRule

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = list(idx)
        for d, s in zip(dims, shifts, strict=True):
            src[d] = (src[d] - s) % shape[d]
        return copied(name, values, src, via=at(call.result_name, idx))

    note = " ".join(
        t("shape.roll.dim", dim=d, shift=s, size=shape[d]) for d, s in zip(dims, shifts, strict=True)
    )
    return Rule(t("shape.roll.title"), fmt_shape(shape), note, [shape], trace=trace)


def _flip_rule(call: Call) -> Rule:
    name, x = _x(call)
    fn = _fn_name(call)
    shape = list(x.shape)
    n = x.dim()
    values = _values(x)
    if fn == "rot90":
        k90 = int(_calls.arg(call, 1, "k", 1)) % 4
        d0, d1 = (wrap(d, n) for d in ints(_calls.arg(call, 2, "dims", [0, 1])))
        new = list(shape)
        if k90 % 2:
            new[d0], new[d1] = shape[d1], shape[d0]

        def trace_rot(k: int, idx: tuple[int, ...]) -> Any:
            src = list(idx)
            i, j = idx[d0], idx[d1]
            if k90 == 1:  # y = x.flip(d1).transpose(d0, d1)
                src[d0], src[d1] = j, shape[d1] - 1 - i
            elif k90 == 2:
                src[d0], src[d1] = shape[d0] - 1 - i, shape[d1] - 1 - j
            elif k90 == 3:  # y = x.flip(d0).transpose(d0, d1)
                src[d0], src[d1] = shape[d0] - 1 - j, i
            return copied(name, values, src, via=at(call.result_name, idx))

        return Rule(
            t("shape.flip.title"),
            fmt_shape(new),
            t("shape.rot90.note", k=k90, d0=d0, d1=d1),
            [new],
            trace=trace_rot,
        )
    if fn == "fliplr":
        dims = [1]
    elif fn == "flipud":
        dims = [0]
    else:
        dims = [wrap(d, n) for d in rest_ints(call, 1, "dims")]
    if any(d >= n for d in dims):
        raise NoRule

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = list(idx)
        for d in set(dims):
            src[d] = shape[d] - 1 - src[d]
        return copied(name, values, src, via=at(call.result_name, idx))

    note = " ".join(t("shape.flip.dim", dim=d, last=shape[d] - 1) for d in sorted(set(dims)))
    return Rule(t("shape.flip.title"), fmt_shape(shape), note, [shape], trace=trace)


# --- diagonal, diag_embed, diag, tril/triu ----------------------------------------------------------


def _diag_length(a: int, b: int, offset: int) -> int:
    return max(0, min(a, b - offset) if offset >= 0 else min(a + offset, b))


def _diagonal_rule(call: Call) -> Rule:
    name, x = _x(call)
    fn = _fn_name(call)
    shape = list(x.shape)
    n = x.dim()
    values = _values(x)
    if fn == "diag":
        offset = int(_calls.arg(call, 1, "diagonal", 0))
        if n == 1:
            return _embed_rule(name, x, offset, 0, 1, values, "diag", call.result_name)
        if n != 2:
            raise NoRule
        d1, d2 = 0, 1
    elif fn == "diag_embed":
        offset = int(_calls.arg(call, 1, "offset", 0))
        d1 = wrap(int(_calls.arg(call, 2, "dim1", -2)), n + 1)
        d2 = wrap(int(_calls.arg(call, 3, "dim2", -1)), n + 1)
        return _embed_rule(name, x, offset, d1, d2, values, "diag_embed", call.result_name)
    else:
        offset = int(_calls.arg(call, 1, "offset", 0))
        d1 = wrap(int(_calls.arg(call, 2, "dim1", 0)), n)
        d2 = wrap(int(_calls.arg(call, 3, "dim2", 1)), n)
    if d1 == d2:
        raise NoRule
    length = _diag_length(shape[d1], shape[d2], offset)
    kept = [s for i, s in enumerate(shape) if i not in (d1, d2)]
    new = [*kept, length]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        rest = iter(idx[:-1])
        j = idx[-1]
        src = [0] * n
        for i in range(n):
            if i == d1:
                src[i] = j + max(0, -offset)
            elif i == d2:
                src[i] = j + max(0, offset)
            else:
                src[i] = next(rest)
        return copied(name, values, src, via=at(call.result_name, idx))

    note = t("shape.diagonal.note", d1=d1, d2=d2, a=shape[d1], b=shape[d2], offset=offset, length=length)
    return Rule(t("shape.diagonal.title"), fmt_shape(new), note, [new], trace=trace)


def _embed_rule(
    name: str, x: torch.Tensor, offset: int, d1: int, d2: int, values: Any, fn: str, out: str
) -> Rule:
    shape = list(x.shape)
    m = shape[-1] + abs(offset)
    lead = iter(shape[:-1])
    new = [m if i in (d1, d2) else next(lead) for i in range(len(shape) + 1)]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        i, j = idx[d1], idx[d2]
        if j - i != offset:
            return (t("shape.off_diagonal", i=i, j=j), 0, 0)
        rest = [v for p, v in enumerate(idx) if p not in (d1, d2)]
        return copied(name, values, [*rest, min(i, j)], via=at(out, idx))

    probes = [(0, (0,) * len(new))]
    on = [0] * len(new)
    on[d1], on[d2] = max(0, -offset), max(0, offset)
    probes.append((0, tuple(on)))
    off = list(on)
    off[d2] = (on[d2] + 1) % m
    probes.append((0, tuple(off)))
    note = t("shape.diag_embed.note", size=shape[-1], m=m, offset=offset, d1=d1, d2=d2)
    return Rule(t("shape.diagonal.title"), fmt_shape(new), note, [new], trace=trace, probes=probes)


def _tril_rule(call: Call) -> Rule:
    name, x = _x(call)
    if x.dim() < 2:
        raise NoRule
    fn = _fn_name(call)
    diagonal = int(_calls.arg(call, 1, "diagonal", 0))
    shape = list(x.shape)
    values = _values(x)
    lower = fn == "tril"

    def keeps(i: int, j: int) -> bool:
        return j - i <= diagonal if lower else j - i >= diagonal

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        i, j = idx[-2], idx[-1]
        if keeps(i, j):
            return copied(name, values, idx, via=at(call.result_name, idx))
        return (t("shape.tril.zero", diff=j - i, diagonal=diagonal), 0, 0)

    rows, cols = shape[-2], shape[-1]
    cells = [(i, j) for i in range(min(rows, 64)) for j in range(min(cols, 64))]
    probes: list[tuple[int, tuple[int, ...]]] = []
    lead = (0,) * (len(shape) - 2)
    for want in (True, False):
        found = next(((i, j) for i, j in cells if keeps(i, j) == want), None)
        if found:
            probes.append((0, (*lead, *found)))
    note = t("shape.tril.note" if lower else "shape.triu.note", diagonal=diagonal)
    return Rule(t("shape.tril.title"), fmt_shape(shape), note, [shape], trace=trace, probes=probes)


# --- F.pad ---------------------------------------------------------------------------------------


def _pad_rule(call: Call) -> Rule:
    name, x = _x(call)
    pad = ints(_calls.arg(call, 1, "pad"))
    mode = _calls.arg(call, 2, "mode", "constant") or "constant"
    value = _calls.arg(call, 3, "value", None)
    fill = 0 if value is None else value
    shape = list(x.shape)
    n = x.dim()
    if len(pad) % 2 or len(pad) > 2 * n:
        raise NoRule
    lefts, rights = [0] * n, [0] * n
    table = Table(
        [
            t("shape.col.pair"),
            t("moves.col.dim"),
            t("shape.col.left"),
            t("shape.col.right"),
            t("moves.col.size"),
        ],
        [],
    )
    for k in range(len(pad) // 2):
        d = n - 1 - k
        lefts[d], rights[d] = pad[2 * k], pad[2 * k + 1]
        table.add(
            [
                f"({pad[2 * k]}, {pad[2 * k + 1]})",
                str(d),
                str(pad[2 * k]),
                str(pad[2 * k + 1]),
                f"{shape[d]} → {shape[d] + pad[2 * k] + pad[2 * k + 1]}",
            ],
            "stretched",
        )
    new = [s + a + b for s, a, b in zip(shape, lefts, rights, strict=True)]
    values = _values(x)

    def source(i: int, d: int) -> int | None:
        j, size = i - lefts[d], shape[d]
        if mode == "constant":
            return j if 0 <= j < size else None
        if mode == "reflect":
            j = -j if j < 0 else j
            return 2 * (size - 1) - j if j >= size else j
        if mode == "replicate":
            return min(max(j, 0), size - 1)
        return j % size  # circular

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = [source(i, d) for d, i in enumerate(idx)]
        if any(s is None for s in src):
            return (t("shape.pad.fill", value=fill), fill, 0)
        return copied(name, values, [s or 0 for s in src], via=at(call.result_name, idx))

    inside = tuple(max(a, 0) if s else 0 for a, s in zip(lefts, shape, strict=True))
    probes = [(0, (0,) * n), (0, inside), (0, tuple(s - 1 for s in new))]
    code = (
        "("
        + ", ".join(
            f"{s} + {a} + {b}" if a or b else str(s) for s, a, b in zip(shape, lefts, rights, strict=True)
        )
        + ("," if n == 1 else "")
        + ")"
    )
    dims = fmt_args([n - 1 - k for k in range(len(pad) // 2)])
    return Rule(
        t("shape.pad.rule"),
        code,
        t("shape.pad.note", n=len(pad), pairs=len(pad) // 2, dims=dims, mode=mode),
        [new],
        table,
        trace=trace,
        probes=probes,
    )


# --- take, meshgrid, atleast_*d ------------------------------------------------------------------


def _take_rule(call: Call) -> Rule:
    name, x = _x(call)
    index = _calls.arg(call, 1, "index")
    iname = call.codes[1] if len(call.codes) > 1 else "index"
    shape = list(index.shape)
    values = _values(x)
    ivalues = _values(index)
    total = x.numel()

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        flat = read(ivalues, idx)
        flat = flat + total if flat < 0 else flat
        src = unravel(flat, list(x.shape))
        return copied(name, values, src, via=f"{name}.flatten()[{at(iname, idx)}] = {name}.flatten()[{flat}]")

    return Rule(
        t("shape.rule.title"),
        f"{iname}.shape",
        t("shape.take.note", index=iname, shape=fmt_shape(shape), n=total, last=total - 1),
        [shape],
        trace=trace if ivalues is not None else None,
    )


def _meshgrid_rule(call: Call) -> Rule:
    tensors = [v for _, v in _calls.operands(call)]
    names = [n for n, _ in _calls.operands(call)]
    if not tensors or any(v.dim() > 1 for v in tensors):
        raise NoRule
    indexing = call.kwargs.get("indexing", "ij")
    sizes = [v.numel() for v in tensors]
    shape = list(sizes)
    swap = indexing == "xy" and len(shape) >= 2
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    lists = [None if v.device.type == "meta" else v.reshape(-1).tolist() for v in tensors]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        pos = k
        if swap and k < 2:
            pos = 1 - k
        return (f"{names[k]}[{idx[pos]}]", read(lists[k], [idx[pos]]), 0)

    note = t("shape.meshgrid.note", n=len(tensors), sizes=fmt_args(sizes), shape=fmt_shape(shape))
    if swap:
        note += " " + t("shape.meshgrid.xy")
    return Rule(
        t("shape.split.title"),
        f"[{fmt_shape(shape)}] * {len(tensors)}",
        note,
        [shape] * len(tensors),
        several=True,
        trace=trace,
    )


def _atleast_rule(call: Call) -> Rule:
    tensors = list(_calls.operands(call))
    fn = _fn_name(call)
    want = int(fn[len("atleast_")])
    several = len(tensors) > 1 or isinstance(call.args[0] if call.args else None, (list, tuple))
    shapes = []
    kept: list[list[int]] = []  # where each input dim lands in the result
    for _, v in tensors:
        s = list(v.shape)
        if v.dim() >= want:
            new, where = s, list(range(len(s)))
        elif want == 2:
            new, where = [1] * (2 - len(s)) + s, [1] * len(s)
        elif len(s) == 0:
            new, where = [1, 1, 1], []
        elif len(s) == 1:
            new, where = [1, s[0], 1], [1]
        else:
            new, where = [*s, 1], [0, 1]
        shapes.append(new)
        kept.append(where)
    lists = [_values(v) for _, v in tensors]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = [idx[p] for p in kept[k]]
        return copied(tensors[k][0], lists[k], src, via=at(call.result_name, idx))

    note = t("shape.atleast.note", n=want)
    code = fmt_shape(shapes[0]) if not several else "[" + ", ".join(map(fmt_shape, shapes)) + "]"
    return Rule(t("shape.rule.title"), code, note, shapes, several=several, trace=trace)


# --- failures ------------------------------------------------------------------------------------


def _failure(call: Call, e: BaseException) -> OpError | None:
    """torch's error, explained by the rule it broke, with a fix in the user's terms."""
    import re

    text = torch_text(e)
    try:
        name, x = _x(call)
    except NoRule:
        return None
    shape = list(x.shape)
    n = x.dim()
    fn = _fn_name(call)
    if "Dimension out of range" in text or ("out of range" in text and "dim" in text.lower()):
        lo, hi = dim_range(n)
        return OpError(
            kind="dim_out_of_range",
            message=t("shape.err.dim", shape=fmt_shape(shape), n=n, lo=lo, hi=hi),
            hint=t("shape.err.dim.hint", lo=lo, hi=hi),
        )
    if fn in ("split", "split_with_sizes") and "split_sizes" in text and "sum" in text:
        sizes = ints(_calls.arg(call, 1, "split_size_or_sections", _calls.arg(call, 1, "split_sizes")))
        d = wrap(int(_calls.arg(call, 2, "dim", 0)), n)
        size = shape[d]
        fixed = [*sizes[:-1], size - sum(sizes[:-1])] if size - sum(sizes[:-1]) >= 0 else [size]
        return OpError(
            kind="split_sizes",
            message=t(
                "shape.err.split_sizes", sizes=" + ".join(map(str, sizes)), total=sum(sizes), dim=d, size=size
            ),
            hint=t("shape.err.split_sizes.hint", code=f"{name}.split({list(fixed)}, dim={d})"),
        )
    if fn in ("hsplit", "vsplit", "dsplit") and "divisible" in text:
        d = {"hsplit": 1 if n >= 2 else 0, "vsplit": 0, "dsplit": 2}.get(fn, 0)
        sections = _calls.arg(call, 1, "indices_or_sections")
        size = shape[d] if d < n else 0
        return OpError(
            kind="split_sections",
            message=t("shape.err.sections", fn=fn, dim=d, size=size, sections=sections),
            hint=t("shape.err.sections.hint", code=f"torch.tensor_split({name}, {sections}, dim={d})"),
        )
    if fn == "repeat" and "smaller" in text:
        reps = rest_ints(call, 1, "repeats")
        return OpError(
            kind="repeat_dims",
            message=t("shape.err.repeat", k=len(reps), n=n, shape=fmt_shape(shape)),
            hint=t(
                "shape.err.repeat.hint",
                code=f"{name}.repeat({fmt_args([1] * (n - len(reps)) + reps)})",
                tile=f"{name}.tile({fmt_args(reps)})",
            ),
        )
    if fn == "unflatten" and ("sizes" in text or "product" in text or "size" in text):
        d = wrap(int(_calls.arg(call, 1, "dim")), n)
        sizes = ints(_calls.arg(call, 2, "sizes"))
        known = [s for s in sizes if s != -1]
        size = shape[d]
        first = next((k for k in range(2, size) if size % k == 0), size)
        return OpError(
            kind="unflatten_sizes",
            message=t(
                "shape.err.unflatten",
                sizes=fmt_shape(sizes),
                product=" × ".join(map(str, known)) or "1",
                total=math.prod(known),
                dim=d,
                size=size,
            ),
            hint=t("shape.err.unflatten.hint", code=f"{name}.unflatten({d}, ({first}, -1))"),
        )
    if fn in ("narrow", "narrow_copy") and ("exceeds" in text or "out of range" in text or "start" in text):
        d = wrap(int(_calls.arg(call, 1, "dim")), n)
        start, length = int(_calls.arg(call, 2, "start")), int(_calls.arg(call, 3, "length"))
        size = shape[d]
        return OpError(
            kind="narrow_range",
            message=t("shape.err.narrow", start=start, end=start + length, dim=d, size=size),
            hint=t(
                "shape.err.narrow.hint",
                code=f"{name}.narrow({d}, {max(0, size - length)}, {min(length, size)})",
                size=size,
            ),
        )
    if fn == "pad":
        pad = ints(_calls.arg(call, 1, "pad"))
        if len(pad) % 2:
            return OpError(
                kind="pad_length",
                message=t("shape.err.pad_odd", n=len(pad)),
                hint=t("shape.err.pad_odd.hint", code=f"F.pad({name}, {tuple([*pad, 0])})"),
            )
        if len(pad) > 2 * n:
            return OpError(
                kind="pad_length",
                message=t(
                    "shape.err.pad_long", n=len(pad), pairs=len(pad) // 2, dims=n, shape=fmt_shape(shape)
                ),
                hint=t("shape.err.pad_long.hint", code=f"F.pad({name}, {tuple(pad[: 2 * n])})"),
            )
        m = re.search(r"padding \((\d+), (\d+)\) at dimension (\d+)", text)
        if m:
            d = int(m.group(3))
            return OpError(
                kind="pad_reflect",
                message=t(
                    "shape.err.reflect",
                    left=m.group(1),
                    right=m.group(2),
                    dim=d,
                    size=shape[d] if d < n else "?",
                ),
                hint=t("shape.err.reflect.hint", code=f"F.pad({name}, {tuple(pad)}, mode='replicate')"),
            )
    return None


# --- registration --------------------------------------------------------------------------------


def _spec(op: str, rule: Callable[[Call], Rule], targets: tuple[str, ...]) -> None:
    def explain(call: Call) -> Explanation:
        return explain_moves(call, op, t(f"shape.{op}.title"), rule, _failure)

    # named shape.<op>: the dedicated ops (movedim, permute, …) keep the plain names
    registry.register(registry.OpSpec(f"shape.{op}", "shape", explain, targets, summary="shape.summary"))


def _spellings(*names: str, tensor: bool = True, torch_fn: bool = True) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        if torch_fn:
            out.append(f"torch.{n}")
        if tensor:
            out.append(f"torch.Tensor.{n}")
    return tuple(out)


_spec(
    "movedim",
    _movedim_rule,
    # movedim/moveaxis and swapaxes/swapdims have dedicated specs (ops/movedim.py, ops/permute.py)
    (*_spellings("t"), "torch.t_copy", "torch.transpose_copy"),
)
_spec("unflatten", _unflatten_rule, _spellings("unflatten"))
_spec("repeat", _repeat_rule, ("torch.Tensor.repeat", "torch.tile", "torch.Tensor.tile"))
_spec("repeat_interleave", _repeat_interleave_rule, _spellings("repeat_interleave"))
_spec(
    "split",
    _split_rule,
    (
        *_spellings("split", "chunk", "tensor_split", "hsplit", "vsplit", "dsplit", "unbind"),
        "torch.Tensor.split_with_sizes",
        "torch.split_with_sizes",
    ),
)
_spec("narrow", _narrow_rule, _spellings("narrow", "narrow_copy", "select"))
_spec("roll", _roll_rule, _spellings("roll"))
_spec("flip", _flip_rule, _spellings("flip", "fliplr", "flipud", "rot90"))
_spec("diagonal", _diagonal_rule, _spellings("diagonal", "diag_embed", "diag"))
_spec("tril", _tril_rule, _spellings("tril", "triu"))
_spec("pad", _pad_rule, ("torch.nn.functional.pad",))
_spec("take", _take_rule, _spellings("take"))
_spec("meshgrid", _meshgrid_rule, ("torch.meshgrid",))
_spec("atleast", _atleast_rule, ("torch.atleast_1d", "torch.atleast_2d", "torch.atleast_3d"))

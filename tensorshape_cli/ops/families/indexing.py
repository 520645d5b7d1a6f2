"""The indexing family: x[...] with ints, slices, None, ..., integer arrays and boolean masks;
gather, take_along_dim, index_select, scatter/scatter_add/scatter_reduce, index_add/copy/fill,
masked_select, masked_fill, where, nonzero/argwhere.

Each rule gives the result's shape dimension by dimension, and traces one output element back
to its source position (x[1, index[1, 2]] = x[1, 0]), read by hand from the input. The sizes of
masked_select, nonzero and boolean-mask indexing depend on the values: on shape-only tensors
they cannot be known, and the explanation says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.explanation import Explanation, OpError, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import broadcast_shape, unravel
from tensorshape_cli.ops.families._moves import NoRule, Rule, at, copied, read, torch_text, wrap
from tensorshape_cli.ops.families._moves import explain as explain_moves
from tensorshape_cli.text import fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call

OPS = ("getitem", "gather", "index_select", "scatter", "index_put", "masked", "where", "nonzero")
RUNTIME_IDS = tuple(f"indexing.{op}.title" for op in OPS)


def _fn(call: Call) -> str:
    return getattr(call.fn, "__name__", "") or call.name.rpartition(".")[2]


def _code(call: Call, i: int, default: str) -> str:
    return call.codes[i] if i < len(call.codes) else default


def _vals(x: torch.Tensor) -> Any:
    return None if x.device.type == "meta" else x.tolist()


def _bcast_read(values: Any, shape: list[int], idx: tuple[int, ...]) -> Any:
    """values[idx] of a tensor broadcast to idx's length (size-1 dims read index 0)."""
    lead = len(idx) - len(shape)
    return read(values, [0 if s == 1 else i for i, s in zip(idx[lead:], shape, strict=True)])


# --- x[...] --------------------------------------------------------------------------------------


def _getitem_rule(call: Call) -> Rule:
    import torch

    x, key = call.args[0], call.args[1]
    name = _code(call, 0, "x")
    items = list(key) if isinstance(key, tuple) else [key]
    used = sum(
        (v.dim() if v.dtype == torch.bool else 1)
        if isinstance(v, torch.Tensor)
        else 0
        if v is None or v is Ellipsis
        else 1
        for v in items
    )
    if used > x.dim() or sum(v is Ellipsis for v in items) > 1:
        raise NoRule
    if Ellipsis in [v if not isinstance(v, torch.Tensor) else None for v in items]:
        at_e = next(i for i, v in enumerate(items) if v is Ellipsis and not isinstance(v, torch.Tensor))
        items = [*items[:at_e], *([slice(None)] * (x.dim() - used)), *items[at_e + 1 :]]
    else:
        items += [slice(None)] * (x.dim() - used)
    # after ints and slices: each entry is (kind, input dim(s), size or tensors)
    table = Table(
        [t("indexing.col.index"), t("indexing.col.dim"), t("indexing.col.rule"), t("moves.col.size")], []
    )
    plan: list[tuple[str, Any, Any]] = []
    advanced: list[torch.Tensor] = []
    dim = 0
    data_dependent = ""
    for item in items:
        if item is None:
            plan.append(("new", None, None))
            table.add(["None", "-", t("indexing.rule.none"), "1"], "stretched")
        elif isinstance(item, torch.Tensor) and item.dtype == torch.bool:
            k = item.dim()
            covered = list(x.shape[dim : dim + k])
            if list(item.shape) != covered:
                raise NoRule
            if item.device.type == "meta":
                data_dependent = t("indexing.mask.unknown", shape=fmt_shape(covered))
                parts = [torch.zeros(0, dtype=torch.long)] * max(k, 1)
            else:
                parts = list(item.nonzero().unbind(1)) if k else [torch.zeros(int(item), dtype=torch.long)]
            for j, part in enumerate(parts):
                plan.append(("adv", dim + j, len(advanced)))
                advanced.append(part)
            table.add(
                [
                    t("indexing.mask", shape=fmt_shape(covered)),
                    f"{dim}:{dim + k}",
                    t("indexing.rule.mask"),
                    "?",
                ],
                "stretched",
            )
            dim += k
        elif isinstance(item, torch.Tensor):
            if item.dtype.is_floating_point or item.dtype.is_complex:
                raise NoRule
            plan.append(("adv", dim, len(advanced)))
            advanced.append(item)
            table.add(
                [
                    t("indexing.array", shape=fmt_shape(list(item.shape))),
                    str(dim),
                    t("indexing.rule.array"),
                    "*",
                ],
                "stretched",
            )
            dim += 1
        elif isinstance(item, slice):
            r = range(*item.indices(x.shape[dim]))
            plan.append(("slice", dim, r))
            table.add(
                [
                    _slice_text(item),
                    str(dim),
                    t("indexing.rule.slice", start=r.start, step=r.step),
                    str(len(r)),
                ]
            )
            dim += 1
        elif isinstance(item, int) and not isinstance(item, bool):
            size = x.shape[dim]
            if not -size <= item < size:
                raise NoRule
            plan.append(("int", dim, item % size))
            table.add([str(item), str(dim), t("indexing.rule.int"), "-"], "stretched")
            dim += 1
        else:
            raise NoRule
    block = broadcast_shape([list(a.shape) for a in advanced]) if advanced else []
    # positions of the advanced entries once ints are gone: torch keeps them in place when
    # they are next to each other, else puts the broadcast block first
    kept = [p for p in plan if p[0] != "int"]
    adv_at = [i for i, p in enumerate(kept) if p[0] == "adv"]
    together = not adv_at or adv_at == list(range(adv_at[0], adv_at[-1] + 1))
    shape: list[int] = []
    layout: list[tuple[str, Any]] = []  # one per result dim
    if advanced and not together:
        shape += block
        layout += [("adv", j) for j in range(len(block))]
    for i, p in enumerate(kept):
        if p[0] == "adv":
            if together and i == adv_at[0]:
                shape += block
                layout += [("adv", j) for j in range(len(block))]
        elif p[0] == "new":
            shape.append(1)
            layout.append(("new", None))
        else:
            shape.append(len(p[2]))
            layout.append(("slice", p))
    note = t("indexing.getitem.note")
    if advanced:
        note += " " + t(
            "indexing.getitem.block",
            shapes=", ".join(fmt_shape(list(a.shape)) for a in advanced),
            block=fmt_shape(block),
        )
        if len(advanced) > 1:
            note += " " + t("indexing.getitem.together" if together else "indexing.getitem.front")
    values = _vals(x)
    adv_vals = [_vals(a) for a in advanced]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        b = tuple(i for (kind, _), i in zip(layout, idx, strict=True) if kind == "adv")
        slices = iter(i for (kind, _), i in zip(layout, idx, strict=True) if kind == "slice")
        src = [0] * x.dim()
        for p in plan:
            if p[0] == "int":
                src[p[1]] = p[2]
            elif p[0] == "slice":
                src[p[1]] = p[2][next(slices)]
            elif p[0] == "adv":
                a = advanced[p[2]]
                v = _bcast_read(adv_vals[p[2]], list(a.shape), b) if a.dim() else adv_vals[p[2]]
                src[p[1]] = v % x.shape[p[1]]
        return copied(name, values, src, via=at(call.result_name, idx))

    return Rule(
        t("indexing.rule.title"),
        fmt_shape(shape),
        note,
        [shape],
        table,
        trace=trace if all(v is not None for v in adv_vals) else None,
        data_dependent=data_dependent,
    )


def _slice_text(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop)]
    return ":".join(parts) + (f":{s.step}" if s.step is not None else "")


# --- gather, take_along_dim, index_select --------------------------------------------------------


def _gather_rule(call: Call) -> Rule:
    x = call.args[0]
    name = _code(call, 0, "x")
    fn = _fn(call)
    if fn == "take_along_dim":
        index = _calls.arg(call, 1, "indices")
        iname = _code(call, 1, "indices")
        d0 = _calls.arg(call, 2, "dim")
        if d0 is None or index.dim() != x.dim():
            raise NoRule
        d = wrap(int(d0), x.dim())
        xs, ishape = list(x.shape), list(index.shape)
        shape = broadcast_shape([[*xs[:d], 1, *xs[d + 1 :]], [*ishape[:d], 1, *ishape[d + 1 :]]])
        shape[d] = ishape[d]
    else:
        d = wrap(int(_calls.arg(call, 1, "dim")), x.dim())
        index = _calls.arg(call, 2, "index")
        iname = _code(call, 2, "index")
        shape = list(index.shape)
    values, ivals = _vals(x), _vals(index)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        j = _bcast_read(ivals, list(index.shape), idx) if index.dim() else ivals
        src = [0 if s == 1 and fn == "take_along_dim" else i for i, s in zip(idx, x.shape, strict=True)]
        src[d] = j % x.shape[d]
        written = list(map(str, idx))
        written[d] = at(iname, idx)
        return copied(name, values, src, via=f"{name}[{', '.join(written)}]")

    return Rule(
        t("indexing.rule.title"),
        f"{iname}.shape" if fn != "take_along_dim" else fmt_shape(shape),
        t("indexing.gather.note", dim=d, index=iname, name=name, shape=fmt_shape(shape)),
        [shape],
        trace=trace if ivals is not None else None,
    )


def _index_select_rule(call: Call) -> Rule:
    x = call.args[0]
    name = _code(call, 0, "x")
    d = wrap(int(_calls.arg(call, 1, "dim")), x.dim())
    index = _calls.arg(call, 2, "index")
    iname = _code(call, 2, "index")
    shape = list(x.shape)
    if shape:
        shape[d] = index.numel()
    values, ivals = _vals(x), _vals(index)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = list(idx)
        j = ivals[idx[d]] if index.dim() else ivals
        src[d] = j
        written = list(map(str, idx))
        written[d] = at(iname, [idx[d]])
        return copied(name, values, src, via=f"{name}[{', '.join(written)}]")

    return Rule(
        t("indexing.rule.title"),
        fmt_shape(shape),
        t("indexing.index_select.note", dim=d, index=iname, n=index.numel()),
        [shape],
        trace=trace if ivals is not None and x.dim() else None,
    )


# --- scatter, scatter_add, scatter_reduce, index_add/copy/fill ---------------------------------------


def _scatter_rule(call: Call) -> Rule:
    import torch

    x = call.args[0]
    name = _code(call, 0, "x")
    fn = _fn(call)
    d = wrap(int(_calls.arg(call, 1, "dim")), x.dim())
    index = _calls.arg(call, 2, "index")
    src = _calls.arg(call, 3, "src", call.kwargs.get("value"))
    sname = _code(call, 3, "src")
    reduce = _calls.arg(call, 4, "reduce") if fn == "scatter_reduce" else None
    include_self = call.kwargs.get("include_self", True)
    shape = list(x.shape)
    values, ivals = _vals(x), _vals(index)
    svals = _vals(src) if isinstance(src, torch.Tensor) else src
    writes: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    if ivals is not None:
        for flat in range(index.numel()):
            q = tuple(unravel(flat, list(index.shape)))
            p = list(q)
            p[d] = read(ivals, q) % shape[d]
            writes.setdefault(tuple(p), []).append(q)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        qs = writes.get(idx, [])
        own = read(values, idx)
        if isinstance(src, torch.Tensor):
            terms = [(read(svals, q), at(sname, q)) for q in qs]
        else:
            terms = [(svals, fmt_num(svals)) for _ in qs]
        if not qs:
            return copied(name, values, idx, via=t("indexing.scatter.none"))
        if fn == "scatter" and call.kwargs.get("reduce") is None:
            if len(qs) > 1:
                return None  # several writes: torch does not say which one wins
            return (f"{terms[0][1]}", terms[0][0], 0)
        parts = ([(own, at(name, idx))] if include_self else []) + terms
        nums = [v for v, _ in parts]
        op = reduce or "sum"
        if op in ("sum", "add"):
            return (" + ".join(w for _, w in parts), sum(nums), len(nums))
        if op in ("prod", "multiply"):
            prod = 1.0
            for v in nums:
                prod *= v
            return (" * ".join(w for _, w in parts), prod, len(nums))
        if op == "mean":
            return (f"({' + '.join(w for _, w in parts)}) / {len(nums)}", sum(nums) / len(nums), len(nums))
        if op == "amax":
            return (f"max({', '.join(w for _, w in parts)})", max(nums), 0)
        if op == "amin":
            return (f"min({', '.join(w for _, w in parts)})", min(nums), 0)
        return None

    probes: list[tuple[int, tuple[int, ...]]] = [(0, p) for p in list(writes)[:2]]
    empty = next(
        (
            tuple(unravel(f, shape))
            for f in range(min(x.numel(), 4096))
            if tuple(unravel(f, shape)) not in writes
        ),
        None,
    )
    if empty is not None:
        probes.append((0, empty))
    return Rule(
        t("indexing.rule.title"),
        fmt_shape(shape),
        t("indexing.scatter.note", fn=fn, dim=d, index=_code(call, 2, "index"), name=name),
        [shape],
        trace=trace if ivals is not None and values is not None and x.dim() else None,
        probes=probes,
    )


def _index_put_rule(call: Call) -> Rule:
    import torch

    x = call.args[0]
    name = _code(call, 0, "x")
    fn = _fn(call)
    d = wrap(int(_calls.arg(call, 1, "dim")), x.dim())
    index = _calls.arg(call, 2, "index")
    iname = _code(call, 2, "index")
    other = _calls.arg(call, 3, "source" if fn != "index_fill" else "value")
    oname = _code(call, 3, "source")
    alpha = call.kwargs.get("alpha", 1)
    values, ivals = _vals(x), _vals(index)
    ovals = _vals(other) if isinstance(other, torch.Tensor) else other
    shape = list(x.shape)
    rows: dict[int, list[int]] = {}
    for k, j in enumerate(ivals if isinstance(ivals, list) else [ivals] if ivals is not None else []):
        rows.setdefault(j % shape[d], []).append(k)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        ks = rows.get(idx[d], [])
        own = read(values, idx)
        if not ks:
            return copied(name, values, idx, via=t("indexing.scatter.none"))
        if fn == "index_fill":
            return (f"{iname} → {fmt_num(ovals)}", ovals, 0)
        srcs = []
        for kk in ks:
            q = list(idx)
            q[d] = kk
            srcs.append((read(ovals, q), at(oname, q)))
        if fn == "index_copy":
            return None if len(srcs) > 1 else (srcs[0][1], srcs[0][0], 0)
        scale = "" if alpha == 1 else f"{fmt_num(alpha)} * "
        expression = " + ".join([at(name, idx), *(scale + w for _, w in srcs)])
        return (expression, own + sum(alpha * v for v, _ in srcs), len(srcs) + 1)

    first = next(iter(rows), None)
    probes = []
    if first is not None and x.dim():
        probes.append((0, tuple(first if i == d else 0 for i in range(x.dim()))))
    free = next((j for j in range(shape[d] if shape else 0) if j not in rows), None)
    if free is not None:
        probes.append((0, tuple(free if i == d else 0 for i in range(x.dim()))))
    return Rule(
        t("indexing.rule.title"),
        fmt_shape(shape),
        t("indexing.index_put.note", fn=fn, dim=d, index=iname, name=name),
        [shape],
        trace=trace if ivals is not None and values is not None and x.dim() else None,
        probes=probes,
    )


# --- masks: masked_select, masked_fill, where, nonzero ------------------------------------------------


def _masked_rule(call: Call) -> Rule:
    import torch

    x = call.args[0]
    name = _code(call, 0, "x")
    mask = _calls.arg(call, 1, "mask")
    mname = _code(call, 1, "mask")
    fn = _fn(call)
    full = broadcast_shape([list(x.shape), list(mask.shape)])
    values, mvals = _vals(x), _vals(mask)
    if fn == "masked_fill":
        value = _calls.arg(call, 2, "value")
        fill = value.item() if isinstance(value, torch.Tensor) and value.device.type != "meta" else value

        def trace_fill(k: int, idx: tuple[int, ...]) -> Any:
            if _bcast_read(mvals, list(mask.shape), idx):
                return (f"{at(mname, idx)} → {fmt_num(fill)}", fill, 0)
            return copied(name, values, idx, via=at(mname, idx))

        probes = _mask_probes(mask, mvals, full)
        return Rule(
            t("indexing.rule.title"),
            fmt_shape(full),
            t("indexing.masked_fill.note", mask=mname, shape=fmt_shape(list(mask.shape)), name=name),
            [full],
            trace=trace_fill if mvals is not None else None,
            probes=probes,
        )
    # masked_select: the True positions of the broadcast mask, in row-major order
    note = t("indexing.masked_select.note", mask=mname, shape=fmt_shape(full), n=_numel(full))
    if mvals is None:
        return Rule(t("indexing.rule.title"), f"({mname}.sum(),)", note, [], data_dependent=note)
    picks = [
        tuple(unravel(f, full))
        for f in range(_numel(full))
        if _bcast_read(mvals, list(mask.shape), tuple(unravel(f, full)))
    ]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        src = picks[idx[0]]
        return copied(name, values, src[len(full) - x.dim() :], via=at(call.result_name, idx))

    return Rule(t("indexing.rule.title"), f"({len(picks)},)", note, [[len(picks)]], trace=trace)


def _mask_probes(mask: torch.Tensor, mvals: Any, full: list[int]) -> list[tuple[int, tuple[int, ...]]] | None:
    if mvals is None:
        return None
    probes = []
    for want in (True, False):
        for f in range(min(_numel(full), 4096)):
            idx = tuple(unravel(f, full))
            if bool(_bcast_read(mvals, list(mask.shape), idx)) == want:
                probes.append((0, idx))
                break
    return probes


def _where_rule(call: Call) -> Rule:
    import torch

    order = ((0, "condition"), (1, "input"), (2, "other"))
    if call.fn is torch.Tensor.where:  # x.where(condition, y): the tensor comes first
        order = ((1, "condition"), (0, "input"), (2, "other"))
    cond, a, b = (_calls.arg(call, i, n) for i, n in order)
    if a is None or b is None:
        raise NoRule
    names = [_code(call, i, n) for i, n in order]
    shapes = [list(v.shape) if isinstance(v, torch.Tensor) else [] for v in (cond, a, b)]
    full = broadcast_shape(shapes)
    vals = [_vals(v) if isinstance(v, torch.Tensor) else v for v in (cond, a, b)]

    def pick(i: int, idx: tuple[int, ...]) -> Any:
        if not isinstance((cond, a, b)[i], torch.Tensor) or not shapes[i]:
            return vals[i]
        return _bcast_read(vals[i], shapes[i], idx)

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        chosen = 1 if pick(0, idx) else 2
        lead = len(idx) - len(shapes[chosen])
        src = [0 if s == 1 else i for i, s in zip(idx[lead:], shapes[chosen], strict=True)]
        where = at(names[chosen], src) if shapes[chosen] else names[chosen]
        return (f"{at(names[0], idx)} = {pick(0, idx)} → {where}", pick(chosen, idx), 0)

    probes = _mask_probes(cond, vals[0], full) if isinstance(cond, torch.Tensor) else None
    table = Table([t("indexing.col.operand"), t("indexing.col.shape")], [])
    for n, s in zip(names, shapes, strict=True):
        table.add([n, fmt_shape(s)], "ok" if s == full else "stretched")
    table.add(["→", fmt_shape(full)])
    rule = Rule(
        t("indexing.rule.title"),
        fmt_shape(full),
        t("indexing.where.note", cond=names[0], a=names[1], b=names[2], shape=fmt_shape(full)),
        [full],
        table,
        trace=trace if all(v is not None for v in vals) else None,
        probes=probes,
    )
    from tensorshape_cli.ops.families import pointwise

    if pointwise.promotes(a, b):  # where(c, int64, float32) is float32: both branches promote first
        _, step, check = pointwise.promotion(names[1:], (a, b), torch.result_type(a, b), ",")
        rule.steps.append(step)
        rule.checks += [check] if check is not None else []
    return rule


def _nonzero_rule(call: Call) -> Rule:
    x = call.args[0] if call.args else call.kwargs["input"]
    name = _code(call, 0, "x")
    if call.kwargs.get("as_tuple"):
        raise NoRule
    n = x.dim()
    note = t("indexing.nonzero.note", name=name, n=n, numel=x.numel())
    values = _vals(x)
    if values is None:
        return Rule(t("indexing.rule.title"), f"({name}.count_nonzero(), {n})", note, [], data_dependent=note)
    picks = [
        tuple(unravel(f, list(x.shape))) for f in range(x.numel()) if read(values, unravel(f, list(x.shape)))
    ]

    def trace(k: int, idx: tuple[int, ...]) -> Any:
        pos = picks[idx[0]]
        return (
            t("indexing.nonzero.trace", k=idx[0], where=at(name, pos), value=fmt_num(read(values, pos))),
            pos[idx[1]],
            0,
        )

    return Rule(
        t("indexing.rule.title"), f"({len(picks)}, {n})", note, [[len(picks), n]], trace=trace if n else None
    )


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# --- failures ------------------------------------------------------------------------------------


def _size_along(call: Call, x: torch.Tensor) -> int:
    """The size the indices of index_select/index_add/… must fit: x's size along their dim."""
    d = _calls.arg(call, 1, "dim")
    if isinstance(d, int) and x.dim() and -x.dim() <= d < x.dim():
        return int(x.shape[d])
    return x.numel()


def _failure(call: Call, e: BaseException) -> OpError | None:
    import torch

    text = torch_text(e)
    tensors = list(_calls.operands(call))
    if not tensors:
        return None
    name, x = tensors[0]
    others = [(n, v) for n, v in tensors[1:]]
    if "must be long" in text or "Expected dtype int" in text or "expected scalar type Long" in text:
        floaty = next(((n, v) for n, v in others if v.dtype.is_floating_point), None)
        if floaty is not None:
            return OpError(
                kind="index_dtype",
                message=t(
                    "indexing.err.dtype", index=floaty[0], dtype=str(floaty[1].dtype).removeprefix("torch.")
                ),
                hint=t("indexing.err.dtype.hint", code=f"{floaty[0]}.long()"),
            )
    if "device" in text:
        odd = next((n for n, v in tensors if v.device != x.device), others[0][0] if others else "index")
        return OpError(
            kind="index_device",
            message=t("indexing.err.device", devices=", ".join(f"{n}: {v.device}" for n, v in tensors)),
            hint=t("indexing.err.device.hint", code=f"{odd}.to({name}.device)"),
        )
    m = re.search(
        r"shape of the mask \[([\d, ]*)\] at index (\d+) does not match "
        r"the shape of the indexed tensor \[([\d, ]*)\]",
        text,
    )
    if m:
        return OpError(
            kind="mask_shape",
            message=t("indexing.err.mask", mask=f"({m.group(1)})", shape=f"({m.group(3)})", at=m.group(2)),
            hint=t("indexing.err.mask.hint", name=name),
        )
    if "same number of dimensions" in text:
        index = next((v for n, v in others if not v.dtype.is_floating_point), None)
        iname = next((n for n, v in others if v is index), "index")
        if index is not None:
            fix = (
                f"{iname}.unsqueeze(-1)"
                if index.dim() < x.dim()
                else f"{iname}.view({', '.join(map(str, index.shape[-x.dim() :]))})"
            )
            return OpError(
                kind="gather_dims",
                message=t(
                    "indexing.err.gather_dims",
                    index=iname,
                    k=index.dim(),
                    name=name,
                    n=x.dim(),
                    shape=fmt_shape(list(x.shape)),
                ),
                hint=t("indexing.err.gather_dims.hint", code=fix),
            )
    m = re.search(r"index (-?\d+) is out of bounds for dimension (\d+) with size (\d+)", text) or re.search(
        r"id=(-?\d+) axis_dim=(\d+)()", text
    )
    if m or "out of range" in text or "out of bounds" in text:
        for iname, index in others:
            if index.dtype in (torch.bool,) or index.dtype.is_floating_point or index.device.type == "meta":
                continue
            flat = index.reshape(-1).tolist()
            size = int(m.group(3)) if m and m.group(3) else int(m.group(2)) if m else _size_along(call, x)
            negative_ok = _fn(call) in ("__getitem__", "take")
            lo = -size if negative_ok else 0
            bad = next((k for k, v in enumerate(flat) if not lo <= v < size), None)
            if bad is None:
                continue
            where = fmt_index(unravel(bad, list(index.shape)))
            return OpError(
                kind="index_out_of_range",
                message=t(
                    "indexing.err.range",
                    index=iname,
                    where=where,
                    value=flat[bad],
                    size=size,
                    lo=lo,
                    hi=size - 1,
                ),
                hint=t(
                    "indexing.err.range.hint", code=f"{iname}.clamp({lo}, {size - 1})", lo=lo, hi=size - 1
                ),
            )
    return None


# --- registration --------------------------------------------------------------------------------


def _spec(op: str, rule: Callable[[Call], Rule], targets: tuple[str, ...]) -> None:
    def explain(call: Call) -> Explanation:
        return explain_moves(call, op, t(f"indexing.{op}.title"), rule, _failure)

    registry.register(
        registry.OpSpec(f"indexing.{op}", "indexing", explain, targets, summary="indexing.summary")
    )


_spec("getitem", _getitem_rule, ("torch.Tensor.__getitem__",))
_spec(
    "gather",
    _gather_rule,
    ("torch.gather", "torch.Tensor.gather", "torch.take_along_dim", "torch.Tensor.take_along_dim"),
)
_spec("index_select", _index_select_rule, ("torch.index_select", "torch.Tensor.index_select"))
_spec(
    "scatter",
    _scatter_rule,
    (
        "torch.scatter",
        "torch.Tensor.scatter",
        "torch.scatter_add",
        "torch.Tensor.scatter_add",
        "torch.scatter_reduce",
        "torch.Tensor.scatter_reduce",
    ),
)
_spec(
    "index_put",
    _index_put_rule,
    (
        "torch.index_add",
        "torch.Tensor.index_add",
        "torch.index_copy",
        "torch.Tensor.index_copy",
        "torch.index_fill",
        "torch.Tensor.index_fill",
    ),
)
_spec(
    "masked",
    _masked_rule,
    ("torch.masked_select", "torch.Tensor.masked_select", "torch.masked_fill", "torch.Tensor.masked_fill"),
)
_spec("where", _where_rule, ("torch.where", "torch.Tensor.where"))
_spec(
    "nonzero",
    _nonzero_rule,
    ("torch.nonzero", "torch.Tensor.nonzero", "torch.argwhere", "torch.Tensor.argwhere"),
)

"""Convolution and pooling (1d/2d/3d, transposed, adaptive, max/avg/lp, unfold/fold).

One rule explains them all: each spatial dimension of the output comes from the same size
formula, `floor((H + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1` (transposed
convolution runs it backwards), and the channel dimension from the weight. The explanation
writes that formula out with the user's numbers, checks it against torch's shape, and works
one output element by hand: a convolution's window as a sum of products, a pool's window as
its max or mean. Failures are told from the shapes (rank, channels, groups, a kernel larger
than the padded input) with the fix in code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry, settings
from tensorshape_cli.describe import info
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import agrees, check_size, eps_of, shape_check, skipped_check
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import elide_terms, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

# kind → the names of the arguments after the input, in torch's positional order, with defaults.
SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "conv": (("weight", None), ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)),
    "conv_transpose": (
        ("weight", None),
        ("bias", None),
        ("stride", 1),
        ("padding", 0),
        ("output_padding", 0),
        ("groups", 1),
        ("dilation", 1),
    ),
    "max_pool": (
        ("kernel_size", None),
        ("stride", None),
        ("padding", 0),
        ("dilation", 1),
        ("ceil_mode", False),
        ("return_indices", False),
    ),
    "avg_pool": (
        ("kernel_size", None),
        ("stride", None),
        ("padding", 0),
        ("ceil_mode", False),
        ("count_include_pad", True),
        ("divisor_override", None),
    ),
    "adaptive_avg_pool": (("output_size", None),),
    "adaptive_max_pool": (("output_size", None), ("return_indices", False)),
    "lp_pool": (("norm_type", 2), ("kernel_size", None), ("stride", None), ("ceil_mode", False)),
    "unfold": (("kernel_size", None), ("dilation", 1), ("padding", 0), ("stride", 1)),
    "fold": (("output_size", None), ("kernel_size", None), ("dilation", 1), ("padding", 0), ("stride", 1)),
}


def _targets() -> dict[str, tuple[str, int]]:
    """Every spelling torch 2.13 has, → (kind, number of spatial dims)."""
    table: dict[str, tuple[str, int]] = {}
    for n in (1, 2, 3):
        for kind, names in (
            ("conv", (f"conv{n}d",)),
            ("conv_transpose", (f"conv_transpose{n}d",)),
            ("max_pool", (f"max_pool{n}d", f"max_pool{n}d_with_indices")),
            ("avg_pool", (f"avg_pool{n}d",)),
            ("adaptive_avg_pool", (f"adaptive_avg_pool{n}d",)),
            ("adaptive_max_pool", (f"adaptive_max_pool{n}d", f"adaptive_max_pool{n}d_with_indices")),
            ("lp_pool", (f"lp_pool{n}d",)),
        ):
            for name in names:
                table[f"torch.nn.functional.{name}"] = (kind, n)
    # the torch.* spellings that exist (torch.avg_pool2d does not: it lives in torch._C._nn)
    for name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        table[f"torch.{name}"] = table[f"torch.nn.functional.{name}"]
    for name in ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "avg_pool1d"):
        table[f"torch.{name}"] = table[f"torch.nn.functional.{name}"]
    table["torch.adaptive_avg_pool1d"] = ("adaptive_avg_pool", 1)
    table["torch.adaptive_max_pool1d"] = ("adaptive_max_pool", 1)
    table["torch.nn.functional.unfold"] = ("unfold", 2)
    table["torch.nn.functional.fold"] = ("fold", 2)
    return table


TARGETS = _targets()
SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
KINDS = tuple(SIGNATURES)
# Message ids built at run time (f-strings): tests check each is in both catalogs.
RUNTIME_IDS = (
    *(f"conv.window.{k}" for k in ("max_pool", "avg_pool", "lp_pool")),
    *(f"conv.size.{w}" for w in ("same", "valid")),
)
# Every OpError kind this family gives (each has an error_title.<kind> in its catalog).
ERROR_KINDS = (
    "conv_rank",
    "conv_weight_rank",
    "conv_groups",
    "conv_channels",
    "conv_bias",
    "conv_same_stride",
    "pool_padding",
    "conv_kernel_size",
    "pool_output_size",
    "conv_transpose_size",
    "fold_channels",
    "fold_blocks",
)


@dataclass
class Geometry:
    """One call's numbers, per spatial dimension."""

    kind: str
    n: int
    batched: bool
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]  # the left padding ('same': what torch pads on the left)
    dilation: tuple[int, ...]
    ceil_mode: bool = False
    output_padding: tuple[int, ...] = ()
    padding_text: str = ""  # 'same' / 'valid' when given as a word


def _tuple(value: Any, n: int) -> tuple[int, ...] | None:
    """An int or a sequence of ints for n dims, as torch's _ntuple reads it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        if len(value) == 1:
            return (int(value[0]),) * n
        if len(value) == n:
            return tuple(int(v) for v in value)
    return None


def _kind_of(call: Call) -> tuple[str, int]:
    target = registry._unwrap(call.fn)
    for path, kind in TARGETS.items():
        if registry.resolve(path) is target:
            return kind
    raise KeyError(call.name)


def _bind(call: Call, kind: str) -> dict[str, Any]:
    return {
        name: _calls.arg(call, i + 1, name, default) for i, (name, default) in enumerate(SIGNATURES[kind])
    }


def _geometry(kind: str, n: int, x: torch.Tensor, a: dict[str, Any]) -> Geometry | None:
    """The numbers the size formula needs, or None when the arguments are not ones it reads."""
    batched = x.dim() == n + 2
    size = tuple(int(s) for s in x.shape[-n:]) if x.dim() >= n else ()
    if kind in ("conv", "conv_transpose"):
        w = a["weight"]
        if w is None or w.dim() != n + 2:
            return None
        kernel = tuple(int(s) for s in w.shape[2:])
        stride, dilation = _tuple(a["stride"], n), _tuple(a["dilation"], n)
        if stride is None or dilation is None:
            return None
        word = a["padding"] if isinstance(a["padding"], str) else ""
        if word == "valid":
            padding: tuple[int, ...] | None = (0,) * n
        elif word == "same":  # torch pads d·(k − 1) in all, the smaller half on the left
            padding = tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel, strict=True))
        else:
            padding = _tuple(a["padding"], n)
        out_pad = _tuple(a.get("output_padding", 0), n) if kind == "conv_transpose" else ()
        if padding is None or out_pad is None:
            return None
        return Geometry(kind, n, batched, size, kernel, stride, padding, dilation, False, out_pad, word)
    if kind in ("max_pool", "avg_pool", "lp_pool", "unfold", "fold"):
        kernel_t = _tuple(a["kernel_size"], n)
        if kernel_t is None:
            return None
        raw_stride = a.get("stride")
        stride_t = (
            kernel_t if raw_stride is None or raw_stride == [] or raw_stride == () else _tuple(raw_stride, n)
        )
        padding_t = _tuple(a.get("padding", 0), n)
        dilation_t = _tuple(a.get("dilation", 1), n)
        if stride_t is None or padding_t is None or dilation_t is None:
            return None
        if kind in ("unfold", "fold"):
            batched = x.dim() == (4 if kind == "unfold" else 3)
        if kind == "fold":
            size_t = _tuple(a["output_size"], n)
            if size_t is None:
                return None
            size = size_t
        return Geometry(
            kind, n, batched, size, kernel_t, stride_t, padding_t, dilation_t, bool(a.get("ceil_mode"))
        )
    return None


def out_size(g: Geometry, i: int) -> int:
    """torch's size formula for spatial dim i."""
    h, k, s, p, d = g.size[i], g.kernel[i], g.stride[i], g.padding[i], g.dilation[i]
    if g.kind == "conv_transpose":
        return (h - 1) * s - 2 * p + d * (k - 1) + g.output_padding[i] + 1
    if g.padding_text == "same":
        return h
    span = h + 2 * p - d * (k - 1) - 1
    if not g.ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= h + p:  # the last window would start in the right padding: torch drops it
        out -= 1
    return out


def formula(g: Geometry, i: int) -> str:
    """The formula for dim i with the numbers, e.g. floor((28 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = 14."""
    h, k, s, p, d = g.size[i], g.kernel[i], g.stride[i], g.padding[i], g.dilation[i]
    if g.kind == "conv_transpose":
        return f"({h} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {g.output_padding[i]} + 1 = {out_size(g, i)}"
    if g.padding_text == "same":
        return t("conv.same_formula", h=h, total=d * (k - 1), left=p, right=d * (k - 1) - p)
    rounding = "ceil" if g.ceil_mode else "floor"
    return f"{rounding}(({h} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = {out_size(g, i)}"


def arithmetic(g: Geometry, i: int) -> str:
    """The formula's arithmetic alone, in symbols (⌊ ⌋ floor, ⌈ ⌉ ceil), for a table cell."""
    h, k, s, p, d = g.size[i], g.kernel[i], g.stride[i], g.padding[i], g.dilation[i]
    if g.kind == "conv_transpose":
        return f"({h} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {g.output_padding[i]} + 1"
    if g.padding_text == "same":
        return t("conv.same_formula", h=h, total=d * (k - 1), left=p, right=d * (k - 1) - p)
    left, right = ("⌈", "⌉") if g.ceil_mode else ("⌊", "⌋")
    return f"{left}({h} + 2·{p} − {d}·({k} − 1) − 1) / {s}{right} + 1"


def _spatial(n: int) -> tuple[str, ...]:
    return SPATIAL[n]


def _fmt_arg(values: Sequence[int]) -> str:
    """3 for (3, 3), (3, 5) otherwise: as a user writes kernel_size in nn.Conv2d."""
    return str(values[0]) if len(set(values)) == 1 else fmt_shape(values)


def _op_name(kind: str, n: int) -> str:
    return {"unfold": "unfold", "fold": "fold"}.get(kind, f"{kind}{n}d")


# --- explain ------------------------------------------------------------------------------------


def explain(call: Call) -> Explanation:
    import torch

    kind, n = _kind_of(call)
    op = _op_name(kind, n)
    ex = _calls.start(call, op, t("conv.title", op=op))
    layer = call.options.get("layer")
    if layer:  # a command-line layer: how it was made comes first
        ex.steps.insert(
            0, Step(t("conv.layer.title"), f"m = {layer}", None, call.options.get("layer_note", ""))
        )
    a = _bind(call, kind)
    x = call.args[0] if call.args else None
    if not isinstance(x, torch.Tensor):
        return ex
    ok, result = _calls.run(ex, call)
    g = _geometry(kind, n, x, a)
    if not ok:
        said = str(result).strip().splitlines()[0] if str(result).strip() else ""
        error = _diagnose(kind, n, x, a, g, said, call.codes[0] if call.codes else "x")
        if error is not None:
            ex.error = error
        if g is not None and g.size and error is not None and error.kind.endswith("_size"):
            ex.steps.append(_size_step(call, g, "", failing=True))
        return ex
    y = result[0] if isinstance(result, (tuple, list)) else result
    ex.steps.append(_layout_step(kind, n, x, call))
    if kind in ("conv", "conv_transpose"):
        ex.steps.append(_channel_step(kind, x, a, call, y, n))
    meta = y.device.type == "meta"
    if kind.startswith("adaptive"):
        ex.steps.append(_bins_step(call, x, a, n))
        predicted = list(y.shape[:-n]) + [int(v) for v in _adaptive_out(x, a["output_size"], n)]
        ex.checks.append(shape_check(t("conv.check.formula"), predicted, list(y.shape)))
    elif g is not None:
        if kind != "fold":
            ex.steps.append(_size_step(call, g, ""))
        ex.checks.append(shape_check(t("conv.check.formula"), _predicted_shape(kind, x, a, g), list(y.shape)))
    if meta:
        ex.checks.append(skipped_check())
    else:
        element = _element(kind, n, x, a, g, y, call)
        if element is not None:
            step, check = element
            ex.steps.append(step)
            ex.checks.append(check)
    _calls.result_step(ex, call, result, t("conv.result", shape=fmt_shape(y.shape)))
    return ex


def _layout_step(kind: str, n: int, x: torch.Tensor, call: Call) -> Step:
    name = call.codes[0] if call.codes else "x"
    spatial = _spatial(n)
    names: tuple[str, ...]
    if kind == "fold":
        names = ("N", "C×∏k", "L") if x.dim() == 3 else ("C×∏k", "L")
    elif kind == "unfold":
        names = ("N", "C", *spatial) if x.dim() == 4 else ("C", *spatial)
    else:
        names = ("N", "C", *spatial) if x.dim() == n + 2 else ("C", *spatial)
    pairs = ", ".join(f"{a}={b}" for a, b in zip(names, x.shape, strict=False))
    batched = len(names) == x.dim() and names[0] == "N"
    note = t("conv.layout.batched" if batched else "conv.layout.unbatched", name=name, dims=pairs, n=x.dim())
    return Step(t("conv.layout.title"), f"{name}.shape", None, note)


def _channel_step(kind: str, x: torch.Tensor, a: dict[str, Any], call: Call, y: torch.Tensor, n: int) -> Step:
    w = a["weight"]
    groups = int(a["groups"]) if isinstance(a["groups"], int) else 1
    cin = int(x.shape[-n - 1])
    wname = call.codes[1] if len(call.codes) > 1 else call.keyword_codes.get("weight", "weight")
    if kind == "conv":
        note = t(
            "conv.channels.note",
            w=wname,
            wshape=fmt_shape(w.shape),
            per=w.shape[1],
            groups=groups,
            cin=cin,
            cout=y.shape[-n - 1],
        )
    else:
        note = t(
            "conv.channels.transpose",
            w=wname,
            wshape=fmt_shape(w.shape),
            cin=cin,
            per=w.shape[1],
            groups=groups,
            cout=y.shape[-n - 1],
        )
    return Step(t("conv.channels.title"), f"{wname}.shape", None, note)


def _size_step(call: Call, g: Geometry, note: str, failing: bool = False) -> Step:
    table = Table([t("conv.col.dim"), t("conv.col.size"), t("conv.col.formula"), t("conv.col.out")], [])
    lines = []
    for i, dim in enumerate(_spatial(g.n)):
        o = out_size(g, i)
        cells = [t("conv.row.dim", i=i - g.n, name=dim), str(g.size[i]), arithmetic(g, i), str(o)]
        table.add(cells, "mismatch" if o <= 0 else "ok")
        lines.append(f"{dim}: {formula(g, i)}")
    text = t("conv.size.note", rule=_rule(g), lines="; ".join(lines))
    if g.ceil_mode:
        text += " " + t("conv.size.ceil")
    if g.padding_text:
        text += " " + t(f"conv.size.{g.padding_text}")
    code = f"{call.code or call.name}.shape" if not failing else call.code or call.name
    return Step(t("conv.size.title"), code, None, text + (" " + note if note else ""), table)


def _rule(g: Geometry) -> str:
    if g.kind == "conv_transpose":
        return "(H − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1"
    return "floor((H + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1"


def _adaptive_out(x: torch.Tensor, output_size: Any, n: int) -> list[int]:
    raw = output_size if isinstance(output_size, (list, tuple)) else [output_size] * n
    if len(raw) == 1:
        raw = list(raw) * n
    return [int(x.shape[-n + i]) if v is None else int(v) for i, v in enumerate(raw)]


def _bins_step(call: Call, x: torch.Tensor, a: dict[str, Any], n: int) -> Step:
    outs = _adaptive_out(x, a["output_size"], n)
    parts = []
    for i, dim in enumerate(_spatial(n)):
        h, o = int(x.shape[-n + i]), outs[i]
        bins = [f"[{(j * h) // o}, {-(-(j + 1) * h // o)})" for j in range(min(o, 4))]
        if o > 4:
            bins.append("…")
        parts.append(f"{dim}: {h} → {o}: " + " ".join(bins))
    return Step(
        t("conv.bins.title"),
        f"{call.code or call.name}.shape",
        None,
        t("conv.bins.note", lines="; ".join(parts)),
    )


def _predicted_shape(kind: str, x: torch.Tensor, a: dict[str, Any], g: Geometry) -> list[int]:
    spatial = [out_size(g, i) for i in range(g.n)]
    lead = [int(x.shape[0])] if g.batched else []
    if kind == "conv":
        return [*lead, int(a["weight"].shape[0]), *spatial]
    if kind == "conv_transpose":
        groups = int(a["groups"]) if isinstance(a["groups"], int) else 1
        return [*lead, int(a["weight"].shape[1]) * groups, *spatial]
    if kind == "unfold":
        c = int(x.shape[-3])
        return [*lead, c * math.prod(g.kernel), math.prod(spatial)]
    if kind == "fold":
        c = int(x.shape[-2]) // math.prod(g.kernel)
        return [*lead, c, *g.size]
    return [*[int(s) for s in x.shape[: -g.n]], *spatial]


# --- one element by hand --------------------------------------------------------------------


class _Reader:
    """One sample's values, read element by element: a hand check reads its window only, so a
    large input costs no more than its kernel (a tolist() of the whole would not)."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x.detach()

    def at(self, channel: int, pos: Sequence[int]) -> float:
        return float(self.x[(channel, *pos)].item())


def _at(values: Any, index: Sequence[int]) -> Any:
    for i in index:
        values = values[i]
    return values


def _pick(out: Sequence[int], g: Geometry) -> tuple[int, ...]:
    """The first output position when its whole window is inside the input, else the middle."""
    first = tuple(0 for _ in out)
    if all(g.padding[i] == 0 for i in range(len(out))) or g.kind == "conv_transpose":
        return first
    return tuple((o - 1) // 2 for o in out)


def _element(
    kind: str, n: int, x: torch.Tensor, a: dict[str, Any], g: Geometry | None, y: torch.Tensor, call: Call
) -> tuple[Step, Check] | None:
    if y.numel() == 0 or x.is_complex():
        return None
    lead: tuple[int, ...] = (0,) if x.dim() == n + 2 else ()
    xs = _Reader(x[0] if lead else x)
    spatial_out = tuple(int(s) for s in y.shape[-n:])
    name = call.codes[0] if call.codes else "x"
    eps = eps_of(str(y.dtype).removeprefix("torch."))
    if kind.startswith("adaptive"):
        pos = tuple(0 for _ in spatial_out)
        bins: list[range] = []
        for i in range(n):
            h, o = int(x.shape[-n + i]), spatial_out[i]
            bins.append(range((pos[i] * h) // o, -(-(pos[i] + 1) * h // o)))
        values = [xs.at(0, p) for p in itertools.product(*bins)]
        return _pool_check(kind.removeprefix("adaptive_"), name, lead, pos, values, len(values), y, call, eps)
    if g is None or kind == "fold":
        return None
    if kind == "unfold":
        return _unfold_check(x, g, xs, lead, y, call, eps)
    pos = _pick(spatial_out, g)
    if kind in ("max_pool", "avg_pool", "lp_pool"):
        full = 1
        windows: list[list[int]] = []
        for i in range(n):
            start = pos[i] * g.stride[i] - g.padding[i]
            d = g.dilation[i]
            idx = [start + j * d for j in range(g.kernel[i])]
            windows.append([v for v in idx if 0 <= v < g.size[i]])
            end = min(start + g.kernel[i], g.size[i] + g.padding[i])
            full *= end - start
        values = [xs.at(0, p) for p in itertools.product(*windows)]
        divisor = full if a.get("count_include_pad", True) else len(values)
        if a.get("divisor_override"):
            divisor = int(a["divisor_override"])
        return _pool_check(kind, name, lead, pos, values, divisor, y, call, eps, a.get("norm_type"))
    return _conv_check(kind, n, x, a, g, xs, lead, pos, y, call, eps)


def _pool_check(
    kind: str,
    name: str,
    lead: tuple[int, ...],
    pos: tuple[int, ...],
    values: list[float],
    divisor: int,
    y: torch.Tensor,
    call: Call,
    eps: float,
    norm_type: Any = None,
) -> tuple[Step, Check] | None:
    if not values:
        return None
    index = (*lead, 0, *pos)
    shown = [fmt_num(v) for v in values]
    few = shown if len(shown) <= 8 else [*shown[:6], "...", shown[-1]]  # Python: ... is Ellipsis
    listed = ", ".join(few)
    torch_value = float(y.detach()[index].item())
    if kind == "max_pool":
        manual = math.nan if any(math.isnan(v) for v in values) else max(values)
        expression = f"max({listed})"
    elif kind == "avg_pool":
        manual = sum(values) / divisor
        expression = f"({' + '.join(few)}) / {divisor}"
    else:
        p = float(norm_type)
        total = sum(v**p for v in values)
        manual = total ** (1 / p) if total >= 0 else (total if p == 1 else math.nan)
        powers = " + ".join(v if v == "..." else f"{v}^{fmt_num(p)}" for v in few)
        expression = f"({powers})^(1/{fmt_num(p)})"
    where = ", ".join(str(i) for i in index)
    ok = agrees(manual, torch_value, max(abs(v) for v in values) * len(values), len(values), eps)
    check = Check(t("conv.check.element", index=where), expression, manual, torch_value, ok)
    note = t(f"conv.window.{kind}", count=len(values), values=listed, index=where, value=fmt_num(torch_value))
    return Step(t("conv.window.title", index=where), f"{call.code or call.name}[{where}]", None, note), check


def _conv_check(
    kind: str,
    n: int,
    x: torch.Tensor,
    a: dict[str, Any],
    g: Geometry,
    xs: _Reader,
    lead: tuple[int, ...],
    pos: tuple[int, ...],
    y: torch.Tensor,
    call: Call,
    eps: float,
) -> tuple[Step, Check]:
    w, b = a["weight"], a["bias"]
    groups = int(a["groups"]) if isinstance(a["groups"], int) else 1
    oc = 0
    pairs: list[tuple[float, float]] = []
    names: list[str] = []
    xname = call.codes[0] if call.codes else "x"
    wname = call.codes[1] if len(call.codes) > 1 else "weight"
    kernel_positions = list(itertools.product(*(range(k) for k in g.kernel)))
    if kind == "conv":
        per = int(w.shape[1])
        group = oc // (int(w.shape[0]) // groups)
        ws = w[oc].detach().double().tolist()  # one output channel's kernel, not the whole weight
        for icl in range(per):
            ic = group * per + icl
            for kp in kernel_positions:
                src = [pos[i] * g.stride[i] - g.padding[i] + kp[i] * g.dilation[i] for i in range(n)]
                if all(0 <= s < g.size[i] for i, s in enumerate(src)):
                    pairs.append((xs.at(ic, src), _at(ws[icl], kp)))
                    names.append(_idx(xname, (*lead, ic, *src)) + "*" + _idx(wname, (oc, icl, *kp)))
    else:  # transposed: input position i feeds output o = i·stride − padding + k·dilation
        per_out = int(w.shape[1])
        cin_group = int(w.shape[0]) // groups
        group = oc // per_out
        ws = w[:, oc % per_out].detach().double().tolist()
        for ic in range(group * cin_group, (group + 1) * cin_group):
            for kp in kernel_positions:
                src = []
                for i in range(n):
                    num = pos[i] + g.padding[i] - kp[i] * g.dilation[i]
                    src.append(num // g.stride[i] if num % g.stride[i] == 0 else -1)
                if all(0 <= s < g.size[i] for i, s in enumerate(src)):
                    pairs.append((xs.at(ic, src), _at(ws[ic], kp)))
                    names.append(_idx(xname, (*lead, ic, *src)) + "*" + _idx(wname, (ic, oc % per_out, *kp)))
    bias = float(b.detach().double()[oc].item()) if b is not None else None
    manual = sum(p * q for p, q in pairs) + (bias or 0.0)
    index = (*lead, oc, *pos)
    where = ", ".join(str(i) for i in index)
    torch_value = float(y.detach()[index].item())
    magnitude = sum(abs(p * q) for p, q in pairs) + abs(bias or 0.0)
    ok = agrees(manual, torch_value, magnitude, len(pairs) + 1, eps)
    from tensorshape_cli.ops._common import written_sum

    check = Check(
        t("conv.check.element", index=where), written_sum(pairs, bias) or "0", manual, torch_value, ok
    )
    bname = call.codes[2] if len(call.codes) > 2 else "bias"
    symbolic = _elided(names + ([f"{bname}[{oc}]"] if bias is not None else []))
    note = t("conv.element.note", index=where, terms=len(pairs), sum=symbolic)
    if len(pairs) < (int(w.shape[0]) if kind == "conv_transpose" else int(w.shape[1])) * math.prod(g.kernel):
        note += " " + t("conv.element.padding")
    return Step(t("conv.element.title", index=where), f"{call.code or call.name}[{where}]", None, note), check


def _unfold_check(
    x: torch.Tensor, g: Geometry, xs: _Reader, lead: tuple[int, ...], y: torch.Tensor, call: Call, eps: float
) -> tuple[Step, Check]:
    """unfold copies: y[n, c·∏k + kernel offset, block] is one input value (0 in the padding)."""
    blocks = [out_size(g, i) for i in range(g.n)]
    block = [b // 2 for b in blocks]
    column = sum(b * math.prod(blocks[i + 1 :]) for i, b in enumerate(block))
    src = [block[i] * g.stride[i] - g.padding[i] for i in range(g.n)]
    inside = all(0 <= v < g.size[i] for i, v in enumerate(src))
    manual = xs.at(0, src) if inside else 0.0
    index = (*lead, 0, column)
    where = ", ".join(str(i) for i in index)
    torch_value = float(y.detach()[index].item())
    name = call.codes[0] if call.codes else "x"
    source = _idx(name, (*lead, 0, *src)) if inside else "0"
    check = Check(
        t("conv.check.element", index=where),
        source,
        manual,
        torch_value,
        agrees(manual, torch_value, abs(manual), 1, eps),
    )
    note = t("conv.unfold.note", index=where, block=", ".join(map(str, block)), source=source)
    return Step(t("conv.window.title", index=where), f"{call.code or call.name}[{where}]", None, note), check


def _idx(name: str, index: Sequence[int]) -> str:
    return f"{name}[{','.join(str(i) for i in index)}]"


def _elided(terms: list[str]) -> str:
    return " + ".join(elide_terms(terms, gap="…"))


# --- failures ---------------------------------------------------------------------------------


def _torch_says(text: str) -> str:
    return t("conv.torch_says", message=text)


def _diagnose(
    kind: str, n: int, x: torch.Tensor, a: dict[str, Any], g: Geometry | None, said: str, name: str
) -> OpError | None:
    """Which rule torch's refusal broke, told from the shapes, with the fix in code."""
    op = _op_name(kind, n)
    quoted = _torch_says(said)
    ranks = {"unfold": (3, 4), "fold": (2, 3)}.get(kind, (n + 1, n + 2))
    if x.dim() not in ranks:
        return OpError(
            "conv_rank",
            t(
                "conv.rank",
                name=name,
                op=op,
                lo=ranks[0],
                hi=ranks[1],
                n=x.dim(),
                shape=fmt_shape(x.shape),
                lo_dims=_dims_text(kind, n, False),
                hi_dims=_dims_text(kind, n, True),
            )
            + " "
            + quoted,
            _rank_hint(kind, n, x, name),
        )
    if kind in ("conv", "conv_transpose"):
        w = a["weight"]
        groups = a["groups"] if isinstance(a["groups"], int) else 1
        if w.dim() != n + 2:
            return OpError(
                "conv_weight_rank",
                t("conv.weight_rank", op=op, n=n + 2, got=w.dim(), shape=fmt_shape(w.shape)) + " " + quoted,
                t("conv.weight_rank.hint", n=n),
            )
        cin = int(x.shape[-n - 1])
        out = int(w.shape[0]) if kind == "conv" else int(w.shape[1]) * groups
        if kind == "conv" and groups > 0 and int(w.shape[0]) % groups:
            return OpError(
                "conv_groups",
                t("conv.groups.out", groups=groups, out=w.shape[0]) + " " + quoted,
                _groups_hint(n, cin, int(w.shape[0]), g),
            )
        expected = int(w.shape[1]) * groups if kind == "conv" else int(w.shape[0])
        if cin != expected:
            return OpError(
                "conv_channels",
                _channels_message(kind, n, x, w, groups, cin, expected, name) + " " + quoted,
                _channels_hint(kind, n, x, cin, expected, out, groups, g, name),
            )
        b = a["bias"]
        if b is not None and tuple(b.shape) != (out,):
            return OpError(
                "conv_bias",
                t("conv.bias", shape=fmt_shape(b.shape), out=out) + " " + quoted,
                t("conv.bias.hint", out=out),
            )
        if g is not None and g.padding_text == "same" and any(s != 1 for s in g.stride):
            fit = _fmt_arg([d * (k - 1) // 2 for d, k in zip(g.dilation, g.kernel, strict=True)])
            return OpError(
                "conv_same_stride",
                t("conv.same_stride", stride=_fmt_arg(g.stride)) + " " + quoted,
                t("conv.same_stride.hint", padding=fit),
            )
    if g is None or not g.size:
        return None
    if kind == "fold":
        return _fold_error(x, g, quoted, name)
    if kind in ("max_pool", "avg_pool") and any(2 * p > k for p, k in zip(g.padding, g.kernel, strict=True)):
        half = _fmt_arg([k // 2 for k in g.kernel])
        return OpError(
            "pool_padding",
            t("conv.pool_padding", padding=_fmt_arg(g.padding), kernel=_fmt_arg(g.kernel)) + " " + quoted,
            t("conv.pool_padding.hint", padding=half),
        )
    bad = [i for i in range(n) if out_size(g, i) <= 0]
    if bad:
        return _size_error(kind, g, bad, quoted)
    return None


def _fold_error(x: torch.Tensor, g: Geometry, quoted: str, name: str) -> OpError | None:
    """fold's input is (N, C×∏kernel, L): dim -2 a multiple of ∏kernel, L the number of blocks."""
    k = math.prod(g.kernel)
    rows, got = int(x.shape[-2]), int(x.shape[-1])
    if rows % k:
        return OpError(
            "fold_channels",
            t(
                "conv.fold.channels",
                name=name,
                rows=rows,
                shape=fmt_shape(x.shape),
                kernel=fmt_shape(g.kernel),
                k=k,
            )
            + " "
            + quoted,
            t("conv.fold.channels.hint", k=k, low=rows // k * k, high=(rows // k + 1) * k),
        )
    blocks = [out_size(g, i) for i in range(g.n)]
    if math.prod(blocks) != got:
        lines = "; ".join(f"{d}: {formula(g, i)}" for i, d in enumerate(_spatial(g.n)))
        return OpError(
            "fold_blocks",
            t(
                "conv.fold.blocks",
                name=name,
                got=got,
                shape=fmt_shape(x.shape),
                size=fmt_shape(g.size),
                need=" × ".join(map(str, blocks)),
                total=math.prod(blocks),
                lines=lines,
            )
            + " "
            + quoted,
            t("conv.fold.blocks.hint", name=name, total=math.prod(blocks), got=got),
        )
    return None


def _dims_text(kind: str, n: int, batched: bool) -> str:
    if kind == "fold":
        names: tuple[str, ...] = ("C×∏k", "L")
    else:
        names = ("C", *_spatial(n))
    return "(" + ", ".join(("N", *names) if batched else names) + ")"


def _rank_hint(kind: str, n: int, x: torch.Tensor, name: str) -> str:
    lo = 2 if kind == "fold" else (3 if kind == "unfold" else n + 1)
    if x.dim() == lo - 1:
        return t(
            "conv.rank.hint_missing",
            name=name,
            one=fmt_shape((1, *x.shape)),
            both=fmt_shape((1, 1, *x.shape)),
        )
    ones = [d for d in range(x.dim()) if x.shape[d] == 1]
    if x.dim() == lo + 2 and ones:
        squeezed = fmt_shape([s for d, s in enumerate(x.shape) if d != ones[-1]])
        return t("conv.rank.hint_squeeze", name=name, dim=ones[-1], shape=squeezed)
    if x.dim() > lo + 1:
        extra = x.dim() - lo - 1
        merged = fmt_shape((math.prod(x.shape[: extra + 1]), *x.shape[extra + 1 :]))
        return t("conv.rank.hint_extra", name=name, end=extra, shape=merged)
    return t("conv.rank.hint_other", name=name, op=f"conv{x.dim() - 2}d" if 1 <= x.dim() - 2 <= 3 else "")


def _channels_message(
    kind: str, n: int, x: torch.Tensor, w: torch.Tensor, groups: int, cin: int, expected: int, name: str
) -> str:
    dim = x.dim() - n - 1
    if kind == "conv":
        return t(
            "conv.channels",
            name=name,
            cin=cin,
            dim=dim,
            shape=fmt_shape(x.shape),
            wshape=fmt_shape(w.shape),
            per=w.shape[1],
            groups=groups,
            expected=expected,
        )
    return t(
        "conv.channels.transposed",
        name=name,
        cin=cin,
        dim=dim,
        shape=fmt_shape(x.shape),
        wshape=fmt_shape(w.shape),
        expected=expected,
    )


def _channels_hint(
    kind: str,
    n: int,
    x: torch.Tensor,
    cin: int,
    expected: int,
    out: int,
    groups: int,
    g: Geometry | None,
    name: str,
) -> str:
    batched = x.dim() == n + 2
    fixes = []
    if int(x.shape[-1]) == expected:  # channels last (N, H, W, C), as images load
        order = (0, n + 1, *range(1, n + 1)) if batched else (n, *range(n))
        fixes.append(t("conv.hint.permute", name=name, order=", ".join(map(str, order)), c=expected))
    if cin == 1 and expected == 3:
        sizes = ", ".join(["-1", "3", *(["-1"] * n)] if batched else ["3", *(["-1"] * n)])
        fixes.append(t("conv.hint.expand", name=name, sizes=sizes))
    if not batched and expected == 1:
        fixes.append(t("conv.hint.unsqueeze1", name=name, shape=fmt_shape((x.shape[0], 1, *x.shape[1:]))))
    layer = "Conv" if kind == "conv" else "ConvTranspose"
    kernel = _fmt_arg(g.kernel) if g is not None else "kernel_size"
    extra = f", groups={groups}" if groups != 1 and cin % groups == 0 else ""
    fixes.append(t("conv.hint.layer", layer=f"nn.{layer}{n}d({cin}, {out}, {kernel}{extra})", cin=cin))
    return t("conv.hint.or").join(fixes)


def _groups_hint(n: int, cin: int, out: int, g: Geometry | None) -> str:
    common = math.gcd(cin, out)
    choices = [d for d in range(1, common + 1) if common % d == 0]
    kernel = _fmt_arg(g.kernel) if g is not None else "3"
    best = choices[-1]
    return t(
        "conv.groups.hint",
        cin=cin,
        out=out,
        choices=", ".join(map(str, choices)),
        layer=f"nn.Conv{n}d({cin}, {out}, {kernel}, groups={best})",
    )


def _size_error(kind: str, g: Geometry, bad: list[int], quoted: str) -> OpError:
    dims = _spatial(g.n)
    parts = []
    kernels, paddings = list(g.kernel), list(g.padding)
    for i in bad:
        h, k, p, d = g.size[i], g.kernel[i], g.padding[i], g.dilation[i]
        parts.append(
            t(
                "conv.size.dim",
                dim=dims[i],
                h=h,
                p=p,
                padded=h + 2 * p,
                d=d,
                k=k,
                span=d * (k - 1) + 1,
                formula=formula(g, i),
            )
        )
        kernels[i] = max(1, (h + 2 * p - 1) // d + 1)
        paddings[i] = -(-(d * (k - 1) + 1 - h) // 2)
    if kind == "conv_transpose":
        return OpError(
            "conv_transpose_size",
            t("conv.size.transposed", dims="; ".join(parts)) + " " + quoted,
            t("conv.size.transposed.hint"),
        )
    which = "conv_kernel_size" if kind == "conv" else "pool_output_size"
    hint = t("conv.size.hint", kernel=_fmt_arg(kernels), padding=_fmt_arg(paddings))
    if kind in ("max_pool", "avg_pool") and any(2 * p > k for p, k in zip(paddings, g.kernel, strict=True)):
        hint = t("conv.size.hint_kernel", kernel=_fmt_arg(kernels))
    return OpError(which, t("conv.size.error", dims="; ".join(parts)) + " " + quoted, hint)


# --- the commands: tshape conv2d, maxpool2d, avgpool2d and their 1d/3d siblings ----------------------


def parse_ints(text: str | None, n: int, what: str, minimum: int, words: tuple[str, ...] = ()) -> Any:
    """'3' → (3,)*n, '3,5' → (3, 5), a word of `words` as is; InputError (exit 2) otherwise."""
    if text is None:
        return None
    text = text.strip()
    if text in words:
        return text
    try:
        values = tuple(int(v) for v in text.replace("(", "").replace(")", "").split(",") if v.strip())
    except ValueError:
        raise InputError(_ints_error(what, text, n, minimum, words)) from None
    if len(values) == 1:
        values = values * n
    if len(values) != n or any(v < minimum for v in values) or any(v > 2**31 for v in values):
        raise InputError(_ints_error(what, text, n, minimum, words))
    return values


def _ints_error(what: str, text: str, n: int, minimum: int, words: tuple[str, ...]) -> str:
    message = t("conv.cli.ints", what=what, text=text, n=n, minimum=minimum)
    return message + (" " + t("conv.cli.words", words=", ".join(words)) if words else "")


def command_conv(
    x: torch.Tensor,
    n: int,
    *,
    out_channels: int,
    kernel_size: str,
    stride: str | None,
    padding: str | None,
    dilation: str | None,
    groups: int,
    bias: bool,
    in_channels: int | None,
    seed: int,
) -> Explanation:
    """`tshape conv2d X --out-channels C --kernel-size K …`: a real nn.ConvNd under --seed."""
    import torch
    from torch import nn

    k = parse_ints(kernel_size, n, "--kernel-size", 1)
    s = parse_ints(stride, n, "--stride", 1) or (1,) * n
    p = parse_ints(padding, n, "--padding", 0, ("same", "valid")) or (0,) * n
    d = parse_ints(dilation, n, "--dilation", 1) or (1,) * n
    if out_channels < 1 or groups < 1:
        raise InputError(t("conv.cli.positive"))
    cin = in_channels if in_channels is not None else (int(x.shape[-n - 1]) if x.dim() >= n + 1 else 1)
    layer = _layer_text(f"Conv{n}d", cin, out_channels, k, s, p, d, groups, bias)
    if cin % groups or out_channels % groups:
        ex = Explanation(
            op=f"conv{n}d", call=f"{layer}(x)", title=t("conv.title", op=f"conv{n}d"), inputs={"x": info(x)}
        )
        ex.error = OpError(
            "conv_groups",
            t("conv.groups.both", groups=groups, cin=cin, out=out_channels),
            _groups_hint(n, cin, out_channels, None).replace(", 3,", f", {_fmt_arg(k)},"),
        )
        return ex
    meta = x.device.type == "meta"
    if not meta:
        check_size((out_channels, cin // groups, *k), "weight")
    x = x if x.is_floating_point() else x.float()
    settings.seed_generator(seed)  # the CPU generator nn.ConvNd's init draws from
    m = getattr(nn, f"Conv{n}d")(
        cin, out_channels, k, bias=bias, groups=groups, device="meta" if meta else None, dtype=x.dtype
    )
    fan_in = cin // groups * math.prod(k)
    note = t(
        "conv.layer.note",
        seed=seed,
        bound=fmt_num(1 / math.sqrt(fan_in)),
        fan_in=fan_in,
        wshape=fmt_shape(m.weight.shape),
    )
    fn = getattr(torch.nn.functional, f"conv{n}d")
    kwargs = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    call = Call(
        fn=fn,
        name=f"F.conv{n}d",
        args=(x, m.weight.detach(), None if m.bias is None else m.bias.detach()),
        kwargs=kwargs,
        codes=["x", "m.weight", "m.bias"],
        code="m(x)",
        options={"layer": layer, "layer_note": note},
    )
    _guard(call)
    return explain(call)


def command_pool(
    x: torch.Tensor,
    kind: str,
    n: int,
    *,
    kernel_size: str,
    stride: str | None,
    padding: str | None,
    dilation: str | None = None,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Explanation:
    """`tshape maxpool2d X --kernel-size K …` and `avgpool2d`: F.max_pool2d / F.avg_pool2d."""
    import torch

    if (kind == "avg_pool" and dilation is not None) or (kind == "max_pool" and not count_include_pad):
        option = "--dilation" if kind == "avg_pool" else "--no-count-include-pad"
        raise InputError(t("conv.cli.not_for", option=option, op=f"{kind}{n}d"))
    k = parse_ints(kernel_size, n, "--kernel-size", 1)
    s = parse_ints(stride, n, "--stride", 1) or k
    p = parse_ints(padding, n, "--padding", 0) or (0,) * n
    x = x if x.is_floating_point() else x.float()
    kwargs: dict[str, Any] = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": ceil_mode}
    parts = [_fmt_arg(k), f"stride={_fmt_arg(s)}"]
    if any(p):
        parts.append(f"padding={_fmt_arg(p)}")
    if kind == "max_pool":
        d = parse_ints(dilation, n, "--dilation", 1) or (1,) * n
        kwargs["dilation"] = d
        if any(v != 1 for v in d):
            parts.append(f"dilation={_fmt_arg(d)}")
    else:
        kwargs["count_include_pad"] = count_include_pad
        if not count_include_pad:
            parts.append("count_include_pad=False")
    if ceil_mode:
        parts.append("ceil_mode=True")
    name = f"F.{kind}{n}d"
    call = Call(
        fn=getattr(torch.nn.functional, f"{kind}{n}d"),
        name=name,
        args=(x,),
        kwargs=kwargs,
        codes=["x"],
        code=f"{name}(x, {', '.join(parts)})",
    )
    _guard(call)
    return explain(call)


def _guard(call: Call) -> None:
    """The result's size, before torch allocates it (the command is its own front-end)."""
    import torch

    x = call.args[0]
    if x.device.type == "meta":
        return
    kind, n = _kind_of(call)
    a = _bind(call, kind)
    g = _geometry(kind, n, x, a)
    if g is None or x.dim() not in (n + 1, n + 2) or not isinstance(a.get("weight", x), torch.Tensor):
        return
    if any(out_size(g, i) <= 0 for i in range(n)):
        return
    lead = list(x.shape[: -n - 1])
    channels = int(a["weight"].shape[0]) if kind == "conv" else int(x.shape[-n - 1])
    check_size([*lead, channels, *(out_size(g, i) for i in range(n))], "y")


def _layer_text(
    cls: str, cin: int, out: int, k: tuple[int, ...], s: Any, p: Any, d: Any, groups: int, bias: bool
) -> str:
    parts = [str(cin), str(out), _fmt_arg(k)]
    if any(v != 1 for v in s):
        parts.append(f"stride={_fmt_arg(s)}")
    if isinstance(p, str):
        parts.append(f"padding={p!r}")
    elif any(p):
        parts.append(f"padding={_fmt_arg(p)}")
    if any(v != 1 for v in d):
        parts.append(f"dilation={_fmt_arg(d)}")
    if groups != 1:
        parts.append(f"groups={groups}")
    if not bias:
        parts.append("bias=False")
    return f"nn.{cls}({', '.join(parts)})"


registry.register(
    OpSpec(
        name="conv",
        family="conv",
        explain=explain,
        targets=tuple(TARGETS),
        command="conv2d",
        summary="conv.summary",
    )
)

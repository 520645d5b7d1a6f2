"""layer_norm, batch_norm, group_norm, instance_norm, rms_norm, normalize: which elements are
normalised together, one group's mean and (biased) variance by hand, one output element.

The nn layers (nn.LayerNorm, nn.BatchNorm2d, nn.GroupNorm, …) call these functional forms, so
their calls are explained here too. The hand values are plain Python (float64) over the
group's values, apart from torch's kernel, so each ✓ could be ✗.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.explanation import Check, Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import agrees, eps_of, shape_check, skipped_check, torch_error
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

# Each spelling's parameters in torch's positional order (torch.batch_norm differs from F's).
PARAMS: dict[str, tuple[str, ...]] = {
    "torch.nn.functional.layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "torch.layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "torch.nn.functional.rms_norm": ("input", "normalized_shape", "weight", "eps"),
    "torch.rms_norm": ("input", "normalized_shape", "weight", "eps"),
    "torch.nn.functional.group_norm": ("input", "num_groups", "weight", "bias", "eps"),
    "torch.group_norm": ("input", "num_groups", "weight", "bias", "eps"),
    "torch.nn.functional.batch_norm": (
        "input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps",
    ),
    "torch.batch_norm": (
        "input", "weight", "bias", "running_mean", "running_var", "training", "momentum", "eps",
    ),
    "torch.nn.functional.instance_norm": (
        "input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum", "eps",
    ),
    "torch.instance_norm": (
        "input", "weight", "bias", "running_mean", "running_var", "use_input_stats", "momentum", "eps",
    ),
    "torch.nn.functional.normalize": ("input", "p", "dim", "eps"),
}  # fmt: skip
TARGETS = tuple(PARAMS)
KINDS = ("layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm", "normalize")
# Message ids built at run time: tests check that each is in both catalogs.
RUNTIME_IDS = tuple(f"normalization.{k}.{part}" for k in KINDS for part in ("title", "rule"))


@dataclass
class _Bound:
    kind: str
    x: Any
    x_code: str
    a: dict[str, Any]


def _bind(call: Call) -> _Bound | None:
    fn = getattr(call.fn, "__func__", call.fn)
    path = next((p for p in PARAMS if registry.resolve(p) is fn), None)
    if path is None:
        return None
    a = dict(zip(PARAMS[path], call.args, strict=False))
    a.update(call.kwargs)
    kind = path.rsplit(".", 1)[1]
    return _Bound(kind, a.get("input"), call.codes[0] if call.codes else "x", a)


def _torch_says(error: BaseException | None) -> str:
    return t("normalization.torch_says", torch=torch_error(error).message) if error is not None else ""


def _rule_error(b: _Bound) -> OpError | None:
    """The rules torch checks, checked from the shapes alone (meta kernels skip some)."""
    x, a, shape = b.x, b.a, list(b.x.shape)
    if b.kind in ("layer_norm", "rms_norm"):
        ns = list(a.get("normalized_shape") or [])
        if shape[len(shape) - len(ns) :] != ns or len(ns) > len(shape):
            k = min(len(ns), len(shape)) or 1
            last = shape[-k:]
            layer = "LayerNorm" if b.kind == "layer_norm" else "RMSNorm"
            arg = str(last[0]) if len(last) == 1 else str(tuple(last))
            return OpError(
                "norm_shape",
                t("normalization.shape", ns=fmt_shape(ns), n=len(ns), shape=fmt_shape(shape)),
                t("normalization.shape.hint", code=f"nn.{layer}({arg})", x=b.x_code, k=k),
            )
    if x.dim() < 2 and b.kind in ("batch_norm", "group_norm", "instance_norm"):
        return None  # torch's own message says it
    if b.kind == "group_norm":
        groups, c = a.get("num_groups"), shape[1]
        if isinstance(groups, int) and groups > 0 and c % groups:
            fits = [g for g in range(1, c + 1) if c % g == 0]
            near = min(fits, key=lambda g: (abs(g - groups), g))
            return OpError(
                "group_norm_groups",
                t("normalization.groups", c=c, g=groups),
                t(
                    "normalization.groups.hint",
                    c=c,
                    code=f"nn.GroupNorm({near}, {c})",
                    fits=", ".join(map(str, fits)),
                ),
            )
    if b.kind == "batch_norm":
        c = shape[1]
        for name in ("running_mean", "running_var", "weight", "bias"):
            stat = a.get(name)
            if stat is not None and stat.numel() != c:
                if x.dim() == 3 and shape[2] == stat.numel():
                    hint = t(
                        "normalization.channels.sequence",
                        code=f"nn.BatchNorm1d({shape[2]})({b.x_code}.transpose(1, 2)).transpose(1, 2)",
                    )
                else:
                    hint = t("normalization.channels.hint", code=f"nn.BatchNorm{max(x.dim() - 2, 1)}d({c})")
                return OpError(
                    "batch_norm_channels",
                    t("normalization.channels", name=name, size=stat.numel(), c=c, shape=fmt_shape(shape)),
                    hint,
                )
        if a.get("training") and math.prod(shape) // max(c, 1) == 1 and x.numel():
            return OpError(
                "batch_norm_one_value",
                t("normalization.one_value", shape=fmt_shape(shape)),
                t("normalization.one_value.hint"),
            )
    return None


def explain(call: Call) -> Explanation:
    import torch

    b = _bind(call)
    kind = b.kind if b else "layer_norm"
    ex = _calls.start(call, kind, t(f"normalization.{kind}.title"))
    if b is not None and b.kind in ("batch_norm", "instance_norm"):
        # training updates running_mean/var in place: run on copies, the user's stay as given
        call = replace(call, args=tuple(v.clone() if isinstance(v, torch.Tensor) else v for v in call.args))
        call.kwargs = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in call.kwargs.items()}
    ok, result = _calls.run(ex, call)
    if b is None or not isinstance(b.x, torch.Tensor):
        if ok:
            _calls.result_step(ex, call, result)
        return ex
    rule = _rule_error(b)
    if rule is not None:
        rule.message += _torch_says(None if ok else result)
        ex.error = rule
        return ex
    if not ok or not isinstance(result, torch.Tensor):
        return ex
    y: torch.Tensor = result
    group, together = _group(b)
    ex.steps.append(Step(t("normalization.rule.title"), f"{b.x_code}.shape", None, together))
    _calls.result_step(ex, call, y, t("normalization.result", shape=fmt_shape(y.shape)))
    ex.checks.append(shape_check(t("normalization.check.shape"), list(b.x.shape), list(y.shape)))
    if b.x.device.type == "meta":
        ex.checks.append(skipped_check())
    elif b.x.numel() and b.x.is_floating_point():
        _by_hand(ex, b, group, y)
    return ex


def _group(b: _Bound) -> tuple[Any, str]:
    """The index of the first output element's group in x, and the rule in words."""
    a, shape, n = b.a, list(b.x.shape), b.x.dim()
    rule = f"normalization.{b.kind}.rule"
    if b.kind in ("layer_norm", "rms_norm"):
        k = len(list(a.get("normalized_shape") or []))
        index = (0,) * (n - k) + (slice(None),) * k
        size = math.prod(shape[n - k :])
        return index, t(
            rule, k=k, dims=fmt_shape(shape[n - k :]), size=size, groups=math.prod(shape[: n - k])
        )
    if b.kind == "batch_norm":
        index = (slice(None), 0) + (slice(None),) * (n - 2)
        count = math.prod(shape) // max(shape[1], 1)
        stats = t(
            "normalization.batch_norm.batch" if a.get("training") else "normalization.batch_norm.running"
        )
        return index, t(rule, c=shape[1], count=count) + " " + stats
    if b.kind == "instance_norm":
        return (0, 0) + (slice(None),) * (n - 2), t(rule, n=shape[0], c=shape[1], size=math.prod(shape[2:]))
    if b.kind == "group_norm":
        g = a.get("num_groups")
        per = shape[1] // g
        index = (0, slice(0, per)) + (slice(None),) * (n - 2)
        return index, t(rule, c=shape[1], g=g, per=per, size=per * math.prod(shape[2:]))
    dim = a.get("dim", 1)
    index = tuple(slice(None) if i == dim % max(n, 1) else 0 for i in range(n))
    return index, t(rule, dim=dim, p=fmt_num(a.get("p", 2.0)))


def _by_hand(ex: Explanation, b: _Bound, index: Any, y: torch.Tensor) -> None:
    """The first output element: its group's mean and biased variance, then the formula."""
    import torch

    a = b.a
    xs = b.x.detach()[index] if b.x.dim() else b.x.detach()
    values = [float(v) for v in xs.reshape(-1).tolist()]
    n = len(values)
    first = values[0]
    want = float(y.detach().reshape(-1)[0])
    eps_dtype = eps_of(str(y.dtype).removeprefix("torch."))
    group_code = f"{b.x_code}[{_index_text(index)}]" if b.x.dim() else b.x_code
    if b.kind == "normalize":
        p = float(a.get("p", 2.0))
        eps = float(a.get("eps", 1e-12))
        norm = math.fsum(abs(v) ** p for v in values) ** (1 / p)
        manual = first / max(norm, eps)
        ex.steps.append(
            Step(
                t("normalization.group.title"),
                group_code,
                None,
                t("normalization.norm.note", norm=fmt_num(norm), p=fmt_num(p)),
            )
        )
        expr = f"{fmt_num(first)} / max({fmt_num(norm)}, {fmt_num(eps)})"
        ex.checks.append(
            Check(
                t("check.element", index=", ".join("0" * max(b.x.dim(), 1))),
                expr,
                manual,
                want,
                agrees(manual, want, 1.0, n, eps_dtype),
            )
        )
        return
    w = _first_param(a.get("weight"), 1.0)
    bias = _first_param(a.get("bias"), 0.0)
    if b.kind == "rms_norm":
        given = a.get("eps")
        eps = float(given) if given is not None else float(torch.finfo(b.x.dtype).eps)
        ms = math.fsum(v * v for v in values) / n
        manual = first / math.sqrt(ms + eps) * w
        note = t("normalization.rms.note", n=n, ms=fmt_num(ms), eps=fmt_num(eps))
        expr = f"{fmt_num(first)} / sqrt({fmt_num(ms)} + {fmt_num(eps)}) * {fmt_num(w)}"
    else:
        eps = float(a.get("eps", 1e-5))
        if b.kind == "batch_norm" and not a.get("training"):
            mean = float(a["running_mean"].reshape(-1)[0]) if a.get("running_mean") is not None else 0.0
            var = float(a["running_var"].reshape(-1)[0]) if a.get("running_var") is not None else 1.0
            note = t("normalization.running.note", mean=fmt_num(mean), var=fmt_num(var), eps=fmt_num(eps))
        else:
            mean = math.fsum(values) / n
            var = math.fsum((v - mean) ** 2 for v in values) / n  # biased, as torch normalises
            note = t("normalization.stats.note", n=n, mean=fmt_num(mean), var=fmt_num(var), eps=fmt_num(eps))
            ex.checks.append(
                Check(
                    t("normalization.check.mean"),
                    f"{group_code}.mean()",
                    mean,
                    float(xs.double().mean()),
                    agrees(mean, float(xs.double().mean()), max(map(abs, values)), n, 2.3e-16),
                )
            )
            tv = float(xs.double().var(correction=0))
            ex.checks.append(
                Check(
                    t("normalization.check.var"),
                    f"{group_code}.var(correction=0)",
                    var,
                    tv,
                    agrees(var, tv, max(v * v for v in values) + 1e-300, n, 2.3e-16),
                )
            )
        manual = (first - mean) / math.sqrt(var + eps) * w + bias
        scaled = f"sqrt({fmt_num(var)} + {fmt_num(eps)}) * {fmt_num(w)} + {fmt_num(bias)}"
        expr = f"({fmt_num(first)} - {fmt_num(mean)}) / {scaled}"
    ex.steps.append(Step(t("normalization.group.title"), group_code, None, note))
    magnitude = abs(manual) + abs(w) * 4 + abs(bias) + 1.0
    ex.checks.append(
        Check(
            t("check.element", index=", ".join("0" * max(b.x.dim(), 1))),
            expr,
            manual,
            want,
            agrees(manual, want, magnitude, n, eps_dtype),
        )
    )


def _first_param(p: Any, default: float) -> float:
    """weight[0] or bias[0] (the first element's channel), or what torch uses without one."""
    return float(p.detach().reshape(-1)[0]) if p is not None else default


def _index_text(index: tuple[Any, ...]) -> str:
    parts = []
    for i in index:
        if isinstance(i, slice):
            parts.append(":" if i.stop is None else f"{i.start or ''}:{i.stop}")
        else:
            parts.append(str(i))
    return ", ".join(parts)


registry.register(
    OpSpec(
        name="layer_norm",
        family="normalization",
        explain=explain,
        targets=TARGETS,
        aliases=("batch_norm", "group_norm", "instance_norm", "rms_norm", "normalize"),
        summary="normalization.summary",
    )
)

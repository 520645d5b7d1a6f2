"""Reductions, sorts and scans: amax, argmax, max/min, std/var, prod, norm, logsumexp, any/all,
topk, sort, kthvalue, median, mode, cumsum, … (x.sum/x.mean have the dedicated reduce op).

One rule for all of them: the reduced dims disappear (or stay with size 1 under keepdim);
a sort or a top-k keeps its dim (k values for topk), a scan keeps every dim. An index result
counts positions along the reduced dim. One slice of the input — the values that make the
first output — is worked through in plain Python (float64) and compared with torch's element,
and an index is traced back: the input value it points to is the value torch returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import agrees, eps_of, shape_check, skipped_check, unravel
from tensorshape_cli.ops._dims import check_dims, negative_note, wrap
from tensorshape_cli.text import MAX_TERMS_SHOWN, elide_terms, fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call

# What each op does to its dims: reduce (dims go), index (argmax: dims go, an index comes),
# pair (values and indices), two (two value outputs), keep (sort, topk), scan (cumsum).
KINDS = ("reduce", "index", "pair", "two", "keep", "scan")


@dataclass(frozen=True)
class Op:
    kind: str
    params: tuple[str, ...]  # positional parameters after the input, as torch names them
    default_dim: Any = None  # None: every dim
    floating: bool = False  # refuses integer inputs


OPS: dict[str, Op] = {
    "amax": Op("reduce", ("dim", "keepdim"), ()),
    "amin": Op("reduce", ("dim", "keepdim"), ()),
    "argmax": Op("index", ("dim", "keepdim")),
    "argmin": Op("index", ("dim", "keepdim")),
    "max": Op("pair", ("dim", "keepdim")),
    "min": Op("pair", ("dim", "keepdim")),
    "std": Op("reduce", ("dim", "unbiased", "keepdim"), floating=True),
    "var": Op("reduce", ("dim", "unbiased", "keepdim"), floating=True),
    "std_mean": Op("two", ("dim", "unbiased", "keepdim"), floating=True),
    "var_mean": Op("two", ("dim", "unbiased", "keepdim"), floating=True),
    "prod": Op("reduce", ("dim", "keepdim")),
    "norm": Op("reduce", ("p", "dim", "keepdim"), floating=True),
    "linalg_norm": Op("reduce", ("ord", "dim", "keepdim"), floating=True),
    "vector_norm": Op("reduce", ("ord", "dim", "keepdim"), floating=True),
    "matrix_norm": Op("reduce", ("ord", "dim", "keepdim"), (-2, -1), floating=True),
    "logsumexp": Op("reduce", ("dim", "keepdim")),
    "any": Op("reduce", ("dim", "keepdim")),
    "all": Op("reduce", ("dim", "keepdim")),
    "count_nonzero": Op("reduce", ("dim",)),
    "nansum": Op("reduce", ("dim", "keepdim")),
    "nanmean": Op("reduce", ("dim", "keepdim"), floating=True),
    "median": Op("pair", ("dim", "keepdim")),
    "nanmedian": Op("pair", ("dim", "keepdim")),
    "mode": Op("pair", ("dim", "keepdim"), -1),
    "kthvalue": Op("pair", ("k", "dim", "keepdim"), -1),
    "aminmax": Op("two", ()),
    "topk": Op("keep", ("k", "dim", "largest", "sorted"), -1),
    "sort": Op("keep", ("dim", "descending"), -1),
    "argsort": Op("keep", ("dim", "descending"), -1),
    "msort": Op("keep", (), 0),
    "cumsum": Op("scan", ("dim",)),
    "cumprod": Op("scan", ("dim",)),
    "logcumsumexp": Op("scan", ("dim",)),
    "cummax": Op("scan", ("dim",)),
    "cummin": Op("scan", ("dim",)),
}

TARGETS: dict[str, tuple[str, ...]] = {
    "linalg_norm": ("torch.linalg.norm",),
    "vector_norm": ("torch.linalg.vector_norm",),
    "matrix_norm": ("torch.linalg.matrix_norm",),
    "norm": ("torch.norm", "torch.functional.norm", "torch.Tensor.norm"),
    "logsumexp": ("torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp"),
    "std_mean": ("torch.std_mean",),
    "var_mean": ("torch.var_mean",),
    "msort": ("torch.msort", "torch.Tensor.msort"),
}

# Message ids built at run time (tests check each is in both catalogs).
RUN_TIME_IDS = (
    *(f"reduction.kind.{k}" for k in KINDS),
    "reduction.gone",
    "reduction.kept_one",
    "reduction.kept",
)

MAX_SHOWN = MAX_TERMS_SHOWN


@dataclass
class Bound:
    dims: list[int]  # the reduced (or sorted, scanned) dims, counted from the start
    keepdim: bool
    params: dict[str, Any]
    given_dims: list[int]  # as the user wrote them, for the range check
    single: bool  # max(x), median(x): one value, no indices


def bind(op: str, call: Call, x: torch.Tensor) -> Bound:
    spec = OPS[op]
    params: dict[str, Any] = {}
    for i, name in enumerate(spec.params):
        value = _calls.arg(call, i + 1, name, None)
        if value is not None:
            params[name] = value
    for key, value in call.kwargs.items():
        params.setdefault(key, value)
    if isinstance(params.get("dim"), bool) and "unbiased" in spec.params:  # std(x, False)
        params["unbiased"] = params.pop("dim")
    dim = params.get("dim", spec.default_dim)
    if dim is None or (isinstance(dim, (tuple, list)) and not dim and spec.default_dim == ()):
        given: list[int] = []
        dims = list(range(x.dim()))
    else:
        given = [int(d) for d in (dim if isinstance(dim, (tuple, list)) else [dim])]
        dims = sorted({w for d in given if (w := wrap(d, x.dim())) is not None and w < max(x.dim(), 0)})
    single = spec.kind == "pair" and "dim" not in params and spec.default_dim is None
    return Bound(dims, bool(params.get("keepdim", False)), params, given, single)


def explain_op(op: str) -> Any:
    def explain(call: Call) -> Explanation:
        return _explain(op, call)

    return explain


def _explain(op: str, call: Call) -> Explanation:
    import torch

    spec = OPS[op]
    shown = {
        "linalg_norm": "linalg.norm",
        "vector_norm": "linalg.vector_norm",
        "matrix_norm": "linalg.matrix_norm",
    }
    name = shown.get(op, op)
    ex = _calls.start(call, name, t(f"reduction.kind.{spec.kind}", op=name))
    named = list(_calls.operands(call))
    ok, result = _calls.run(ex, call)
    if not named:
        return ex
    xname, x = named[0]
    if op in ("max", "min") and len(named) > 1:  # max(a, b): elementwise, not a reduction
        if ok:
            _calls.result_step(ex, call, result, t("reduction.binary", op=op))
        return ex
    b = bind(op, call, x)
    ex.steps.append(_rule_step(op, b, x))
    if not ok:
        ex.error = _error(op, call, b, x, xname, ex.error)
        return ex
    outputs = list(result) if isinstance(result, tuple) else [result]
    note = _outputs_note(op, b, xname)
    _calls.result_step(ex, call, result if isinstance(result, torch.Tensor) else tuple(outputs), note)
    for out, predicted in zip(outputs, _predicted(op, b, x), strict=False):
        if isinstance(out, torch.Tensor):
            ex.checks.append(
                shape_check(t("reduction.check.shape", shape=fmt_shape(x.shape)), predicted, out.shape)
            )
    if x.device.type == "meta":
        ex.checks.append(skipped_check())
    elif x.numel() > 0 and all(isinstance(o, torch.Tensor) and o.numel() > 0 for o in outputs):
        ex.checks.extend(_hand_checks(op, b, x, xname, outputs))
    return ex


def _rule_step(op: str, b: Bound, x: torch.Tensor) -> Step:
    spec = OPS[op]
    rows, marked = [], []
    for d, size in enumerate(x.shape):
        if d not in b.dims:
            verdict = t("reduction.kept")
        elif spec.kind == "scan":
            verdict = t("reduction.scanned")
        elif spec.kind == "keep":
            k = b.params.get("k")
            verdict = t("reduction.sorted") if k is None else t("reduction.topk", k=k)
        elif b.keepdim:
            verdict = t("reduction.kept_one")
        else:
            verdict = t("reduction.gone")
        if d in b.dims:
            marked.append([d, 2])
        rows.append([str(d), str(size), verdict])
    note = t("reduction.rule.reduce") if b.single else t(f"reduction.rule.{spec.kind}")
    if spec.kind in ("reduce", "index", "pair", "two") and not b.single:
        note += " " + (t("reduction.rule.keepdim") if b.keepdim else t("reduction.rule.no_keepdim"))
    if op in ("std", "var", "std_mean", "var_mean"):
        c = _correction(b)
        note += " " + t("reduction.correction", c=fmt_num(c))
    negatives = negative_note(b.given_dims, x.dim())
    table = Table([t("reduction.col.dim"), t("reduction.col.size"), t("reduction.col.verdict")], rows, marked)
    return Step(t("reduction.rule.title"), "x.shape", None, (note + " " + negatives).strip(), table)


def _correction(b: Bound) -> float:
    if "correction" in b.params:
        return float(b.params["correction"])
    return 1.0 if b.params.get("unbiased", True) else 0.0


def _predicted(op: str, b: Bound, x: torch.Tensor) -> list[list[int]]:
    spec, shape = OPS[op], list(x.shape)
    if spec.kind == "scan":
        one = shape
    elif spec.kind == "keep":
        k = b.params.get("k")
        one = [int(k) if (k is not None and d in b.dims) else s for d, s in enumerate(shape)]
    elif b.single:
        one = []
    elif b.keepdim:
        one = [1 if d in b.dims else s for d, s in enumerate(shape)]
    else:
        one = [s for d, s in enumerate(shape) if d not in b.dims]
    return [one, one]


def _outputs_note(op: str, b: Bound, xname: str) -> str:
    spec = OPS[op]
    dims = ", ".join(str(d) for d in b.dims) or "—"
    if op in ("argsort",) or spec.kind == "index":
        return t("reduction.note.index", x=xname, dims=dims)
    if (spec.kind == "pair" and not b.single) or op in ("sort", "topk", "cummax", "cummin"):
        return t("reduction.note.pair", x=xname, dims=dims)
    if spec.kind == "two":
        return t(f"reduction.note.{op}")
    if spec.kind in ("keep", "scan"):
        return t("reduction.note.along", x=xname, dims=dims)
    return t("reduction.note.values", x=xname, dims=dims)


# --- one slice by hand ----------------------------------------------------------------------------


def _slice(x: torch.Tensor, dims: list[int]) -> list[Any]:
    """The values that make the first output: every kept dim at 0, the reduced ones whole,
    in torch's row-major order (the order a flat argmax counts in)."""
    kept = [d for d in range(x.dim()) if d not in dims]
    moved = x.detach().permute(*kept, *dims) if x.dim() else x.detach().reshape(1)
    count = math.prod(x.shape[d] for d in dims) if x.dim() else 1
    return moved.reshape(-1, count)[0].tolist()


def _first(out: torch.Tensor) -> Any:
    return out.detach().reshape(-1)[0].item()


def _first_slice(out: torch.Tensor, dims: list[int]) -> list[Any]:
    return _slice(out, dims) if out.dim() else [out.item()]


def _listed(values: Sequence[Any], sep: str = ", ") -> str:
    return sep.join(elide_terms([fmt_num(v) for v in values], most=MAX_SHOWN))


def _nan(v: Sequence[Any]) -> bool:
    return any(isinstance(a, float) and math.isnan(a) for a in v)


def _manual(op: str, b: Bound, v: list[Any]) -> tuple[Any, str] | None:
    """(the value by hand, how it is written) for the first output of a reducing op."""
    listed = _listed(v)
    n = len(v)
    if op in ("amax", "max"):
        return (math.nan if _nan(v) else max(v)), f"max({listed})"
    if op in ("amin", "min"):
        return (math.nan if _nan(v) else min(v)), f"min({listed})"
    if op == "prod":
        return math.prod(v), _listed(v, "*")
    if op == "nansum":
        kept = [a for a in v if not (isinstance(a, float) and math.isnan(a))]
        return sum(kept), _listed(kept, " + ") or "0"
    if op == "nanmean":
        kept = [a for a in v if not math.isnan(a)]
        return (sum(kept) / len(kept) if kept else math.nan), f"({_listed(kept, ' + ')}) / {len(kept)}"
    if op in ("std", "var"):
        c = _correction(b)
        mean = sum(v) / n
        var = sum((a - mean) ** 2 for a in v) / (n - c) if n - c > 0 else math.nan
        squares = _listed([f"({fmt_num(a)} - {fmt_num(mean)})²" for a in v], " + ")
        text = f"({squares}) / ({n} - {fmt_num(c)})"
        return (math.sqrt(var) if op == "std" and not math.isnan(var) else var), (
            f"sqrt({text})" if op == "std" else text
        )
    if op == "logsumexp":
        m = max(v)
        value = m if math.isinf(m) else m + math.log(sum(math.exp(a - m) for a in v))
        return value, f"log({_listed([f'exp({fmt_num(a)})' for a in v], ' + ')})"
    if op in ("any", "all"):
        truth = [bool(a) for a in v]
        return (any(truth) if op == "any" else all(truth)), f"{op}({listed})"
    if op == "count_nonzero":
        return sum(1 for a in v if a != 0), f"count_nonzero({listed})"
    if op in ("norm", "linalg_norm", "vector_norm", "matrix_norm"):
        p = b.params.get("p" if op == "norm" else "ord")
        if op == "matrix_norm" and p not in (None, "fro"):
            return None
        if (
            op == "linalg_norm"
            and p is not None
            and (len(b.dims) == 2 or (not b.params.get("dim") and p != 2))
        ):
            return None  # a matrix norm other than Frobenius: no sum to write
        p = 2 if p in (None, "fro") else p
        if isinstance(p, str):
            return None
        mags = [abs(a) for a in v]
        if p == math.inf:
            return max(mags), f"max(|{listed}|)"
        if p == -math.inf:
            return min(mags), f"min(|{listed}|)"
        if p == 0:
            return float(sum(1 for a in mags if a != 0)), f"count_nonzero({listed})"
        total = sum(a**p for a in mags)
        return total ** (
            1 / p
        ), f"({_listed([f'|{fmt_num(a)}|^{fmt_num(p)}' for a in v], ' + ')})^(1/{fmt_num(p)})"
    if op in ("median", "nanmedian"):
        kept = [a for a in v if not math.isnan(a)] if op == "nanmedian" else v
        if op == "median" and _nan(v):
            return math.nan, f"median({listed})"
        s = sorted(kept)
        return (s[(len(s) - 1) // 2] if s else math.nan), f"sorted({_listed(s)})[{(len(s) - 1) // 2}]"
    if op == "mode":
        counts: dict[Any, int] = {}
        for a in v:
            counts[a] = counts.get(a, 0) + 1
        top = max(counts.values())
        return min(a for a, c in counts.items() if c == top), f"mode({listed})"
    if op == "kthvalue":
        k = int(b.params["k"])
        return sorted(v)[k - 1], f"sorted({_listed(sorted(v))})[{k} - 1]"
    return None


def _hand_checks(op: str, b: Bound, x: torch.Tensor, xname: str, outputs: list[Any]) -> list[Check]:
    spec = OPS[op]
    eps = eps_of(dtype_name(x.dtype if x.is_floating_point() else outputs[0].dtype))
    index = [0] * outputs[0].dim()
    label = t("check.element", index=fmt_index(index)) if index else t("check.whole")
    if spec.kind in ("keep", "scan"):
        return _along_checks(op, b, x, xname, outputs, eps)
    v = _slice(x, b.dims)
    checks: list[Check] = []
    if spec.kind == "two":  # aminmax: (min, max); std_mean, var_mean: (std or var, mean)
        parts = ("amin", "amax") if op == "aminmax" else (op.split("_")[0], "mean")
        for sub, out in zip(parts, outputs, strict=True):
            if sub == "mean":
                made: tuple[Any, str] | None = (sum(v) / len(v), f"({_listed(v, ' + ')}) / {len(v)}")
            else:
                made = _manual(sub, b, v)
            if made is not None:
                checks.append(_check(label, made[1], made[0], _first(out), v, eps))
        return checks
    if spec.kind == "index":
        best = max(v) if op == "argmax" else min(v)
        at = next((i for i, a in enumerate(v) if a == best or (isinstance(a, float) and math.isnan(a))), 0)
        got = int(_first(outputs[0]))
        checks.append(Check(label, f"{op}({_listed(v)})", at, got, at == got))
        checks.append(_trace(xname, x, b, got, v, best))
        return checks
    made = _manual(op, b, v)
    if made is not None:
        checks.append(_check(label, made[1], made[0], _first(outputs[0]), v, eps))
    if spec.kind == "pair" and not b.single and len(outputs) == 2:
        got = int(_first(outputs[1]))
        checks.append(_trace(xname, x, b, got, v, _first(outputs[0])))
    return checks


def _check(label: str, expression: str, manual: Any, computed: Any, v: list[Any], eps: float) -> Check:
    if isinstance(manual, bool) or isinstance(computed, bool):
        return Check(label, expression, manual, computed, bool(manual) == bool(computed))
    magnitude = max([abs(float(a)) for a in v if not math.isnan(float(a))] or [0.0]) * max(len(v), 1)
    if isinstance(manual, float) and (math.isinf(manual) or math.isnan(manual)):
        ok = agrees(manual, float(computed), 0.0, 0, eps)
    else:
        ok = agrees(float(manual), float(computed), magnitude + abs(float(manual)), len(v), max(eps, 1e-15))
    return Check(label, expression, manual, computed, ok)


def _trace(xname: str, x: torch.Tensor, b: Bound, at: int, v: list[Any], value: Any) -> Check:
    """An index points into the reduced dims: the input value there is the value returned."""
    reduced_shape = [x.shape[d] for d in b.dims]
    position = [0] * x.dim()
    for d, i in zip(b.dims, unravel(at, reduced_shape), strict=True):
        position[d] = i
    found = v[at] if 0 <= at < len(v) else math.nan
    same = found == value or (math.isnan(float(found)) and math.isnan(float(value)))
    where = f"{xname}[{fmt_index(position)}]" if position else xname
    return Check(t("reduction.check.index", index=at), where, found, value, bool(same))


def _along_checks(
    op: str, b: Bound, x: torch.Tensor, xname: str, outputs: list[Any], eps: float
) -> list[Check]:
    """Sorts, top-k and scans keep their dim: the first slice along it, by hand."""
    d = b.dims[0] if b.dims else 0
    v = _slice(x, [d]) if x.dim() else [x.item()]
    got = _first_slice(outputs[0], [d]) if x.dim() else [outputs[0].item()]
    label = t("reduction.check.slice", dim=d)
    checks: list[Check] = []
    if op in ("sort", "msort", "topk", "argsort"):
        desc = bool(b.params.get("descending", False)) or (op == "topk" and b.params.get("largest", True))
        want = sorted(v, reverse=desc)
        if op == "topk":
            want = want[: int(b.params["k"])]
            if not b.params.get("sorted", True):
                got = sorted(got, reverse=desc)
        if op == "argsort":
            picked = [v[int(i)] for i in got]
            checks.append(Check(label, f"{xname}[indices]", _listed(want), _listed(picked), picked == want))
            return checks
        checks.append(
            Check(
                label,
                f"sorted({_listed(v)}{', reverse=True' if desc else ''})",
                _listed(want),
                _listed(got),
                _same_list(want, got, eps),
            )
        )
        if len(outputs) == 2:
            checks.append(_indices_check(outputs[1], d, v, got, xname))
        return checks
    running: list[Any] = []
    acc: Any = None
    for a in v:
        if op == "cumsum":
            acc = a if acc is None else acc + a
        elif op == "cumprod":
            acc = a if acc is None else acc * a
        elif op == "logcumsumexp":
            acc = (
                a
                if acc is None
                else max(acc, a) + math.log1p(math.exp(-abs(acc - a)))
                if not math.isinf(max(acc, a))
                else max(acc, a)
            )
        elif op == "cummax":
            acc = a if acc is None or a >= acc or math.isnan(a) else acc
        else:
            acc = a if acc is None or a <= acc or math.isnan(a) else acc
        running.append(acc)
    sign = {"cumsum": " + ", "cumprod": "*"}.get(op)
    expression = _listed(v, sign) if sign else f"{op}({_listed(v)})"
    manual_last, torch_last = running[-1], got[-1]
    checks.append(_check(label, expression, manual_last, torch_last, v, eps))
    if len(outputs) == 2:
        checks.append(_indices_check(outputs[1], d, v, got, xname))
    return checks


def _indices_check(indices: Any, d: int, v: list[Any], got: list[Any], xname: str) -> Check:
    """The input's values read at the returned indices are the values returned."""
    picked = [v[int(i)] for i in _first_slice(indices, [d])]
    return Check(
        t("reduction.check.indices", dim=d), f"{xname}[indices]", _listed(picked), _listed(got), picked == got
    )


def _same_list(a: list[Any], b: list[Any], eps: float) -> bool:
    return len(a) == len(b) and all(
        p == q or (isinstance(p, float) and math.isnan(p) and math.isnan(q)) or abs(p - q) <= 2 * eps * abs(p)
        for p, q in zip(a, b, strict=True)
    )


# --- failures -----------------------------------------------------------------------------------


def _with_float(call: Call, xname: str) -> str:
    """The user's call with its input converted: `x.std(0)` → `x.float().std(0)`."""
    code = call.code or call.name
    return re.sub(rf"(?<![\w.]){re.escape(xname)}(?!\w)", f"{xname}.float()", code, count=1)


def _error(
    op: str, call: Call, b: Bound, x: torch.Tensor, xname: str, theirs: OpError | None
) -> OpError | None:
    said = theirs.message if theirs is not None else ""
    bad = check_dims(b.given_dims, x.dim())
    if bad is not None and bad.kind == "dim_out_of_range":
        lo, hi = -max(x.dim(), 1), max(x.dim(), 1) - 1
        given = next(d for d in b.given_dims if wrap(d, x.dim()) is None)
        return OpError(
            "dim_out_of_range",
            t(
                "reduction.dim_range",
                x=xname,
                dim=given,
                shape=fmt_shape(x.shape),
                n=x.dim(),
                lo=lo,
                hi=hi,
                torch=said,
            ),
            t("reduction.dim_range.hint", lo=lo, hi=hi, last=hi),
        )
    if OPS[op].floating and not (x.is_floating_point() or x.is_complex()):
        return OpError(
            "reduction_dtype",
            t("reduction.dtype", op=op, x=xname, dtype=dtype_name(x.dtype), torch=said),
            t("reduction.dtype.hint", code=_with_float(call, xname)),
        )
    k = b.params.get("k")
    if op in ("topk", "kthvalue") and isinstance(k, int) and x.dim():
        d = b.dims[0] if b.dims else x.dim() - 1
        size = x.shape[d]
        low = 0 if op == "topk" else 1
        if not low <= k <= size:
            fixed = (
                re.sub(r"(?<=\()\s*" + str(k) + r"\b", str(size), call.code or "", count=1)
                if op == "topk"
                else ""
            )
            return OpError(
                f"{op}_k",
                t(f"reduction.{op}_k", x=xname, k=k, dim=d, size=size, torch=said),
                t(f"reduction.{op}_k.hint", size=size, code=fixed or f"{xname}.{op}({size}, dim={d})"),
            )
    return theirs


# --- registration -------------------------------------------------------------------------------


def _targets(op: str) -> tuple[str, ...]:
    if op in TARGETS:
        return TARGETS[op]
    return (f"torch.{op}", f"torch.Tensor.{op}")


for _op in OPS:
    registry.register(
        registry.OpSpec(
            name=f"reduction.{_op}",
            family="reduction",
            explain=explain_op(_op),
            targets=_targets(_op),
            summary="reduction.summary",
        )
    )

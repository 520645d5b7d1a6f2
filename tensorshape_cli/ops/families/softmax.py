"""softmax, log_softmax and softmin: along which dim the outputs sum to 1, one slice by hand.

Every spelling torch has (torch., F., Tensor methods, torch.special.) runs the same kernel:
exp(v - max) / sum(exp(v - max)) over the slices along `dim`. The explanation works the first
slice out in plain Python (float64) and checks each quotient against torch's, then checks that
every slice of torch's result sums to 1 (for log_softmax: the exps of the outputs).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import (
    agrees,
    eps_of,
    shape_check,
    skipped_check,
    tolerance,
    torch_error,
)
from tensorshape_cli.ops._dims import dim_range, negative_note, wrap
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import elide_terms, fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

TARGETS = (
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.special.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.special.log_softmax",
    "torch.nn.functional.softmin",
)
HOW = ("softmax", "log_softmax", "softmin")
# Message ids built at run time: tests check that each is in both catalogs.
RUNTIME_IDS = tuple(
    f"softmax.{how}.{part}" for how in HOW for part in ("title", "rule", "slice_note", "quotients")
)
HAND_CHECKS = 6
# exp(v) of the notebook's written sum stays finite in every float dtype below this
EXP_SAFE = 10.0


@dataclass
class _Form:
    how: str  # softmax | log_softmax | softmin
    x: Any  # the input tensor
    x_code: str
    dim: int | None  # as given (None: F.softmax picks one)
    dtype: Any  # the dtype= torch casts to first, or None
    method: bool  # x.softmax(...) rather than a function


def _form(call: Call) -> _Form:
    import torch

    fn = call.fn
    name = getattr(fn, "__name__", "")
    how = "log_softmax" if "log_softmax" in name else "softmin" if "softmin" in name else "softmax"
    method = fn is getattr(torch.Tensor, name, None)
    dim = _calls.arg(call, 1, "dim")
    dtype = call.kwargs.get("dtype")
    if dtype is None:
        dtype = next((a for a in call.args[2:] if isinstance(a, torch.dtype)), None)
    x_code = call.codes[0] if call.codes else "x"
    return _Form(how, _calls.arg(call, 0, "input"), x_code, dim, dtype, method)


def _fixed(form: _Form, call: Call, x_code: str, dim: object) -> str:
    """The call rewritten with another input or dim: `x.float().softmax(dim=1)`."""
    if form.method:
        return f"{x_code}.{form.how}(dim={dim})"
    return f"{call.name}({x_code}, dim={dim})"


def _implicit_dim(n: int) -> int:
    """torch.nn.functional._get_softmax_dim: dim 0 for 0, 1 or 3 dims, else dim 1."""
    return 0 if n in (0, 1, 3) else 1


def _torch_says(error: BaseException | None) -> str:
    return t("softmax.torch_says", torch=torch_error(error).message) if error is not None else ""


def explain(call: Call) -> Explanation:
    import torch

    form = _form(call)
    ex = _calls.start(call, form.how, t(f"softmax.{form.how}.title"))
    x = form.x
    if not isinstance(x, torch.Tensor):
        ok, value = _calls.run(ex, call)
        if ok:
            _calls.result_step(ex, call, value)
        return ex
    n = x.dim()
    dim = form.dim if form.dim is not None else _implicit_dim(n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, result = _calls.run(ex, call)
    error = None if ok else result
    lo, hi = dim_range(n)
    d = wrap(dim, n) if isinstance(dim, int) else None
    if isinstance(dim, int) and d is None:
        ex.error = OpError(
            "softmax_dim",
            t("softmax.dim_range", dim=dim, n=n, shape=fmt_shape(x.shape), lo=lo, hi=hi) + _torch_says(error),
            t("softmax.dim_range.hint", lo=lo, hi=hi, code=_fixed(form, call, form.x_code, -1)),
        )
        return ex
    compute = form.dtype if form.dtype is not None else x.dtype
    if not (compute.is_floating_point or compute.is_complex):
        ex.error = OpError(
            "softmax_dtype",
            t("softmax.dtype", how=form.how, name=form.x_code, dtype=dtype_name(compute))
            + _torch_says(error),
            t("softmax.dtype.hint", code=_fixed(form, call, f"{form.x_code}.float()", dim)),
        )
        return ex
    if not ok or d is None:
        return ex
    y: torch.Tensor = result
    _rule_step(ex, call, form, x, d, dim, caught)
    _calls.result_step(ex, call, y, t("softmax.result", shape=fmt_shape(y.shape), d=d))
    ex.checks.append(shape_check(t("softmax.check.shape"), list(x.shape), list(y.shape)))
    if x.device.type == "meta":
        ex.checks.append(skipped_check())
    elif x.numel() and not x.is_complex():
        _slice_by_hand(ex, call, form, x, y, d)
    return ex


def _rule_step(
    ex: Explanation,
    call: Call,
    form: _Form,
    x: torch.Tensor,
    d: int,
    dim: int,
    caught: list[warnings.WarningMessage],
) -> None:
    shape = list(x.shape) or [1]  # a scalar is one slice of one value
    rows = []
    for i, size in enumerate(shape):
        rows.append([str(i), str(size), t("softmax.col.along" if i == d else "softmax.col.each")])
    slices = math.prod(s for i, s in enumerate(shape) if i != d)
    note = t(f"softmax.{form.how}.rule", d=d, size=shape[d], slices=slices)
    negatives = negative_note([dim], x.dim())
    if negatives:
        note += " " + negatives
    if form.dim is None:
        said = next((str(w.message) for w in caught if "dim" in str(w.message)), "")
        note += " " + t(
            "softmax.implicit", how=form.how, n=x.dim(), d=d, code=f"{call.name}({form.x_code}, dim={d})"
        )
        if said:
            note += t("softmax.torch_says", torch=said)
    table = Table([t("softmax.col.dim"), t("softmax.col.size"), t("softmax.col.role")], rows, [[d, 2]])
    ex.steps.append(Step(t("softmax.rule.title"), f"{form.x_code}.shape", None, note, table))


def _slice_index(n: int, d: int) -> tuple[str, tuple[Any, ...]]:
    """The first slice along d: `[0, :, 0]` and the index torch reads it with."""
    if n <= 1:
        return "", ()
    parts = [":" if i == d else "0" for i in range(n)]
    index = tuple(slice(None) if i == d else 0 for i in range(n))
    return "[" + ", ".join(parts) + "]", index


def _power(v: float, m: float | None) -> str:
    if m is None:
        return f"e^{fmt_num(v)}"
    sign = "-" if m >= 0 else "+"
    return f"e^({fmt_num(v)} {sign} {fmt_num(abs(m))})"


def _listed(values: list[float]) -> str:
    """'1, 2, 3', or the first few and the last of a long slice."""
    return ", ".join(elide_terms([fmt_num(v) for v in values], gap="…"))


def _written(terms: list[str]) -> str:
    return " + ".join(elide_terms(terms))


def _slice_by_hand(
    ex: Explanation, call: Call, form: _Form, x: torch.Tensor, y: torch.Tensor, d: int
) -> None:
    import torch

    where, index = _slice_index(x.dim(), d)
    dtype = form.dtype if form.dtype is not None else x.dtype
    xs = x.detach()[index].to(dtype)
    ys = y.detach()[index]
    sign = -1.0 if form.how == "softmin" else 1.0
    values = [sign * float(v) for v in xs.reshape(-1).tolist()]  # softmin is softmax of -x
    m = max(values)
    shifted = [math.exp(v - m) for v in values]
    total = math.fsum(shifted)
    eps = eps_of(dtype_name(y.dtype))
    count = len(values)
    code = f"{form.x_code}{where}"
    signed = f"-{code}" if form.how == "softmin" else code
    ex.steps.append(
        Step(
            t("softmax.slice.title"),
            signed,
            info(-xs if form.how == "softmin" else xs),
            t("softmax.slice.note", code=signed, d=d, values=_listed(values), max=fmt_num(m)),
        )
    )
    exps = (sign * xs - (sign * xs).max()).exp()
    ex.steps.append(
        Step(
            t("softmax.exps.title"),
            f"({signed} - ({signed}).max()).exp()",
            info(exps),
            t(
                "softmax.exps.note",
                terms=_written([_power(v, m) for v in values]),
                exps=_listed(shifted),
                sum=fmt_num(total),
            ),
        )
    )
    quotients = [_quotient(form.how, v, m, total) for v in values]
    ex.steps.append(
        Step(
            t(f"softmax.{form.how}.quotients"),
            f"{call.code or call.name}{where}",
            info(ys),
            t(
                f"softmax.{form.how}.slice_note",
                first=_expression(form.how, values[0], m, total),
                value=fmt_num(quotients[0]),
            ),
        )
    )
    # the notebook's written sum: e^1 + e^2 + e^3, unshifted while no exp can overflow
    plain = max(abs(v) for v in values) <= EXP_SAFE
    hand_sum = math.fsum(math.exp(v) for v in values) if plain else total
    torch_exps = (sign * xs).exp() if plain else exps
    ex.checks.append(
        Check(
            t("softmax.check.sum", code=signed),
            _written([_power(v, None if plain else m) for v in values]),
            hand_sum,
            float(torch_exps.sum()),
            agrees(hand_sum, float(torch_exps.sum()), hand_sum, count, eps_of(dtype_name(torch_exps.dtype))),
        )
    )
    flat_y = ys.reshape(-1).tolist()
    for k in range(min(HAND_CHECKS, count)):
        position = [0] * x.dim()
        if x.dim():
            position[d] = k
        manual = quotients[k]
        magnitude = 1.0 if form.how != "log_softmax" else abs(values[k]) + abs(m) + abs(math.log(total))
        ex.checks.append(
            Check(
                t("check.element", index=fmt_index(position)),
                _expression(form.how, values[k], m, total),
                manual,
                flat_y[k],
                agrees(manual, flat_y[k], magnitude, count, eps),
            )
        )
    # every slice, not just the one above: torch's own sums along d
    sums = (y.detach().double().exp() if form.how == "log_softmax" else y.detach().double()).sum(
        dim=d if y.dim() else None
    )
    worst = sums.reshape(-1)[(sums - 1).abs().reshape(-1).argmax()]
    tol = tolerance(dtype_name(y.dtype), count)
    every_ok = bool(torch.all((sums - 1).abs() <= tol))
    summed = f"{call.code or call.name}.exp()" if form.how == "log_softmax" else call.code or call.name
    ex.checks.append(
        Check(
            t("softmax.check.every", n=sums.numel()),
            f"({summed}).sum(dim={d})",
            1.0,
            float(worst),
            every_ok,
        )
    )


def _quotient(how: str, v: float, m: float, total: float) -> float:
    if how == "log_softmax":
        return v - m - math.log(total)
    return math.exp(v - m) / total


def _expression(how: str, v: float, m: float, total: float) -> str:
    if how == "log_softmax":
        return f"{fmt_num(v)} - {fmt_num(m)} - ln({fmt_num(total)})"
    return f"{_power(v, m)} / {fmt_num(total)}"


registry.register(
    OpSpec(
        name="softmax",
        family="softmax",
        explain=explain,
        targets=TARGETS,
        aliases=("log_softmax", "softmin"),
        summary="softmax.summary",
    )
)

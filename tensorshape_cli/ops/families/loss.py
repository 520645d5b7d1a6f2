"""Losses: the input/target shape contract, the terms, the reduction, one term by hand.

Every loss is a per-term formula followed by a reduction. The explanation shows the contract
(class indices (N,) against scores (N, C), or two tensors of one shape), torch's own terms
(the same call with reduction='none'), the first terms worked out in plain Python (float64)
from the input values, and the reduction of all the hand terms against torch's result. A
called nn.*Loss layer is the same loss with the layer's options (its reduction, weight, …).
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import (
    TORCH_ERRORS,
    agrees,
    eps_of,
    shape_check,
    skipped_check,
    torch_error,
    unravel,
)
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

# functional name → the nn layer that calls it
LOSSES = {
    "cross_entropy": "CrossEntropyLoss",
    "nll_loss": "NLLLoss",
    "mse_loss": "MSELoss",
    "l1_loss": "L1Loss",
    "smooth_l1_loss": "SmoothL1Loss",
    "huber_loss": "HuberLoss",
    "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "kl_div": "KLDivLoss",
}
TARGETS = (
    *(f"torch.nn.functional.{name}" for name in LOSSES),
    *(f"torch.nn.{layer}" for layer in LOSSES.values()),
)
CLASS_LOSSES = ("cross_entropy", "nll_loss")
ELEMENT_LOSSES = tuple(n for n in LOSSES if n not in CLASS_LOSSES)
# options a loss takes besides input, target and reduction, in torch's positional order
OPTIONS: dict[str, tuple[str, ...]] = {
    "cross_entropy": ("weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"),
    "nll_loss": ("weight", "size_average", "ignore_index", "reduce", "reduction"),
    "mse_loss": ("size_average", "reduce", "reduction", "weight"),
    "l1_loss": ("size_average", "reduce", "reduction", "weight"),
    "smooth_l1_loss": ("size_average", "reduce", "reduction", "beta"),
    "huber_loss": ("reduction", "delta", "weight"),
    "binary_cross_entropy": ("weight", "size_average", "reduce", "reduction"),
    "binary_cross_entropy_with_logits": ("weight", "size_average", "reduce", "reduction", "pos_weight"),
    "kl_div": ("size_average", "reduce", "reduction", "log_target"),
}
# the layer attribute holding each option torch passes on to the functional form
LAYER_OPTIONS = ("weight", "ignore_index", "label_smoothing", "beta", "delta", "pos_weight", "log_target")
# Message ids built at run time: tests check that each is in both catalogs.
RUNTIME_IDS = (
    *(f"loss.{name}.{part}" for name in LOSSES for part in ("title", "term", "by_hand")),
    "loss.contract.indices",
    "loss.contract.probs",
    "loss.contract.same",
    *(f"loss.reduce.{how}" for how in ("mean", "sum", "none", "batchmean", "weighted")),
)
HAND_CHECKS = 3
HAND_LIMIT = 100_000  # hand terms beyond this many: the first ones only, no reduction check
LOG_FLOOR = -100.0  # binary_cross_entropy clamps each log at -100


@dataclass
class _Form:
    name: str  # the functional name: cross_entropy, mse_loss, …
    x: Any
    y: Any
    x_code: str
    y_code: str
    reduction: str
    options: dict[str, Any] = field(default_factory=dict)
    layer: Any = None  # the nn.*Loss module when the layer was called
    supported: bool = True  # the hand route covers these options


def _form(call: Call) -> _Form:
    import torch

    fn = call.fn
    x, y = _calls.arg(call, 0, "input"), _calls.arg(call, 1, "target")
    codes = [*call.codes, "input", "target"]
    options: dict[str, Any] = {}
    if isinstance(fn, torch.nn.Module):
        name = next(n for n, layer in LOSSES.items() if type(fn).__name__ == layer)
        for key in LAYER_OPTIONS:
            if hasattr(fn, key):
                options[key] = getattr(fn, key)
        reduction = str(fn.reduction)
        return _Form(name, x, y, codes[0], codes[1], reduction, options, layer=fn)
    name = getattr(fn, "__name__", "")
    supported = True
    for i, key in enumerate(OPTIONS[name]):
        if 2 + i < len(call.args):
            options[key] = call.args[2 + i]
    options.update({k: v for k, v in call.kwargs.items() if k not in ("input", "target")})
    if options.get("size_average") is not None or options.get("reduce") is not None:
        supported = False  # the deprecated pair overrides reduction: torch's result is shown as is
    reduction = str(options.pop("reduction", "mean"))
    options.pop("size_average", None)
    options.pop("reduce", None)
    return _Form(name, x, y, codes[0], codes[1], reduction, options, supported=supported)


def _call_text(call: Call, form: _Form, x_code: str, y_code: str) -> str:
    """The call rewritten with other operands: `F.cross_entropy(x, y.long())`."""
    if form.layer is not None:
        head = call.code.rsplit(")(", 1)[0] + ")" if ")(" in call.code else type(form.layer).__name__ + "()"
        return f"{head}({x_code}, {y_code})"
    extra = "".join(f", {k}={c}" for k, c in call.keyword_codes.items() if k not in ("input", "target"))
    return f"{_written_name(call)}({x_code}, {y_code}{extra})"


def _written_name(call: Call) -> str:
    """The function as the user spelled it (F.cross_entropy), not its dotted path."""
    head = call.code.split("(", 1)[0].strip() if call.code else ""
    return head or call.name


def _torch_says(error: BaseException | None) -> str:
    return t("loss.torch_says", torch=torch_error(error).message) if error is not None else ""


def explain(call: Call) -> Explanation:
    import torch

    form = _form(call)
    ex = _calls.start(call, form.name, t(f"loss.{form.name}.title"))
    x, y = form.x, form.y
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        ok, value = _calls.run(ex, call)
        if ok:
            _calls.result_step(ex, call, value)
        return ex
    if not x.dtype.is_floating_point:
        # torch's kernels raise NotImplementedError, outside the errors a run keeps
        ex.error = OpError(
            "loss_input_dtype",
            t("loss.input_dtype", name=form.x_code, dtype=dtype_name(x.dtype), loss=form.name),
            t("loss.input_dtype.hint", code=_call_text(call, form, f"{form.x_code}.float()", form.y_code)),
        )
        return ex
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, result = _calls.run(ex, call)
    error = None if ok else result
    rule = _rule_error(call, form, error)
    if rule is not None:
        ex.error = rule
        return ex
    if not ok:
        return ex
    probs = form.name == "cross_entropy" and x.shape == y.shape and y.dtype.is_floating_point
    _contract_step(ex, form, probs)
    warned = _broadcast_warning(ex, call, form, caught)
    terms = _terms(form)
    if terms is not None:
        ex.steps.append(
            Step(
                t("loss.terms.title"),
                _none_code(call, form),
                info(terms),
                t(f"loss.{form.name}.term", n=terms.numel(), shape=fmt_shape(terms.shape)),
            )
        )
    out: torch.Tensor = result
    # the warning again where a one-line summary (expr's step) reads the result's note
    _calls.result_step(ex, call, out, " ".join(p for p in (warned, _reduce_note(form, terms, probs)) if p))
    if terms is not None and form.reduction == "none":
        ex.checks.append(shape_check(t("loss.check.shape"), list(terms.shape), list(out.shape)))
    if x.device.type == "meta":
        ex.checks.append(skipped_check())
    elif terms is not None and form.supported:
        _by_hand(ex, form, terms, out, probs)
    return ex


def _rule_error(call: Call, form: _Form, error: BaseException | None) -> OpError | None:
    """The contract a loss's inputs broke, in its own words with the fix; None if none did."""
    x, y = form.x, form.y
    xs, ys = fmt_shape(x.shape), fmt_shape(y.shape)
    said = _torch_says(error)
    if form.name in CLASS_LOSSES:
        probs = form.name == "cross_entropy" and y.dtype.is_floating_point and x.shape == y.shape
        c = x.shape[1] if x.dim() >= 2 else (x.shape[0] if x.dim() == 1 else 1)
        if not probs and y.dtype.is_floating_point:
            return OpError(
                "loss_target_dtype",
                t("loss.target_dtype", name=form.y_code, dtype=dtype_name(y.dtype), x=xs, y=ys) + said,
                t(
                    "loss.target_dtype.hint",
                    code=_call_text(call, form, form.x_code, f"{form.y_code}.long()"),
                ),
            )
        if x.dim() == 2 and y.dim() == 2 and y.shape[1] == 1:
            return OpError(
                "loss_target_shape",
                t("loss.target_column", name=form.y_code, x=xs, y=ys, n=x.shape[0]) + said,
                t(
                    "loss.target_column.hint",
                    code=_call_text(call, form, form.x_code, f"{form.y_code}.squeeze(1)"),
                ),
            )
        if error is None:
            return None
        if x.dim() >= 1 and y.dim() >= 1 and x.dim() != 1 and x.shape[0] != y.shape[0]:
            return OpError(
                "loss_batch",
                t("loss.batch", x=xs, y=ys, n=x.shape[0], m=y.shape[0], xn=form.x_code, yn=form.y_code)
                + said,
                t("loss.batch.hint", n=x.shape[0], m=y.shape[0], y=form.y_code),
            )
        if isinstance(error, IndexError) and y.device.type != "meta":
            ignore = form.options.get("ignore_index", -100)
            bad = [v for v in y.reshape(-1).tolist() if not 0 <= v < c and v != ignore]
            if bad:
                lo, hi = min(y.reshape(-1).tolist()), max(y.reshape(-1).tolist())
                hint = (
                    t(
                        "loss.class_range.shift",
                        code=_call_text(call, form, form.x_code, f"{form.y_code} - 1"),
                    )
                    if lo >= 1 and hi == c
                    else t("loss.class_range.more", c=hi + 1)
                )
                return OpError(
                    "loss_class_range",
                    t("loss.class_range", name=form.y_code, value=bad[0], c=c, x=xs, top=c - 1) + said,
                    hint,
                )
        if x.dim() >= 2 and y.dim() != x.dim() - 1 and not probs:
            return OpError(
                "loss_target_shape",
                t(
                    "loss.target_shape",
                    name=form.y_code,
                    x=xs,
                    y=ys,
                    want=fmt_shape([x.shape[0], *x.shape[2:]]),
                )
                + said,
                t("loss.target_shape.hint", name=form.y_code),
            )
        return None
    if error is None:
        return None
    if form.name == "binary_cross_entropy" and "between 0 and 1" in str(error):
        which = "input" if "of input" in str(error) else "target"
        code = f"F.binary_cross_entropy_with_logits({form.x_code}, {form.y_code})"
        if which == "input":
            return OpError(
                "loss_not_probabilities",
                t("loss.bce_input", name=form.x_code) + said,
                t("loss.bce_input.hint", code=code, name=form.x_code),
            )
        return OpError(
            "loss_not_probabilities",
            t("loss.bce_target", name=form.y_code) + said,
            t("loss.bce_target.hint", name=form.y_code),
        )
    if x.shape != y.shape and isinstance(error, (ValueError, RuntimeError)) and "size" in str(error):
        return OpError(
            "loss_target_shape",
            t("loss.same_shape", x=xs, y=ys, xn=form.x_code, yn=form.y_code) + said,
            t("loss.same_shape.hint", x=xs, y=form.y_code),
        )
    if not y.dtype.is_floating_point and form.name in (
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
    ):
        return OpError(
            "loss_target_dtype",
            t("loss.float_target", name=form.y_code, dtype=dtype_name(y.dtype)) + said,
            t("loss.float_target.hint", code=_call_text(call, form, form.x_code, f"{form.y_code}.float()")),
        )
    return None


def _contract_step(ex: Explanation, form: _Form, probs: bool) -> None:
    x, y = form.x, form.y
    rows = [
        [form.x_code, fmt_shape(x.shape), dtype_name(x.dtype)],
        [form.y_code, fmt_shape(y.shape), dtype_name(y.dtype)],
    ]
    if form.name in CLASS_LOSSES and not probs:
        c = x.shape[1] if x.dim() >= 2 else x.shape[0]
        n = x.shape[0] if x.dim() >= 2 else 1
        note = t(
            "loss.contract.indices",
            x=form.x_code,
            y=form.y_code,
            n=n,
            c=c,
            top=c - 1,
            xs=fmt_shape(x.shape),
            ys=fmt_shape(y.shape),
        )
    elif probs:
        note = t("loss.contract.probs", x=form.x_code, y=form.y_code, xs=fmt_shape(x.shape))
    else:
        note = t(
            "loss.contract.same", x=form.x_code, y=form.y_code, xs=fmt_shape(x.shape), ys=fmt_shape(y.shape)
        )
    table = Table([t("loss.col.operand"), t("loss.col.shape"), t("loss.col.dtype")], rows)
    ex.steps.append(
        Step(t("loss.contract.title"), f"({form.x_code}.shape, {form.y_code}.shape)", None, note, table)
    )


def _broadcast_warning(
    ex: Explanation, call: Call, form: _Form, caught: list[warnings.WarningMessage]
) -> str:
    """(N, 1) against (N,) is not an error: it broadcasts to (N, N), N² terms instead of N.
    Returns the warning in one sentence for the result's note ("" when the shapes agree)."""
    x, y = form.x, form.y
    if form.name in CLASS_LOSSES or x.shape == y.shape:
        return ""
    said = next((str(w.message) for w in caught if "size" in str(w.message)), "")
    try:
        from tensorshape_cli.ops._common import broadcast_shape

        both = broadcast_shape([list(x.shape), list(y.shape)])
    except RuntimeError:
        return ""
    fix_x = f"{form.x_code}.squeeze(1)" if x.dim() == 2 and x.shape[1] == 1 and y.dim() == 1 else form.x_code
    fix_y = f"{form.y_code}.squeeze(1)" if y.dim() == 2 and y.shape[1] == 1 and x.dim() == 1 else form.y_code
    if (fix_x, fix_y) == (form.x_code, form.y_code):
        fix_y = (
            f"{form.y_code}.view_as({form.x_code})"
            if x.numel() == y.numel()
            else f"{form.y_code}.expand_as({form.x_code})"
        )
    note = t(
        "loss.broadcast",
        x=form.x_code,
        y=form.y_code,
        xs=fmt_shape(x.shape),
        ys=fmt_shape(y.shape),
        both=fmt_shape(both),
        n=math.prod(both),
        want=max(x.numel(), y.numel()),
        code=_call_text(call, form, fix_x, fix_y),
    )
    if said:
        note += t("loss.torch_says", torch=said)
    fixed = _call_text(call, form, fix_x, fix_y)
    ex.steps.append(
        Step(
            t("loss.broadcast.title"),
            f"torch.broadcast_shapes({form.x_code}.shape, {form.y_code}.shape)",
            None,
            note,
        )
    )
    return t(
        "loss.broadcast.short", xs=fmt_shape(x.shape), ys=fmt_shape(y.shape), both=fmt_shape(both), code=fixed
    )


def _none_code(call: Call, form: _Form) -> str:
    if form.layer is not None:
        return f"F.{form.name}({form.x_code}, {form.y_code}, reduction='none')"
    extra = "".join(
        f", {k}={c}" for k, c in call.keyword_codes.items() if k not in ("input", "target", "reduction")
    )
    return f"{_written_name(call)}({form.x_code}, {form.y_code}{extra}, reduction='none')"


def _terms(form: _Form) -> torch.Tensor | None:
    """torch's terms: the same loss with reduction='none'."""
    import torch.nn.functional as F

    options = {k: v for k, v in form.options.items()}
    if form.layer is not None:
        layer = copy.copy(form.layer)
        layer.reduction = "none"
        fn: Any = layer
        options = {}
    else:
        fn = getattr(F, form.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out: torch.Tensor = fn(
                form.x, form.y, **options, **({} if form.layer is not None else {"reduction": "none"})
            )
        return out.detach()
    except TORCH_ERRORS:
        return None


def _reduce_note(form: _Form, terms: torch.Tensor | None, probs: bool) -> str:
    if terms is None:
        return ""
    n = terms.numel()
    how = form.reduction
    if (
        how == "mean"
        and form.name in CLASS_LOSSES
        and not probs
        and (form.options.get("weight") is not None or _ignored(form))
    ):
        how = "weighted"
    if how not in ("mean", "sum", "none", "batchmean", "weighted"):
        return ""
    batch = form.x.shape[0] if form.x.dim() else 1
    return t(f"loss.reduce.{how}", n=n, batch=batch)


def _ignored(form: _Form) -> bool:
    y = form.y
    if y.device.type == "meta" or y.dtype.is_floating_point:
        return False
    return bool((y == form.options.get("ignore_index", -100)).any())


# --- by hand ---------------------------------------------------------------------------------


def _rows(form: _Form) -> tuple[list[list[float]], list[Any], list[list[int]]]:
    """Class losses: the score rows (one per term), their targets, and each term's index."""
    x, y = form.x.detach(), form.y.detach()
    if x.dim() == 1:
        return [x.double().tolist()], [y.tolist()], [[]]
    moved = x.movedim(1, -1)
    rows = moved.reshape(-1, x.shape[1]).double().tolist()
    if y.shape == x.shape:
        targets: list[Any] = y.movedim(1, -1).reshape(-1, x.shape[1]).double().tolist()
    else:
        targets = y.reshape(-1).tolist()
    shape = [x.shape[0], *x.shape[2:]]
    index = [unravel(i, shape) for i in range(len(rows))]
    return rows, targets, index


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _element_term(form: _Form, a: float, b: float, w: float, pw: float) -> float:
    name = form.name
    d = a - b
    if name == "mse_loss":
        return w * d * d
    if name == "l1_loss":
        return w * abs(d)
    if name == "smooth_l1_loss":
        beta = float(form.options.get("beta", 1.0))
        return 0.5 * d * d / beta if abs(d) < beta else abs(d) - 0.5 * beta
    if name == "huber_loss":
        delta = float(form.options.get("delta", 1.0))
        return w * (0.5 * d * d if abs(d) <= delta else delta * (abs(d) - 0.5 * delta))
    if name == "binary_cross_entropy":
        log_p = max(math.log(a), LOG_FLOOR) if a > 0 else LOG_FLOOR
        log_q = max(math.log(1 - a), LOG_FLOOR) if a < 1 else LOG_FLOOR
        return -w * (b * log_p + (1 - b) * log_q)
    if name == "binary_cross_entropy_with_logits":
        # log σ(a) and log(1 - σ(a)) = log σ(-a), written stably
        log_s = -math.log1p(math.exp(-a)) if a >= 0 else a - math.log1p(math.exp(a))
        log_1s = log_s - a
        return -w * (pw * b * log_s + (1 - b) * log_1s)
    # kl_div: the input holds log-probabilities
    if form.options.get("log_target"):
        return math.exp(b) * (b - a)
    return b * (math.log(b) - a) if b > 0 else 0.0


def _element_written(form: _Form, a: float, b: float) -> str:
    A, B = fmt_num(a), fmt_num(b)
    name = form.name
    if name == "mse_loss":
        return f"({A} - {B})**2"
    if name == "l1_loss":
        return f"|{A} - {B}|"
    if name == "smooth_l1_loss":
        beta = float(form.options.get("beta", 1.0))
        d = abs(a - b)
        return (
            f"0.5 * ({A} - {B})**2 / {fmt_num(beta)}" if d < beta else f"|{A} - {B}| - 0.5 * {fmt_num(beta)}"
        )
    if name == "huber_loss":
        delta = float(form.options.get("delta", 1.0))
        d = abs(a - b)
        return (
            f"0.5 * ({A} - {B})**2"
            if d <= delta
            else f"{fmt_num(delta)} * (|{A} - {B}| - 0.5 * {fmt_num(delta)})"
        )
    if name == "binary_cross_entropy":
        return f"-({B} * log({A}) + (1 - {B}) * log(1 - {A}))"
    if name == "binary_cross_entropy_with_logits":
        return f"-({B} * log(σ({A})) + (1 - {B}) * log(1 - σ({A})))"
    if form.options.get("log_target"):
        return f"e^{B} * ({B} - {A})"
    return f"{B} * (log({B}) - {A})"


def _class_term(form: _Form, row: list[float], target: Any, probs: bool) -> float:
    m = max(row)
    lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
    weight = form.options.get("weight")
    ws = weight.double().tolist() if weight is not None else [1.0] * len(row)
    eps = float(form.options.get("label_smoothing", 0.0) or 0.0)
    c = len(row)
    if probs:
        p = [(1 - eps) * q + eps / c for q in target]
        return -math.fsum(ws[j] * p[j] * (row[j] - lse) for j in range(c))
    k = int(target)
    if k == form.options.get("ignore_index", -100):
        return 0.0
    if form.name == "nll_loss":
        return -ws[k] * row[k]
    smooth = -math.fsum(ws[j] * (row[j] - lse) for j in range(c)) / c
    return (1 - eps) * -ws[k] * (row[k] - lse) + eps * smooth


def _class_written(
    form: _Form, row: list[float], target: Any, index: list[int], probs: bool
) -> tuple[str, str]:
    """(the term in names, the term in numbers): -(x[0, 2] - log(e^x[0, 0] + …))."""
    name = form.x_code
    c = len(row)

    def at(j: int) -> str:
        return f"{name}[{', '.join(str(i) for i in [*index[:1], j, *index[1:]])}]"

    shown = list(range(c)) if c <= 6 else [0, 1, 2, 3, c - 1]
    names = (
        " + ".join(f"e^{at(j)}" for j in shown)
        if c <= 6
        else " + ".join(f"e^{at(j)}" for j in shown[:-1]) + f" + … + e^{at(c - 1)}"
    )
    numbers = (
        " + ".join(f"e^{fmt_num(row[j])}" for j in shown)
        if c <= 6
        else " + ".join(f"e^{fmt_num(row[j])}" for j in shown[:-1]) + f" + … + e^{fmt_num(row[c - 1])}"
    )
    if probs:
        return (
            f"-Σ_j {form.y_code}[…, j] * ({at(0).replace('0]', 'j]')} - log({names}))",
            f"-Σ_j p_j * (x_j - log({numbers}))",
        )
    k = int(target)
    if form.name == "nll_loss":
        return f"-{at(k)}", f"-({fmt_num(row[k])})"
    return f"-({at(k)} - log({names}))", f"-({fmt_num(row[k])} - log({numbers}))"


def _by_hand(ex: Explanation, form: _Form, terms: torch.Tensor, out: torch.Tensor, probs: bool) -> None:
    import torch

    flat_terms = terms.reshape(-1).double().tolist()
    eps = eps_of(dtype_name(terms.dtype))
    hand: list[float] = []
    if form.name in CLASS_LOSSES:
        if form.options.get("label_smoothing") and form.options.get("weight") is not None and not probs:
            return  # torch's smoothed, weighted terms follow a formula not shown here
        rows, targets, index = _rows(form)
        count = len(rows) if len(rows) <= HAND_LIMIT else HAND_CHECKS
        hand = [_class_term(form, rows[i], targets[i], probs) for i in range(count)]
        for i in range(min(HAND_CHECKS, count)):
            if not probs and int(targets[i]) == form.options.get("ignore_index", -100):
                continue
            names, numbers = _class_written(form, rows[i], targets[i], index[i], probs)
            magnitude = sum(abs(v) for v in rows[i]) + 1
            ex.checks.append(
                Check(
                    t(f"loss.{form.name}.by_hand", index=fmt_index(index[i]), written=names),
                    numbers,
                    hand[i],
                    flat_terms[i],
                    agrees(hand[i], flat_terms[i], magnitude, len(rows[i]), max(eps, 1e-7)),
                )
            )
        weights = _class_weights(form, targets[: len(hand)], probs)
    else:
        a, b = torch.broadcast_tensors(form.x.detach(), form.y.detach())
        w = form.options.get("weight")
        pw = form.options.get("pos_weight")
        ws = torch.broadcast_to(w, a.shape).reshape(-1).double().tolist() if w is not None else None
        pws = torch.broadcast_to(pw, a.shape).reshape(-1).double().tolist() if pw is not None else None
        av, bv = a.reshape(-1).double().tolist(), b.reshape(-1).double().tolist()
        count = len(av) if len(av) <= HAND_LIMIT else HAND_CHECKS
        for i in range(count):
            hand.append(_element_term(form, av[i], bv[i], ws[i] if ws else 1.0, pws[i] if pws else 1.0))
        for i in range(min(HAND_CHECKS, count)):
            magnitude = abs(av[i]) + abs(bv[i]) + abs(hand[i]) + 1
            ex.checks.append(
                Check(
                    t(f"loss.{form.name}.by_hand", index=fmt_index(unravel(i, list(a.shape))), written=""),
                    _element_written(form, av[i], bv[i]),
                    hand[i],
                    flat_terms[i],
                    agrees(hand[i], flat_terms[i], magnitude, 4, max(eps, 1e-7)),
                )
            )
        weights = [1.0] * len(hand)
    if len(hand) != len(flat_terms) or form.reduction == "none":
        return
    total = math.fsum(hand)
    if form.reduction == "sum":
        manual, written = total, t("loss.written.sum", n=len(hand))
    elif form.reduction == "batchmean":
        batch = form.x.shape[0] if form.x.dim() else 1
        manual, written = total / batch, t("loss.written.mean", n=len(hand), d=batch)
    elif form.reduction == "mean":
        denominator = math.fsum(weights)
        manual = total / denominator if denominator else math.nan
        written = t("loss.written.mean", n=len(hand), d=fmt_num(denominator))
    else:
        return
    got = float(out.detach().double())
    ex.checks.append(
        Check(
            t("loss.check.reduction", how=form.reduction),
            written,
            manual,
            got,
            agrees(manual, got, math.fsum(abs(h) for h in hand) + 1, len(hand), max(eps, 1e-7)),
        )
    )


def _class_weights(form: _Form, targets: list[Any], probs: bool) -> list[float]:
    """What 'mean' divides by, per term: the target class's weight (0 when ignored)."""
    weight = form.options.get("weight")
    if probs or form.name not in CLASS_LOSSES:
        return [1.0] * len(targets)
    ws = weight.double().tolist() if weight is not None else None
    ignore = form.options.get("ignore_index", -100)
    out = []
    for k in targets:
        k = int(k)
        out.append(0.0 if k == ignore else (ws[k] if ws else 1.0))
    return out


registry.register(
    OpSpec(
        name="loss",
        family="loss",
        explain=explain,
        targets=TARGETS,
        aliases=tuple(LOSSES),
        summary="loss.summary",
    )
)

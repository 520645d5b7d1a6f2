"""Pointwise ops: binary (add, mul, pow, maximum, …), comparisons, logical and bitwise ops, and
unary functions (exp, log, sin, abs, relu, sigmoid, tanh, …), with their Tensor methods and
Python's operators (`+ - * / ** // % > >= < <= == != & | ^ ~`, which ops/operators.py hands here).

A binary op pairs its operands element by element after broadcasting them (the alignment table
of ops/_broadcast.py); when their dtypes differ, the result's dtype follows torch's promotion
rule, worked out here in plain Python (categories bool < integer < floating point < complex, a
tensor with dims beating a 0-dim one and a Python number of the same category) and checked
against torch.result_type. Broadcasting (N, 1) against (N,) silently makes (N, N), the classic
loss bug: a warning names the operands and gives the fix in code. One element is worked out by
hand from the input values (plain Python, float64) and compared with torch's.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name
from tensorshape_cli.explanation import Check, Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._broadcast import Alignment, align
from tensorshape_cli.ops._common import agrees, broadcast_shape, eps_of, skipped_check, torch_error
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import fmt_index, fmt_num, fmt_shape


def _ieee_div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _nan_max(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _nan_min(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


@dataclass(frozen=True)
class _Binary:
    symbol: str  # as the hand check writes it: "+", "max", "<"
    fn: Callable[[Any, Any], Any]  # the same op on Python numbers
    infix: bool = True  # "a + b" (True) or "max(a, b)"
    group: str = "arith"  # arith | compare | logical | bitwise | divide


_BINARY: dict[str, _Binary] = {
    "add": _Binary("+", operator.add),
    "sub": _Binary("-", operator.sub),
    "mul": _Binary("*", operator.mul),
    "div": _Binary("/", lambda a, b: _ieee_div(float(a), float(b)), group="divide"),
    "floor_divide": _Binary("//", operator.floordiv),
    "remainder": _Binary("%", operator.mod),
    "fmod": _Binary("fmod", math.fmod, infix=False),
    "pow": _Binary("**", operator.pow),
    "maximum": _Binary("max", _nan_max, infix=False),
    "minimum": _Binary("min", _nan_min, infix=False),
    "atan2": _Binary("atan2", math.atan2, infix=False),
    "hypot": _Binary("hypot", math.hypot, infix=False),
    "copysign": _Binary("copysign", math.copysign, infix=False),
    "eq": _Binary("==", operator.eq, group="compare"),
    "ne": _Binary("!=", operator.ne, group="compare"),
    "lt": _Binary("<", operator.lt, group="compare"),
    "le": _Binary("<=", operator.le, group="compare"),
    "gt": _Binary(">", operator.gt, group="compare"),
    "ge": _Binary(">=", operator.ge, group="compare"),
    "logical_and": _Binary("and", lambda a, b: bool(a) and bool(b), group="logical"),
    "logical_or": _Binary("or", lambda a, b: bool(a) or bool(b), group="logical"),
    "logical_xor": _Binary("xor", lambda a, b: bool(a) != bool(b), group="logical"),
    "bitwise_and": _Binary("&", operator.and_, group="bitwise"),
    "bitwise_or": _Binary("|", operator.or_, group="bitwise"),
    "bitwise_xor": _Binary("^", operator.xor, group="bitwise"),
}
# Other spellings torch has of the same ops.
_BINARY_ALIASES = {
    "subtract": "sub",
    "multiply": "mul",
    "divide": "div",
    "true_divide": "div",
    "arctan2": "atan2",
    "greater": "gt",
    "greater_equal": "ge",
    "less": "lt",
    "less_equal": "le",
    "not_equal": "ne",
}
# Python's dunders (a.__add__(b)) and operator module functions (expr's `a + b`).
_DUNDERS = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "truediv": "div",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "pow": "pow",
    "eq": "eq",
    "ne": "ne",
    "lt": "lt",
    "le": "le",
    "gt": "gt",
    "ge": "ge",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
}
_OPERATOR_MODULE = {"and_": "bitwise_and", "or_": "bitwise_or", **_DUNDERS}
_OPERATOR_MODULE.pop("and")
_OPERATOR_MODULE.pop("or")


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _log(fn: Callable[[float], float]) -> Callable[[float], float]:
    def safe(x: float) -> float:
        if x == 0:
            return -math.inf
        return math.nan if x < 0 else fn(x)

    return safe


def _domain(fn: Callable[[float], float]) -> Callable[[float], float]:
    """Outside the domain (asin(2)) torch gives nan; an overflow (sinh(1000)) makes no check."""

    def safe(x: float) -> float:
        try:
            return fn(x)
        except ValueError:
            return math.nan

    return safe


def _exp(x: float) -> float:
    return math.inf if x > 709 else math.exp(x)


# name → (the formula as written, the same on a Python number)
_UNARY: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "exp": ("exp({x})", _exp),
    "log": ("ln({x})", _log(math.log)),
    "log2": ("log2({x})", _log(math.log2)),
    "log10": ("log10({x})", _log(math.log10)),
    "log1p": ("ln(1 + {x})", lambda x: math.log1p(x) if x > -1 else _log(math.log)(x + 1)),
    "expm1": ("exp({x}) - 1", lambda x: math.inf if x > 709 else math.expm1(x)),
    "sqrt": ("sqrt({x})", lambda x: math.nan if x < 0 else math.sqrt(x)),
    "rsqrt": ("1 / sqrt({x})", lambda x: math.nan if x < 0 else (math.inf if x == 0 else 1 / math.sqrt(x))),
    "sin": ("sin({x})", _domain(math.sin)),
    "cos": ("cos({x})", _domain(math.cos)),
    "tan": ("tan({x})", _domain(math.tan)),
    "asin": ("asin({x})", _domain(math.asin)),
    "acos": ("acos({x})", _domain(math.acos)),
    "atan": ("atan({x})", math.atan),
    "sinh": ("sinh({x})", _domain(math.sinh)),
    "cosh": ("cosh({x})", _domain(math.cosh)),
    "tanh": ("tanh({x})", math.tanh),
    "abs": ("|{x}|", abs),
    "neg": ("-({x})", operator.neg),
    "square": ("{x} * {x}", lambda x: x * x),
    "reciprocal": ("1 / {x}", lambda x: _ieee_div(1.0, float(x))),
    "sign": ("sign({x})", lambda x: 0 if math.isnan(x) else (x > 0) - (x < 0)),  # torch: sign(nan) = 0
    "floor": ("floor({x})", lambda x: x if math.isinf(x) or math.isnan(x) else math.floor(x)),
    "ceil": ("ceil({x})", lambda x: x if math.isinf(x) or math.isnan(x) else math.ceil(x)),
    "trunc": ("trunc({x})", lambda x: x if math.isinf(x) or math.isnan(x) else math.trunc(x)),
    "sigmoid": ("1 / (1 + exp(-{x}))", _sigmoid),
    "relu": ("max(0, {x})", lambda x: x if math.isnan(x) else max(0, x)),
    "silu": ("{x} / (1 + exp(-{x}))", lambda x: x * _sigmoid(x)),
    "gelu": ("{x} * (1 + erf({x} / sqrt(2))) / 2", lambda x: x * (1 + math.erf(x / math.sqrt(2))) / 2),
    "erf": ("erf({x})", math.erf),
    "erfc": ("erfc({x})", math.erfc),
    "logical_not": ("not {x}", lambda x: not x),
    "bitwise_not": ("~{x}", lambda x: (not x) if isinstance(x, bool) else ~x),
    "isnan": ("isnan({x})", lambda x: math.isnan(x)),
    "isinf": ("isinf({x})", lambda x: math.isinf(x)),
    "isfinite": ("isfinite({x})", lambda x: math.isfinite(x)),
}
# Activations with settings: (their parameters with F.'s defaults, in F.'s order after the
# input; the formula, written as Python so that it reads the same in every language, and the
# same on a Python number, for the call's settings). The layers
# hold the same settings as attributes of the same names (nn.LeakyReLU(0.2).negative_slope).
_Formula = tuple[str, Callable[[Any], Any]]
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(x: float, beta: float, threshold: float) -> float:
    return x if beta * x > threshold else math.log1p(_exp(beta * x)) / beta


def _logsigmoid(x: float) -> float:
    return min(x, 0.0) - math.log1p(_exp(-abs(x)))  # no overflow either way, as torch computes it


_SET: dict[str, tuple[tuple[tuple[str, float], ...], Callable[..., _Formula]]] = {
    "leaky_relu": (
        (("negative_slope", 0.01),),
        lambda negative_slope: (
            f"{{x}} if {{x}} >= 0 else {fmt_num(negative_slope)} * {{x}}",
            lambda x: x if x >= 0 else negative_slope * x,
        ),
    ),
    "elu": (
        (("alpha", 1.0),),
        lambda alpha: (
            f"{{x}} if {{x}} > 0 else {fmt_num(alpha)} * (exp({{x}}) - 1)",
            lambda x: x if x > 0 else alpha * math.expm1(x),
        ),
    ),
    "celu": (
        (("alpha", 1.0),),
        lambda alpha: (
            f"max(0, {{x}}) + min(0, {fmt_num(alpha)} * (exp({{x}} / {fmt_num(alpha)}) - 1))",
            lambda x: max(0.0, x) + min(0.0, alpha * math.expm1(x / alpha)),
        ),
    ),
    "selu": (
        (),
        lambda: (
            f"{fmt_num(_SELU_SCALE)} * (max(0, {{x}}) + min(0, {fmt_num(_SELU_ALPHA)} * (exp({{x}}) - 1)))",
            lambda x: _SELU_SCALE * (max(0.0, x) + min(0.0, _SELU_ALPHA * math.expm1(min(x, 0.0)))),
        ),
    ),
    "relu6": ((), lambda: ("min(max(0, {x}), 6)", lambda x: min(max(0.0, x), 6.0))),
    "hardtanh": (
        (("min_val", -1.0), ("max_val", 1.0)),
        lambda min_val, max_val: (
            f"min(max({fmt_num(min_val)}, {{x}}), {fmt_num(max_val)})",
            lambda x: min(max(min_val, x), max_val),
        ),
    ),
    "hardsigmoid": ((), lambda: ("min(max(0, {x} + 3), 6) / 6", lambda x: min(max(0.0, x + 3), 6.0) / 6)),
    "hardswish": (
        (),
        lambda: ("{x} * min(max(0, {x} + 3), 6) / 6", lambda x: x * min(max(0.0, x + 3), 6.0) / 6),
    ),
    "logsigmoid": (
        (),
        lambda: ("ln(1 / (1 + exp(-{x})))", lambda x: min(x, 0.0) - math.log1p(_exp(-abs(x)))),
    ),
    "mish": ((), lambda: ("{x} * tanh(ln(1 + exp({x})))", lambda x: x * math.tanh(_softplus(x, 1.0, 20.0)))),
    "softplus": (
        (("beta", 1.0), ("threshold", 20.0)),
        lambda beta, threshold: (
            f"{{x}} if {fmt_num(beta)} * {{x}} > {fmt_num(threshold)}"
            f" else ln(1 + exp({fmt_num(beta)} * {{x}})) / {fmt_num(beta)}",
            lambda x: _softplus(x, beta, threshold),
        ),
    ),
    "softsign": ((), lambda: ("{x} / (1 + |{x}|)", lambda x: x / (1 + abs(x)))),
    "tanhshrink": ((), lambda: ("{x} - tanh({x})", lambda x: x - math.tanh(x))),
    "softshrink": (
        (("lambd", 0.5),),
        lambda lambd: (
            f"{{x}} - {fmt_num(lambd)} if {{x}} > {fmt_num(lambd)}"
            f" else ({{x}} + {fmt_num(lambd)} if {{x}} < -{fmt_num(lambd)} else 0)",
            lambda x: x - lambd if x > lambd else (x + lambd if x < -lambd else 0.0),
        ),
    ),
    "hardshrink": (
        (("lambd", 0.5),),
        lambda lambd: (
            f"{{x}} if |{{x}}| > {fmt_num(lambd)} else 0",
            lambda x: x if abs(x) > lambd else 0.0,
        ),
    ),
}


_CANCELS = frozenset({"tanhshrink", "gelu"})


def _set_formula(call: Call, op: str) -> _Formula | None:
    """The formula of an activation with settings, for this call's settings (the layer's
    attributes, or F.'s arguments); None when an argument is not one of them."""
    import torch

    x = call.arg(0, "input", None)
    if op not in _SET or not (isinstance(x, torch.Tensor) and x.dtype.is_floating_point):
        return None  # an integer input takes the settings as integers: hardtanh(-8, -0.5, 0.5) is 0
    names, make = _SET[op]
    bound = dict(names)
    if _layer_op(call.fn) is not None:
        bound |= {name: getattr(call.fn, name, default) for name, default in names}
    else:
        given = dict(zip([name for name, _ in names], call.args[1:], strict=False))
        if len(call.args) - 1 > len(names) or set(call.kwargs) - set(bound) - {"inplace"}:
            return None
        bound |= given | {k: v for k, v in call.kwargs.items() if k != "inplace"}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bound.values()):
        return None
    text, fn = make(**{k: float(v) for k, v in bound.items()})
    # nan in, nan out, as torch gives it (Python's max and min would drop it)
    return text, lambda x: x if math.isnan(x) else fn(x)


_UNARY_ALIASES = {
    "negative": "neg",
    "absolute": "abs",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "fix": "trunc",
    "expit": "sigmoid",
}
# Unary ops without a plain-Python formula here: shapes and dtypes only, no fake check.
_UNARY_PLAIN = (
    *("round", "frac", "sgn", "signbit", "asinh", "acosh", "atanh", "exp2", "erfinv", "lgamma"),
    *("digamma", "i0", "sinc", "logit", "nan_to_num", "deg2rad", "rad2deg", "positive"),
)
_ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "sigmoid",
    "tanh",
    "silu",
    "gelu",
    "elu",
    "selu",
    "celu",
    "leaky_relu",
    "relu6",
)
_ACTIVATIONS += ("hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "mish", "softplus", "softsign")
_ACTIVATIONS += ("tanhshrink", "softshrink", "hardshrink")
_SYMBOLS = frozenset({"+", "-", "*", "/", "**", "//", "%", "&", "|", "^", "<", "<=", ">", ">=", "==", "!="})
# The activation layers, each the F. function it calls: nn.ReLU()(x) is F.relu(x).
_LAYERS = {
    **{"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "GELU": "gelu", "ELU": "elu"},
    **{"SELU": "selu", "CELU": "celu", "LeakyReLU": "leaky_relu", "ReLU6": "relu6", "Hardtanh": "hardtanh"},
    **{"Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish", "LogSigmoid": "logsigmoid", "Mish": "mish"},
    **{"Softplus": "softplus", "Softsign": "softsign", "Tanhshrink": "tanhshrink"},
    **{"Softshrink": "softshrink", "Hardshrink": "hardshrink"},
}


# Where torch spells a unary op besides torch.X and x.X: torch.special's own names, and the
# ones that are only there or in F. (every target must exist: tests/test_registry.py)
_SPECIAL = frozenset(
    {"log1p", "expm1", "erf", "erfc", "expit", "round", "exp2", "erfinv", "digamma", "i0", "sinc", "logit"}
)
_NOT_TORCH = frozenset({"silu", "gelu", "expit"})
_COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})  # reflected by swapping, no __r*__


def _targets() -> tuple[str, ...]:
    paths: list[str] = []
    binary = [*_BINARY, *_BINARY_ALIASES]
    for name in binary:
        paths += [f"torch.{name}", f"torch.Tensor.{name}"]
    for dunder in _DUNDERS:
        paths.append(f"torch.Tensor.__{dunder}__")
        if dunder not in _COMPARISONS:
            paths.append(f"torch.Tensor.__r{dunder}__")
    paths += ["torch.Tensor.__neg__", "torch.Tensor.__abs__", "torch.Tensor.__invert__"]
    for name in [*_UNARY, *_UNARY_ALIASES, *_UNARY_PLAIN]:
        if name not in _NOT_TORCH:
            paths += [f"torch.{name}", f"torch.Tensor.{name}"]
        if name in _SPECIAL:
            paths.append(f"torch.special.{name}")
    paths += [f"torch.nn.functional.{name}" for name in _ACTIVATIONS]
    paths += [f"torch.nn.{layer}" for layer in _LAYERS]
    return tuple(dict.fromkeys(paths))


TARGETS = _targets()
# The reasons of the promotion rule (pointwise.promote.<reason>).
DYNAMIC_IDS_PROMOTE = (
    *("wider", "category", "scalar_same", "scalar_higher", "zerodim_same", "zerodim_higher"),
    *("mixed_int", "half_bfloat", "same", "torch"),
)
# Message ids built at run time (tests check that each is in both catalogs).
DYNAMIC_IDS = (
    *(f"pointwise.kind.{k}" for k in ("arith", "compare", "logical", "bitwise", "divide")),
    *(f"pointwise.category.{c}" for c in ("bool", "int", "float", "complex")),
    *(f"pointwise.promote.{r}" for r in DYNAMIC_IDS_PROMOTE),
    *(f"pointwise.op_dtype.{k}" for k in ("compare", "logical", "divide", "float", "other")),
)


@functools.cache
def _by_callable() -> dict[int, tuple[str, str, bool]]:
    """id(torch callable) → (op name, 'binary' | 'unary', reflected): torch.add, x.add, x.__radd__."""
    table: dict[int, tuple[str, str, bool]] = {}

    def put(path: str, name: str, arity: str, reflected: bool = False) -> None:
        fn = registry.resolve(path)
        if fn is not None:
            table.setdefault(id(fn), (name, arity, reflected))

    for name in [*_BINARY, *_BINARY_ALIASES]:
        key = _BINARY_ALIASES.get(name, name)
        put(f"torch.{name}", key, "binary")
        put(f"torch.Tensor.{name}", key, "binary")
    for dunder, key in _DUNDERS.items():
        put(f"torch.Tensor.__{dunder}__", key, "binary")
        put(f"torch.Tensor.__r{dunder}__", key, "binary", reflected=True)
    for name, key in _OPERATOR_MODULE.items():
        put(f"operator.{name}", key, "binary")
    for path, key in (
        ("torch.Tensor.__neg__", "neg"),
        ("torch.Tensor.__abs__", "abs"),
        ("torch.Tensor.__invert__", "bitwise_not"),
        ("operator.neg", "neg"),
        ("operator.invert", "bitwise_not"),
    ):
        put(path, key, "unary")
    for name in [*_UNARY, *_UNARY_ALIASES, *_UNARY_PLAIN]:
        key = _UNARY_ALIASES.get(name, name)
        for prefix in ("torch", "torch.Tensor", "torch.special"):
            put(f"{prefix}.{name}", key, "unary")
    for name in _ACTIVATIONS:
        put(f"torch.nn.functional.{name}", name, "unary")
    return table


def _op_of(call: Call) -> tuple[str, str, bool]:
    layer = _layer_op(call.fn)
    if layer is not None:
        return layer, "unary", False
    found = _by_callable().get(id(getattr(call.fn, "__func__", call.fn))) if call.fn is not None else None
    if found is None:
        raise TypeError(f"{call.name} is not a pointwise op")
    return found


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _layer_op(fn: Any) -> str | None:
    """The op of one of torch's activation layers (not a subclass: its forward may differ)."""
    import torch

    name = type(fn).__name__
    if name in _LAYERS and type(fn) is getattr(torch.nn, name, None):
        return _LAYERS[name]
    return None


def _layer_is_default(fn: Any) -> bool:
    """The layer as built with no arguments (nn.GELU(), not nn.GELU(approximate='tanh')): the
    F. function's default formula is then the layer's."""
    settings = {k: v for k, v in vars(fn).items() if not k.startswith("_") and k != "training"}
    default = {k: v for k, v in vars(type(fn)()).items() if not k.startswith("_") and k != "training"}
    return settings == default


def _symbol(call: Call, op: str) -> str | None:
    """The operator as the user wrote it (`a - b`), when the call is one."""
    return call.name if call.name in _SYMBOLS else None


def explain(call: Call) -> Explanation:
    op, arity, reflected = _op_of(call)
    if arity == "unary":
        return _explain_unary(call, op)
    return _explain_binary(call, op, reflected)


# --- binary ----------------------------------------------------------------------------------


def _operands(call: Call, reflected: bool) -> tuple[list[Any], list[str]]:
    other = call.arg(1, "other", _calls.arg(call, 1, "exponent", None))
    if other is None and len(call.args) < 2:
        raise TypeError(f"{call.name}() needs two operands")
    values = [call.args[0], other]
    if len(call.args) >= 2:
        names = call.names(0, 2)
    else:
        written = call.keyword_codes.get("other") or call.keyword_codes.get("exponent") or "b"
        names = [call.codes[0] if call.codes else "a", written]
    if reflected:
        values, names = values[::-1], names[::-1]
    return values, names


def _explain_binary(call: Call, op: str, reflected: bool) -> Explanation:
    import torch

    call.only("other", "alpha", "rounding_mode", "exponent")
    spec = _BINARY[op]
    (a, b), names = _operands(call, reflected)
    symbol = _symbol(call, op)
    kind = t(f"pointwise.kind.{spec.group}")
    ex = _calls.start(call, op, t("pointwise.binary.title", op=symbol or call.name, kind=kind))
    tensors = [(n, v) for n, v in zip(names, (a, b), strict=True) if _is_tensor(v)]
    alignment: Alignment | None = None
    if len(tensors) == 2 and a.shape != b.shape:
        alignment = align([list(a.shape), list(b.shape)], names)
        ex.steps.append(
            Step(
                t("broadcastop.align.title"),
                f"torch.broadcast_shapes({names[0]}.shape, {names[1]}.shape)",
                None,
                t("pointwise.align.note", a=names[0], b=names[1]),
                alignment.table,
            )
        )
        if alignment.shape is None:
            ex.error = _mismatch(call, alignment, names, (a, b), symbol)
            return ex
    ok, out = _calls.run(ex, call)
    if not ok:
        ex.error = _dtype_error(call, names, (a, b), symbol, out) or ex.error
        return ex
    promoted = torch.result_type(a, b) if any(_is_tensor(v) for v in (a, b)) else None
    notes: list[str] = []
    if promoted is not None and _differs(a, b, out):
        notes.append(_promotion_step(ex, names, (a, b), promoted, out, spec, symbol or ","))
    warning = _outer_warning(call, names, (a, b), out, symbol)
    if warning:
        notes.append(warning)
    note = _binary_note(names, (a, b), out, symbol or call.name)
    _calls.result_step(ex, call, out, " ".join([note, *notes]))
    if warning:
        ex.steps[-1].title = t("pointwise.warning.title")
    if not _is_tensor(out):
        return ex
    if out.device.type == "meta":
        ex.checks.append(skipped_check())
    elif out.numel() and not out.is_complex():
        check = _binary_check(call, op, spec, names, (a, b), out)
        if check is not None:
            ex.checks.append(check)
    return ex


def _differs(a: Any, b: Any, out: Any) -> bool:
    """Dtypes worth a promotion step: the operands' differ, or the result's differs from them."""
    dtypes = {v.dtype for v in (a, b) if _is_tensor(v)}
    scalars = [v for v in (a, b) if not _is_tensor(v)]
    if len(dtypes) > 1:
        return True
    (dtype,) = dtypes
    if _is_tensor(out) and out.dtype != dtype:
        return True
    # a Python number of a higher category, or of the same one against a tensor that is not
    # that category's default (float16 * 2.5 stays float16: the tensor wins)
    defaults = {1: "int64", 2: "float32"}
    return any(
        _category_of_scalar(s) > _category(dtype)
        or (
            _category_of_scalar(s) == _category(dtype)
            and defaults.get(_category(dtype)) not in (None, dtype_name(dtype))
        )
        for s in scalars
    )


_CATEGORIES = ("bool", "int", "float", "complex")
_INTS = {
    "uint8": (8, False),
    "int8": (8, True),
    "int16": (16, True),
    "int32": (32, True),
    "int64": (64, True),
}
_FLOATS = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}


def _category(dtype: Any) -> int:
    if dtype.is_complex:
        return 3
    if dtype.is_floating_point:
        return 2
    return 0 if str(dtype) == "torch.bool" else 1


def _category_of_scalar(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    return 3 if isinstance(value, complex) else 2


def _same_category(x: str, y: str) -> tuple[str, str] | None:
    """Two dtypes of one category: (the wider, the reason id), in plain Python; None unknown."""
    if x == y:
        return x, "same"
    if x in _INTS and y in _INTS:
        (bx, sx), (by, sy) = _INTS[x], _INTS[y]
        if sx == sy:
            return (x if bx >= by else y), "wider"
        signed, unsigned = (x, y) if sx else (y, x)
        if _INTS[signed][0] > _INTS[unsigned][0]:
            return signed, "wider"
        return "int16", "mixed_int"  # uint8 with int8: no 8-bit type holds 0..255 and -128..127
    if x in _FLOATS and y in _FLOATS:
        if {x, y} == {"float16", "bfloat16"}:
            return "float32", "half_bfloat"
        return (x if _FLOATS[x] >= _FLOATS[y] else y), "wider"
    return None


@dataclass
class _Promotion:
    dtype: str | None  # predicted here (None: outside the rule's table, no check)
    reason: str  # message id
    params: dict[str, Any]


def _predict(names: list[str], values: tuple[Any, Any]) -> _Promotion:
    """torch's promotion rule, by hand: dimensioned tensors > 0-dim tensors > Python numbers; a
    lower class counts only when its category is higher."""
    import torch

    def rank(v: Any) -> int:
        return 2 if _is_tensor(v) and v.dim() > 0 else (1 if _is_tensor(v) else 0)

    (na, a), (nb, b) = sorted(zip(names, values, strict=True), key=lambda p: -rank(p[1]))
    da = dtype_name(a.dtype)
    params = {"a": na, "b": nb, "da": da}
    if rank(a) == rank(b):
        db = dtype_name(b.dtype)
        params["db"] = db
        ca, cb = _category(a.dtype), _category(b.dtype)
        if ca == cb:
            found = _same_category(da, db)
            params["category"] = t(f"pointwise.category.{_CATEGORIES[ca]}")
            if found is None:
                return _Promotion(None, "pointwise.promote.torch", params)
            dtype, why = found
            return _Promotion(dtype, f"pointwise.promote.{why}", params | {"dr": dtype})
        hi = a if ca > cb else b
        winner = dtype_name(hi.dtype)
        if 3 in (ca, cb):  # complex64 with float64 is complex128: outside this table
            return _Promotion(None, "pointwise.promote.torch", params)
        return _Promotion(
            winner,
            "pointwise.promote.category",
            params
            | {
                "winner": na if hi is a else nb,
                "loser": nb if hi is a else na,
                "hi": t(f"pointwise.category.{_CATEGORIES[max(ca, cb)]}"),
                "lo": t(f"pointwise.category.{_CATEGORIES[min(ca, cb)]}"),
                "dr": winner,
            },
        )
    ca = _category(a.dtype)
    if _is_tensor(b):  # a 0-dim tensor against a dimensioned one
        cb, db = _category(b.dtype), dtype_name(b.dtype)
        params["db"] = db
        if cb <= ca:
            return _Promotion(da, "pointwise.promote.zerodim_same", params | {"dr": da})
        if cb == 3:
            return _Promotion(None, "pointwise.promote.torch", params)
        return _Promotion(db, "pointwise.promote.zerodim_higher", params | {"dr": db})
    cb = _category_of_scalar(b)
    params |= {"db": type(b).__name__, "value": fmt_num(b)}
    if cb <= ca:
        return _Promotion(da, "pointwise.promote.scalar_same", params | {"dr": da})
    default = {1: "int64", 2: dtype_name(torch.get_default_dtype())}.get(cb)
    return _Promotion(default, "pointwise.promote.scalar_higher", params | {"dr": default or "?"})


def _promotion_step(
    ex: Explanation,
    names: list[str],
    values: tuple[Any, Any],
    promoted: Any,
    out: Any,
    spec: _Binary,
    symbol: str,
) -> str:
    """The promotion step (and its check against torch.result_type); its note, for the result."""
    result = dtype_name(out.dtype) if _is_tensor(out) else dtype_name(promoted)
    group = spec.group if spec.group in ("compare", "logical", "divide") else "other"
    note, step, check = promotion(names, values, promoted, symbol, result, group)
    ex.steps.append(step)
    if check is not None:
        ex.checks.append(check)
    return note


def promotion(
    names: list[str],
    values: tuple[Any, Any],
    promoted: Any,
    symbol: str,
    result: str | None = None,
    group: str = "other",
) -> tuple[str, Step, Check | None]:
    """Why two operands give `promoted` (torch.result_type's answer): the note, its step, and
    the check of the rule worked out by hand against torch (None outside the rule's table).
    `result`: the op's own dtype when it differs (a comparison gives bool)."""
    got = dtype_name(promoted)
    guess = _predict(names, values)
    note = t(guess.reason, **(guess.params | {"dr": got}))
    if result is not None and result != got:
        note += " " + t(f"pointwise.op_dtype.{group}", dtype=result, promoted=got)
    step = Step(t("pointwise.promote.title"), f"torch.result_type({names[0]}, {names[1]})", None, note)
    if guess.dtype is None:
        return note, step, None
    a, b = (_dtype_word(v) for v in values)
    words = f"{a}, {b}" if symbol == "," else f"{a} {symbol} {b}"
    return note, step, Check(t("pointwise.check.dtype"), words, guess.dtype, got, guess.dtype == got)


def promotes(a: Any, b: Any) -> bool:
    """Two operands (a tensor at least) whose dtypes call for a promotion step."""
    return any(_is_tensor(v) for v in (a, b)) and _differs(a, b, None)


def _dtype_word(value: Any) -> str:
    """int64 for a tensor, float (2.5) for a Python number."""
    if _is_tensor(value):
        return dtype_name(value.dtype)
    return f"{type(value).__name__} ({fmt_num(value)})"


def _outer_warning(
    call: Call, names: list[str], values: tuple[Any, Any], out: Any, symbol: str | None
) -> str:
    """(…, N, 1) against (N,): broadcasting pairs every element with every other, (N, N)."""
    a, b = values
    if not (_is_tensor(a) and _is_tensor(b) and _is_tensor(out)):
        return ""
    for (col, ncol), (row, nrow) in (((a, names[0]), (b, names[1])), ((b, names[1]), (a, names[0]))):
        if (
            col.dim() >= 2
            and row.dim() == col.dim() - 1
            and col.shape[-1] == 1
            and row.shape[-1] == col.shape[-2] > 1
            and out.dim() == col.dim()
            and out.shape[-1] == out.shape[-2] == row.shape[-1]
        ):
            n = row.shape[-1]
            d = col.dim() - 1
            squeezed, lifted = [f"{ncol}.squeeze({d})", nrow], [ncol, f"{nrow}.unsqueeze({d})"]
            if ncol != names[0]:  # keep the operands in the user's order
                squeezed, lifted = squeezed[::-1], lifted[::-1]
            return t(
                "pointwise.warning.outer",
                col=ncol,
                row=nrow,
                cs=fmt_shape(col.shape),
                rs=fmt_shape(row.shape),
                out=fmt_shape(out.shape),
                n=n,
                nn=n * n,
                fix1=_rewrite(call, squeezed, symbol),
                fix2=_rewrite(call, lifted, symbol),
            )
    return ""


def _rewrite(call: Call, operands: list[str], symbol: str | None) -> str:
    """The call as the user wrote it, with these operand codes."""
    a, b = operands
    if symbol is not None:
        return f"{a} {symbol} {b}"
    if call.name.startswith("."):
        return f"{a}{call.name}({b})"
    return f"{call.name}({a}, {b})"


def _binary_note(names: list[str], values: tuple[Any, Any], out: Any, op: str) -> str:
    if not _is_tensor(out):
        return ""
    a, b = values
    y = fmt_shape(out.shape)
    if _is_tensor(a) and _is_tensor(b):
        if a.shape == b.shape:
            dtype = dtype_name(out.dtype)
            return t("pointwise.note.same", a=names[0], b=names[1], op=op, shape=y, dtype=dtype)
        return t(
            "pointwise.note.broadcast",
            a=names[0],
            b=names[1],
            op=op,
            sa=fmt_shape(a.shape),
            sb=fmt_shape(b.shape),
            shape=y,
            dtype=dtype_name(out.dtype),
        )
    scalar = names[1] if _is_tensor(a) else names[0]
    return t("pointwise.note.scalar", value=scalar, op=op, shape=y, dtype=dtype_name(out.dtype))


def _source(value: Any, index: list[int]) -> tuple[list[int], Any]:
    """The element of a broadcast operand that lands at `index` of the result."""
    if not _is_tensor(value):
        return [], value
    lead = len(index) - value.dim()
    src = [0 if s == 1 else i for i, s in zip(index[lead:], value.shape, strict=True)]
    item = value[tuple(src)].item() if src else value.item()
    return src, item


def _wrapped(value: int, dtype: Any) -> int:
    """An integer as torch's fixed-width type holds it: 200 + 100 in uint8 is 44."""
    import torch

    if dtype == torch.bool or not hasattr(torch, "iinfo"):
        return value
    info = torch.iinfo(dtype)
    span = info.max - info.min + 1
    return (value - info.min) % span + info.min


def _num(value: Any) -> str:
    """A number inside a written formula: a negative one in parentheses, 2 - (-0.5)."""
    text = fmt_num(value)
    return f"({text})" if text.startswith("-") else text


def _at(name: str, index: list[int]) -> str:
    return f"{name}[{fmt_index(index)}]" if index else name


def _pick(shape: Any) -> list[int]:
    """The element checked by hand: [1, 0] where it exists (it shows rows paired with columns)."""
    n = len(shape)
    return [min(1, s - 1) if d == 0 or (n > 1 and d < n - 1) else 0 for d, s in enumerate(shape)]


def _binary_check(
    call: Call, op: str, spec: _Binary, names: list[str], values: tuple[Any, Any], out: Any
) -> Check | None:
    index = _pick(out.shape)
    (ia, va), (ib, vb) = (_source(v, index) for v in values)
    alpha = call.kwargs.get("alpha")
    mode = call.kwargs.get("rounding_mode")
    if mode is not None and op == "div":
        fn: Callable[[Any, Any], Any] = (
            (lambda x, y: math.trunc(x / y)) if mode == "trunc" else (lambda x, y: math.floor(x / y))
        )
    else:
        fn = spec.fn
    if alpha is not None and op in ("add", "sub"):
        vb_used: Any = alpha * vb
        shown_b = f"{_num(alpha)}*{_num(vb)}"
    else:
        vb_used, shown_b = vb, _num(vb)
    try:
        manual = fn(va, vb_used)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None  # Python refuses what IEEE defines (0 // 0.0): no check rather than a fake one
    if isinstance(manual, complex):  # (-8.0) ** (1/3): Python goes complex, torch gives nan
        manual = math.nan
    if isinstance(manual, int) and not isinstance(manual, bool) and not out.dtype.is_floating_point:
        manual = _wrapped(manual, out.dtype)
    got = out[tuple(index)].item() if index else out.item()
    left = _at(names[0], ia)
    right = _at(names[1], ib)
    if not _is_tensor(values[0]):
        left = names[0]
    if not _is_tensor(values[1]):
        right = names[1]
    if spec.infix:
        expression = f"{_num(va)} {spec.symbol} {shown_b}"
        label = f"{_at('', index)}: {left} {spec.symbol} {right}"
    else:
        expression = f"{spec.symbol}({_num(va)}, {shown_b})"
        label = f"{_at('', index)}: {spec.symbol}({left}, {right})"
    if isinstance(manual, bool) or isinstance(got, bool):  # written out: a bool reads as a pass
        ok = bool(manual) == bool(got)
        manual, got = str(bool(manual)), str(bool(got))
    elif out.dtype.is_floating_point:
        manual = float(manual)
        ok = agrees(manual, float(got), abs(manual), 1, eps_of(dtype_name(out.dtype)))
    else:
        ok = manual == got
    return Check(t("pointwise.check.element", where=label), expression, manual, got, ok)


def _mismatch(
    call: Call, alignment: Alignment, names: list[str], values: tuple[Any, Any], symbol: str | None
) -> OpError:
    """torch's sentence, and a fix in code that broadcasts, found by trying the usual ones."""
    assert alignment.failed_pair is not None and alignment.failed_sizes is not None
    i, j = alignment.failed_pair
    sizes = alignment.failed_sizes
    ndim = len(alignment.table.rows)
    dim = alignment.failed_dim if alignment.failed_dim is not None else 0
    # torch's sentence as it is (with the operands' names); the rule and the fix in the hint
    message = t("broadcast.mismatch", a=names[i], b=names[j], na=sizes[i], nb=sizes[j], dim=dim)
    why = t("pointwise.mismatch.why", dim=dim, neg=dim - ndim, na=sizes[i], nb=sizes[j])
    fix = _broadcast_fix(call, names, values, symbol)
    hint = t("pointwise.mismatch.hint", fix=fix) if fix else t("broadcast.mismatch.hint")
    return OpError("broadcast_mismatch", message, f"{why} {hint[:1].upper()}{hint[1:]}")


def _broadcast_fix(call: Call, names: list[str], values: tuple[Any, Any], symbol: str | None) -> str:
    a, b = values
    shapes = [list(a.shape), list(b.shape)]
    candidates: list[tuple[int, str, list[int]]] = []
    for k in (0, 1):
        s = shapes[k]
        for d in range(len(s), -1, -1):  # a 1 added, from the end (a column of a vector)
            if len(s) < len(shapes[1 - k]) or d == len(s):
                candidates.append((k, f"{names[k]}.unsqueeze({d})", [*s[:d], 1, *s[d:]]))
        if len(s) >= 2:
            candidates.append((k, f"{names[k]}.mT", [*s[:-2], s[-1], s[-2]]))
    largest = max(math.prod(s) for s in shapes)
    found: list[tuple[bool, bool, str]] = []
    for k, code, shape in candidates:
        try:
            out = broadcast_shape([shape, shapes[1 - k]])
        except RuntimeError:
            continue
        if math.prod(out) > largest:  # a grid of every pair is no fix (see the (N, 1) warning)
            continue
        operands = [code, names[1]] if k == 0 else [names[0], code]
        # best: the result keeps an operand's shape, and a 1 added before a transpose
        found.append((out not in shapes, code.endswith(".mT"), _rewrite(call, operands, symbol)))
    return min(found)[2] if found else ""


def _dtype_error(
    call: Call, names: list[str], values: tuple[Any, Any], symbol: str | None, error: Any
) -> OpError | None:
    """A bitwise op (& | ^ ~) on floating point: torch has it for bool and integers only."""
    text = str(error)
    if "not implemented for" not in text or "bitwise" not in text:
        return None
    floats = [n for n, v in zip(names, values, strict=True) if _is_tensor(v) and v.dtype.is_floating_point]
    if not floats:
        return None
    fixed = [f"({n} > 0)" if n in floats else n for n in names]
    return OpError(
        "pointwise_dtype",
        t(
            "pointwise.bitwise_float",
            names=", ".join(floats),
            op=symbol or call.name,
            torch=torch_error(error).message,
        ),
        t("pointwise.bitwise_float.hint", fix=_rewrite(call, fixed, symbol), op=symbol or call.name),
    )


# --- unary -----------------------------------------------------------------------------------


def _explain_unary(call: Call, op: str) -> Explanation:
    x = call.arg(0, "input", None)
    name = call.names(0, 1)[0] if call.codes else "x"
    ex = _calls.start(call, op, t("pointwise.unary.title", op=call.name))
    ok, out = _calls.run(ex, call)
    if not ok:
        floating = _is_tensor(x) and x.dtype.is_floating_point
        if "not implemented for" in str(out) and op == "bitwise_not" and floating:
            ex.error = OpError(
                "pointwise_dtype",
                t("pointwise.invert_float", name=name, torch=torch_error(out).message),
                t("pointwise.invert_float.hint", name=name),
            )
        return ex
    if not _is_tensor(out) or not _is_tensor(x):
        _calls.result_step(ex, call, out)
        return ex
    shape, dtype = fmt_shape(out.shape), dtype_name(out.dtype)
    note = t("pointwise.unary.note", op=call.name, name=name, shape=shape, dtype=dtype)
    if out.dtype != x.dtype:
        note += " " + t(
            "pointwise.unary.dtype", dtype=dtype_name(out.dtype), before=dtype_name(x.dtype), name=name
        )
    _calls.result_step(ex, call, out, note)
    formula = _UNARY.get(op)
    extra = set(call.kwargs) | ({"more"} if len(call.args) > 1 else set())
    if _layer_op(call.fn) is not None and not _layer_is_default(call.fn):
        extra.add("layer settings")  # nn.GELU(approximate='tanh'): not F.gelu's default formula
    if formula is None:  # F.leaky_relu(x, 0.2), nn.Softplus(beta=2): the formula for its settings
        formula, extra = _set_formula(call, op), set()
    if out.device.type == "meta":
        ex.checks.append(skipped_check())
    elif formula is not None and not extra and out.numel() and not out.is_complex() and out.shape == x.shape:
        index = [0] * out.dim()
        value = x[tuple(index)].item() if index else x.item()
        text, fn = formula
        try:
            manual = fn(value)
        except (ValueError, OverflowError, ZeroDivisionError):
            return ex
        got = out[tuple(index)].item() if index else out.item()
        if isinstance(got, bool) or isinstance(manual, bool):
            ok = bool(manual) == bool(got)
            manual, got = str(bool(manual)), str(bool(got))
        elif out.dtype.is_floating_point:
            import torch

            manual = float(manual)
            # x - tanh(x) and gelu's x * (1 + erf(…)) cancel: torch's rounding is relative to x
            magnitude = max(abs(manual), abs(value)) if op in _CANCELS else abs(manual)
            ok = agrees(manual, float(got), magnitude, 4, max(eps_of(dtype_name(out.dtype)), 1e-15))
            # the value by hand, held in the result's dtype, is torch's: exp(19) is inf in
            # float16, 3e-12 is 0
            ok = ok or torch.tensor(manual, dtype=out.dtype).item() == got
        else:
            ok = manual == got
        at = _at(name, index)
        ex.checks.append(
            Check(
                t("pointwise.check.unary", where=_at("", index) or "[]", formula=text.format(x=at)),
                text.format(x=_num(value)),
                manual,
                got,
                ok,
            )
        )
    return ex


registry.register(
    OpSpec(
        name="pointwise",
        family="pointwise",
        explain=explain,
        targets=TARGETS,
        aliases=("pointwise.binary",),
        summary="pointwise.summary",
    )
)

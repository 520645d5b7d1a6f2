"""The pointwise family: binary ops, comparisons, logical and bitwise ops, unary functions, and
Python's operators on tensors, against torch computed here, real and shape-only."""

from __future__ import annotations

import json
import math
import operator
import re
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import OPERATORS, assert_schema, assert_tensor
from test_lang import ENGLISH_WORDS, WORD, doc_texts

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import pointwise as family
from tensorshape_cli.registry import Call

X = torch.tensor([[1.0, 2.0, 3.0], [4.0, -5.0, 6.5]])
Y = torch.tensor([0.5, -1.5, 2.0])
IX = torch.tensor([[1, 2, 3], [4, 5, 6]])
SYMBOLS = {fn: symbol for fn, symbol in OPERATORS.items() if symbol != "@"}  # @ is a contraction


def explain(fn: Any, a: Any, b: Any, names: tuple[str, str] = ("x", "y"), lang: str = "en", **kw: Any):
    """An operator (operator.add: `x + y`, through the operators spec, as expr calls it), a
    function (torch.add(x, y)) or a method (x.add(y))."""
    if fn in SYMBOLS:
        name, code, spec = SYMBOLS[fn], f"{names[0]} {SYMBOLS[fn]} {names[1]}", "operators"
    elif getattr(fn, "__qualname__", "").startswith("TensorBase") or fn.__name__.startswith("__"):
        name, code, spec = f".{fn.__name__}", f"{names[0]}.{fn.__name__}({names[1]})", "pointwise"
    else:
        name, code, spec = f"torch.{fn.__name__}", f"torch.{fn.__name__}({names[0]}, {names[1]})", "pointwise"
    call = Call(fn=fn, name=name, args=(a, b), kwargs=kw, codes=list(names), code=code)
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get(spec).explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def explain_unary(fn: Any, x: Any, lang: str = "en", **kw: Any):
    name = f"torch.{fn.__name__}" if fn not in (F.relu, F.gelu, F.silu) else f"F.{fn.__name__}"
    call = Call(fn=fn, name=name, args=(x,), kwargs=kw, codes=["x"], code=f"{name}(x)")
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("pointwise").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def element_check(doc: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["label"].startswith(("element", "elemento")))


def _english_in(doc: dict[str, Any]) -> list[str]:
    words, _ = doc_texts(doc)
    words = [re.sub(r"\(según torch: .*\)", "", w) for w in words]
    return [w for text in words for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]


def test_every_target_resolves_and_is_claimed():
    spec = registry.get("pointwise")
    for path in spec.targets:
        target = registry.resolve(path)
        if target is None:  # a name this torch lacks
            continue
        assert registry.for_callable(target) is spec, path
    for fn in (torch.add, torch.Tensor.mul, torch.Tensor.__radd__, torch.exp, F.relu, torch.special.expit):
        assert registry.for_callable(fn) is spec


def test_runtime_ids_are_in_both_catalogs():
    for msg_id in family.DYNAMIC_IDS:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


@pytest.mark.parametrize(
    ("fn", "a", "b"),
    [
        (operator.add, X, Y),
        (operator.sub, X, Y),
        (operator.mul, X, 2.5),
        (operator.truediv, X, Y),
        (operator.truediv, IX, 4),
        (operator.pow, X, 2),
        (operator.floordiv, X, Y),
        (operator.mod, X, Y),
        (operator.lt, X, Y),
        (operator.eq, IX, 5),
        (operator.and_, IX, 6),
        (operator.xor, IX > 2, IX < 5),
        (operator.sub, 10, X),
        (torch.maximum, X, Y),
        (torch.minimum, X, Y),
        (torch.atan2, X, Y),
        (torch.fmod, X, Y),
        (torch.logical_and, X, Y),
        (torch.Tensor.add, X, Y),
        (torch.Tensor.__rsub__, X, 1.0),
        (torch.Tensor.__rtruediv__, X, 3),
        (torch.ge, IX, Y),
        (torch.hypot, X, Y),
    ],
)
def test_binary_against_torch(fn, a, b):
    want = fn(a, b)
    ex, doc = explain(fn, a, b)
    assert doc["error"] is None
    assert_tensor(doc["result"], want)
    check = element_check(doc)
    index = [int(i) for i in re.findall(r"\d+", check["label"].split(":")[0])]
    got = want[tuple(index)].item()
    assert str(check["torch"]) == str(got) if want.dtype == torch.bool else check["torch"] == got
    assert check["ok"], check
    assert ex.ok


def test_the_hand_value_is_computed_from_the_inputs():
    """x[1, 0] + y[0] = 4 + 0.5 from the values, not read from torch's result."""
    _, doc = explain(operator.add, X, Y)
    check = element_check(doc)
    assert check["expression"] == "4 + 0.5"
    assert check["manual"] == X[1, 0].item() + Y[0].item()
    assert "x[1, 0] + y[0]" in check["label"]
    _, doc = explain(operator.sub, X, torch.tensor([-1.5, 0.0, 1.0]))
    assert element_check(doc)["expression"] == "4 - (-1.5)"
    _, doc = explain(torch.add, X, Y, alpha=2)
    check = element_check(doc)
    assert check["manual"] == X[1, 0].item() + 2 * Y[0].item() == torch.add(X, Y, alpha=2)[1, 0].item()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (IX, torch.tensor([0.5, 1.5, 2.5])),  # int64 + float32 → float32: a float beats an int
        (IX.int(), 2.5),  # a Python float above an int tensor: the default float dtype
        (X.half(), 2.5),  # the tensor beats a Python number of its category: float16 stays
        (IX.int(), 7),  # int32 stays int32 against a Python int
        (torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([1, -2], dtype=torch.int8)),  # int16
        (X.half(), X.bfloat16()),  # float32
        (IX.int(), IX),  # int64: the wider
        (IX.int(), torch.tensor(2.5, dtype=torch.float64)),  # a 0-dim of a higher category: float64
        (X, torch.tensor(2.5, dtype=torch.float64)),  # a 0-dim of the same category: float32 stays
        (IX > 2, IX),  # bool with int64
        (IX > 2, 1.5),  # bool with a Python float
    ],
)
def test_type_promotion_against_torch_result_type(a, b):
    ex, doc = explain(operator.add, a, b)
    want = torch.result_type(a, b)
    assert_tensor(doc["result"], a + b)
    step = next(s for s in doc["steps"] if s["title"] == CATALOGS["en"]["pointwise.promote.title"])
    assert str(want).removeprefix("torch.") in step["note"]
    check = next(c for c in doc["checks"] if c["label"].startswith("promoted dtype"))
    assert check["torch"] == str(want).removeprefix("torch.")
    assert check["manual"] == check["torch"] and check["ok"]  # the rule, worked out by hand, agrees
    assert ex.ok


def test_promotion_says_why():
    _, doc = explain(operator.add, IX, torch.tensor([0.5, 1.5, 2.5]))
    note = doc["steps"][-1]["note"]
    assert "a floating point beats an integer, so float32" in note
    _, doc = explain(operator.mul, X.half(), 2.5)
    assert "a tensor beats a Python number of the same category, so float16 stays" in doc["steps"][-1]["note"]
    _, doc = explain(operator.truediv, IX, 4)
    assert "True division then gives floating point even for integers: float32" in doc["steps"][-1]["note"]
    _, doc = explain(operator.add, X, Y)  # same dtype: no promotion step
    assert all(s["title"] != CATALOGS["en"]["pointwise.promote.title"] for s in doc["steps"])


def test_the_n1_against_n_warning_names_the_operands_and_the_fix():
    pred, target = torch.tensor([[1.0], [2.0], [3.0], [4.0]]), torch.tensor([0.5, 1.5, 2.5, 3.5])
    _ex, doc = explain(operator.sub, pred, target, names=("pred", "target"))
    assert_tensor(doc["result"], pred - target)
    note = doc["steps"][-1]["note"]
    assert "pred (4, 1) against target (4,) broadcasts to (4, 4)" in note
    assert "pred.squeeze(1) - target" in note and "pred - target.unsqueeze(1)" in note
    assert (pred.squeeze(1) - target).shape == (4,) and (pred - target.unsqueeze(1)).shape == (4, 1)
    check = element_check(doc)  # element [1, 0] pairs pred[1] with target[0]: the grid
    assert check["expression"] == "2 - 0.5" and check["torch"] == (pred - target)[1, 0].item()
    _, doc = explain(torch.sub, target, pred, names=("target", "pred"))
    assert "torch.sub(target, pred.squeeze(1))" in doc["steps"][-1]["note"]
    for a, b in ((pred, torch.tensor([2.0])), (pred, pred), (X, Y), (torch.ones(1, 1), torch.ones(1))):
        _, doc = explain(operator.sub, a, b)
        assert "squeeze" not in doc["steps"][-1]["note"]


def test_shape_only_keeps_shapes_promotion_and_the_warning():
    pred, target = torch.empty(4, 1, device="meta"), torch.empty(4, dtype=torch.int64, device="meta")
    _ex, doc = explain(operator.sub, pred, target, names=("pred", "target"))
    want = torch.empty(4, 1) - torch.empty(4, dtype=torch.int64)
    assert doc["result"]["shape"] == list(want.shape) and doc["result"]["dtype"] == "float32"
    assert "pred.squeeze(1) - target" in doc["steps"][-1]["note"]
    labels = [c["label"] for c in doc["checks"]]
    assert "promoted dtype (torch.result_type)" in labels
    assert CATALOGS["en"]["check.skipped.label"] in labels
    assert not any(label.startswith("element") for label in labels)


def test_a_broadcast_mismatch_is_explained_with_a_fix():
    a, b = torch.ones(2, 3), torch.ones(2, 4)
    with pytest.raises(RuntimeError) as raised:
        a + b
    _ex, doc = explain(operator.add, a, b, names=("a", "b"))
    assert doc["error"]["kind"] == "broadcast_mismatch"
    assert str(raised.value) in doc["error"]["message"]  # torch's own sentence, then the rule
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert table["status"] == ["ok", "mismatch"]
    b2, v = torch.ones(2, 3), torch.ones(2)
    _, doc = explain(operator.add, b2, v, names=("b", "v"))
    assert doc["error"]["kind"] == "broadcast_mismatch"
    assert "b + v.unsqueeze(1)" in doc["error"]["hint"]
    assert (b2 + v.unsqueeze(1)).shape == b2.shape  # the fix works
    _, doc = explain(operator.add, torch.ones(3, 2), torch.ones(2, 3), names=("p", "q"))
    assert "p.mT + q" in doc["error"]["hint"] or "p + q.mT" in doc["error"]["hint"]


def test_bitwise_on_floats_is_explained():
    with pytest.raises(RuntimeError):
        X & Y
    _, doc = explain(operator.and_, X, Y)
    assert doc["error"]["kind"] == "pointwise_dtype"
    assert "(x > 0) & (y > 0)" in doc["error"]["hint"]
    assert ((X > 0) & (Y > 0)).dtype == torch.bool


@pytest.mark.parametrize(
    ("fn", "by_hand"),
    [
        (torch.exp, math.exp),
        (torch.log, math.log),
        (torch.sin, math.sin),
        (torch.tanh, math.tanh),
        (torch.abs, abs),
        (torch.sqrt, math.sqrt),
        (torch.sigmoid, lambda v: 1 / (1 + math.exp(-v))),
        (F.relu, lambda v: max(0.0, v)),
        (F.gelu, lambda v: v * (1 + math.erf(v / math.sqrt(2))) / 2),
        (F.silu, lambda v: v / (1 + math.exp(-v))),
        (torch.Tensor.exp, math.exp),
        (torch.Tensor.__neg__, lambda v: -v),
    ],
)
@pytest.mark.parametrize("x", [torch.tensor([[0.5, 2.0], [3.0, 4.0]]), torch.tensor([-1.25, 2.0])])
def test_unary_against_torch(fn, by_hand, x):
    want = fn(x)
    ex, doc = explain_unary(fn, x)
    assert_tensor(doc["result"], want)
    if fn in (torch.log, torch.sqrt) and x.flatten()[0] < 0:
        return
    check = element_check(doc)
    first = x.flatten()[0].item()
    assert check["torch"] == want.flatten()[0].item()
    assert check["manual"] == pytest.approx(by_hand(first), rel=1e-12)
    assert check["ok"] and ex.ok


def test_unary_without_a_formula_makes_no_check_and_int_inputs_say_the_dtype():
    _, doc = explain_unary(torch.round, X)
    assert_tensor(doc["result"], torch.round(X))
    assert doc["checks"] == []
    _, doc = explain_unary(torch.exp, IX)
    assert doc["result"]["dtype"] == "float32"
    assert "float32 while x is int64" in doc["steps"][-1]["note"]
    _, doc = explain_unary(torch.exp, torch.empty(2, 3, device="meta"))
    assert doc["result"]["shape"] == [2, 3]
    assert [c["label"] for c in doc["checks"]] == [CATALOGS["en"]["check.skipped.label"]]


def test_spanish():
    _, doc = explain(operator.add, IX, torch.tensor([0.5, 1.5, 2.5]), lang="es")
    assert "gana la categoría más alta" in doc["steps"][-1]["note"]
    assert not _english_in(doc), _english_in(doc)
    pred, target = torch.ones(4, 1), torch.ones(4)
    _, doc = explain(operator.sub, pred, target, names=("pred", "target"), lang="es")
    assert "pred.squeeze(1) - target" in doc["steps"][-1]["note"]
    assert not _english_in(doc), _english_in(doc)
    _, doc = explain(operator.add, torch.ones(2, 3), torch.ones(2), names=("b", "v"), lang="es")
    assert doc["error"]["kind"] == "broadcast_mismatch"
    assert not _english_in(doc), _english_in(doc)
    _, doc = explain_unary(torch.exp, IX, lang="es")
    assert not _english_in(doc), _english_in(doc)


def test_through_expr(tshape):
    r = tshape(
        "expr", "pred - target", "-t", "pred=[[1.0], [2.0], [3.0]]", "-t", "target=[1, 2, 3]", "--json"
    )
    assert r.code == 0, r.stderr
    doc = r.doc
    pred, target = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1, 2, 3])
    assert_tensor(doc["result"], pred - target)
    assert "pred.squeeze(1) - target" in doc["steps"][-1]["note"]
    assert "a floating point beats an integer" in doc["steps"][-1]["note"]
    check = next(c for c in doc["checks"] if c["label"].startswith("element"))
    assert check["torch"] == (pred - target)[1, 0].item() and check["ok"]
    r = tshape("expr", "x + y", "-t", "x=shape(2,3)", "-t", "y=shape(4)")
    assert r.code == 1
    assert (
        "The size of tensor x (3) must match the size of tensor y (4) at non-singleton dimension 1"
        in r.stdout
    )
    r = tshape("broadcast", "shape(2,3)", "shape(3)", "--json")
    assert r.code == 0 and r.doc["op"] == "broadcast"


def test_integer_results_wrap_as_torch_holds_them_and_edge_values_make_no_fake_check():
    a, b = torch.tensor([200, 100], dtype=torch.uint8), torch.tensor([100, 100], dtype=torch.uint8)
    ex, doc = explain(operator.add, a, b)
    check = element_check(doc)
    assert check["torch"] == (a + b)[1].item() == check["manual"] and ex.ok
    neg = torch.tensor([4.0, -8.0])
    ex, doc = explain(operator.pow, neg, 1 / 3)
    assert math.isnan((neg ** (1 / 3))[1].item())  # torch's nan, where Python goes complex
    assert math.isnan(element_check(doc)["manual"]) and element_check(doc)["ok"]
    ex, doc = explain_unary(torch.bitwise_not, torch.tensor([True, False]))
    assert_tensor(doc["result"], ~torch.tensor([True, False]))
    assert element_check(doc)["torch"] == "False" and ex.ok


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_promotion_reason_formats_with_its_parameters(lang):
    """Each reason id of pointwise._predict, reached and formatted (a missing parameter raises)."""
    pairs = [
        (IX, torch.tensor([0.5])),  # category
        (IX.int(), IX),  # wider
        (torch.tensor([1], dtype=torch.uint8), torch.tensor([1], dtype=torch.int8)),  # mixed_int
        (X.half(), X.bfloat16()),  # half_bfloat
        (IX, IX),  # same
        (IX.int(), 2.5),  # scalar_higher
        (X.half(), 2.5),  # scalar_same
        (X, torch.tensor(1.0, dtype=torch.float64)),  # zerodim_same
        (IX, torch.tensor(1.0)),  # zerodim_higher
        (X.double(), torch.ones(3, dtype=torch.complex64)),  # torch (outside the table)
    ]
    reasons = set()
    with settings.use(settings.Settings(lang=lang)):
        for a, b in pairs:
            guess = family._predict(["a", "b"], (a, b))
            reasons.add(guess.reason)
            text = CATALOGS[lang][guess.reason].format(**(guess.params | {"dr": "x"}))
            assert "{" not in text
    assert reasons == {f"pointwise.promote.{r}" for r in family.DYNAMIC_IDS_PROMOTE}


# --- activation layers: nn.ReLU()(x) is F.relu(x) ------------------------------------------------

LAYER_X = torch.tensor([[-1.5, 0.25, 2.0], [3.0, -0.5, 0.0]])


@pytest.mark.parametrize("layer", sorted(family._LAYERS))
def test_an_activation_layer_is_explained_as_its_function(tshape, layer):
    want = getattr(torch.nn, layer)()(LAYER_X)
    result = tshape("expr", f"nn.{layer}()(x)", "-t", f"x={LAYER_X.tolist()}", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_tensor(doc["result"], want)
    spec = registry.for_callable(getattr(torch.nn, layer))
    assert spec is not None and spec.family == "pointwise"
    (check,) = [c for c in doc["checks"] if c["label"].startswith("element")]
    assert check["ok"] and check["torch"] == pytest.approx(want[0, 0].item(), rel=1e-6)
    assert check["manual"] == pytest.approx(want[0, 0].item(), rel=1e-5, abs=1e-7)


SETTINGS = [
    ("nn.LeakyReLU(0.2)", torch.nn.LeakyReLU(0.2)),
    ("nn.ELU(alpha=0.5)", torch.nn.ELU(alpha=0.5)),
    ("nn.CELU(2.0)", torch.nn.CELU(2.0)),
    ("nn.Hardtanh(-0.5, 0.5)", torch.nn.Hardtanh(-0.5, 0.5)),
    ("nn.Softplus(beta=2, threshold=1)", torch.nn.Softplus(beta=2, threshold=1)),
    ("nn.Softshrink(1.0)", torch.nn.Softshrink(1.0)),
    ("nn.Hardshrink(2.0)", torch.nn.Hardshrink(2.0)),
    ("F.leaky_relu(x, 0.3)", lambda x: F.leaky_relu(x, 0.3)),
    ("F.elu(x, alpha=2.0)", lambda x: F.elu(x, alpha=2.0)),
    ("F.softplus(x, 3, 0.5)", lambda x: F.softplus(x, 3, 0.5)),
    ("F.hardtanh(x, min_val=-2.0, max_val=0.1)", lambda x: F.hardtanh(x, min_val=-2.0, max_val=0.1)),
]


@pytest.mark.parametrize(("code", "fn"), SETTINGS, ids=[c for c, _ in SETTINGS])
@pytest.mark.parametrize("first", [-1.5, 0.75, 3.0])
def test_an_activation_with_settings_is_checked_with_its_settings(tshape, code, fn, first):
    x = LAYER_X.clone()
    x[0, 0] = first
    want = fn(x)
    expression = code if code.startswith("F.") else f"{code}(x)"
    result = tshape("expr", expression, "-t", f"x={x.tolist()}", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_tensor(doc["result"], want)
    (check,) = [c for c in doc["checks"] if c["label"].startswith("element")]
    assert check["ok"] and check["torch"] == pytest.approx(want[0, 0].item(), rel=1e-6)
    assert check["manual"] == pytest.approx(want[0, 0].item(), rel=1e-5, abs=1e-7)


def test_a_layer_built_with_settings_gets_no_default_formula(tshape):
    # nn.GELU(approximate='tanh') is not erf's GELU: no check rather than a wrong one
    result = tshape("expr", "nn.GELU(approximate='tanh')(x)", "-t", f"x={LAYER_X.tolist()}", "--json")
    assert result.code == 0, result.stderr
    assert not [c for c in json.loads(result.stdout)["checks"] if c["label"].startswith("element")]


def test_an_unknown_argument_gets_no_formula():
    call = Call(F.leaky_relu, "F.leaky_relu", (LAYER_X,), {"slope": 0.2}, codes=["x"])
    assert family._set_formula(call, "leaky_relu") is None
    call = Call(F.leaky_relu, "F.leaky_relu", (LAYER_X, 0.2), codes=["x", "0.2"])
    text, fn = family._set_formula(call, "leaky_relu")
    assert "0.2" in text and fn(-1.0) == pytest.approx(-0.2)


def test_a_subclassed_layer_is_not_taken_for_torchs():
    class Doubled(torch.nn.ReLU):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * super().forward(x)

    assert family._layer_op(Doubled()) is None
    assert family._layer_op(torch.nn.ReLU()) == "relu"


# Each formula against torch on a grid of inputs and settings, in float64 (torch computed here).
GRID = [-30.0, -6.0, -3.0, -1.5, -0.5, -1e-3, 0.0, 1e-3, 0.25, 0.5, 1.0, 2.9, 3.0, 6.5, 19.0, 21.0, 40.0]
SETTINGS_GRID = {
    "leaky_relu": [{}, {"negative_slope": 0.2}, {"negative_slope": -1.5}],
    "elu": [{}, {"alpha": 0.5}, {"alpha": 2.0}],
    "celu": [{}, {"alpha": 0.5}, {"alpha": 3.0}],
    "hardtanh": [{}, {"min_val": -0.5, "max_val": 2.0}],
    "softplus": [{}, {"beta": 2.0, "threshold": 1.0}, {"beta": 0.5, "threshold": 30.0}],
    "softshrink": [{}, {"lambd": 1.0}],
    "hardshrink": [{}, {"lambd": 2.0}],
}


@pytest.mark.parametrize("op", sorted(family._SET))
def test_each_formula_with_settings_is_torchs(op):
    for kwargs in SETTINGS_GRID.get(op, [{}]):
        x = torch.tensor(GRID, dtype=torch.float64)
        want = getattr(F, op)(x, **kwargs)
        call = Call(getattr(F, op), f"F.{op}", (x,), dict(kwargs), codes=["x"])
        _, fn = family._set_formula(call, op)
        for value, expected in zip(GRID, want.tolist(), strict=True):
            assert fn(value) == pytest.approx(expected, rel=1e-9, abs=1e-12), (op, kwargs, value)


@pytest.mark.parametrize("op", sorted(family._UNARY))
def test_each_unary_formula_is_torchs(op):
    fn = getattr(torch, op, None) or getattr(F, op)
    values = [int(v) for v in GRID] if op == "bitwise_not" else [v for v in GRID if abs(v) < 25]
    x = torch.tensor(values, dtype=torch.int64 if op == "bitwise_not" else torch.float64)
    _, formula = family._UNARY[op]
    for value, expected in zip(values, fn(x).tolist(), strict=True):
        got = formula(value)
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got), (op, value)
        else:
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (op, value)


EDGES = [*GRID, -2.5, 0.3, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("op", sorted((set(family._UNARY) | set(family._SET)) - {"bitwise_not"}))
def test_no_hand_check_is_wrong_at_the_edges(op):
    # nan, infinities, overflow in float16, cancellation (x - tanh(x) near 0), each dtype:
    # a ✗ here would accuse torch of a result it gets right
    fn = getattr(F, op) if op in family._ACTIVATIONS else getattr(torch, op)
    spec = registry.get("pointwise")
    for kwargs in SETTINGS_GRID.get(op, [{}]):
        for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
            for value in EDGES:
                x = torch.tensor([value], dtype=dtype)
                try:
                    fn(x, **kwargs)
                except RuntimeError:  # not implemented for this dtype
                    continue
                ex = spec.explain(Call(fn, op, (x,), dict(kwargs), codes=["x"], code=f"{op}(x)"))
                wrong = [(c.expression, c.manual, c.torch) for c in ex.checks if not c.ok]
                assert not wrong, (op, kwargs, dtype, value, wrong)

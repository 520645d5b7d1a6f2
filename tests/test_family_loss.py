"""Losses: the family spec against torch computed here, real and shape-only, both languages."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import english_words
from torch import nn

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import loss as family
from tensorshape_cli.registry import Call

X = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
Y = torch.tensor([2, 0])
P = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])  # one probability row per sample
Z = torch.tensor([[0.5, -1.0], [2.0, 0.25], [-0.5, 1.5]])
T = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
PR = torch.tensor([[0.9, 0.2], [0.6, 0.4], [0.1, 0.7]])


def explain(
    fn: Any, x: Any, y: Any, name: str = "", lang: str = "en", **kw: Any
) -> tuple[Any, dict[str, Any]]:
    name = name or f"F.{fn.__name__}"
    extra = "".join(f", {k}={v!r}" for k, v in kw.items())
    call = Call(
        fn=fn,
        name=name,
        args=(x, y),
        kwargs=kw,
        codes=["x", "y"],
        keyword_codes={k: repr(v) for k, v in kw.items()},
        code=f"{name}(x, y{extra})",
    )
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("loss").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def terms_checks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in doc["checks"] if c["label"].startswith(("term [", "término ["))]


def test_layers_and_functions_are_claimed():
    spec = registry.get("loss")
    assert registry.for_callable(nn.CrossEntropyLoss) is spec
    assert registry.for_callable(F.mse_loss) is spec


def test_runtime_ids_are_in_both_catalogs():
    for msg_id in family.RUNTIME_IDS:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_class_indices(reduction):
    y = F.cross_entropy(X, Y, reduction=reduction)
    none = F.cross_entropy(X, Y, reduction="none")
    ex, doc = explain(F.cross_entropy, X, Y, reduction=reduction)
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], y)
    checks = terms_checks(doc)
    assert len(checks) == 2
    for i, check in enumerate(checks):
        row = X[i].tolist()
        hand = -(row[Y[i]] - math.log(sum(math.exp(v) for v in row)))
        assert check["torch"] == none[i].item()
        assert check["manual"] == pytest.approx(hand, rel=1e-12)
        assert check["ok"]
    assert checks[0]["label"] == "term [0]: -(x[0, 2] - log(e^x[0, 0] + e^x[0, 1] + e^x[0, 2]))"
    assert checks[0]["expression"] == "-(3 - log(e^1 + e^2 + e^3))"
    by_code = {s["code"]: s for s in doc["steps"]}
    assert_tensor(by_code["F.cross_entropy(x, y, reduction='none')"]["tensor"], none)
    if reduction != "none":
        red = doc["checks"][-1]
        assert red["torch"] == y.item()
        assert red["manual"] == pytest.approx(y.item(), rel=1e-6) and red["ok"]
        assert "2 terms" in doc["steps"][-1]["note"]


def test_a_wrong_hand_term_would_show_as_a_cross(monkeypatch):
    monkeypatch.setattr(family, "_class_term", lambda *a: 0.5)
    ex, doc = explain(F.cross_entropy, X, Y)
    assert not ex.ok
    assert any(not c["ok"] for c in doc["checks"])


def test_cross_entropy_weights_ignore_index_and_smoothing():
    w = torch.tensor([1.0, 2.0, 0.5])
    y3 = torch.tensor([2, 0, -100])
    x3 = torch.cat([X, torch.tensor([[5.0, 0.0, 1.0]])])
    expected = F.cross_entropy(x3, y3, weight=w)
    ex, doc = explain(F.cross_entropy, x3, y3, weight=w)
    assert ex.ok
    assert_tensor(doc["result"], expected)
    assert doc["checks"][-1]["torch"] == expected.item()
    expected = F.cross_entropy(X, Y, label_smoothing=0.1)
    ex, doc = explain(F.cross_entropy, X, Y, label_smoothing=0.1)
    assert ex.ok and doc["checks"][-1]["manual"] == pytest.approx(expected.item(), rel=1e-6)


def test_cross_entropy_class_probabilities():
    expected = F.cross_entropy(X, P)
    none = F.cross_entropy(X, P, reduction="none")
    ex, doc = explain(F.cross_entropy, X, P)
    assert ex.ok
    assert_tensor(doc["result"], expected)
    checks = terms_checks(doc)
    for i, check in enumerate(checks):
        row = X[i].tolist()
        lse = math.log(sum(math.exp(v) for v in row))
        hand = -sum(p * (v - lse) for p, v in zip(P[i].tolist(), row, strict=True))
        assert check["torch"] == none[i].item()
        assert check["manual"] == pytest.approx(hand, rel=1e-12)
    assert "probabilities" in doc["steps"][2]["note"]


def test_cross_entropy_spatial():
    x = torch.randn(2, 3, 2, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([[0, 2], [1, 1]])
    ex, doc = explain(F.cross_entropy, x, y)
    assert ex.ok
    assert_tensor(doc["result"], F.cross_entropy(x, y), rel=1e-6)
    assert terms_checks(doc)[1]["torch"] == F.cross_entropy(x, y, reduction="none")[0, 1].item()


def test_nll_loss():
    logp = F.log_softmax(X, 1)
    expected = F.nll_loss(logp, Y)
    ex, doc = explain(F.nll_loss, logp, Y)
    assert ex.ok
    assert_tensor(doc["result"], expected)
    check = terms_checks(doc)[0]
    assert check["manual"] == -logp[0, 2].item()
    assert check["label"] == "term [0]: -x[0, 2]"


def _hand(name: str, a: float, b: float) -> float:
    d = a - b
    if name == "mse_loss":
        return d * d
    if name == "l1_loss":
        return abs(d)
    if name in ("smooth_l1_loss", "huber_loss"):
        return 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5
    if name == "binary_cross_entropy":
        return -(b * math.log(a) + (1 - b) * math.log(1 - a))
    if name == "binary_cross_entropy_with_logits":
        s = 1 / (1 + math.exp(-a))
        return -(b * math.log(s) + (1 - b) * math.log(1 - s))
    return b * (math.log(b) - a) if b > 0 else 0.0  # kl_div


ELEMENT_CASES = [
    (F.mse_loss, Z, T),
    (F.l1_loss, Z, T),
    (F.smooth_l1_loss, Z, T),
    (F.huber_loss, Z, T),
    (F.binary_cross_entropy, PR, T),
    (F.binary_cross_entropy_with_logits, Z, T),
    (F.kl_div, Z, PR),
]


@pytest.mark.parametrize(("fn", "x", "y"), ELEMENT_CASES, ids=[c[0].__name__ for c in ELEMENT_CASES])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_element_losses(fn, x, y, reduction):
    expected = quiet(fn, x, y, reduction=reduction)
    none = fn(x, y, reduction="none")
    ex, doc = explain(fn, x, y, reduction=reduction)
    assert doc["error"] is None and ex.ok, doc["checks"]
    assert_tensor(doc["result"], expected)
    checks = terms_checks(doc)
    assert len(checks) == family.HAND_CHECKS
    for i, check in enumerate(checks):
        a, b = x.reshape(-1)[i].item(), y.reshape(-1)[i].item()
        assert check["torch"] == none.reshape(-1)[i].item()
        assert check["manual"] == pytest.approx(_hand(fn.__name__, a, b), rel=1e-9, abs=1e-12)
    if reduction != "none":
        assert doc["checks"][-1]["torch"] == expected.item()
        assert doc["checks"][-1]["ok"]


def test_kl_div_batchmean():
    expected = F.kl_div(Z, PR, reduction="batchmean")
    ex, doc = explain(F.kl_div, Z, PR, reduction="batchmean")
    assert ex.ok
    assert_tensor(doc["result"], expected)
    assert doc["checks"][-1]["torch"] == expected.item()


@pytest.mark.parametrize(
    ("layer", "x", "y"),
    [
        (nn.CrossEntropyLoss(), X, Y),
        (nn.CrossEntropyLoss(reduction="sum", weight=torch.tensor([1.0, 2.0, 3.0])), X, Y),
        (nn.MSELoss(), Z, T),
        (nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5])), Z, T),
        (nn.HuberLoss(delta=0.5), Z, T),
    ],
)
def test_a_called_layer(layer, x, y):
    expected = layer(x, y)
    ex, doc = explain(layer, x, y, name=f"nn.{type(layer).__name__}()")
    assert ex.ok, doc["checks"]
    assert_tensor(doc["result"], expected)
    if layer.reduction != "none":
        assert doc["checks"][-1]["torch"] == pytest.approx(expected.item(), rel=1e-6)


def test_column_against_vector_warns_of_the_broadcast():
    x, y = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = F.mse_loss(x, y)
    ex, doc = explain(F.mse_loss, x, y)
    assert ex.ok
    assert_tensor(doc["result"], expected)
    step = next(s for s in doc["steps"] if s["title"] == CATALOGS["en"]["loss.broadcast.title"])
    both = torch.broadcast_shapes(x.shape, y.shape)
    assert "(3, 3)" in step["note"] and f"{math.prod(both)} terms instead of 3" in step["note"]
    assert "F.mse_loss(x.squeeze(1), y)" in step["note"]
    assert str(caught[0].message) in step["note"]
    assert F.mse_loss(x.squeeze(1), y).shape == ()  # the fix runs


def test_float_class_target():
    with pytest.raises(RuntimeError) as raised:
        F.cross_entropy(X, Y.float())
    _, doc = explain(F.cross_entropy, X, Y.float())
    assert doc["error"]["kind"] == "loss_target_dtype"
    assert str(raised.value) in doc["error"]["message"]
    assert "F.cross_entropy(x, y.long())" in doc["error"]["hint"]
    assert F.cross_entropy(X, Y.float().long()).shape == ()


def test_column_class_target():
    with pytest.raises(RuntimeError) as raised:
        F.cross_entropy(X, Y.view(2, 1))
    _, doc = explain(F.cross_entropy, X, Y.view(2, 1))
    assert doc["error"]["kind"] == "loss_target_shape"
    assert str(raised.value) in doc["error"]["message"]
    assert "F.cross_entropy(x, y.squeeze(1))" in doc["error"]["hint"]


def test_batch_sizes_differ():
    y = torch.tensor([2, 0, 1])
    with pytest.raises(ValueError) as raised:
        F.cross_entropy(X, y)
    for x in (X, X.to("meta")):
        _, doc = explain(F.cross_entropy, x, y.to(x.device))
        assert doc["error"]["kind"] == "loss_batch"
        assert str(raised.value) in doc["error"]["message"]
        assert "(2, 3) has 2 sample(s)" in doc["error"]["message"] and "has 3" in doc["error"]["message"]


@pytest.mark.parametrize(("target", "fix"), [([3, 1], "y - 1"), ([5, 0], "6 class scores")])
def test_class_out_of_range(target, fix):
    y = torch.tensor(target)
    with pytest.raises(IndexError) as raised:
        F.nll_loss(X, y)
    _, doc = explain(F.nll_loss, X, y)
    assert doc["error"]["kind"] == "loss_class_range"
    assert str(raised.value) in doc["error"]["message"]
    assert "[0, 2]" in doc["error"]["message"]
    assert fix in doc["error"]["hint"]


def test_bce_needs_probabilities():
    with pytest.raises(RuntimeError) as raised:
        F.binary_cross_entropy(Z, T)
    _, doc = explain(F.binary_cross_entropy, Z, T)
    assert doc["error"]["kind"] == "loss_not_probabilities"
    assert str(raised.value) in doc["error"]["message"]
    assert "F.binary_cross_entropy_with_logits(x, y)" in doc["error"]["hint"]
    assert F.binary_cross_entropy_with_logits(Z, T).item() == pytest.approx(
        F.binary_cross_entropy(torch.sigmoid(Z), T).item(), rel=1e-5
    )  # the fix computes the intended loss
    with pytest.raises(RuntimeError) as raised:
        F.binary_cross_entropy(PR, Z)
    _, doc = explain(F.binary_cross_entropy, PR, Z)
    assert doc["error"]["kind"] == "loss_not_probabilities"
    assert "target" in doc["error"]["message"]


def test_integer_input_and_target():
    _, doc = explain(F.cross_entropy, X.long(), Y)
    assert doc["error"]["kind"] == "loss_input_dtype"
    assert "F.cross_entropy(x.float(), y)" in doc["error"]["hint"]
    with pytest.raises(RuntimeError) as raised:
        F.binary_cross_entropy(PR, T.long())
    _, doc = explain(F.binary_cross_entropy, PR, T.long())
    assert doc["error"]["kind"] == "loss_target_dtype"
    assert str(raised.value) in doc["error"]["message"]
    assert "y.float()" in doc["error"]["hint"]


def test_shape_mismatch_for_bce_with_logits():
    with pytest.raises(ValueError) as raised:
        F.binary_cross_entropy_with_logits(Z, T[:, :1])
    _, doc = explain(F.binary_cross_entropy_with_logits, Z, T[:, :1])
    assert doc["error"]["kind"] == "loss_target_shape"
    assert str(raised.value) in doc["error"]["message"]


@pytest.mark.parametrize(("fn", "x", "y"), [(F.cross_entropy, X, Y), (F.mse_loss, Z, T), (F.kl_div, Z, PR)])
def test_shape_only(fn, x, y):
    expected = fn(x, y, reduction="none")
    ex, doc = explain(fn, x.to("meta"), y.to("meta"), reduction="none")
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], expected, values=False)
    labels = [c["label"] for c in doc["checks"]]
    assert CATALOGS["en"]["check.skipped.label"] in labels
    assert doc["checks"][0]["torch"] == str(tuple(expected.shape))


@pytest.mark.parametrize(
    ("fn", "x", "y"),
    [
        (F.cross_entropy, X, Y),
        (F.cross_entropy, X, P),
        (F.mse_loss, torch.tensor([[1.0], [2.0]]), torch.tensor([1.0, 0.0])),
        (F.cross_entropy, X, Y.float()),
        (F.cross_entropy, X, torch.tensor([2, 0, 1])),
        (F.nll_loss, X, torch.tensor([3, 1])),
        (F.binary_cross_entropy, Z, T),
    ],
)
def test_spanish(fn, x, y):
    _, doc = explain(fn, x, y, lang="es")
    assert not english_words(doc), english_words(doc)


def test_through_expr(tshape):
    expected = F.cross_entropy(X, Y)
    bind = ["-t", f"x={X.tolist()}", "-t", f"y={Y.tolist()}", "--json"]
    r = tshape("expr", "F.cross_entropy(x, y)", *bind)
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected)
    assert "2 terms" in r.doc["steps"][-1]["note"]
    r = tshape("expr", "nn.CrossEntropyLoss()(x, y)", *bind)
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], nn.CrossEntropyLoss()(X, Y))
    assert "2 terms" in r.doc["steps"][-1]["note"]
    r = tshape("expr", "F.cross_entropy(x, y.float())", *bind)
    assert r.code == 1
    assert r.doc["error"]["kind"] == "loss_target_dtype"


def test_the_broadcast_warning_reaches_expr(tshape):
    a, b = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([1.0, 2.0, 3.0])
    expected = quiet(F.mse_loss, a, b)
    r = tshape("expr", "F.mse_loss(a, b)", "-t", f"a={a.tolist()}", "-t", f"b={b.tolist()}", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected)
    note = r.doc["steps"][-1]["note"]
    assert f"broadcasts to {tuple(torch.broadcast_shapes(a.shape, b.shape))}" in note
    assert "F.mse_loss(a.squeeze(1), b)" in note
    assert f"the sum of the {torch.broadcast_shapes(a.shape, b.shape).numel()} terms" in note

"""The normalization family against torch computed here: which elements go together, one by hand."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import english_words

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import normalization as family
from tensorshape_cli.registry import Call

X = torch.linspace(-2.0, 3.0, 24).reshape(2, 4, 3) ** 2


def explain(fn: Any, name: str, args: tuple[Any, ...], codes: list[str], lang: str = "en", **kw: Any):
    call = Call(fn=fn, name=name, args=args, kwargs=kw, codes=codes, code=f"{name}({', '.join(codes)})")
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("layer_norm").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def test_runtime_ids_are_in_both_catalogs():
    for msg_id in family.RUNTIME_IDS:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


W4, B4 = torch.tensor([2.0, 1.0, 0.5, 3.0]), torch.tensor([0.1, -1.0, 0.0, 2.0])
CASES = [
    ("layer_norm", F.layer_norm, (X, (3,)), {}, X[0, 0, :]),
    ("layer_norm2", F.layer_norm, (X, (4, 3), torch.full((4, 3), 2.0), torch.ones(4, 3)), {}, X[0]),
    ("group_norm", F.group_norm, (X, 2, W4, B4), {}, X[0, :2]),
    ("instance_norm", F.instance_norm, (X,), {}, X[0, 0]),
    (
        "batch_norm_train",
        F.batch_norm,
        (X, torch.zeros(4), torch.ones(4), W4, B4),
        {"training": True},
        X[:, 0],
    ),
    ("batch_norm_eval", F.batch_norm, (X, torch.full((4,), 0.5), torch.full((4,), 3.0), W4, B4), {}, None),
    ("rms_norm", F.rms_norm, (X, (3,)), {}, X[0, 0, :]),
    ("normalize", F.normalize, (X,), {}, X[0, :, 0]),
]


@pytest.mark.parametrize(("label", "fn", "args", "kw", "group"), CASES, ids=[c[0] for c in CASES])
def test_against_torch(label, fn, args, kw, group):
    y = fn(*args, **kw)
    ex, doc = explain(fn, f"F.{fn.__name__}", args, ["x", *map(str, range(1, len(args)))], **kw)
    assert doc["error"] is None
    assert_tensor(doc["result"], y)
    assert ex.ok
    element = doc["checks"][-1]
    assert element["label"] == "y[0, 0, 0]"
    assert element["torch"] == y[0, 0, 0].item()
    assert element["manual"] == pytest.approx(y[0, 0, 0].item(), rel=1e-5, abs=1e-6)
    labels = [c["label"] for c in doc["checks"]]
    if CATALOGS["en"]["normalization.check.mean"] in labels:
        mean = doc["checks"][labels.index(CATALOGS["en"]["normalization.check.mean"])]
        var = doc["checks"][labels.index(CATALOGS["en"]["normalization.check.var"])]
        assert mean["torch"] == group.double().mean().item()
        assert var["torch"] == group.double().var(correction=0).item()
        assert var["manual"] == pytest.approx(group.double().var(correction=0).item())


def test_batch_norm_training_leaves_the_running_stats_as_given():
    rm, rv = torch.zeros(4), torch.ones(4)
    explain(F.batch_norm, "F.batch_norm", (X, rm, rv), ["x", "rm", "rv"], training=True)
    assert torch.equal(rm, torch.zeros(4)) and torch.equal(rv, torch.ones(4))


def test_a_wrong_hand_formula_would_fail(monkeypatch):
    monkeypatch.setattr(family, "_first_param", lambda p, default: default + 1.0)
    ex, _ = explain(F.layer_norm, "F.layer_norm", (X, (3,)), ["x", "(3,)"])
    assert not ex.ok


def test_torch_batch_norm_argument_order():
    w, b, rm, rv = torch.full((4,), 2.0), torch.ones(4), torch.full((4,), 0.5), torch.full((4,), 3.0)
    y = torch.batch_norm(X, w, b, rm, rv, False, 0.1, 1e-5, False)
    ex, doc = explain(
        torch.batch_norm, "torch.batch_norm", (X, w, b, rm, rv, False, 0.1, 1e-5, False), ["x"] * 9
    )
    assert_tensor(doc["result"], y)
    assert ex.ok


def test_layer_norm_shape_mismatch():
    with pytest.raises(RuntimeError) as raised:
        F.layer_norm(X, (4,))
    for x in (X, X.to("meta")):
        _, doc = explain(F.layer_norm, "F.layer_norm", (x, (4,)), ["x", "(4,)"])
        assert doc["error"]["kind"] == "norm_shape"
        assert f"nn.LayerNorm({X.shape[-1]})" in doc["error"]["hint"]
    assert str(raised.value) in explain(F.layer_norm, "F.layer_norm", (X, (4,)), ["x"])[1]["error"]["message"]
    assert torch.nn.LayerNorm(X.shape[-1])(X).shape == X.shape  # the fix works


def test_batch_norm_channels_and_the_sequence_fix():
    seq = torch.randn(2, 5, 3)  # (N, L, C)
    with pytest.raises(RuntimeError):
        F.batch_norm(seq, torch.zeros(3), torch.ones(3))
    _, doc = explain(F.batch_norm, "F.batch_norm", (seq, torch.zeros(3), torch.ones(3)), ["x", "rm", "rv"])
    assert doc["error"]["kind"] == "batch_norm_channels"
    assert "nn.BatchNorm1d(3)(x.transpose(1, 2)).transpose(1, 2)" in doc["error"]["hint"]
    assert torch.nn.BatchNorm1d(3)(seq.transpose(1, 2)).transpose(1, 2).shape == seq.shape
    _, doc = explain(
        F.batch_norm, "F.batch_norm", (torch.randn(2, 6, 5, 5), torch.zeros(3), torch.ones(3)), ["x"]
    )
    assert "nn.BatchNorm2d(6)" in doc["error"]["hint"]


def test_group_norm_groups_must_divide_channels():
    with pytest.raises(RuntimeError):
        F.group_norm(X, 3)
    for x in (X, X.to("meta")):
        _, doc = explain(F.group_norm, "F.group_norm", (x, 3), ["x", "3"])
        assert doc["error"]["kind"] == "group_norm_groups"
        assert "nn.GroupNorm(2, 4)" in doc["error"]["hint"]
    assert torch.nn.GroupNorm(2, 4)(X).shape == X.shape


def test_batch_norm_one_value_per_channel_in_training():
    one = torch.randn(1, 3)
    with pytest.raises(ValueError):
        F.batch_norm(one, torch.zeros(3), torch.ones(3), training=True)
    _, doc = explain(F.batch_norm, "F.batch_norm", (one, torch.zeros(3), torch.ones(3)), ["x"], training=True)
    assert doc["error"]["kind"] == "batch_norm_one_value"
    assert "model.eval()" in doc["error"]["hint"]


def test_shape_only():
    x = torch.empty(2, 4, 3, device="meta")
    y = F.group_norm(torch.zeros(2, 4, 3), 2)
    ex, doc = explain(F.group_norm, "F.group_norm", (x, 2), ["x", "2"])
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], y, values=False)
    assert CATALOGS["en"]["check.skipped.label"] in [c["label"] for c in doc["checks"]]


def test_spanish():
    _, doc = explain(F.layer_norm, "F.layer_norm", (X, (3,)), ["x", "(3,)"], lang="es")
    assert CATALOGS["es"]["normalization.group.title"] in [s["title"] for s in doc["steps"]]
    assert not english_words(doc), english_words(doc)
    _, doc = explain(F.group_norm, "F.group_norm", (X, 3), ["x", "3"], lang="es")
    assert "canales" in doc["error"]["message"]
    assert not english_words(doc), english_words(doc)

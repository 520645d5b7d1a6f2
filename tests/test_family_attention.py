"""scaled_dot_product_attention: the family spec against torch computed here, real and shape-only."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import ENGLISH_WORDS, WORD, doc_texts
from torch import nn

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.registry import Call

Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
K = torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]])
V = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
M = torch.tensor([[True, False, True], [True, True, False]])
SDPA = F.scaled_dot_product_attention


def explain(q: Any, k: Any, v: Any, lang: str = "en", **kw: Any) -> tuple[Any, dict[str, Any]]:
    codes = {k2: ("m" if isinstance(v2, torch.Tensor) else repr(v2)) for k2, v2 in kw.items()}
    extra = "".join(f", {k2}={c}" for k2, c in codes.items())
    call = Call(
        fn=SDPA,
        name="F.scaled_dot_product_attention",
        args=(q, k, v),
        kwargs=kw,
        codes=["q", "k", "v"],
        keyword_codes=codes,
        code=f"F.scaled_dot_product_attention(q, k, v{extra})",
    )
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("scaled_dot_product_attention").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def hand_row(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: list[float]) -> list[float]:
    """The first output row in plain Python."""
    qr, kr, vr = q[0].tolist(), k.tolist(), v.tolist()
    scale = 1 / math.sqrt(len(qr))
    s = [
        scale * sum(a * b for a, b in zip(qr, row, strict=True)) + m for row, m in zip(kr, bias, strict=True)
    ]
    e = [math.exp(x - max(s)) for x in s]
    w = [x / sum(e) for x in e]
    return [sum(wi * row[j] for wi, row in zip(w, vr, strict=True)) for j in range(len(vr[0]))]


def test_every_target_resolves_and_is_claimed():
    spec = registry.get("scaled_dot_product_attention")
    for path in spec.targets:
        target = registry.resolve(path)
        assert target is not None, path
        assert registry.for_callable(target) is spec, path


@pytest.mark.parametrize(
    ("kw", "bias"),
    [
        ({}, [0.0, 0.0, 0.0]),
        ({"is_causal": True}, [0.0, -math.inf, -math.inf]),
        ({"attn_mask": M}, [0.0, -math.inf, 0.0]),
        ({"attn_mask": torch.tensor([[0.0, -1.0, 0.5], [0.0, 0.0, 0.0]])}, [0.0, -1.0, 0.5]),
    ],
)
def test_against_torch(kw, bias):
    expected = SDPA(Q, K, V, **kw)
    ex, doc = explain(Q, K, V, **kw)
    assert doc["error"] is None and ex.ok, doc["checks"]
    assert_tensor(doc["result"], expected)
    elements = [c for c in doc["checks"] if c["label"].startswith("output [")]
    row = hand_row(Q, K, V, bias)
    assert len(elements) == 3
    for j, check in enumerate(elements):
        assert check["torch"] == expected[0, j].item()
        assert check["manual"] == pytest.approx(row[j], rel=1e-9)
    score = next(c for c in doc["checks"] if c["label"].startswith("score"))
    assert score["manual"] == pytest.approx((Q[0] @ K[0]).item() / math.sqrt(2))
    by_title = {s["title"]: s for s in doc["steps"]}
    scores = by_title[CATALOGS["en"]["attention.scores.title"]]
    assert scores["code"] == "q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5"
    assert_tensor(scores["tensor"], Q @ K.transpose(-2, -1) * Q.shape[-1] ** -0.5)
    weights = by_title[CATALOGS["en"]["attention.weights.title"]]
    assert_tensor(weights["tensor"], (weights_of(Q, K, kw)), rel=1e-6)


def weights_of(q: torch.Tensor, k: torch.Tensor, kw: dict[str, Any]) -> torch.Tensor:
    s = q @ k.T / math.sqrt(q.shape[-1])
    if kw.get("is_causal"):
        s = s.masked_fill(~torch.ones(s.shape, dtype=torch.bool).tril(), -math.inf)
    mask = kw.get("attn_mask")
    if mask is not None:
        s = s.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else s + mask
    return s.softmax(-1)


def test_a_wrong_hand_value_would_show_as_a_cross(monkeypatch):
    monkeypatch.setattr(math, "fsum", lambda xs: 0.5 * sum(xs))
    ex, doc = explain(Q, K, V)
    assert not ex.ok
    assert any(not c["ok"] for c in doc["checks"])


def test_batched_heads_and_broadcast():
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(2, 3, 4, 5, generator=g),
        torch.randn(2, 1, 6, 5, generator=g),
        torch.randn(1, 3, 6, 7, generator=g),
    )
    expected = SDPA(q, k, v)
    ex, doc = explain(q, k, v)
    assert ex.ok
    assert_tensor(doc["result"], expected, rel=1e-5)
    shape = next(c for c in doc["checks"] if c["expression"].startswith("(…"))
    assert shape["torch"] == str(tuple(expected.shape)) and shape["ok"]


def test_shape_only():
    expected = SDPA(torch.zeros(2, 4, 3), torch.zeros(2, 5, 3), torch.zeros(2, 5, 6))
    ex, doc = explain(
        torch.empty(2, 4, 3, device="meta"),
        torch.empty(2, 5, 3, device="meta"),
        torch.empty(2, 5, 6, device="meta"),
    )
    assert ex.ok
    assert_tensor(doc["result"], expected, values=False)
    assert CATALOGS["en"]["check.skipped.label"] in [c["label"] for c in doc["checks"]]


@pytest.mark.parametrize("meta", [False, True])
@pytest.mark.parametrize(
    ("args", "kind", "words"),
    [
        ((Q, K[:, :1], V), "attention_embed", "E = 2"),
        ((Q, K, V[:2]), "attention_length", "S = 3 keys"),
        (
            (torch.ones(2, 2, 2), torch.ones(3, 3, 2), torch.ones(3, 3, 3)),
            "attention_batch",
            "do not broadcast",
        ),
    ],
)
def test_failures(meta, args, kind, words):
    with pytest.raises(RuntimeError) as raised:
        SDPA(*args)
    if meta:
        args = tuple(a.to("meta") for a in args)
    _, doc = explain(*args)
    assert doc["error"]["kind"] == kind
    assert words in doc["error"]["message"]
    if not meta:
        assert str(raised.value).splitlines()[0] in doc["error"]["message"]


def test_mask_not_broadcastable():
    with pytest.raises(RuntimeError) as raised:
        SDPA(Q, K, V, attn_mask=M[:, :2])
    _, doc = explain(Q, K, V, attn_mask=M[:, :2])
    assert doc["error"]["kind"] == "attention_mask"
    assert str(raised.value) in doc["error"]["message"]
    assert "(2, 3)" in doc["error"]["hint"]
    _, doc = explain(Q, K, V, attn_mask=M.long())
    assert doc["error"]["kind"] == "attention_mask"
    assert "m.bool()" in doc["error"]["hint"]


def _english_in(doc: dict[str, Any]) -> list[str]:
    words, _ = doc_texts(doc)
    words = [re.sub(r"\(según torch: .*\)", "", w) for w in words]
    return [w for text in words for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]


@pytest.mark.parametrize("args", [(Q, K, V), (Q, K[:, :1], V), (Q, K, V[:2])])
def test_spanish(args):
    _, doc = explain(*args, lang="es")
    assert not _english_in(doc), _english_in(doc)
    _, doc = explain(Q, K, V, lang="es", attn_mask=M)
    assert not _english_in(doc), _english_in(doc)


def test_through_expr(tshape):
    bind = [
        "-t",
        f"q={Q.tolist()}",
        "-t",
        f"k={K.tolist()}",
        "-t",
        f"v={V.tolist()}",
        "--seed",
        "0",
        "--json",
    ]
    r = tshape("expr", "F.scaled_dot_product_attention(q, k, v)", *bind)
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], SDPA(Q, K, V))
    r = tshape("expr", "F.scaled_dot_product_attention(q, k, v[:2])", *bind)
    assert r.code == 1
    assert r.doc["error"]["kind"] == "attention_length"


# --- nn.MultiheadAttention ---------------------------------------------------------------------


def _mha(expression: str, tshape: Any, *binds: str, seed: int = 0) -> dict[str, Any]:
    r = tshape("expr", expression, *binds, "--seed", str(seed), "--json")
    assert r.code in (0, 1), r.stderr
    return r.doc


@pytest.mark.parametrize(
    ("expression", "build", "shapes", "kwargs"),
    [
        (
            "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)",
            lambda: nn.MultiheadAttention(8, 2, batch_first=True),
            {"q": (2, 5, 8), "k": (2, 6, 8), "v": (2, 6, 8)},
            {},
        ),
        (
            "nn.MultiheadAttention(8, 4)(q, k, v)",
            lambda: nn.MultiheadAttention(8, 4),
            {"q": (5, 2, 8), "k": (6, 2, 8), "v": (6, 2, 8)},
            {},
        ),
        (
            "nn.MultiheadAttention(6, 3)(q, k, v)",
            lambda: nn.MultiheadAttention(6, 3),
            {"q": (4, 6), "k": (3, 6), "v": (3, 6)},
            {},
        ),
        (
            "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v, average_attn_weights=False)",
            lambda: nn.MultiheadAttention(8, 2, batch_first=True),
            {"q": (2, 5, 8), "k": (2, 6, 8), "v": (2, 6, 8)},
            {"average_attn_weights": False},
        ),
    ],
)
def test_multihead_attention_against_torch(tshape, expression, build, shapes, kwargs):
    """Parameters from torch's own init under --seed: the same module, built here after
    torch.manual_seed(seed), gives the same outputs; the steps' own route agrees too."""
    gen = torch.Generator().manual_seed(1)
    values = {n: torch.randn(s, generator=gen) for n, s in shapes.items()}
    binds = [a for n, x in values.items() for a in ("-t", f"{n}={x.tolist()}")]
    doc = _mha(expression, tshape, *binds)
    assert doc["error"] is None
    torch.manual_seed(0)
    layer = build()
    with torch.no_grad():
        out, weights = layer(values["q"], values["k"], values["v"], **kwargs)
    assert_tensor(doc["outputs"][0], out, rel=1e-5)
    assert_tensor(doc["outputs"][1], weights, rel=1e-5)
    labels = [c["label"] for c in doc["checks"]]
    assert "attn_output, from the steps above" in labels and "attn_weights, from the steps above" in labels
    assert all(c["ok"] for c in doc["checks"])
    score = next(c for c in doc["checks"] if c["label"].startswith("score [0, 0, 0, 0]"))
    q = values["q"] if layer.batch_first or values["q"].dim() == 2 else values["q"].transpose(0, 1)
    k = values["k"] if layer.batch_first or values["k"].dim() == 2 else values["k"].transpose(0, 1)
    e, hd = layer.embed_dim, layer.head_dim
    w_q, w_k, _ = layer.in_proj_weight.detach().chunk(3)
    b_q, b_k, _ = layer.in_proj_bias.detach().chunk(3)
    qp = (q.reshape(-1, e)[0] @ w_q.T + b_q)[:hd]
    kp = (k.reshape(-1, e)[0] @ w_k.T + b_k)[:hd]
    assert score["torch"] == pytest.approx(float(qp @ kp) / hd**0.5, rel=1e-5)


def test_multihead_attention_steps_name_heads_and_scores(tshape):
    binds = ["-t", "q=shape(2,5,8)", "-t", "k=shape(2,6,8)", "-t", "v=shape(2,6,8)"]
    r = tshape(
        "expr", "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)", *binds, "--seed", "0", "--json"
    )
    assert r.code == 0, r.stderr
    doc = r.doc
    assert [o["shape"] for o in doc["outputs"]] == [[2, 5, 8], [2, 5, 6]]
    note = doc["steps"][-1]["note"]
    assert "E = 8 in 2 heads of 4" in note and "scores (2, 2, 5, 6)" in note
    assert CATALOGS["en"]["check.skipped.label"] in [c["label"] for c in doc["checks"]]
    torch.manual_seed(0)
    layer = nn.MultiheadAttention(8, 2, batch_first=True)
    q, k = torch.randn(2, 5, 8), torch.randn(2, 6, 8)
    kpm = torch.tensor([[False] * 4 + [True] * 2, [False] * 6])
    call = Call(
        layer,
        "MultiheadAttention",
        (q, k, k),
        {"key_padding_mask": kpm},
        codes=["q", "k", "k"],
        code="m(q, k, k)",
    )
    with torch.no_grad():
        ex = registry.for_callable(type(layer)).explain(call)
        want, weights = layer(q, k, k, key_padding_mask=kpm)
    doc = ex.to_dict()
    titles = [s["title"] for s in doc["steps"]]
    assert "key_padding_mask" in titles
    assert "The scores, per head (N, heads, L, S)" in titles
    scores = next(s for s in doc["steps"] if s["title"] == "The scores, per head (N, heads, L, S)")
    assert scores["tensor"]["shape"] == [2, 2, 5, 6]
    assert_tensor(doc["outputs"][0], want, rel=1e-5)
    assert float(weights[0, :, 4:].abs().max()) == 0.0  # padded keys get no weight
    assert ex.ok


def test_multihead_attention_failures(tshape):
    doc = _mha(
        "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)",
        tshape,
        *("-t", "q=shape(2,5,7)", "-t", "k=shape(2,6,8)", "-t", "v=shape(2,6,8)"),
    )
    assert doc["error"]["kind"] == "mha_embed"
    assert "nn.MultiheadAttention(7, 2, …)" in doc["error"]["hint"]
    doc = _mha(
        "nn.MultiheadAttention(8, 2)(q, k, v)",
        tshape,
        *("-t", "q=shape(2,5,8)", "-t", "k=shape(2,6,8)", "-t", "v=shape(2,6,8)"),
    )
    assert doc["error"]["kind"] == "mha_batch" and "batch_first=True" in doc["error"]["hint"]
    with pytest.raises(Exception):  # noqa: B017 - torch refuses it too (an AssertionError)
        nn.MultiheadAttention(8, 2)(torch.ones(2, 5, 8), torch.ones(2, 6, 8), torch.ones(2, 6, 8))


def test_multihead_attention_in_spanish(tshape):
    binds = ["-t", "q=randn(2,5,8)", "-t", "k=randn(2,6,8)", "-t", "v=randn(2,6,8)"]
    r = tshape(
        "expr",
        "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)",
        *binds,
        "--seed",
        "0",
        "--json",
        "--lang",
        "es",
    )
    assert r.code == 0
    assert "cabezas" in r.doc["steps"][-1]["note"]
    assert not _english_in(r.doc), _english_in(r.doc)


def test_sequential_shows_one_step_per_layer(tshape):
    x = torch.tensor([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0]])
    expression = "nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))(x)"
    r = tshape("expr", expression, "-t", f"x={x.tolist()}", "--seed", "0", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        inner = [seq[: i + 1](x) for i in range(3)]
    steps = r.doc["steps"][-3:]
    assert [s["title"].split(",")[0] for s in steps] == ["Linear", "ReLU", "Linear"]
    for step, want in zip(steps, inner, strict=True):
        assert_tensor(step["tensor"], want, rel=1e-6)
    assert steps[0]["code"].endswith("[:1](x)") and steps[-1]["code"] == expression
    assert_tensor(r.doc["result"], inner[-1], rel=1e-6)

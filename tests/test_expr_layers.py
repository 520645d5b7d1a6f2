"""expr: nn layers built from literals, random ops under --seed, strings where torch takes
them, and results that are several tensors (`outputs`) or a plain value (`value`)."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, bind
from torch import nn

X = torch.tensor([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0]])
BIND = ["-t", f"x={X.tolist()}"]


@pytest.mark.parametrize(
    ("expression", "build"),
    [
        ("nn.Linear(4, 2)(x)", lambda: nn.Linear(4, 2)(X)),
        ("nn.Linear(4, 3, bias=False)(x).sum(0)", lambda: nn.Linear(4, 3, bias=False)(X).sum(0)),
        ("nn.LayerNorm(4)(x)", lambda: nn.LayerNorm(4)(X)),
        (
            "nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))(x)",
            lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))(X),
        ),
        (
            "nn.Conv2d(1, 2, 3, stride=2, padding=1)(x.view(1, 1, 2, 4))",
            lambda: nn.Conv2d(1, 2, 3, stride=2, padding=1)(X.view(1, 1, 2, 4)),
        ),
        ("nn.Conv1d(2, 3, 3, padding='same')(x)", lambda: nn.Conv1d(2, 3, 3, padding="same")(X)),
        ("torch.randn(2, 4) + x", lambda: torch.randn(2, 4) + X),
    ],
)
@pytest.mark.parametrize("seed", [0, 7])
def test_layers_and_random_ops_under_seed_agree_with_torch(tshape, expression, build, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        expected = build()
    r = tshape("expr", expression, *BIND, "--seed", str(seed), "--json")
    assert r.code == 0, (r.code, r.stderr, r.stdout[-300:])
    assert_schema(r.doc)
    assert_tensor(r.doc["result"], expected, rel=1e-6)


def test_a_built_layer_is_a_step_naming_its_parameters(tshape):
    r = tshape("expr", "nn.Linear(4, 2)(x)", *BIND, "--seed", "0", "--json")
    layer = {s["code"]: s for s in r.doc["steps"]}["nn.Linear(4, 2)"]
    assert layer["tensor"] is None
    assert "weight (2, 4)" in layer["note"] and "bias (2,)" in layer["note"]


@pytest.mark.parametrize(
    "expression", ["nn.Linear(4, 2)(x)", "torch.rand(3)", "nn.Sequential(nn.Linear(4, 2))(x)"]
)
def test_random_without_seed_is_refused(tshape, expression):
    r = tshape("expr", expression, *bind(expression, x=X.tolist()))
    assert r.code == 2
    assert "--seed" in r.stderr


def test_a_huge_layer_is_refused_before_its_parameters_exist(tshape):
    r = tshape("expr", "nn.Linear(100000, 100000)(x)", *BIND, "--seed", "0", "--max-elements", "1000000")
    assert r.code == 2
    assert "100,000" in r.stderr or "100000" in r.stderr


def test_a_loss_with_a_string_reduction(tshape):
    target = torch.tensor([1, 3])
    expected = nn.CrossEntropyLoss(reduction="sum")(X, target)
    r = tshape("expr", "nn.CrossEntropyLoss(reduction='sum')(x, t)", *BIND, "-t", "t=[1, 3]", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected, rel=1e-6)


def test_a_string_where_torch_takes_none_is_refused(tshape):
    r = tshape("expr", "x.sum('a')", *BIND)
    assert r.code == 2
    assert "string" in r.stderr


# --- several outputs, plain values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "compute"),
    [
        ("x.split(1)", lambda x: x.split(1)),
        ("torch.chunk(x, 2, dim=1)", lambda x: torch.chunk(x, 2, dim=1)),
        ("x.unbind(1)", lambda x: x.unbind(1)),
        ("torch.topk(x, 2)", lambda x: tuple(torch.topk(x, 2))),
    ],
)
def test_several_outputs(tshape, expression, compute):
    expected = compute(X)
    r = tshape("expr", expression, *BIND, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert len(doc["outputs"]) == len(expected)
    for got, want in zip(doc["outputs"], expected, strict=True):
        assert_tensor(got, want)
    step = doc["steps"][-1]
    assert step["tensor"] is None
    assert [o["shape"] for o in step["outputs"]] == [list(w.shape) for w in expected]


def test_an_output_picked_by_index(tshape):
    r = tshape("expr", "x.split(1)[1] * 2", *BIND, "--json")
    assert r.code == 0
    assert_tensor(r.doc["result"], X.split(1)[1] * 2)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("x.dim()", X.dim()),
        ("x.shape", list(X.shape)),
        ("x.size(1)", X.size(1)),
        ("torch.equal(x, x)", True),
        ("torch.equal(x, x + 1)", False),
        ("x.dim() + x.size(1) * 2", X.dim() + X.size(1) * 2),
        ("x.numel() // 3", X.numel() // 3),
    ],
)
def test_plain_values(tshape, expression, expected):
    r = tshape("expr", expression, *BIND, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert doc["value"] == expected
    assert type(doc["value"]) is type(expected)


def test_an_operator_on_a_tuple_is_explained_not_computed(tshape):
    r = tshape("expr", "x.shape * 1000000000", *BIND, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "expr_type"


@pytest.mark.parametrize(
    ("expression", "shapes", "build"),
    [
        ("nn.Linear(4, 3)(x)", {"x": (5, 4)}, lambda t: nn.Linear(4, 3)(t["x"])),
        (
            "nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))(x)",
            {"x": (5, 4)},
            lambda t: nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))(t["x"]),
        ),
        (
            "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)",
            {"q": (2, 5, 8), "k": (2, 6, 8), "v": (2, 6, 8)},
            lambda t: nn.MultiheadAttention(8, 2, batch_first=True)(t["q"], t["k"], t["v"]),
        ),
    ],
)
def test_layers_run_on_shape_only_inputs(tshape, expression, shapes, build):
    """A shape-only input makes the layer's weights shape-only too, those of the layers it
    holds (Sequential) or builds in its __init__ (MultiheadAttention's out_proj) included."""
    args = [a for name, shape in shapes.items() for a in ("-t", f"{name}=shape{shape}")]
    r = tshape("expr", expression, *args, "--seed", "0", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    with torch.device("meta"):
        want = build({n: torch.empty(s) for n, s in shapes.items()})
    tensors = list(want) if isinstance(want, tuple) else [want]
    got = doc["outputs"] if "outputs" in doc else [doc["result"]]
    assert [g["shape"] for g in got] == [list(w.shape) for w in tensors]
    assert all(g["values"] is None for g in got)

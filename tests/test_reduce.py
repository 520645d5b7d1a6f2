"""tshape sum and mean: which dimension disappears or becomes 1, values and hand checks against torch."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st

X = torch.arange(1, 13).reshape(3, 2, 2)
XF = X.float()


def reduce(x: torch.Tensor, how: str, dims, keepdim: bool) -> torch.Tensor:
    fn = getattr(x, how)
    if dims is None:
        return fn(dim=None, keepdim=True) if keepdim else fn()
    return fn(dim=tuple(dims), keepdim=keepdim)


def dim_args(dims) -> list[str]:
    return [] if dims is None else ["--dim", ",".join(map(str, dims)) or "()"]


@pytest.mark.parametrize("how", ["sum", "mean"])
@pytest.mark.parametrize(
    ("dims", "keepdim"),
    [([0], False), ([0], True), ([-1], False), ([0, 2], False), (None, False), (None, True)],
)
def test_json_against_torch(tshape, how, dims, keepdim):
    y = reduce(XF, how, dims, keepdim)
    r = tshape(how, str(XF.tolist()), *dim_args(dims), *(["--keepdim"] if keepdim else []), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == how
    assert_tensor(doc["result"], y)
    assert len(doc["checks"]) >= 2
    assert all(c["ok"] for c in doc["checks"])
    flat = y.reshape(-1).tolist()
    for i, check in enumerate(doc["checks"][1:]):
        assert check["torch"] == flat[i]


def test_the_notebooks_sum_over_models(tshape):
    y = X.sum(dim=0)
    r = tshape("sum", str(X.tolist()), "--dim", "0", "-f", "plain")
    assert r.code == 0
    assert "summed away" in r.stdout
    # the notebook's first output, written out: 1 + 5 + 9
    assert f"1 + 5 + 9 = {y[0, 0].item()}" in r.stdout


def test_keepdim_keeps_a_one(tshape):
    y = XF.mean(dim=1, keepdim=True)
    r = tshape("mean", str(XF.tolist()), "--dim", "1", "--keepdim", "--json")
    assert r.doc["result"]["shape"] == list(y.shape)
    table = next(s["table"] for s in r.doc["steps"] if s["table"])
    assert "kept as 1" in table["rows"][1][2]


def test_mean_of_integers_is_explained(tshape):
    with pytest.raises(RuntimeError):
        X.mean()
    r = tshape("mean", "[1, 2, 3]", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "mean_dtype"
    assert "float" in r.doc["error"]["hint"]
    ok = tshape("mean", "[1, 2, 3]", "--dtype", "float32", "--json")
    assert ok.code == 0
    assert ok.doc["result"]["values"] == torch.tensor([1.0, 2, 3]).mean().item()


@pytest.mark.parametrize(("dims", "kind"), [("3", "dim_out_of_range"), ("0,-3", "dim_repeated")])
def test_refusals(tshape, dims, kind):
    r = tshape("sum", str(X.tolist()), "--dim", dims, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind


@settings(max_examples=40, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=3),
    dims=st.none() | st.lists(st.integers(-4, 3), max_size=3),
    keepdim=st.booleans(),
    how=st.sampled_from(["sum", "mean"]),
)
def test_random_shapes_exit_1_exactly_when_torch_raises(shape, dims, keepdim, how):
    x = torch.arange(torch.Size(shape).numel(), dtype=torch.float64).reshape(shape)
    args = dim_args(dims) + (["--keepdim"] if keepdim else [])
    # an empty literal cannot say (0, 2) from (0,): write empty tensors as zeros(...)
    spec = str(x.tolist()) if x.numel() else f"zeros({', '.join(map(str, shape))})"
    r = run_tshape(how, spec, "--dtype", "float64", *args, "--json")
    try:
        y = reduce(x, how, dims, keepdim)
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)

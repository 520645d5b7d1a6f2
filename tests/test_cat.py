"""tshape cat and stack: which sizes must match, results against torch.cat and torch.stack."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st


def tensor(shape, start: int = 1) -> torch.Tensor:
    return torch.arange(start, start + math.prod(shape)).reshape(shape)


def floats(shape, start: int = 1) -> torch.Tensor:
    return tensor(shape, start).float()


def spec(x: torch.Tensor) -> str:
    # an empty literal cannot say (0, 2) from (0,): write empty tensors as zeros(...)
    return str(x.tolist()) if x.numel() else f"zeros({', '.join(map(str, x.shape))})"


@pytest.mark.parametrize(
    ("shapes", "dim"),
    [
        ([(2, 3), (2, 1)], 1),
        ([(2, 3), (1, 3), (3, 3)], 0),
        ([(2, 3), (2, 2)], -1),
        ([(3,), (2,)], 0),
        ([(2, 2)], 0),
    ],
)
def test_cat_json_against_torch(tshape, shapes, dim):
    tensors = [tensor(s, 10 * i) for i, s in enumerate(shapes)]
    y = torch.cat(tensors, dim=dim)
    r = tshape("cat", *map(spec, tensors), "--dim", str(dim), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "cat"
    assert_tensor(doc["result"], y)
    assert all(c["ok"] for c in doc["checks"])
    assert len(doc["checks"]) == 1 + min(4, len(shapes))


@pytest.mark.parametrize(
    ("shapes", "dim"), [([(2,), (2,)], 0), ([(2,), (2,)], 1), ([(2, 3), (2, 3), (2, 3)], -1)]
)
def test_stack_json_against_torch(tshape, shapes, dim):
    tensors = [tensor(s, 10 * i) for i, s in enumerate(shapes)]
    y = torch.stack(tensors, dim=dim)
    r = tshape("stack", *map(spec, tensors), "--dim", str(dim), "--json")
    assert r.code == 0, r.stdout
    assert r.doc["op"] == "stack"
    assert_tensor(r.doc["result"], y)
    assert all(c["ok"] for c in r.doc["checks"])


def test_cat_promotes_dtypes_as_torch(tshape):
    y = torch.cat([torch.tensor([1, 2]), torch.tensor([0.5])])
    r = tshape("cat", "[1, 2]", "[0.5]", "--json")
    assert r.code == 0
    assert_tensor(r.doc["result"], y)
    assert "promoted" in r.doc["steps"][-1]["note"]


def test_cat_mismatch_in_torchs_words(tshape):
    with pytest.raises(RuntimeError) as caught:
        torch.cat([torch.zeros(2, 3), torch.zeros(3, 4)], dim=1)
    r = tshape("cat", "zeros(2, 3)", "zeros(3, 4)", "--dim", "1", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "cat_mismatch"
    assert r.doc["error"]["message"].startswith(str(caught.value).rstrip("."))
    table = next(s["table"] for s in r.doc["steps"] if s["table"])
    assert table["status"] == ["mismatch", "ok"]
    assert table["rows"][0][3] == ""
    assert table["rows"][1][3] == "7"


def test_stack_mismatch_in_torchs_words(tshape):
    with pytest.raises(RuntimeError) as caught:
        torch.stack([torch.zeros(2, 3), torch.zeros(3, 2)])
    r = tshape("stack", "zeros(2, 3)", "zeros(3, 2)", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "stack_mismatch"
    assert r.doc["error"]["message"].startswith(str(caught.value))


@pytest.mark.parametrize(
    ("command", "args", "kind"),
    [
        ("cat", ["7", "[1]"], "cat_scalar"),
        ("cat", ["zeros(2, 3)", "zeros(3)"], "cat_rank"),
        ("cat", ["zeros(2, 3)", "--dim", "2"], "dim_out_of_range"),
        ("stack", ["zeros(2, 3)", "--dim", "3"], "dim_out_of_range"),
    ],
)
def test_refusals(tshape, command, args, kind):
    r = tshape(command, *args, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind
    assert r.doc["error"]["hint"]


shapes = st.lists(st.lists(st.integers(0, 2), max_size=3), min_size=1, max_size=3)


@settings(max_examples=35, deadline=None, database=None)
@given(shapes=shapes, dim=st.integers(-4, 3), how=st.sampled_from(["cat", "stack"]))
def test_random_shapes_exit_1_exactly_when_torch_raises(shapes, dim, how):
    tensors = [floats(s, 10 * i) for i, s in enumerate(shapes)]
    r = run_tshape(how, *map(spec, tensors), "--dim", str(dim), "--json")
    try:
        y = getattr(torch, how)(tensors, dim=dim)
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)

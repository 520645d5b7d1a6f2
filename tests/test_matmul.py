"""tshape matmul: the 1-D, 2-D and batched rules, against torch.matmul on many shapes."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st


def literal(shape) -> str:
    return str(torch.arange(1, math.prod(shape) + 1).reshape(shape).tolist())


def tensor(shape) -> torch.Tensor:
    return torch.arange(1, math.prod(shape) + 1).reshape(shape)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((2, 3), (3, 4)),
        ((3,), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3,)),
        ((2, 2, 3), (3, 4)),
        ((5, 1, 2, 3), (4, 3, 2)),
    ],
)
def test_matmul_json_against_torch(tshape, a, b):
    ta, tb = tensor(a), tensor(b)
    y = ta @ tb
    r = tshape("matmul", literal(a), literal(b), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "matmul"
    assert_tensor(doc["inputs"]["a"], ta)
    assert_tensor(doc["inputs"]["b"], tb)
    assert_tensor(doc["result"], y)
    assert doc["checks"] and all(c["ok"] for c in doc["checks"])
    # the hand-written sums are torch's numbers
    for check in doc["checks"][1:]:
        assert check["torch"] == y.reshape(-1)[doc["checks"].index(check) - 1].item()


def test_the_contracted_dimension_is_marked_in_the_table(tshape):
    r = tshape("matmul", "shape(5,1,2,3)", "shape(4,3,7)", "--json")
    assert r.code == 0
    assert r.doc["result"]["shape"] == list(torch.matmul(torch.empty(5, 1, 2, 3), torch.empty(4, 3, 7)).shape)
    table = next(s["table"] for s in r.doc["steps"] if s["table"])
    labels = [row[0] for row in table["rows"]]
    assert labels == ["0", "1", "n", "k", "m"]
    k = table["rows"][labels.index("k")]
    assert k[1:3] == ["3", "3"] and "contracted" in k[4]


def test_one_dimensional_operands_are_dropped_from_the_result(tshape):
    r = tshape("matmul", "[1.0, 2, 3]", "ones(2, 3, 4)", "-f", "plain")
    assert r.code == 0
    assert str(tuple((torch.tensor([1.0, 2, 3]) @ torch.ones(2, 3, 4)).shape)) in r.stdout
    assert "a 1 is prepended, then removed" in r.stdout


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("ones(2, 3)", "ones(4, 5)", "matmul_mismatch"),
        ("ones(3)", "ones(4)", "matmul_mismatch"),
        ("ones(2, 2, 3)", "ones(3, 3, 4)", "matmul_batch_mismatch"),
        ("7", "ones(3)", "matmul_scalar"),
        ("[[1, 2]]", "[[1.5], [2.5]]", "matmul_dtype"),
    ],
)
def test_refusals(tshape, a, b, kind):
    r = tshape("matmul", a, b, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind
    assert r.doc["error"]["hint"]
    assert r.doc["result"] is None


def test_mismatch_suggests_the_transpose_when_it_fits(tshape):
    x, w = torch.ones(2, 3), torch.ones(4, 3)
    with pytest.raises(RuntimeError) as caught:
        x @ w
    assert (x @ w.T).shape == (2, 4)
    r = tshape("matmul", "ones(2, 3)", "ones(4, 3)", "--json")
    assert r.code == 1
    assert str(caught.value) in r.doc["error"]["message"]
    assert "a @ b.T" in r.doc["error"]["hint"]


shape = st.lists(st.integers(1, 3), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, database=None)
@given(a=shape, b=shape)
def test_random_shapes_against_torch_matmul(a, b):
    ta, tb = tensor(a), tensor(b)
    r = run_tshape("matmul", literal(a), literal(b), "--json")
    try:
        y = torch.matmul(ta, tb)
    except RuntimeError:
        assert r.code == 1, r.stdout
        assert r.doc["error"]["kind"] in ("matmul_mismatch", "matmul_batch_mismatch")
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)
        assert all(c["ok"] for c in r.doc["checks"])


@settings(max_examples=25, deadline=None, database=None)
@given(
    a=st.lists(st.integers(0, 4), min_size=1, max_size=5),
    b=st.lists(st.integers(0, 4), min_size=1, max_size=5),
)
def test_random_shapes_on_meta_tensors(a, b):
    spec = lambda s: f"shape({', '.join(map(str, s))})"  # noqa: E731
    r = run_tshape("matmul", spec(a), spec(b), "--json")
    try:
        y = torch.matmul(torch.empty(a, device="meta"), torch.empty(b, device="meta"))
    except RuntimeError:
        assert r.code == 1, r.stdout
    else:
        assert r.code == 0, r.stdout
        assert r.doc["result"]["shape"] == list(y.shape)

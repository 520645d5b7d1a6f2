"""tshape permute and transpose: where each dimension goes, strides before and after, contiguity."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st

X = torch.arange(24).reshape(2, 3, 4)


@pytest.mark.parametrize("dims", [*itertools.permutations(range(3)), (-1, 0, 1), (2, -3, 1)])
def test_permute_json_against_torch(tshape, dims):
    y = X.permute(*dims)
    r = tshape("permute", str(X.tolist()), "--dims", ",".join(map(str, dims)), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "permute"
    assert_tensor(doc["result"], y)
    assert all(c["ok"] for c in doc["checks"])
    # the table: new dim i comes from old dim dims[i], with its size and stride
    table = next(s["table"] for s in doc["steps"] if s["table"])
    for i, row in enumerate(table["rows"]):
        old = int(row[1])
        assert (int(row[2]), int(row[3])) == (X.shape[old], X.stride(old)) == (y.shape[i], y.stride(i))


@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (0, 0), (-1, 0), (1, 2), (0, 2)])
def test_transpose_json_against_torch(tshape, dims):
    y = X.transpose(*dims)
    r = tshape("transpose", str(X.tolist()), "--dims", ",".join(map(str, dims)), "--json")
    assert r.code == 0, r.stdout
    assert r.doc["op"] == "transpose"
    assert_tensor(r.doc["result"], y)
    assert r.doc["result"]["contiguous"] is y.is_contiguous()


def test_transposed_matrix_is_not_contiguous_and_says_what_follows(tshape):
    y = torch.tensor([[1, 2, 3], [4, 5, 6]]).transpose(0, 1)
    assert not y.is_contiguous()
    with pytest.raises(RuntimeError):
        y.view(-1)
    r = tshape("transpose", "[[1,2,3],[4,5,6]]", "--dims", "0,1", "-f", "plain")
    assert r.code == 0
    assert "not contiguous" in r.stdout
    assert f"stride {tuple(y.stride())}" in r.stdout
    assert "reshape" in r.stdout and "contiguous()" in r.stdout


@pytest.mark.parametrize(
    ("dims", "kind"), [("0,1", "permute_length"), ("0,1,1", "dim_repeated"), ("0,1,3", "dim_out_of_range")]
)
def test_permute_refusals(tshape, dims, kind):
    with pytest.raises((RuntimeError, IndexError)):
        X.permute(*map(int, dims.split(",")))
    r = tshape("permute", "zeros(2, 3, 4)", "--dims", dims, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind
    assert r.doc["error"]["hint"]


@pytest.mark.parametrize("dims", ["0", "0,1,2", "a,b"])
def test_transpose_needs_two_dims(tshape, dims):
    r = tshape("transpose", "zeros(2, 3)", "--dims", dims)
    assert r.code == 2
    assert r.stdout == ""


@settings(max_examples=30, deadline=None, database=None)
@given(shape=st.lists(st.integers(0, 3), max_size=4), dims=st.lists(st.integers(-4, 3), max_size=4))
def test_random_permutations_exit_1_exactly_when_torch_raises(shape, dims):
    x = torch.zeros(shape)
    spec = ",".join(map(str, dims)) if dims else "()"
    r = run_tshape("permute", f"zeros({', '.join(map(str, shape))})", "--dims", spec, "--json")
    try:
        y = x.permute(tuple(dims))
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)


@settings(max_examples=20, deadline=None, database=None)
@given(shape=st.lists(st.integers(0, 3), max_size=4), a=st.integers(-4, 3), b=st.integers(-4, 3))
def test_random_transposes_exit_1_exactly_when_torch_raises(shape, a, b):
    x = torch.zeros(shape)
    r = run_tshape("transpose", f"zeros({', '.join(map(str, shape))})", "--dims", f"{a},{b}", "--json")
    try:
        y = x.transpose(a, b)
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)

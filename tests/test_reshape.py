"""tshape reshape: the result as torch gives it, and whether torch returned a view or a copy."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_schema, assert_tensor, find_check, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st

MATRIX = "[[1, 2, 3], [4, 5, 6]]"


def shares_storage(x: torch.Tensor, y: torch.Tensor) -> bool:
    return y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()


@pytest.mark.parametrize(
    ("transpose", "shape"),
    [
        (None, (3, -1)),
        (None, (6,)),
        (None, (1, 2, 3)),
        ((0, 1), (-1,)),
        ((0, 1), (3, 2)),
        ((0, 1), (3, 1, 2)),
    ],
)
def test_reshape_json_against_torch(tshape, transpose, shape):
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    if transpose:
        x = x.transpose(*transpose)
    y = x.reshape(shape)
    args = ["--transpose", ",".join(map(str, transpose))] if transpose else []
    r = tshape("reshape", MATRIX, *args, "-s", ",".join(map(str, shape)), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "reshape"
    assert_tensor(doc["result"], y)
    check = find_check(doc, "view or copy")
    assert check["ok"] is True
    assert check["torch"] == ("view" if shares_storage(x, y) else "copy")


def test_copy_is_explained_with_the_stride_condition(tshape):
    x = torch.tensor([[1, 2, 3], [4, 5, 6]]).transpose(0, 1)
    y = x.reshape(-1)
    assert not shares_storage(x, y)
    r = tshape("reshape", MATRIX, "--transpose", "0,1", "-s", "-1", "-f", "plain")
    assert r.code == 0
    assert "reshape returned a copy" in r.stdout
    assert f"stride[0] = {x.stride(0)}, but stride[1] × size[1] = {x.stride(1)} × {x.shape[1]}" in r.stdout


def test_contiguous_input_gives_a_view(tshape):
    x = torch.arange(1, 13)
    assert shares_storage(x, x.reshape(3, 4))
    r = tshape("reshape", "arange(1, 13)", "-s", "3,4", "-f", "plain")
    assert r.code == 0
    assert "reshape returned a view" in r.stdout


@pytest.mark.parametrize("shape", ["5,3", "-1,-1", "5,-1", "2,-3"])
def test_refusals(tshape, shape):
    dims = tuple(int(s) for s in shape.split(","))
    with pytest.raises(RuntimeError):
        torch.arange(12).reshape(dims)
    r = tshape("reshape", "arange(12)", "-s", shape, "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"].startswith("view_")
    assert r.doc["result"] is None


@settings(max_examples=30, deadline=None, database=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=3),
    target=st.lists(st.integers(-1, 6), min_size=1, max_size=3),
    transpose=st.booleans(),
)
def test_random_shapes(sizes, target, transpose):
    x = torch.arange(math.prod(sizes)).reshape(sizes)
    args = ["--transpose", "0,1"] if transpose else []
    r = run_tshape("reshape", str(x.tolist()), *args, "-s", ",".join(map(str, target)), "--json")
    if transpose:
        x = x.transpose(0, 1)
    try:
        y = x.reshape(target)
    except RuntimeError:
        assert r.code == 1
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.doc["error"]
        assert_tensor(r.doc["result"], y)
        assert find_check(r.doc, "view or copy")["torch"] == ("view" if shares_storage(x, y) else "copy")

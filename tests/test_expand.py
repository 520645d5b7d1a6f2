"""tshape expand: which dimensions are stretched, the stride 0 that makes it free, torch's refusals."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, find_check, parse_literal, run_tshape
from hypothesis import assume, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("literal", "shape"),
    [
        ("[[1], [2]]", (2, 3)),
        ("[[1], [2]]", (4, 2, 3)),
        ("[[1], [2]]", (-1, 3)),
        ("[1, 2, 3]", (2, 3)),
        ("[1, 2, 3]", (3,)),
        ("7", (2, 2)),
        ("[1, 2, 3]", (1, 1, 3)),
        ("[[5]]", (0, 1)),
    ],
)
def test_expand_json_against_torch(tshape, literal, shape):
    x = torch.tensor(parse_literal(literal))
    y = x.expand(*shape)
    r = tshape("expand", literal, "--shape", ",".join(map(str, shape)), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "expand"
    assert_tensor(doc["result"], y)
    assert find_check(doc, "stride")["torch"] == str(tuple(y.stride()))
    assert all(c["ok"] for c in doc["checks"])
    # the table's stride column is torch's stride, 0 where stretched or new
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert [int(row[4]) for row in table["rows"]] == list(y.stride())


def test_stride_zero_is_explained(tshape):
    y = torch.tensor([[1], [2]]).expand(2, 3)
    assert y.stride() == (1, 0)
    r = tshape("expand", "[[1], [2]]", "-s", "2,3", "-f", "plain")
    assert r.code == 0
    assert "stride (1, 0)" in r.stdout
    assert "1 stretched to 3, stride 0" in r.stdout
    assert "copies nothing" in r.stdout


@pytest.mark.parametrize(
    ("shape", "kind", "numbers"),
    [("2,4", "expand_mismatch", {"4", "3", "1"}), ("-1,3", "expand_new_dim", {"-1"}), ("", None, None)],
)
def test_refusals(tshape, shape, kind, numbers):
    if not shape:  # an empty --shape is a usage error
        assert tshape("expand", "[1, 2, 3]", "-s", shape).code == 2
        return
    with pytest.raises(RuntimeError) as caught:
        torch.tensor([1, 2, 3]).expand(*map(int, shape.split(",")))
    r = tshape("expand", "[1, 2, 3]", "-s", shape, "--json")
    assert r.code == 1
    error = r.doc["error"]
    assert error["kind"] == kind
    assert error["hint"]
    if kind == "expand_mismatch":
        # in torch's own words
        assert error["message"].startswith(str(caught.value).split(".")[0])


def test_fewer_sizes_than_dims(tshape):
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).expand(3)
    r = tshape("expand", "zeros(2, 3)", "-s", "3", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "expand_rank"


def test_huge_expand_is_a_shape_not_an_allocation(tshape):
    y = torch.zeros(2, 1).expand(100000, 2, 100000)
    r = tshape("expand", "zeros(2, 1)", "-s", "100000,2,100000", "--json")
    assert r.code == 0
    assert_tensor(r.doc["result"], y, values=False)
    assert r.doc["result"]["values"] is None


@settings(max_examples=40, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=3), target=st.lists(st.integers(-2, 3), min_size=1, max_size=4)
)
def test_random_shapes_exit_1_exactly_when_torch_raises(shape, target):
    x = torch.zeros(shape)
    r = run_tshape(
        "expand", f"zeros({', '.join(map(str, shape))})", "-s", ",".join(map(str, target)), "--json"
    )
    try:
        y = x.expand(*target)
    except RuntimeError:
        assert r.code == 1, r.stdout
        assert r.doc["error"] is not None
    else:
        # torch 2.13 lets a 0-d tensor expand to (0, -1), a shape with a negative size; tshape refuses
        # the -1 in a new dimension, as torch does for every other tensor
        assume(min(y.shape, default=0) >= 0)
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)

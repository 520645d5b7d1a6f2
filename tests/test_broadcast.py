"""tshape broadcast: the alignment table and the rule per dimension, against torch's broadcasting."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st


def shape_arg(shape) -> str:
    return f"shape({', '.join(map(str, shape))})"


def test_values_are_broadcast_as_torch_does(tshape):
    a, b = torch.tensor([[1], [2]]), torch.tensor([10, 20, 30])
    ea, eb = torch.broadcast_tensors(a, b)
    r = tshape("broadcast", "[[1], [2]]", "[10, 20, 30]", "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "broadcast"
    assert_tensor(doc["inputs"]["a"], a)
    assert_tensor(doc["inputs"]["b"], b)
    expanded = [s["tensor"] for s in doc["steps"] if s["code"].startswith("torch.broadcast_to")]
    assert_tensor(expanded[0], ea)
    assert_tensor(expanded[1], eb)
    assert doc["result"]["shape"] == list((a + b).shape)
    assert doc["result"]["dtype"] == str((a + b).dtype).removeprefix("torch.")


def test_alignment_table(tshape):
    r = tshape("broadcast", "shape(5,3,4,1)", "shape(3,1,1)", "--json")
    assert r.code == 0
    table = next(s["table"] for s in r.doc["steps"] if s["table"])
    assert table["columns"][:3] == ["dim", "a", "b"]
    assert [row[:4] for row in table["rows"]] == [
        ["0", "5", "·", "5"],
        ["1", "3", "3", "3"],
        ["2", "4", "1", "4"],
        ["3", "1", "1", "1"],
    ]
    assert list(torch.broadcast_shapes((5, 3, 4, 1), (3, 1, 1))) == [5, 3, 4, 1]
    rules = [row[-1] for row in table["rows"]]
    assert rules[0].startswith("missing") and rules[1] == "equal" and rules[2].startswith("1 stretched")
    assert r.doc["result"]["shape"] == [5, 3, 4, 1]


@pytest.mark.parametrize(
    ("a", "b"), [((2, 3, 4), (5, 4, 3)), ((3,), (4,)), ((2, 1), (8, 4, 3)), ((4, 2), (2, 4))]
)
def test_mismatch_in_torchs_words(tshape, a, b):
    with pytest.raises(RuntimeError) as caught:
        torch.zeros(a) + torch.zeros(b)
    r = tshape("broadcast", shape_arg(a), shape_arg(b), "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "broadcast_mismatch"
    assert r.doc["error"]["message"] == str(caught.value)
    assert r.doc["error"]["hint"]
    assert r.doc["result"] is None


def test_mismatch_in_plain_marks_the_dimension(tshape):
    r = tshape("broadcast", "shape(2, 3)", "shape(4, 3)", "-f", "plain")
    assert r.code == 1
    assert "2 ≠ 4: neither is 1" in r.stdout
    assert (
        "Error: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"
        in r.stdout
    )


shapes = st.lists(st.lists(st.sampled_from([1, 1, 2, 3]), max_size=4), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, database=None)
@given(shapes=shapes)
def test_random_shapes_against_broadcast_shapes(shapes):
    r = run_tshape("broadcast", *map(shape_arg, shapes), "--json")
    try:
        expected = torch.broadcast_shapes(*shapes)
    except RuntimeError:
        assert r.code == 1, r.stdout
        assert r.doc["error"]["kind"] == "broadcast_mismatch"
    else:
        assert r.code == 0, r.stdout
        assert r.doc["result"]["shape"] == list(expected)
        table = next(s["table"] for s in r.doc["steps"] if s["table"])
        assert [int(row[len(shapes) + 1]) for row in table["rows"]] == list(expected)


@settings(max_examples=40, deadline=None, database=None)
@given(a=st.lists(st.sampled_from([1, 2, 3]), max_size=3), b=st.lists(st.sampled_from([1, 2, 3]), max_size=3))
def test_two_operands_against_addition(a, b):
    r = run_tshape("broadcast", shape_arg(a), shape_arg(b), "--json")
    try:
        expected = (torch.zeros(a) + torch.zeros(b)).shape
    except RuntimeError as e:
        assert r.code == 1
        assert r.doc["error"]["message"] == str(e)
    else:
        assert r.code == 0
        assert r.doc["result"]["shape"] == list(expected)

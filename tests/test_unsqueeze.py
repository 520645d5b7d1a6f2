"""tshape unsqueeze: with --dim, without it (the tour of every valid dim), and out of range."""

from __future__ import annotations

import math
import re

import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor, parse_literal, plain_summary, torch_layout
from hypothesis import given, settings
from hypothesis import strategies as st

VALID = [
    ("[1, 2, 3]", 0),
    ("[1, 2, 3]", 1),
    ("[1, 2, 3]", -1),
    ("[1, 2, 3]", -2),
    ("[[1, 2], [3, 4]]", 0),
    ("[[1, 2], [3, 4]]", 1),
    ("[[1, 2], [3, 4]]", 2),
    ("[[1, 2], [3, 4]]", -1),
    ("[[1, 2], [3, 4]]", -2),
    ("[[1, 2], [3, 4]]", -3),
    ("[[1.5, 2], [3, 4]]", 1),
    ("[[[1], [2]], [[3], [4]]]", -2),
    ("7", 0),
    ("7", -1),
]


def torch_range(x: torch.Tensor, dim: int) -> tuple[int, int]:
    """The valid range torch itself names when it refuses `dim`."""
    with pytest.raises(IndexError) as caught:
        x.unsqueeze(dim)
    lo, hi = re.search(r"\[(-?\d+), (-?\d+)\]", str(caught.value)).groups()
    return int(lo), int(hi)


@pytest.mark.parametrize(("literal", "dim"), VALID)
def test_dim_json(tshape, literal, dim):
    x = torch.tensor(parse_literal(literal))
    expected = x.unsqueeze(dim)
    r = tshape("unsqueeze", literal, "--dim", str(dim), "--json")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "unsqueeze"
    assert doc["error"] is None
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["result"], expected)
    # the result step shows the same tensor as the result
    assert_tensor(step_with_shape(doc, list(expected.shape)), expected)
    assert doc["checks"]
    assert all(c["ok"] for c in doc["checks"])
    shape_checks = [c for c in doc["checks"] if c["torch"] == str(tuple(expected.shape))]
    assert shape_checks, doc["checks"]
    assert shape_checks[0]["manual"] == str(tuple(expected.shape))


def step_with_shape(doc, shape):
    steps = [
        s["tensor"] for s in doc["steps"][1:] if s["tensor"] is not None and s["tensor"]["shape"] == shape
    ]
    assert steps, f"no step has a tensor of shape {shape}"
    return steps[-1]


@pytest.mark.parametrize(("literal", "dim"), [(lit, d) for lit, d in VALID if d < 0])
def test_negative_dim_is_explained(tshape, literal, dim):
    x = torch.tensor(parse_literal(literal))
    n = x.dim()
    pos = dim + n + 1
    # torch puts the new dimension there
    assert x.unsqueeze(dim).shape == x.unsqueeze(pos).shape
    r = tshape("unsqueeze", literal, "--dim", str(dim), "--json")
    assert r.code == 0
    texts = " ".join(s["code"] + " " + s["note"] for s in r.doc["steps"])
    assert f"{dim} + {n} + 1 = {pos}" in texts


@pytest.mark.parametrize(("literal", "dim"), VALID)
def test_dim_plain(tshape, literal, dim):
    x = torch.tensor(parse_literal(literal))
    expected = x.unsqueeze(dim)
    r = tshape("unsqueeze", literal, "--dim", str(dim), "-f", "plain")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    assert plain_summary(x) in r.stdout
    assert plain_summary(expected) in r.stdout
    assert torch_layout(expected) in r.stdout
    result_lines = [line for line in r.stdout.splitlines() if line.startswith("Result")]
    assert len(result_lines) == 1
    assert plain_summary(expected) in result_lines[0]


@pytest.mark.parametrize(("literal", "dim"), VALID)
def test_dim_quiet(tshape, literal, dim):
    expected = torch.tensor(parse_literal(literal)).unsqueeze(dim)
    r = tshape("unsqueeze", literal, "--dim", str(dim), "-q")
    assert r.code == 0
    assert r.stdout == " ".join(map(str, expected.shape)) + "\n"


OUT_OF_RANGE = [
    ("[1, 2, 3]", 2),
    ("[1, 2, 3]", 5),
    ("[1, 2, 3]", -3),
    ("[[1, 2], [3, 4]]", 3),
    ("[[1, 2], [3, 4]]", -4),
    ("7", 1),
    ("7", -2),
]


@pytest.mark.parametrize(("literal", "dim"), OUT_OF_RANGE)
def test_out_of_range_json(tshape, literal, dim):
    x = torch.tensor(parse_literal(literal))
    lo, hi = torch_range(x, dim)
    r = tshape("unsqueeze", literal, "--dim", str(dim), "--json")
    assert r.code == 1
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert doc["error"] is not None
    words = doc["error"]["message"] + " " + doc["error"]["hint"]
    assert f"[{lo}, {hi}]" in words
    assert str(dim) in doc["error"]["message"]
    assert_tensor(doc["inputs"]["x"], x)


@pytest.mark.parametrize(("literal", "dim"), OUT_OF_RANGE)
def test_out_of_range_plain(tshape, literal, dim):
    x = torch.tensor(parse_literal(literal))
    lo, hi = torch_range(x, dim)
    r = tshape("unsqueeze", literal, "--dim", str(dim), "-f", "plain")
    assert r.code == 1
    assert r.stderr == ""
    assert f"[{lo}, {hi}]" in r.stdout
    assert not any(line.startswith("Result") for line in r.stdout.splitlines())


def test_out_of_range_quiet(tshape):
    with pytest.raises(IndexError):
        torch.tensor([1, 2, 3]).unsqueeze(3)
    r = tshape("unsqueeze", "[1, 2, 3]", "--dim", "3", "-q")
    assert r.code == 1
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "3" in r.stderr


TOUR = ["[1, 2, 3]", "[[1, 2], [3, 4]]", "[[1.5, 2, 3]]", "7", "zeros(2, 0, 3)", "arange(24)"]


def tour_dims(x: torch.Tensor) -> list[int]:
    """The positions a learner reads, 0 … n; each also has a negative name, d - n - 1."""
    return list(range(x.dim() + 1))


def load(literal: str) -> torch.Tensor:
    if literal == "zeros(2, 0, 3)":
        return torch.zeros(2, 0, 3)
    if literal == "arange(24)":
        return torch.arange(24)
    return torch.tensor(parse_literal(literal))


@pytest.mark.parametrize("literal", TOUR)
def test_tour_json(tshape, literal):
    x = load(literal)
    n = x.dim()
    dims = tour_dims(x)
    r = tshape("unsqueeze", literal, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["error"] is None
    assert_tensor(doc["inputs"]["x"], x)
    tour = [s for s in doc["steps"][1:] if s["tensor"] is not None]
    assert len(tour) == len(dims) == n + 1  # each position once, not once per name
    for step, d in zip(tour, dims, strict=True):
        assert f"unsqueeze({d})" in step["code"]
        assert f"unsqueeze({d - n - 1})" in step["title"]
        assert_tensor(step["tensor"], x.unsqueeze(d))
        assert_tensor(step["tensor"], x.unsqueeze(d - n - 1))
    # the outputs, named explicitly, are the tour's tensors (a 0-d tensor has one: the result)
    outputs = doc["outputs"] if n else [doc["result"]]
    assert len(outputs) == n + 1
    for output, d in zip(outputs, dims, strict=True):
        assert_tensor(output, x.unsqueeze(d))
    # one summary table: dim, its negative twin, and torch's shape for both
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert [row[:2] for row in table["rows"]] == [[str(d), str(d - n - 1)] for d in dims]
    for row, d in zip(table["rows"], dims, strict=True):
        assert row[2] == str(tuple(x.unsqueeze(d - n - 1).shape))


@pytest.mark.parametrize("literal", TOUR)
def test_tour_plain(tshape, literal):
    x = load(literal)
    r = tshape("unsqueeze", literal, "-f", "plain")
    assert r.code == 0, r.stderr
    position = 0
    for d in tour_dims(x):
        y = x.unsqueeze(d)
        found = r.stdout.find(f"x.unsqueeze({d})\n", position)
        assert found >= 0, f"unsqueeze({d}) missing or out of order"
        position = found
        assert plain_summary(y) in r.stdout[found:]
        if y.numel():
            assert torch_layout(y) in r.stdout[found:]
    # no result is shown twice: one step per position
    assert r.stdout.count(">>> x.unsqueeze(") == x.dim() + 1


@pytest.mark.parametrize("literal", TOUR)
def test_tour_quiet(tshape, literal):
    x = load(literal)
    r = tshape("unsqueeze", literal, "-q")
    assert r.code == 0
    assert r.stdout.splitlines() == [" ".join(map(str, x.unsqueeze(d).shape)) for d in tour_dims(x)]


@settings(max_examples=40, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(1, 3), min_size=0, max_size=4),
    offset=st.integers(-3, 3),
    floats=st.booleans(),
)
def test_unsqueeze_agrees_with_torch(shape, offset, floats):
    from conftest import run_tshape

    x = torch.arange(1, 1 + math.prod(shape), dtype=torch.float32 if floats else torch.int64).reshape(shape)
    n = x.dim()
    dim = offset + (n if offset > 0 else 0)  # around both ends of the valid range
    r = run_tshape("unsqueeze", str(x.tolist()), "--dim", str(dim), "--json")
    if -(n + 1) <= dim <= n:
        assert r.code == 0, r.stderr
        assert_tensor(r.doc["result"], x.unsqueeze(dim))
    else:
        with pytest.raises(IndexError):
            x.unsqueeze(dim)
        assert r.code == 1
        assert r.doc["result"] is None
        assert r.doc["error"] is not None

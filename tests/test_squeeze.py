"""tshape squeeze: which size-1 dims go, which asked-for dims stay, torch's refusals."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st


def squeezed(x: torch.Tensor, dims: list[int] | None) -> torch.Tensor:
    return x.squeeze() if dims is None else x.squeeze(tuple(dims))


def dim_args(dims: list[int] | None) -> list[str]:
    return [] if dims is None else [a for d in dims for a in ("--dim", str(d))]


@pytest.mark.parametrize(
    ("shape", "dims"),
    [
        ((2, 1, 3), None),
        ((2, 1, 3), [1]),
        ((2, 1, 3), [0]),  # asked for, but size 2: stays
        ((1, 1, 1), [0, 2]),
        ((1, 3, 1), [-1]),
        ((), None),
        ((), [0]),
        ((4,), None),
    ],
)
def test_squeeze_json_against_torch(tshape, shape, dims):
    x = torch.arange(1, 1 + torch.Size(shape).numel()).reshape(shape)
    expected = squeezed(x, dims)
    r = tshape("squeeze", str(x.tolist()), *dim_args(dims), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "squeeze"
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["result"], expected)
    assert all(c["ok"] for c in doc["checks"])
    # the table says, per dimension, whether it went: exactly the ones torch removed
    table = next(s["table"] for s in doc["steps"] if s["table"])
    removed = [int(row[0]) for row in table["rows"] if row[2].startswith("removed")]
    kept = [s for d, s in enumerate(x.shape) if d not in removed]
    assert kept == list(expected.shape)


def test_asked_for_dim_of_another_size_says_why_it_stays(tshape):
    x = torch.zeros(2, 1, 3)
    assert x.squeeze(0).shape == x.shape
    r = tshape("squeeze", "zeros(2, 1, 3)", "--dim", "0", "-f", "plain")
    assert r.code == 0
    assert "kept: size 2 is not 1" in r.stdout


def test_dims_as_a_list(tshape):
    a = tshape("squeeze", "zeros(1, 2, 1)", "--dim", "0,2", "--json")
    b = tshape("squeeze", "zeros(1, 2, 1)", "--dim", "0", "--dim", "2", "--json")
    assert a.code == b.code == 0
    assert a.doc["result"] == b.doc["result"]
    assert a.doc["result"]["shape"] == list(torch.zeros(1, 2, 1).squeeze((0, 2)).shape)


@pytest.mark.parametrize(("dims", "kind"), [([3], "dim_out_of_range"), ([1, -2], "dim_repeated")])
def test_refusals(tshape, dims, kind):
    x = torch.zeros(2, 1, 3)
    with pytest.raises((IndexError, RuntimeError)):
        x.squeeze(tuple(dims))
    r = tshape("squeeze", "zeros(2, 1, 3)", *dim_args(dims), "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind
    assert r.doc["error"]["hint"]
    assert r.doc["result"] is None


def test_shape_only(tshape):
    r = tshape("squeeze", "shape(1, 1000000, 1)", "-q")
    assert r.code == 0
    assert r.stdout.split() == [str(s) for s in torch.empty(1, 1000000, 1, device="meta").squeeze().shape]


@settings(max_examples=30, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=4),
    dims=st.none() | st.lists(st.integers(-5, 4), max_size=3),
)
def test_random_shapes_exit_1_exactly_when_torch_raises(shape, dims):
    x = torch.zeros(shape)
    dims = dims or None  # no --dim on the command line means every size-1 dim
    r = run_tshape("squeeze", f"zeros({', '.join(map(str, shape))})", *dim_args(dims), "--json")
    try:
        expected = squeezed(x, dims)
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], expected)

"""tshape flatten: which dimensions merge, the result as torch gives it, torch's refusals."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("shape", "start", "end"),
    [
        ((2, 3, 4), 0, -1),
        ((2, 3, 4), 1, -1),
        ((2, 3, 4), 0, 1),
        ((2, 3, 4), -2, -2),
        ((), 0, -1),
        ((5,), 0, 0),
    ],
)
def test_flatten_json_against_torch(tshape, shape, start, end):
    x = torch.arange(torch.Size(shape).numel()).reshape(shape)
    y = torch.flatten(x, start, end)
    r = tshape("flatten", str(x.tolist()), "--start-dim", str(start), "--end-dim", str(end), "--json")
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "flatten"
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["result"], y)
    assert all(c["ok"] for c in doc["checks"])


@pytest.mark.parametrize(("start", "end", "kind"), [(2, 1, "flatten_order"), (3, -1, "dim_out_of_range")])
def test_refusals(tshape, start, end, kind):
    with pytest.raises((RuntimeError, IndexError)):
        torch.zeros(2, 3, 4).flatten(start, end)
    r = tshape("flatten", "zeros(2, 3, 4)", "--start-dim", str(start), "--end-dim", str(end), "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == kind
    assert r.doc["error"]["hint"]


@settings(max_examples=30, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=4),
    start=st.integers(-5, 4),
    end=st.integers(-5, 4),
)
def test_random_shapes_exit_1_exactly_when_torch_raises(shape, start, end):
    x = torch.zeros(shape)
    r = run_tshape(
        "flatten",
        f"zeros({', '.join(map(str, shape))})",
        "--start-dim",
        str(start),
        "--end-dim",
        str(end),
        "--json",
    )
    try:
        y = torch.flatten(x, start, end)
    except (IndexError, RuntimeError):
        assert r.code == 1, r.stdout
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], y)

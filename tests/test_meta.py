"""Shape-only mode: shape(...) and --meta put tensors on torch's meta device, of any size."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_schema, assert_tensor, find_check, run_tshape
from hypothesis import assume, given, settings
from hypothesis import strategies as st

HUGE = (1_000_000, 1_000_000)


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, device="meta")


def assert_shape_only(info: dict, t: torch.Tensor) -> None:
    assert_tensor(info, t, values=False)
    assert info["values"] is None
    assert "summary" not in info  # nothing to summarise: there are no values


def test_view_of_a_huge_shape(tshape):
    x = meta(*HUGE)
    r = tshape("view", "shape(1000000,1000000)", "--shape", "-1", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert_shape_only(doc["inputs"]["x"], x)
    assert_shape_only(doc["result"], x.view(-1))
    check = find_check(doc, "number of elements")
    assert check["manual"] == check["torch"] == x.numel()


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_unsqueeze_of_a_huge_shape(tshape, dim):
    r = tshape("unsqueeze", "shape(1000000, 1000000)", "--dim", str(dim), "--json")
    assert r.code == 0
    assert_shape_only(r.doc["result"], meta(*HUGE).unsqueeze(dim))


def test_unsqueeze_tour_of_a_huge_shape(tshape):
    r = tshape("unsqueeze", "shape(1000000, 1000000)", "-q")
    assert r.code == 0
    x = meta(*HUGE)
    # one line per position, 0 … n (each also reached by d - n - 1)
    assert r.stdout.splitlines() == [" ".join(map(str, x.unsqueeze(d).shape)) for d in range(3)]


def test_view_of_a_huge_transposed_shape_is_explained(tshape):
    r = tshape("view", "shape(1000000, 1000000)", "--transpose", "0,1", "--shape", "-1", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "view_not_contiguous"
    assert_shape_only(r.doc["steps"][0]["tensor"], meta(*HUGE).transpose(0, 1))


def test_view_size_mismatch_on_a_huge_shape(tshape):
    r = tshape("view", "shape(1000000, 1000000)", "--shape", "3,-1", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "view_cannot_infer"


def test_weighted_on_huge_shapes_skips_the_value_checks(tshape):
    x, w = meta(1000, 100_000, 1000), meta(1000, 1000)
    r = tshape("weighted", "shape(1000, 100000, 1000)", "--weights", "shape(1000, 1000)", "--json")
    assert r.code == 0, r.stderr
    assert_shape_only(r.doc["result"], torch.sum(x * w.view(1000, 1, -1), dim=0))
    assert [c["label"] for c in r.doc["checks"]] == ["values"]
    assert "skipped" in r.doc["checks"][0]["expression"]
    assert r.doc["checks"][0]["ok"] is True


def test_weighted_mixing_shape_only_and_real_inputs(tshape):
    x = meta(3, 2, 2)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    r = tshape("weighted", "shape(3, 2, 2)", "--weights", str(w.tolist()), "--json")
    assert r.code == 0, r.stderr
    assert_shape_only(r.doc["result"], torch.sum(x * w.to("meta").view(3, 1, -1), dim=0))


@pytest.mark.parametrize("args", [["--random"], ["--random", "--models", "1000", "--classes", "1000"]])
def test_weighted_random_weights_for_a_huge_x(tshape, args):
    r = tshape("weighted", "shape(1000, 1000000, 1000)", *args, "--json")
    assert r.code == 0, r.stderr
    assert r.doc["result"]["shape"] == [1_000_000, 1000]


def test_weighted_without_x_for_huge_weights(tshape):
    r = tshape("weighted", "--weights", "shape(1000, 100000)", "--batch", "7", "-q")
    assert r.code == 0, r.stderr
    assert r.stdout == "7 100000\n"


def test_linear_of_a_huge_shape(tshape):
    x = meta(*HUGE)
    m = torch.nn.Linear(HUGE[1], 2, device="meta")
    r = tshape("linear", "shape(1000000, 1000000)", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_shape_only(doc["result"], m(x))
    params = find_check(doc, "parameters")
    assert params["manual"] == params["torch"] == sum(p.numel() for p in m.parameters())
    assert find_check(doc, "values")["ok"] is True


def test_linear_with_a_real_weight_and_a_huge_x(tshape):
    w = torch.tensor([[1.0, 2.0, 3.0]])
    r = tshape("linear", "shape(1000000, 3)", "--weight", "[[1, 2, 3]]", "--json")
    assert r.code == 0, r.stderr
    assert_shape_only(r.doc["result"], torch.nn.functional.linear(meta(1_000_000, 3), w.to("meta")))


# --- --meta ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["zeros(2, 3)", "rand(4)", "arange(1, 13)", "eye(3)", "[[1, 2], [3, 4]]"])
def test_meta_option_makes_any_tensor_shape_only(tshape, spec):
    plain = tshape("unsqueeze", spec, "--dim", "0", "--json").doc["inputs"]["x"]
    shaped = tshape("unsqueeze", spec, "--dim", "0", "--json", "--meta").doc["inputs"]["x"]
    assert plain["values"] is not None
    assert shaped["values"] is None
    assert {k: shaped[k] for k in ("shape", "dtype", "stride", "contiguous")} == {
        k: plain[k] for k in ("shape", "dtype", "stride", "contiguous")
    }


def test_meta_lifts_the_element_limit_for_constructors(tshape):
    assert tshape("unsqueeze", "rand(1000000, 1000000)", "--dim", "0").code == 2
    r = tshape("unsqueeze", "rand(1000000, 1000000)", "--dim", "0", "--meta", "-q")
    assert r.code == 0
    assert r.stdout == "1 1000000 1000000\n"


def test_meta_with_dtype(tshape):
    r = tshape("view", "zeros(4, 6)", "--shape", "2,-1", "--meta", "--dtype", "float16", "--json")
    assert_shape_only(r.doc["result"], torch.zeros(4, 6, dtype=torch.float16, device="meta").view(2, -1))


def test_meta_demo_is_shape_only_throughout(tshape):
    r = tshape("demo", "--meta", "--json")
    assert r.code == 0
    tensors = [s["tensor"] for d in r.docs for s in d["steps"] if s["tensor"] is not None]
    assert tensors and all(t["values"] is None for t in tensors)


def test_shape_only_in_plain_and_rich(tshape):
    for fmt in ("plain", "rich"):
        r = tshape("linear", "shape(1000000, 1000000)", "-f", fmt)
        assert r.code == 0
        assert "shape only" in r.stdout
        assert "skipped" in r.stdout
        assert "(1000000, 2)" in r.stdout


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 10**6), min_size=1, max_size=4),
    position=st.integers(0, 3),
)
def test_view_minus_one_on_any_shape_only_tensor(shape, position):
    assume(math.prod(shape) * 4 < 2**63)  # float32 bytes beyond int64: see the next test
    position = min(position, len(shape) - 1)
    target = [-1 if i == position else s for i, s in enumerate(shape)]
    spec = "shape(" + ", ".join(map(str, shape[::-1])) + ")"  # the same number of elements
    expected = meta(*shape[::-1]).view(*target)
    r = run_tshape("view", spec, "--shape", ",".join(map(str, target)), "-q")
    assert r.code == 0, r.stderr
    assert r.stdout.split() == [str(s) for s in expected.shape]


def test_a_shape_beyond_int64_is_bad_input(tshape):
    r = tshape("view", "shape(4000000000, 4000000000, 4000000000)", "--shape", "-1")
    assert r.code == 2
    assert "overflow" in r.stderr

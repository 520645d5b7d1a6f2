"""tshape view: shape syntaxes, -1 inference, every way torch refuses a view, non-contiguous input."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import (
    assert_one_line,
    assert_schema,
    assert_tensor,
    numbers_in,
    parse_literal,
    plain_summary,
    step_tensors,
    torch_layout,
)
from hypothesis import given, settings
from hypothesis import strategies as st

X12 = torch.arange(1, 13)
MATRIX = "[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]"


@pytest.mark.parametrize("shape_text", ["3,-1", "(3, -1)", "3 -1", "[3, -1]", "3, -1", " ( 3 , -1 ) "])
def test_shape_syntaxes_json(tshape, shape_text):
    expected = X12.view(3, -1)
    r = tshape("view", "arange(1, 13)", "--shape", shape_text, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "view"
    assert doc["error"] is None
    assert_tensor(doc["inputs"]["x"], X12)
    assert_tensor(doc["result"], expected)
    assert all(c["ok"] for c in doc["checks"])


@pytest.mark.parametrize("shape_text", ["3,-1", "(3, -1)", "3 -1"])
def test_shape_syntaxes_plain(tshape, shape_text):
    expected = X12.view(3, -1)
    r = tshape("view", "arange(1, 13)", "-s", shape_text, "-f", "plain")
    assert r.code == 0, r.stderr
    assert plain_summary(expected) in r.stdout
    assert torch_layout(expected) in r.stdout


@pytest.mark.parametrize("shape_text", ["3,-1", "(3, -1)", "3 -1"])
def test_shape_syntaxes_quiet(tshape, shape_text):
    r = tshape("view", "arange(1, 13)", "-s", shape_text, "-q")
    assert r.code == 0
    assert r.stdout == " ".join(map(str, X12.view(3, -1).shape)) + "\n"


@pytest.mark.parametrize(
    ("shape", "position"),
    [((3, -1), 1), ((-1, 4), 0), ((2, -1, 3), 1), ((2, 3, -1), 2), ((-1,), 0), ((1, -1, 1), 1)],
)
def test_minus_one_is_inferred(tshape, shape, position):
    expected = X12.view(*shape)
    inferred = expected.shape[position]
    known = math.prod(s for s in shape if s != -1)
    shape_text = ",".join(map(str, shape))
    r = tshape("view", "arange(1, 13)", "--shape", shape_text, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_tensor(doc["result"], expected)
    # one step explains the inference: 12 elements / the known sizes = the inferred size
    explained = [
        s
        for s in doc["steps"]
        if s["tensor"] is None
        and {"12", str(known), str(inferred)} <= numbers_in(s["code"] + " " + s["note"])
    ]
    assert explained, [s["code"] for s in doc["steps"]]

    plain = tshape("view", "arange(1, 13)", "--shape", shape_text, "-f", "plain")
    assert plain.code == 0
    assert plain_summary(expected) in plain.stdout
    # the code line is Python that runs (no "= 4" after it), and gives torch's size
    assert f">>> 12 // {known}\n" in plain.stdout
    assert 12 // known == inferred


def refused_by_torch(x: torch.Tensor, shape: tuple[int, ...]) -> str:
    with pytest.raises(RuntimeError) as caught:
        x.view(*shape)
    return str(caught.value)


def test_product_mismatch(tshape):
    torch_says = refused_by_torch(X12, (5, 3))
    assert "12" in torch_says
    r = tshape("view", "arange(1, 13)", "-s", "5,3", "--json")
    assert r.code == 1
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert {"15", "12"} <= numbers_in(doc["error"]["message"])

    plain = tshape("view", "arange(1, 13)", "-s", "5,3", "-f", "plain")
    assert plain.code == 1
    error_lines = [line for line in plain.stdout.splitlines() if "15" in line and "12" in line]
    assert error_lines
    assert not any(line.startswith("Result") for line in plain.stdout.splitlines())


@pytest.mark.parametrize("shape_text", ["-1,-1", "-1,2,-1", "(-1, -1, 3)"])
def test_two_minus_ones(tshape, shape_text):
    refused_by_torch(X12, tuple(parse_literal("[" + shape_text.strip("()") + "]")))
    r = tshape("view", "arange(1, 13)", "-s", shape_text, "--json")
    assert r.code == 1
    assert r.doc["result"] is None
    assert "-1" in r.doc["error"]["message"]
    plain = tshape("view", "arange(1, 13)", "-s", shape_text, "-f", "plain")
    assert plain.code == 1
    assert "-1" in plain.stdout


@pytest.mark.parametrize(
    ("shape", "numbers"), [((5, -1), {"12", "5"}), ((7, -1), {"12", "7"}), ((0, -1), {"0"})]
)
def test_minus_one_cannot_be_inferred(tshape, shape, numbers):
    refused_by_torch(X12, shape)
    shape_text = ",".join(map(str, shape))
    r = tshape("view", "arange(1, 13)", "-s", shape_text, "--json")
    assert r.code == 1
    doc = r.doc
    assert doc["result"] is None
    assert "-1" in doc["error"]["message"]
    assert numbers <= numbers_in(doc["error"]["message"])
    plain = tshape("view", "arange(1, 13)", "-s", shape_text, "-f", "plain")
    assert plain.code == 1
    assert "-1" in plain.stdout


def test_negative_size(tshape):
    refused_by_torch(X12, (2, -3))
    r = tshape("view", "arange(1, 13)", "-s", "2,-3", "--json")
    assert r.code == 1
    assert "-3" in r.doc["error"]["message"]


def test_non_contiguous_input_json(tshape):
    x = torch.tensor(parse_literal(MATRIX))
    xt = x.transpose(0, 1)
    assert not xt.is_contiguous()
    torch_says = refused_by_torch(xt, (12,))
    assert "stride" in torch_says
    r = tshape("view", MATRIX, "--transpose", "0,1", "-s", "12", "--json")
    assert r.code == 1
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    # the transposed tensor is shown as torch has it: shape (4, 3), stride (1, 4), not contiguous
    assert any(
        t["shape"] == list(xt.shape) and t["stride"] == list(xt.stride()) and t["contiguous"] is False
        for t in step_tensors(doc)
    )
    transposed = next(t for t in step_tensors(doc) if t["shape"] == list(xt.shape))
    assert_tensor(transposed, xt)
    error = doc["error"]
    assert "stride" in error["message"]
    assert "reshape" in error["hint"]
    assert "contiguous" in error["hint"]


def test_non_contiguous_input_plain(tshape):
    x = torch.tensor(parse_literal(MATRIX))
    xt = x.transpose(0, 1)
    r = tshape("view", MATRIX, "--transpose", "0,1", "-s", "12", "-f", "plain")
    assert r.code == 1
    assert plain_summary(xt) in r.stdout
    assert "not contiguous" in r.stdout
    assert torch_layout(xt) in r.stdout
    assert "stride" in r.stdout
    assert "reshape" in r.stdout
    assert "contiguous()" in r.stdout


def test_non_contiguous_input_quiet(tshape):
    r = tshape("view", MATRIX, "--transpose", "0,1", "-s", "12", "-q")
    assert r.code == 1
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "stride" in r.stderr


@pytest.mark.parametrize("shape", [(4, 3), (2, 2, 3), (4, 3, 1), (-1, 3)])
def test_non_contiguous_views_torch_allows(tshape, shape):
    xt = torch.tensor(parse_literal(MATRIX)).transpose(0, 1)
    expected = xt.view(*shape)
    r = tshape("view", MATRIX, "--transpose", "0,1", "-s", ",".join(map(str, shape)), "--json")
    assert r.code == 0, r.doc["error"]
    assert_tensor(r.doc["result"], expected)


def test_transpose_with_a_dim_out_of_range(tshape):
    with pytest.raises(IndexError):
        torch.zeros(3, 4).transpose(0, 5)
    r = tshape("view", "zeros(3, 4)", "--transpose", "0,5", "-s", "12", "--json")
    assert r.code == 1
    assert r.doc["error"] is not None


@pytest.mark.parametrize("args", [["--transpose", "0"], ["--transpose", "a,b"], ["--transpose", "0,1,2"]])
def test_bad_transpose_is_a_usage_error(tshape, args):
    r = tshape("view", "zeros(3, 4)", *args, "-s", "12")
    assert r.code == 2
    assert_one_line(r.stderr)


@pytest.mark.parametrize("shape_text", ["3,x", "3.5,-1", "", "three"])
def test_bad_shape_text_is_a_usage_error(tshape, shape_text):
    r = tshape("view", "arange(1, 13)", "-s", shape_text)
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)


@pytest.mark.parametrize(
    ("literal", "shape"),
    [
        ("[]", (-1,)),
        ("[]", (2, 0)),
        ("[]", (0, -1)),
        ("7", (1,)),
        ("7", (1, 1, -1)),
        ("7", (2,)),
        ("[[1.5, 2], [3, 4]]", (4,)),
        ("[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]", (3, 1, -1)),
        ("[[true, false], [false, true]]", (1, 4)),
    ],
)
def test_view_agrees_with_torch(tshape, literal, shape):
    x = torch.tensor(parse_literal(literal))
    r = tshape("view", literal, "-s", ",".join(map(str, shape)), "--json")
    try:
        expected = x.view(*shape)
    except RuntimeError:
        assert r.code == 1
        assert r.doc["result"] is None
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, r.doc["error"]
        assert_tensor(r.doc["result"], expected)


@pytest.mark.parametrize("literal", ["7", "[5]", "[[2.5]]", "[1, 2]", "arange(1, 13)"])
def test_view_to_zero_dimensions_agrees_with_torch(tshape, literal):
    # x.view(()) is valid in torch for a one-element tensor: the result has shape ()
    x = torch.arange(1, 13) if literal.startswith("arange") else torch.tensor(parse_literal(literal))
    r = tshape("view", literal, "-s", "()", "--json")
    try:
        expected = x.view(())
    except RuntimeError:
        assert r.code == 1, (r.code, r.stderr)
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, (r.code, r.stderr)
        assert_tensor(r.doc["result"], expected)


def test_numel_check(tshape):
    y = X12.view(3, 4)
    r = tshape("view", "arange(1, 13)", "-s", "3,4", "--json")
    assert r.code == 0
    numel_checks = [c for c in r.doc["checks"] if c["manual"] == X12.numel()]
    assert numel_checks
    assert numel_checks[0]["torch"] == y.numel()
    assert numel_checks[0]["ok"] is True


@settings(max_examples=40, deadline=None, database=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    target=st.lists(st.integers(-1, 6), min_size=1, max_size=3),
)
def test_view_random_shapes_agree_with_torch(sizes, target):
    from conftest import run_tshape

    x = torch.arange(math.prod(sizes)).reshape(sizes)
    r = run_tshape("view", str(x.tolist()), "-s", ",".join(map(str, target)), "--json")
    try:
        expected = x.view(*target)
    except RuntimeError:
        assert r.code == 1
        assert r.doc["error"] is not None
        assert r.doc["result"] is None
    else:
        assert r.code == 0, r.doc["error"]
        assert_tensor(r.doc["result"], expected)

"""tshape linear: nn.Linear step by step, against a real nn.Linear built in the test."""

from __future__ import annotations

import pytest
import torch
from conftest import (
    assert_one_line,
    assert_schema,
    assert_tensor,
    find_check,
    numbers_in,
    parse_literal,
    plain_summary,
    step_tensors,
    torch_layout,
)
from torch import nn

NOTEBOOK_X = [[0.5, 0.6, 0.7], [0.8, 0.9, 1.0]]
NOTEBOOK_BIAS = [0.1, 0.2]


def notebook_layer() -> tuple[nn.Linear, torch.Tensor]:
    """The notebook: nn.Linear(3, 2) with weight = x and bias = [0.1, 0.2] set by hand."""
    x = torch.tensor(NOTEBOOK_X)
    m = nn.Linear(3, 2)
    m.weight.data = x.clone()
    m.bias.data = torch.tensor(NOTEBOOK_BIAS)
    return m, x


def default_layer(seed: int, n_in: int, n_out: int, bias: bool = True, dtype=torch.float32) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out, bias=bias, dtype=dtype)


def tensor_with_shape(doc, shape) -> dict:
    found = [t for t in step_tensors(doc) if t["shape"] == list(shape)]
    assert len(found) == 1, f"{len(found)} step tensors of shape {shape}"
    return found[0]


def test_notebook_default_json(tshape):
    m, x = notebook_layer()
    with torch.no_grad():
        y = m(x)
    r = tshape("linear", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "linear"
    assert doc["error"] is None
    assert_tensor(doc["result"], y)
    assert doc["result"]["values"][0][0] == pytest.approx(1.2)  # the notebook's first output
    assert_tensor(doc["inputs"]["x"], x)
    assert all(c["ok"] for c in doc["checks"])


def test_notebook_steps(tshape):
    m, x = notebook_layer()
    with torch.no_grad():
        wt = m.weight.T
        xw = x @ wt
        y = m(x)
    doc = tshape("linear", "--json").doc
    tensors = step_tensors(doc)
    # W.T is a view of W: shape (3, 2), stride (1, 3), not contiguous
    transposed = [t for t in tensors if t["shape"] == [3, 2]]
    assert len(transposed) == 1
    assert_tensor(transposed[0], wt)
    assert transposed[0]["contiguous"] is False
    assert any(t["values"] == xw.tolist() for t in tensors)
    assert_tensor(tensors[-1], y)


def test_notebook_row_checks(tshape):
    m, x = notebook_layer()
    with torch.no_grad():
        y = m(x)
    doc = tshape("linear", "--json").doc
    first = find_check(doc, "y[0, 0]")
    assert first["expression"] == "0.5*0.5 + 0.6*0.6 + 0.7*0.7 + 0.1"
    assert first["torch"] == y[0, 0].item()
    xs, ws, b = x[0].tolist(), m.weight[0].tolist(), m.bias[0].item()
    assert first["manual"] == pytest.approx(sum(a * w for a, w in zip(xs, ws, strict=True)) + b, rel=1e-12)
    assert first["manual"] == pytest.approx(1.2, rel=1e-6)
    second = find_check(doc, "y[0, 1]")
    assert second["torch"] == y[0, 1].item()
    assert second["ok"] is True


def test_notebook_default_plain(tshape):
    m, x = notebook_layer()
    with torch.no_grad():
        y = m(x)
    r = tshape("linear", "-f", "plain")
    assert r.code == 0, r.stderr
    assert torch_layout(y) in r.stdout
    assert "1.2000" in r.stdout
    assert plain_summary(y) in r.stdout
    assert "0.5*0.5 + 0.6*0.6 + 0.7*0.7 + 0.1" in r.stdout


def test_notebook_without_bias(tshape):
    x = torch.tensor(NOTEBOOK_X)
    expected = x @ x.T
    r = tshape("linear", "--no-bias", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected, rel=1e-6)
    assert "bias=False" in r.doc["call"]


def test_leading_dims_are_carried(tshape):
    literal = "[[[0.5, 0.6, 0.7], [0.8, 0.9, 1.0]], [[1, 2, 3], [4, 5, 6]]]"
    x = torch.tensor(parse_literal(literal))
    m = nn.Linear(3, 2)
    m.weight.data = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    m.bias.data = torch.tensor([0.1, 0.2])
    with torch.no_grad():
        y = m(x)
    assert y.shape == (2, 2, 2)
    r = tshape("linear", literal, "-W", "[[1, 0, 0], [0, 1, 0]]", "-b", "[0.1, 0.2]", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], y)
    assert r.doc["result"]["shape"][:-1] == list(x.shape[:-1])
    assert find_check(r.doc, "y[0, 0, 0]")["torch"] == y[0, 0, 0].item()

    quiet = tshape("linear", literal, "-W", "[[1, 0, 0], [0, 1, 0]]", "-q")
    assert quiet.stdout == "2 2 2\n"

    plain = tshape("linear", literal, "-W", "[[1, 0, 0], [0, 1, 0]]", "-b", "[0.1, 0.2]", "-f", "plain")
    assert plain.code == 0
    assert torch_layout(y) in plain.stdout


def test_leading_dims_with_default_init(tshape):
    literal = "[[[1, 2, 3]], [[4, 5, 6]]]"
    x = torch.tensor(parse_literal(literal), dtype=torch.float32)
    m = default_layer(0, 3, 2)
    with torch.no_grad():
        y = m(x)
    r = tshape("linear", literal, "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], y)


@pytest.mark.parametrize("seed", [0, 5, 2024])
def test_default_init_follows_manual_seed(tshape, seed):
    m = default_layer(seed, 3, 2)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    with torch.no_grad():
        y = m(x)
    r = tshape("linear", "[[1, 2, 3]]", "--seed", str(seed), "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_tensor(tensor_with_shape(doc, (2, 3)), m.weight)
    assert_tensor(tensor_with_shape(doc, (2,)), m.bias)
    assert_tensor(doc["result"], y)
    assert all(c["ok"] for c in doc["checks"])

    plain = tshape("linear", "[[1, 2, 3]]", "--seed", str(seed), "-f", "plain")
    assert torch_layout(m.weight) in plain.stdout
    assert torch_layout(y) in plain.stdout


def test_default_seed_is_zero(tshape):
    m = default_layer(0, 3, 2)
    r = tshape("linear", "[[1, 2, 3]]", "--json")
    assert_tensor(tensor_with_shape(r.doc, (2, 3)), m.weight)


def test_default_init_in_float64(tshape):
    m = default_layer(3, 3, 2, dtype=torch.float64)
    x = torch.tensor([[1.5, 2.5, 3.5]], dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
    r = tshape("linear", "[[1.5, 2.5, 3.5]]", "--dtype", "float64", "--seed", "3", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(tensor_with_shape(r.doc, (2, 3)), m.weight)
    assert_tensor(r.doc["result"], y)


def test_given_weight_keeps_default_bias(tshape):
    m = default_layer(0, 3, 2)
    m.weight.data = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with torch.no_grad():
        y = m(torch.tensor([[1.0, 2.0, 3.0]]))
    r = tshape("linear", "[[1, 2, 3]]", "-W", "[[1, 0, 0], [0, 1, 0]]", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(tensor_with_shape(r.doc, (2,)), m.bias)
    assert_tensor(r.doc["result"], y)


def test_out_features(tshape):
    m = default_layer(0, 3, 4)
    with torch.no_grad():
        y = m(torch.tensor([[1.0, 2.0, 3.0]]))
    r = tshape("linear", "[[1, 2, 3]]", "-o", "4", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(tensor_with_shape(r.doc, (4, 3)), m.weight)
    assert_tensor(r.doc["result"], y)


def test_no_bias_json(tshape):
    m = default_layer(0, 3, 2, bias=False)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    with torch.no_grad():
        y = m(x)
        assert torch.equal(y, x @ m.weight.T)
    r = tshape("linear", "[[1, 2, 3]]", "--no-bias", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert "bias=False" in doc["call"]
    assert "bias" not in doc["inputs"]
    assert_tensor(tensor_with_shape(doc, (2, 3)), m.weight)
    assert not [t for t in step_tensors(doc) if t["shape"] == [2]]
    assert_tensor(doc["result"], y)


def test_no_bias_plain(tshape):
    m = default_layer(0, 3, 2, bias=False)
    with torch.no_grad():
        y = m(torch.tensor([[1.0, 2.0, 3.0]]))
    r = tshape("linear", "[[1, 2, 3]]", "--no-bias", "-f", "plain")
    assert r.code == 0
    assert "bias=False" in r.stdout
    assert torch_layout(y) in r.stdout


@pytest.mark.parametrize(
    ("args", "n_in", "n_out", "bias"),
    [
        ([], 3, 2, True),
        (["[[1, 2, 3]]", "--no-bias"], 3, 2, False),
        (["[[1, 2, 3]]", "-o", "4"], 3, 4, True),
        (["[[1, 2, 3, 4, 5]]", "-W", "[[1, 2, 3, 4, 5]]"], 5, 1, True),
        (["[1, 2]", "-o", "7", "--no-bias"], 2, 7, False),
    ],
)
def test_parameter_count_check(tshape, args, n_in, n_out, bias):
    expected = sum(p.numel() for p in nn.Linear(n_in, n_out, bias=bias).parameters())
    r = tshape("linear", *args, "--json")
    assert r.code == 0, r.stderr
    counts = [c for c in r.doc["checks"] if c["manual"] == expected and not isinstance(c["manual"], float)]
    assert len(counts) == 1, r.doc["checks"]
    assert counts[0]["torch"] == expected
    assert counts[0]["ok"] is True


@pytest.mark.parametrize(
    ("x", "weight", "x_in", "w_in"),
    [
        ("[[1, 2, 3, 4]]", "[[1, 0, 0], [0, 1, 0]]", 4, 3),
        ("[1, 2]", "[[1, 0, 0]]", 2, 3),
        ("[[[1, 2, 3, 4, 5]]]", "[[1, 2], [3, 4]]", 5, 2),
    ],
)
def test_in_features_mismatch(tshape, x, weight, x_in, w_in):
    with pytest.raises(RuntimeError):
        torch.nn.functional.linear(
            torch.tensor(parse_literal(x), dtype=torch.float32),
            torch.tensor(parse_literal(weight), dtype=torch.float32),
        )
    r = tshape("linear", x, "-W", weight, "--json")
    assert r.code == 1
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert {str(x_in), str(w_in)} <= numbers_in(doc["error"]["message"])

    plain = tshape("linear", x, "-W", weight, "-f", "plain")
    assert plain.code == 1
    assert any({str(x_in), str(w_in)} <= numbers_in(line) for line in plain.stdout.splitlines())


def test_out_features_conflicting_with_weight(tshape):
    r = tshape("linear", "[[1, 2, 3]]", "-W", "[[1, 0, 0], [0, 1, 0]]", "-o", "3", "--json")
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "--out-features" in r.stderr
    assert {"3", "2"} <= numbers_in(r.stderr)


def test_bias_conflicting_with_no_bias(tshape):
    r = tshape("linear", "[[1, 2, 3]]", "-b", "[1, 2]", "--no-bias")
    assert r.code == 2
    assert_one_line(r.stderr)


def test_negative_out_features(tshape):
    r = tshape("linear", "[[1, 2, 3]]", "-o", "-1")
    assert r.code == 2
    assert_one_line(r.stderr)


@pytest.mark.parametrize(
    ("x", "extra"),
    [
        ("[[1, 2, 3]]", ["-b", "[1, 2, 3]"]),
        ("[[1, 2, 3]]", ["-W", "[1, 2, 3]"]),
        ("5", []),
    ],
)
def test_invalid_layers_exit_1(tshape, x, extra):
    r = tshape("linear", x, *extra, "--json")
    assert r.code == 1
    assert r.doc["error"] is not None
    assert r.doc["result"] is None


def test_integer_input_is_converted_to_float(tshape):
    m = default_layer(0, 3, 2)
    with torch.no_grad():
        y = m(torch.tensor([[1, 2, 3]]).to(torch.float32))
    r = tshape("linear", "[[1, 2, 3]]", "--json")
    assert r.doc["inputs"]["x"]["dtype"] == "int64"
    assert_tensor(r.doc["result"], y)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_layers(tshape, dtype):
    torch_dtype = getattr(torch, dtype)
    m = default_layer(0, 3, 2, dtype=torch_dtype)
    with torch.no_grad():
        y = m(torch.tensor([[1, 2, 3]], dtype=torch_dtype))
    r = tshape("linear", "[[1, 2, 3]]", "--dtype", dtype, "--json")
    # a valid nn.Linear: explained (exit 0), every check passes
    assert r.code == 0, [c for c in r.doc["checks"] if not c["ok"]]
    assert_tensor(r.doc["result"], y)
    assert all(c["ok"] for c in r.doc["checks"])

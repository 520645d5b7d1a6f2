"""tshape weighted: the notebook's WeightedFamiliesLayer, torch.sum(x * w.view(M, 1, -1), dim=0)."""

from __future__ import annotations

import re

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

NOTEBOOK_RESULT = [[61, 88], [79, 112]]  # from the notebook


def layer(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The notebook's forward pass."""
    return torch.sum(x * w.view(w.shape[0], 1, -1), dim=0)


def notebook_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    w = torch.arange(1, 7, dtype=torch.float32).view(3, 2)
    return x, w


def test_no_inputs_is_the_notebook_json(tshape):
    x, w = notebook_inputs()
    expected = layer(x, w)
    assert expected.tolist() == NOTEBOOK_RESULT
    r = tshape("weighted", "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "weighted"
    assert doc["error"] is None
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["inputs"]["weights"], w)
    assert_tensor(doc["result"], expected)
    assert doc["result"]["values"] == NOTEBOOK_RESULT
    # every intermediate tensor, in the layer's order
    wv = w.view(3, 1, -1)
    tensors = step_tensors(doc)
    assert len(tensors) == 5
    for info, t in zip(tensors, [x, w, wv, x * wv, expected], strict=True):
        assert_tensor(info, t)


def test_broadcast_table(tshape):
    x, w = notebook_inputs()
    wv = w.view(3, 1, -1)
    r = tshape("weighted", "--json")
    tables = [s["table"] for s in r.doc["steps"] if s.get("table")]
    assert len(tables) == 1
    rows = tables[0]["rows"]
    assert len(rows) == (x * wv).dim()
    # one row per dimension: the sizes of x, of the view, and of the result
    for d, row in enumerate(rows):
        assert row[1:4] == [str(x.shape[d]), str(wv.shape[d]), str((x * wv).shape[d])]


def test_checks_are_the_notebook_hand_sums(tshape):
    x, w = notebook_inputs()
    expected = layer(x, w)
    doc = tshape("weighted", "--json").doc
    check = find_check(doc, "batch=0, class=0")
    assert check["expression"] == "1*1 + 5*3 + 9*5"
    assert check["manual"] == 1 * 1 + 5 * 3 + 9 * 5 == expected[0, 0].item()
    assert check["torch"] == expected[0, 0].item()
    assert check["ok"] is True
    for b in range(2):
        for c in range(2):
            check = find_check(doc, f"batch={b}, class={c}")
            manual = sum(x[m, b, c].item() * w[m, c].item() for m in range(3))
            assert check["manual"] == manual
            assert check["torch"] == expected[b, c].item()
            assert check["ok"] is True
    einsum = [c for c in doc["checks"] if "einsum" in c["expression"]]
    assert len(einsum) == 1
    assert einsum[0]["ok"] is True
    assert torch.allclose(torch.einsum("mbc,mc->bc", x, w), expected)


def test_no_inputs_plain(tshape):
    x, w = notebook_inputs()
    expected = layer(x, w)
    r = tshape("weighted", "-f", "plain")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    for t in (x, w, w.view(3, 1, -1), x * w.view(3, 1, -1), expected):
        assert plain_summary(t) in r.stdout
        assert torch_layout(t) in r.stdout
    assert "batch=0, class=0" in r.stdout
    line = next(line for line in r.stdout.splitlines() if "batch=0, class=0" in line)
    assert "1*1 + 5*3 + 9*5" in line
    assert "61" in line


def test_no_inputs_quiet(tshape):
    r = tshape("weighted", "-q")
    assert r.code == 0
    assert r.stdout == "2 2\n"


def test_alias_weighted_sum(tshape):
    assert tshape("weighted-sum", "--json").doc == tshape("weighted", "--json").doc


@pytest.mark.parametrize(
    ("weights", "batch"),
    [
        ("[[1, 2], [3, 4]]", None),
        ("[[1, 2, 3], [4, 5, 6]]", 3),
        ("[[0.5], [2], [1.5], [1]]", 1),
        ("[[1, 2], [3, 4], [5, 6]]", 4),
    ],
)
def test_only_weights_makes_x_one_to_n(tshape, weights, batch):
    w = torch.tensor(parse_literal(weights))
    m, c = w.shape
    b = 2 if batch is None else batch
    x = torch.arange(1, m * b * c + 1, dtype=torch.float32).view(m, b, c)
    expected = layer(x, w)
    extra = [] if batch is None else ["--batch", str(batch)]
    r = tshape("weighted", "-w", weights, *extra, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["inputs"]["weights"], w)
    assert_tensor(doc["result"], expected)
    assert all(c["ok"] for c in doc["checks"])

    plain = tshape("weighted", "-w", weights, *extra, "-f", "plain")
    assert plain.code == 0
    assert torch_layout(x) in plain.stdout
    assert torch_layout(expected) in plain.stdout


def test_x_and_weights_given(tshape):
    literal_x = "[[[1, 2, 3]], [[4, 5, 6]]]"
    literal_w = "[[0.5, 1, 2], [3, 0, -1]]"
    x = torch.tensor(parse_literal(literal_x))
    w = torch.tensor(parse_literal(literal_w))
    r = tshape("weighted", literal_x, "-w", literal_w, "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], layer(x, w))


@pytest.mark.parametrize("seed", [0, 3, 1234])
def test_random_weights_follow_manual_seed(tshape, seed):
    r = tshape("weighted", "--random", "--seed", str(seed), "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(seed)
    w = torch.rand(3, 2)
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    doc = r.doc
    assert_tensor(doc["inputs"]["weights"], w)
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["result"], layer(x, w))
    assert all(c["ok"] for c in doc["checks"])


def test_random_weights_with_models_and_classes(tshape):
    r = tshape("weighted", "--random", "--models", "4", "--classes", "5", "--seed", "9", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(9)
    w = torch.rand(4, 5)
    x = torch.arange(1, 4 * 2 * 5 + 1, dtype=torch.float32).view(4, 2, 5)
    assert_tensor(r.doc["inputs"]["weights"], w)
    assert_tensor(r.doc["inputs"]["x"], x)
    assert_tensor(r.doc["result"], layer(x, w))


def test_random_weights_for_a_given_x(tshape):
    literal_x = "[[[1, 2, 3]], [[4, 5, 6]]]"
    x = torch.tensor(parse_literal(literal_x))
    r = tshape("weighted", literal_x, "--random", "--seed", "2", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(2)
    w = torch.rand(2, 3)  # (models, classes) taken from x
    assert_tensor(r.doc["inputs"]["weights"], w)
    assert_tensor(r.doc["result"], layer(x, w))


def test_random_weights_plain(tshape):
    torch.manual_seed(5)
    w = torch.rand(3, 2)
    r = tshape("weighted", "--random", "--seed", "5", "-f", "plain")
    assert r.code == 0
    assert torch_layout(w) in r.stdout
    assert torch_layout(layer(notebook_inputs()[0], w)) in r.stdout


@pytest.mark.parametrize(
    ("x_spec", "w_spec", "what", "dim", "x_size", "w_size"),
    [
        ("ones(4, 2, 2)", "ones(3, 2)", "models", 0, 4, 3),
        ("ones(2, 2, 2)", "ones(5, 2)", "models", 0, 2, 5),
        ("ones(3, 2, 3)", "ones(3, 2)", "classes", 2, 3, 2),
        ("ones(3, 2, 4)", "ones(3, 7)", "classes", 2, 4, 7),
    ],
)
def test_mismatched_models_or_classes(tshape, x_spec, w_spec, what, dim, x_size, w_size):
    x = torch.ones(*parse_literal("[" + x_spec[5:-1] + "]"))
    w = torch.ones(*parse_literal("[" + w_spec[5:-1] + "]"))
    assert x.shape[dim] == x_size
    assert w.shape[0 if dim == 0 else 1] == w_size
    with pytest.raises(RuntimeError):
        layer(x, w)

    r = tshape("weighted", x_spec, "-w", w_spec, "--json")
    assert r.code == 1
    assert r.stderr == ""
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    message = doc["error"]["message"]
    assert what in message
    assert {str(x_size), str(w_size)} <= numbers_in(message)

    plain = tshape("weighted", x_spec, "-w", w_spec, "-f", "plain")
    assert plain.code == 1
    error = [line for line in plain.stdout.splitlines() if what in line and str(w_size) in line]
    assert error
    assert not any(line.startswith("Result") for line in plain.stdout.splitlines())

    quiet = tshape("weighted", x_spec, "-w", w_spec, "-q")
    assert quiet.code == 1
    assert quiet.stdout == ""
    assert_one_line(quiet.stderr)
    assert what in quiet.stderr


@pytest.mark.parametrize(("x_spec", "w_spec"), [("ones(3, 2)", "ones(3, 2)"), ("ones(3, 2, 2)", "ones(3)")])
def test_wrong_rank(tshape, x_spec, w_spec):
    r = tshape("weighted", x_spec, "-w", w_spec, "--json")
    assert r.code == 1
    assert r.doc["error"] is not None
    assert r.doc["result"] is None


def test_one_weight_per_model_is_broadcast_over_classes(tshape):
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    w = torch.tensor([[2.0], [3.0], [4.0]])
    r = tshape("weighted", str(x.tolist()), "-w", "[[2.0], [3.0], [4.0]]", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], layer(x, w))
    assert all(c["ok"] for c in r.doc["checks"])


def test_integer_inputs_stay_exact(tshape):
    literal_x = "[[[1, 2]], [[3, 4]]]"
    literal_w = "[[5, 6], [7, 8]]"
    expected = layer(torch.tensor(parse_literal(literal_x)), torch.tensor(parse_literal(literal_w)))
    r = tshape("weighted", literal_x, "-w", literal_w, "--json")
    assert r.code == 0
    assert_tensor(r.doc["result"], expected)
    assert r.doc["result"]["dtype"] == "int64"


def test_large_input_has_few_written_checks(tshape):
    r = tshape(
        "weighted", "rand(5, 40, 30)", "-w", "rand(5, 30)", "--seed", "0", "--max-values", "6000", "--json"
    )
    assert r.code == 0, r.stderr
    torch.manual_seed(0)
    x = torch.rand(5, 40, 30)
    w = torch.rand(5, 30)
    expected = layer(x, w)
    doc = r.doc
    assert_tensor(doc["inputs"]["x"], x)
    assert_tensor(doc["inputs"]["weights"], w)
    assert_tensor(doc["result"], expected, rel=1e-6)

    written = [c for c in doc["checks"] if c["label"].startswith("batch=")]
    assert 1 <= len(written) <= 8  # a few, not 1,200
    for check in written:
        b, c = map(int, re.match(r"batch=(\d+), class=(\d+)$", check["label"]).groups())
        assert check["torch"] == pytest.approx(expected[b, c].item(), rel=1e-6)
        manual = sum(x[m, b, c].item() * w[m, c].item() for m in range(5))
        assert check["manual"] == pytest.approx(manual, rel=1e-9)
        assert check["expression"].count("*") == 5
        assert check["ok"] is True
    einsum = [c for c in doc["checks"] if "einsum" in c["expression"]]
    assert len(einsum) == 1
    assert einsum[0]["ok"] is True
    assert len(doc["checks"]) == len(written) + 1


def test_large_input_is_elided(tshape):
    r = tshape("weighted", "rand(5, 40, 30)", "-w", "rand(5, 30)", "--seed", "0", "--json")
    assert r.code == 0
    doc = r.doc
    assert doc["inputs"]["x"]["values"] is None  # 6,000 elements
    assert doc["result"]["values"] is None  # 1,200 elements
    assert doc["result"]["shape"] == [40, 30]
    assert doc["inputs"]["weights"]["values"] is not None  # 150 elements

    plain = tshape("weighted", "rand(5, 40, 30)", "-w", "rand(5, 30)", "--seed", "0", "-f", "plain")
    assert plain.code == 0
    assert "..." in plain.stdout
    assert len(plain.stdout.splitlines()) < 300

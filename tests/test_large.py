"""Large tensors: values elided above --max-values in every format, with a summary in JSON."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import assert_schema, assert_tensor, torch_layout


def torch_summary(t: torch.Tensor) -> dict:
    """min, max, mean, std over the finite values, and the NaN and Inf counts, by torch."""
    data = t.double()
    finite = data[torch.isfinite(data)]
    return {
        "min": finite.min().item(),
        "max": finite.max().item(),
        "mean": finite.mean().item(),
        "std": finite.std().item(),
        "nan": int(torch.isnan(data).sum()),
        "inf": int(torch.isinf(data).sum()),
    }


def assert_summary(info: dict, t: torch.Tensor) -> None:
    assert info["values"] is None
    want = torch_summary(t)
    got = info["summary"]
    assert set(got) == set(want)
    assert got["nan"] == want["nan"] and got["inf"] == want["inf"]
    for key in ("min", "max", "mean", "std"):
        assert got[key] == pytest.approx(want[key], rel=1e-12), key


@pytest.mark.parametrize(
    ("spec", "make"),
    [
        ("arange(2000)", lambda: torch.arange(2000)),
        ("arange(0, 100, 0.05)", lambda: torch.arange(0, 100, 0.05)),
        ("ones(40, 50)", lambda: torch.ones(40, 50)),
    ],
)
def test_summary_matches_torch(tshape, spec, make):
    x = make()
    r = tshape("view", spec, "--shape", "-1", "--json")
    assert r.code == 0, r.stderr
    assert_schema(r.doc)
    assert_summary(r.doc["inputs"]["x"], x)
    assert_summary(r.doc["result"], x.view(-1))


def test_summary_counts_nan_and_inf_and_skips_them(tshape, tmp_path):
    values = [float(i) for i in range(1200)]
    values[5], values[700] = math.nan, math.inf
    values[9] = -math.inf
    path = tmp_path / "x.json"
    path.write_text(json.dumps(values, allow_nan=True))  # NaN and Infinity, as Python writes them
    x = torch.tensor(values)
    r = tshape("view", str(path), "--shape", "30,-1", "--json")
    assert r.code == 0, r.stderr
    assert_summary(r.doc["result"], x.view(30, -1))
    assert r.doc["result"]["summary"]["nan"] == 1
    assert r.doc["result"]["summary"]["inf"] == 2


def test_summary_of_a_bool_tensor(tshape):
    x = torch.eye(40, dtype=torch.bool)
    r = tshape("view", "eye(40)", "--dtype", "bool", "--shape", "-1", "--json")
    assert r.code == 0, r.stderr
    assert_summary(r.doc["result"], x.view(-1))


def test_summary_when_no_value_is_finite(tshape):
    r = tshape("view", "[" + ", ".join(["nan"] * 1001) + "]", "--shape", "-1", "--json")
    assert r.code == 0
    summary = r.doc["result"]["summary"]
    assert summary == {"min": None, "max": None, "mean": None, "std": None, "nan": 1001, "inf": 0}


@pytest.mark.parametrize("limit", ["0", "5", "1000"])
def test_max_values_sets_the_threshold(tshape, limit):
    x = torch.arange(1001)
    r = tshape("view", "arange(1001)", "--shape", "-1", "--max-values", limit, "--json")
    assert_summary(r.doc["result"], x)
    r = tshape("view", "arange(1001)", "--shape", "-1", "--max-values", "1001", "--json")
    assert_tensor(r.doc["result"], x)
    assert "summary" not in r.doc["result"]


def test_plain_elides_a_3d_tensor_as_torch_prints_it(tshape):
    x = torch.arange(10 * 10 * 12).view(10, 10, 12)
    r = tshape("view", "arange(1200)", "--shape", "10,10,12", "-f", "plain")
    assert r.code == 0
    assert torch_layout(x) in r.stdout
    assert len(r.stdout.splitlines()) < 120


def test_rich_elides_with_first_and_last_indices(tshape):
    x = torch.arange(40 * 50).view(40, 50)
    r = tshape("view", "arange(2000)", "--shape", "40,50", "-f", "rich", env={"COLUMNS": "200"})
    assert r.code == 0
    assert "…" in r.stdout or "..." in r.stdout
    for value in (x[0, 0], x[0, -1], x[-1, 0], x[-1, -1]):
        assert str(int(value)) in r.stdout
    assert str(int(x[20, 25])) not in r.stdout.split()
    assert len(r.stdout.splitlines()) < 100


def test_a_million_element_json_file_through_view(tshape, tmp_path):
    x = torch.arange(1_000_000, dtype=torch.float64) / 7
    path = tmp_path / "big.json"
    path.write_text(json.dumps(x.tolist()))
    expected = torch.tensor(json.loads(path.read_text())).view(1000, -1)
    r = tshape("view", str(path), "--shape", "1000,-1", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected, values=False)
    assert_summary(r.doc["result"], expected)
    assert len(r.stdout) < 20_000


def test_each_tensor_of_an_explanation_has_its_own_summary(tshape):
    # x, x * w and the transposed view share memory or shapes: each summary is still its own
    torch.manual_seed(3)
    x = torch.rand(3, 700, 2)
    w = torch.rand(3, 2)
    r = tshape("weighted", "rand(3, 700, 2)", "--weights", "rand(3, 2)", "--seed", "3", "--json")
    assert r.code == 0, r.stderr
    steps = r.doc["steps"]
    assert_summary(steps[0]["tensor"], x)
    assert_summary(steps[3]["tensor"], x * w.view(3, 1, -1))
    r = tshape("view", "arange(0, 200, 0.1)", "--transpose", "0,0", "--shape", "40,-1", "--json")
    assert_summary(r.doc["result"], torch.arange(0, 200, 0.1).view(40, -1))

"""tshape inspect FILE: every tensor of a file, as a state-dict summary, without reading the data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor, find_check
from safetensors.torch import load_file, save_file


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )


@pytest.fixture
def state_file(tmp_path):
    m = model()
    path = tmp_path / "model.pt"
    torch.save(m.state_dict(), path)
    return path, m


def test_state_dict_summary(tshape, state_file):
    path, m = state_file
    state = torch.load(path, weights_only=True)
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "inspect"
    assert list(doc["inputs"]) == list(state)  # every tensor, in the file's order
    for key, tensor in state.items():
        assert_tensor(doc["inputs"][key], tensor, values=False)
        assert doc["inputs"][key]["values"] is None  # nothing but the shapes is read
    table = doc["steps"][0]["table"]
    assert [row[0] for row in table["rows"]] == list(state)
    assert [row[3] for row in table["rows"]] == [f"{t.numel():,}" for t in state.values()]
    total = find_check(doc, "total parameters")
    assert total["manual"] == total["torch"] == sum(t.numel() for t in state.values())
    assert total["ok"] is True
    # the parameters alone, as nn.Module counts them, are part of that total
    assert sum(p.numel() for p in m.parameters()) < total["torch"]


def test_plain_summary(tshape, state_file):
    path, _ = state_file
    state = torch.load(path, weights_only=True)
    r = tshape("inspect", str(path), "-f", "plain")
    assert r.code == 0
    for key, tensor in state.items():
        line = next(line for line in r.stdout.splitlines() if line.split()[:1] == [key])
        assert str(tuple(tensor.shape)) in line
        assert str(tensor.dtype).removeprefix("torch.") in line
    total = sum(t.numel() for t in state.values())
    assert f"{total:,} elements" in r.stdout
    assert f"= {total}" in r.stdout


def test_rich_summary(tshape, state_file):
    path, _ = state_file
    r = tshape("inspect", str(path), "-f", "rich")
    assert r.code == 0
    assert "0.weight" in r.stdout and "running_mean" in r.stdout


def test_quiet_lists_names_and_shapes(tshape, state_file):
    path, _ = state_file
    state = torch.load(path, weights_only=True)
    r = tshape("inspect", str(path), "-q")
    assert r.code == 0
    assert r.stdout.splitlines() == [" ".join([k, *map(str, t.shape)]) for k, t in state.items()]


def test_safetensors(tshape, tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"b": torch.zeros(2, dtype=torch.float16), "a": torch.ones(3, 4)}, str(path))
    loaded = load_file(str(path))
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0, r.stderr
    assert set(r.doc["inputs"]) == set(loaded)
    for key, tensor in loaded.items():
        assert_tensor(r.doc["inputs"][key], tensor, values=False)
    assert find_check(r.doc, "total parameters")["torch"] == sum(t.numel() for t in loaded.values())


def test_npy_is_one_tensor_named_after_the_file(tshape, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((5, 7), dtype=np.float32))
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0
    assert list(r.doc["inputs"]) == ["x.npy"]
    assert_tensor(r.doc["inputs"]["x.npy"], torch.from_numpy(np.load(path)), values=False)


def test_other_entries_are_named(tshape, tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 7, "config": {"lr": 0.1}, "model": {"w": torch.zeros(2)}}, path)
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0
    assert list(r.doc["inputs"]) == ["model.w"]
    note = r.doc["steps"][0]["note"]
    assert "epoch" in note and "config.lr" in note


def test_dtype_option(tshape, state_file):
    path, _ = state_file
    r = tshape("inspect", str(path), "--dtype", "float16", "--json")
    assert {i["dtype"] for i in r.doc["inputs"].values()} == {"float16"}


def test_large_checkpoint_is_listed_without_the_element_limit(tshape, tmp_path):
    path = tmp_path / "big.pt"
    torch.save({"emb": torch.zeros(3000, 1000)}, path)
    r = tshape("inspect", str(path), "--max-elements", "10", "-q")
    assert r.code == 0, r.stderr
    assert r.stdout == "emb 3000 1000\n"


@pytest.mark.parametrize("name", ["model.txt", "missing.pt"])
def test_bad_file(tshape, tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("[1, 2]")
    r = tshape("inspect", str(path))
    assert r.code == 2
    assert_one_line(r.stderr)
    assert str(path) in r.stderr

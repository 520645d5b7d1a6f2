"""tshape trace FILE.py:NAME: real models written here, every traced shape compared with the
shapes torch gives when the test runs the same code itself (forward hooks, or the calls)."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_line, run_tshape, values_equal
from torch import nn

CNN = """
import torch
from torch import nn


class CNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        # wrong: two poolings of a 32x32 image leave 8x8, not 4x4
        self.fc = nn.Linear(32 * 4 * 4, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class FixedCNN(CNN):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)
        print("weight on", self.fc.weight.device)

    def forward(self, x):
        print("traced on", self.fc.weight.device)
        return super().forward(x)


if __name__ == "__main__":
    print("the main block ran")
"""

ATTENTION = """
import math
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)

    def forward(self, x):
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        scores = q @ k.transpose(0, 1) / math.sqrt(q.size(-1))  # wrong: should be (-2, -1)
        return x + scores.softmax(-1) @ v
"""

FUNCTIONS = """
import torch
import torch.nn.functional as F


def head(x, w, b):
    h = F.linear(x, w, b)
    h = F.relu(h)
    p = F.softmax(h, dim=-1)
    return torch.cat([p, h], dim=1).sum(0)


def regroup(x):
    y = x.permute(0, 2, 1)
    return y.view(2, -1)  # wrong: y is not contiguous; reshape would copy
"""

LSTM = """
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=10, hidden_size=20)  # batch_first left False
        self.out = nn.Linear(20, 5)

    def forward(self, x):
        # the author thinks of x as (batch, seq, features): h0 takes its batch from dim 0
        h0 = torch.zeros(1, x.size(0), 20)
        c0 = torch.zeros(1, x.size(0), 20)
        y, _ = self.lstm(x, (h0, c0))
        return self.out(y)
"""

NESTED = """
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return torch.relu(self.fc(x)) + x


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), nn.Dropout(0.0))
        self.layers = nn.ModuleList([Block() for _ in range(12)])
        self.head = nn.Sequential(nn.Linear(6, 3), nn.Sequential(nn.Linear(3, 2)))

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


net = nn.Sequential(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), nn.Sequential(nn.Linear(6, 2), nn.Tanh()))
"""


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def load(path: Path) -> Any:
    """The same file imported by the test itself, for torch's own shapes."""
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hooked(model: nn.Module, x: torch.Tensor, only: set[str] | None = None) -> dict[str, list[int]]:
    """Each module's output shape by path, recorded by forward hooks (torch's own numbers)."""
    shapes: dict[str, list[int]] = {}
    handles = []
    for path, module in model.named_modules():
        if only is None or path in only:

            def hook(m: nn.Module, args: Any, out: Any, path: str = path) -> None:
                first = out[0] if isinstance(out, tuple) else out
                shapes.setdefault(path, list(first.shape))

            handles.append(module.register_forward_hook(hook))
    try:
        model(x)
    except RuntimeError:
        pass
    finally:
        for h in handles:
            h.remove()
    return shapes


def line_of(source: str, text: str) -> int:
    lines = textwrap.dedent(source).splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def trace(*args: str) -> Any:
    return run_tshape("trace", *args)


def by_module(doc: dict[str, Any]) -> dict[str | None, list[int]]:
    return {s["module"]: s["tensor"]["shape"] for s in doc["steps"] if s["tensor"] is not None}


# --- the models ----------------------------------------------------------------------------------


def test_cnn_with_the_wrong_in_features_after_flatten(tmp_path):
    path = write(tmp_path, "cnn", CNN)
    r = trace(f"{path}:CNN", "-i", "shape(8, 3, 32, 32)", "--json")
    assert r.code == 1, r.stderr
    doc = r.doc
    assert doc["op"] == "trace"
    # torch's own shapes, on the same model with a real input
    model = load(path).CNN()
    x = torch.zeros(8, 3, 32, 32)
    want = hooked(model, x, {f"features.{i}" for i in range(6)})
    got = by_module(doc)
    for i in range(6):
        assert got[f"features.{i}"] == want[f"features.{i}"]
    flat = torch.flatten(model.features(x), 1)
    flatten_step = next(s for s in doc["steps"] if s["title"].startswith("torch.flatten"))
    assert flatten_step["tensor"]["shape"] == list(flat.shape)
    assert flatten_step["module"] == ""
    assert flatten_step["location"] == {"file": str(path), "line": line_of(CNN, "torch.flatten(x, 1)")}
    # the record ends with the failing call, explained by linear's own rule
    last = doc["steps"][-1]
    assert last["module"] == "fc"
    assert last["code"] == "return self.fc(x)"
    assert last["location"]["line"] == line_of(CNN, "return self.fc(x)")
    assert last["tensor"] is None
    rows = {row[0]: row[1] for row in last["table"]["rows"]}
    assert rows["input"] == str(tuple(flat.shape))
    assert rows["weight"] == str(tuple(model.fc.weight.shape))
    with pytest.raises(RuntimeError) as raised:
        F.linear(flat.to("meta"), model.fc.weight.to("meta"), model.fc.bias.to("meta"))
    assert str(raised.value).splitlines()[0] in last["note"]
    assert "RuntimeError" in last["note"]
    assert doc["error"]["kind"] == "linear_in_features"
    assert str(flat.shape[1]) in doc["error"]["message"]
    assert str(model.fc.in_features) in doc["error"]["message"]
    assert doc["result"] is None


def test_the_fixed_cnn_runs_shape_only_with_meta_parameters(tmp_path):
    path = write(tmp_path, "cnn", CNN)
    r = trace(f"{path}:FixedCNN", "-i", "shape(8192, 3, 32, 32)", "--init", "num_classes=3", "--json")
    assert r.code == 0, r.stderr
    # the user's prints go to stderr: parameters made and used on the meta device
    assert "weight on meta" in r.stderr
    assert "traced on meta" in r.stderr
    assert "the main block ran" not in r.stderr + r.stdout
    out = load(path).FixedCNN(num_classes=3)(torch.zeros(2, 3, 32, 32))
    assert r.doc["result"]["shape"] == [8192, out.shape[1]]
    assert r.doc["call"] == "FixedCNN(num_classes=3)(x)"


def test_transformer_block_with_a_wrong_transpose_before_attention(tmp_path):
    path = write(tmp_path, "attention", ATTENTION)
    r = trace(f"{path}:Block", "-i", "randn(2, 5, 8)", "--seed", "0", "--json")
    assert r.code == 1, r.stderr
    doc = r.doc
    block = load(path).Block()
    x = torch.randn(2, 5, 8)
    h = block.norm(x)
    q, k = block.q(h), block.k(h)
    got = by_module(doc)
    for name, t in (("norm", h), ("q", q), ("k", k)):
        assert got[name] == list(t.shape)
    transposed = next(s for s in doc["steps"] if s["title"].startswith("Tensor.transpose"))
    assert transposed["tensor"]["shape"] == list(k.transpose(0, 1).shape)
    assert transposed["tensor"]["stride"] == list(k.transpose(0, 1).stride())
    failing = [s for s in doc["steps"] if s["tensor"] is None]
    assert failing[0]["code"].startswith("scores = q @ k.transpose(0, 1)")
    with pytest.raises(RuntimeError) as raised:
        q @ k.transpose(0, 1)
    assert str(raised.value).splitlines()[0] in failing[0]["note"]
    assert doc["error"]["kind"] == "matmul_mismatch"
    assert ".mT" in doc["error"]["hint"] or "transpose" in doc["error"]["hint"]


def test_a_function_of_functional_calls_with_values(tmp_path):
    path = write(tmp_path, "functions", FUNCTIONS)
    x, w, b = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5)
    files = {}
    for name, t in (("x", x), ("w", w), ("b", b)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(t.tolist()))
    named = [a for n in ("w", "b") for a in ("-i", f"{n}=@{files[n]}")]
    r = trace(f"{path}:head", "-i", f"@{files['x']}", *named, "--json")
    assert r.code == 0, r.stderr
    doc = r.doc
    assert doc["call"] == "head(x, w, b)"
    h0 = F.linear(x, w, b)
    h = F.relu(h0)
    p = F.softmax(h, dim=-1)
    c = torch.cat([p, h], dim=1)
    want = [("F.linear", h0), ("F.relu", h), ("F.softmax", p), ("torch.cat", c), ("Tensor.sum", c.sum(0))]
    steps = doc["steps"]
    assert [s["title"] for s in steps] == [name for name, _ in want]
    for step, (_, t) in zip(steps, want, strict=True):
        assert step["tensor"]["shape"] == list(t.shape)
        assert values_equal(step["tensor"]["values"], t.tolist(), rel=1e-6)
        assert step["module"] is None
    assert [row[0] for row in steps[0]["table"]["rows"]] == ["input", "weight", "bias"]
    assert doc["result"]["shape"] == list(c.sum(0).shape)


def test_view_after_permute_is_explained_by_the_strides(tmp_path):
    path = write(tmp_path, "functions", FUNCTIONS)
    r = trace(f"{path}:regroup", "-i", "arange(24).reshape", "--json")
    assert r.code == 2  # not a TENSOR: read before any code runs
    r = trace(f"{path}:regroup", "-i", "zeros(2, 3, 4)", "--json")
    assert r.code == 1, r.stderr
    y = torch.zeros(2, 3, 4).permute(0, 2, 1)
    permuted = r.doc["steps"][0]
    assert permuted["tensor"]["shape"] == list(y.shape)
    assert permuted["tensor"]["stride"] == list(y.stride())
    assert permuted["tensor"]["contiguous"] is False
    # the failing call with its operands, then view's own rule: the order in memory against
    # the order the view would read
    failing, why = r.doc["steps"][-2:]
    assert failing["table"]["rows"][0][1:] == [str(tuple(y.shape)), "float32", str(y.stride())]
    assert [row[0] for row in why["table"]["rows"]] == ["memory", "x row by row"]
    assert why["code"] == failing["code"]
    assert r.doc["error"]["kind"] == "view_not_contiguous"
    assert "reshape" in r.doc["error"]["hint"] or "contiguous" in r.doc["error"]["hint"]


def test_lstm_with_batch_first_confusion(tmp_path):
    path = write(tmp_path, "lstm", LSTM)
    r = trace(f"{path}:Tagger", "-i", "shape(4, 7, 10)", "--json")
    assert r.code == 1, r.stderr
    tagger = load(path).Tagger().to("meta")
    x = torch.empty(4, 7, 10, device="meta")
    with pytest.raises(RuntimeError) as raised:
        tagger(x)
    doc = r.doc
    zeros = [s for s in doc["steps"] if s["title"].startswith("torch.zeros")]
    assert [s["tensor"]["shape"] for s in zeros] == [[1, x.size(0), 20]] * 2
    last = doc["steps"][-1]
    assert last["module"] == "lstm"
    assert last["code"] == "y, _ = self.lstm(x, (h0, c0))"
    h0 = (1, x.size(0), 20)
    assert [row[1] for row in last["table"]["rows"]] == [str(tuple(x.shape)), str(h0), str(h0)]
    assert doc["error"]["message"] == str(raised.value).splitlines()[0]
    assert doc["error"]["kind"] == "torch_error"


def test_sequential_nesting_has_module_paths(tmp_path):
    path = write(tmp_path, "nested", NESTED)
    r = trace(f"{path}:net", "-i", "ones(2, 4)", "--json")
    assert r.code == 0, r.stderr
    net = load(path).net
    want = hooked(net, torch.ones(2, 4), {"0.0", "0.1", "1.0", "1.1"})
    assert by_module(r.doc) == want
    assert r.doc["result"]["shape"] == list(net(torch.ones(2, 4)).shape)


def test_depth_folds_and_counts_identical_blocks(tmp_path):
    path = write(tmp_path, "nested", NESTED)
    deep = load(path).Deep()
    x = torch.ones(3, 4)
    layer_paths = {f"layers.{i}" for i in range(12)}
    want = hooked(deep, x, {"stem", "head", *layer_paths, "stem.0.0", "head.1.0"})
    full = trace(f"{path}:Deep", "-i", "ones(3, 4)", "--json")
    assert full.code == 0, full.stderr
    modules = [s["module"] for s in full.doc["steps"]]
    assert "stem.0.0" in modules and "head.1.0" in modules
    assert "layers.0.fc" in modules and "layers.11.fc" in modules
    # --depth 1: the twelve blocks (depth 2 would be their fc) are folded: one step, counted
    folded = trace(f"{path}:Deep", "-i", "ones(3, 4)", "--depth", "1", "--json")
    assert folded.code == 0
    steps = folded.doc["steps"]
    layer_steps = [s for s in steps if (s["module"] or "").startswith("layers")]
    assert len(layer_steps) == 1
    assert "12" in layer_steps[0]["title"] and "layers.11" in layer_steps[0]["title"]
    assert {tuple(want[p]) for p in layer_paths} == {tuple(layer_steps[0]["tensor"]["shape"])}
    # --depth 0: one step per module the model calls (the ModuleList's blocks, merged)
    top = trace(f"{path}:Deep", "-i", "ones(3, 4)", "--depth", "0", "--json")
    got = by_module(top.doc)
    assert list(got) == ["stem", "layers.0", "head"]
    assert got["stem"] == want["stem"] and got["head"] == want["head"]


# --- formats, language, refusals -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "rich"])
def test_text_formats_show_the_trace(tmp_path, fmt):
    path = write(tmp_path, "cnn", CNN)
    r = trace(f"{path}:CNN", "-i", "shape(2, 3, 32, 32)", "-f", fmt)
    assert r.code == 1
    assert "return self.fc(x)" in r.stdout
    assert "features.3" in r.stdout
    where = f"{path.name}, line {line_of(CNN, 'return self.fc(x)')}"
    assert where in " ".join(r.stdout.replace("│", " ").split())


def test_quiet_prints_the_result_shape(tmp_path):
    path = write(tmp_path, "nested", NESTED)
    r = trace(f"{path}:net", "-i", "shape(5, 4)", "-q")
    assert r.code == 0
    assert r.stdout.split() == [str(s) for s in load(path).net(torch.ones(5, 4)).shape]
    r = trace(f"{write(tmp_path, 'cnn', CNN)}:CNN", "-i", "shape(2, 3, 32, 32)", "-q")
    assert r.code == 1
    assert_one_line(r.stderr)


def test_spanish(tmp_path):
    path = write(tmp_path, "cnn", CNN)
    r = trace(f"{path}:CNN", "-i", "shape(2, 3, 32, 32)", "-f", "plain", "--lang", "es")
    assert r.code == 1
    assert "línea" in r.stdout and "módulo features.0 (Conv2d)" in r.stdout
    assert "F.linear en fc falló" in r.stdout
    assert " line " not in r.stdout and "raised" not in r.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nofile.py:f"], "no such file"),
        (["{cnn}"], "FILE.py:NAME"),
        (["{cnn}:Nothing"], "has no Nothing"),
        (["{cnn}:torch"], "not a function"),
        (["{cnn}:CNN", "--init", "num_classes=int('3')"], "Python literal"),
        (["{cnn}:CNN", "--init", "3"], "keyword arguments"),
        (["{cnn}:CNN", "--init", "depth=3", "-i", "shape(1, 3, 32, 32)"], "unexpected keyword"),
        (["{cnn}:CNN", "-i", "shape(1)", "-i", "shape(2)"], "do not fit"),
        (["{cnn}:CNN", "-i", "x=shape(1)", "-i", "x=shape(2)"], "twice"),
        (["{broken}:f"], "importing"),
        (["{syntax}:f"], "not valid Python"),
    ],
)
def test_bad_command_lines_exit_2(tmp_path, args, expected):
    names = {
        "cnn": write(tmp_path, "cnn", CNN),
        "broken": write(tmp_path, "broken", "raise ValueError('no import for you')\n"),
        "syntax": write(tmp_path, "syntax", "def f(:\n"),
    }
    r = trace(*(a.format(**names) for a in args))
    assert r.code == 2, r.stdout
    assert_one_line(r.stderr)
    assert r.stderr.startswith("tshape: ")
    assert expected in r.stderr
    assert r.stdout == ""


def test_trace_is_refused_in_a_batch_file(tmp_path):
    marked = CNN.replace('print("weight on"', 'open("ran", "w").write("x"); print("weight on"')
    cnn = write(tmp_path, "cnn", marked)
    batch = tmp_path / "batch.tshape"
    batch.write_text(f'trace {cnn}:FixedCNN -i "shape(1, 3, 32, 32)"\nunsqueeze "[1, 2]" --dim 0\n')
    r = run_tshape("run", str(batch), "--json")
    assert r.code == 2
    assert "batch file" in r.stderr
    assert not (tmp_path / "ran").exists() and not Path("ran").exists()
    refused, ran = r.docs
    assert refused["error"]["kind"] == "usage" and refused["steps"] == []
    assert ran["op"] == "unsqueeze"


def test_help_says_it_runs_the_file(tshape):
    r = tshape("trace", "--help")
    assert r.code == 0
    assert "RUNS FILE.py" in r.stdout
    assert "__main__" in r.stdout

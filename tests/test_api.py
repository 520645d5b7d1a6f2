"""The Python API: import tensorshape_cli as tshape; explain, trace, and how results show."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch
from rich.console import Console
from torch import nn

import tensorshape_cli as tshape


class Attention(nn.Module):
    """A transformer block whose author gives nn.MultiheadAttention (batch_first) a transposed x."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(16)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x).transpose(1, 2)  # wrong: (batch, seq, embed) was already right
        out, _ = self.attn(h, h, h)
        return x + out


def test_importing_the_package_loads_nothing_heavy():
    code = (
        "import sys, tensorshape_cli as t; t.explain; t.trace; "
        "print(sorted(m for m in ('torch', 'rich', 'typer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_explain_an_expression_over_live_tensors():
    x = torch.arange(12.0)
    ex = tshape.explain("x.view(3, -1)", x=x)
    assert ex.op == "expr"
    assert ex.result is not None and ex.result.shape == list(x.view(3, -1).shape)
    assert ex.to_dict()["result"]["values"] == x.view(3, -1).tolist()


def test_trace_a_block_and_compare_with_hooks():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    shapes: dict[str, list[int]] = {}
    for name, m in model.named_children():

        def hook(mod: nn.Module, args: object, out: torch.Tensor, name: str = name) -> None:
            shapes.setdefault(name, list(out.shape))

        m.register_forward_hook(hook)
    x = torch.randn(5, 4)
    with tshape.trace() as tr:
        y = model(x).softmax(-1)
    ex = tr.explanation
    assert ex is not None and ex.error is None
    doc = ex.to_dict()
    got = {s["module"]: s["tensor"]["shape"] for s in doc["steps"] if s["module"] is not None}
    assert got == shapes
    last = doc["steps"][-1]
    assert last["title"] == "Tensor.softmax" and last["module"] is None
    assert last["tensor"]["values"] == y.tolist()  # the very tensor the block made
    assert last["location"]["file"] == __file__


def test_a_failure_in_the_block_is_recorded_and_reraised_unchanged():
    model = Attention()
    x = torch.randn(2, 5, 16)
    with pytest.raises(AssertionError) as direct:
        model(x)
    with pytest.raises(AssertionError) as traced, tshape.trace() as tr:
        model(x)
    assert str(traced.value) == str(direct.value)
    ex = tr.explanation
    assert ex is not None and ex.error is not None
    assert ex.error.message == f"AssertionError: {str(direct.value).splitlines()[0]}"
    last = ex.steps[-1]
    assert last.module == "attn"
    assert last.code == "out, _ = self.attn(h, h, h)"
    transposed = [s for s in ex.steps if s.title.startswith("Tensor.transpose")]
    assert transposed[0].tensor is not None
    assert transposed[0].tensor.shape == list(model.norm(x).transpose(1, 2).shape)


def test_an_explanation_shows_itself():
    with tshape.trace() as tr:
        torch.ones(2, 3).sum(0)
    ex = tr.explanation
    assert ex is not None
    html = ex._repr_html_()
    assert html.startswith("<pre") and "Tensor.sum" in html
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    console.print(ex)
    assert "Tensor.sum" in console.file.getvalue()
    assert "Tensor.sum" in str(ex)  # plain text, stdout not being a terminal here
    assert ex.to_dict()["op"] == "trace"

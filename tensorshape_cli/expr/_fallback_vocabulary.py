"""The vocabulary `expr` accepts, until `tensorshape_cli.vocabulary` (derived from torch's own
metadata) is there: the same interface, over the hand list `expr` accepted before, plus the
operators and layers it needs. Used only when that module cannot be imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_FUNCTIONS = (
    *("cat", "concat", "concatenate", "stack", "matmul", "einsum", "broadcast_to", "sum", "mean"),
    *("zeros", "ones", "arange", "unsqueeze", "squeeze", "reshape", "flatten", "permute"),
    *("transpose", "movedim", "equal", "split", "chunk", "unbind", "topk"),
)
_METHODS = (
    *("squeeze", "unsqueeze", "reshape", "view", "flatten", "permute", "transpose", "expand"),
    *("matmul", "sum", "mean", "contiguous", "size", "dim", "float", "int", "movedim", "split"),
    *("chunk", "unbind", "topk", "broadcast_to", "numel"),
)
_PROPERTIES = ("T", "shape", "ndim")
_RANDOM_FUNCTIONS = ("rand", "randn")
# Layers: those whose parameters torch initialises at random need --seed.
_LAYERS = ("Linear", "Conv1d", "Conv2d", "Conv3d", "Embedding", "LSTM", "GRU", "RNN", "MultiheadAttention")
_FIXED_LAYERS = (
    *("LayerNorm", "Sequential", "ReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "Flatten"),
    *("CrossEntropyLoss", "MSELoss", "L1Loss", "MaxPool2d", "AvgPool2d", "Identity"),
)
_FILES = ("load", "save", "from_file")
_GLOBAL = ("manual_seed", "seed", "set_default_dtype", "set_default_device", "set_num_threads")


@dataclass(frozen=True)
class Entry:
    fn: Any
    kind: str  # "function" | "method" | "property" | "module"
    random: bool = False


def _table() -> dict[str, tuple[str, str, bool]]:
    table: dict[str, tuple[str, str, bool]] = {}
    for name in _FUNCTIONS:
        table[f"torch.{name}"] = ("function", f"torch.{name}", False)
    for name in _RANDOM_FUNCTIONS:
        table[f"torch.{name}"] = ("function", f"torch.{name}", True)
    for name in _METHODS:
        table[f"torch.Tensor.{name}"] = ("method", f"torch.Tensor.{name}", False)
    for name in _PROPERTIES:
        table[f"torch.Tensor.{name}"] = ("property", f"torch.Tensor.{name}", False)
    for name in _LAYERS:
        table[f"torch.nn.{name}"] = ("module", f"torch.nn.{name}", True)
    for name in _FIXED_LAYERS:
        table[f"torch.nn.{name}"] = ("module", f"torch.nn.{name}", False)
    table["torch.nn.functional.linear"] = ("function", "torch.nn.functional.linear", False)
    return table


_TABLE = _table()


def lookup(path: str) -> Entry | None:
    found = _TABLE.get(path)
    if found is None:
        return None
    from tensorshape_cli.registry import resolve

    kind, target, random = found
    fn = resolve(target)
    return None if fn is None else Entry(fn, kind, random)


def refusal(path: str) -> str | None:
    last = path.rsplit(".", 1)[-1]
    if last.endswith("_") and not last.startswith("_"):
        return "expr.why.inplace"
    if last in _FILES:
        return "expr.why.files"
    if last in _GLOBAL:
        return "expr.why.global_state"
    return None


def names() -> list[str]:
    """Every accepted path, for the refusal that lists them."""
    return sorted(_TABLE)

"""torch.einsum: the work it may do is bounded; the contraction family explains it (its letter
→ size table, which letters are summed, one element as a written sum)."""

from __future__ import annotations

import math

from tensorshape_cli.explanation import Explanation
from tensorshape_cli.registry import Call, OpSpec, register


def _explain(call: Call) -> Explanation:
    from tensorshape_cli import registry

    return registry.get("contraction.einsum").explain(call)


def _work(call: Call) -> int:
    """einsum may visit every combination of its index letters."""
    import torch

    equation = call.arg(0, "equation")
    if not isinstance(equation, str):
        return 0
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    extra = 1
    for spec, x in zip(inputs, call.args[1:], strict=False):
        if not isinstance(x, torch.Tensor):
            return 0
        if "..." in spec:
            extra = max(extra, x.numel())
            continue
        for letter, size in zip(spec, x.shape, strict=False):
            sizes[letter] = max(sizes.get(letter, 1), size)
    return math.prod(sizes.values()) * extra


register(OpSpec("einsum", "contraction", _explain, targets=("torch.einsum",), work=_work))

"""tshape: explains, step by step, what PyTorch does to a tensor's shape and values.

As a library: `import tensorshape_cli as tshape`, then `tshape.explain("x.view(3, -1)", x=x)`
or `with tshape.trace() as tr: y = model(x)`; in Jupyter, `%load_ext tensorshape_cli`.
Importing the package costs nothing: torch, rich and the rest load when first used.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs every call, warm ones included, an import (~3 ms)
if TYPE_CHECKING:
    from typing import Any

    import torch

    from tensorshape_cli.api import Trace
    from tensorshape_cli.explanation import Explanation

__version__ = "0.1.0"
__all__ = ["__version__", "explain", "load_ipython_extension", "trace"]


def explain(expression: str, /, **tensors: torch.Tensor) -> Explanation:
    """Explain a tensor expression over these tensors, as `tshape expr` does."""
    from tensorshape_cli import api

    return api.explain(expression, **tensors)


def trace(depth: int | None = None) -> Trace:
    """`with tshape.trace() as tr:` records every torch call of the block (tr.explanation)."""
    from tensorshape_cli import api

    return api.trace(depth)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext tensorshape_cli`: the %tshape and %%tshape magics."""
    from tensorshape_cli.jupyter import load_ipython_extension as load

    load(ipython)

"""The notebook's walk-through, replayed on its own values, in its order."""

from __future__ import annotations

from tensorshape_cli.explanation import Explanation
from tensorshape_cli.messages import t
from tensorshape_cli.ops import linear, unsqueeze, view, weighted
from tensorshape_cli.ops._common import shape_only_if_any

# The notebook's own command lines, shown above each part of the demo.
COMMANDS = (
    'tshape unsqueeze "[1, 2, 3]"',
    'tshape unsqueeze "[[1, 2], [3, 4]]"',
    'tshape view "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]" --shape 3,1,-1',
    "tshape weighted",
    "tshape linear",
    'tshape linear "[[[0.5, 0.6, 0.7], [0.8, 0.9, 1.0]]]" '
    '--weight "[[1, 0, 0], [0, 1, 0]]" --bias "[0.1, 0.2]"',
)
# What each part shows, in the order of COMMANDS (message ids).
PARTS = (
    "demo.part.unsqueeze_vector",
    "demo.part.unsqueeze_matrix",
    "demo.part.view",
    "demo.part.weighted",
    "demo.part.linear",
    "demo.part.linear_batch",
)


def explain() -> list[Explanation]:
    import torch

    # under --meta every part is shape-only, not only those whose inputs pass through the ops' check
    a, b2, weights = shape_only_if_any(
        torch.tensor([1, 2, 3]),
        torch.tensor([[1, 2], [3, 4]]),
        torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    )
    x, w, b = linear.notebook_inputs()
    parts = [
        unsqueeze.explain(a),
        unsqueeze.explain(b2),
        view.explain(weights, [3, 1, -1]),
        weighted.explain(*weighted.prepare(None, None)),
        linear.explain(x, w, b),
        linear.explain(x.unsqueeze(0), torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), b),
    ]
    for i, (part, command, what) in enumerate(zip(parts, COMMANDS, PARTS, strict=True), 1):
        part.command = command
        part.part = t("demo.part", i=i, n=len(parts), what=t(what))
    parts[0].preface = t("demo.intro", n=len(parts))
    return parts

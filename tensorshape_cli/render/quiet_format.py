"""-q/--quiet: only the result's shape as space-separated integers, for `read` in a shell;
a plain value (`x.dim()`, `x.shape`, `torch.equal(a, b)`) as itself: `2`, `2 3`, `true`.

An op that fails prints nothing here: its one sentence goes to stderr (execute.py says it)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from tensorshape_cli.explanation import Explanation


def render(ex: Explanation, out: TextIO) -> None:
    if ex.error is not None:
        return
    if ex.result is not None:
        out.write(" ".join(map(str, ex.result.shape)) + "\n")
        return
    if ex.value is not None:
        out.write(_value(ex.value) + "\n")
        return
    # No single result (the unsqueeze tour): one line per output the explanation names.
    for output in ex.outputs or []:
        out.write(" ".join(map(str, output.shape)) + "\n")
    if not ex.outputs:  # a listing (inspect): each input's name, then its shape
        for name, info in ex.inputs.items():
            out.write(" ".join([name, *map(str, info.shape)]) + "\n")


def _value(value: Any) -> str:
    """A flat list (a shape) as a shape is written here; anything else as in the JSON."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return " ".join(map(str, value))
    return json.dumps(value)

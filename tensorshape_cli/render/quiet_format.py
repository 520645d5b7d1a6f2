"""-q/--quiet: only the result's shape as space-separated integers, for `read` in a shell.

An op that fails prints nothing here: its one sentence goes to stderr (execute.py says it)."""

from __future__ import annotations

from typing import TextIO

from tensorshape_cli.explanation import Explanation


def render(ex: Explanation, out: TextIO) -> None:
    if ex.error is not None:
        return
    if ex.result is not None:
        out.write(" ".join(map(str, ex.result.shape)) + "\n")
        return
    # No single result (the unsqueeze tour): one line per output the explanation names.
    for output in ex.outputs or []:
        out.write(" ".join(map(str, output.shape)) + "\n")
    if not ex.outputs:  # a listing (inspect): each input's name, then its shape
        for name, info in ex.inputs.items():
            out.write(" ".join([name, *map(str, info.shape)]) + "\n")

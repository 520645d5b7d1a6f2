"""Jupyter: `%load_ext tensorshape_cli`, then

    %tshape view x --shape 3,-1     a command as on the command line; a TENSOR may name a
                                    notebook variable that holds a tensor
    %%tshape [--depth N]            run the cell, as the notebook would, with every torch call
                                    recorded; the trace is shown under it

Both run in the kernel: %tshape through the execution boundary (the same exit codes and
messages, written to the cell's output; the notebook's tensors are handed to it by name),
%%tshape through the shell's own run_cell, so the cell is the user's code run as it would be
without the magic.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from tensorshape_cli import settings
from tensorshape_cli.messages import resolve_lang, t


def load_ipython_extension(ipython: Any) -> None:
    def tshape_line(line: str) -> None:
        run_line(ipython, line)

    def tshape_cell(line: str, cell: str) -> None:
        run_cell(ipython, line, cell)

    ipython.register_magic_function(tshape_line, "line", "tshape")
    ipython.register_magic_function(tshape_cell, "cell", "tshape")


def run_line(ipython: Any, line: str) -> int:
    from tensorshape_cli import execute

    try:
        argv = shlex.split(line)
    except ValueError as e:
        with settings.use(settings.Settings(lang=resolve_lang())):
            return execute.emit(execute.failed(t("trace.magic_split", error=e)))
    return execute.run(argv, tensors=_tensors(ipython.user_ns))


def run_cell(ipython: Any, line: str, cell: str) -> None:
    from IPython.display import display

    from tensorshape_cli.api import Trace

    ok, depth = _depth(line)
    if not ok:
        return
    tracer = Trace(depth)
    tracer.__enter__()
    outcome = None
    try:
        outcome = ipython.run_cell(cell)  # IPython shows the cell's own output and traceback
    finally:
        error = None if outcome is None else (outcome.error_in_exec or outcome.error_before_exec)
        explanation = tracer.stop(error)
    display(explanation)


def _depth(line: str) -> tuple[bool, int | None]:
    """--depth N, --depth=N or nothing; not ok (after a one-line message) for anything else."""
    words = line.replace("=", " ").split()
    if not words:
        return True, None
    if len(words) == 2 and words[0] == "--depth" and words[1].isdigit():
        return True, int(words[1])
    from tensorshape_cli import execute

    with settings.use(settings.Settings(lang=resolve_lang())):
        execute.emit(execute.failed(t("trace.magic_usage", line=line.strip())))
    return False, None


def _tensors(namespace: dict[str, Any]) -> dict[str, Any]:
    """The notebook's variables that hold tensors (none when torch was never imported)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    return {k: v for k, v in namespace.items() if not k.startswith("_") and isinstance(v, torch.Tensor)}

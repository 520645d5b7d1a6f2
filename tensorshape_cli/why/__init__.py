"""`tshape why`: a pasted PyTorch error → the family's explanation, rebuilt on shape-only tensors.

traceback.py reads the last exception and the user's frame out of the text, patterns.py
recognises torch's message and reads its numbers, source.py names the user's variables
from the source line (with `ast`, never run), explain.py rebuilds and explains.
"""

from __future__ import annotations

import sys

from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.why.explain import explain
from tensorshape_cli.why.traceback import MAX_CHARS

# Standard input is read to this many bytes at most (a log with a traceback at its end):
# only its last MAX_CHARS characters are kept, so memory stays bounded for any stream.
MAX_STDIN = 16 << 20
CHUNK = 1 << 16

__all__ = ["explain", "read_text"]


def read_text(text: str) -> str:
    """TEXT as given, or standard input for '-'."""
    if text != "-":
        return text
    stream = sys.stdin.buffer if sys.stdin is not None and hasattr(sys.stdin, "buffer") else None
    if stream is None:
        raise InputError(t("why.stdin_closed"))
    if sys.stdin.isatty():
        raise InputError(t("why.stdin_tty"))
    tail = b""
    total = 0
    try:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if total > MAX_STDIN:
                raise InputError(t("why.stdin_too_big", limit=MAX_STDIN))
            tail = (tail + chunk)[-4 * MAX_CHARS :]
    except OSError as e:
        raise InputError(t("why.stdin_error", error=e.strerror or str(e))) from None
    return tail.decode("utf-8", errors="replace")[-MAX_CHARS:]

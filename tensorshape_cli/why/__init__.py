"""`tshape why`: a pasted PyTorch error → the family's explanation, rebuilt on shape-only tensors.

traceback.py reads the last exception and the user's frame out of the text, patterns.py
recognises torch's message and reads its numbers, source.py names the user's variables
from the source line (with `ast`, never run), explain.py rebuilds and explains.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

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
    """TEXT as given, a file for @PATH, or standard input for '-'; of a file or a stream only
    the last MAX_CHARS characters are kept (the traceback is at the end of a log)."""
    if text == "-":
        stream = sys.stdin.buffer if sys.stdin is not None and hasattr(sys.stdin, "buffer") else None
        if stream is None:
            raise InputError(t("why.stdin_closed"))
        if sys.stdin.isatty():
            raise InputError(t("why.stdin_tty"))
        return _tail(stream, t("input.stdin"))
    if text.startswith("@") and len(text) > 1:
        from pathlib import Path

        from tensorshape_cli.files import open_regular

        with open_regular(Path(text[1:]).expanduser(), "TEXT") as stream:
            return _tail(stream, text[1:])
    return text


def _tail(stream: BinaryIO, where: str) -> str:
    tail = b""
    total = 0
    try:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if total > MAX_STDIN:
                raise InputError(t("why.too_big", where=where, limit=MAX_STDIN))
            tail = (tail + chunk)[-4 * MAX_CHARS :]
    except OSError as e:
        raise InputError(t("why.read_error", where=where, error=e.strerror or str(e))) from None
    return tail.decode("utf-8", errors="replace")[-MAX_CHARS:]

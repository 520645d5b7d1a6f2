"""A pasted error or traceback → the last exception's type and message, and where it was raised.

Read line by line in one pass (linear time, whatever the text): Python prints a chain of
exceptions oldest first, so the last `Traceback (most recent call last):` block is the one
that ended the program. Its innermost frame outside Python's and the libraries' own files
is the user's line: the file, the line number and the source line as Python printed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 1 << 20  # a traceback longer than this is not one a person pastes
MAX_LINE = 10_000  # longer lines are cut: the numbers tshape reads sit at their start

TRACEBACK = "Traceback (most recent call last):"
FRAME = re.compile(r'^\s*File "([^"\n]{1,4096})", line (\d{1,9})(?:, in (\S{1,512}))?\s*$')
# `RuntimeError: …`, `torch.OutOfMemoryError: …`, `__main__.MyError: …`
EXCEPTION = re.compile(r"^([A-Za-z_][\w.]{0,200}(?:Error|Exception|Warning|Interrupt|Exit)): ?(.*)$")
MARKERS = re.compile(r"^\s*[~^]+\s*$")  # Python 3.11's ^^^^ under the failing expression
# Files that are not the user's own: the standard library and installed packages.
LIBRARY = re.compile(r"(site-packages|dist-packages|[\\/]lib[\\/]python\d|^<frozen |^<string>$)")


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    code: str


@dataclass(frozen=True)
class Parsed:
    exception: str  # "RuntimeError", or "" when the text gave none
    message: str  # the exception's message (every line of it), or the whole text
    location: Location | None


def parse(text: str) -> Parsed:
    text = text[:MAX_CHARS]
    lines = [line[:MAX_LINE] for line in text.replace("\r\n", "\n").split("\n")]
    start = _last_traceback(lines)
    if start is None:
        return _bare(lines)
    frames: list[Location] = []
    i = start + 1
    while i < len(lines):
        match = FRAME.match(lines[i])
        if match:
            code = ""
            nxt = i + 1
            if nxt < len(lines) and not FRAME.match(lines[nxt]) and lines[nxt].startswith("    "):
                code = lines[nxt].strip()
                nxt += 1
            while nxt < len(lines) and MARKERS.match(lines[nxt]):
                nxt += 1
            frames.append(Location(match.group(1), int(match.group(2)), code))
            i = nxt
            continue
        if lines[i].startswith(" ") or not lines[i].strip():
            i += 1  # "  [Previous line repeated 996 more times]", blank lines
            continue
        break
    exception, message = "", "\n".join(lines[i:]).strip()
    found = EXCEPTION.match(lines[i]) if i < len(lines) else None
    if found:
        exception = found.group(1)
        message = "\n".join([found.group(2), *lines[i + 1 :]]).strip()
    return Parsed(exception, message, _users_frame(frames))


def _last_traceback(lines: list[str]) -> int | None:
    found = None
    for i, line in enumerate(lines):
        if line.strip() == TRACEBACK:
            found = i
    return found


def _bare(lines: list[str]) -> Parsed:
    """An error message without its traceback: the last `Error: …` line starts it, if any."""
    for i in range(len(lines) - 1, -1, -1):
        match = EXCEPTION.match(lines[i].strip())
        if match:
            rest = [match.group(2), *lines[i + 1 :]]
            return Parsed(match.group(1), "\n".join(rest).strip(), None)
    return Parsed("", "\n".join(lines).strip(), None)


def _users_frame(frames: list[Location]) -> Location | None:
    """The innermost frame in the user's own files; the innermost of all when every frame is
    a library's (a traceback pasted from inside a package)."""
    for frame in reversed(frames):
        if not LIBRARY.search(frame.file):
            return frame
    return frames[-1] if frames else None

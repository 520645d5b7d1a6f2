"""One domain exception and the exit codes it maps to at the command-line boundary."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1  # the operation is invalid for these inputs (explained, with a hint)
    USAGE = 2  # bad command line or unreadable input
    INTERNAL = 70  # a bug in tshape (EX_SOFTWARE); reported in one line, never a traceback
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # stdout closed early (`tshape demo | head -1`), as 128 + SIGPIPE


class InputError(Exception):
    """Unreadable input or a bad command line: one sentence on stderr, exit 2."""

    exit_code = ExitCode.USAGE

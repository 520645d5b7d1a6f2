"""Files named on the command line, read safely: a path as tshape shows it, `~` expanded as
the shell would, and only regular files opened (never a FIFO, a terminal or a device).

Shared by the readers of TENSOR text (inputs.py), of tensor files (tensorfiles.py), of
`tshape run` files and of `why @FILE`. No torch.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t


def expand_user(path: Path) -> Path:
    """~/x.json as the shell would; `~nosuchuser/x` stays as written (a missing file)."""
    try:
        return path.expanduser()
    except (RuntimeError, ValueError):  # "Could not determine home directory", a NUL
        return path


def shown_path(path: Path | str) -> str:
    """A path (or a key from a file) as tshape shows it: on one line, with no control
    characters, whatever it holds: an ESC or a newline is shown as \\x1b or \\n, so a
    name from a file can neither drive the terminal nor break a line of -q output."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


# What a path names when it is not a regular file, for the message that refuses it.
_FILE_KINDS = (
    (stat.S_ISFIFO, "input.kind_fifo"),
    (stat.S_ISCHR, "input.kind_char"),
    (stat.S_ISBLK, "input.kind_block"),
    (stat.S_ISSOCK, "input.kind_socket"),
)


@contextlib.contextmanager
def open_regular(path: Path, name: str) -> Iterator[BinaryIO]:
    """Open a regular file for reading, or refuse it in one sentence (InputError).

    The file is opened with O_NONBLOCK and checked with fstat on the open descriptor, so a
    FIFO without a writer, a terminal or a device never blocks tshape, and nothing can swap
    the file between the check and the read. Only regular files are read: a pipe is given
    as - (standard input), which is read with the same limits.
    """
    shown = shown_path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(t("input.file_missing", name=name, path=shown)) from None
    except IsADirectoryError:
        raise InputError(t("input.file_is_dir", name=name, path=shown)) from None
    except PermissionError:
        raise InputError(t("input.file_denied", name=name, path=shown)) from None
    except OSError as e:  # a name too long, a loop of symlinks, a device that refuses
        raise InputError(t("input.file_error", name=name, path=shown, error=e.strerror or e)) from None
    except ValueError:  # a NUL in the path
        raise InputError(t("input.path_nul", name=name, path=shown)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(t("input.file_is_dir", name=name, path=shown))
        if not stat.S_ISREG(mode):
            kind = next((key for test, key in _FILE_KINDS if test(mode)), "input.kind_other")
            raise InputError(t("input.not_regular", name=name, path=shown, kind=t(kind)))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream

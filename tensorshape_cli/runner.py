"""Between the command line and the ops: what a command asks for (a Job), the inputs it reads
(Loader), --export's checks and writing, and the guard that keeps Ctrl-C safe during torch's import.

A Job is run by the execution boundary (execute.py), which also decides its exit code."""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.abc
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Union

from tensorshape_cli import entry, settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.explanation import Explanation
    from tensorshape_cli.options import Common

Built = Union["Explanation", "list[Explanation]"]


@dataclass(frozen=True)
class Job:
    """What a command asks for: build its explanation(s) from the inputs a Loader reads.

    `user_code`: the command runs the user's own code (trace), which must see torch exactly as
    a plain `python` run does (no shape-only fast path, torchmeta.fast_meta), and never runs
    from a batch file."""

    common: Common
    build: Callable[[Loader], Built]
    user_code: bool = False


# Set once a command has run the user's own code (trace): the process then ends as Python
# ends it, for that code's files and threads (entry._exit).
ran_user_code = False


def job(common: Common, build: Callable[[Loader], Built], *, user_code: bool = False) -> Job:
    return Job(common, build, user_code)


# The inputs of one command hold at most this many times --max-elements together: each is
# checked before it is made, and the total after each one, so that 60 × ones(10000000) stops
# at the fifth rather than filling memory.
TOTAL_INPUTS_FACTOR = 4


class Loader:
    """Reads TENSOR arguments for one command (standard input at most once), within a total
    of TOTAL_INPUTS_FACTOR × --max-elements elements across all of them (shape-only
    tensors hold none)."""

    def __init__(
        self,
        on_meta: Callable[[], None] | None = None,
        *,
        batch: bool = False,
        named: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        from tensorshape_cli.inputs import StdinReader

        # In a batch, standard input belongs to the run (it may be the batch file itself).
        self._stdin = StdinReader(_refuse_stdin if batch else None)
        self._total = 0
        self._on_meta = on_meta  # called at the first shape-only input
        self._named = named  # the notebook's tensors by name, for %tshape (`%tshape view x ...`)

    def __call__(self, text: str, name: str) -> torch.Tensor:
        from tensorshape_cli.inputs import load_tensor

        named = self._named
        if named is not None and text.strip() in named:  # a notebook variable holding a tensor
            tensor = named[text.strip()]
            if settings.current().meta and tensor.device.type != "meta":
                from tensorshape_cli.tensorfiles import shape_only

                tensor = shape_only(tensor)
        else:
            tensor = load_tensor(text, name, self._stdin)
        if tensor.device.type == "meta" and self._on_meta is not None:
            self._on_meta()
            self._on_meta = None
        if tensor.device.type != "meta":
            self._total += tensor.numel()
            limit = TOTAL_INPUTS_FACTOR * settings.current().max_elements
            if self._total > limit:
                from tensorshape_cli.text import fmt_count

                raise InputError(
                    t(
                        "input.total_too_many",
                        name=name,
                        total=fmt_count(self._total),
                        limit=fmt_count(limit),
                        factor=TOTAL_INPUTS_FACTOR,
                    )
                )
        return tensor

    def optional(self, text: str | None, name: str) -> torch.Tensor | None:
        return None if text is None else self(text, name)


def _refuse_stdin() -> str:
    from tensorshape_cli.messages import t

    raise InputError(t("batch.stdin"))


def op(name: str) -> ModuleType:
    """An op module, imported when its command runs (ops import torch)."""
    return importlib.import_module(f"tensorshape_cli.ops.{name}")


class TorchImportGuard(importlib.abc.MetaPathFinder):
    """Runs torch's import, whenever some code first asks for it, with Ctrl-C held until the
    import ends, then acts on it (exit 130).

    torch's import runs Python code called from C++; a KeyboardInterrupt raised there cannot
    unwind through C++ and aborts the process ("terminate called after throwing an instance
    of 'python_error'", SIGABRT). Finding torch as Python would and only wrapping its loader
    keeps the import lazy: `tshape view "[1,,2]"` still answers without paying for torch.
    """

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname != "torch":
            return None
        sys.meta_path.remove(self)  # once, and so that the search below does not find us
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _HoldingInterrupts(spec.loader)
        return spec

    @classmethod
    def install(cls) -> None:
        if "torch" not in sys.modules and not any(isinstance(f, cls) for f in sys.meta_path):
            sys.meta_path.insert(0, cls())


class _HoldingInterrupts(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:  # resources, get_code, ...: the real loader's
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if threading.current_thread() is not threading.main_thread():
            self._loader.exec_module(module)  # signals only reach the main thread
            return
        held: list[int] = []
        previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
        # torch's import makes about a million objects and frees almost none (~700): the full
        # collections it would set off on the way find nothing and cost ~0.15 s. Frozen after,
        # they are never walked again in a process that runs one command (entry.one_shot); not
        # under the user's code (trace), whose module, frozen half-made, would never be torn
        # down (its files flushed).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._loader.exec_module(module)
        finally:
            if entry.one_shot and not ran_user_code:
                gc.freeze()
            if collecting:
                gc.enable()
            signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt


def check_export(path: str | None) -> str | None:
    """--export FILE: refused before any work when its type or directory is wrong, when it
    is a symbolic link (tshape writes through no link), or when it exists and is not a
    regular file (a FIFO, a device such as /dev/full)."""
    if path is None:
        return None
    import stat
    from pathlib import Path

    from tensorshape_cli.files import expand_user
    from tensorshape_cli.options import EXPORT_SUFFIXES

    named = shown(path)
    if not path.lower().endswith(EXPORT_SUFFIXES):
        raise InputError(t("export.suffix", path=named))
    target = expand_user(Path(path))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except (OSError, ValueError) as e:  # a name too long, a directory without search permission, a NUL
        raise InputError(t("export.path", path=named, error=getattr(e, "strerror", None) or e)) from None
    if mode is not None and stat.S_ISLNK(mode):
        raise InputError(t("export.symlink", path=named))
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(t("export.is_dir", path=named))
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(t("export.not_regular", path=named))
    try:
        parent_ok = target.parent.is_dir()
    except OSError as e:
        raise InputError(t("export.path", path=named, error=e.strerror or e)) from None
    if not parent_ok:
        raise InputError(t("export.no_dir", parent=shown(target.parent)))
    return str(target)


def write_export(explanations: list[Explanation], path: str) -> None:
    """Write the picture to a new file beside `path`, then rename it over `path`: a file
    that exists is replaced whole (never half-written, never written through a link made
    after the check), and a failure leaves no file behind. OSError when it cannot."""
    import tempfile
    from pathlib import Path

    from tensorshape_cli import render

    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:64]}.", suffix=target.suffix)
    try:
        try:
            mode = os.stat(target).st_mode & 0o777  # an existing file keeps its permissions
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        os.close(fd)
        fd = -1
        render.get_module("rich").export(explanations, tmp)
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def shown(path: object) -> str:
    from tensorshape_cli.files import shown_path

    return shown_path(str(path))

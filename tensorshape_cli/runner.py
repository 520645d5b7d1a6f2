"""Between the command line and the ops: read inputs, call one op, render, pick the exit code."""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Union

from tensorshape_cli import settings
from tensorshape_cli.errors import ExitCode, InputError
from tensorshape_cli.messages import resolve_lang, t

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.explanation import Explanation
    from tensorshape_cli.options import Common

Built = Union["Explanation", "list[Explanation]"]


@dataclass
class BatchLine:
    """Set while `tshape run` runs one line of its file: the whole run shares one format."""

    number: int
    command: str  # the line as a command line, for the heading of plain and rich output
    format: str


batch_line: ContextVar[BatchLine | None] = ContextVar("tshape_batch_line", default=None)
# Set by the %tshape magic in Jupyter: the notebook's tensors by name (`%tshape view x ...`).
notebook_tensors: ContextVar[dict[str, torch.Tensor] | None] = ContextVar("tshape_notebook", default=None)


# The inputs of one command hold at most this many times --max-elements together: each is
# checked before it is made, and the total after each one, so that 60 × ones(10000000) stops
# at the fifth rather than filling memory.
TOTAL_INPUTS_FACTOR = 4


class Loader:
    """Reads TENSOR arguments for one command (standard input at most once), within a total
    of TOTAL_INPUTS_FACTOR × --max-elements elements across all of them (shape-only
    tensors hold none)."""

    def __init__(self, on_meta: Callable[[], None] | None = None) -> None:
        from tensorshape_cli.inputs import StdinReader

        # In a batch, standard input belongs to the run (it may be the batch file itself).
        self._stdin = StdinReader(_refuse_stdin if batch_line.get() is not None else None)
        self._total = 0
        self._on_meta = on_meta  # called at the first shape-only input

    def __call__(self, text: str, name: str) -> torch.Tensor:
        from tensorshape_cli.inputs import load_tensor

        named = notebook_tensors.get()
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


def exit_code(ex: Explanation) -> int:
    # `tshape why` explains an error the user pasted: recognising it is the success
    return ExitCode.OK if ex.ok or (ex.diagnosis and all(c.ok for c in ex.checks)) else ExitCode.INVALID


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
        try:
            self._loader.exec_module(module)
        finally:
            signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt


def run(common: Common, build: Callable[[Loader], Built], *, user_code: bool = False) -> int:
    """Read the inputs, build the explanation(s), render them; the exit code.

    `user_code`: the command runs the user's own code (trace), which must see torch exactly as
    a plain `python` run does: no shape-only fast path (torchmeta.fast_meta) for it."""
    TorchImportGuard.install()
    s = settings.Settings(
        lang=resolve_lang(common.lang),
        max_values=common.max_values,
        max_elements=common.max_elements,
        dtype=common.dtype,
        seed=common.seed,
        meta=common.meta,
    )
    from tensorshape_cli import render

    # torch's UserWarnings (e.g. "Initializing zero-element tensors is a no-op" for an
    # nn.Linear with in_features 0) are about its internals: stderr stays for tshape's one line.
    with settings.use(s), warnings.catch_warnings(), contextlib.ExitStack() as fast:
        warnings.simplefilter("ignore")

        def shape_only_from_here() -> None:
            # torch's meta kernels load sympy and torch._dynamo on first use (seconds);
            # torchmeta's stand-ins give the same shapes and errors without them
            from tensorshape_cli import torchmeta

            fast.enter_context(torchmeta.fast_meta())

        try:
            export = check_export(common.export)
            built = build(Loader(None if user_code else shape_only_from_here))
        except InputError as e:
            # one line, whatever text the message quotes (messages already quote it so)
            say("tshape: " + " ".join(str(e).splitlines()))
            return ExitCode.USAGE
        explanations = built if isinstance(built, list) else [built]
        line = batch_line.get()
        if line is not None:
            for ex in explanations:
                ex.line = line.number
                ex.command = ex.command or t("batch.command", command=line.command, line=line.number)
        draw = render.get(line.format if line is not None else common.output_format())
        _tolerant(sys.stdout)
        try:
            for ex in explanations:
                draw(ex, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            return silence_closed_stdout()
        except OSError as e:  # stdout on a full disk (>/dev/full), a device that fails
            silence_closed_stdout()  # nothing left to flush at exit, where it would fail again
            say(f"tshape: {t('output.failed', error=e.strerror or e)}")
            return ExitCode.USAGE
        if export is not None:
            try:
                write_export(explanations, export)
            except OSError as e:
                error = e.strerror or str(e)
                say(f"tshape: {t('export.failed', path=_shown(common.export), error=error)}")
                return ExitCode.USAGE
    return max(exit_code(ex) for ex in explanations)


def say(message: str) -> None:
    """A line on stderr; when stderr itself cannot be written (2>/dev/full), the exit code
    is all that is left to tell, and it stays the one the message would have come with."""
    try:
        print(message, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _tolerant(stream: object) -> None:
    """Characters stdout's encoding cannot write (PYTHONIOENCODING=ascii, a C locale, an
    argument that was not UTF-8) are written as escapes (\\xb7) rather than failing."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="backslashreplace")


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

    shown = _shown(path)
    if not path.lower().endswith(EXPORT_SUFFIXES):
        raise InputError(t("export.suffix", path=shown))
    target = expand_user(Path(path))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except (OSError, ValueError) as e:  # a name too long, a directory without search permission, a NUL
        raise InputError(t("export.path", path=shown, error=getattr(e, "strerror", None) or e)) from None
    if mode is not None and stat.S_ISLNK(mode):
        raise InputError(t("export.symlink", path=shown))
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(t("export.is_dir", path=shown))
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(t("export.not_regular", path=shown))
    try:
        parent_ok = target.parent.is_dir()
    except OSError as e:
        raise InputError(t("export.path", path=shown, error=e.strerror or e)) from None
    if not parent_ok:
        raise InputError(t("export.no_dir", parent=_shown(target.parent)))
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


def _shown(path: object) -> str:
    from tensorshape_cli.files import shown_path

    return shown_path(str(path))


def silence_closed_stdout() -> int:
    """The reader went away (`| head -1`): stop quietly, and let nothing flush at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.BROKEN_PIPE

"""Between the command line and the ops: read inputs, call one op, render, pick the exit code."""

from __future__ import annotations

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


class Loader:
    """Reads TENSOR arguments for one command (standard input at most once)."""

    def __init__(self) -> None:
        from tensorshape_cli.inputs import StdinReader

        # In a batch, standard input belongs to the run (it may be the batch file itself).
        self._stdin = StdinReader(_refuse_stdin if batch_line.get() is not None else None)

    def __call__(self, text: str, name: str) -> torch.Tensor:
        from tensorshape_cli.inputs import load_tensor

        return load_tensor(text, name, self._stdin)

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


def run(common: Common, build: Callable[[Loader], Built]) -> int:
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
    with settings.use(s), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            export = check_export(common.export)
            built = build(Loader())
        except InputError as e:
            # one line, whatever text the message quotes (messages already quote it so)
            print("tshape: " + " ".join(str(e).splitlines()), file=sys.stderr)
            return ExitCode.USAGE
        explanations = built if isinstance(built, list) else [built]
        line = batch_line.get()
        if line is not None:
            from tensorshape_cli.messages import t

            for ex in explanations:
                ex.line = line.number
                ex.command = ex.command or t("batch.command", command=line.command, line=line.number)
        draw = render.get(line.format if line is not None else common.output_format())
        try:
            for ex in explanations:
                draw(ex, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            return silence_closed_stdout()
        if export is not None:
            try:
                render.get_module("rich").export(explanations, export)
            except OSError as e:
                error = e.strerror or str(e)
                print(f"tshape: {t('export.failed', path=common.export, error=error)}", file=sys.stderr)
                return ExitCode.USAGE
    return max(exit_code(ex) for ex in explanations)


def check_export(path: str | None) -> str | None:
    """--export FILE: refused before any work when its type or directory is wrong."""
    if path is None:
        return None
    from pathlib import Path

    from tensorshape_cli.options import EXPORT_SUFFIXES

    target = Path(path).expanduser()
    if not path.lower().endswith(EXPORT_SUFFIXES):
        raise InputError(t("export.suffix", path=path))
    if target.is_dir():
        raise InputError(t("export.is_dir", path=path))
    if not target.parent.is_dir():
        raise InputError(t("export.no_dir", path=path, parent=target.parent))
    return str(target)


def silence_closed_stdout() -> int:
    """The reader went away (`| head -1`): stop quietly, and let nothing flush at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.BROKEN_PIPE

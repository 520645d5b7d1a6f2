"""The execution boundary: a command line in, an Outcome out; and the one place that prints it.

`execute(argv)` runs one command line and returns what became of it as data: the exit code,
the explanations made, the messages for stderr (without the `tshape: ` prefix) and the
format to print them in. It writes nothing and raises nothing for a user's mistake. `emit`
turns an Outcome into bytes: it renders the explanations, writes each message with the
prefix and returns the exit code. A lone command (`run`: entry.main, cli.invoke), a line of
`tshape run` (batch.py), the %tshape magic and a warm server's call all go through both.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.errors import ExitCode, InputError
from tensorshape_cli.messages import lang_in_argv, resolve_lang, t

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.batch import Batch
    from tensorshape_cli.explanation import Explanation
    from tensorshape_cli.runner import Job

PREFIX = "tshape: "  # before every message tshape writes on stderr, but Click-style usage lines
STOPS = (ExitCode.INTERRUPTED, ExitCode.BROKEN_PIPE)  # these end a batch run, whatever --fail-fast says

# The kinds of message: how each is written on stderr.
ERROR = "error"  # one sentence: unreadable input, an op that fails (-q), a file that cannot be written
USAGE = "usage"  # a bad command line, as `tshape view: error: … (see 'tshape view --help')`
INTERNAL = "internal"  # a bug in tshape, in one line
INTERRUPTED = "interrupted"  # Ctrl-C: ends the line the terminal shows ^C on


@dataclass(frozen=True)
class Message:
    kind: str  # ERROR, USAGE, INTERNAL or INTERRUPTED
    text: str  # in the user's language, one line, without the prefix


@dataclass(frozen=True)
class Line:
    """Where a command line comes from in `tshape run`: messages are prefixed `FILE:LINE: `."""

    where: str  # the batch file as shown
    number: int
    command: str  # the line as a command line, for the heading of plain and rich output
    format: str  # the run's format, for every line


@dataclass(frozen=True)
class Outcome:
    code: int
    explanations: tuple[Explanation, ...] = ()
    messages: tuple[Message, ...] = ()
    format: str = "plain"
    text: str | None = None  # written as it is on stdout first: the help, the version
    export: str | None = None  # --export's checked path: the rich picture is saved there too
    # the language and limits the explanations are rendered with (None: the caller's)
    settings: settings.Settings | None = None
    line: Line | None = None  # set for a line of `tshape run`
    batch: Batch | None = None  # `tshape run`: its lines, executed and printed one at a time


def error(text: str) -> Message:
    return Message(ERROR, " ".join(str(text).splitlines()))  # one line, whatever text it quotes


def failed(e: InputError | str) -> Outcome:
    """Unreadable input or a bad command line: one sentence, exit 2."""
    return Outcome(ExitCode.USAGE, messages=(error(str(e)),))


def interrupted() -> Outcome:
    return Outcome(ExitCode.INTERRUPTED, messages=(Message(INTERRUPTED, ""),))


def internal(e: BaseException) -> Outcome:
    """A bug: one line, and the traceback only when TSHAPE_DEBUG asks for it."""
    if os.environ.get("TSHAPE_DEBUG"):
        raise e
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return Outcome(
        ExitCode.INTERNAL,
        messages=(Message(INTERNAL, t("cli.internal_error", kind=type(e).__name__, message=first)),),
    )


def exit_code(ex: Explanation) -> int:
    # `tshape why` explains an error the user pasted: recognising it is the success
    return ExitCode.OK if ex.ok or (ex.diagnosis and all(c.ok for c in ex.checks)) else ExitCode.INVALID


def execute(
    argv: list[str], *, line: Line | None = None, tensors: Mapping[str, torch.Tensor] | None = None
) -> Outcome:
    """Run one command line (without the word tshape). `line`: it is a line of `tshape run`
    (standard input is the run's, no code runs, the format is the run's); `tensors`: names a
    TENSOR may give (the notebook's variables, for %tshape)."""
    import typer

    from tensorshape_cli import compat
    from tensorshape_cli.cli import app
    from tensorshape_cli.usage import UsageFailure

    args = list(argv)
    # The language of the messages made here, when parsing fails or tshape itself does; a
    # command that runs reads its own --lang.
    with settings.use(settings.Settings(lang=resolve_lang(lang_in_argv(args)))) as s:
        try:
            return outcome(compat.run(app, args), line=line, tensors=tensors, current=s)
        except compat.Answer as e:  # --help, --version, `tshape` alone: the text is the answer
            return Outcome(e.code, text=e.text, settings=s)
        except UsageFailure as e:
            return Outcome(ExitCode.USAGE, messages=(Message(USAGE, e.line()),), settings=s)
        except InputError as e:
            return replace(failed(e), settings=s)
        except (typer.Abort, KeyboardInterrupt):
            return interrupted()
        except BrokenPipeError:  # Click's own output (completion) to a reader that left
            return Outcome(ExitCode.BROKEN_PIPE)
        except Exception as e:
            return internal(e)


def outcome(
    value: Any,
    *,
    line: Line | None = None,
    tensors: Mapping[str, torch.Tensor] | None = None,
    current: settings.Settings | None = None,
) -> Outcome:
    """The Outcome of what a command returned: a Job is run here, an Outcome is kept, an int
    (Click's own exit: after --install-completion, say) is the code."""
    from tensorshape_cli.runner import Job

    if isinstance(value, Job):
        return _perform(value, line, tensors)
    if isinstance(value, Outcome):
        return value if value.settings is not None else replace(value, settings=current)
    return Outcome(value if isinstance(value, int) else ExitCode.OK, settings=current)


def _perform(job: Job, line: Line | None, tensors: Mapping[str, torch.Tensor] | None) -> Outcome:
    """Read the inputs, build the explanation(s); the exit code they call for."""
    import warnings

    from tensorshape_cli import runner

    runner.TorchImportGuard.install()
    common = job.common
    s = settings.Settings(
        lang=resolve_lang(common.lang),
        max_values=common.max_values,
        max_elements=common.max_elements,
        dtype=common.dtype,
        seed=common.seed,
        meta=common.meta,
    )
    fmt = line.format if line is not None else common.output_format()
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
            export = runner.check_export(common.export)
            if job.user_code and line is not None:  # a batch file is data: it never runs code
                raise InputError(t("trace.batch"))
            on_meta = None if job.user_code else shape_only_from_here
            runner.ran_user_code = runner.ran_user_code or job.user_code
            built = job.build(runner.Loader(on_meta, batch=line is not None, named=tensors))
        except InputError as e:
            return replace(failed(e), settings=s)
        explanations = built if isinstance(built, list) else [built]
        if line is not None:
            for ex in explanations:
                ex.line = line.number
                ex.command = ex.command or t("batch.command", command=line.command, line=line.number)
        # -q prints shapes alone: an op's failure is its one sentence on stderr
        said = tuple(
            error(ex.error.message) for ex in explanations if fmt == "quiet" and ex.error is not None
        )
        code = max(exit_code(ex) for ex in explanations)
        return Outcome(code, tuple(explanations), said, fmt, export=export, settings=s)


# --- the one place that prints --------------------------------------------------------------------


def run(argv: list[str] | None = None, *, tensors: Mapping[str, torch.Tensor] | None = None) -> int:
    """Execute one command line and print its Outcome; the exit code. Never a traceback."""
    for stream in ("stdout", "stderr"):
        if getattr(sys, stream) is None:  # started with it closed (`>&-`): the exit code still tells
            setattr(sys, stream, open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    return emit(execute(sys.argv[1:] if argv is None else list(argv), tensors=tensors))


def emit(outcome: Outcome) -> int:
    """Write an Outcome: its text and explanations on stdout in its format, then its messages
    on stderr, each with the prefix (a line of `tshape run` first names FILE:LINE); the exit
    code, which a failure to write changes (141 a closed pipe, 2 a full disk)."""
    chosen = settings.use(outcome.settings) if outcome.settings is not None else contextlib.nullcontext()
    with chosen:
        try:
            if outcome.batch is not None:
                from tensorshape_cli import batch

                return batch.play(outcome.batch)
            return _write(outcome)
        except KeyboardInterrupt:
            return _write(replace(interrupted(), line=outcome.line))
        except Exception as e:  # a bug in a renderer: one line, as for any other
            return _write(replace(internal(e), line=outcome.line))


def _write(outcome: Outcome) -> int:
    code = outcome.code
    if code == ExitCode.BROKEN_PIPE:
        return silence_closed_stdout()
    out = sys.stdout
    lines = outcome.line is not None and outcome.format == "quiet"
    late: list[Message] = []  # what writing the output itself met
    if outcome.text is not None or outcome.explanations or lines:
        _tolerant(out)
        try:
            if outcome.text is not None and not lines:
                out.write(outcome.text + "\n")
            if lines:
                if code not in STOPS:
                    out.write(_quiet_line(outcome) + "\n")
            else:
                draw = _renderer(outcome.format) if outcome.explanations else None
                for ex in outcome.explanations:
                    assert draw is not None
                    draw(ex, out)
            _say_all(outcome.messages, outcome.line)
            out.flush()
        except BrokenPipeError:
            return silence_closed_stdout()
        except OSError as e:  # stdout on a full disk (>/dev/full), a device that fails
            silence_closed_stdout()  # nothing left to flush at exit, where it would fail again
            late.append(error(t("output.failed", error=e.strerror or e)))
            code = ExitCode.USAGE
    else:
        _say_all(outcome.messages, outcome.line)
    if outcome.export is not None and not late:
        from tensorshape_cli import runner

        try:
            runner.write_export(list(outcome.explanations), outcome.export)
        except OSError as e:
            shown = runner.shown(outcome.export)
            late.append(error(t("export.failed", path=shown, error=e.strerror or str(e))))
            code = ExitCode.USAGE
    _say_all(tuple(late), outcome.line)
    return code


def _renderer(fmt: str) -> Any:
    from tensorshape_cli import render

    return render.get(fmt)


def _quiet_line(outcome: Outcome) -> str:
    """-q in a run: exactly one line per command line, so that line N of the output answers
    line N of the commands: the shapes a line made, joined by '; ' when it made several (the
    unsqueeze tour, inspect's tensors), and an empty line for a line that failed."""
    if outcome.code != ExitCode.OK:
        return ""
    shapes = io.StringIO()
    if outcome.text is not None:  # a line's --help or --version, folded into its one line
        shapes.write(outcome.text + "\n")
    draw = _renderer("quiet")
    for ex in outcome.explanations:
        draw(ex, shapes)
    return "; ".join(part for part in shapes.getvalue().splitlines() if part.strip())


def _say_all(messages: tuple[Message, ...], line: Line | None) -> None:
    where = f"{line.where}:{line.number}: " if line is not None else ""
    for message in messages:
        if message.kind == INTERRUPTED:
            if line is None:  # in a run, the run's own end says it
                _say("")
            continue
        text = message.text if message.kind == USAGE else PREFIX + message.text
        _say(where + text)


def _say(text: str) -> None:
    """A line on stderr; when stderr itself cannot be written (2>/dev/full), the exit code
    is all that is left to tell, and it stays the one the message would have come with."""
    try:
        print(text, file=sys.stderr)
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


def silence_closed_stdout() -> int:
    """The reader went away (`| head -1`): stop quietly, and let nothing flush at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.BROKEN_PIPE

"""`tshape run FILE|-`: many command lines in one process, so torch is imported once.

Each line goes through the same command-line entry point as a lone command (the Typer
app), so a line behaves exactly as `tshape LINE` would; only the output format is the
run's, so that `--json` output stays one JSON object per line. Messages a line writes on
stderr are prefixed with `FILE:LINE: `, as compilers do.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import TextIO

from tensorshape_cli import options
from tensorshape_cli.errors import ExitCode, InputError
from tensorshape_cli.explanation import Explanation, OpError
from tensorshape_cli.messages import t
from tensorshape_cli.options import Common
from tensorshape_cli.runner import BatchLine, batch_line, silence_closed_stdout

Dispatch = Callable[[list[str]], int]
STOPS = (ExitCode.INTERRUPTED, ExitCode.BROKEN_PIPE)  # these end the run, whatever --fail-fast says
MAX_LINES_LISTED = 10
# Options of the run that each line inherits (a line's own value wins): never the format,
# which is the run's for every line.
INHERITED = options.INHERITED  # derived from the one table of shared options


def run(
    source: str, common: Common, dispatch: Dispatch, commands: Iterable[str], *, fail_fast: bool = False
) -> int:
    """Run every command line of `source` (a path, or - for stdin); the highest exit code wins."""
    commands = set(commands)
    fmt = common.output_format()
    inherited = _inherited_args(common)
    where = t("batch.stdin_name") if source == "-" else source
    worst: int = ExitCode.OK
    failed: list[int] = []
    total = 0
    try:
        with _open(source) as stream:
            for number, text in _command_lines(stream):
                total += 1
                code = _run_line(number, text, where, fmt, inherited, dispatch, commands)
                if code != ExitCode.OK:
                    failed.append(number)
                worst = max(worst, code)
                if code in STOPS or (fail_fast and code != ExitCode.OK):
                    break
    except InputError as e:
        print(f"tshape: {e}", file=sys.stderr)
        return max(worst, ExitCode.USAGE)
    except UnicodeDecodeError as e:
        print(f"tshape: {t('batch.not_text', path=where, pos=e.start)}", file=sys.stderr)
        return max(worst, ExitCode.USAGE)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    if failed and worst not in STOPS:
        listed = ", ".join(map(str, failed[:MAX_LINES_LISTED]))
        if len(failed) > MAX_LINES_LISTED:
            listed += " …"
        summary = t("batch.summary", path=where, failed=len(failed), total=total, lines=listed, code=worst)
        print(f"tshape: {summary}", file=sys.stderr)
    return int(worst)


@contextlib.contextmanager
def _open(source: str) -> Iterator[TextIO]:
    if source == "-":
        yield sys.stdin
        return
    try:
        stream = open(source, encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise InputError(t("input.file_missing", name=t("file.arg"), path=source)) from None
    except IsADirectoryError:
        raise InputError(t("input.file_is_dir", name=t("file.arg"), path=source)) from None
    except PermissionError:
        raise InputError(t("input.file_denied", name=t("file.arg"), path=source)) from None
    except OSError as e:
        raise InputError(t("input.file_error", name=t("file.arg"), path=source, error=e.strerror)) from None
    with stream:
        yield stream


def _command_lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, text) of each command: blank lines and # comments skipped, a line ending
    in a backslash continued on the next (numbered by its first line). Read as it comes, so
    `producer | tshape run -` answers each line as soon as it is written."""
    pending, start = "", 0
    for number, raw in enumerate(stream, 1):
        line = raw.rstrip("\r\n")
        if not pending:
            start = number
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending.strip():
        yield start, pending


def _inherited_args(common: Common) -> list[str]:
    defaults = Common()
    args: list[str] = []
    for f in fields(Common):
        value = getattr(common, f.name)
        if f.name not in INHERITED or value == getattr(defaults, f.name):
            continue
        option = "--" + f.name.replace("_", "-")
        args += [option] if value is True else [option, str(value)]
    return args


def _run_line(
    number: int,
    text: str,
    where: str,
    fmt: str,
    inherited: list[str],
    dispatch: Dispatch,
    commands: set[str],
) -> int:
    captured = io.StringIO()
    argv: list[str] = []
    with contextlib.redirect_stderr(captured):
        try:
            argv = shlex.split(text, comments=True)
        except ValueError as e:  # an unclosed quote
            print(f"tshape: {t('batch.split', error=e)}", file=sys.stderr)
            code: int = ExitCode.USAGE
        else:
            if argv[:1] == ["tshape"]:
                argv = argv[1:]
            code = _dispatch(argv, number, fmt, inherited, dispatch, commands)
    message = captured.getvalue()
    for line in message.splitlines():
        if line.strip():
            print(f"{where}:{number}: {line}", file=sys.stderr)
    if fmt == "json" and code not in (ExitCode.OK, ExitCode.INVALID, *STOPS):
        # No explanation was made: a record still says what became of this line.
        _json_error(number, text, argv, commands, code, message)
    return code


def _dispatch(
    argv: list[str], number: int, fmt: str, inherited: list[str], dispatch: Dispatch, commands: set[str]
) -> int:
    if not argv:  # a line that held only a comment after all
        return ExitCode.OK
    if argv[0] == "run":
        print(f"tshape: {t('batch.nested')}", file=sys.stderr)
        return ExitCode.USAGE
    shown = "tshape " + shlex.join(argv)
    if argv[0] in commands:
        argv = [argv[0], *inherited, *argv[1:]]
    token = batch_line.set(BatchLine(number, shown, fmt))
    try:
        return dispatch(argv)
    finally:
        batch_line.reset(token)


def _json_error(number: int, text: str, argv: list[str], commands: set[str], code: int, message: str) -> None:
    from tensorshape_cli.render.json_format import to_json

    first = next((line for line in message.splitlines() if line.strip()), "")
    kind = "usage" if code == ExitCode.USAGE else "internal"
    op = argv[0] if argv and argv[0] in commands else "run"
    ex = Explanation(op=op, call=text.strip(), error=OpError(kind, first.removeprefix("tshape: "), ""))
    ex.line = number
    try:
        sys.stdout.write(to_json(ex) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_closed_stdout()

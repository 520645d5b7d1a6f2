"""`tshape run FILE|-`: many command lines in one process, so torch is imported once.

Each line goes through the same command-line entry point as a lone command (the Typer
app), so a line behaves exactly as `tshape LINE` would; only the output format is the
run's, so that `--json` output stays one JSON object per line. Messages a line writes on
stderr are prefixed with `FILE:LINE: `, as compilers do.

A batch file is data: its lines cannot install shell completion or write files
(--export), a line is at most MAX_LINE_CHARS characters and holds no NUL (as a shell's
command line), and lines are split into words in linear time.
"""

from __future__ import annotations

import contextlib
import io
import re
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
from tensorshape_cli.text import fmt_count

Dispatch = Callable[[list[str]], int]
STOPS = (ExitCode.INTERRUPTED, ExitCode.BROKEN_PIPE)  # these end the run, whatever --fail-fast says
MAX_LINES_LISTED = 10
# A line's length, as Linux bounds a command line (ARG_MAX): a literal longer than that
# belongs in a file (@x.json), where it is read with the file limits.
MAX_LINE_CHARS = 2 * 1024 * 1024
# Options a line may not give: a batch file writes nothing (nor installs anything).
REFUSED = ("--install-completion", "--show-completion", "--export")
# Options of the run that each line inherits (a line's own value wins): never the format,
# which is the run's for every line.
INHERITED = options.INHERITED  # derived from the one table of shared options


def run(
    source: str, common: Common, dispatch: Dispatch, commands: Iterable[str], *, fail_fast: bool = False
) -> int:
    """Run every command line of `source` (a path, or - for stdin); the highest exit code wins."""
    commands = set(commands)
    if common.export is not None:
        print(f"tshape: {t('batch.no_export')}", file=sys.stderr)
        return ExitCode.USAGE
    fmt = common.output_format()
    inherited = _inherited_args(common)
    where = t("batch.stdin_name") if source == "-" else source
    worst: int = ExitCode.OK
    failed: list[int] = []
    total = 0
    try:
        with _open(source) as stream:
            for number, text in _command_lines(stream, where):
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
    except OSError as e:  # EIO from /proc/self/mem, a disk that fails while it is read
        error = e.strerror or str(e)
        print(
            f"tshape: {t('input.file_error', name=t('file.arg'), path=where, error=error)}", file=sys.stderr
        )
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
        if sys.stdin is None:  # started with standard input closed (`<&-`)
            raise InputError(t("input.stdin_closed", name=t("file.arg")))
        yield sys.stdin
        return
    from pathlib import Path

    from tensorshape_cli.files import expand_user, open_regular

    # a regular file only: a FIFO or a device (/dev/zero) is refused at once, never read
    with open_regular(expand_user(Path(source)), t("file.arg")) as raw:
        yield io.TextIOWrapper(raw, encoding="utf-8-sig")


def _command_lines(stream: TextIO, where: str = "") -> Iterator[tuple[int, str]]:
    """(line number, text) of each command: blank lines and # comments skipped, a line ending
    in a backslash continued on the next (numbered by its first line). Read as it comes, so
    `producer | tshape run -` answers each line as soon as it is written; each line is read
    with a bound, so `tshape run - </dev/zero` stops at MAX_LINE_CHARS."""
    pending, start, number = "", 0, 0
    while True:
        raw = stream.readline(MAX_LINE_CHARS + 1)
        if not raw:
            break
        number += 1
        line = raw.rstrip("\r\n")
        if not pending:
            start = number
        if "\0" in line:
            raise InputError(f"{where}: " + t("batch.nul", line=number))
        if len(line) + len(pending) > MAX_LINE_CHARS:
            raise InputError(
                f"{where}: " + t("batch.line_too_long", line=start, limit=fmt_count(MAX_LINE_CHARS))
            )
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending.strip():
        yield start, pending


# The words of a line, as shlex.split(line, comments=True) reads them (POSIX quoting, a #
# outside quotes ends the line), by one regular expression: linear in the line's length,
# where shlex adds a character at a time and takes quadratic time on a long word.
_PIECE = re.compile(
    r"""(?P<space>[ \t\r\n]+)
      | (?P<comment>\#[^\n]*)
      | '(?P<single>[^']*)'
      | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
      | \\(?P<escaped>.)
      | (?P<plain>[^ \t\r\n'"\\\#]+)""",
    re.VERBOSE | re.DOTALL,
)
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')  # inside "…", a backslash escapes only " and itself


def split_words(text: str) -> list[str]:
    """A command line's words; InputError (its sentence) for an unclosed quote."""
    words: list[str] = []
    word: list[str] = []
    quoted = False
    pos = 0
    while pos < len(text):
        match = _PIECE.match(text, pos)
        if match is None:
            if text[pos] == "\\":
                raise InputError(t("batch.trailing_backslash"))
            raise InputError(t("batch.unclosed_quote", quote=text[pos]))
        pos = match.end()
        kind = match.lastgroup
        if kind == "comment":
            continue  # to the end of the line
        if kind == "space":
            if word or quoted:
                words.append("".join(word))
            word, quoted = [], False
        elif kind == "double":
            word.append(_DOUBLE_ESCAPE.sub(r"\1", match.group("double")))
            quoted = True
        elif kind == "single":
            word.append(match.group("single"))
            quoted = True
        else:
            word.append(match.group(kind or "plain"))
    if word or quoted:
        words.append("".join(word))
    return words


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
    # -q: the line's output is gathered, to be written as one line (see _quiet_line)
    out = contextlib.redirect_stdout(io.StringIO()) if fmt == "quiet" else contextlib.nullcontext()
    with contextlib.redirect_stderr(captured), out as shapes:
        try:
            argv = split_words(text)
        except InputError as e:  # an unclosed quote
            print(f"tshape: {e}", file=sys.stderr)
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
    if isinstance(shapes, io.StringIO) and code not in STOPS:
        code = _quiet_line(shapes.getvalue() if code == ExitCode.OK else "", code)
    return code


def _quiet_line(output: str, code: int) -> int:
    """-q in a run: exactly one line per command line, so that line N of the output answers
    line N of the commands: the shapes a line made, joined by '; ' when it made several (the
    unsqueeze tour, inspect's tensors), and an empty line for a line that failed."""
    line = "; ".join(part for part in output.splitlines() if part.strip())
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return silence_closed_stdout()
    return code


def _dispatch(
    argv: list[str], number: int, fmt: str, inherited: list[str], dispatch: Dispatch, commands: set[str]
) -> int:
    if not argv:  # a line that held only a comment after all
        return ExitCode.OK
    if argv[0] == "run":
        print(f"tshape: {t('batch.nested')}", file=sys.stderr)
        return ExitCode.USAGE
    refused = next((w for w in argv if w.split("=", 1)[0] in REFUSED), None)
    if refused is not None:
        print(f"tshape: {t('batch.refused', option=refused.split('=', 1)[0])}", file=sys.stderr)
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

"""`tshape run FILE|-`: many command lines in one process, so torch is imported once.

Each line is executed as a lone command is (execute.execute), so a line behaves exactly as
`tshape LINE` would; only the output format is the run's, so that `--json` output stays one
JSON object per line. Each line's Outcome is printed as it comes (execute.emit), its
messages prefixed with `FILE:LINE: `, as compilers do.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from typing import TextIO

from tensorshape_cli import execute, options
from tensorshape_cli.errors import ExitCode, InputError
from tensorshape_cli.execute import STOPS, Line, Outcome
from tensorshape_cli.explanation import Explanation, OpError
from tensorshape_cli.messages import t
from tensorshape_cli.options import Common
from tensorshape_cli.text import fmt_count

MAX_LINES_LISTED = 10
# A line's length, as Linux bounds a command line (ARG_MAX): a literal longer than that
# belongs in a file (@x.json), where it is read with the file limits.
MAX_LINE_CHARS = 2 * 1024 * 1024
# Options a line may not give: a batch file writes nothing (nor installs anything).
REFUSED = ("--install-completion", "--show-completion", "--export")
# Options of the run that each line inherits (a line's own value wins): never the format,
# which is the run's for every line.
INHERITED = options.INHERITED  # derived from the one table of shared options


@dataclass(frozen=True)
class Batch:
    """A `tshape run`, before its lines are read: what execute.emit plays."""

    source: str  # a path, or - for stdin
    where: str  # the source as messages name it
    format: str  # the run's, for every line
    inherited: tuple[str, ...]  # the run's options each line takes
    commands: frozenset[str]
    fail_fast: bool = False


def plan(source: str, common: Common, commands: Iterable[str], *, fail_fast: bool = False) -> Outcome:
    """The Outcome of `tshape run SOURCE`: its lines run as emit plays it."""
    if common.export is not None:
        raise InputError(t("batch.no_export"))
    where = t("batch.stdin_name") if source == "-" else source
    batch = Batch(
        source, where, common.output_format(), tuple(_inherited_args(common)), frozenset(commands), fail_fast
    )
    return Outcome(ExitCode.OK, format=batch.format, batch=batch)


def play(batch: Batch) -> int:
    """Execute and print every command line of the batch; the highest exit code wins."""
    worst: int = ExitCode.OK
    failed: list[int] = []
    total = 0
    try:
        for outcome in outcomes(batch):
            total += 1
            code = execute.emit(outcome)
            if code != ExitCode.OK:
                assert outcome.line is not None
                failed.append(outcome.line.number)
            worst = max(worst, code)
            if code in STOPS or (batch.fail_fast and code != ExitCode.OK):
                break
    except InputError as e:
        return max(worst, execute.emit(execute.failed(e)))
    except UnicodeDecodeError as e:
        return max(worst, execute.emit(execute.failed(t("batch.not_text", path=batch.where, pos=e.start))))
    except OSError as e:  # EIO from /proc/self/mem, a disk that fails while it is read
        error = e.strerror or str(e)
        text = t("input.file_error", name=t("file.arg"), path=batch.where, error=error)
        return max(worst, execute.emit(execute.failed(text)))
    if failed and worst not in STOPS:
        listed = ", ".join(map(str, failed[:MAX_LINES_LISTED]))
        if len(failed) > MAX_LINES_LISTED:
            listed += " …"
        summary = t(
            "batch.summary", path=batch.where, failed=len(failed), total=total, lines=listed, code=worst
        )
        execute.emit(Outcome(worst, messages=(execute.error(summary),)))
    return int(worst)


def outcomes(batch: Batch) -> Iterator[Outcome]:
    """Each command line's Outcome, executed as the line is read (InputError, UnicodeDecodeError
    or OSError when the file itself cannot be read on)."""
    with _open(batch.source) as stream:
        for number, text in _command_lines(stream, batch.where):
            yield line_outcome(batch, number, text)


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


def line_outcome(batch: Batch, number: int, text: str) -> Outcome:
    """Execute one command line of the batch: its Outcome, in the run's format."""
    argv: list[str] = []
    line = Line(batch.where, number, "", batch.format)
    try:
        argv = split_words(text)  # InputError for an unclosed quote
        if argv[:1] == ["tshape"]:
            argv = argv[1:]
        if not argv:  # a line that held only a comment after all
            outcome = Outcome(ExitCode.OK)
        else:
            _refuse(argv)
            line = replace(line, command="tshape " + shlex.join(argv))
            if argv[0] in batch.commands:
                argv = [argv[0], *batch.inherited, *argv[1:]]
            outcome = execute.execute(argv, line=line)
    except InputError as e:
        outcome = execute.failed(e)
    outcome = replace(outcome, line=line, format=batch.format)
    if batch.format == "json" and outcome.code not in (ExitCode.OK, ExitCode.INVALID, *STOPS):
        # No explanation was made: a record still says what became of this line.
        outcome = replace(outcome, explanations=(_json_error(number, text, argv, batch.commands, outcome),))
    return outcome


def _refuse(argv: list[str]) -> None:
    if argv[0] == "run":
        raise InputError(t("batch.nested"))
    refused = next((w for w in argv if w.split("=", 1)[0] in REFUSED), None)
    if refused is not None:
        raise InputError(t("batch.refused", option=refused.split("=", 1)[0]))


def _json_error(
    number: int, text: str, argv: list[str], commands: frozenset[str], outcome: Outcome
) -> Explanation:
    first = next((m.text for m in outcome.messages if m.text.strip()), "")
    kind = "usage" if outcome.code == ExitCode.USAGE else "internal"
    op = argv[0] if argv and argv[0] in commands else "run"
    ex = Explanation(op=op, call=text.strip(), error=OpError(kind, first, ""))
    ex.line = number
    return ex

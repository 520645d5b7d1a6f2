"""The README's output blocks, made from tshape's real output by cog, and checked by the tests.

`python tests/readme_output.py` rewrites every block of README.md between `[[[cog … ]]]-->`
and `[[[end]]]` with what these functions print; `python tests/readme_output.py --check`
(run by tests/test_readme.py) fails when a block differs from what tshape prints today.
The environment is fixed, whatever the caller's: plain format, English, no colour, 120
columns, the repository as working directory.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# cog's markers, with `]]]-->` ending the code: tshape prints `]]]` in every 3-D tensor, which
# cog's default end marker `]]]` would take for one.
MARKERS = "[[[cog ]]]--> [[[end]]]"
REFRESH = "python tests/readme_output.py"
# Variables that change what tshape prints: set or removed for every README command.
ENV: dict[str, str | None] = {
    "TSHAPE_FORMAT": None,
    "TSHAPE_DEBUG": None,
    "TSHAPE_LANG": None,
    "LC_ALL": None,
    "LC_MESSAGES": None,
    "LANG": None,
    "FORCE_COLOR": None,
    "NO_COLOR": "1",
    "COLUMNS": "120",
    "TERM": "dumb",
}


def run(command: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    """Run one `tshape …` line in this process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from tensorshape_cli.cli import invoke

    argv = shlex.split(command)
    assert argv[0] == "tshape", command
    with _cwd(cwd), CliRunner().isolation(env=ENV) as (out, err, _):
        code = invoke(argv[1:])
        sys.stdout.flush()
        sys.stderr.flush()
        return int(code), out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


def output(command: str) -> str:
    """What the command prints (stdout, then stderr), as the README's text block shows it."""
    _, out, err = run(command)
    return _text(out, err)


def _text(out: str, err: str) -> str:
    return (out + err).rstrip("\n") + "\n"


def show(command: str, note: str = "") -> None:
    """The command in an sh block (with a comment, if any), and its output in a text block."""
    import cog  # type: ignore[import-not-found]  # only under cog

    code, out, err = run(command)
    if code:  # as every README command that does not exit 0 says
        note = f"exit {code}: {note}" if note else f"exit {code}"
    line = f"{command}  # {note}" if note else command
    cog.out(f"```sh\n{line}\n```\n\n```text\n{_text(out, err)}```\n")


def session(*commands: str, cwd: Path = ROOT) -> str:
    """Each command after `$ `, followed by what it prints, as in a terminal."""
    lines = []
    for command in commands:
        _, out, err = run(command, cwd)
        lines.append(f"$ {command}\n{out}{err}")
    return "".join(lines)


def show_session(*commands: str) -> None:
    import cog  # type: ignore[import-not-found]

    cog.out(f"```text\n{session(*commands)}```\n")


def show_refused_pickle() -> None:
    """`tshape inspect evil.pt` on a .pt file whose pickle would build an object on load."""
    import cog  # type: ignore[import-not-found]

    cog.out(f"```text\n{refused_pickle()}```\n")


def refused_pickle() -> str:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"weight": torch.ones(2), "evil": _Payload()}, Path(tmp) / "evil.pt")
        return session("tshape inspect evil.pt", cwd=Path(tmp))


class _Payload:
    """An object that a pickle would rebuild by calling a function: refused before it runs."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("a pickle ran this",))  # harmless even if a reader ran it


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def cog_main(*options: str) -> int:
    """cog on README.md with the README's markers; `--check` fails naming the refresh command."""
    from cogapp import Cog

    fail = f"README.md shows output tshape no longer prints; refresh it with: {REFRESH}"
    args = ["cog", "--markers", MARKERS, "--check-fail-msg", fail, *options, str(README)]
    return int(Cog().main(args) or 0)


if __name__ == "__main__":
    sys.exit(cog_main(*(sys.argv[1:] or ["-r"])))

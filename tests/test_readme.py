"""The README is part of the interface: its examples run as written and print what it shows,
every command is in it.

The README's output blocks are made by cog from the real output (tests/readme_output.py;
`python tests/readme_output.py` refreshes them): the first test fails, with cog's diff, when
one of them is no longer what tshape prints. The others compare each shown output, and each
`# exit N: …` comment, with a run of the command, independently of cog.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
import readme_output

from tensorshape_cli.cli import app, invoke

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[tuple[str, int]]:
    """Each `tshape …` line of the README's sh blocks, with the exit code its comment names."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.strip().splitlines():
            command, _, comment = line.partition("  #")
            command = command.strip()
            if not command.startswith("tshape ") or "|" in command or "pip install" in command:
                continue
            expected = re.search(r"exit (\d+)", comment)
            found.append((command, int(expected.group(1)) if expected else 0))
    return found


COMMANDS = readme_commands()


def test_readme_has_examples() -> None:
    assert len(COMMANDS) >= 15


def test_readme_output_blocks_are_what_tshape_prints() -> None:
    report = io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
        code = readme_output.cog_main("--check", "--diff", "--verbosity=1")
    assert code == 0, (
        f"README.md shows output that tshape no longer prints: run `{readme_output.REFRESH}` "
        f"to refresh it, and commit the result.\n{report.getvalue()}"
    )


def shown_outputs() -> list[tuple[str, str]]:
    """Each sh block of one `tshape …` command that is followed by a text block: (command, text)."""
    pairs = re.findall(r"```sh\n(tshape [^\n]*)\n```\n\n```text\n(.*?)```", README, re.S)
    return [(command.partition("  #")[0].strip(), text) for command, text in pairs]


SHOWN = shown_outputs()


def test_readme_shows_outputs() -> None:
    commands = {c for c, _ in SHOWN}
    assert {"tshape weighted --format plain", "tshape inspect examples/model.pt --format plain"} <= commands
    assert len(SHOWN) >= 5


@pytest.mark.parametrize(("command", "shown"), SHOWN, ids=[c for c, _ in SHOWN])
def test_shown_output_is_the_real_output(command: str, shown: str) -> None:
    assert readme_output.output(command) == shown


def shown_sessions() -> list[tuple[str, str]]:
    """Each `$ tshape …` line of a text block, with the lines after it: (command, what is shown)."""
    found = []
    for block in re.findall(r"```text\n(\$ tshape .*?)```", README, re.S):
        for part in re.split(r"^(?=\$ )", block, flags=re.M)[1:]:
            command, _, shown = part.partition("\n")
            found.append((command.removeprefix("$ "), shown))
    return found


SESSIONS = shown_sessions()


@pytest.mark.parametrize(("command", "shown"), SESSIONS, ids=[c for c, _ in SESSIONS])
def test_shown_terminal_session_is_the_real_output(command: str, shown: str) -> None:
    if command == "tshape inspect evil.pt":  # a file made on the spot, with a pickle that would run code
        assert readme_output.refused_pickle() == f"$ {command}\n{shown}"
        return
    code, out, err = readme_output.run(command)
    assert out + err == shown
    assert code != 0 or not err


# `# exit N: …` comments that describe the outcome in other words than tshape's (in a section
# other README work owns); every other one quotes the output, its pieces joined by `…`.
DESCRIBED = {
    'tshape weighted "ones(1, 3000, 1)" -w "ones(3000, 3000)"',
    "tshape unsqueeze \"[__import__('os').getcwd()]\"",
    'tshape unsqueeze "[1, 2]" --dim 99999999999999999999',
}


def quoted_outputs() -> list[tuple[str, int, list[str]]]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.strip().splitlines():
            command, _, comment = line.partition("  #")
            command = command.strip()
            quote = re.match(r"\s*exit (\d+): (.*)", comment)
            if command.startswith("tshape ") and quote and command not in DESCRIBED:
                pieces = [p.strip() for p in quote.group(2).split("…") if p.strip()]
                found.append((command, int(quote.group(1)), pieces))
    return found


QUOTED = quoted_outputs()


@pytest.mark.parametrize(("command", "expected", "pieces"), QUOTED, ids=[c for c, _, _ in QUOTED])
def test_exit_comment_quotes_the_real_output(command: str, expected: int, pieces: list[str]) -> None:
    code, out, err = readme_output.run(command)
    assert code == expected
    missing = [p for p in pieces if p not in out + err]
    assert not missing, f"{command}: not in its output: {missing}\n{out}{err}"


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_example_runs(command: str, expected: int, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = invoke(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert code == expected, f"{command}: exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err


def test_readme_starts_with_the_two_fresh_machine_commands() -> None:
    head = README[:1500]
    assert "pip install torch==2.13.0" in head
    assert "tshape demo" in head
    assert "python -m pytest" in head


def test_every_command_is_documented_and_has_help() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"unsqueeze", "view", "weighted", "weighted-sum", "linear", "demo"} <= set(names)
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"tshape {name}" in README or f"`{name}`" in README, name
        assert command.help or command.callback.__doc__, name

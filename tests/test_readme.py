"""The README is part of the interface: its examples run as written, every command is in it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

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

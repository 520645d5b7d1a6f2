"""--export FILE: the rich view saved as SVG or HTML, on every command, stdout unchanged."""

from __future__ import annotations

import html

import pytest
import torch
import typer
from conftest import assert_one_line

from tensorshape_cli.cli import app

# The commands that explain an operation (not `serve`, a group that manages the warm server).
COMMANDS = sorted(
    name
    for name, command in typer.main.get_command(app).commands.items()  # type: ignore[attr-defined]
    if not hasattr(command, "commands")
)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_export(tshape, command):
    r = tshape(command, "--help")
    assert "--export" in r.stdout


@pytest.mark.parametrize("fmt", ["plain", "json", "rich"])
@pytest.mark.parametrize("suffix", ["svg", "html"])
def test_export_does_not_change_stdout(tshape, tmp_path, fmt, suffix):
    args = ["squeeze", "zeros(2, 1, 3)", "-f", fmt]
    plain = tshape(*args)
    target = tmp_path / f"out.{suffix}"
    exported = tshape(*args, "--export", str(target))
    assert exported.code == plain.code == 0
    assert exported.stdout == plain.stdout
    assert exported.stderr == ""
    assert target.stat().st_size > 0


def test_svg_holds_the_explanation(tshape, tmp_path):
    target = tmp_path / "view.svg"
    r = tshape("view", "arange(1, 13)", "-s", "3,-1", "-q", "--export", str(target))
    assert r.code == 0
    assert r.stdout.split() == [str(s) for s in torch.arange(1, 13).view(3, -1).shape]
    text = target.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg")
    # rich writes each run of text as its own <text> element, with spaces as &#160;
    flat = html.unescape(text).replace("\xa0", " ")
    assert "x.view(3, -1)" in flat
    assert "fill=" in text  # colours, whatever the terminal


def test_html_holds_the_explanation(tshape, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # the picture keeps its colours anyway
    target = tmp_path / "weighted.HTML"
    r = tshape("weighted", "--export", str(target))
    assert r.code == 0
    text = html.unescape(target.read_text(encoding="utf-8"))
    assert "<html" in text.lower()
    assert "batch=0, class=0" in text
    assert "color" in text


def test_export_of_an_invalid_operation_exits_1_and_still_writes(tshape, tmp_path):
    target = tmp_path / "fail.svg"
    r = tshape("view", "arange(12)", "-s", "5,3", "--export", str(target))
    assert r.code == 1
    assert target.exists()


@pytest.mark.parametrize("name", ["out.png", "out", "missing-dir/out.svg", "."])
def test_bad_export_targets_exit_2_before_any_work(tshape, tmp_path, name):
    r = tshape("squeeze", "zeros(2, 1)", "--export", str(tmp_path / name))
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "--export" in r.stderr


# --- what --export does with what is already there ---------------------------------------------

ARGS = ["unsqueeze", "[1, 2]", "-d", "0", "-q"]


def test_export_refuses_a_symbolic_link(tshape, tmp_path):
    real = tmp_path / "real.svg"
    real.write_text("mine")
    for name, target in (("link.svg", real), ("dangling.svg", tmp_path / "nowhere.svg")):
        link = tmp_path / name
        link.symlink_to(target)
        r = tshape(*ARGS, "--export", str(link))
        assert r.code == 2 and r.stdout == ""
        assert_one_line(r.stderr)
        assert "symbolic link" in r.stderr
    assert real.read_text() == "mine"
    assert not (tmp_path / "nowhere.svg").exists()


def test_export_replaces_an_existing_file_whole_keeping_its_mode(tshape, tmp_path):
    import os
    import stat

    target = tmp_path / "out.svg"
    target.write_text("old")
    os.chmod(target, 0o640)
    r = tshape(*ARGS, "--export", str(target))
    assert r.code == 0, r.stderr
    assert target.read_text().startswith("<svg")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.svg"]  # no temporary file left


def test_export_refuses_an_existing_special_file(tshape, tmp_path):
    import os

    fifo = tmp_path / "out.svg"
    os.mkfifo(fifo)
    r = tshape(*ARGS, "--export", str(fifo))
    assert r.code == 2 and "not a regular file" in r.stderr


@pytest.mark.parametrize("name", ["~nosuchuser/x.svg", "a" * 300 + ".svg"])
def test_export_paths_that_cannot_be_used_are_a_sentence(tshape, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    r = tshape(*ARGS, "--export", name)
    assert r.code == 2 and r.stdout == ""
    assert_one_line(r.stderr)
    assert "--export" in r.stderr


def test_export_failing_to_write_is_exit_2_and_leaves_nothing(tshape, tmp_path, monkeypatch):
    # a read-only directory, a full disk: the failure comes while writing (root ignores modes,
    # so the write itself is made to fail)
    from tensorshape_cli.render import rich_format

    def full(explanations, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rich_format, "export", full)
    r = tshape(*ARGS, "--export", str(tmp_path / "out.svg"))
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "No space left on device" in r.stderr
    assert list(tmp_path.iterdir()) == []

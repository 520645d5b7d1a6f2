"""The execution boundary: execute(argv) returns an Outcome as data, and emit is the one place
that prints it, byte for byte what the command line prints."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import torch
from conftest import CLEAN_ENV

from tensorshape_cli import batch, execute
from tensorshape_cli.errors import ExitCode


def _shape(info) -> list[int]:
    return list(info.shape)


# --- execute: data, never output -------------------------------------------------------------------


def test_success_is_an_outcome_with_the_explanation(capfd):
    outcome = execute.execute(["unsqueeze", "[[1, 2, 3]]", "--dim", "1", "--json"])
    assert outcome.code == ExitCode.OK
    assert outcome.format == "json"
    assert outcome.messages == ()
    (ex,) = outcome.explanations
    assert ex.error is None
    expected = torch.tensor([[1, 2, 3]]).unsqueeze(1)
    assert _shape(ex.result) == list(expected.shape)
    assert ex.result.values == expected.tolist()
    assert capfd.readouterr() == ("", "")  # execute wrote nothing


def test_op_failure_is_exit_1_with_the_error_explained(capfd):
    outcome = execute.execute(["view", "arange(12)", "--shape", "5,3", "-f", "plain"])
    assert outcome.code == ExitCode.INVALID
    (ex,) = outcome.explanations
    assert ex.error is not None
    with pytest.raises(RuntimeError):  # torch refuses it too
        torch.arange(12).view(5, 3)
    assert outcome.messages == ()  # plain: the explanation says it, on stdout
    quiet = execute.execute(["view", "arange(12)", "--shape", "5,3", "-q"])
    assert quiet.code == ExitCode.INVALID
    # -q: the sentence goes to stderr, as a message without the prefix
    assert quiet.messages == (execute.Message(execute.ERROR, quiet.explanations[0].error.message),)
    assert capfd.readouterr() == ("", "")


def test_bad_input_is_exit_2_with_one_message(capfd):
    outcome = execute.execute(["view", "[1,,2]", "--shape", "2"])
    assert outcome.code == ExitCode.USAGE
    assert outcome.explanations == ()
    (message,) = outcome.messages
    assert message.kind == execute.ERROR
    assert "[1,,2]" in message.text
    assert not message.text.startswith("tshape")  # the prefix is emit's
    usage = execute.execute(["view", "arange(6)", "--shap", "2"])
    assert usage.code == ExitCode.USAGE
    assert [m.kind for m in usage.messages] == [execute.USAGE]
    assert "--shap" in usage.messages[0].text
    assert capfd.readouterr() == ("", "")


def test_help_version_and_nothing_are_answers_as_text(capfd):
    from tensorshape_cli import __version__

    assert execute.execute(["--version"]).text == f"tshape {__version__}"
    helped = execute.execute(["view", "--help"])
    assert (helped.code, helped.messages) == (ExitCode.OK, ())
    assert "--shape" in (helped.text or "")
    alone = execute.execute([])
    assert alone.code == ExitCode.USAGE  # `tshape` alone: the help, exit 2
    assert "Usage" in (alone.text or "")
    assert capfd.readouterr() == ("", "")


def test_a_bug_is_exit_70_in_one_message(monkeypatch):
    import tensorshape_cli.ops.unsqueeze as unsqueeze_op

    def broken(*args, **kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.delenv("TSHAPE_DEBUG", raising=False)
    monkeypatch.setattr(unsqueeze_op, "explain", broken)
    outcome = execute.execute(["unsqueeze", "[1, 2]", "--dim", "0"])
    assert outcome.code == ExitCode.INTERNAL
    assert [m.kind for m in outcome.messages] == [execute.INTERNAL]
    assert "ZeroDivisionError" in outcome.messages[0].text


def test_a_batch_is_each_lines_outcome(tmp_path, capfd):
    path = tmp_path / "b.tshape"
    path.write_text(
        'unsqueeze "[1, 2, 3]" --dim 0\nview "arange(12)" --shape 5,3\n# a comment\nview "[1,,2]" -s 2\n'
    )
    outcome = execute.execute(["run", str(path), "--json"])
    assert outcome.batch is not None
    assert outcome.explanations == ()
    lines = list(batch.outcomes(outcome.batch))
    assert [o.code for o in lines] == [ExitCode.OK, ExitCode.INVALID, ExitCode.USAGE]
    assert [o.line.number for o in lines] == [1, 2, 4]
    assert all(o.format == "json" for o in lines)
    first = lines[0].explanations[0]
    assert _shape(first.result) == list(torch.tensor([1, 2, 3]).unsqueeze(0).shape)
    assert first.line == 1
    assert lines[1].explanations[0].error is not None
    # exit 2: the message, and (JSON) a record of the line carrying the same sentence
    (record,) = lines[2].explanations
    assert record.error.kind == "usage"
    assert record.error.message == lines[2].messages[0].text
    assert capfd.readouterr() == ("", "")


def test_a_batch_line_cannot_read_stdin_nor_run_code(tmp_path):
    path = tmp_path / "b.tshape"
    path.write_text('unsqueeze -\ntrace examples/cnn.py:CNN -i "shape(1, 3, 32, 32)"\n')
    lines = list(batch.outcomes(execute.execute(["run", str(path), "-q"]).batch))
    assert [o.code for o in lines] == [ExitCode.USAGE, ExitCode.USAGE]
    assert all(o.explanations == () and len(o.messages) == 1 for o in lines)


def test_notebook_tensors_are_passed_as_data():
    x = torch.arange(6.0)
    outcome = execute.execute(["view", "x", "--shape", "2,3", "--json"], tensors={"x": x})
    assert outcome.code == ExitCode.OK
    assert outcome.explanations[0].result.values == x.view(2, 3).tolist()
    unnamed = execute.execute(["view", "x", "--shape", "2,3", "--json"])
    assert unnamed.code == ExitCode.USAGE  # without them, `x` is no tensor


# --- emit: the bytes the command line prints ---------------------------------------------------------

CASES = [
    ["unsqueeze", "[1, 2, 3]", "--dim", "0", "-f", "plain"],
    ["view", "arange(12)", "--shape", "5,3", "-f", "plain"],
    ["view", "arange(12)", "--shape", "5,3", "-q"],
    ["view", "[1,,2]", "--shape", "2"],
    ["view", "arange(6)", "--shap", "2"],
    ["matmul", "ones(2, 3)", "ones(3, 4)", "--json"],
    [],
]


def _emitted(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, bytes]:
    """emit(execute(argv)) in this process, on byte streams (not CliRunner's: it forces
    Click's help to 80 columns, which a process does not)."""
    for name, value in CLEAN_ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
    stderr = io.TextIOWrapper(err, encoding="utf-8", newline="\n")
    with monkeypatch.context() as streams:
        streams.setattr(sys, "stdout", stdout)
        streams.setattr(sys, "stderr", stderr)
        streams.setattr(sys, "stdin", io.StringIO())
        code = execute.emit(execute.execute(argv))
        stdout.flush()
        stderr.flush()
    return code, out.getvalue(), err.getvalue()


def _process(argv: list[str], cwd: str | None = None) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(COLUMNS="120", TSHAPE_NO_SERVER="1")
    proc = subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", *argv],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("argv", CASES, ids=lambda a: " ".join(a) or "(nothing)")
def test_emit_prints_what_the_command_line_prints(argv, monkeypatch):
    assert _emitted(argv, monkeypatch) == _process(argv)


def test_emit_prints_a_batch_as_the_command_line_does(tmp_path, monkeypatch):
    path = tmp_path / "b.tshape"
    path.write_text(
        'unsqueeze "[1, 2, 3]" --dim 0\nview "arange(12)" --shape 5,3\nview "[1,,2]" -s 2\nview --nope\n'
    )
    for fmt in (["-q"], ["--json"], ["-f", "plain"]):
        argv = ["run", "b.tshape", *fmt]
        monkeypatch.chdir(tmp_path)
        emitted = _emitted(argv, monkeypatch)
        assert emitted == _process(argv, cwd=str(tmp_path))
        assert emitted[0] == ExitCode.USAGE
        if fmt == ["-q"]:  # one line per command line, failed ones empty
            assert emitted[1].decode().split("\n") == ["1 3", "", "", "", ""]
            assert emitted[2].decode().splitlines()[0].startswith("b.tshape:2: tshape: ")


def test_q_keeps_one_line_for_a_line_that_answers_with_text(tmp_path, monkeypatch):
    from tensorshape_cli import __version__

    (tmp_path / "b.tshape").write_text('--version\nunsqueeze "[1, 2]" --dim 1\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = _emitted(["run", "b.tshape", "-q"], monkeypatch)
    assert code == ExitCode.OK
    shape = " ".join(map(str, torch.tensor([1, 2]).unsqueeze(1).shape))
    assert out.decode().splitlines() == [f"tshape {__version__}", shape]

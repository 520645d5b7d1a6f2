"""The process as a shell sees it: Ctrl-C, a closed pipe, closed or odd standard streams,
files that cannot be read, and what the console script does before any of tshape runs.

Most of these run the console script in a subprocess (each pays torch's import).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.abc
import importlib.metadata
import importlib.util
import io
import os
import re
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import CLEAN_ENV, assert_one_line, run_tshape

from tensorshape_cli import entry, inputs, runner
from tensorshape_cli.errors import InputError

TSHAPE = Path(sys.executable).parent / "tshape"
ENV = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}


def script() -> list[str]:
    return [str(TSHAPE)] if TSHAPE.exists() else [sys.executable, "-m", "tensorshape_cli"]


def no_traceback(*texts: bytes | str) -> None:
    for text in texts:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        assert "Traceback" not in text
        assert "terminate called" not in text  # a C++ abort


# --- Ctrl-C ----------------------------------------------------------------------------------------


def test_the_console_script_is_the_interrupt_safe_entry_point():
    scripts = importlib.metadata.entry_points(group="console_scripts", name="tshape")
    assert [ep.value for ep in scripts] == ["tensorshape_cli.entry:main"]


def test_ctrl_c_while_reading_stdin_exits_130():
    proc = subprocess.Popen(
        [*script(), "unsqueeze", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    try:
        # a partial literal: once the pipe is empty again, tshape is waiting for the rest
        proc.stdin.write(b"[1, 2")
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while _unread(proc.stdin.fileno()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _unread(proc.stdin.fileno()) == 0, "tshape never read its standard input"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert out == b""
    no_traceback(err)


def _unread(fd: int) -> int:
    """Bytes written to a pipe and not yet read by the other end."""
    buffer = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buffer)
    return int.from_bytes(buffer, sys.byteorder)


INTERRUPT_ON_IMPORT = textwrap.dedent(
    """
    import sys

    class Interrupt:  # Ctrl-C at the moment this module starts to import
        def find_spec(self, name, path=None, target=None):
            if name == {module!r}:
                raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, Interrupt())
    sys.argv = ["tshape", "unsqueeze", "[1, 2]", "--dim", "0"]
    from tensorshape_cli.entry import main
    main()
    """
)


@pytest.mark.parametrize("module", ["typer", "tensorshape_cli.cli", "torch"])
def test_ctrl_c_during_start_up_imports_exits_130(module):
    code = INTERRUPT_ON_IMPORT.format(module=module)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, env=ENV)
    assert proc.returncode == 130, proc.stderr.decode()
    assert proc.stdout == b""
    no_traceback(proc.stderr)


class _SlowTorch(importlib.abc.Loader):
    """A stand-in for torch whose import receives SIGINT halfway (the real one takes ~1.7 s,
    and an interrupt inside its C++ start-up would abort the process)."""

    def __init__(self, interrupt: bool) -> None:
        self.interrupt = interrupt
        self.finished = False

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return None

    def exec_module(self, module) -> None:  # type: ignore[no-untyped-def]
        if self.interrupt:
            os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # bytecodes run: a raising handler would have raised by now
            pass
        self.finished = True


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, loader: _SlowTorch) -> None:
        self.loader = loader

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        return importlib.util.spec_from_loader(name, self.loader) if name == "torch" else None


@contextlib.contextmanager
def _fake_torch(interrupt: bool):
    """`import torch` finds the stand-in, through tshape's guard, as in a fresh process."""
    real_torch = sys.modules.pop("torch")
    loader = _SlowTorch(interrupt)
    finder = _Finder(loader)
    saved_path = list(sys.meta_path)
    runner.TorchImportGuard.install()
    sys.meta_path.insert(1, finder)
    try:
        yield loader
    finally:
        sys.meta_path[:] = saved_path
        sys.modules["torch"] = real_torch


def test_ctrl_c_during_torchs_import_is_held_until_the_import_ends():
    before = signal.getsignal(signal.SIGINT)
    with _fake_torch(interrupt=True) as loader:
        assert isinstance(sys.meta_path[0], runner.TorchImportGuard)
        with pytest.raises(KeyboardInterrupt):
            importlib.import_module("torch")
        assert loader.finished, "the import was cut short"
        assert signal.getsignal(signal.SIGINT) is before
        assert not any(isinstance(f, runner.TorchImportGuard) for f in sys.meta_path)


def test_without_ctrl_c_torchs_import_goes_on():
    with _fake_torch(interrupt=False) as loader:
        module = importlib.import_module("torch")
        assert loader.finished
        assert sys.modules["torch"] is module
        assert not any(isinstance(f, runner.TorchImportGuard) for f in sys.meta_path)


def test_the_guard_keeps_torch_unimported_until_needed():
    code = textwrap.dedent(
        """
        import sys
        from tensorshape_cli.cli import invoke
        code = invoke(["view", "[1,,2]", "--shape", "2"])
        print(code, "torch" in sys.modules)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.stdout.split() == ["2", "False"], proc.stderr


# Every named moment of entry.main, from its first line to Python's own finalisation, and the
# exit code a Ctrl-C landing exactly then gives: 130 until the output is written and flushed,
# the command's own code after that. Never killed by the signal (-2), never a traceback.
MOMENTS = [("start", 130), ("returned", 130), ("flushed", 0), ("finalising", 0)]


DEMO = ["demo", "-f", "rich"]


@pytest.fixture(scope="module")
def demo_output() -> bytes:
    proc = subprocess.run([*script(), *DEMO], capture_output=True, timeout=120, env=ENV)
    assert proc.returncode == 0
    return proc.stdout


@pytest.mark.parametrize(("moment", "expected"), MOMENTS)
def test_ctrl_c_at_any_moment_of_a_run_exits_130_without_a_crash(moment, expected, demo_output):
    env = {**ENV, entry.SIGINT_AT: moment}
    proc = subprocess.run([*script(), *DEMO], capture_output=True, timeout=120, env=env)
    assert proc.returncode == expected, proc.stderr.decode()
    no_traceback(proc.stdout, proc.stderr)
    if moment == "start":
        assert proc.stdout == b""
    else:  # the demo had run to its end
        assert proc.stdout == demo_output
        assert proc.stderr.strip() == b""


def test_the_moments_are_every_point_of_main():
    # A moment added to main() without a test here, or a test for a moment main() lost, fails.
    source = Path(entry.__file__).read_text()
    assert re.findall(r'_moment(?:\(|, )"(\w+)"', source) == [name for name, _ in MOMENTS]


def test_a_late_ctrl_c_is_ignored_through_finalisation():
    # Python's finalisation puts back SIGINT's default action, except for SIG_IGN
    code = textwrap.dedent(
        """
        import atexit, signal, sys
        atexit.register(lambda: print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN))
        sys.argv = ["tshape", "unsqueeze", "[1, 2]", "--dim", "0", "-q"]
        from tensorshape_cli.entry import main
        main()
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "True"


# --- the exit ----------------------------------------------------------------------------------
# Python's finalisation of a process that imported torch takes ~0.5 s; tshape skips it once its
# output is out, but runs the atexit functions, and leaves the user's own code (trace) and a
# running thread the whole of Python's exit.

FINALISED = """
import atexit, os, sys
class Finalised:
    def __del__(self):
        os.write(1, b"finalised\\n")
kept = Finalised()  # deleted only by Python's finalisation
atexit.register(lambda: print("atexit ran"))
"""


def run_main(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV)


@pytest.mark.parametrize(("args", "expected"), [(["[1, 2]", "--dim", "0"], 0), (["[1, 2]", "--dim", "5"], 1)])
def test_a_run_skips_finalisation_but_runs_atexit_and_keeps_its_code(args, expected):
    code = FINALISED + textwrap.dedent(
        f"""
        sys.argv = ["tshape", "unsqueeze", *{args!r}, "-q"]
        from tensorshape_cli.entry import main
        main()
        """
    )
    proc = run_main(code)
    assert proc.returncode == expected, proc.stderr
    assert "atexit ran" in proc.stdout
    assert "finalised" not in proc.stdout
    no_traceback(proc.stdout, proc.stderr)


def test_a_running_thread_gets_pythons_whole_exit():
    code = FINALISED + textwrap.dedent(
        """
        import threading, time
        from tensorshape_cli import entry

        def late():  # still running when tshape's output is out
            while not entry._exiting:
                time.sleep(0.01)
            time.sleep(0.2)
            print("thread done")

        threading.Thread(target=late).start()
        sys.argv = ["tshape", "unsqueeze", "[1, 2]", "--dim", "0", "-q"]
        from tensorshape_cli.entry import main
        main()
        """
    )
    proc = run_main(code)
    assert proc.returncode == 0, proc.stderr
    assert "thread done" in proc.stdout  # not killed by the exit


def test_only_a_one_command_process_freezes_torchs_objects():
    # frozen objects are never collected: right for a process that ends after one command,
    # wrong for a notebook or a program that imports tshape and goes on
    in_process = textwrap.dedent(
        """
        import contextlib, gc, io
        from tensorshape_cli.cli import invoke
        with contextlib.redirect_stdout(io.StringIO()):
            invoke(["expr", "x.softmax(-1)", "-t", "x=[1.0, 2]"])
        print(gc.get_freeze_count())
        """
    )
    proc = run_main(in_process)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"]
    console = textwrap.dedent(
        """
        import atexit, gc, sys
        atexit.register(lambda: print("frozen", gc.get_freeze_count()))
        sys.argv = ["tshape", "expr", "x.softmax(-1)", "-t", "x=[1.0, 2]", "-q"]
        from tensorshape_cli.entry import main
        main()
        """
    )
    proc = run_main(console)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 100_000


def test_traced_code_gets_pythons_whole_exit(tmp_path):
    # a file the user's code left open and unflushed is written out by Python's finalisation
    log = tmp_path / "log.txt"
    model = tmp_path / "model.py"
    model.write_text(
        textwrap.dedent(
            f"""
            import torch
            LOG = open({str(log)!r}, "w")

            def f(x):
                LOG.write("called")
                return x.unsqueeze(0)
            """
        )
    )
    args = [*script(), "trace", f"{model}:f", "-i", "[1, 2]", "-q"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "called"


# --- a closed pipe -----------------------------------------------------------------------------


def _first_line_then_close(args: list[str]) -> tuple[bytes, bytes, int]:
    """`tshape ARGS | head -1`: read one line, close the pipe, collect stderr and the exit code."""
    proc = subprocess.Popen([*script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    return first, err, proc.returncode


def test_closed_pipe_is_quiet_and_exits_141():
    # the reader is gone before tshape writes: every write fails with EPIPE
    proc = subprocess.Popen(
        [*script(), "unsqueeze", "[1, 2, 3]", "--dim", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""


def test_closed_pipe_in_process(monkeypatch):
    from tensorshape_cli.cli import invoke

    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = open(write_end, "w")  # noqa: SIM115 - closed below
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        code = invoke(["demo", "-f", "plain"])
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            stdout.close()
    assert code == 141
    assert stderr.getvalue() == ""


@pytest.mark.parametrize("fmt", ["rich"])  # rich has its own broken-pipe handling
def test_demo_into_head_is_quiet(fmt):
    first, err, code = _first_line_then_close(["demo", "-f", fmt])
    assert first.strip()
    assert err == b""
    # 0 when the output fit in the pipe before it closed (or when the kernel let a blocked
    # write finish after the reader left, as some VMs' do)
    assert code in (0, 141)


# --- standard streams ----------------------------------------------------------------------------


def test_closed_stdin_is_a_sentence():
    proc = subprocess.run(
        [*script(), "unsqueeze", "-"],
        capture_output=True,
        timeout=60,
        env=ENV,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 2
    assert_one_line(proc.stderr.decode())
    assert "closed" in proc.stderr.decode()
    no_traceback(proc.stderr)


def test_closed_stdin_does_not_matter_when_unused(monkeypatch):
    # a process started with fd 0 closed has sys.stdin None
    from tensorshape_cli.cli import invoke

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", None)
    monkeypatch.setattr(sys, "stdout", out)
    code = invoke(["unsqueeze", "[1, 2]", "--dim", "0", "-q"])
    assert code == 0
    assert out.getvalue().split() == [str(s) for s in torch.tensor([1, 2]).unsqueeze(0).shape]


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["view", "arange(12)", "-s", "3,-1"], 0), (["view", "arange(12)", "-s", "5,3"], 1)],
)
def test_closed_stdout_keeps_the_exit_code(monkeypatch, args, expected):
    # a process started with fd 1 closed has sys.stdout None: the output goes nowhere
    from tensorshape_cli.cli import invoke

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", err)
    assert invoke(args) == expected
    assert err.getvalue() == ""


def test_stdin_from_a_terminal_is_a_sentence(monkeypatch):
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(InputError, match="terminal"):
        inputs.StdinReader().read("x")


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe[\x001\x00]\x00", b"[1, 2]\x00", b"\x80abc"],
)
def test_binary_garbage_on_stdin(data):
    r = run_tshape("unsqueeze", "-", input=data)
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "binary" in r.stderr
    assert "standard input" in r.stderr


@pytest.mark.parametrize("data", ["", "  \n\t\n", "\ufeff"])
def test_empty_stdin(data):
    r = run_tshape("unsqueeze", "-", input=data.encode())
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "empty" in r.stderr


def test_bytes_that_are_not_utf8_in_the_command_line():
    proc = subprocess.run([*script(), "unsqueeze", b"[1\xff]"], capture_output=True, timeout=60, env=ENV)
    assert proc.returncode == 2
    assert_one_line(proc.stderr.decode())
    no_traceback(proc.stderr)


# --- files that cannot be read -------------------------------------------------------------------


def test_directory_given_as_a_file(tmp_path):
    folder = tmp_path / "weights.json"
    folder.mkdir()
    for spec in (str(folder), f"@{folder}", f"@{tmp_path}"):
        r = run_tshape("unsqueeze", spec)
        assert r.code == 2
        assert_one_line(r.stderr)
        assert "directory" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    path.chmod(0)
    r = run_tshape("unsqueeze", f"@{path}")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "permission denied" in r.stderr


def test_unreadable_file_even_as_root(tmp_path, monkeypatch):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")

    real_open = os.open

    def denied(file, *args, **kwargs):  # files are opened with os.open (non-blocking, then checked)
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    r = run_tshape("unsqueeze", f"@{path}")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "permission denied" in r.stderr
    assert str(path) in r.stderr


def test_a_file_name_with_a_newline_stays_on_one_line(tmp_path):
    r = run_tshape("unsqueeze", f"@{tmp_path}/a\nb.json")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "a\\nb.json" in r.stderr


def test_a_home_directory_that_does_not_exist(tmp_path):
    r = run_tshape("unsqueeze", "@~nosuchuser-tshape/x.json")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "~nosuchuser-tshape/x.json" in r.stderr


# --- negative numbers are tensors, not options ---------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "-2.5", "-.5", "-inf", "-nan", "-1e3"])
def test_a_negative_number_is_a_tensor(value):
    expected = torch.tensor(
        float(value) if "." in value or "e" in value or value[1:].isalpha() else int(value)
    )
    for args in (
        ["unsqueeze", "--json", value, "--dim", "0"],
        ["unsqueeze", "--json", "--dim", "0", value],
        ["unsqueeze", "--json", "--", value],
    ):
        r = run_tshape(*args)
        assert r.code == 0, (args, r.stderr)
        info = r.doc["inputs"]["x"]
        assert info["shape"] == list(expected.shape)
        assert info["dtype"] == str(expected.dtype).removeprefix("torch.")


def test_an_unknown_option_is_still_an_error():
    r = run_tshape("unsqueeze", "[1]", "-x")
    assert r.code == 2
    assert "-x" in r.stderr

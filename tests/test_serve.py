"""The warm server: every call through it is the call a cold process makes, byte for byte.

Each server here has a socket directory of its own (TSHAPE_SERVER_DIR under tmp_path) and is
stopped in its fixture's finalizer. Every subprocess has a timeout, and a process's end is
waited for on a pidfd with a deadline: a bug fails a test, it never hangs the suite. That a
call really went warm is checked on the server's own count of calls served, not on timing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from conftest import CLEAN_ENV

from tensorshape_cli.serve import client, control

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_PEERCRED"), reason="the warm server needs Linux")

ROOT = Path(__file__).resolve().parent.parent
TSHAPE = Path(sys.executable).parent / "tshape"
BASE_ENV = {
    **{k: v for k, v in os.environ.items() if k not in CLEAN_ENV and not k.startswith("TSHAPE_")},
    "COLUMNS": "120",
}
TIMEOUT = 120


def script() -> list[str]:
    return [str(TSHAPE)] if TSHAPE.exists() else [sys.executable, "-m", "tensorshape_cli"]


def installation_key(env: dict[str, str]) -> str:
    """The key a tshape process with this environment has (the locale decides Python's UTF-8
    mode, which is part of it)."""
    code = "from tensorshape_cli.serve import client; print(client.installation_key(), end='')"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8", "surrogateescape")


@dataclass
class Server:
    directory: Path
    path: str
    pid: int
    env: dict[str, str]
    key: str

    @property
    def cold_env(self) -> dict[str, str]:
        return {**self.env, "TSHAPE_NO_SERVER": "1"}

    def served(self) -> int:
        found = control.query(self.path, self.key)
        assert found is not None, "the server does not answer"
        return found.served


def tshape(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    return subprocess.run([*script(), *args], env=env, timeout=TIMEOUT, cwd=kw.pop("cwd", ROOT), **kw)


def wait_for_exit(pid: int, seconds: float = 60) -> bool:
    """True once the process has ended (it is not our child: a pidfd is how to wait for it)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def start_server(directory: Path, idle: int = 600) -> Server:
    directory.mkdir(mode=0o700, exist_ok=True)
    env = {**BASE_ENV, "TSHAPE_SERVER_DIR": str(directory)}
    proc = tshape(["serve", "start", "--idle", str(idle)], env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    pid = int(re.search(r"pid (\d+)", out).group(1))
    path = re.search(r"socket (\S+\.sock)", out).group(1)
    key = installation_key(env)
    assert path == os.path.join(directory, client.socket_name(key))
    return Server(directory, path, pid, env, key)


def stop_server(server: Server) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        tshape(["serve", "stop"], server.env)
    if not wait_for_exit(server.pid, 60):
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = start_server(tmp_path_factory.mktemp("warm") / "s")
    try:
        yield started
    finally:
        stop_server(started)


def warm_and_cold(server: Server, args: list[str], **kw) -> tuple[subprocess.CompletedProcess, ...]:
    before = server.served()
    warm = tshape(args, server.env, **kw)
    assert server.served() == before + 1, "the call did not go through the server"
    cold = tshape(args, server.cold_env, **kw)
    return warm, cold


def assert_same(warm: subprocess.CompletedProcess, cold: subprocess.CompletedProcess) -> None:
    assert warm.stdout == cold.stdout
    assert warm.stderr == cold.stderr
    assert warm.returncode == cold.returncode


# --- the same bytes, the same exit code ------------------------------------------------------------

CORPUS = [
    *(
        ["unsqueeze", "[1, 2, 3]", "--dim", "0", *fmt]
        for fmt in (["-f", "rich"], ["-f", "plain"], ["--json"], ["-q"])
    ),
    ["unsqueeze", "[1, 2, 3]"],
    ["view", "arange(1, 13)", "-s", "3,-1", "--transpose", "0,0"],
    ["view", "arange(12)", "-s", "5,3"],  # exit 1, explained
    ["view", "arange(12)", "-s", "5,3", "--json"],
    ["view", "[1,,2]", "-s", "2"],  # exit 2, one line on stderr
    ["weighted", "--weights", "examples/weights.json"],
    ["weighted-sum", "--random", "--seed", "3", "--json"],
    ["linear", "shape(64, 512)", "-o", "10", "-q"],
    ["linear", "@examples/linear_x.json", "-o", "2", "--seed", "1", "-f", "rich"],
    ["squeeze", "zeros(2, 1, 3)"],
    ["reshape", "arange(6)", "-s", "4,2"],
    ["flatten", "zeros(2, 3, 4)", "--json"],
    ["permute", "zeros(2, 3, 4)", "--dims", "2,0,1"],
    ["transpose", "arange(6).reshape(2, 3)"],
    ["expand", "[[1], [2]]", "-s", "2,3"],
    ["broadcast", "shape(5, 3, 4, 1)", "shape(3, 1, 1)"],
    ["broadcast", "shape(2, 3)", "shape(4)"],
    ["matmul", "shape(2, 3)", "shape(4, 5)"],
    ["sum", "arange(6).reshape(2, 3)", "--dim", "0"],
    ["mean", "[[1.0, 2.0], [3.0, 4.0]]", "--dim", "1", "--keepdim"],
    ["cat", "zeros(2, 3)", "ones(2, 3)", "--dim", "1"],
    ["stack", "zeros(2, 3)", "ones(3, 3)"],
    ["expr", "x @ w.T + b", "-t", "x=[[0.5,0.6,0.7]]", "-t", "w=[[1.0,0,0],[0,1,0]]", "-t", "b=[0.1,0.2]"],
    ["demo", "-f", "plain"],
    ["inspect", "examples/model.pt"],
    ["inspect", "examples/nosuch.pt"],
    ["run", "examples/shapes.tshape", "--json"],
    ["unsqueeze", "[1, 2]", "--lang", "es"],
    ["--help"],
    ["view", "--help"],
    ["--version"],
    [],
    ["nosuchcommand"],
    ["unsqueeze", b"[1\xff]".decode("utf-8", "surrogateescape")],
]


@contextlib.contextmanager
def _chdir(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def in_process(args: list[str], env: dict[str, str], input: bytes | None = None, cwd: Path = ROOT):
    """What `tshape ARGS` writes, from entry.main's code in this process (a cold process costs
    seconds: the corpus is checked against this, and a part of it against real cold processes)."""
    from typer.testing import CliRunner

    from tensorshape_cli.cli import invoke

    environ = {k: None for k in os.environ} | env
    with _chdir(cwd), CliRunner().isolation(input=input, env=environ) as (out, err, _):
        code = invoke(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        result = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    return result


# help is wrapped at the terminal's width, which Click's test isolation forces: processes only
IN_PROCESS = [a for a in CORPUS if a and "--help" not in a]


@pytest.mark.parametrize("args", IN_PROCESS, ids=[" ".join(a) or "(none)" for a in IN_PROCESS])
def test_warm_calls_write_what_the_command_writes(server, args):
    before = server.served()
    warm = tshape(args, server.env)
    assert server.served() == before + 1, "the call did not go through the server"
    assert_same(warm, in_process(args, server.env))


COLD_CORPUS = [CORPUS[i] for i in (0, 2, 3, 6, 8, 11, 29, 30, 31, 32, 33, 34, 35, 36, 37)]


@pytest.mark.parametrize("args", COLD_CORPUS, ids=[" ".join(a) or "(none)" for a in COLD_CORPUS])
def test_warm_and_cold_processes_write_the_same_bytes(server, args):
    assert_same(*warm_and_cold(server, args))


@pytest.mark.parametrize(
    "env",
    [{"TSHAPE_LANG": "es"}, {"LANG": "es_ES.UTF-8"}, {"COLUMNS": "50"}, {"TSHAPE_FORMAT": "json"}],
    ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()),
)
def test_the_environment_is_the_callers(server, env):
    args = ["view", "arange(12)", "-s", "5,3"]
    before = server.served()
    warm = tshape(args, {**server.env, **env})
    assert server.served() == before + 1
    assert_same(warm, in_process(args, {**server.env, **env}))


def test_relative_paths_are_read_from_the_callers_directory(server, tmp_path):
    (tmp_path / "t.json").write_text("[[1, 2], [3, 4]]")
    args = ["unsqueeze", "@t.json", "--dim", "1", "--json"]
    warm, cold = warm_and_cold(server, args, cwd=tmp_path)
    assert_same(warm, cold)
    assert warm.returncode == 0
    assert b'"shape": [2, 1, 2]' in warm.stdout


def test_export_writes_the_same_file_with_the_callers_umask(server, tmp_path):
    files = []
    for env in (server.env, server.cold_env):
        target = tmp_path / f"{len(files)}.svg"
        proc = tshape(
            ["squeeze", "zeros(2, 1, 3)", "-q", "--export", str(target)],
            env,
            preexec_fn=lambda: os.umask(0o077),
        )
        assert proc.returncode == 0, proc.stderr
        files.append(target)
    assert files[0].read_bytes() == files[1].read_bytes()
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}


@pytest.mark.parametrize(
    ("args", "data"),
    [
        (["unsqueeze", "-", "--dim", "1", "--json"], b"[4, 5]"),
        (["unsqueeze", "@/dev/stdin", "-q"], b"[[1, 2, 3]]"),
        (["unsqueeze", "-"], b""),
        (["unsqueeze", "-"], b"\x89PNG\r\n"),
        (["run", "-", "--json"], b"unsqueeze '[1, 2]' --dim 0\nview 'arange(6)' -s 4,2\n"),
    ],
)
def test_standard_input_is_the_callers(server, args, data):
    assert_same(*warm_and_cold(server, args, input=data))  # fd 0 itself: cold processes


def test_closed_standard_streams(server):
    closed = {"stdin": lambda: os.close(0), "stdout": lambda: os.close(1)}
    for name, close in closed.items():
        args = ["unsqueeze", "-"] if name == "stdin" else ["view", "arange(12)", "-s", "5,3"]
        warm, cold = warm_and_cold(server, args, preexec_fn=close)
        assert_same(warm, cold)
        assert warm.returncode == (2 if name == "stdin" else 1)


def in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run with a pseudo-terminal as stdin, stdout and stderr; all it wrote, and its exit code."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen([*script(), *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other side has closed it
                break
            if not chunk:
                break
            out += chunk
        return proc.wait(timeout=TIMEOUT), out
    finally:
        proc.kill()
        os.close(master)


@pytest.mark.parametrize(
    "args",
    [["unsqueeze", "[1, 2, 3]", "--dim", "0"], ["view", "arange(12)", "-s", "5,3"], ["unsqueeze", "-"]],
)
def test_a_terminal_gets_the_same_colours(server, args):
    env = {k: v for k, v in server.env.items() if k != "COLUMNS"} | {"TERM": "xterm-256color"}
    before = server.served()
    warm = in_terminal(args, env)
    assert server.served() == before + 1
    cold = in_terminal(args, {**env, "TSHAPE_NO_SERVER": "1"})
    assert warm == cold
    if args[-1] != "-":
        assert b"\x1b[" in warm[1], "rich wrote no colour on a terminal"
    else:
        assert warm[0] == 2  # tshape refuses to read a tensor from a terminal


def test_random_draws_differ_per_call_as_cold_ones_do(server):
    args = ["weighted", "--random", "--json"]
    first, second = (tshape(args, server.env) for _ in range(2))
    assert first.returncode == second.returncode == 0
    assert first.stdout != second.stdout  # every fork would share the parent's generator
    seeded = [tshape([*args, "--seed", "5"], env).stdout for env in (server.env, server.cold_env)]
    assert seeded[0] == seeded[1]


# --- signals, crashes, closed pipes ----------------------------------------------------------------


def _unread(fd: int) -> int:
    buffer = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buffer)
    return int.from_bytes(buffer, sys.byteorder)


def reading_stdin(env: dict[str, str]) -> subprocess.Popen:
    """`tshape unsqueeze -` once it has read a partial literal and waits for the rest."""
    proc = subprocess.Popen(
        [*script(), "unsqueeze", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdin.write(b"[1, 2")
    proc.stdin.flush()
    deadline = time.monotonic() + TIMEOUT
    while _unread(proc.stdin.fileno()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _unread(proc.stdin.fileno()) == 0, "tshape never read its standard input"
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_a_warm_call_as_a_cold_one(server, signum):
    results = []
    for env in (server.env, server.cold_env):
        proc = reading_stdin(env)
        try:
            proc.send_signal(signum)
            proc.wait(timeout=TIMEOUT)  # before stdin closes: the signal alone ends it
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
        results.append((proc.returncode, out, err))
    assert results[0] == results[1]
    assert results[0][0] == (130 if signum == signal.SIGINT else -signum)


def test_closed_pipe_exits_141(server):
    results = []
    for env in (server.env, server.cold_env):
        proc = subprocess.Popen(
            [*script(), "demo", "-f", "plain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        proc.stdout.close()
        err = proc.stderr.read()
        results.append((proc.wait(timeout=TIMEOUT), err))
    assert results[0] == results[1] == (141, b"")


def _call_children(server: Server) -> list[int]:
    with open(f"/proc/{server.pid}/task/{server.pid}/children") as f:
        return [int(pid) for pid in f.read().split()]


def test_a_crash_in_one_call_leaves_the_server_serving(server):
    proc = reading_stdin(server.env)
    try:
        ours = os.readlink(f"/proc/{proc.pid}/fd/0")
        crashing = [pid for pid in _call_children(server) if os.readlink(f"/proc/{pid}/fd/0") == ours]
        assert len(crashing) == 1
        # the call hangs on its input: others run meanwhile
        assert_same(*warm_and_cold(server, ["unsqueeze", "[1, 2, 3]", "--dim", "0"]))
        os.kill(crashing[0], signal.SIGSEGV)
        proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGSEGV  # the client dies as the call did
    assert_same(*warm_and_cold(server, ["view", "arange(12)", "-s", "3,4"]))


def test_the_warm_parent_is_one_thread_and_a_child_can_use_many(server):
    assert os.listdir(f"/proc/{server.pid}/task") == [str(server.pid)]  # no pool to lose in a fork
    before = server.served()
    proc = tshape(["matmul", "randn(512, 512)", "randn(512, 512)", "-q"], server.env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == [
        str(s) for s in (torch.zeros(512, 512) @ torch.zeros(512, 512)).shape
    ]
    threads = tshape(
        ["expr", "x", "-t", "x=[1]", "-q"], {**server.env, "OMP_NUM_THREADS": "1"}
    )  # the child takes the caller's thread count, without hanging either way
    assert threads.returncode == 0
    assert server.served() == before + 2


def test_concurrent_calls_from_several_shells(server):
    args = [CORPUS[0], CORPUS[6], ["linear", "shape(64, 512)", "-o", "10", "-q"], ["demo", "--json"]]
    expected = [tshape(a, server.cold_env) for a in args]
    before = server.served()
    jobs = [i % len(args) for i in range(16)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: tshape(args[i], server.env), jobs))
    for i, got in zip(jobs, results, strict=True):
        assert_same(got, expected[i])
    assert server.served() == before + len(jobs)


# --- falling back to a cold run --------------------------------------------------------------------


def test_no_server_stale_socket_or_open_directory_run_cold(tmp_path):
    directory = tmp_path / "s"
    directory.mkdir(mode=0o700)
    env = {**BASE_ENV, "TSHAPE_SERVER_DIR": str(directory)}
    args = ["view", "arange(12)", "-s", "5,3"]
    expected = tshape(args, {**env, "TSHAPE_NO_SERVER": "1"})
    assert_same(tshape(args, env), expected)  # no socket at all
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.path.join(directory, client.socket_name(installation_key(env))))
    stale.close()  # a socket file nobody listens on: a server that was killed
    assert_same(tshape(args, env), expected)
    directory.chmod(0o755)  # a directory others can enter is not used at all
    assert_same(tshape(args, env), expected)


def test_a_server_of_another_installation_is_not_used(server, tmp_path):
    args = ["view", "arange(12)", "-s", "5,3"]
    before = server.served()
    other = tshape(args, {**server.env, "PYTHONPATH": str(tmp_path)})  # another environment
    assert server.served() == before
    assert_same(other, tshape(args, server.cold_env))


def as_nobody(server: Server) -> list[str]:
    """In a forked child running as nobody: what the client's own connection code meets."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no exec (nobody may not be able to run this interpreter)
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                sock = client.connect(server.path)
            except OSError as e:
                said = type(e).__name__
            else:  # connected: the server hangs up without a word (EOF or a reset)
                try:
                    client.send(
                        sock, client.pack([b"status", server.key.encode("utf-8", "surrogateescape")]), []
                    )
                    said = "refused" if client.Frames(sock).next() is None else "answered"
                except (ConnectionResetError, BrokenPipeError):
                    said = "refused"
            outcome = client._call(server.path)  # the whole client: None means "run cold"
            os.write(write_end, f"{said}\n{outcome}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        if not select.select([read_end], [], [], TIMEOUT)[0]:
            os.kill(pid, signal.SIGKILL)
        return os.read(read_end, 4096).decode().split("\n")
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_is_refused():
    # pytest's own temporary directory is closed to others: this server lives beside it in /tmp
    top = Path(tempfile.mkdtemp(prefix="tshape-serve-test-"))
    server = start_server(top / "s")
    try:
        args = ["view", "arange(12)", "-s", "3,4"]
        before = server.served()
        assert as_nobody(server) == ["PermissionError", "None"]  # the 0700 directory keeps nobody out
        # With the directories and the socket opened, the server's own uid check refuses them.
        top.chmod(0o711)
        server.directory.chmod(0o711)
        os.chmod(server.path, 0o666)
        try:
            assert as_nobody(server) == ["refused", "None"]  # nobody runs cold
        finally:
            os.chmod(server.path, 0o600)
            server.directory.chmod(0o700)
        assert server.served() == before
        assert_same(*warm_and_cold(server, args))  # and it still serves its user
    finally:
        stop_server(server)
        shutil.rmtree(top, ignore_errors=True)


# --- start, stop, status, idle ---------------------------------------------------------------------


def test_two_starts_race_to_one_server_and_stop_ends_it(tmp_path):
    directory = tmp_path / "s"
    directory.mkdir(mode=0o700)
    env = {**BASE_ENV, "TSHAPE_SERVER_DIR": str(directory)}
    starts = [
        subprocess.Popen(
            [*script(), "serve", "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in starts]
    pids = {int(re.search(rb"pid (\d+)", out).group(1)) for out, _ in outs}
    try:
        assert [p.returncode for p in starts] == [0, 0], outs
        assert len(pids) == 1, outs
        status = tshape(["serve", "status"], env)
        assert status.returncode == 0
        assert f"pid {next(iter(pids))}".encode() in status.stdout
        assert b"0.1.0" in status.stdout or re.search(rb"tshape \S+ ", status.stdout)
        stopped = tshape(["serve", "stop"], env)
        assert stopped.returncode == 0
        assert wait_for_exit(next(iter(pids)), 60)
        assert tshape(["serve", "status"], env).returncode == 1
        assert not any(p.suffix == ".sock" for p in directory.iterdir())
    finally:
        for pid in pids:
            if not wait_for_exit(pid, 0):
                os.kill(pid, signal.SIGKILL)


def test_idle_server_ends_by_itself(tmp_path):
    started = start_server(tmp_path / "s", idle=1)
    try:
        assert wait_for_exit(started.pid, 60), "the idle server did not end"
        assert not os.path.exists(started.path)  # it removed its socket: it ended, it did not crash
        assert tshape(["serve", "status"], started.env).returncode == 1
    finally:
        stop_server(started)


def test_stop_also_ends_a_server_from_before_the_installation_changed(tmp_path):
    # PYTHONPATH is part of the key's state, as the files' modification times are: a server
    # started with another one is this installation's, from before the change.
    older = start_server(tmp_path / "s", idle=600)
    try:
        changed = {**older.env, "PYTHONPATH": str(tmp_path)}
        assert installation_key(changed) != older.key
        stopped = tshape(["serve", "stop"], changed)
        assert stopped.returncode == 0
        assert f"pid {older.pid}".encode() in stopped.stdout
        assert wait_for_exit(older.pid, 60)
    finally:
        stop_server(older)

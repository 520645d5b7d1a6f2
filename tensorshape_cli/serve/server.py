"""The warm server: torch, the ops, the renderers and torch's meta machinery imported once, and
every call run in a child forked from that warm parent, on the client's own file descriptors.

    python -c "from tensorshape_cli.serve.server import main; main()" --socket PATH --idle N --ready FD

is how `tshape serve start` (control.py) launches it, in a session of its own, with standard
streams on /dev/null; FD receives one line, "ok PID" once it listens or "error TEXT".

The parent is one thread with one loop (a selector): it accepts connections, checks the
peer's uid and the installation key, forks, reaps children and reports
their exit. It never runs a command itself and never reads the client's streams, so a call
that crashes or hangs cannot take it down, and every call starts from the same warm state.
The child for the next call is forked in advance (a spare) and copies, while it waits, the
pages a call writes to (_touch): neither the fork nor those copies are on a call's path.

Fork safety: a process whose OpenMP pool has started cannot fork a child that uses OpenMP
(the child hangs in the pool's barrier). The parent warms up with torch's intra-op threads
set to 1, so the pool is never started; each child sets the count a cold process would have
($OMP_NUM_THREADS, else torch's default) and starts its own pool if it needs one. numpy's
OpenBLAS pool, which starts when numpy is imported, is held to one thread the same way.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

from tensorshape_cli import __version__
from tensorshape_cli.serve import client

# Signals held while forking: one that arrives before the child has its handlers waits for them.
HELD = set(client.FORWARDED)
MAX_REQUEST = 64 << 20  # argv and the environment: far more than the kernel lets a process have
MAX_FDS = 4  # stdin, stdout, stderr and the working directory
WARM_UP: list[list[str]] = [
    # Every renderer, the meta machinery (shape-only ops pull in torch._meta_registrations and
    # torch._dynamo), the value paths and the parsers; deterministic, and no op big enough to
    # want a second thread.
    ["linear", "shape(64, 512)", "-o", "10", "-q"],
    ["linear", "shape(2, 3)", "-o", "4", "--json"],
    ["unsqueeze", "[1, 2, 3]", "--dim", "0", "-f", "rich"],
    ["unsqueeze", "[1, 2, 3]", "-f", "plain"],
    ["view", "arange(1, 13)", "-s", "3,-1", "--transpose", "0,0", "--json"],
    ["view", "arange(12)", "-s", "5,3", "-f", "rich"],
    ["weighted", "--seed", "0", "-f", "rich"],
    ["squeeze", "zeros(2, 1, 3)", "-q"],
    ["reshape", "arange(6)", "-s", "2,3", "-q"],
    ["flatten", "zeros(2, 3, 4)", "-q"],
    ["permute", "zeros(2, 3, 4)", "--dims", "2,0,1", "-q"],
    ["transpose", "zeros(2, 3)", "-q"],
    ["expand", "[[1], [2]]", "-s", "2,3", "-q"],
    ["broadcast", "shape(5, 3, 4, 1)", "shape(3, 1, 1)", "-q"],
    ["matmul", "shape(2, 3)", "shape(3, 4)", "-f", "plain"],
    ["matmul", "[[1.0, 2.0]]", "[[3.0], [4.0]]", "-f", "rich"],
    ["sum", "arange(6).reshape(2, 3)", "--dim", "0", "-q"],
    ["mean", "[[1.0, 2.0], [3.0, 4.0]]", "--dim", "1", "-q"],
    ["cat", "zeros(2, 3)", "ones(2, 3)", "-q"],
    ["stack", "zeros(2, 3)", "ones(2, 3)", "-q"],
    ["expr", "x @ w.T + b", "-t", "x=shape(2, 3)", "-t", "w=shape(4, 3)", "-t", "b=shape(4)", "-q"],
    ["demo", "--json"],
    ["unsqueeze", "[1, 2", "--dim", "0"],
    ["nosuchcommand"],
]

# What a spare runs before it waits for its call (see _touch): the common path of a call.
SPARE_WARM_UP = [
    ["unsqueeze", "[1, 2, 3]", "--dim", "0", "-q"],
    ["linear", "shape(2, 3)", "-o", "4", "-q"],
    ["view", "arange(12)", "-s", "5,3", "-f", "plain"],
    ["unsqueeze", "[1, 2]", "--dim", "0", "-f", "rich"],
]


@dataclass
class Call:
    """One connection, from its request to the child's exit."""

    sock: socket.socket
    state: str = "request"  # request → ready → running; or control
    buffer: bytes = b""
    fds: list[int] = field(default_factory=list)
    fields: list[bytes] = field(default_factory=list)
    deadline: float = 0.0
    pid: int = 0


@dataclass
class Spare:
    """A child forked in advance, waiting on its socket for the call it will run."""

    pid: int
    sock: socket.socket


class Server:
    def __init__(self, path: str, key: bytes, idle: float, threads: int) -> None:
        self.path = path
        self.key = key
        self.idle = idle
        self.threads = threads  # torch's intra-op threads in a cold process
        self.started = time.time()
        self.pid = os.getpid()
        self.spare: Spare | None = None
        self.served = 0
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.inode = 0
        self.calls: dict[int, Call] = {}  # by socket fd
        self.children: dict[int, Call] = {}  # by pid
        self.stoppers: list[socket.socket] = []  # `serve stop` waits for these to close
        self.stopping = False
        self.stop_requested = False
        self.last_active = time.monotonic()
        self.wake_read, self.wake_write = socket.socketpair()

    # --- set up ---------------------------------------------------------------------------------

    def listen(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        previous = os.umask(0o177)  # the socket file: rw for the user only
        try:
            listener.bind(self.path)  # fails if the file exists: one server per socket
        finally:
            os.umask(previous)
        listener.listen(128)
        listener.setblocking(False)
        self.inode = os.stat(self.path).st_ino
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, "listen")
        for sock in (self.wake_read, self.wake_write):
            sock.setblocking(False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, "wake")
        signal.set_wakeup_fd(self.wake_write.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the selector
        for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(signum, signal.SIG_IGN)

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stop_requested = True  # acted on by the loop, never in the middle of an event

    def stop_listening(self) -> None:
        """No new calls (they run cold); the running ones finish, then the process ends."""
        self.stopping = True
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:  # ours, not a newer server's
                os.unlink(self.path)

    # --- the loop -------------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            if self.stop_requested:
                self.stop_listening()
            now = time.monotonic()
            self._expire(now)
            if not self.calls and (self.stopping or now - self.last_active >= self.idle):
                break
            timeout = None if self.children else max(0.0, self.last_active + self.idle - now)
            pending = [c.deadline for c in self.calls.values() if c.state in ("request", "ready")]
            if pending:
                soonest = max(0.0, min(pending) - now)
                timeout = soonest if timeout is None else min(timeout, soonest)
            for key, _ in self.selector.select(timeout):
                if key.data == "listen":
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(OSError):
                        self.wake_read.recv(4096)
                    self._reap()
                else:
                    self._readable(key.data)
            self._reap()
        self.stop_listening()
        if self.spare is not None:
            self.spare.sock.close()  # the spare reads the end of its socket and exits

    def _expire(self, now: float) -> None:
        for call in list(self.calls.values()):
            if call.state in ("request", "ready") and now > call.deadline:
                self._close(call)

    def _accept(self) -> None:
        if self.listener is None:
            return
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        self.last_active = time.monotonic()
        sock.setblocking(False)
        if not _same_user(sock):
            sock.close()  # the directory keeps others out; this check does not rely on it
            return
        call = Call(sock, deadline=time.monotonic() + client.HANDSHAKE_SECONDS)
        self.calls[sock.fileno()] = call
        self.selector.register(sock, selectors.EVENT_READ, call)

    def _readable(self, call: Call) -> None:
        try:
            if call.state == "request":
                self._read_request(call)
            elif call.state == "ready":
                data = call.sock.recv(4096)
                if not data or data[:1] != b"G":
                    self._close(call)
                else:
                    self._launch(call)
            elif call.state == "running":
                data = call.sock.recv(4096)
                if not data:  # the client is gone (killed): so goes the command, as a cold one would
                    self.selector.unregister(call.sock)
                    call.state = "orphan"
                    with contextlib.suppress(OSError):
                        os.kill(call.pid, signal.SIGKILL)
            else:
                data = call.sock.recv(4096)
                if not data:
                    self._close(call)
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, ValueError):
            if call.state in ("request", "ready", "control"):
                self._close(call)

    def _read_request(self, call: Call) -> None:
        data, fds, flags, _ = socket.recv_fds(call.sock, 1 << 16, MAX_FDS, socket.MSG_CMSG_CLOEXEC)
        call.fds.extend(fds)
        if not data or flags & socket.MSG_CTRUNC or len(call.fds) > MAX_FDS:
            self._close(call)
            return
        call.buffer += data
        head = len(client.MAGIC) + 4
        if len(call.buffer) < head:
            return
        if not call.buffer.startswith(client.MAGIC):
            raise ValueError("not a tshape client")
        size = int.from_bytes(call.buffer[len(client.MAGIC) : head], "big")
        if size > MAX_REQUEST:
            raise ValueError("request too large")
        if len(call.buffer) < head + size:
            return
        call.fields = client.unpack(call.buffer[head : head + size])
        call.buffer = b""
        kind, key = [*call.fields, b"", b""][:2]
        control = kind in (b"status", b"stop") and client.same_installation(key, self.key)
        if key != self.key and not control:  # another version or installation: the client runs cold
            self._reply(call, b"N", b"installation")
            self._close(call)
        elif kind == b"status":
            self._reply(call, b"T", self._status())
            self._close(call)
        elif kind == b"stop":
            self._reply(call, b"O", str(os.getpid()).encode())
            self._detach(call)
            self.stoppers.append(call.sock)
            self.stop_listening()
        elif kind == b"call" and not self.stopping and _well_formed(call):
            call.state = "ready"
            call.deadline = time.monotonic() + client.HANDSHAKE_SECONDS
            self._reply(call, b"R")
        else:
            self._reply(call, b"N", b"request")
            self._close(call)

    def _status(self) -> bytes:
        values = [__version__, os.getpid(), self.started, self.idle, self.served, len(self.children)]
        return "\0".join(str(v) for v in values).encode()

    # --- a call ---------------------------------------------------------------------------------

    def _launch(self, call: Call) -> None:
        """Hand the call to the spare child (forked in advance: a fork of the warm parent
        costs 10-40 ms, which the next call does not wait for), then fork the next spare."""
        if self.spare is None:
            self._new_spare()
        spare, self.spare = self.spare, None
        if spare is None:
            self._reply(call, b"F")  # nothing ran: the client runs the call cold
            self._close(call)
            return
        try:
            spare.sock.setblocking(True)
            client.send(spare.sock, client.pack(call.fields), [call.sock.fileno(), *call.fds])
        except OSError:  # the spare died: if it said C the client knows, else it runs cold
            with contextlib.suppress(OSError):
                os.kill(spare.pid, signal.SIGKILL)
            self._reply(call, b"F")
            self._close(call)
            return
        finally:
            spare.sock.close()
        for fd in call.fds:
            os.close(fd)
        call.fds = []
        call.state, call.pid = "running", spare.pid
        self.children[spare.pid] = call
        self.served += 1
        self._new_spare()

    def _new_spare(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing of the parent's may reach a client's streams
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        signal.pthread_sigmask(signal.SIG_BLOCK, HELD)  # held until the child has its handlers
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return
        finally:
            if os.getpid() == self.pid:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
        if pid == 0:
            ours.close()
            self._child(theirs)
        theirs.close()
        self.spare = Spare(pid, ours)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.spare is not None and pid == self.spare.pid:
                self.spare.sock.close()
                self.spare = None  # killed while waiting: the next call forks another
                continue
            call = self.children.pop(pid, None)
            if call is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if call.state == "running":  # the child said X itself unless it crashed
                message = client.frame(b"K", b"%d" % -code) if code < 0 else client.frame(b"X", b"%d" % code)
                with contextlib.suppress(OSError):
                    call.sock.setblocking(True)
                    call.sock.settimeout(client.HANDSHAKE_SECONDS)
                    call.sock.sendall(message)
            self._close(call)
            self.last_active = time.monotonic()

    def _child(self, jobs: socket.socket) -> NoReturn:
        """A spare: becomes a fresh process, waits for its call, runs it, exits."""
        code = client.INTERNAL
        try:
            self._let_go()
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _die_with_parent()
            _touch()
            _fresh_process_state()
            job = _receive(jobs) if os.getppid() == self.pid else None
            jobs.close()
            # None: the server ended first (before this child could ask to follow it, or since)
            code = self._run_call(*job) if job is not None else 0
        except BaseException:  # the child never returns into the server's loop
            code = client.INTERNAL
        finally:
            os._exit(code)

    def _run_call(self, fields: list[bytes], fds: list[int]) -> int:
        conn = socket.socket(fileno=fds[0])
        conn.setblocking(True)
        # The client commits to this call on C; the connection closing before C means "not run".
        conn.sendall(client.frame(b"C", b"%d" % os.getpid()))
        umask, sent, streams = int(fields[2]), fields[3].decode(), fields[4:7]
        argc = int(fields[7])
        argv, environ = fields[8 : 8 + argc], fields[8 + argc :]
        received = dict(zip([*sent, "c"], fds[1:], strict=True))
        for fd in (0, 1, 2):
            if str(fd) in received:
                os.dup2(received[str(fd)], fd)
                os.close(received[str(fd)])
            else:
                with contextlib.suppress(OSError):
                    os.close(fd)  # closed in the client: closed here (sys.std* is None)
        os.fchdir(received["c"])
        os.close(received["c"])
        os.umask(umask)
        os.environ.clear()
        for item in environ:
            name, _, value = item.partition(b"=")
            if name:
                os.environb[name] = value
        _set_locale()
        sys.argv = [os.fsdecode(a) for a in argv]
        _set_streams(streams)
        _set_threads(self.threads)
        from tensorshape_cli import entry

        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
            entry.main(exit_now=False)
            code = 0
        except SystemExit as e:
            code = _exit_status(e.code)
        except KeyboardInterrupt:  # before entry.main's own handler: as entry does
            if sys.stderr is not None:
                print(file=sys.stderr)
            code = client.INTERRUPTED
        except BaseException:  # as Python reports an uncaught exception
            traceback.print_exc()
            code = 1
        code = _flush_streams(code)
        # The streams closed first, the exit said at once: the client does not wait for this
        # large process to be torn down, nor does a reader of its pipe.
        signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        for fd in (0, 1, 2):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            conn.sendall(client.frame(b"X", b"%d" % code))
        return code

    def _let_go(self) -> None:
        """In a child: close what belongs to the parent (its sockets, every call's connection
        and descriptors), so that no client waits on a descriptor this child holds."""
        with contextlib.suppress(OSError, ValueError):
            self.selector.close()
        for sock in [self.listener, self.wake_read, self.wake_write, *self.stoppers]:
            if sock is not None:
                sock.close()
        for other in self.calls.values():
            other.sock.close()
            for fd in other.fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    # --- connections ----------------------------------------------------------------------------

    def _reply(self, call: Call, kind: bytes, payload: bytes = b"") -> None:
        with contextlib.suppress(OSError):
            call.sock.send(client.frame(kind, payload))

    def _detach(self, call: Call) -> None:
        self.calls.pop(call.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(call.sock)

    def _close(self, call: Call) -> None:
        for fd in call.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        call.fds = []
        if call.sock.fileno() >= 0:
            self._detach(call)
            call.sock.close()


def _same_user(sock: socket.socket) -> bool:
    import struct

    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _well_formed(call: Call) -> bool:
    f = call.fields
    try:
        sent = f[3].decode()
        return (
            len(f) >= 8
            and int(f[2]) >= 0
            and set(sent) <= set("012")
            and len(sent) == len(set(sent))
            and len(call.fds) == len(sent) + 1
            and len(f) >= 8 + int(f[7])
        )
    except (ValueError, UnicodeDecodeError):
        return False


def _die_with_parent() -> None:
    """A child whose server is killed dies too, instead of writing on after its client left."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _set_locale() -> None:
    """LC_CTYPE from the client's environment, as Python sets it when it starts."""
    import locale

    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")


def _set_streams(specs: list[bytes]) -> None:
    """sys.stdin, stdout, stderr as Python's start-up makes them (Python/pylifecycle.c's
    create_stdio), with the encoding, errors and buffering the client's Python chose."""
    made: list[TextIO | None] = []
    for fd, (spec, name) in enumerate(zip(specs, ("<stdin>", "<stdout>", "<stderr>"), strict=True)):
        if not spec:
            made.append(None)
            continue
        encoding, errors, line, through = spec.decode().split("\0")
        write = fd > 0
        unbuffered = write and through == "1"  # python -u
        binary: Any = open(fd, "wb" if write else "rb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115
        raw = binary if unbuffered else binary.raw
        raw.name = name
        text = io.TextIOWrapper(
            binary,
            encoding=encoding,
            errors=errors,
            newline="\n",
            line_buffering=line == "1",
            write_through=through == "1",
        )
        text.mode = "w" if write else "r"  # type: ignore[misc]
        made.append(text)
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc,assignment]


def _touch() -> None:
    """In a spare, before its call: run a few lines as the warm-up did. What a call writes to
    (reference counts, caches) lives in pages shared with the parent, and the first write to
    each copies it: 15-25 ms of a call's time, paid here while the spare waits instead. The
    spare's state stays the warm-up's: these lines ran to completion in the parent already."""
    _run_quietly(SPARE_WARM_UP)


def _run_quietly(lines: list[list[str]]) -> None:
    import torch

    from tensorshape_cli.cli import invoke

    saved = sys.stdin, sys.stdout, sys.stderr
    state = torch.get_rng_state()
    try:
        for argv in lines:
            sys.stdin, sys.stdout, sys.stderr = io.StringIO(), io.StringIO(), io.StringIO()
            with contextlib.suppress(Exception):
                invoke(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        torch.set_rng_state(state)


def _receive(jobs: socket.socket) -> tuple[list[bytes], list[int]] | None:
    """The call the parent hands this spare: its fields, and [connection, *descriptors]."""
    data, fds, _flags, _ = socket.recv_fds(jobs, 1 << 16, MAX_FDS + 1, socket.MSG_CMSG_CLOEXEC)
    if not data:
        return None
    head = len(client.MAGIC) + 4
    while len(data) < head or len(data) < head + int.from_bytes(data[len(client.MAGIC) : head], "big"):
        more = jobs.recv(1 << 20)
        if not more:
            return None
        data += more
    return client.unpack(data[head:]), fds


def _fresh_process_state() -> None:
    """What a new process has that a fork does not: its own random seeds."""
    import torch

    torch.default_generator.seed()  # a cold process draws its own; every fork shares the parent's
    if "random" in sys.modules:
        sys.modules["random"].seed()
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()


def _set_threads(default: int) -> None:
    """torch's intra-op threads as a cold process has them: $OMP_NUM_THREADS, else torch's own."""
    import torch

    count = default
    with contextlib.suppress(ValueError):
        wanted = int(os.environ.get("OMP_NUM_THREADS", ""))
        if wanted > 0:
            count = wanted
    torch.set_num_threads(count)


def _exit_status(value: object) -> int:
    """SystemExit's code as Python turns it into a process exit status."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    if sys.stderr is not None:
        print(value, file=sys.stderr)
    return 1


def _flush_streams(code: int) -> int:
    """What Python does at exit: flush stdout and stderr; a failed stdout flush is exit 120."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except Exception:
            if stream is sys.stdout:
                code = 120
    return code


def warm_up() -> int:
    """Import and run once what calls will use; return torch's default intra-op thread count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see the module's docstring: the OpenMP pool must not start here
    import importlib
    import pkgutil

    import tensorshape_cli

    for module in pkgutil.walk_packages(tensorshape_cli.__path__, "tensorshape_cli."):
        if not module.name.startswith("tensorshape_cli.serve") and not module.name.endswith("__main__"):
            with contextlib.suppress(Exception):
                importlib.import_module(module.name)
    _run_quietly(WARM_UP)
    import gc

    gc.collect()
    gc.freeze()  # the children never touch the warm objects' GC headers: fewer pages copied
    return threads


def main() -> None:
    """The server process, as control.start launches it."""
    if sys.path and sys.path[0] in ("", "."):
        del sys.path[0]  # `python -c` put the working directory first; calls chdir elsewhere
    client.in_server = True
    args = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
    ready = os.fdopen(int(args["--ready"]), "w")
    try:
        path = args["--socket"]
        key = client.installation_key()
        if os.path.basename(path) != client.socket_name(key) or not client.is_private(os.path.dirname(path)):
            raise RuntimeError("the installation changed while the server started")
        os.chdir("/")
        os.environ.pop("OMP_NUM_THREADS", None)  # the parent's count is torch's default; see warm_up
        os.environ.pop("MKL_NUM_THREADS", None)
        os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS pool: no thread to lose in a fork
        threads = warm_up()
        server = Server(path, key.encode("utf-8", "surrogateescape"), float(args["--idle"]), threads)
        server.listen()
        server._new_spare()
    except BaseException as e:
        with contextlib.suppress(OSError):
            reason = errno.errorcode.get(getattr(e, "errno", 0) or 0, "")
            ready.write(f"error {reason or type(e).__name__}: {e}\n")
            ready.close()
        raise SystemExit(1) from None
    ready.write(f"ok {os.getpid()}\n")
    ready.close()
    server.serve()

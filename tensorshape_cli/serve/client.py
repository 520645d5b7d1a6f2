"""Hand a `tshape` call to the warm server of this user and this installation, if one runs.

entry.main calls `forward()` before it imports Typer, rich or torch, so this module runs
before every cold call too: plain standard library, and its cheapest modules only (`_socket`
rather than `socket`, which pulls in `selectors` and `enum`). It decides in well under a
millisecond when no server runs.

A warm call is the same process a cold one would be, forked from a parent that has already
imported everything. The client sends its file descriptors 0, 1 and 2 (and its working
directory, as a descriptor) over the Unix socket, with argv, the environment, the umask and
how Python set up its standard streams; the server's child puts them in place and runs
`entry.main()` as a cold `tshape` does. Output never passes through the server: the child
writes to the client's own terminal, pipe or file. The client forwards the signals a shell
sends it (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) and exits as the child did.

The conversation, all on one connection:

    client → server   request (magic, length, fields) with the descriptors attached
    server → client   R (accepted) | N (refused) | T (status) | O (stopping)
    client → server   G: from here on the client never runs the command itself
    child  → client   C (the command starts) | server → client F (it could not fork)
    client → child    the signals the client receives, sent with kill(2) to the child's pid
    server → client   X exit code | K signal number, when the child ends

Anything but R before G, and F or the connection closing before C, mean no child ran: the
client returns and the call runs cold, silently. A child holds the connection open until it
has sent C, so a connection that closes before C proves the command did not start.
"""

from __future__ import annotations

import _signal
import _socket
import os
import stat
import sys

import tensorshape_cli

TYPE_CHECKING = False  # typing itself costs an import this module does not pay
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    Handler = Callable[..., object] | int | None

NO_SERVER = "TSHAPE_NO_SERVER"  # 1: never use a warm server
DIR_VARIABLE = "TSHAPE_SERVER_DIR"  # where the socket lives, instead of the per-user default
MAGIC = b"TSHAPE-SERVE-1\0"
HANDSHAKE_SECONDS = 5.0  # until the client commits (G); after that it waits as long as the call runs
MAX_FRAME = 1 << 20
# Signals a shell sends to the foreground job: the child is not in it, so the client passes them on.
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
INTERNAL = 70  # errors.ExitCode.INTERNAL and INTERRUPTED, without importing them
INTERRUPTED = 130

# True in the server and its children: a call that runs there never forwards again.
in_server = False


def forward() -> None:
    """Run this call in a warm server if one serves this installation, and exit as it did.

    Returns, having changed nothing, when the call is to run cold: TSHAPE_NO_SERVER=1, no
    server, a stale socket, a refused handshake, a server that went away before the command
    started. `serve` commands always run cold (they manage the server).
    """
    if in_server or os.environ.get(NO_SERVER, "") not in ("", "0") or sys.argv[1:2] == ["serve"]:
        return
    try:
        path = socket_path()
    except (OSError, ValueError):
        return
    if path is None:
        return
    outcome = _call(path)
    if outcome is None:
        return
    kind, value = outcome
    if kind == b"K":  # the child died of a signal: so does this process, as a cold one would
        try:  # noqa: SIM105 (contextlib is an import this module does not pay)
            _signal.signal(value, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP keep their default
        os.kill(os.getpid(), value)
        value = 128 + value  # a signal that does not end a process (it should not happen)
    sys.exit(value)


# --- where the server of this installation listens ---------------------------------------------


def installation_key() -> str:
    """What makes two processes run the same tshape: version, interpreter, environment, files.

    The socket's name is derived from it and the handshake compares it whole, so a server
    never answers for another version, virtual environment or set of installed packages.
    """
    package = os.path.dirname(os.path.abspath(tensorshape_cli.__file__))
    parts = [
        tensorshape_cli.__version__,
        os.path.realpath(sys.executable),
        sys.prefix,
        package,
        str(sys.flags.utf8_mode),
        os.environ.get("PYTHONPATH", ""),
        _fingerprint(package),
    ]
    return "\0".join(parts)


IDENTITY_PARTS = 4  # version, interpreter, prefix, package: the rest is the state of the files


def same_installation(key: bytes, other: bytes) -> bool:
    """The same installation, whatever the state of its files: enough to be stopped or asked
    its status (a call needs the whole key)."""
    return key.split(b"\0")[:IDENTITY_PARTS] == other.split(b"\0")[:IDENTITY_PARTS]


def _fingerprint(package: str) -> str:
    """The newest .py file of the package and the state of site-packages: editing tshape
    (an editable install) or installing anything changes it, and the old server is not used."""
    newest = count = 0
    pending = [package]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
                    count += 1
                elif entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
    sites = []
    for folder in sys.path:
        if folder.endswith(("site-packages", "dist-packages")):
            try:  # noqa: SIM105
                sites.append(str(os.stat(folder).st_mtime_ns))
            except OSError:
                pass
    return f"{newest}:{count}:{','.join(sites)}"


def directory() -> str:
    """$TSHAPE_SERVER_DIR, else $XDG_RUNTIME_DIR/tshape when that is the user's, else a
    per-user directory in the temporary directory."""
    configured = os.environ.get(DIR_VARIABLE)
    if configured:
        return os.path.abspath(configured)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and is_private(runtime):
        return os.path.join(runtime, "tshape")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"tshape-{os.getuid()}")


def is_private(path: str) -> bool:
    """A real directory (not a link) of this user that nobody else can enter or list."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def socket_name(key: str) -> str:
    try:
        from _sha256 import sha256  # built in: hashlib would load OpenSSL (~8 ms)
    except ImportError:  # Python 3.12 and later
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef]
        except ImportError:
            from hashlib import sha256  # type: ignore[no-redef]
    return f"{sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:20]}.sock"


def socket_path(key: str | None = None) -> str | None:
    """The socket of this installation's server, or None when its directory is not private
    (then no server is used, whoever made the directory)."""
    where = directory()
    if not is_private(where):
        return None
    return os.path.join(where, socket_name(installation_key() if key is None else key))


# --- the wire format ----------------------------------------------------------------------------


def pack(fields: list[bytes]) -> bytes:
    """A request: MAGIC, its length, then each field as 4 bytes of length and the bytes."""
    body = b"".join(len(f).to_bytes(4, "big") + f for f in fields)
    return MAGIC + len(body).to_bytes(4, "big") + body


def unpack(body: bytes) -> list[bytes]:
    fields, at = [], 0
    while at < len(body):
        size = int.from_bytes(body[at : at + 4], "big")
        if at + 4 + size > len(body):
            raise ValueError("truncated field")
        fields.append(body[at + 4 : at + 4 + size])
        at += 4 + size
    return fields


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    """A message of the server: one letter, 4 bytes of length, the payload."""
    return kind + len(payload).to_bytes(4, "big") + payload


class Frames:
    """Reads the server's messages off a blocking socket."""

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def next(self) -> tuple[bytes, bytes] | None:
        """(kind, payload), or None when the connection closed first."""
        while True:
            if len(self._buffer) >= 5:
                size = int.from_bytes(self._buffer[1:5], "big")
                if size > MAX_FRAME:
                    raise ValueError("frame too large")
                if len(self._buffer) >= 5 + size:
                    kind, payload = self._buffer[:1], self._buffer[5 : 5 + size]
                    self._buffer = self._buffer[5 + size :]
                    return kind, payload
            data = self._sock.recv(65536)
            if not data:
                return None
            self._buffer += data


def connect(path: str) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(HANDSHAKE_SECONDS)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def send(sock: _socket.socket, data: bytes, fds: list[int]) -> None:
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)] if fds else [])
    if sent < len(data):  # (sendall of nothing would still write, and fail on a closed peer)
        sock.sendall(data[sent:])


# --- one call ------------------------------------------------------------------------------------


def _stream(stream: object) -> bytes:
    """How Python set this standard stream up (the child rebuilds it the same way)."""
    if stream is None:
        return b""
    values = (
        getattr(stream, "encoding", None) or "utf-8",
        getattr(stream, "errors", None) or "strict",
        "1" if getattr(stream, "line_buffering", False) else "0",
        "1" if getattr(stream, "write_through", False) else "0",
    )
    return "\0".join(values).encode()


def _request(cwd: int) -> tuple[bytes, list[int]]:
    streams = (sys.stdin, sys.stdout, sys.stderr)
    fds = [fd for fd, stream in enumerate(streams) if stream is not None]
    umask = os.umask(0o22)
    os.umask(umask)
    fields = [
        b"call",
        installation_key().encode("utf-8", "surrogateescape"),
        str(umask).encode(),
        "".join(map(str, fds)).encode(),
        *(_stream(s) for s in streams),
        str(len(sys.argv)).encode(),
        *(os.fsencode(a) for a in sys.argv),
        *(k + b"=" + v for k, v in os.environb.items()),
    ]
    return pack(fields), [*fds, cwd]


def _call(path: str) -> tuple[bytes, int] | None:
    """(b"X", exit code) or (b"K", signal) of the warm call; None when it is to run cold."""
    try:
        cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except (OSError, AttributeError):  # no O_PATH (not Linux): no server there either
        return None
    try:
        sock = connect(path)
    except OSError:  # no socket, a stale one, another user's directory
        os.close(cwd)
        return None
    try:
        return _converse(sock, cwd)
    finally:
        sock.close()
        os.close(cwd)


def _converse(sock: _socket.socket, cwd: int) -> tuple[bytes, int] | None:
    frames = Frames(sock)
    try:
        data, fds = _request(cwd)
        send(sock, data, fds)
        if frames.next() != (b"R", b""):
            return None  # refused: another version or user, or a server stopping
    except (OSError, ValueError):
        return None
    caught: list[int] = []
    child: list[int] = []  # the pid, once the child said C: signals go straight to it

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if child:
            try:  # noqa: SIM105
                os.kill(child[0], signum)  # not reaped before it said X, so still that child
            except OSError:
                pass
        else:
            caught.append(signum)

    previous: dict[int, Handler] = {}
    for signum in FORWARDED:
        previous[signum] = _signal.signal(signum, on_signal)
    try:
        try:
            sock.settimeout(None)  # committed: the call lasts as long as it lasts
            sock.sendall(b"G")
            started = frames.next()
        except (OSError, ValueError):
            started = None
        if started is None or started[0] != b"C":
            _run_cold_after(caught, previous)
            return None
        child.append(int(started[1]))
        for signum in caught:  # came between G and C: the child holds them until it can act
            try:  # noqa: SIM105
                os.kill(child[0], signum)
            except OSError:
                pass
        try:
            ended = frames.next()
        except (OSError, ValueError):
            ended = None
        if ended is None or ended[0] not in (b"X", b"K"):
            _lost_server()
            return b"X", INTERNAL
        return ended[0], int(ended[1])
    finally:
        for signum, handler in previous.items():
            _signal.signal(signum, handler if handler is not None else _signal.SIG_DFL)


def _run_cold_after(caught: list[int], previous: dict[int, Handler]) -> None:
    """No child started: the call runs cold, and the signals that came meanwhile act on it."""
    for signum, handler in previous.items():
        _signal.signal(signum, handler if handler is not None else _signal.SIG_DFL)
    previous.clear()
    for signum in caught:
        _signal.raise_signal(signum)  # Ctrl-C: KeyboardInterrupt, which entry turns into 130
    return None


def _lost_server() -> None:
    """The server went away while the command ran (it was killed): say so, in one line."""
    from tensorshape_cli import execute, settings
    from tensorshape_cli.messages import lang_in_argv, resolve_lang, t

    with settings.use(settings.Settings(lang=resolve_lang(lang_in_argv(sys.argv[1:])))):
        line = t("serve.lost")
    if sys.stderr is not None:
        execute.emit(execute.failed(line))  # the call's code is INTERNAL, whatever emit returns

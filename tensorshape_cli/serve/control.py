"""`tshape serve start | stop | status`: these always run cold (client.forward skips them).

start launches server.py in a session of its own and waits until it listens (torch imported,
warmed up), under a lock so that two starts at once end with one server. stop asks the server
to take no new calls and waits until its running calls end and it exits. status asks it.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

from tensorshape_cli.errors import ExitCode
from tensorshape_cli.execute import Outcome, failed
from tensorshape_cli.messages import t
from tensorshape_cli.serve import client

DEFAULT_IDLE = 900  # seconds without a call before the server ends by itself
START_SECONDS = 180.0  # torch's import and the warm-up: ~3 s here, more on a slow disk
STOP_SECONDS = 30.0
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes, with the final NUL


@dataclass
class Status:
    version: str
    pid: int
    started: float
    idle: float
    served: int
    running: int


def _where() -> tuple[str, str, str]:
    """(directory, socket path, installation key) of this installation's server."""
    key = client.installation_key()
    where = client.directory()
    return where, os.path.join(where, client.socket_name(key)), key


def query(path: str, key: str) -> Status | None:
    """The status of the server listening at path, or None when none answers there."""
    try:
        sock = client.connect(path)
    except OSError:
        return None
    try:
        client.send(sock, client.pack([b"status", key.encode("utf-8", "surrogateescape")]), [])
        reply = client.Frames(sock).next()
        if reply is None or reply[0] != b"T":
            return None
        version, pid, started, idle, served, running = reply[1].decode().split("\0")
        return Status(version, int(pid), float(started), float(idle), int(served), int(running))
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


def _since(started: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))


def _say(text: str, code: int = ExitCode.OK) -> Outcome:
    return Outcome(code, text=text)


def _fail(text: str) -> Outcome:
    return failed(text)


def status() -> Outcome:
    """0 and a line when a server runs for this installation; 1 and a line when none does."""
    _, path, key = _where()
    found = query(path, key)
    if found is None:
        return _say(t("serve.none", path=path), ExitCode.INVALID)
    return _say(
        t(
            "serve.running",
            version=found.version,
            pid=found.pid,
            since=_since(found.started),
            served=found.served,
            idle=int(found.idle),
            path=path,
        )
    )


def start(idle: int = DEFAULT_IDLE) -> Outcome:
    import socket

    if not hasattr(socket, "SO_PEERCRED") or not hasattr(os, "O_PATH"):
        return _fail(t("serve.unsupported"))
    where, path, key = _where()
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        return _fail(t("serve.path_too_long", path=path, limit=MAX_SOCKET_PATH))
    with contextlib.suppress(FileExistsError):
        os.mkdir(where, 0o700)
    if not client.is_private(where):
        return _fail(t("serve.unsafe_dir", path=where))
    lock = os.open(path[: -len(".sock")] + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)  # a second start waits here, then finds the first's server
        found = query(path, key)
        if found is not None:
            return _say(t("serve.already", pid=found.pid, since=_since(found.started), path=path))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # nobody answers on it: left by a server that was killed
        for other in _others(where, path):
            _stop_one(other, key)  # one from before this installation's files changed
        return _launch(where, path, idle)
    finally:
        os.close(lock)


def _launch(where: str, path: str, idle: int) -> Outcome:
    read_end, write_end = os.pipe()
    command = [
        sys.executable,
        "-X",
        f"utf8={sys.flags.utf8_mode}",  # the client's mode is part of the installation key
        "-c",
        "from tensorshape_cli.serve.server import main; main()",
        *("--socket", path, "--idle", str(idle), "--ready", str(write_end)),
    ]
    try:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
            start_new_session=True,  # no terminal: Ctrl-C in this shell does not reach it
            cwd=where,  # private: `python -c` imports from the working directory first
        )
    except OSError as e:
        os.close(read_end)
        return _fail(t("serve.not_started", error=e.strerror or e))
    finally:
        os.close(write_end)
    line = _read_line(read_end, START_SECONDS)
    os.close(read_end)
    if line.startswith("ok "):
        return _say(t("serve.started", pid=line.split()[1], idle=idle, path=path))
    error = line.removeprefix("error ").strip() or t("serve.timeout", seconds=int(START_SECONDS))
    return _fail(t("serve.not_started", error=error))


def _read_line(fd: int, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def stop() -> Outcome:
    """Stop this installation's server, and any left from before its files changed (an
    editable install being edited): wait for their running calls to end (STOP_SECONDS)."""
    where, path, key = _where()
    stopped = [found for p in [path, *_others(where, path)] if (found := _stop_one(p, key)) is not None]
    if not stopped:
        return _say(t("serve.none", path=path))
    return _say(
        "\n".join(
            t("serve.stopped", pid=pid) if ended else t("serve.stopping", pid=pid) for pid, ended in stopped
        )
    )


def _others(where: str, path: str) -> list[str]:
    """The other sockets of this user's directory (servers of other installations refuse)."""
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return []
    return [os.path.join(where, n) for n in names if n.endswith(".sock") and os.path.join(where, n) != path]


def _stop_one(path: str, key: str) -> tuple[int, bool] | None:
    """(pid, whether it has ended) of the server at path once asked to stop; None if none."""
    try:
        sock = client.connect(path)
    except OSError:
        return None
    try:
        client.send(sock, client.pack([b"stop", key.encode("utf-8", "surrogateescape")]), [])
        frames = client.Frames(sock)
        reply = frames.next()
        if reply is None or reply[0] != b"O":
            return None
        pid = int(reply[1])
        sock.settimeout(STOP_SECONDS)
        try:
            ended = frames.next() is None  # the server holds this connection until it exits
        except TimeoutError:
            ended = False
        return pid, ended
    except (OSError, ValueError):
        return None
    finally:
        sock.close()

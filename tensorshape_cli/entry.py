"""The console script's entry point, `tshape = tensorshape_cli.entry:main`.

What tshape promises for Ctrl-C (README, "Exit codes"): from the moment this function
starts until the output is written and flushed, SIGINT ends tshape with exit 130 and no
traceback; one that lands later, while the process exits, leaves the command's own exit
code. The process is never killed by the signal.

So nothing is imported before SIGINT is tshape's own (Typer costs ~0.1 s, torch ~1.7 s,
and an interrupt during those imports ends as one during the work does), and once the
exit code is known SIGINT is ignored: Python's finalisation would otherwise put back the
default action, and a late Ctrl-C would kill the process (exit -2).
"""

from __future__ import annotations

# _signal, not signal: signal's enums pull in enum, functools and collections (~7 ms), a
# warm call's largest cost after Python's own start-up
import _signal as signal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

INTERRUPTED = 130  # errors.ExitCode.INTERRUPTED, without importing anything first
BROKEN_PIPE = 141  # errors.ExitCode.BROKEN_PIPE
# Test hook: TSHAPE_TEST_SIGINT_AT=MOMENT delivers SIGINT to the main thread at that named
# moment of main(), as a Ctrl-C landing exactly then would (tests/test_process.py).
SIGINT_AT = "TSHAPE_TEST_SIGINT_AT"

_exiting = False  # set once the exit code is final: from then on SIGINT changes nothing
# Set by main(): this process runs one command and ends (the console script, a warm server's
# child), so what torch's import leaves behind may be frozen out of garbage collection. A
# notebook or a program that imports tshape keeps its collector as it is.
one_shot = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if not _exiting:
        raise KeyboardInterrupt


def main(*, exit_now: bool = True) -> None:
    """The console script. `exit_now=False` ends with SystemExit as sys.exit does, for a
    caller that ends the process itself (the warm server's child)."""
    global _exiting, one_shot
    one_shot = True
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        _moment("start")
        from tensorshape_cli.serve import client  # standard library only: no Typer, no torch

        client.forward()  # a warm server ran the call: this exits with its code
        from tensorshape_cli.cli import invoke

        code = invoke()
        _moment("returned")
        code = _flush(code)  # a write that blocks on a full pipe can still be interrupted
    except KeyboardInterrupt:
        _exiting = True  # first, so that a second Ctrl-C cannot interrupt the lines below
        code = INTERRUPTED
        if sys.stderr is not None:
            print(file=sys.stderr)  # end the line the terminal shows ^C on
    _exiting = True
    _moment("flushed")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # kept through finalisation, unlike a handler
    if os.environ.get(SIGINT_AT) == "finalising":  # the test hook, during Python's own exit
        import atexit

        atexit.register(_moment, "finalising")
    if not exit_now:
        sys.exit(code)
    _exit(code)


def _exit(code: int) -> None:
    """End the process with `code`, without Python's finalisation when nothing needs it.

    Tearing down a process that imported torch (a million objects, module by module) takes
    ~0.5 s, a third of a whole run, and does nothing for tshape: its output is flushed and an
    --export file closed by now. So the atexit functions run (torch's, a coverage tool's) and
    the process ends at once, unless the user's own code ran (`tshape trace`: its files and
    threads get the whole of Python's exit) or a thread is still running.
    """
    runner = sys.modules.get("tensorshape_cli.runner")
    threading = sys.modules.get("threading")
    if (runner is not None and runner.ran_user_code) or (
        threading is not None and threading.active_count() > 1
    ):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    _flush(code)  # what the atexit functions printed
    os._exit(code)


def _flush(code: int) -> int:
    """Write out what the buffers still hold, so that nothing is left for finalisation."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # the reader left (`| head -1`); nothing more to write there
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            code = BROKEN_PIPE if stream is sys.stdout else code
        except (OSError, ValueError):  # closed or odd: what it held is lost; the code still tells
            pass
    return code


def _moment(name: str) -> None:
    if os.environ.get(SIGINT_AT) == name:
        signal.raise_signal(signal.SIGINT)  # to this thread; its handler runs before this returns

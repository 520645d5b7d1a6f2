"""The console script's entry point, `tshape = tensorshape_cli.entry:main`.

It imports nothing before it can catch Ctrl-C: the command line imports Typer (~0.1 s) and,
for a command, torch (~1.7 s), and an interrupt during those imports must end as one during
the work does: exit 130, no traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130  # errors.ExitCode.INTERRUPTED, without importing anything first


def main() -> None:
    try:
        from tensorshape_cli.serve import client  # standard library only: no Typer, no torch

        client.forward()  # a warm server ran the call: this exits with its code
        from tensorshape_cli.cli import invoke

        code = invoke()
    except KeyboardInterrupt:
        if sys.stderr is not None:
            print(file=sys.stderr)  # end the line the terminal shows ^C on
        code = INTERRUPTED
    sys.exit(code)

"""Whole-process start-up times: tshape against the plain-Python equivalent, in one run.

    python benchmarks/startup.py [--runs 7]

Prints the median wall time of each command over interleaved runs, and the ratios the
project promises: `tshape --help` at most 0.25 s, and an explained operation at most
1.10x a bare `python -c "import torch"` process (torch's import is the floor), each run of
an operation against the bare import run just before it. The CPU
time (user + system) is printed beside it: on a busy machine it wanders less than the
wall time, which includes the time spent waiting for a core.

tshape ends its process without Python's finalisation (entry._exit), which in a process that
imported torch takes ~0.5 s. So each operation is also held to 1.10x a second floor that
ends the same way, `import torch`, the atexit functions, `os._exit`: that ratio is tshape's
own cost above torch's import, which the first one no longer shows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TSHAPE = str(BIN / "tshape")

BARE = "python -c 'import torch'"
QUICK = "python -c 'import torch' (no finalisation)"
COMMANDS = {
    BARE: [sys.executable, "-c", "import torch"],
    QUICK: [sys.executable, "-c", "import torch, atexit, os; atexit._run_exitfuncs(); os._exit(0)"],
    "tshape --help": [TSHAPE, "--help"],
    "tshape unsqueeze '[1,2,3]' --dim 0 --json": [TSHAPE, "unsqueeze", "[1,2,3]", "--dim", "0", "--json"],
    "tshape broadcast 'shape(5,3,4,1)' 'shape(3,1,1)' --json": [
        *(TSHAPE, "broadcast", "shape(5,3,4,1)", "shape(3,1,1)", "--json"),
    ],
    "tshape expr 'x @ w.T + b' --json": [
        *(TSHAPE, "expr", "x @ w.T + b", "-t", "x=[[0.5,0.6,0.7]]", "-t", "w=[[1.0,0,0],[0,1,0]]"),
        *("-t", "b=[0.1,0.2]", "--json"),
    ],
    # the families: softmax, an indexing op, a loss, a convolution (real and shape-only)
    "tshape expr 'x.softmax(-1)' --json": [TSHAPE, "expr", "x.softmax(-1)", "-t", "x=[[1.0,2,3]]", "--json"],
    "tshape expr 'x.gather(1, i)' --json": [
        *(TSHAPE, "expr", "x.gather(1, i)", "-t", "x=[[1,2,3],[4,5,6]]", "-t", "i=[[2,0],[1,1]]", "--json"),
    ],
    "tshape expr 'F.cross_entropy(x, y)' --json": [
        *(TSHAPE, "expr", "F.cross_entropy(x, y)", "-t", "x=[[1.0,2,3],[0,1,0]]", "-t", "y=[2,0]", "--json"),
    ],
    "tshape expr 'pred - target' --json": [
        *(TSHAPE, "expr", "pred - target", "-t", "pred=[[1.5],[2.0],[4.0]]", "-t", "target=[1,2,3]"),
        "--json",
    ],
    "tshape expr 'nn.MultiheadAttention(…)(q, k, v)' shape-only --json": [
        *(TSHAPE, "expr", "nn.MultiheadAttention(8, 2, batch_first=True)(q, k, v)", "--seed", "0"),
        *("-t", "q=shape(2,5,8)", "-t", "k=shape(2,6,8)", "-t", "v=shape(2,6,8)", "--json"),
    ],
    "tshape conv2d 'randn(1,3,8,8)' --json": [
        *(TSHAPE, "conv2d", "randn(1,3,8,8)", "--out-channels", "4", "--kernel-size", "3", "--seed", "0"),
        "--json",
    ],
    "tshape conv2d 'shape(8,3,224,224)' --json": [
        *(TSHAPE, "conv2d", "shape(8,3,224,224)", "--out-channels", "16", "--kernel-size", "3", "--json"),
    ],
    "tshape linear 'shape(64,512)' -o 10 --json": [TSHAPE, "linear", "shape(64,512)", "-o", "10", "--json"],
    "tshape why 'mat1 and mat2 …' --json": [
        *(TSHAPE, "why", "mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)", "--json"),
    ],
}
# Cold runs: a warm server (tshape serve) would answer these in milliseconds.
ENV = {**os.environ, "TSHAPE_NO_SERVER": "1"}
# Each explained operation is held to the same ratio against a bare `import torch`.
OPERATIONS = [name for name in COMMANDS if name.startswith("tshape ") and "--help" not in name]


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of argv."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return wall, usage.ru_utime + usage.ru_stime


Ratios = tuple[float, float, float]  # wall and cpu against BARE, wall against QUICK


def measure(runs: int) -> tuple[dict[str, tuple[float, float]], dict[str, Ratios]]:
    """Medians (wall, cpu) per command, and per operation the median of its ratios to the two
    floors run just before it: this machine's speed drifts by 20% from one second to the
    next, and a ratio of neighbours cancels most of it."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    ratios: dict[str, list[Ratios]] = {name: [] for name in OPERATIONS}
    for argv in COMMANDS.values():  # warm the file cache once, untimed
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=ENV)
    for _ in range(runs):
        for name, argv in COMMANDS.items():  # interleaved, so drift hits all alike
            if name in ratios:
                floors = []
                for floor in (BARE, QUICK):
                    floors.append(timed(COMMANDS[floor]))
                    times[floor].append(floors[-1])
                (bare_wall, bare_cpu), (quick_wall, _) = floors
                wall, cpu = timed(argv)
                ratios[name].append((wall / bare_wall, cpu / bare_cpu, wall / quick_wall))
                times[name].append((wall, cpu))
            elif name not in (BARE, QUICK):
                times[name].append(timed(argv))
    return (
        {
            name: (statistics.median(w for w, _ in ts), statistics.median(c for _, c in ts))
            for name, ts in times.items()
        },
        {
            name: (
                statistics.median(r[0] for r in rs),
                statistics.median(r[1] for r in rs),
                statistics.median(r[2] for r in rs),
            )
            for name, rs in ratios.items()
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    medians, ratios = measure(runs)
    width = max(map(len, medians))
    print(f"median of {runs} runs each (wall, cpu)")
    for name, (wall, cpu) in medians.items():
        print(f"  {name:<{width}}  {wall:6.3f} s  {cpu:6.3f} s cpu")
    help_s = medians["tshape --help"][0]
    print(f"--help: {help_s:.3f} s (target <= 0.25 s): {'ok' if help_s <= 0.25 else 'OVER'}")
    print("each operation against the two floors run just before it (median of the ratios; target <= 1.10x):")
    print(f"  {'':<{width}}  {'import torch':<22}  import torch, no finalisation")
    for name in OPERATIONS:
        ratio, cpu_ratio, quick = ratios[name]
        against_bare = f"{ratio:.3f}x {_verdict(ratio)} (cpu {cpu_ratio:.3f}x)"
        print(f"  {name:<{width}}  {against_bare:<22}  {quick:.3f}x {_verdict(quick)}")
    return 0


def _verdict(ratio: float) -> str:
    return "ok" if ratio <= 1.10 else "OVER"


if __name__ == "__main__":
    sys.exit(main())

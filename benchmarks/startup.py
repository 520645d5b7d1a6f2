"""Whole-process start-up times: tshape against the plain-Python equivalent, in one run.

    python benchmarks/startup.py [--runs 7]

Prints the median wall time of each command over interleaved runs, and the ratios the
project promises: `tshape --help` at most 0.25 s, and an explained operation at most
1.10x a bare `python -c "import torch"` process (torch's import is the floor).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TSHAPE = str(BIN / "tshape")

COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "tshape --help": [TSHAPE, "--help"],
    "tshape unsqueeze '[1,2,3]' --dim 0 --json": [TSHAPE, "unsqueeze", "[1,2,3]", "--dim", "0", "--json"],
    "tshape broadcast 'shape(5,3,4,1)' 'shape(3,1,1)' --json": [
        *(TSHAPE, "broadcast", "shape(5,3,4,1)", "shape(3,1,1)", "--json"),
    ],
    "tshape expr 'x @ w.T + b' --json": [
        *(TSHAPE, "expr", "x @ w.T + b", "-t", "x=[[0.5,0.6,0.7]]", "-t", "w=[[1.0,0,0],[0,1,0]]"),
        *("-t", "b=[0.1,0.2]", "--json"),
    ],
}
# Each explained operation is held to the same ratio against a bare `import torch`.
OPERATIONS = [name for name in COMMANDS if name.startswith("tshape ") and "--help" not in name]


def measure(runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache once, untimed
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for name, argv in COMMANDS.items():  # interleaved, so drift hits all alike
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    medians = measure(runs)
    width = max(map(len, medians))
    print(f"median of {runs} runs each")
    for name, seconds in medians.items():
        print(f"  {name:<{width}}  {seconds:6.3f} s")
    torch_s = medians["python -c 'import torch'"]
    help_s = medians["tshape --help"]
    print(f"--help: {help_s:.3f} s (target <= 0.25 s): {'ok' if help_s <= 0.25 else 'OVER'}")
    for name in OPERATIONS:
        ratio = medians[name] / torch_s
        verdict = "ok" if ratio <= 1.10 else "OVER"
        print(f"{name.split(' ')[1]} / import torch: {ratio:.3f}x (target <= 1.10x): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

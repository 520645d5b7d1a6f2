"""Peak memory of a shape-only run of a huge shape, against a small ordinary one.

    python benchmarks/memory.py [--runs 3]

`tshape view "shape(1000000,1000000)" --shape -1` explains a view of a tensor of 10^12
float32 elements (4 TB) on torch's meta device; `tshape unsqueeze "[1,2,3]" --dim 0` is
an ordinary small command. Each runs as its own process; its peak resident memory
(ru_maxrss, from wait4) is compared in the same run. Target: within 10%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

TSHAPE = str(Path(sys.executable).parent / "tshape")
COMMANDS = {
    'view "shape(1000000,1000000)" --shape -1': [TSHAPE, "view", "shape(1000000,1000000)", "--shape", "-1"],
    'unsqueeze "[1,2,3]" --dim 0': [TSHAPE, "unsqueeze", "[1,2,3]", "--dim", "0"],
    'linear "shape(1000000,1000000)"': [TSHAPE, "linear", "shape(1000000,1000000)"],
}


def peak_kib(argv: list[str]) -> int:
    """The peak resident set of one process, in KiB (Linux reports ru_maxrss in KiB)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited {proc.returncode}")
    return usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    peaks: dict[str, list[int]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            peaks[name].append(peak_kib(argv))
    medians = {name: statistics.median(values) for name, values in peaks.items()}
    print(f"peak resident memory, median of {runs} runs")
    for name, kib in medians.items():
        print(f"  tshape {name:<45} {kib / 1024:7.1f} MiB")
    huge, small = medians[next(iter(COMMANDS))], medians['unsqueeze "[1,2,3]" --dim 0']
    ratio = huge / small
    print(
        f"view of shape(1000000,1000000) / small unsqueeze: {ratio:.3f}x (target <= 1.10x): "
        f"{'ok' if ratio <= 1.10 else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A 1-million-element JSON file read and explained by `tshape view`, against plain Python.

    python benchmarks/large_json.py [--runs 5] [--elements 1000000]

The file holds a flat JSON list of floats. tshape reads it, explains `x.view(1000, -1)` and
prints JSON (values elided, with a summary); the baseline is the same work without the
explanation: `python -c "torch.tensor(json.load(f)).view(1000, -1)"`. Both are whole
processes, timed interleaved in one run. Target: at most 1.5x the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TSHAPE = str(Path(sys.executable).parent / "tshape")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--elements", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = 1000 if args.elements % 1000 == 0 else 1
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps([round(rng.uniform(-1, 1), 6) for _ in range(args.elements)]))
        commands = {
            "tshape view FILE --json": [TSHAPE, "view", str(path), "--shape", f"{rows},-1", "--json"],
            "python torch.tensor(json.load(f)).view": [
                sys.executable,
                "-c",
                "import json, sys, torch\n"
                "with open(sys.argv[1]) as f:\n"
                f"    torch.tensor(json.load(f)).view({rows}, -1)\n",
                str(path),
            ],
        }
        for argv in commands.values():  # warm the file cache, untimed
            timed(argv)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(timed(argv))
        size = path.stat().st_size
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"median of {args.runs} runs; {args.elements:,} elements, {size / 2**20:.1f} MiB of JSON")
    for name, seconds in medians.items():
        print(f"  {name:<42} {seconds:6.2f} s")
    tshape_s, python_s = medians.values()
    ratio = tshape_s / python_s
    print(f"tshape / python: {ratio:.2f}x (target <= 1.50x): {'ok' if ratio <= 1.5 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

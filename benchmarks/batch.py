"""`tshape run` on 1000 lines, against one single command and the same lines as processes.

    python benchmarks/batch.py [--lines 1000] [--runs 3] [--processes 40]

The batch cycles through the README's everyday commands (unsqueeze, view, weighted,
linear, with literals, constructors and seeds). It prints the median wall time of:

- `tshape run FILE --json` over all the lines,
- one single command (`tshape unsqueeze "[1,2,3]" --dim 0 --json`),
- the same lines as separate `tshape` processes: `--processes N` of them are timed and the
  total is scaled to all the lines (`--processes 1000` times every one; ~30 min here),

and the ratios. Target: the whole batch in at most 2x the time of one single command.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TSHAPE = str(Path(sys.executable).parent / "tshape")
LINES = [
    'unsqueeze "[1, 2, 3]" --dim 0',
    'unsqueeze "[[1, 2], [3, 4]]"',
    'view "arange(1, 13)" --shape 3,-1',
    'view "arange(12)" --shape 5,3',  # exit 1, explained
    "weighted",
    'weighted "rand(3, 4, 2)" --random --seed 1',
    "linear",
    'linear "rand(2, 5, 3)" --out-features 4 --seed 1',
]
SINGLE = [TSHAPE, "unsqueeze", "[1,2,3]", "--dim", "0", "--json"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(argv)} exited {proc.returncode}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=40, help="lines timed as separate processes")
    args = parser.parse_args()
    lines = [LINES[i % len(LINES)] for i in range(args.lines)]
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.tshape"
        batch.write_text("\n".join(lines) + "\n")
        run = [TSHAPE, "run", str(batch), "--json"]
        timed(run)  # warm the file cache, untimed
        timed(SINGLE)
        run_s, single_s = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            run_s.append(timed(run))
            single_s.append(timed(SINGLE))
        sample = [shlex.split(line) for line in lines[: args.processes]]
        start = time.perf_counter()
        for argv in sample:
            timed([TSHAPE, *argv, "--json"])
        per_process = (time.perf_counter() - start) / len(sample)
    batch_t, single_t = statistics.median(run_s), statistics.median(single_s)
    processes_t = per_process * args.lines
    scaled = "" if args.processes >= args.lines else f" (scaled from {args.processes})"
    print(f"median of {args.runs} runs; {args.lines} lines")
    print(f"  tshape run FILE --json: {batch_t:.2f} s")
    print(f"  one single command:     {single_t:.2f} s")
    print(f"  {args.lines} separate processes{scaled}: {processes_t:.1f} s")
    ratio = batch_t / single_t
    print(f"run / single command: {ratio:.2f}x (target <= 2.00x): {'ok' if ratio <= 2 else 'OVER'}")
    print(f"separate processes / run: {processes_t / batch_t:.0f}x slower")
    return 0


if __name__ == "__main__":
    sys.exit(main())

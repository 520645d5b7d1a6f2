"""Warm against cold calls, in one run: the point of `tshape serve`.

    python benchmarks/warm.py [--runs 50]

Starts a warm server of its own (in a temporary TSHAPE_SERVER_DIR, stopped at the end), then
times RUNS calls of each command cold (TSHAPE_NO_SERVER=1) and warm, interleaved so that the
machine's drift hits both alike. Prints the median per call and the ratio; the project's
targets are a warm median of at most 0.05 s and at least 20x faster than cold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TSHAPE = str(Path(sys.executable).parent / "tshape")
COMMANDS = {
    "unsqueeze '[1,2,3]' --dim 0 -q": ["unsqueeze", "[1,2,3]", "--dim", "0", "-q"],
    "linear 'shape(64, 512)' -o 10 -q": ["linear", "shape(64, 512)", "-o", "10", "-q"],
}
WARM_TARGET = 0.05
RATIO_TARGET = 20.0


def timed(argv: list[str], env: dict[str, str]) -> float:
    # No timeout= here: with one, Popen.wait polls with sleeps of up to 50 ms and a 35 ms call
    # reads as 65 ms. A hung call is ended by the alarm instead.
    signal.alarm(120)
    try:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
        return time.perf_counter() - start
    finally:
        signal.alarm(0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    top = tempfile.mkdtemp(prefix="tshape-warm-bench-")
    where = os.path.join(top, "s")
    os.mkdir(where, 0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSHAPE_")}
    warm_env = {**env, "TSHAPE_SERVER_DIR": where}
    cold_env = {**warm_env, "TSHAPE_NO_SERVER": "1"}
    subprocess.run(
        [TSHAPE, "serve", "start"], env=warm_env, check=True, timeout=300, stdout=subprocess.DEVNULL
    )
    ok = True
    try:
        print(f"median of {runs} calls each, cold and warm interleaved")
        for name, args in COMMANDS.items():
            cold: list[float] = []
            warm: list[float] = []
            timed([TSHAPE, *args], warm_env)  # the file cache, untimed
            for _ in range(runs):
                cold.append(timed([TSHAPE, *args], cold_env))
                warm.append(timed([TSHAPE, *args], warm_env))
            c, w = statistics.median(cold), statistics.median(warm)
            met = w <= WARM_TARGET and c / w >= RATIO_TARGET
            ok = ok and met
            print(f"  tshape {name}")
            print(
                f"    cold {c:6.3f} s   warm {w:6.3f} s   {c / w:5.1f}x faster   {'ok' if met else 'MISSED'}"
            )
        bare = statistics.median(timed([sys.executable, "-c", "pass"], env) for _ in range(runs))
        print(f"  python -c pass (Python's own start-up, the floor of a warm call) {bare:6.3f} s")
        status = subprocess.run(
            [TSHAPE, "serve", "status"], env=warm_env, capture_output=True, text=True, timeout=60
        ).stdout.strip()
        print(f"  {status}")  # its count of calls served: the warm calls did go warm
    finally:
        subprocess.run([TSHAPE, "serve", "stop"], env=warm_env, timeout=60, stdout=subprocess.DEVNULL)
        shutil.rmtree(top, ignore_errors=True)
    print(f"targets: warm at most {WARM_TARGET} s per call and at least {RATIO_TARGET:.0f}x faster than cold")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

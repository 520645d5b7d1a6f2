"""Whole-process time of shape-only ops, with and without torchmeta's fast path, in one run.

    python benchmarks/meta.py [--runs 7]

Each op is one fresh process that imports torch and sizes the op on meta tensors with
torchmeta.output_shapes (fast path) or by calling it on meta tensors directly (torch's
own path, which imports sympy and torch._dynamo on first use). Prints the median wall
times, each against a bare `python -c "import torch"` (target: fast path <= 1.10x), and
the time, once torch is imported, to judge the whole vocabulary and to look up one op the
way an expression does (targets: well under 0.1 s, and 0.03 s).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

SETUP = "import torch, torch.nn.functional as F\n"
OPS = {
    "linear": ("F.linear", "(torch.empty(64, 512), torch.empty(10, 512))", "{}"),
    "pointwise": ("torch.add", "(torch.empty(64, 512), torch.empty(512))", "{}"),
    "cat": ("torch.cat", "([torch.empty(64, 512), torch.empty(32, 512)],)", "{}"),
    "sum": ("torch.sum", "(torch.empty(64, 512),)", "{'dim': 1}"),
    "softmax": ("F.softmax", "(torch.empty(64, 512),)", "{'dim': -1}"),
    "conv2d": ("F.conv2d", "(torch.empty(8, 3, 32, 32), torch.empty(16, 3, 3, 3))", "{'padding': 1}"),
}


def fast(fn: str, args: str, kwargs: str) -> str:
    imports = "from tensorshape_cli.torchmeta import output_shapes\n"
    return SETUP + imports + f"output_shapes({fn}, {args}, {kwargs})"


def slow(fn: str, args: str, kwargs: str) -> str:
    to_meta = "tuple(a.to('meta') if isinstance(a, torch.Tensor) else [t.to('meta') for t in a] for a in {})"
    return SETUP + f"{fn}(*{to_meta.format(args)}, **{kwargs})"


VOCABULARY = (
    "import time, torch\nfrom tensorshape_cli import vocabulary\n"
    "t = time.process_time(); vocabulary.allowed_paths(); print(time.process_time() - t)"
)
LOOKUP = (
    "import time, torch\nfrom tensorshape_cli import vocabulary\n"
    "t = time.process_time(); vocabulary.lookup('F.softmax'); print(time.process_time() - t)"
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    commands = {"python -c 'import torch'": "import torch"}
    for name, op in OPS.items():
        commands[f"{name}, fast path"] = fast(*op)
        commands[f"{name}, torch's path"] = slow(*op)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for code in commands.values():  # warm the file cache once, untimed; check each one runs
        subprocess.run([sys.executable, "-c", code], check=True)
    for _ in range(runs):
        for name, code in commands.items():  # interleaved, so drift hits all alike
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    cpu_medians = {name: statistics.median(ts) for name, ts in cpu.items()}
    bare, bare_cpu = medians["python -c 'import torch'"], cpu_medians["python -c 'import torch'"]
    width = max(map(len, medians))
    # CPU time (user + system) is the steadier figure on a shared machine; wall time is shown too.
    print(f"median of {runs} runs each: wall time, CPU time, and CPU time against a bare import torch")
    for name, seconds in medians.items():
        ratio = cpu_medians[name] / bare_cpu
        verdict = "" if "fast" not in name else ("  ok" if ratio <= 1.10 else "  OVER")
        print(
            f"  {name:<{width}}  {seconds:6.3f} s wall ({seconds / bare:4.2f}x)"
            f"  {cpu_medians[name]:6.3f} s CPU  {ratio:5.2f}x import torch{verdict}"
        )
    for what, code, target in (("the whole vocabulary", VOCABULARY, 100), ("one lookup", LOOKUP, 30)):
        argv = [sys.executable, "-c", code]
        runs_out = [subprocess.run(argv, capture_output=True, text=True, check=True) for _ in range(runs)]
        cpu = [float(proc.stdout) for proc in runs_out]
        ms = statistics.median(cpu) * 1000
        verdict = "ok" if ms < target else "OVER"
        print(f"{what} after import torch (CPU): median {ms:.1f} ms (target < {target} ms): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

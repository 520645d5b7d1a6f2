"""The cost of `tshape trace` on a ResNet-18-sized model, shape-only, against the same forward.

    python benchmarks/trace.py [--runs 5]

The model (a ResNet-18: 11.7 M parameters, 4 stages of 2 basic blocks) is written below and
saved to a temporary file. Two whole processes are timed in the same run, alternately:

- plain: `python` builds the model under torch.device("meta") and runs its forward on a
  meta input of shape (8, 3, 224, 224);
- trace: `tshape trace FILE:ResNet18 -i "shape(8, 3, 224, 224)"` (plain and JSON output to a
  pipe), the same work plus recording and explaining every call.

Targets: trace / plain at most 1.5x (medians), and the peak memory of the trace (ru_maxrss of
the child, from wait4) the same for a batch of 8 and of 8192.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TSHAPE = str(Path(sys.executable).parent / "tshape")

MODEL = """
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, inplanes = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
"""

PLAIN = """
import sys
import torch
sys.path.insert(0, {directory!r})
from resnet import ResNet18
with torch.device("meta"):
    model = ResNet18()
    y = model(torch.empty({batch}, 3, 224, 224))
assert list(y.shape) == [{batch}, 1000]
"""


def run(argv: list[str]) -> tuple[float, int]:
    """Wall time in seconds and peak resident memory in KiB of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{argv} exited {code}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "resnet.py"
        model.write_text(MODEL)
        target = [TSHAPE, "trace", f"{model}:ResNet18", "-i"]
        commands = {
            "plain python, meta forward": [sys.executable, "-c", PLAIN.format(directory=tmp, batch=8)],
            "tshape trace (plain)": [*target, "shape(8, 3, 224, 224)", "-f", "plain"],
            "tshape trace (json)": [*target, "shape(8, 3, 224, 224)", "--json"],
            "tshape trace, batch 8192": [*target, "shape(8192, 3, 224, 224)", "--json"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[int]] = {name: [] for name in commands}
        run(commands["plain python, meta forward"])  # warm the file cache once, untimed
        for _ in range(runs):
            for name, argv in commands.items():
                elapsed, peak = run(argv)
                times[name].append(elapsed)
                peaks[name].append(peak)
    t = {name: statistics.median(v) for name, v in times.items()}
    m = {name: statistics.median(v) for name, v in peaks.items()}
    print(f"ResNet-18, shape-only, median of {runs} runs (whole processes)")
    for name in commands:
        print(f"  {name:<28} {t[name]:6.3f} s   peak {m[name] / 1024:7.1f} MiB")
    base = t["plain python, meta forward"]
    ok = True
    for name in ("tshape trace (plain)", "tshape trace (json)"):
        ratio = t[name] / base
        ok = ok and ratio <= 1.5
        print(f"{name} / plain python: {ratio:.3f}x (target <= 1.5x): {'ok' if ratio <= 1.5 else 'OVER'}")
    growth = m["tshape trace, batch 8192"] / m["tshape trace (json)"]
    ok = ok and growth <= 1.05
    print(f"peak memory, batch 8192 / batch 8: {growth:.3f}x (target: no growth, <= 1.05x): "
          f"{'ok' if growth <= 1.05 else 'OVER'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

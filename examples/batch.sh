#!/usr/bin/env bash
# Many shapes from one script, with torch imported once: `tshape run` reads a batch file
# (examples/shapes.tshape) and prints one JSON object per explanation (JSON Lines), each
# with the number of the line it came from. The exit code is the highest of the lines'.
set -u
cd "$(dirname "$0")/.."

# Every line's result shape, by line number.
tshape run examples/shapes.tshape --json |
  python3 -c '
import json, sys
for text in sys.stdin:
    doc = json.loads(text)
    result = doc["result"]["shape"] if doc["result"] else doc["error"]["kind"]
    print("line", str(doc["line"]).rjust(2), doc["op"].ljust(9), result)
'
echo "tshape run: exit ${PIPESTATUS[0]} (1: a line is an invalid operation, explained)"

# The same file with -q: one shape per line, for `read`.
tshape run examples/shapes.tshape -q 2>/dev/null | head -2

# Commands can also come from another program, one line at a time.
for n in 2 3 4; do echo "view 'arange(24)' --shape $n,-1"; done | tshape run - -q

# The tensors of a checkpoint, and its parameter count.
tshape inspect examples/model.pt -q
tshape inspect examples/model.safetensors --json |
  python3 -c 'import json, sys; print("parameters:", json.load(sys.stdin)["checks"][0]["torch"])'

#!/usr/bin/env bash
# tshape in a script: -q for shapes that `read` can split, --json for everything else,
# and exit codes to tell an invalid operation (1) from bad input (2).
set -u
cd "$(dirname "$0")"

# The shape of a result, straight into shell variables.
read -r models batch classes < <(tshape view "arange(1,13)" --shape 3,2,-1 -q)
echo "view: models=$models batch=$batch classes=$classes"

# The weighted layer's output as JSON; pick values out with Python (or jq, if you have it).
tshape weighted x.json --weights weights.json --json |
  python3 -c 'import json, sys; r = json.load(sys.stdin)["result"]; print("weighted:", r["shape"], r["values"])'

# Every hand check must agree with torch.
tshape linear linear_x.json --weight linear_weight.json --bias linear_bias.json --json |
  python3 -c 'import json, sys; c = json.load(sys.stdin)["checks"]; print("linear checks ok:", all(x["ok"] for x in c))'

# An invalid operation exits 1 (the explanation says why); unreadable input exits 2.
for shape in "5,-1" "4,3"; do
  if tshape view "arange(12)" --shape "$shape" -q >/dev/null 2>&1; then
    echo "view --shape $shape: fits"
  else
    echo "view --shape $shape: exit $? (does not fit)"
  fi
done
tshape unsqueeze "[[1, 2], [3]]" --dim 0 -q 2>/dev/null
echo "ragged literal: exit $?"

# Will two shapes broadcast? Shapes alone need no values; exit 1 means they do not.
if read -r -a shape < <(tshape broadcast "shape(8, 1, 6, 1)" "shape(7, 1, 5)" -q); then
  echo "broadcast: ${shape[*]}"
fi
tshape broadcast "shape(2, 3)" "shape(4, 3)" -q 2>/dev/null || echo "broadcast (2, 3) with (4, 3): exit $?"

# A whole expression, checked by shape before any data exists: a batched linear layer.
read -r -a out < <(tshape expr "x @ w.T + b" -t x="shape(32, 10, 3)" -t w="shape(4, 3)" -t b="shape(4)" -q)
echo "expr: ${out[*]}"

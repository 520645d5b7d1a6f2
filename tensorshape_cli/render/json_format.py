"""JSON Lines: one object per explanation (schema_version 1, documented in the README)."""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

from tensorshape_cli.explanation import Explanation
from tensorshape_cli.text import fmt_nonfinite


def _finite(obj: Any) -> Any:
    # JSON has no NaN or Infinity: write them as the strings "nan", "inf", "-inf".
    if isinstance(obj, float) and not math.isfinite(obj):
        return fmt_nonfinite(obj)
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def to_json(ex: Explanation, **extra: Any) -> str:
    data = {**ex.to_dict(), **extra}
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), ensure_ascii=False, allow_nan=False)


def render(ex: Explanation, out: TextIO) -> None:
    out.write(to_json(ex) + "\n")

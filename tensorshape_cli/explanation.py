"""The data model between operations and renderers: plain data, no torch, no rich.

An op fills an Explanation; a renderer turns it into text. JSON output is
`Explanation.to_dict()` plus `schema_version`, documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# Marks the place where values were left out (as torch's printing puts "...").
ELLIPSIS = "..."


@dataclass
class TensorInfo:
    shape: list[int]
    dtype: str
    stride: list[int]
    contiguous: bool
    # Nested lists of numbers; None when elided (too many, or a shape-only tensor).
    values: Any | None = None
    # min/max/mean/std/nan/inf of elided values; None when values are shown or unknown.
    summary: dict[str, float | int | None] | None = None
    # First and last items per dimension, with ELLIPSIS where items were left out.
    # Only set when values is None and the tensor has data; renderers show it.
    preview: Any | None = None
    # Dimensions an operation added, stretched or removed: renderers highlight them.
    marked: list[int] = field(default_factory=list)
    meta: bool = False

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "shape": self.shape,
            "dtype": self.dtype,
            "stride": self.stride,
            "contiguous": self.contiguous,
            "values": self.values,
        }
        if self.summary is not None:
            d["summary"] = self.summary
        return d


@dataclass
class Table:
    """A small grid a step can carry (a broadcasting alignment, a rule per dimension)."""

    columns: list[str]
    rows: list[list[str]]
    # [row, column] cells a renderer highlights (a stretched 1, a contracted dimension);
    # presentation only, so not part of the JSON.
    marked: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


@dataclass
class Step:
    title: str
    code: str
    tensor: TensorInfo | None = None
    note: str = ""
    table: Table | None = None
    # An op returning several tensors (split, topk) gives them here, tensor staying None;
    # one returning a plain value (x.dim(), torch.equal) gives it in `value`, as JSON data.
    outputs: list[TensorInfo] | None = None
    value: Any | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "code": self.code,
            "tensor": self.tensor.to_dict() if self.tensor else None,
            "note": self.note,
            "table": self.table.to_dict() if self.table else None,
            **_outputs_and_value(self.outputs, self.value),
        }


@dataclass
class Check:
    label: str
    expression: str
    # numbers for sums and counts; a shape is written as text, e.g. "(1, 3)"
    manual: float | int | bool | str | None
    torch: float | int | bool | str | None
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        # written out: dataclasses.asdict deep-copies, a cost every line of a batch run pays
        return {
            "label": self.label,
            "expression": self.expression,
            "manual": self.manual,
            "torch": self.torch,
            "ok": self.ok,
        }


@dataclass
class OpError:
    kind: str
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "hint": self.hint}


@dataclass
class Explanation:
    op: str
    call: str
    inputs: dict[str, TensorInfo] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    result: TensorInfo | None = None
    error: OpError | None = None
    title: str = ""
    # Several tensors as the result (result stays None), or a plain value: see Step.
    outputs: list[TensorInfo] | None = None
    value: Any | None = None
    # The tshape command line that produces this explanation, when it is not the one typed.
    command: str = ""
    # The line of a `tshape run` batch file this explanation comes from; None outside a batch.
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        located = {"line": self.line} if self.line is not None else {}
        return {
            "schema_version": SCHEMA_VERSION,
            **located,
            "op": self.op,
            "call": self.call,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "steps": [s.to_dict() for s in self.steps],
            "checks": [c.to_dict() for c in self.checks],
            "result": self.result.to_dict() if self.result else None,
            **_outputs_and_value(self.outputs, self.value),
            "error": self.error.to_dict() if self.error else None,
        }


def _outputs_and_value(outputs: list[TensorInfo] | None, value: Any | None) -> dict[str, Any]:
    """The keys only ops with several outputs or a plain value have: absent otherwise."""
    extra: dict[str, Any] = {}
    if outputs is not None:
        extra["outputs"] = [o.to_dict() for o in outputs]
    if value is not None:
        extra["value"] = value
    return extra

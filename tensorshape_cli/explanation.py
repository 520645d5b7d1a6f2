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


# What a table row says about its dimension; renderers choose the glyph and the colour.
OK = "ok"  # nothing to report: equal sizes, a dimension kept
STRETCHED = "stretched"  # a size 1 (or a missing dimension) stretched, a dimension merged or moved
MISMATCH = "mismatch"  # the sizes clash: the row is why the operation fails
STATUSES = (OK, STRETCHED, MISMATCH)


@dataclass
class Table:
    """A small grid a step can carry (a broadcasting alignment, a rule per dimension).

    Cells are data (sizes, words), never glyphs: a row that clashes has the status
    `mismatch`, and each renderer decides how that looks (✗ and red in the terminal).
    """

    columns: list[str]
    rows: list[list[str]]
    # [row, column] cells a renderer highlights (a stretched 1, a contracted dimension);
    # presentation only, so not part of the JSON.
    marked: list[list[int]] = field(default_factory=list)
    # One of STATUSES per row; a row without one is OK.
    status: list[str] = field(default_factory=list)

    def row_status(self, row: int) -> str:
        return self.status[row] if row < len(self.status) else OK

    def add(self, cells: list[str], status: str = OK) -> None:
        """Append a row with its status, keeping the two lists in step."""
        self.status += [OK] * (len(self.rows) - len(self.status))
        self.rows.append(cells)
        self.status.append(status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "status": [self.row_status(i) for i in range(len(self.rows))],
        }


@dataclass
class Step:
    title: str
    code: str
    tensor: TensorInfo | None = None
    note: str = ""
    table: Table | None = None
    # A step that made several tensors (split, topk) or a plain value (x.dim()) instead of one
    outputs: list[TensorInfo] | None = None
    value: Any = None
    # A traced call's place in the user's code, (file, line), and the path of the module that
    # made it ("" the outermost module, None outside any): in the JSON of trace steps only.
    location: tuple[str, int] | None = None
    module: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "title": self.title,
            "code": self.code,
            "tensor": self.tensor.to_dict() if self.tensor else None,
            "note": self.note,
            "table": self.table.to_dict() if self.table else None,
            **_outputs_and_value(self.outputs, self.value),
        }
        if self.location is not None:
            d["location"] = {"file": self.location[0], "line": self.location[1]}
            d["module"] = self.module
        return d


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
    # Several result tensors (split, topk, unbind, an LSTM's output and state, the unsqueeze
    # tour's one per position) instead of `result`, named explicitly so that no renderer
    # guesses them from the steps; or a plain value (x.dim(), torch.equal, x.shape).
    # JSON has them only when set.
    outputs: list[TensorInfo] | None = None
    value: Any = None
    # The tshape command line that produces this explanation, when it is not the one typed.
    command: str = ""
    # The line of a `tshape run` batch file this explanation comes from; None outside a batch.
    line: int | None = None
    # Where the explained error was raised ({file, line, code}), read from a pasted traceback.
    location: dict[str, Any] | None = None
    # An error the user pasted (`tshape why`), explained: the command succeeded (exit 0).
    diagnosis: bool = False
    # A heading above the explanation: what a part of a longer walk-through is
    # ("1/6 · unsqueeze on a vector"); presentation only, so not part of the JSON.
    part: str = ""
    # One line before everything else (the demo says what it is); presentation only.
    preface: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        located = {"line": self.line} if self.line is not None else {}
        d = {
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
        if self.location is not None:
            d["location"] = self.location
        return d

    # In Python: rich on a terminal, HTML in Jupyter, plain text elsewhere (tensorshape_cli.api).
    def __str__(self) -> str:
        from tensorshape_cli.api import as_text

        return as_text(self)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from tensorshape_cli.api import rich_renderables

        return rich_renderables(self, console, options)

    def _repr_html_(self) -> str:
        from tensorshape_cli.api import as_html

        return as_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from tensorshape_cli.api import as_plain

        printer.text(as_plain(self))


def _outputs_and_value(outputs: list[TensorInfo] | None, value: Any | None) -> dict[str, Any]:
    """The keys only ops with several outputs or a plain value have: absent otherwise."""
    extra: dict[str, Any] = {}
    if outputs is not None:
        extra["outputs"] = [o.to_dict() for o in outputs]
    if value is not None:
        extra["value"] = value
    return extra

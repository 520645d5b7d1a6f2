"""Shared helpers for the tshape test suite.

How the CLI is run here: `tensorshape_cli.cli.invoke(argv)` is the real entry point
(`tshape = cli:main` calls it): it runs the Typer app with standalone_mode=False and maps
the outcome to an exit code. `CliRunner().invoke(app, ...)` in standalone mode drops the
int a command returns (every invalid operation would exit 0), so the `tshape` fixture
calls `invoke(argv)` inside `typer.testing.CliRunner().isolation()`, which gives the run
its own stdin, stdout and stderr. stdout is not a terminal there, so the default format is
plain.

Every expected number in the tests comes from torch, computed in the test itself.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from tensorshape_cli.cli import invoke

# The processes the tests start run cold, even when a developer has a warm server running
# (`tshape serve start`); tests/test_serve.py starts servers of its own and unsets this.
os.environ["TSHAPE_NO_SERVER"] = "1"

# Environment variables that change the output: none of them leak in from the caller.
CLEAN_ENV: dict[str, str | None] = {
    "TSHAPE_FORMAT": None,
    "TSHAPE_DEBUG": None,
    "NO_COLOR": None,
    "FORCE_COLOR": None,
    "COLUMNS": "120",
    # The language: English unless a test asks for another (--lang, TSHAPE_LANG, the locale).
    "TSHAPE_LANG": None,
    "LC_ALL": None,
    "LC_MESSAGES": None,
    "LANG": None,
}

TOP_KEYS = {"schema_version", "op", "call", "inputs", "steps", "checks", "result", "error"}
# Only an op with several tensors as its result, or a plain value, has these (README, JSON schema).
OUTPUT_KEYS = {"outputs", "value"}
STEP_KEYS = {"title", "code", "tensor", "note"}
STEP_OPTIONAL_KEYS = {"table", *OUTPUT_KEYS}
TENSOR_KEYS = {"shape", "dtype", "stride", "contiguous", "values"}
CHECK_KEYS = {"label", "expression", "manual", "torch", "ok"}
ERROR_KEYS = {"kind", "message", "hint"}


# Python's binary operators on tensors: the operator module's function → the symbol as written.
OPERATORS: dict[Any, str] = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.floordiv: "//",
    operator.mod: "%",
    operator.pow: "**",
    operator.matmul: "@",
    operator.and_: "&",
    operator.or_: "|",
    operator.xor: "^",
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
    operator.eq: "==",
    operator.ne: "!=",
}


def _no_nan_constant(name: str) -> Any:
    raise ValueError(f"JSON output contains the non-standard constant {name}")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def docs(self) -> list[dict[str, Any]]:
        """JSON Lines: one object per non-empty line, parsed strictly (no NaN/Infinity)."""
        return [
            json.loads(line, parse_constant=_no_nan_constant)
            for line in self.stdout.splitlines()
            if line.strip()
        ]

    @property
    def doc(self) -> dict[str, Any]:
        docs = self.docs
        assert len(docs) == 1, f"expected one JSON line, got {len(docs)}"
        return docs[0]


def run_tshape(
    *args: str, input: str | bytes | None = None, env: dict[str, str | None] | None = None
) -> Result:
    runner = CliRunner()
    with runner.isolation(input=input, env={**CLEAN_ENV, **(env or {})}) as (out, err, _):
        code = invoke(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        result = Result(int(code), out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))
    assert isinstance(code, int)
    # Never a traceback, whatever the command line.
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def tshape():
    """`tshape("unsqueeze", "[1,2,3]", "--json")` → Result(code, stdout, stderr)."""
    return run_tshape


# --- comparing tshape's data with torch ------------------------------------------------


def bind(expression: str, **values: str) -> list[str]:
    """`-t NAME=VALUE` for the names the expression uses (expr refuses unused bindings)."""
    out: list[str] = []
    for name, value in values.items():
        if re.search(rf"(?<![\w.]){re.escape(name)}\b", expression):
            out += ["-t", f"{name}={value}"]
    return out


def parse_literal(text: str) -> Any:
    """The Python value a tensor literal stands for (JSON first, then a Python literal)."""
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _number(v: Any) -> Any:
    # JSON cannot hold NaN or infinities; tshape writes them as strings.
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def values_equal(got: Any, want: Any, rel: float = 0.0) -> bool:
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(values_equal(g, w, rel) for g, w in zip(got, want, strict=True))
        )
    got = _number(got)
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want or (type(got) is type(want) and got == want)
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if not isinstance(got, (int, float)):
        return False
    if isinstance(want, int) != isinstance(got, int):  # 1 and 1.0 are different dtypes
        return False
    if rel:
        return got == pytest.approx(want, rel=rel, abs=rel)
    return got == want


def assert_tensor(
    info: dict[str, Any] | None, t: torch.Tensor, rel: float = 0.0, values: bool = True
) -> None:
    """A TensorInfo from the JSON output describes exactly this torch tensor."""
    assert info is not None, "expected a tensor, got null"
    t = t.detach()
    assert info["shape"] == list(t.shape)
    assert info["dtype"] == dtype_name(t)
    assert info["stride"] == list(t.stride())
    assert info["contiguous"] is t.is_contiguous()
    if values:
        assert info["values"] is not None, "values were elided"
        assert values_equal(info["values"], t.tolist(), rel), f"{info['values']} != {t.tolist()}"


def step_tensors(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s["tensor"] for s in doc["steps"] if s["tensor"] is not None]


def find_check(doc: dict[str, Any], label: str) -> dict[str, Any]:
    found = [c for c in doc["checks"] if c["label"] == label]
    assert found, f"no check labelled {label!r} in {[c['label'] for c in doc['checks']]}"
    return found[0]


def assert_schema(doc: dict[str, Any]) -> None:
    """schema_version 1 exactly as design.md writes it (plus the optional 'table' on steps, and
    'line', the batch file line, in the output of `tshape run`)."""
    assert TOP_KEYS <= set(doc) <= TOP_KEYS | {"line", "location"} | OUTPUT_KEYS, sorted(doc)
    if "line" in doc:
        assert isinstance(doc["line"], int) and doc["line"] >= 1
    assert doc["schema_version"] == 1
    assert isinstance(doc["op"], str) and doc["op"]
    assert isinstance(doc["call"], str) and doc["call"]
    assert isinstance(doc["inputs"], dict)
    for info in doc["inputs"].values():
        _assert_tensor_schema(info)
    assert isinstance(doc["steps"], list)
    for step in doc["steps"]:
        assert STEP_KEYS <= set(step) <= STEP_KEYS | STEP_OPTIONAL_KEYS, set(step)
        assert isinstance(step["title"], str)
        assert isinstance(step["code"], str)
        assert isinstance(step["note"], str)
        if step["tensor"] is not None:
            _assert_tensor_schema(step["tensor"])
        _assert_outputs_schema(step)
        table = step.get("table")
        if table is not None:
            assert set(table) == {"columns", "rows", "status"}
            assert all(len(row) == len(table["columns"]) for row in table["rows"])
            assert len(table["status"]) == len(table["rows"])
            assert set(table["status"]) <= {"ok", "stretched", "mismatch"}
    for check in doc["checks"]:
        assert set(check) == CHECK_KEYS
        assert isinstance(check["label"], str)
        assert isinstance(check["expression"], str)
        assert isinstance(check["ok"], bool)
    if doc["result"] is not None:
        _assert_tensor_schema(doc["result"])
    _assert_outputs_schema(doc)
    if doc["error"] is not None:
        assert set(doc["error"]) == ERROR_KEYS
        assert all(isinstance(doc["error"][k], str) for k in ERROR_KEYS)
        assert doc["error"]["message"]


def _assert_outputs_schema(record: dict[str, Any]) -> None:
    """`outputs` (several tensors) replaces the tensor/result; `value` is JSON data."""
    if "outputs" in record:
        assert record.get("result", record.get("tensor")) is None
        assert isinstance(record["outputs"], list) and len(record["outputs"]) >= 2
        for info in record["outputs"]:
            _assert_tensor_schema(info)
    if "value" in record:
        assert record.get("result", record.get("tensor")) is None
        assert isinstance(record["value"], (int, float, bool, list))


def _assert_tensor_schema(info: dict[str, Any]) -> None:
    # `summary` (min, max, mean, std, nan, inf) comes with elided values, as the README documents
    extra = {"summary"} if info.get("values") is None and "summary" in info else set()
    assert set(info) == TENSOR_KEYS | extra, f"tensor keys {sorted(info)}"
    if extra:
        assert set(info["summary"]) == {"min", "max", "mean", "std", "nan", "inf"}
    assert all(isinstance(s, int) for s in info["shape"])
    assert all(isinstance(s, int) for s in info["stride"])
    assert len(info["stride"]) == len(info["shape"])
    assert isinstance(info["dtype"], str)
    assert isinstance(info["contiguous"], bool)


# --- plain output ----------------------------------------------------------------------


def plain_summary(t: torch.Tensor) -> str:
    """The tensor line of the plain format, built from torch's own shape/dtype/stride."""
    shape = tuple(t.shape)
    return f"shape {shape} · {dtype_name(t)} · stride {t.stride()}"


def torch_layout(t: torch.Tensor) -> str:
    """torch's printed values without `tensor(` and `)`, re-indented as in the plain format."""
    torch.set_printoptions(linewidth=1_000_000)  # tshape does not wrap long rows
    try:
        text = repr(t.detach())
    finally:
        torch.set_printoptions(profile="default")
    assert text.startswith("tensor(")
    body = re.sub(r",\s*dtype=torch\.\w+\)$", ")", text[len("tensor(") :])[:-1]
    lines = body.split("\n")
    body = "\n".join([lines[0], *(line[len("tensor(") :] if line.strip() else line for line in lines[1:])])
    # the plain format indents every value line by four spaces
    return "\n".join("    " + line if line else line for line in body.split("\n"))


def assert_one_line(stderr: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"stderr should be exactly one line, got {len(lines)}: {stderr!r}"
    assert lines[0].strip()


def numbers_in(text: str) -> set[str]:
    """The integers written in a message (thousands separators removed)."""
    return set(re.findall(r"-?\d+", re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)))

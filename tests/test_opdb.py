"""torch's own operator test database (op_db) through `tshape expr`: torch-identical results.

For every op of op_db that the vocabulary allows, its first sample inputs (CPU, float32, or
the first dtype the op supports when it has no float32) are written as the expression a user
would type: the op's public spelling (`torch.X(...)`, `F.X(...)`, `torch.linalg.X(...)`, the
Tensor method `t0.X(...)`, an operator, an index), tensors bound as names t0, t1, … and every
other argument as a Python literal. The expression goes through the path of `tshape expr`
(compile_expr, then explain), and what the explanation reports (result, outputs or value) is
compared with torch's own output, computed here by calling the op directly on the same
tensors: shape, dtype, stride and values (torch.testing.assert_close, NaN equal to NaN).
Random ops run under a seed (--seed), and torch under the same seed of its CPU generator.

`python tests/test_opdb.py --report` prints the table (the fraction, and the ops left out,
grouped by reason); `pytest -s tests/test_opdb.py` prints it too.
"""

from __future__ import annotations

import ast
import collections
import functools
import itertools
import math
import operator
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import OPERATORS

from tensorshape_cli import registry, settings, vocabulary
from tensorshape_cli.describe import dtype_name
from tensorshape_cli.errors import InputError

SAMPLES_PER_OP = 3  # the first samples of each op (its first writable ones, among the first 8)
SAMPLES_LOOKED_AT = 8
SEED = 0
# The fraction of op_db's allowed ops explained identically on every sample written: the
# floor this test holds (raise it when tshape explains more).
FLOOR = 0.99  # 630 of 635 with torch 2.13.0
# Then one sample in each of these, when the op has it: integer and complex results too.
EXTRA_DTYPES = (torch.int64, torch.complex64)
SAMPLES_PER_EXTRA = 1
# When float32 is not among an op's dtypes (bitwise and integer ops), the first of these it has.
DTYPES = (torch.float32, torch.int64, torch.bool, torch.float64, torch.complex64, torch.int32, torch.uint8)

IDENTICAL = "identical"
CRASHED = "tshape crashed"
TORCH_REFUSES = "torch refuses the sample"  # not counted: a sample of another variant
# op_db names of reflected operators (`2 + x` is x.__radd__(2)) and the symbol written
REFLECTED = {
    "__radd__": "+",
    "__rsub__": "-",
    "__rmul__": "*",
    "__rdiv__": "/",
    "__rtruediv__": "/",
    "__rfloordiv__": "//",
    "__rmod__": "%",
    "__rpow__": "**",
    "__rmatmul__": "@",
    "__rand__": "&",
    "__ror__": "|",
    "__rxor__": "^",
}
SYMBOLS = {symbol: fn for fn, symbol in OPERATORS.items()}
# op_db's operator variants, written as operators too (t0 + t1, -t0); << and >> are outside
# expr's whitelist, abs(x) is a builtin call: those ops are written as functions only
OPERATOR_FORMS: dict[Any, str] = OPERATORS
UNARY_FORMS: dict[Any, str] = {operator.neg: "-", operator.invert: "~"}
NAMESPACES = (
    ("nn.functional.", "F."),
    ("linalg.", "torch.linalg."),
    ("special.", "torch.special."),
    ("fft.", "torch.fft."),
)
# op_db ops whose `op` is a lambda that does not call its torch function with its sample's
# arguments in order: the call a user would write, as (spelling, positional arguments).
Reorder = Callable[[Any, tuple[Any, ...]], tuple[Any, ...]]
ADAPTERS: dict[str, tuple[str, Reorder]] = {
    "einsum": ("torch.einsum", lambda inp, args: (args[0], inp)),
    "where": ("torch.where", lambda inp, args: (args[0], inp, *args[1:])),
    "polygamma.polygamma_n_0": ("torch.polygamma", lambda inp, args: (args[0], inp)),
    "polygamma.polygamma_n_1": ("torch.polygamma", lambda inp, args: (args[0], inp)),
    "polygamma.polygamma_n_2": ("torch.polygamma", lambda inp, args: (args[0], inp)),
    "polygamma.polygamma_n_3": ("torch.polygamma", lambda inp, args: (args[0], inp)),
    "polygamma.polygamma_n_4": ("torch.polygamma", lambda inp, args: (args[0], inp)),
    "special.polygamma.special_polygamma_n_0": ("torch.special.polygamma", lambda inp, args: (args[0], inp)),
    "nn.functional.embedding": ("F.embedding", lambda inp, args: (args[0], inp)),
    "nn.functional.embedding_bag": ("F.embedding_bag", lambda inp, args: (args[0], inp)),
    "normal.number_mean": ("torch.normal", lambda inp, args: (args[0], inp, *args[1:])),
    "normal.in_place": ("t0.normal_", lambda inp, args: (inp, *args)),
}
# op_db ops whose `op` is a lambda over a product, lambda a, b, **kw: f(a @ b.mT, **kw):
# written as the user would, `f(t0 @ t1.mT, ...)`
PRODUCT_OF: dict[str, str] = {
    "svd_lowrank": "torch.svd_lowrank",
    "pca_lowrank": "torch.pca_lowrank",
    "linalg.pinv.singular": "torch.linalg.pinv",
}
# ops whose values torch leaves uninitialised (torch.empty's documentation): shape, dtype and
# stride are compared, values are not
UNINITIALISED = re.compile(r"^(empty|empty_like|empty_strided|empty_permuted|new_empty\w*)$")


class NotWritable(Exception):
    """An argument with no expression text: a callable, a generator, a dict, a slice outside []."""


@dataclass
class Case:
    """One sample as an expression: its text, its tensors by name, and torch's own call."""

    text: str
    tensors: dict[str, torch.Tensor]
    run: Callable[[], Any]
    random: bool


@dataclass
class OpResult:
    name: str  # op_db's name, with its variant: "max.reduction_with_dim"
    op_name: str  # op_db's name alone: "max"
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail) per sample

    @property
    def status(self) -> str:
        """identical when every sample written was, and one at least; else the first failure."""
        failures = [r for r, _ in self.outcomes if r != IDENTICAL and not r.startswith("not writable")]
        if failures:
            return failures[0]
        if any(r == IDENTICAL for r, _ in self.outcomes):
            return IDENTICAL
        return next((r for r, _ in self.outcomes), "no sample torch runs")


# --- writing a sample as text ---------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def name(self, x: torch.Tensor) -> str:
        if x.layout != torch.strided or x.is_quantized:
            raise NotWritable(f"a {x.layout} tensor")
        name = f"t{len(self.tensors)}"
        self.tensors[name] = x
        return name

    def write(self, v: Any, index: bool = False) -> str:
        if isinstance(v, torch.Tensor):
            return self.name(v)
        if v is None or isinstance(v, (bool, int, str)):
            return repr(v)
        if v is Ellipsis:
            return "..."
        if isinstance(v, float):
            if math.isnan(v):
                return "torch.nan"
            if math.isinf(v):
                return "torch.inf" if v > 0 else "-torch.inf"
            return repr(v)
        if isinstance(v, complex):
            return repr(v)
        if isinstance(v, (torch.dtype, torch.memory_format, torch.layout)):
            return str(v)
        if isinstance(v, torch.device):
            return repr(str(v))
        if isinstance(v, slice) and index:
            parts = ["" if p is None else self.write(p) for p in (v.start, v.stop, v.step)]
            return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
        if isinstance(v, list):
            return "[" + ", ".join(self.write(x, index) for x in v) + "]"
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            items = [self.write(x, index) for x in v]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        raise NotWritable(type(v).__name__)

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        parts = [self.write(a) for a in args] + [f"{k}={self.write(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)


def spelling(op: Any) -> tuple[str, vocabulary.Entry | None]:
    """How a user writes the op: 'torch.add', 'F.conv2d', 't0.view', 't0.mT', '2 + t0', 't0[]'.
    The entry is the vocabulary's (None: not allowed)."""
    key = f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name
    if key in PRODUCT_OF:
        return PRODUCT_OF[key], vocabulary.lookup(vocabulary.normalise(PRODUCT_OF[key]))
    if key in ADAPTERS:
        written = ADAPTERS[key][0]
        path = written.replace("t0.", "torch.Tensor.")
        return written, vocabulary.lookup(path)
    if op.name in REFLECTED:
        return REFLECTED[op.name], vocabulary.lookup(f"torch.Tensor.{op.name}")
    if op.name == "__getitem__":
        return "[]", vocabulary.lookup("torch.Tensor.__getitem__")
    for prefix, written in NAMESPACES:
        if op.name.startswith(prefix):
            return written + op.name[len(prefix) :], vocabulary.lookup(vocabulary.normalise(op.name))
    function = vocabulary.lookup(f"torch.{op.name}")
    method = vocabulary.lookup(f"torch.Tensor.{op.name}")
    lambda_op = getattr(op.op, "__name__", "") == "<lambda>"
    if function is not None and (not lambda_op or method is None):
        return f"torch.{op.name}", function
    if method is not None:
        return f"t0.{op.name}", method
    return f"torch.{op.name}", None


def case(op: Any, sample: Any, written: str, entry: vocabulary.Entry) -> Case:
    """The sample as expression text, and torch's own call of the same op on the same values."""
    key = f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name
    inp, args, kwargs = sample.input, tuple(sample.args), dict(sample.kwargs)
    w = _Writer()
    fn: Callable[[], Any]
    if key in PRODUCT_OF:
        (b,) = args
        a_text, b_text = w.write(inp), w.write(b)
        rest = w.call((), kwargs)
        text = f"{written}({a_text} @ {b_text}.mT{', ' + rest if rest else ''})"
        fn = functools.partial(lambda a, b, **kw: entry.fn(a @ b.mT, **kw), inp, b, **kwargs)
    elif written in SYMBOLS:  # a reflected operator: other ∘ x
        (other,) = args
        receiver, left = w.write(inp), w.write(other)
        if kwargs:
            raise NotWritable("keyword arguments to an operator")
        left = f"({left})" if left.startswith("-") else left
        text = f"{left} {written} {receiver}"
        fn = functools.partial(SYMBOLS[written], other, inp)
    elif written == "[]":
        (key_value,) = args
        receiver = w.write(inp)
        items = key_value if isinstance(key_value, tuple) else (key_value,)
        text = f"{receiver}[{', '.join(w.write(k, index=True) for k in items) or '()'}]"
        fn = functools.partial(operator.getitem, inp, key_value)
    elif entry.kind == "property":
        text = f"{w.write(inp)}.{op.name}"
        fn = functools.partial(getattr, inp, op.name)
    else:
        positional = ADAPTERS[key][1](inp, args) if key in ADAPTERS else (inp, *args)
        if written.startswith("t0."):
            receiver, *rest = positional
            if not isinstance(receiver, torch.Tensor):
                raise NotWritable("a method on a non-tensor")
            text = f"{w.write(receiver)}.{written[3:]}({w.call(tuple(rest), kwargs)})"
            method = getattr(receiver, written[3:])
            fn = functools.partial(method, *rest, **kwargs)
        else:
            text = f"{written}({w.call(positional, kwargs)})"
            fn = functools.partial(entry.fn, *positional, **kwargs)
    return Case(text, w.tensors, fn, entry.random)


def operator_case(op: Any, sample: Any) -> Case | None:
    """The sample with the op written as its operator (t0 + t1), when op_db gives it one."""
    variant = op.operator_variant
    if op.name == "__getitem__" or (variant not in OPERATOR_FORMS and variant not in UNARY_FORMS):
        return None
    if sample.kwargs or not isinstance(sample.input, torch.Tensor):
        return None
    w = _Writer()
    receiver = w.write(sample.input)
    if variant in UNARY_FORMS and not sample.args:
        text = f"{UNARY_FORMS[variant]}{receiver}"
    elif variant in OPERATOR_FORMS and len(sample.args) == 1:
        other = w.write(sample.args[0])
        text = f"{receiver} {OPERATOR_FORMS[variant]} {other}"
    else:
        return None
    return Case(text, w.tensors, functools.partial(variant, sample.input, *sample.args), False)


def samples(op: Any, dtype: torch.dtype) -> list[Any]:
    """The op's first sample inputs. `op.sample_inputs` wraps this generator for torch's own
    test runner (it reseeds per sample and walks the Python stack to find the running
    test: over half of this module's time); the samples are the same."""
    _seed(SEED)  # some sample generators draw
    generated = op.sample_inputs_func(op, "cpu", dtype, False)
    return list(itertools.islice(generated, SAMPLES_LOOKED_AT))


# --- running one case -----------------------------------------------------------------------


def explain(c: Case) -> Any:
    """What `tshape expr` gives for this case, every value shown."""
    from tensorshape_cli import expr

    run = settings.Settings(lang="en", max_values=10**7, seed=SEED if c.random else None)
    with settings.use(run):
        return expr.explain(expr.compile_expr(c.text, list(c.tensors)), dict(c.tensors))


def _seed(seed: int) -> None:
    """torch.manual_seed for the CPU, as --seed seeds it (settings.seed_torch): torch.manual_seed
    itself also queues a seeding of every lazy device (CUDA, XPU, MTIA) with a stack trace each,
    thousands of times here."""
    torch.default_generator.manual_seed(seed)


def reference(c: Case, seed: int = SEED) -> Any:
    _seed(seed)
    return c.run()


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)) and not isinstance(value, torch.Size):
        return [x for v in value for x in _flat(v)]
    return [value]


def _as_tensor(values: Any, like: torch.Tensor) -> torch.Tensor:
    if like.is_complex():
        values = _map(values, complex)
    return torch.tensor(values, dtype=like.dtype).reshape(like.shape)


def _map(values: Any, fn: Callable[[Any], Any]) -> Any:
    return [_map(v, fn) for v in values] if isinstance(values, list) else fn(values)


def compare_tensor(reported: Any, expected: torch.Tensor, check_values: bool) -> str | None:
    """Why the reported TensorInfo is not torch's tensor, or None."""
    if reported is None:
        return "no result reported"
    if tuple(reported.shape) != tuple(expected.shape):
        return "shape"
    if reported.dtype != dtype_name(expected.dtype):
        return "dtype"
    if tuple(reported.stride) != tuple(expected.stride()):
        return "stride"
    if not check_values:
        return None
    if reported.values is None:
        return "values elided"
    try:
        torch.testing.assert_close(
            _as_tensor(reported.values, expected), expected.detach(), equal_nan=True, check_stride=False
        )
    except AssertionError:
        return "values"
    return None


def compare(ex: Any, expected: Any, check_values: bool) -> str | None:
    if isinstance(expected, torch.Tensor):
        return compare_tensor(ex.result, expected, check_values)
    flat = _flat(expected)
    if isinstance(expected, (tuple, list)) and flat and all(isinstance(x, torch.Tensor) for x in flat):
        if ex.outputs is None:
            return "no outputs reported"
        if len(ex.outputs) != len(flat):
            return "number of outputs"
        for reported, x in zip(ex.outputs, flat, strict=True):
            why = compare_tensor(reported, x, check_values)
            if why is not None:
                return f"output {why}"
        return None
    if isinstance(expected, complex):  # JSON has no complex numbers: its text, as in values
        try:
            torch.testing.assert_close(complex(ex.value), expected, equal_nan=True)
        except (AssertionError, TypeError, ValueError):
            return "value"
        return None
    plain = _plain(expected)
    if plain is None:
        return f"a {type(expected).__name__} result"
    if ex.value is None:
        return "no value reported"
    try:
        torch.testing.assert_close(ex.value, plain, equal_nan=True)
    except (AssertionError, TypeError, ValueError):
        return "value"
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        return None if any(i is None for i in items) else items
    return None


def _refusal(message: str) -> str:
    """A refusal's sentence without what varies (the column, the code, numbers, names)."""
    message = re.sub(r"\(column \d+: .*?\)", "", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"(?<![\w.])\d+(?:[.,]\d+)*", "N", message).strip()


def run_case(c: Case, name: str) -> tuple[str, str]:
    """(reason, detail): IDENTICAL, or why not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = reference(c)
        except Exception:
            return TORCH_REFUSES, c.text
        try:
            ex = explain(c)
        except InputError as e:
            return f"refused: {_refusal(str(e))}", f"{c.text} → {e}"
        except Exception as e:
            return CRASHED, f"{c.text} → {type(e).__name__}: {e}\n{traceback.format_exc()}"
        if ex.error is not None:
            return "tshape reports an error torch does not raise", f"{c.text} → {ex.error.message}"
        why = compare(ex, expected, check_values=not UNINITIALISED.match(name))
        if why is None:
            return IDENTICAL, c.text
        if why.endswith("values") and not c.random:
            again = reference(c, seed=SEED + 1)
            if compare(ex, again, True) is not None and _differ(expected, again):
                return "wrong result: random, yet not flagged random", c.text
        return f"wrong result: {why}", c.text


def _differ(a: Any, b: Any) -> bool:
    for x, y in zip(_flat(a), _flat(b), strict=False):
        tensors = isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
        if tensors and (x.shape != y.shape or not torch.equal(x.nan_to_num(), y.nan_to_num())):
            return True
    return False


def run_op(
    op: Any, dtypes: tuple[torch.dtype, ...] = EXTRA_DTYPES, per_extra: int = SAMPLES_PER_EXTRA
) -> OpResult | None:
    """The op's samples through expr (SAMPLES_PER_OP in its first dtype, then `per_extra` in
    each of `dtypes` it supports); None when the vocabulary does not allow it."""
    name = f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name
    written, entry = spelling(op)
    if entry is None:
        return None
    result = OpResult(name, op.name)
    supported = op.supported_dtypes("cpu")
    first = next((d for d in DTYPES if d in supported), None)
    if first is None:
        result.outcomes.append(("no CPU dtype", ""))
        return result
    for dtype in dict.fromkeys((first, *(d for d in dtypes if d in supported))):
        try:
            sample_list = samples(op, dtype)
        except Exception as e:
            result.outcomes.append((f"op_db cannot make samples ({type(e).__name__})", ""))
            continue
        done = 0
        for sample in sample_list:
            try:
                c = case(op, sample, written, entry)
            except NotWritable as e:
                result.outcomes.append((f"not writable: {e}", ""))
                continue
            ran = False
            for one in (c, operator_case(op, sample)):
                if one is not None:
                    reason, detail = run_case(one, op.name)
                    if reason != TORCH_REFUSES:
                        result.outcomes.append((reason, detail))
                        ran = True
            done += ran
            if done >= (SAMPLES_PER_OP if dtype is first else per_extra):
                break
    return result


def survey(
    dtypes: tuple[torch.dtype, ...] = EXTRA_DTYPES, per_extra: int = SAMPLES_PER_EXTRA
) -> list[OpResult]:
    from torch.testing._internal.common_methods_invocations import op_db

    results = []
    for op in op_db:
        r = run_op(op, dtypes, per_extra)
        if r is not None:
            results.append(r)
    return results


def table(results: list[OpResult]) -> Iterator[str]:
    by_reason: dict[str, list[str]] = collections.defaultdict(list)
    for r in results:
        by_reason[r.status].append(r.name)
    identical = len(by_reason.get(IDENTICAL, []))
    samples_done = sum(1 for r in results for reason, _ in r.outcomes if reason == IDENTICAL)
    yield (
        f"op_db through tshape expr: {identical}/{len(results)} allowed ops explained identically "
        f"({identical / len(results):.1%}; {samples_done} samples)"
    )
    for reason, names in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        if reason != IDENTICAL:
            yield f"  {reason} ({len(names)}): {', '.join(sorted(names))}"


def readme_ops() -> set[str]:
    """op_db's names of the ops the README presents: those its family examples call (F.softmax,
    x.split, x[...]) and those its commands explain (the specs' torch callables)."""
    from tensorshape_cli.expr.parser import dotted

    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### PyTorch's functional vocabulary, by family", 1)[1].split("\n### ", 1)[0]
    paths: set[str] = set()
    for expression in re.findall(r'^tshape expr "([^"]+)"', section, re.MULTILINE):
        for node in ast.walk(ast.parse(expression, mode="eval")):
            if isinstance(node, ast.Subscript):
                paths.add("operator.getitem")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                path = dotted(node.func, set())
                paths.add(vocabulary.normalise(path) if path else f"torch.Tensor.{node.func.attr}")
    headings = re.findall(r"^### .*$", text, re.MULTILINE)
    commands = {name for h in headings for name in re.findall(r"`tshape ([a-z0-9][a-z0-9-]*)", h)}
    for spec in registry.specs():
        if spec.command in commands:
            paths.update(spec.targets)
    names = set()
    for path in paths:
        name = path
        for prefix in ("torch.Tensor.", "torch.", "operator."):
            name = name.removeprefix(prefix)
        names.add("__getitem__" if name == "getitem" else name)
    return names


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> list[OpResult]:
    return survey()


def test_fraction_identical(results, capsys):
    identical = [r for r in results if r.status == IDENTICAL]
    with capsys.disabled():
        print()
        for line in table(results):
            print(line)
    assert len(results) > 500  # op_db's allowed ops were all looked at
    assert len(identical) / len(results) >= FLOOR


def test_every_op_the_readme_presents_is_explained_identically(results):
    listed = readme_ops()
    found = [r for r in results if r.op_name in listed]
    assert len({r.op_name for r in found}) >= 25  # the README's ops were found in op_db
    assert [(r.name, r.status) for r in found if r.status != IDENTICAL] == []


def test_a_result_unlike_torch_s_is_caught():
    """The comparison can fail: a value, a shape, an output, a plain value unlike torch's."""
    x = torch.tensor([[1.0, float("nan"), 3.0], [4.0, 5.0, 6.0]])
    ex = explain(Case("t0.T", {"t0": x}, lambda: x.T, False))
    assert compare(ex, x.T, check_values=True) is None  # NaN equal to NaN
    assert compare(ex, x.T.contiguous(), check_values=True) == "stride"
    assert compare(ex, x.T.double(), check_values=True) == "dtype"
    ex.result.values[0][0] = 1.5
    assert compare(ex, x.T, check_values=True) == "values"
    assert compare(ex, x, check_values=True) == "shape"
    ex = explain(Case("t0.max(1)", {"t0": x}, lambda: x.max(1), False))
    assert compare(ex, x.max(1), check_values=True) is None
    assert compare(ex, x.min(1), check_values=True) == "output values"
    assert compare(ex, x.split(1), check_values=True) == "output shape"
    ex = explain(Case("t0.dim()", {"t0": x}, x.dim, False))
    assert compare(ex, 2, check_values=True) is None
    assert compare(ex, 3, check_values=True) == "value"


def test_no_sample_crashes_tshape(results):
    crashes = [detail for r in results for reason, detail in r.outcomes if reason == CRASHED]
    assert not crashes, "\n\n".join(crashes[:5])


if __name__ == "__main__":
    if "--report" not in sys.argv[1:]:
        sys.exit("usage: python tests/test_opdb.py --report [--details] [--dtype=int64 ...]")
    # --dtype=float64 …: other dtypes, SAMPLES_PER_OP samples each, instead of EXTRA_DTYPES
    extra = tuple(getattr(torch, a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--dtype="))
    found = survey(extra, SAMPLES_PER_OP) if extra else survey()
    for line in table(found):
        print(line)
    if "--details" in sys.argv[1:]:  # every sample that is not identical, with what tshape said
        for r in found:
            for reason, detail in r.outcomes:
                if reason != IDENTICAL:
                    print(f"\n[{r.name}] {reason}\n  {detail}")

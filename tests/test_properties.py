"""Properties that hold for any input (hypothesis): the TENSOR parser and every command agree
with torch, and anything else is exit 2 with one sentence, never another exception.

The oracle is torch itself, called here on the value the text stands for: `torch.tensor(v)`
for a literal (v read with json.loads or ast.literal_eval, independently of tshape), and the
operation's own torch call for a command. A command must exit 1 exactly when that call raises.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings

import torch
from conftest import assert_one_line, assert_tensor, run_tshape, values_equal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tensorshape_cli import settings as tshape_settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.inputs import MAX_DEPTH, MAX_PY_LITERAL_CHARS, StdinReader, load_tensor

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(PROPERTY, max_examples=300)

# --- the value a text stands for, independently of tshape ------------------------------------

NOT_A_LITERAL = object()
NAMES = {"nan": math.nan, "NaN": math.nan, "inf": math.inf, "Infinity": math.inf}
NAMES |= {"True": True, "False": False, "true": True, "false": False}


class _Names(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in NAMES:
            return ast.copy_location(ast.Constant(NAMES[node.id]), node)
        return node


def reference_value(text: str) -> object:
    """JSON first, then a Python literal with nan/inf/true/false as names: what the text means."""
    text = text.strip()
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = _Names().visit(ast.parse(text, mode="eval"))
        return ast.literal_eval(tree)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return NOT_A_LITERAL


def _is_numbers(value: object, depth: int = 0) -> bool:
    if depth > MAX_DEPTH + 1:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_numbers(v, depth + 1) for v in value)
    return type(value) in (int, float, bool)


def _depth(value: object) -> int:
    depth = 0
    while isinstance(value, (list, tuple)) and value:
        value, depth = value[0], depth + 1
    return depth + (1 if isinstance(value, (list, tuple)) else 0)


def torch_accepts(value: object) -> torch.Tensor | None:
    """torch.tensor(value) for a literal of numbers and booleans within tshape's limits."""
    if value is NOT_A_LITERAL or not _is_numbers(value) or _depth(value) > MAX_DEPTH:
        return None
    try:
        t = torch.tensor(value)
    except Exception:
        return None
    return t if t.numel() <= tshape_settings.DEFAULT_MAX_ELEMENTS else None


def assert_same_tensor(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)


def read(text: str) -> torch.Tensor:
    with tshape_settings.use(tshape_settings.Settings(seed=0)):
        return load_tensor(text, "x", StdinReader(lambda: "[1, 2]"))


# --- arbitrary strings into the TENSOR parser ------------------------------------------------

TOKENS = [
    "[", "]", "(", ")", ",", " ", "-", "+", ".", "e", "E", "0", "1", "7", "2.5", "1e3", "1e999",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "nan", "inf", "NaN",
    "Infinity", "True", "False", "true", "false", "null", "None", "'a'", '"a"', "1j", "_", "0x1f",
    "zeros", "ones", "arange", "eye", "rand", "shape", "torch.", "@", "-", "__import__", "lambda",
    "x", ":", "*", "**", "{", "}", "\\", "\n", "\t", "\x00", "\udcff", "é", "…",
]  # fmt: skip
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.lists(st.sampled_from(TOKENS[:40]), max_size=40).map(lambda ts: "[" + "".join(ts) + "]"),
)
CONSTRUCTOR = re.compile(r"^\s*([A-Za-z_]\w*\s*\.\s*)*(tensor|zeros|ones|arange|eye|rand|randn|shape)\s*\(")


@FAST
@given(TEXTS)
@example("[1, 2.5]")
@example("(True, -1)")
@example("[nan, -inf]")
@example("-True")
@example("True,")
@example("nan, 1")
@example("nanometres")
@example("--1")
@example("[1,, 2]")
@example("[[1], [2, 3]]")
@example("[9223372036854775808]")
@example("[[]]")
@example("[]")
@example("()")
@example("a" * 5000)
@example("[" * 2000)
@example("\x00")
def test_any_text_is_the_tensor_torch_makes_or_input_error(text):
    try:
        got = read(text)
    except InputError as e:
        message = str(e)
        assert message.strip()
        assert "\n" not in message
        if CONSTRUCTOR.match(text) or text.strip() in ("-",) or text.strip().startswith("@"):
            return
        expected = torch_accepts(reference_value(text))
        long_python = len(text.strip()) > MAX_PY_LITERAL_CHARS
        assert expected is None or long_python, f"refused a literal torch accepts: {text!r}: {message}"
        return
    assert isinstance(got, torch.Tensor)
    if CONSTRUCTOR.match(text) or text.strip() == "-" or text.strip().startswith("@"):
        return  # constructors are compared with torch in test_constructors_match_torch
    expected = torch_accepts(reference_value(text))
    assert expected is not None, f"accepted what torch.tensor refuses or is not a literal: {text!r}"
    assert_same_tensor(got, expected)


@settings(PROPERTY, max_examples=60)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_any_text_through_the_command_line(text):
    r = run_tshape("unsqueeze", text, "--dim", "0", "--json", input="")
    assert r.code in (0, 2), (text, r.code, r.stderr)
    if r.code == 2:
        assert r.stdout == ""
        assert_one_line(r.stderr)
        assert r.stderr.startswith("tshape")


# --- arbitrary nested lists of ints, floats and bools -----------------------------------------

INTS = st.one_of(st.integers(-10, 10), st.integers(-(2**64), 2**64))
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
NUMBERS = st.one_of(INTS, FLOATS, st.booleans())


@st.composite
def rectangular(draw):
    """A nested list of one shape (0-4 dims, sizes 0-3), of ints, floats, bools or a mix."""
    shape = draw(st.lists(st.integers(0, 3), max_size=4))
    element = draw(st.sampled_from([INTS, FLOATS, st.booleans(), NUMBERS]))
    flat = draw(st.lists(element, min_size=math.prod(shape), max_size=math.prod(shape)))
    return _nest(flat, shape)


def _nest(flat, shape):
    if not shape:
        return flat[0]
    step = math.prod(shape[1:])
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


NESTED = st.one_of(
    rectangular(), st.recursive(NUMBERS, lambda inner: st.lists(inner, max_size=3), max_leaves=12)
)


def python_text(value: object, tuples: bool) -> str:
    if isinstance(value, list):
        items = ", ".join(python_text(v, tuples) for v in value)
        if tuples:
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    return repr(value)  # nan, inf, -inf, True, 12, 1.5e-07 are all Python literals


@settings(PROPERTY, max_examples=120)
@given(NESTED, st.sampled_from(["json", "python", "tuples"]))
@example([[1, 2.5], [True, False]], "json")
@example([[1, 2.5], [True, False]], "tuples")
@example([math.nan, math.inf, -math.inf], "python")
@example([2**63 - 1, -(2**63)], "json")
@example([2**63], "json")
@example([[], []], "json")
def test_nested_lists_equal_torch_tensor(value, style):
    text = json.dumps(value) if style == "json" else python_text(value, tuples=style == "tuples")
    try:
        expected = torch.tensor(value)
    except Exception:
        expected = None
    r = run_tshape("unsqueeze", text, "--dim", "0", "--json")
    if expected is None:
        assert r.code == 2, (text, r.stdout[:200])
        assert_one_line(r.stderr)
        return
    assert r.code == 0, (text, r.stderr)
    info = r.doc["inputs"]["x"]
    assert info["shape"] == list(expected.shape)
    assert info["dtype"] == str(expected.dtype).removeprefix("torch.")
    assert values_equal(info["values"], expected.tolist())


# --- constructors -------------------------------------------------------------------------------

SIZES = st.lists(st.integers(0, 4), max_size=4)


@settings(PROPERTY, max_examples=80)
@given(
    st.sampled_from(["zeros", "ones", "rand", "randn"]),
    SIZES,
    st.sampled_from([None, "float64", "int32", "bool"]),
    st.integers(0, 2**32),
)
def test_constructors_match_torch(func, sizes, dtype, seed):
    spec = f"{func}({', '.join(map(str, sizes))})"
    args = ["--seed", str(seed)] + (["--dtype", dtype] if dtype else [])
    r = run_tshape("unsqueeze", spec, "--dim", "0", "--json", *args)
    torch.manual_seed(seed)
    try:
        expected = getattr(torch, func)(sizes, dtype=getattr(torch, dtype) if dtype else None)
    except Exception:
        assert r.code == 2
        assert_one_line(r.stderr)
        return
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["inputs"]["x"], expected)


@settings(PROPERTY, max_examples=80)
@given(
    st.lists(
        st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False).map(lambda f: round(f, 2))),
        min_size=1,
        max_size=3,
    )
)
def test_arange_matches_torch(args):
    spec = f"arange({', '.join(map(str, args))})"
    r = run_tshape("unsqueeze", spec, "--dim", "0", "--json")
    try:
        expected = torch.arange(*args)
    except Exception:
        assert r.code == 2, (spec, r.stdout[:200])
        assert_one_line(r.stderr)
        return
    assert r.code == 0, (spec, r.stderr)
    assert_tensor(r.doc["inputs"]["x"], expected)


# --- every command: the result is torch's, and exit 1 exactly when torch raises ---------------

SHAPES = st.lists(st.integers(0, 3), max_size=4)
BIG = st.integers(-(2**70), 2**70)


def make_input(shape: list[int], seed: int) -> tuple[torch.Tensor, str]:
    """A float32 tensor of this shape with small integer values (sums stay exact), and the
    TENSOR text for it."""
    n = math.prod(shape)
    values = torch.randint(-9, 10, (n,), generator=torch.Generator().manual_seed(seed))
    x = values.to(torch.float32).reshape(shape)
    if n == 0:  # a literal cannot write (0, 3): `[]` is (0,)
        return x, f"zeros({', '.join(map(str, shape))})"
    return x, json.dumps(x.tolist())


VALUES = st.integers(0, 2**32)  # the seed of an input's values


def outcome(fn):
    """torch's answer: (result, None), or (None, the exception torch raised)."""
    try:
        return fn(), None
    except Exception as e:
        return None, e


def assert_agrees(r, expected, raised, rel: float = 0.0) -> None:
    if raised is not None:
        assert r.code == 1, (r.code, r.stderr, repr(raised))
        assert r.doc["error"]["message"]
        assert r.doc["result"] is None
        return
    assert r.code == 0, (r.code, r.stderr, r.stdout[:500])
    assert r.doc["error"] is None
    assert_tensor(r.doc["result"], expected, rel=rel)


@PROPERTY
@given(SHAPES, st.one_of(st.integers(-7, 7), BIG), VALUES)
@example([3], 0, 1)
@example([2, 2], -3, 1)
@example([], 1, 1)
@example([1], 2**64, 1)
def test_unsqueeze_matches_torch(shape, dim, seed):
    x, spec = make_input(shape, seed)
    expected, raised = outcome(lambda: x.unsqueeze(dim))
    r = run_tshape("unsqueeze", spec, f"--dim={dim}", "--json")
    assert_agrees(r, expected, raised)


@st.composite
def view_case(draw):
    shape = draw(SHAPES)
    numel = math.prod(shape)
    if draw(st.booleans()):  # sizes that multiply to numel, one of them perhaps -1
        target = [d for d in range(1, numel + 1) if numel % d == 0][:3] if numel else [0]
        target = draw(st.permutations([*target, *draw(st.lists(st.just(1), max_size=2))]))
        target = _fit(list(target), numel)
        if target and draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = -1
    else:
        target = draw(st.lists(st.sampled_from([-2, -1, 0, 1, 2, 3, 4, 6, 12]), max_size=4))
    pair = draw(st.one_of(st.none(), st.tuples(st.integers(-4, 4), st.integers(-4, 4))))
    return shape, target, pair


def _fit(sizes: list[int], numel: int) -> list[int]:
    """Adjust the last size so that the sizes multiply to numel (when they can)."""
    if not sizes:
        return sizes if numel == 1 else [numel]
    rest = math.prod(sizes[:-1])
    if rest and numel % rest == 0:
        sizes[-1] = numel // rest
    return sizes


@PROPERTY
@given(view_case(), VALUES)
@example(([12], [3, -1], None), 1)
@example(([2, 3], [-1], (0, 1)), 1)
@example(([2, 3], [-1, -1], None), 1)
@example(([0, 3], [-1, 0], None), 1)
@example(([1], [], None), 1)
def test_view_matches_torch(case, seed):
    shape, target, pair = case
    x, spec = make_input(shape, seed)

    def torch_view() -> torch.Tensor:
        y = x.transpose(*pair) if pair is not None else x
        return y.view(tuple(target))

    expected, raised = outcome(torch_view)
    args = [f"--shape={','.join(map(str, target)) or '()'}"]
    if pair is not None:
        args.append(f"--transpose={pair[0]},{pair[1]}")
    r = run_tshape("view", spec, *args, "--json")
    assert_agrees(r, expected, raised)


@st.composite
def weighted_case(draw):
    m, b, c = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    wm = draw(st.sampled_from([m, m, 1, m + 1]))
    wc = draw(st.sampled_from([c, c, 1, c + 1]))
    xm = draw(st.sampled_from([m, m, 1]))
    xc = draw(st.sampled_from([c, c, 1]))
    return [xm, b, xc], [wm, wc]


@PROPERTY
@given(weighted_case(), VALUES, VALUES)
@example(([3, 2, 2], [3, 2]), 2, 2)
@example(([4, 2, 2], [3, 2]), 1, 1)
@example(([1, 2, 1], [3, 2]), 1, 1)
@example(([0, 2, 2], [0, 2]), 1, 1)
def test_weighted_matches_torch(shapes, x_values, w_values):
    x_shape, w_shape = shapes
    x, x_spec = make_input(x_shape, x_values)
    w, w_spec = make_input(w_shape, w_values)
    # the notebook's WeightedFamiliesLayer.forward
    expected, raised = outcome(lambda: torch.sum(x * w.view(w.shape[0], 1, -1), dim=0))
    r = run_tshape("weighted", x_spec, f"--weights={w_spec}", "--json")
    assert_agrees(r, expected, raised)


def test_weighted_other_ranks_are_explained_failures():
    # the layer takes x (models, batch, classes) and weights (models, classes): exit 1 otherwise
    for x_spec, w_spec in (
        ("ones(2, 2)", "ones(2, 2)"),
        ("ones(2, 2, 2)", "ones(2)"),
        ("ones(1)", "ones(1)"),
    ):
        r = run_tshape("weighted", x_spec, "-w", w_spec, "--json")
        assert r.code == 1
        assert r.doc["error"]["kind"] == "weighted_rank"


@st.composite
def linear_case(draw):
    lead = draw(st.lists(st.integers(0, 2), max_size=2))
    n_in = draw(st.integers(0, 3))
    out = draw(st.integers(0, 3))
    weight = draw(st.sampled_from([None, [out, n_in], [out, n_in], [out, n_in + 1]]))
    bias = draw(st.sampled_from(["default", "none", [out], [out], [out + 1]]))
    return [*lead, n_in], weight, bias, out


@PROPERTY
@given(linear_case(), VALUES, VALUES, VALUES, st.integers(0, 1000))
@example(([2, 3], [2, 3], [2], 2), 3, 1, 4, 0)
@example(([1, 2], [2, 3], [2], 2), 1, 1, 1, 0)
@example(([2, 3], None, "default", 4), 1, 1, 1, 7)
@example(([3], [2, 3], [3], 2), 1, 1, 1, 0)
def test_linear_matches_torch(case, x_values, w_values, b_values, seed):
    x_shape, w_shape, bias, out = case
    x, x_spec = make_input(x_shape, x_values)
    args = [x_spec, f"--seed={seed}", "--json"]
    w = b = None
    if w_shape is not None:
        w, w_spec = make_input(w_shape, w_values)
        args.append(f"--weight={w_spec}")
    else:
        args.append(f"--out-features={out}")
    if bias == "none":
        args.append("--no-bias")
    elif bias != "default":
        b, b_spec = make_input(bias, b_values)
        args.append(f"--bias={b_spec}")

    def module_output() -> torch.Tensor:
        # nn.Linear(in, out) with the given parameters loaded: load_state_dict refuses a
        # weight or bias of another shape, and m(x) an x of another in_features.
        torch.manual_seed(seed)
        n_out = w.shape[0] if w is not None else out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # initialising zero elements is a no-op
            m = torch.nn.Linear(x.shape[-1], n_out, bias=bias != "none")
        state = {"weight": w} if w is not None else {}
        if b is not None:
            state["bias"] = b
        m.load_state_dict(state, strict=False)
        with torch.no_grad():
            return m(x)

    expected, raised = outcome(module_output)
    r = run_tshape("linear", *args)
    assert_agrees(r, expected, raised, rel=1e-6)


def test_the_oracle_reads_literals_as_python_does():
    # the reference the properties rely on, checked against plain Python and torch
    assert reference_value("[1, 2.5]") == [1, 2.5]
    assert reference_value("(True, -1)") == (True, -1)
    assert math.isnan(reference_value("[nan]")[0])
    assert reference_value("zeros(2)") is NOT_A_LITERAL
    assert reference_value("__import__('os')") is NOT_A_LITERAL
    assert torch_accepts([[1], [2, 3]]) is None
    assert torch_accepts([2**63]) is None
    assert_same_tensor(torch_accepts((1, True)), torch.tensor([1, 1]))

"""TENSOR arguments: literals, constructors, files, standard input, and their limits."""

from __future__ import annotations

import math
import time

import pytest
import torch
from conftest import (
    assert_one_line,
    assert_tensor,
    dtype_name,
    numbers_in,
    parse_literal,
    plain_summary,
    torch_layout,
    values_equal,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorshape_cli import settings as tshape_settings
from tensorshape_cli.inputs import load_tensor

INT64_MAX = 2**63 - 1


def read_x(tshape, spec: str, *extra: str, input: str | None = None) -> dict:
    """Read one TENSOR through the CLI and return its TensorInfo from the JSON output."""
    r = tshape("unsqueeze", spec, "--dim", "0", "--json", *extra, input=input)
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    return r.doc["inputs"]["x"]


def refused(tshape, spec: str, *extra: str, input: str | None = None) -> str:
    """The command line is refused with exit 2 and one line on stderr; returns that line."""
    r = tshape("unsqueeze", spec, "--dim", "0", "--json", *extra, input=input)
    assert r.code == 2, (r.code, r.stdout[:300], r.stderr)
    assert r.stdout == ""
    assert_one_line(r.stderr)
    return r.stderr


# --- literals and dtype inference --------------------------------------------------------

LITERALS = [
    "[1, 2, 3]",
    "[1.5, 2]",
    "[[1.5, 2], [3, 4]]",
    "[true, false]",
    "[True, False]",
    "[1, 2.5]",
    "[True, 2]",
    "[True, 2.5]",
    "[False, 1, 2.0]",
    "(1, 2)",
    "[(1, 2), (3, 4)]",
    "[[1, 2], [3, 4]]",
    "[[[1], [2]], [[3], [4]]]",
    "7",
    "2.5",
    "True",
    "[1e3, 2]",
    "[-1, +2]",
    "[1., .5]",
    "[]",
    "[[]]",
    "[9223372036854775807, -9223372036854775808]",
]


@pytest.mark.parametrize("literal", LITERALS)
def test_literal_dtype_and_values_as_torch_tensor(tshape, literal):
    expected = torch.tensor(parse_literal(literal))
    info = read_x(tshape, literal)
    assert_tensor(info, expected)


def test_json_and_python_style_give_the_same_tensor(tshape):
    as_json = read_x(tshape, "[[1, 2.5], [true, false]]")
    as_python = read_x(tshape, "((1, 2.5), (True, False))")
    expected = torch.tensor([[1, 2.5], [True, False]])
    assert_tensor(as_json, expected)
    assert_tensor(as_python, expected)


def test_nan_and_infinities(tshape):
    expected = torch.tensor([math.nan, math.inf, -math.inf])
    for literal in ("[nan, inf, -inf]", "[NaN, Infinity, -Infinity]"):
        info = read_x(tshape, literal)
        assert_tensor(info, expected)


def test_int64_boundaries_are_accepted(tshape):
    literal = f"[{INT64_MAX}, {-INT64_MAX - 1}]"
    info = read_x(tshape, literal)
    assert_tensor(info, torch.tensor([INT64_MAX, -INT64_MAX - 1]))
    assert info["dtype"] == "int64"


@pytest.mark.parametrize(
    ("literal", "dtype"),
    [
        ("[1, 2]", "float64"),
        ("[1.7, -2.2]", "int32"),
        ("[0, 2, 0]", "bool"),
        ("[1.5, 2]", "float16"),
        ("[1.5, 2]", "bfloat16"),
        ("[1, 200]", "uint8"),
        ("[true, false]", "float32"),
        ("[[1, 2], [3, 4]]", "int16"),
    ],
)
def test_dtype_option_overrides_inference(tshape, literal, dtype):
    expected = torch.tensor(parse_literal(literal), dtype=getattr(torch, dtype))
    info = read_x(tshape, literal, "--dtype", dtype)
    assert_tensor(info, expected)


def test_dtype_option_applies_to_every_tensor_read(tshape):
    r = tshape(
        "linear",
        "[[1, 2, 3]]",
        "-W",
        "[[1, 0, 0], [0, 1, 0]]",
        "-b",
        "[1, 2]",
        "--dtype",
        "float64",
        "--json",
    )
    assert r.code == 0, r.stderr
    doc = r.doc
    assert doc["inputs"]["x"]["dtype"] == "float64"
    assert doc["inputs"]["weight"]["dtype"] == "float64"
    assert doc["inputs"]["bias"]["dtype"] == "float64"


def test_unknown_dtype_is_a_usage_error(tshape):
    r = tshape("unsqueeze", "[1]", "--dtype", "float8")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "float8" in r.stderr


# --- constructors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "make"),
    [
        ("zeros(2, 3)", lambda: torch.zeros(2, 3)),
        ("zeros((2, 3))", lambda: torch.zeros(2, 3)),
        ("zeros([2, 3])", lambda: torch.zeros(2, 3)),
        ("ones(2, 3)", lambda: torch.ones(2, 3)),
        ("ones(4)", lambda: torch.ones(4)),
        ("arange(6)", lambda: torch.arange(6)),
        ("arange(1, 13)", lambda: torch.arange(1, 13)),
        ("arange(1,13)", lambda: torch.arange(1, 13)),
        ("arange(0, 1, 0.25)", lambda: torch.arange(0, 1, 0.25)),
        ("arange(10, 0, -3)", lambda: torch.arange(10, 0, -3)),
        ("eye(3)", lambda: torch.eye(3)),
        ("eye(2, 3)", lambda: torch.eye(2, 3)),
        ("torch.ones(2)", lambda: torch.ones(2)),
        ("zeros(2, 0, 3)", lambda: torch.zeros(2, 0, 3)),
    ],
)
def test_constructors_match_torch(tshape, spec, make):
    assert_tensor(read_x(tshape, spec), make())


@pytest.mark.parametrize(
    ("spec", "dtype", "make"),
    [
        ("arange(6)", "float32", lambda: torch.arange(6, dtype=torch.float32)),
        ("zeros(2, 2)", "int64", lambda: torch.zeros(2, 2, dtype=torch.int64)),
        ("eye(2)", "bool", lambda: torch.eye(2, dtype=torch.bool)),
    ],
)
def test_constructors_honour_dtype(tshape, spec, dtype, make):
    assert_tensor(read_x(tshape, spec, "--dtype", dtype), make())


@pytest.mark.parametrize(
    ("spec", "seed", "dtype", "draw"),
    [
        ("rand(2, 3)", 0, None, lambda: torch.rand(2, 3)),
        ("rand(4)", 42, None, lambda: torch.rand(4)),
        ("randn(2, 3)", 1, None, lambda: torch.randn(2, 3)),
        ("randn(3, 1, 2)", 123, None, lambda: torch.randn(3, 1, 2)),
        ("rand(2, 3)", 5, "float64", lambda: torch.rand(2, 3, dtype=torch.float64)),
    ],
)
def test_random_constructors_follow_manual_seed(tshape, spec, seed, dtype, draw):
    extra = ["--seed", str(seed)] + (["--dtype", dtype] if dtype else [])
    info = read_x(tshape, spec, *extra)
    torch.manual_seed(seed)
    assert_tensor(info, draw())


def test_random_constructors_are_reproducible_under_a_seed(tshape):
    first = read_x(tshape, "randn(5)", "--seed", "7")
    second = read_x(tshape, "randn(5)", "--seed", "7")
    other = read_x(tshape, "randn(5)", "--seed", "8")
    assert first["values"] == second["values"]
    assert first["values"] != other["values"]


def test_random_constructors_without_seed_differ(tshape):
    a = read_x(tshape, "rand(8)")
    b = read_x(tshape, "rand(8)")
    assert a["values"] != b["values"]
    assert all(0.0 <= v < 1.0 for v in a["values"] + b["values"])


def test_two_random_tensors_continue_one_seeded_stream(tshape):
    # torch.manual_seed(4); x = torch.rand(3, 2, 2); w = torch.rand(3, 2)
    r = tshape("weighted", "rand(3, 2, 2)", "-w", "rand(3, 2)", "--seed", "4", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(4)
    x = torch.rand(3, 2, 2)
    w = torch.rand(3, 2)
    assert_tensor(r.doc["inputs"]["x"], x)
    assert_tensor(r.doc["inputs"]["weights"], w)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("zeroes(2, 3)", "zeroes"),
        ("foo(1)", "foo"),
        ("full(2, 3)", "full"),
    ],
)
def test_unknown_constructor(tshape, spec, fragment):
    line = refused(tshape, spec)
    assert fragment in line
    # the known constructors are named, so the user can pick one
    assert "zeros" in line
    assert "arange" in line


def test_unknown_constructor_suggests_the_close_one(tshape):
    line = refused(tshape, "zeroes(2, 3)")
    assert "'zeros'" in line or "zeros?" in line or "did you mean" in line


@pytest.mark.parametrize("spec", ["zeros(-1)", "zeros(2.5)", "arange(1, 2, 0)", "eye(3, 4, 5)", "arange()"])
def test_bad_constructor_arguments(tshape, spec):
    refused(tshape, spec)


# --- files and standard input ---------------------------------------------------------------


def test_at_file_with_json(tshape, tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[1, 2], [3, 4]]\n")
    assert_tensor(read_x(tshape, f"@{path}"), torch.tensor([[1, 2], [3, 4]]))


def test_json_path_without_at(tshape, tmp_path):
    path = tmp_path / "weights.json"
    path.write_text("[[1.5, 2], [3, 4]]")
    assert_tensor(read_x(tshape, str(path)), torch.tensor([[1.5, 2], [3, 4]]))


def test_at_file_with_python_literal(tshape, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("(1, 2.5)\n")
    assert_tensor(read_x(tshape, f"@{path}"), torch.tensor((1, 2.5)))


def test_at_file_with_a_constructor(tshape, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("arange(1, 7)\n")
    assert_tensor(read_x(tshape, f"@{path}"), torch.arange(1, 7))


def test_at_file_with_utf8_bom(tshape, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes("\ufeff[1, 2]".encode())
    assert_tensor(read_x(tshape, f"@{path}"), torch.tensor([1, 2]))


def test_missing_file(tshape, tmp_path):
    path = tmp_path / "nope.json"
    for spec in (f"@{path}", str(path)):
        line = refused(tshape, spec)
        assert str(path) in line


def test_directory(tshape, tmp_path):
    line = refused(tshape, f"@{tmp_path}")
    assert str(tmp_path) in line
    assert "directory" in line


def test_empty_file(tshape, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("  \n")
    assert str(path) in refused(tshape, f"@{path}")


def test_binary_file(tshape, tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x80\x81\xff\x00\x01")
    assert str(path) in refused(tshape, f"@{path}")


def test_existing_file_without_at_is_not_read_silently(tshape, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("[1, 2]")
    line = refused(tshape, str(path))
    assert "@" in line


def test_stdin(tshape):
    info = read_x(tshape, "-", input="[[1, 2], [3, 4]]\n")
    assert_tensor(info, torch.tensor([[1, 2], [3, 4]]))


def test_stdin_python_literal(tshape):
    info = read_x(tshape, "-", input="((0.5, 1), (True, 2))")
    assert_tensor(info, torch.tensor(((0.5, 1), (True, 2))))


def test_stdin_as_weights(tshape):
    r = tshape("weighted", "-w", "-", "--json", input="[[1, 2], [3, 4], [5, 6]]")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["inputs"]["weights"], torch.tensor([[1, 2], [3, 4], [5, 6]]))


def test_empty_stdin(tshape):
    refused(tshape, "-", input="")


def test_stdin_read_twice_is_refused(tshape):
    r = tshape("weighted", "-", "-w", "-", "--json", input="[[[1]]]")
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)


# --- malformed literals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "row", "count"),
    [
        ("[[1, 2], [3]]", 1, 1),
        ("[[1], [2, 3]]", 1, 2),
        ("[[1, 2], [3, 4], [5]]", 2, 1),
    ],
)
def test_ragged_rows(tshape, literal, row, count):
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        torch.tensor(parse_literal(literal))
    line = refused(tshape, literal)
    assert f"row {row} has {count} element" in line


@pytest.mark.parametrize(
    "literal",
    [
        "[[1, 2], 3]",
        "[[1, 2], [[3], 4]]",
        "[1, 'a']",
        "[1, null]",
        "[1, None]",
        "[1+2j]",
        "{}",
        '"abc"',
        "abc",
    ],
)
def test_not_a_tensor(tshape, literal):
    line = refused(tshape, literal)
    assert line.startswith("tshape: ")


@pytest.mark.parametrize("literal", ["[1,,2]", "[1, 2", "[[1, 2], [3, 4]]]", "[1 2]", "[1, 2]]"])
def test_bad_syntax(tshape, literal):
    line = refused(tshape, literal)
    assert line.startswith("tshape: x")


@pytest.mark.parametrize(
    "literal",
    [
        "[__import__('os').getcwd()]",
        "__import__('os')",
        "(lambda: 1)()",
        "[1]*3",
        "[open('/etc/passwd')]",
    ],
)
def test_code_is_never_evaluated(tshape, literal):
    refused(tshape, literal)


@pytest.mark.parametrize(
    "literal",
    [
        "[9223372036854775808]",
        "[-9223372036854775809]",
        "9223372036854775808",
        "(9223372036854775808,)",
        "[[1, 2], [3, 99999999999999999999999]]",
        "[" + "1" * 5000 + "]",
    ],
)
def test_integers_beyond_int64(tshape, literal):
    # torch refuses them too (the 5000-digit one stands for 10**4999)
    value = parse_literal(literal) if len(literal) < 4000 else [10**4999]
    with pytest.raises((RuntimeError, OverflowError, ValueError), match=r"(?i)overflow"):
        torch.tensor(value)
    refused(tshape, literal)


# --- limits ---------------------------------------------------------------------------------


def test_max_elements_for_constructors(tshape):
    assert_tensor(read_x(tshape, "arange(12)", "--max-elements", "12"), torch.arange(12))
    line = refused(tshape, "arange(12)", "--max-elements", "11")
    assert {"12", "11"} <= numbers_in(line)


def test_max_elements_for_literals(tshape):
    assert_tensor(read_x(tshape, "[1, 2, 3, 4, 5]", "--max-elements", "5"), torch.tensor([1, 2, 3, 4, 5]))
    line = refused(tshape, "[1, 2, 3, 4, 5, 6]", "--max-elements", "5")
    assert {"6", "5"} <= numbers_in(line)


def test_max_elements_is_checked_before_torch_allocates(tshape, monkeypatch):
    calls = []

    def spy(name):
        real = getattr(torch, name)

        def wrapper(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return wrapper

    for name in ("zeros", "ones", "rand", "randn", "empty", "arange", "eye", "tensor"):
        monkeypatch.setattr(torch, name, spy(name))
    for spec in ("zeros(50, 51)", "rand(51, 50)", "randn(2501)", "eye(51)", "arange(2501)", "ones(2501)"):
        refused(tshape, spec, "--max-elements", "2500")
    refused(tshape, "[" + ", ".join(["1"] * 2501) + "]", "--max-elements", "2500")
    assert calls == []


@pytest.mark.parametrize(
    "spec", ["zeros(100000, 100000)", "rand(100000, 100000)", "arange(1e12)", "eye(200000)"]
)
def test_huge_constructors_are_refused_quickly(tshape, spec):
    start = time.perf_counter()
    line = refused(tshape, spec)
    assert time.perf_counter() - start < 3
    assert "10000000" in numbers_in(line)  # the default limit is named


@pytest.mark.parametrize(
    "literal",
    [
        "[" * 100_000 + "]" * 100_000,
        "[" * 100_000,
        "(" * 100_000 + ")" * 100_000,
        "[ " * 100_000 + "]" * 100_000,
        "[0, " + "[" * 100_000 + "]" * 100_000 + "]",
        "[0, " + "(" * 100_000 + ")" * 100_000 + "]",
    ],
)
def test_deep_nesting_fails_fast(tshape, literal):
    start = time.perf_counter()
    refused(tshape, literal)
    assert time.perf_counter() - start < 3


def test_deep_nesting_from_stdin_fails_fast(tshape):
    start = time.perf_counter()
    refused(tshape, "-", input="[" * 100_000 + "]" * 100_000)
    assert time.perf_counter() - start < 3


def test_nesting_torch_accepts_is_read(tshape):
    literal = "[" * 8 + "1" + "]" * 8
    info = read_x(tshape, literal)
    assert_tensor(info, torch.tensor(parse_literal(literal)))


def test_dtype_name_helper_agrees_with_torch():
    # the helper every comparison relies on
    assert dtype_name(torch.tensor([1.5])) == "float32"
    assert values_equal([1.0, "nan"], [1.0, math.nan])
    assert not values_equal([1, 2], [1.0, 2.0])


@pytest.mark.parametrize("literal", [lit for lit in LITERALS if lit not in ("[]", "[[]]")])
def test_literal_plain(tshape, literal):
    expected = torch.tensor(parse_literal(literal))
    r = tshape("unsqueeze", literal, "--dim", "0", "-f", "plain")
    assert r.code == 0, r.stderr
    assert plain_summary(expected) in r.stdout
    assert torch_layout(expected) in r.stdout


@pytest.mark.parametrize(
    ("spec", "make"),
    [
        ("arange(1, 13)", lambda: torch.arange(1, 13)),
        ("eye(3)", lambda: torch.eye(3)),
        ("arange(0, 1, 0.25)", lambda: torch.arange(0, 1, 0.25)),
        ("rand(2, 3)", lambda: torch.rand(2, 3)),
    ],
)
def test_constructor_plain(tshape, spec, make):
    r = tshape("unsqueeze", spec, "--dim", "0", "--seed", "11", "-f", "plain")
    assert r.code == 0, r.stderr
    torch.manual_seed(11)
    expected = make()
    assert plain_summary(expected) in r.stdout
    assert torch_layout(expected) in r.stdout


# --- tensors pasted as code writes them and as torch prints them ---------------------------------

# The oracle for code: the same text run by Python on torch (eval, in the test only, on this
# fixed list), under any module alias, after the same manual_seed.
CONSTRUCTOR_NAMES = ("tensor", "zeros", "ones", "arange", "eye", "rand", "randn")
ORACLE_NAMES = {"torch": torch, "tr": torch, "t": torch, "th": torch, "nan": math.nan, "inf": math.inf}
ORACLE_NAMES |= {name: getattr(torch, name) for name in CONSTRUCTOR_NAMES}

AS_CODE_WRITES_IT = [
    "torch.tensor([1, 2, 3])",
    "tr.tensor([[1, 2], [3, 4]])",
    "t.tensor((1.5, 2))",
    "tensor([[1., 2.], [3., 4.]])",
    "tensor(7)",
    "tensor(-2.5)",
    "tensor([True, False])",
    "tensor([nan, inf, -inf])",
    "torch.tensor([1, 2, 3], dtype=torch.int32)",
    "torch.tensor([1.7, -2.2], dtype=torch.int64)",
    "torch.tensor([[1, 2]], dtype=torch.float64)",
    "torch.tensor([1, 0], dtype=torch.bool)",
    "torch.tensor([1.5, 2], dtype=torch.float16)",
    "torch.tensor([1.5, 2], dtype=torch.bfloat16)",
    "torch.tensor([1, 200], dtype=torch.uint8)",
    "torch.tensor([1, 2], dtype=torch.long)",
    "torch.tensor([1, 2], dtype=torch.float)",
    "torch.tensor([1, 2], dtype=torch.double)",
    "torch.tensor([1.0, 2.0], requires_grad=True)",
    "torch.tensor([1, 2], device='cpu')",
    "torch.zeros(2, 3)",
    "torch.zeros((2, 3), dtype=torch.int32)",
    "torch.zeros(size=(2, 3))",
    "torch.ones(4, dtype=torch.float64)",
    "torch.eye(3, dtype=torch.int64)",
    "torch.arange(12, dtype=torch.float32)",
    "arange(12).reshape(3, 4)",
    "arange(12).reshape((3, -1))",
    "arange(12).reshape(2, 6)",
    "torch.arange(24).float()",
    "torch.arange(24).view(2, 3, 4).permute(2, 0, 1)",
    "torch.arange(24).view(2, 3, 4).transpose(0, 2)",
    "torch.arange(6).reshape(2, 3).T",
    "torch.arange(6).reshape(2, 3).t()",
    "torch.arange(24).reshape(2, 3, 4).mT",
    "torch.arange(6).reshape(2, 3).T.contiguous()",
    "torch.arange(6).unsqueeze(0).unsqueeze(-1)",
    "torch.zeros(2, 1, 3).squeeze()",
    "torch.zeros(2, 1, 3).squeeze(1)",
    "torch.zeros(2, 3, 4).flatten(1)",
    "torch.zeros(2, 3, 4).flatten(start_dim=0, end_dim=1)",
    "torch.arange(6).double()",
    "torch.arange(6).half()",
    "torch.arange(6).bfloat16()",
    "torch.arange(6).float().int()",
    "torch.arange(6).long()",
    "torch.arange(6).short()",
    "torch.arange(6).char()",
    "torch.arange(6).byte()",
    "torch.arange(6).bool()",
    "torch.arange(6).to(torch.float64)",
    "torch.arange(6).to(dtype=torch.int16)",
    "tensor([[1, 2], [3, 4]]).T",
    "torch.tensor([[1, 2, 3]]).reshape(-1)",
    "torch.arange(24).reshape(2, 3, 4).T",
]


@pytest.mark.filterwarnings("ignore:The use of `x.T`")  # torch's, in the oracle's own eval
@pytest.mark.parametrize("text", AS_CODE_WRITES_IT)
def test_code_as_written_is_the_tensor_torch_makes(tshape, text):
    torch.manual_seed(3)
    expected = eval(text, {"__builtins__": {}}, ORACLE_NAMES)
    assert_tensor(read_x(tshape, text, "--seed", "3"), expected)


@pytest.mark.parametrize(
    "text",
    ["torch.randn(2, 3).T", "t.rand(3, 2).reshape(-1)", "torch.randn(2, 3, dtype=torch.float64).mT"],
)
def test_random_constructors_with_methods_follow_the_seed(tshape, text):
    torch.manual_seed(11)
    expected = eval(text, {"__builtins__": {}}, ORACLE_NAMES)
    assert_tensor(read_x(tshape, text, "--seed", "11"), expected)


PRINTED = [
    torch.tensor([1, 2, 3]),
    torch.tensor([1, 2, 3], dtype=torch.int32),
    torch.tensor([[-1, 2], [3, 4]], dtype=torch.int16),
    torch.tensor([1, 2], dtype=torch.int8),
    torch.tensor([1, 200], dtype=torch.uint8),
    torch.tensor([[1.5, -2.25], [3.0, 4.0]]),
    torch.tensor([1.5, 2.0], dtype=torch.float64),
    torch.tensor([1.5, 2.0], dtype=torch.float16),
    torch.tensor([1.5, 2.0], dtype=torch.bfloat16),
    torch.tensor([True, False]),
    torch.tensor([math.nan, math.inf, -math.inf]),
    torch.tensor([1e10, 1.0]),
    torch.tensor(3.5),
    torch.tensor(7, dtype=torch.int32),
    torch.zeros(0, 3),
    torch.zeros(2, 0, dtype=torch.int32),
    torch.ones(2, 2, 3),
]


@pytest.mark.parametrize("tensor", PRINTED, ids=repr)
def test_torch_printed_form_is_read_back(tshape, tensor):
    # what torch prints, pasted: the same tensor comes back
    assert_tensor(read_x(tshape, repr(tensor)), tensor)


def test_printed_forms_of_autograd_results_are_read_back(tshape):
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    result = leaf * 2
    for tensor in (leaf, result):
        printed = repr(tensor)
        assert "requires_grad=True" in printed or "grad_fn=<" in printed
        assert_tensor(read_x(tshape, printed), tensor.detach())


def test_printed_meta_tensor_is_read_as_a_shape_only_tensor(tshape):
    tensor = torch.empty(2, 3, dtype=torch.int32, device="meta")
    printed = repr(tensor)  # tensor(..., device='meta', size=(2, 3), dtype=torch.int32)
    info = read_x(tshape, printed)
    assert_tensor(info, tensor, values=False)
    assert info["values"] is None


def test_multi_line_printout_is_read(tshape):
    tensor = torch.arange(24).reshape(2, 3, 4)
    assert "\n" in repr(tensor)
    assert_tensor(read_x(tshape, repr(tensor)), tensor)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("arange(12).repeat(2)", "repeat"),
        ("arange(12).sum()", "sum"),
        ("arange(12).shape", "shape"),
        ("arange(12) + 1", "arange(12) + 1"),
        ("torch.tensor([1, 2]) * 2", "torch.tensor([1, 2]) * 2"),
        ("tensor([1], device='cuda:0')", "cuda:0"),
        ("tensor([1], dtype=torch.complex64)", "complex64"),
        ("tensor([1], dtype='int32')", "'int32'"),
        ("tensor([1], layout=torch.strided)", "layout"),
        ("torch.zeros(2, out=x)", "out"),
        ("torch.arange(3, size=(3,))", "size"),
        ("tensor([1, 2], size=(3,))", "size=(3,)"),
        ("tensor([1], [2])", "tensor()"),
        ("tensor()", "tensor()"),
        ("torch.nn.functional.relu(x)", "torch.nn.functional.relu"),
        ("torch.full((2, 3), 1.5)", "full"),
        ("arange(6).view(2, n)", "'n'"),
        ("arange(6).view(2, 3.0)", "'3.0'"),
        ("arange(6).to('cuda')", "'cuda'"),
        ("arange(6).to(torch.float64, torch.int32)", ".to()"),
        ("arange(6).flatten(out=1)", "out"),
        ("arange(12).reshape(2, *s)", "*s"),
        ("tensor([   0,    1,    2,  ..., 997, 998, 999])", "..."),
        ("arange(6)" + ".float()" * 40, "32"),
    ],
)
def test_what_is_not_read_is_refused_by_name(tshape, text, named):
    line = refused(tshape, text)
    assert named in line, line


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("arange(12).reshape(5, 3)", lambda: torch.arange(12).reshape(5, 3)),
        ("arange(12).reshape(2, -1, -1)", lambda: torch.arange(12).reshape(2, -1, -1)),
        ("arange(6).reshape(2, 3).T.view(-1)", lambda: torch.arange(6).reshape(2, 3).T.view(-1)),
        ("arange(6).permute(1, 0)", lambda: torch.arange(6).permute(1, 0)),
        ("arange(6).mT", lambda: torch.arange(6).mT),
        ("arange(6).unsqueeze(5)", lambda: torch.arange(6).unsqueeze(5)),
    ],
)
def test_a_method_torch_refuses_is_refused_with_torch_words(tshape, text, call):
    with pytest.raises((RuntimeError, IndexError, ValueError)) as torch_says:
        call()
    line = refused(tshape, text)
    assert str(torch_says.value).splitlines()[0] in line
    method = text[text.rindex(".") :].split("(")[0]  # .reshape, .mT: the construct is named
    assert method in line


@pytest.mark.parametrize(
    "text",
    [
        "arange(12).reshape(2, 6).view(5, x)",
        "zeros(2, y).float()",
        "arange(12).reshape(2, 6)).T",
        "ones(2, 3",
    ],
)
def test_no_message_quotes_a_fragment_cut_at_a_comma(tshape, text):
    line = refused(tshape, text)
    for fragment in text.split(","):
        # a piece of the text cut at a comma, as the old reader quoted it ("got '12).reshape(2'")
        if fragment.count("(") != fragment.count(")"):
            assert f"'{fragment.strip()}'" not in line, line


def test_methods_keep_the_element_limit_checked_before_allocation(tshape, monkeypatch):
    calls = []
    real = torch.arange

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "arange", spy)
    line = refused(tshape, "torch.arange(2501).reshape(50, -1).float()", "--max-elements", "2500")
    assert {"2501", "2500"} <= numbers_in(line)
    assert calls == []
    info = read_x(
        tshape, "torch.arange(2500).reshape(50, -1).T", "--max-elements", "2500", "--max-values", "2500"
    )
    assert_tensor(info, real(2500).reshape(50, -1).T)


def test_dtype_option_converts_what_the_text_makes(tshape):
    cases = [
        ("arange(6).float()", "int32", torch.arange(6, dtype=torch.int32).float().to(torch.int32)),
        ("tensor([1.7, 2.2], dtype=torch.float64)", "int64", torch.tensor([1.7, 2.2]).double().long()),
        ("tensor([1, 2])", "float64", torch.tensor([1, 2], dtype=torch.float64)),
    ]
    for text, dtype, expected in cases:
        assert_tensor(read_x(tshape, text, "--dtype", dtype), expected)


def test_meta_option_keeps_the_methods_strides(tshape):
    expected = torch.empty(12, device="meta").reshape(3, 4).T
    info = read_x(tshape, "arange(12, dtype=torch.float32).reshape(3, 4).T", "--meta")
    assert_tensor(info, expected, values=False)
    assert info["values"] is None


def test_a_transposed_input_makes_view_fail_as_in_torch(tshape):
    with pytest.raises(RuntimeError):
        torch.arange(6).reshape(2, 3).T.view(-1)
    r = tshape("view", "arange(6).reshape(2, 3).T", "--shape", "-1", "--json")
    assert r.code == 1, r.stderr
    assert r.doc["error"]["kind"] == "view_not_contiguous"


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=3),
    dtype=st.sampled_from([torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool]),
    seed=st.integers(0, 2**16),
)
def test_any_printed_integer_tensor_is_read_back(shape, dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    tensor = torch.randint(0, 100, shape, generator=generator).to(dtype)
    with tshape_settings.use(tshape_settings.Settings()):
        got = load_tensor(repr(tensor), "x")
    assert got.shape == tensor.shape
    assert got.dtype == tensor.dtype
    assert torch.equal(got, tensor)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    perm_seed=st.integers(0, 1000),
    to_float=st.booleans(),
)
def test_any_reshape_permute_chain_is_what_torch_gives(sizes, perm_seed, to_float):
    numel = math.prod(sizes)
    perm = torch.randperm(len(sizes), generator=torch.Generator().manual_seed(perm_seed)).tolist()
    dims = ", ".join(map(str, sizes))
    text = f"torch.arange({numel}).reshape({dims}).permute({', '.join(map(str, perm))})"
    expected = torch.arange(numel).reshape(sizes).permute(perm)
    if to_float:
        text += ".float()"
        expected = expected.float()
    with tshape_settings.use(tshape_settings.Settings()):
        got = load_tensor(text, "x")
    assert got.shape == expected.shape
    assert got.stride() == expected.stride()
    assert got.dtype == expected.dtype
    assert torch.equal(got, expected)

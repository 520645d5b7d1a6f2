"""tshape expr: a whole expression step by step, checked against torch; every refused construct;
failures pinned to the subexpression that fails."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor, bind, run_tshape, values_equal
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load(name: str) -> torch.Tensor:
    return torch.tensor(json.loads((EXAMPLES / name).read_text()))


def steps_by_code(doc) -> dict[str, dict]:
    return {s["code"]: s for s in doc["steps"]}


# --- the README's three expressions --------------------------------------------------------


def test_weighted_layer_as_one_expression(tshape):
    x, w = load("x.json"), load("weights.json")
    expected = (x * w.view(3, 1, -1)).sum(0)
    r = tshape(
        "expr",
        "(x * w.view(3, 1, -1)).sum(0)",
        "-t",
        f"x=@{EXAMPLES}/x.json",
        "-t",
        f"w=@{EXAMPLES}/weights.json",
        "--json",
    )
    assert r.code == 0, r.stdout
    doc = r.doc
    assert_schema(doc)
    assert doc["op"] == "expr"
    assert_tensor(doc["result"], expected)
    # innermost first: the inputs, then each subexpression, each with torch's own tensor
    codes = [s["code"] for s in doc["steps"]]
    assert codes == ["x", "w", "w.view(3, 1, -1)", "x * w.view(3, 1, -1)", "(x * w.view(3, 1, -1)).sum(0)"]
    steps = steps_by_code(doc)
    assert_tensor(steps["w.view(3, 1, -1)"]["tensor"], w.view(3, 1, -1))
    assert_tensor(steps["x * w.view(3, 1, -1)"]["tensor"], x * w.view(3, 1, -1))
    table = steps["x * w.view(3, 1, -1)"]["table"]
    assert table["columns"][1:3] == ["x", "w.view(3, 1, -1)"]
    # the same result as tshape weighted on the same files
    weighted = tshape(
        "weighted", str(EXAMPLES / "x.json"), "--weights", str(EXAMPLES / "weights.json"), "--json"
    )
    assert weighted.doc["result"]["values"] == doc["result"]["values"]


def test_linear_by_hand(tshape):
    x, w, b = load("linear_x.json"), load("linear_weight.json"), load("linear_bias.json")
    expected = x @ w.T + b
    files = [
        f"x=@{EXAMPLES}/linear_x.json",
        f"w=@{EXAMPLES}/linear_weight.json",
        f"b=@{EXAMPLES}/linear_bias.json",
    ]
    r = tshape("expr", "x @ w.T + b", *[a for f in files for a in ("-t", f)], "--json")
    assert r.code == 0, r.stdout
    assert_tensor(r.doc["result"], expected)
    steps = steps_by_code(r.doc)
    assert_tensor(steps["w.T"]["tensor"], w.T)
    assert_tensor(steps["x @ w.T"]["tensor"], x @ w.T)
    assert any(row[0] == "k" for row in steps["x @ w.T"]["table"]["rows"])
    linear = tshape(
        "linear",
        str(EXAMPLES / "linear_x.json"),
        "--weight",
        str(EXAMPLES / "linear_weight.json"),
        "--bias",
        str(EXAMPLES / "linear_bias.json"),
        "--json",
    )
    assert linear.code == 0
    assert torch.allclose(
        torch.tensor(linear.doc["result"]["values"]), torch.tensor(r.doc["result"]["values"])
    )


def test_view_after_transpose_fails_at_the_view_and_says_why(tshape):
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(RuntimeError):
        x.transpose(0, 1).view(-1)
    r = tshape("expr", "x.transpose(0, 1).view(-1)", "-t", "x=[[1,2,3],[4,5,6]]", "--json")
    assert r.code == 1
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    failing = doc["steps"][-1]
    assert failing["code"] == "x.transpose(0, 1).view(-1)"
    assert failing["title"].startswith("Fails here")
    assert_tensor(failing["tensor"], x.transpose(0, 1))  # the operand, as torch has it
    error = doc["error"]
    assert error["kind"] == "view_not_contiguous"
    xt = x.transpose(0, 1)
    assert (
        f"stride[0] = {xt.stride(0)}, but stride[1] × size[1] = {xt.stride(1)} × {xt.shape[1]}"
        in error["message"]
    )
    assert "x.transpose(0, 1).reshape(-1)" in error["hint"]
    assert "x.transpose(0, 1).contiguous().view(-1)" in error["hint"]
    # and the step before it worked
    assert_tensor(doc["steps"][-2]["tensor"], xt)


def test_failure_in_plain_points_at_the_subexpression(tshape):
    r = tshape("expr", "x.transpose(0, 1).view(-1)", "-t", "x=[[1,2,3],[4,5,6]]", "-f", "plain")
    assert r.code == 1
    lines = r.stdout.splitlines()
    i = lines.index("    x.transpose(0, 1).view(-1)")
    assert lines[i + 1] == "    " + " " * len("x.transpose(0, 1)") + "^" * len(".view(-1)")


# --- failures pinned to the right subexpression ---------------------------------------------


@pytest.mark.parametrize(
    ("expression", "bindings", "code", "kind"),
    [
        ("x * w", ["x=zeros(3, 2, 2)", "w=ones(3, 2)"], "x * w", "broadcast_mismatch"),
        (
            "(x * w.view(3, 1, -1)).sum(0)",
            ["x=zeros(3, 2, 4)", "w=ones(3, 2)"],
            "x * w.view(3, 1, -1)",
            "broadcast_mismatch",
        ),
        ("(x + y.view(2, 3)).sum(0)", ["x=zeros(2, 3)", "y=arange(5)"], "y.view(2, 3)", "view_size_mismatch"),
        ("x @ w + 1", ["x=ones(2, 3)", "w=ones(4, 3)"], "x @ w", "matmul_mismatch"),
        ("torch.matmul(x, w)", ["x=ones(2, 3)", "w=ones(4, 3)"], "torch.matmul(x, w)", "matmul_mismatch"),
        (
            "torch.cat((x, y), dim=1).sum()",
            ["x=zeros(2, 3)", "y=zeros(3, 3)"],
            "torch.cat((x, y), dim=1)",
            "cat_mismatch",
        ),
        ("torch.stack([x, y])", ["x=zeros(2, 3)", "y=zeros(3, 2)"], "torch.stack([x, y])", "stack_mismatch"),
        ("x.sum(3) + 1", ["x=zeros(2, 3)"], "x.sum(3)", "dim_out_of_range"),
        ("x.squeeze(5)", ["x=zeros(2, 1)"], "x.squeeze(5)", "dim_out_of_range"),
        ("x.unsqueeze(4).T", ["x=zeros(2, 1)"], "x.unsqueeze(4)", "dim_out_of_range"),
        ("x.permute(0, 0)", ["x=zeros(2, 1)"], "x.permute(0, 0)", "dim_repeated"),
        ("x.flatten(1, 0)", ["x=zeros(2, 1)"], "x.flatten(1, 0)", "flatten_order"),
        ("x.expand(4, 3)", ["x=zeros(2, 1)"], "x.expand(4, 3)", "expand_mismatch"),
        ("torch.broadcast_to(x, (3, 3))", ["x=zeros(2)"], "torch.broadcast_to(x, (3, 3))", "expand_mismatch"),
        ("x.mean(0)", ["x=[1, 2, 3]"], "x.mean(0)", "mean_dtype"),
        ("x.transpose(0, 2)", ["x=zeros(2, 1)"], "x.transpose(0, 2)", "dim_out_of_range"),
        ("x.float().view(4)", ["x=[[1, 2, 3]]"], "x.float().view(4)", "view_size_mismatch"),
        ("x[5]", ["x=[1, 2, 3]"], "x[5]", "torch_error"),
        ("x + 1 / 0", ["x=[1.0]"], "1 / 0", "expr_zero_division"),
    ],
)
def test_failure_is_pinned(tshape, expression, bindings, code, kind):
    r = tshape("expr", expression, *[a for b in bindings for a in ("-t", b)], "--json")
    assert r.code == 1, (r.code, r.stderr)
    doc = r.doc
    assert_schema(doc)
    assert doc["result"] is None
    assert doc["steps"][-1]["code"] == code
    assert doc["error"]["kind"] == kind
    assert doc["error"]["message"]


def test_broadcast_failure_has_the_table_and_torchs_sentence_with_the_operands_names(tshape):
    x, w = torch.zeros(3, 2, 2), torch.ones(3, 2)
    with pytest.raises(RuntimeError) as caught:
        x * w
    r = tshape("expr", "x * w", "-t", "x=zeros(3, 2, 2)", "-t", "w=ones(3, 2)", "--json")
    message = str(caught.value).replace("tensor a", "tensor x").replace("tensor b", "tensor w")
    assert r.doc["error"]["message"] == message
    table = r.doc["steps"][-1]["table"]
    assert table["columns"][1:3] == ["x", "w"]
    # the clashing dimension is data (a status), not a glyph in a cell
    assert "mismatch" in table["status"]
    assert not any("✗" in cell for row in table["rows"] for cell in row)


# --- values against torch --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "compute"),
    [
        ("x + 1", lambda x, y: x + 1),
        ("2 * -x - y / 4", lambda x, y: 2 * -x - y / 4),
        ("x[0] + y[1, :]", lambda x, y: x[0] + y[1, :]),
        ("x[:, None] * y[None, ...]", lambda x, y: x[:, None] * y[None, ...]),
        ("x[0:2, -1]", lambda x, y: x[0:2, -1]),
        ("x.unsqueeze(0).squeeze()", lambda x, y: x.unsqueeze(0).squeeze()),
        ("x.reshape(-1) @ y.flatten()", lambda x, y: x.reshape(-1) @ y.flatten()),
        ("x.permute(1, 0).contiguous().view(3, 2)", lambda x, y: x.permute(1, 0).contiguous().view(3, 2)),
        ("x.T @ y", lambda x, y: x.T @ y),
        ("torch.matmul(x, y.T)", lambda x, y: torch.matmul(x, y.T)),
        ("torch.einsum('ij,kj->ik', x, y)", lambda x, y: torch.einsum("ij,kj->ik", x, y)),
        (
            "torch.cat([x, y], dim=0).mean(dim=1, keepdim=True)",
            lambda x, y: torch.cat([x, y], 0).mean(1, keepdim=True),
        ),
        ("torch.stack((x, y), 1).sum((0, 2))", lambda x, y: torch.stack((x, y), 1).sum((0, 2))),
        ("x.expand(2, 2, 3) + torch.ones(3)", lambda x, y: x.expand(2, 2, 3) + torch.ones(3)),
        ("torch.broadcast_to(x[0], (4, 3)).int()", lambda x, y: torch.broadcast_to(x[0], (4, 3)).int()),
        (
            "torch.arange(6).view(x.size(0), -1).float() * x",
            lambda x, y: torch.arange(6).view(2, -1).float() * x,
        ),
        ("torch.zeros(2, 3) + torch.sum(x, 0)", lambda x, y: torch.zeros(2, 3) + torch.sum(x, 0)),
        (
            "torch.unsqueeze(x, 1).transpose(0, 2).flatten(1)",
            lambda x, y: x.unsqueeze(1).transpose(0, 2).flatten(1),
        ),
        ("x.view(x.shape[1], x.dim())", lambda x, y: x.view(3, 2)),
        # torch's constants and Python's complex literals are values
        (
            "torch.arange(6, dtype=torch.float64).view(2, 3) * x",
            lambda x, y: torch.arange(6, dtype=torch.float64).view(2, 3) * x,
        ),
        ("x.to(torch.int32)", lambda x, y: x.to(torch.int32)),
        ("torch.clamp(y, -torch.inf, 1.0) * torch.pi", lambda x, y: y.clamp(max=1.0) * torch.pi),
        ("x.contiguous(memory_format=torch.contiguous_format)", lambda x, y: x),
        ("(x * 2j).imag + y", lambda x, y: x * 2 + y),
    ],
)
def test_values_against_torch(tshape, expression, compute):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.25, -2.0]])
    expected = compute(x, y)
    r = tshape("expr", expression, *bind(expression, x=x.tolist(), y=y.tolist()), "--json")
    assert r.code == 0, r.stdout
    assert_schema(r.doc)
    assert_tensor(r.doc["result"], expected)
    # every step that made a tensor is shown as torch has it
    assert all(s["tensor"] is not None or s["note"] for s in r.doc["steps"])


def test_non_tensor_results(tshape):
    x = torch.zeros(2, 3)
    r = tshape("expr", "x.size()", "-t", "x=zeros(2, 3)", "-f", "plain")
    assert r.code == 0
    assert f"= {tuple(x.size())}" in r.stdout
    r = tshape("expr", "x.dim() + x.size(1)", "-t", "x=zeros(2, 3)", "--json")
    assert r.code == 0
    assert r.doc["result"] is None


def test_shapes_alone(tshape):
    r = tshape("expr", "(a @ b).sum(-1)", "-t", "a=shape(8, 1, 5, 3)", "-t", "b=shape(4, 3, 7)", "--json")
    assert r.code == 0
    expected = torch.matmul(torch.empty(8, 1, 5, 3, device="meta"), torch.empty(4, 3, 7, device="meta")).sum(
        -1
    )
    assert r.doc["result"]["shape"] == list(expected.shape)
    assert r.doc["result"]["values"] is None


def test_shape_only_and_real_operands_together(tshape):
    r = tshape("expr", "a + b", "-t", "a=shape(2, 3)", "-t", "b=[1, 2, 3]", "-q")
    assert r.code == 0
    assert r.stdout.split() == ["2", "3"]


def test_transpose_warning_is_in_the_note_not_on_stderr(tshape):
    r = tshape("expr", "x.T", "-t", "x=zeros(2, 3, 4)", "--json")
    assert r.code == 0
    assert r.stderr == ""
    assert r.doc["result"]["shape"] == list(torch.zeros(2, 3, 4).permute(2, 1, 0).shape)


# --- refused: exit 2, one line naming the construct, never evaluated --------------------------


REFUSED = [
    ("__import__('os')", "__import__"),
    ("__import__('os').system('true')", "system"),
    ("x.__class__", "__class__"),
    ("x.__class__.__bases__", "__bases__"),
    ("x.view.__self__", "__self__"),
    ("().__class__", "__class__"),
    ("x.data", ".data"),
    ("x.grad", ".grad"),
    ("x.numpy()", ".numpy"),
    ("x.tolist()", ".tolist"),
    ("x.storage()", ".storage"),
    ("x.add_(1)", ".add_"),
    ("lambda: x", "lambda"),
    ("(lambda: 1)()", "calling"),
    ("[i for i in x]", "list comprehension"),
    ("{i for i in x}", "set comprehension"),
    ("{i: i for i in x}", "dict comprehension"),
    ("sum(i for i in x)", "calling sum"),
    ("(i for i in x)", "generator"),
    ("2**10**10", "**"),
    ("x << 1", "<<"),
    ("not x", "not"),
    ("+x", "+x"),
    ("x and x", "and"),
    ("x if x else x", "conditional"),
    ("{'a': 1}", "dict"),
    ("{1}", "set"),
    ("f'{x}'", "f-string"),
    ("'abc'", "string"),
    ("b'abc'", "constant"),
    ("None", "constant"),
    ("...", "constant"),
    ("torch", "torch on its own"),
    ("torch.load('f')", "torch.load"),
    ("torch.cat", "torch.cat"),
    ("torch.ops.aten.add(x, x)", "torch.ops.aten.add"),
    ("torch.__builtins__", "torch.__builtins__"),
    ("x.view", ".view without a call"),
    ("x.T()", ".T()"),
    ("getattr(x, 'T')", "calling getattr"),
    ("eval('1')", "calling eval"),
    ("exec('1')", "calling exec"),
    ("open('/etc/passwd')", "calling open"),
    ("print(x)", "calling print"),
    ("x.view(*s)", "* unpacking"),
    ("x.sum(**k)", "** unpacking"),
    ("x.sum(out=x)", "out="),
    ("torch.sum(x, 0, out=x)", "out="),
    ("x.add_(1).sum()", ".add_"),
    ("x.sum(inplace=True)", "inplace="),
    ("x.T.__class__", "__class__"),
    ("torch._C", "torch._C"),
    ("F.__dict__", "_"),
    ("torch.manual_seed(0)", "torch.manual_seed"),
    ("torch.save(x, 'f')", "torch.save"),
    ("torch.randn(2)", "--seed"),
    ("nn.Linear(2, 3)(x)", "--seed"),
    ("x.view(2)(x)", "calling"),
    ("x is x", "is"),
    ("1 in x", "in"),
    ("x.view('a')", "string"),
    ("y + 1", "unknown name 'y'"),
    ("x[::2:]", "not a Python expression"),
    ("x; x", "not a Python expression"),
    ("import os", "not a Python expression"),
    ("x = 1", "not a Python expression"),
    ("(x := 1)", "assignment"),
    ("", "empty"),
    ("(" * 300 + "x" + ")" * 300, "nested"),
    ("x" + ".T" * 100, "nested"),
    ("x" + " + x" * 200, "nested"),
    ("0" + "-" * 200 + "x", "nested"),
    ("x + " * 300 + "x", "characters"),
    ("[" * 50 + "]" * 50, "nested"),
    ("\x00", "not a Python expression"),
]


@pytest.mark.parametrize(("expression", "named"), REFUSED, ids=[e[:40] for e, _ in REFUSED])
def test_refused(tshape, expression, named):
    start = time.perf_counter()
    r = tshape("expr", expression, *bind(expression, x="[1.0, 2.0]"))
    assert time.perf_counter() - start < 5, "refusals must be immediate"
    assert r.code == 2, (expression, r.code, r.stdout)
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert named in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("expression", "layout"),
    [("x.to_sparse()", "sparse_coo"), ("torch.quantize_per_tensor(x, 0.1, 0, torch.quint8)", "quantized")],
)
def test_a_result_of_another_layout_is_refused_in_one_sentence(tshape, expression, layout):
    r = tshape("expr", expression, "-t", "x=[[1.0, 0], [0, 2]]")
    assert r.code == 2
    assert r.stderr.startswith("tshape: ") and r.stderr.count("\n") == 1
    assert f"gives a {layout} tensor" in r.stderr and "Traceback" not in r.stderr


def test_a_huge_view_is_free_and_shown_without_values(tshape):
    y = torch.tensor([1.0, 2.0]).expand(100000, 100000, 2)
    r = tshape("expr", "x.expand(100000, 100000, 2)", "-t", "x=[1.0, 2.0]", "--json")
    assert r.code == 0
    assert_tensor(r.doc["result"], y, values=False)
    assert r.doc["result"]["values"] is None


def test_parentheses_alone_are_harmless(tshape):
    r = tshape("expr", "(" * 100 + "x" + ")" * 100, "-t", "x=[1, 2]", "--json")
    assert r.code == 0
    assert r.doc["result"]["values"] == [1, 2]


def test_index_with_a_float_is_refused(tshape):
    r = tshape("expr", "x[0.5]", "-t", "x=[1, 2, 3]")
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "float" in r.stderr


# Python's other operators, comparisons and indexing with tensors: explained exactly when
# torch computes them, failing (exit 1, explained) exactly when torch raises.
OPERATORS = [
    "x ** 2",
    "2 ** x",
    "x // 2",
    "x % 2",
    "(-x) % 3",
    "x & x",
    "i & 3",
    "i | 4",
    "i ^ i",
    "~i",
    "~(x > 1)",
    "x < 1",
    "x == x",
    "x >= y",
    "x != 2",
    "(x > 1) & (x < 3)",
    "0 < x[0] < 3",
    "0 < x < 3",
    "x[[0, 1]]",
    "x[x > 1]",
    "x[i]",
    "y[i]",
    "y[:, i]",
    "y[i, 1:]",
    "y[None, i, ...]",
    "y[y > 0.3]",
    "y[[0, 1], [1, 0]]",
    "y[torch.arange(2), 0]",
    "x[i > 5]",
]


@pytest.mark.parametrize("expression", OPERATORS)
def test_operators_and_indexing_against_torch(tshape, expression):
    x = torch.tensor([1.0, 2.0])
    y = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.25, -2.0]])
    i = torch.tensor([1, 0])
    try:
        expected = eval(expression, {"torch": torch, "x": x, "y": y, "i": i})  # the test's own oracle
    except Exception:
        expected = None
    r = tshape("expr", expression, *bind(expression, x=x.tolist(), y=y.tolist(), i=i.tolist()), "--json")
    assert_schema(r.doc)
    if expected is None:
        assert r.code == 1, (r.code, r.stderr)
        assert r.doc["error"]["message"]
        assert r.doc["steps"][-1]["title"].startswith("Fails here")
    else:
        assert r.code == 0, (r.code, r.stdout[-400:])
        assert_tensor(r.doc["result"], expected)


def test_a_chained_comparison_of_tensors_says_how_to_write_it(tshape):
    r = tshape("expr", "0 < x < 3", "-t", "x=[1.0, 2.0]", "--json")
    assert r.code == 1
    assert "(a < b) & (b < c)" in r.doc["error"]["hint"]


@pytest.mark.parametrize(
    ("bindings", "named"),
    [
        (["x"], "NAME=TENSOR"),
        (["x="], "NAME=TENSOR"),
        (["torch=[1]"], "torch"),
        (["1x=[1]"], "1x"),
        (["__import__=[1]"], "__import__"),
        (["lambda=[1]"], "lambda"),
        (["x=[1]", "x=[2]"], "twice"),
    ],
)
def test_bad_bindings(tshape, bindings, named):
    r = tshape("expr", "x", *[a for b in bindings for a in ("-t", b)])
    assert r.code == 2
    assert_one_line(r.stderr)
    assert named in r.stderr


def test_bad_tensor_in_a_binding_is_exit_2(tshape):
    r = tshape("expr", "x + 1", "-t", "x=[[1, 2], [3]]")
    assert r.code == 2
    assert_one_line(r.stderr)


@pytest.mark.parametrize(
    "expression",
    [
        "torch.zeros(100000, 100000)",
        "torch.ones(10**0 * 100000, 100000)",
        "torch.arange(1000000000000)",
        "x.expand(100000, 100000, 2).contiguous()",
        "x.expand(100000, 100000, 2).sum()",
        "x.expand(100000, 100000, 2) * 2",
        "torch.ones(1000, 1, 1) * torch.ones(1, 1000, 1) * torch.ones(1, 1, 1000)",
        "torch.einsum('i,j,k->', torch.ones(10000), torch.ones(10000), torch.ones(10000))",
    ],
)
def test_too_large_is_refused_before_allocating(tshape, expression):
    start = time.perf_counter()
    r = tshape("expr", expression, "-t", "x=[1.0, 2.0]", "--max-elements", "1000000")
    assert time.perf_counter() - start < 5
    if "**" in expression:
        assert r.code == 2
        return
    assert r.code == 2, (r.code, r.stdout)
    assert_one_line(r.stderr)


# --- property: any broadcast or matmul of two shapes, as one expression ---------------------


shape = st.lists(st.integers(1, 3), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, database=None)
@given(a=shape, b=shape, op=st.sampled_from(["+", "*", "@"]))
def test_random_binary_expressions_exit_1_exactly_when_torch_raises(a, b, op):
    ta = torch.arange(1.0, 1 + torch.Size(a).numel()).reshape(a)
    tb = torch.arange(1.0, 1 + torch.Size(b).numel()).reshape(b)
    r = run_tshape("expr", f"a {op} b", "-t", f"a={ta.tolist()}", "-t", f"b={tb.tolist()}", "--json")
    try:
        expected = {"+": torch.add, "*": torch.mul, "@": torch.matmul}[op](ta, tb)
    except RuntimeError:
        assert r.code == 1, r.stdout
        assert r.doc["steps"][-1]["code"] == f"a {op} b"
    else:
        assert r.code == 0, r.stdout
        assert_tensor(r.doc["result"], expected)


# --- property: random expressions from the allowed grammar, with Python + torch as the oracle --

LEAVES = st.sampled_from(["x", "y", "x", "y", "2", "-1", "0.5"])
DIM = st.integers(-3, 3).map(str)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.flatmap(lambda ab: st.sampled_from("+-*/@").map(lambda op: f"({ab[0]} {op} {ab[1]})")),
        st.tuples(inner, st.sampled_from(["-1", "3, 2", "2, 3", "1, -1", "2, -1, 1"])).map(
            lambda a: f"{a[0]}.view({a[1]})"
        ),
        st.tuples(inner, DIM).map(lambda a: f"{a[0]}.sum({a[1]})"),
        st.tuples(inner, DIM).map(lambda a: f"{a[0]}.mean(dim={a[1]}, keepdim=True)"),
        st.tuples(inner, DIM).map(lambda a: f"{a[0]}.unsqueeze({a[1]})"),
        st.tuples(inner, DIM, DIM).map(lambda a: f"{a[0]}.transpose({a[1]}, {a[2]})"),
        st.tuples(inner, st.sampled_from(["0", ":, 1", "::2", "None", "..., -1"])).map(
            lambda a: f"{a[0]}[{a[1]}]"
        ),
        st.tuples(inner, inner, DIM).map(lambda a: f"torch.cat(({a[0]}, {a[1]}), dim={a[2]})"),
        st.tuples(inner, inner, DIM).map(lambda a: f"torch.stack([{a[0]}, {a[1]}], {a[2]})"),
        st.tuples(inner, st.sampled_from(["2, 3", "4, 2, 3", "-1, 3"])).map(
            lambda a: f"{a[0]}.expand({a[1]})"
        ),
        inner.map(lambda a: f"{a}.squeeze()"),
        inner.map(lambda a: f"{a}.T"),
        inner.map(lambda a: f"{a}.flatten()"),
        inner.map(lambda a: f"{a}.int()"),
        inner.map(lambda a: f"-{a}"),
    )


@settings(max_examples=40, deadline=None, database=None)
@given(expression=st.recursive(LEAVES, _grow, max_leaves=5))
def test_random_expressions_agree_with_torch(expression):
    x = torch.arange(1.0, 7).reshape(2, 3)
    y = torch.arange(1.0, 4)
    try:
        with warnings.catch_warnings():  # torch's own warnings (x.T on 1-D) are tshape's notes
            warnings.simplefilter("ignore")
            expected = eval(
                expression, {"torch": torch, "x": x, "y": y}
            )  # the test's own grammar, as an oracle
    except SyntaxError:  # `2.squeeze()`: not Python, so not an expression tshape reads either
        expected = SyntaxError
    except Exception:
        expected = RuntimeError
    r = run_tshape("expr", *bind(expression, x=x.tolist(), y=y.tolist()), "--json", "--", expression)
    assert "internal error" not in r.stderr
    if expected is SyntaxError:
        assert r.code == 2
    elif expected is RuntimeError:
        assert r.code == 1, (expression, r.code, r.stderr)
        assert r.doc["error"] is not None
    else:
        assert r.code == 0, (expression, r.stdout[-500:])
        if isinstance(expected, torch.Tensor):
            assert r.doc["result"]["shape"] == list(expected.shape)
            assert values_equal(r.doc["result"]["values"], expected.tolist(), 1e-6), expression


def test_functional_spelled_out_and_a_literal_tensor_are_pure_and_allowed(tshape):
    # torch.nn.functional is allowed in every spelling (F., nn.functional., torch.nn.functional.)
    x = torch.tensor([-1.0, 2.0])
    for text in ("torch.nn.functional.relu(x)", "F.relu(x)", "nn.functional.relu(x)"):
        r = tshape("expr", text, "-t", "x=[-1.0, 2.0]", "--json")
        assert r.code == 0, (text, r.stderr)
        assert_tensor(r.doc["result"], torch.nn.functional.relu(x))
    r = tshape("expr", "torch.tensor([1, 2]) + x", "-t", "x=[-1.0, 2.0]", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], torch.tensor([1, 2]) + x)


def test_unused_bindings_are_refused_by_name(tshape):
    r = tshape("expr", "x + 1", "-t", "x=[1.0]", "-t", "w=ones(3)", "-t", "b=[2.0]")
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "w, b" in r.stderr and "x" not in r.stderr.split(":")[1]


@pytest.mark.parametrize("literal", ["9" * 401, str(2**63), "-" + "1" * 30])
def test_an_integer_literal_beyond_int64_is_refused_with_its_size(tshape, literal):
    for expression in (f"x.view({literal})", f"x[{literal}]", f"torch.zeros({literal})"):
        r = tshape("expr", expression, "-t", "x=[1.0]")
        assert r.code == 2, (expression, r.stderr)
        assert_one_line(r.stderr)
        assert f"{len(literal.lstrip('-'))} digits" in r.stderr
        with pytest.raises((RuntimeError, OverflowError, TypeError, IndexError, ValueError)):  # torch too
            eval(expression, {"x": torch.ones(1), "torch": torch})


@pytest.mark.parametrize(
    "expression",
    [
        "x.shape[::0]",
        "x[::0]",
        "x.matmul()",
        "torch.cat()",
        "x.view(1e400)",
        "torch.zeros(1e400)",
        "x.view(s)",
    ],
)
def test_bad_arguments_are_one_sentence_never_an_internal_error(tshape, expression):
    r = tshape("expr", expression, *bind(expression, x="ones(2, 3)", s="shape(2)"), "-q")
    assert r.code in (1, 2), (r.code, r.stderr)
    assert_one_line(r.stderr)
    assert "internal error" not in r.stderr and not r.stderr.rstrip().endswith(":")


@pytest.mark.parametrize(
    ("expression", "want"),
    [
        ("x.dim()", lambda x: str(x.dim())),
        ("x.shape", lambda x: " ".join(map(str, x.shape))),
        ("x.numel()", lambda x: str(x.numel())),
        ("torch.equal(x, x.clone())", lambda x: json.dumps(torch.equal(x, x.clone()))),
        ("x.sum().item()", lambda x: json.dumps(x.sum().item())),
    ],
)
def test_quiet_prints_a_plain_value_as_itself(expression, want):
    x = torch.tensor([[1.5, 2.0, 4.0], [0.5, 1.0, 3.0]])
    r = run_tshape("expr", expression, "-t", f"x={x.tolist()}", "-q")
    assert r.code == 0, r.stderr
    assert r.stdout == want(x) + "\n"

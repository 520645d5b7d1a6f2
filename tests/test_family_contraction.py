"""The contraction family against torch computed here: shapes, values, hand checks, failures."""

from __future__ import annotations

import re
import string

import pytest
import torch
from conftest import assert_schema, assert_tensor
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from test_lang import english_words

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import contraction
from tensorshape_cli.registry import Call
from tensorshape_cli.tensorfiles import shape_only

F = torch.nn.functional


def explain(fn, name, args, codes, kwargs=None, lang="en"):
    spec = registry.for_callable(fn)
    assert spec is not None and spec.family == "contraction", name
    code = f"{name}({', '.join(codes)})"
    with settings.use(settings.Settings(lang=lang)):
        ex = spec.explain(Call(fn=fn, name=name, args=args, kwargs=kwargs or {}, codes=codes, code=code))
        doc = ex.to_dict()
    assert_schema(doc)
    return doc


def value_checks(doc):
    return [c for c in doc["checks"] if c["label"] != "shape"]


def test_run_time_ids_exist_in_both_catalogs():
    for msg_id in contraction.RUN_TIME_IDS:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


@pytest.mark.parametrize(
    ("fn", "name", "shapes", "kwargs"),
    [
        (torch.mm, "torch.mm", [(2, 3), (3, 4)], {}),
        (torch.Tensor.mm, "a.mm", [(2, 3), (3, 4)], {}),
        (torch.bmm, "torch.bmm", [(2, 2, 3), (2, 3, 4)], {}),
        (torch.mv, "torch.mv", [(2, 3), (3,)], {}),
        (torch.dot, "torch.dot", [(4,), (4,)], {}),
        (torch.outer, "torch.outer", [(3,), (2,)], {}),
        (torch.ger, "torch.ger", [(3,), (2,)], {}),
        (torch.inner, "torch.inner", [(2, 3), (4, 3)], {}),
        (torch.tensordot, "torch.tensordot", [(2, 3, 4), (3, 4, 5)], {"dims": 2}),
        (torch.tensordot, "torch.tensordot", [(2, 3), (2, 5)], {"dims": ([0], [0])}),
        (torch.kron, "torch.kron", [(2, 3), (2, 2)], {}),
        (torch.addmm, "torch.addmm", [(4,), (2, 3), (3, 4)], {"beta": 2, "alpha": 0.5}),
        (torch.addmv, "torch.addmv", [(2,), (2, 3), (3,)], {}),
        (torch.baddbmm, "torch.baddbmm", [(1, 2, 4), (3, 2, 5), (3, 5, 4)], {}),
        (torch.addbmm, "torch.addbmm", [(2, 4), (3, 2, 5), (3, 5, 4)], {}),
        (F.bilinear, "F.bilinear", [(2, 3), (2, 4), (5, 3, 4), (5,)], {}),
        (torch.chain_matmul, "torch.chain_matmul", [(2, 3), (3, 4), (4, 2)], {}),
    ],
)
def test_real_values_match_torch(fn, name, shapes, kwargs):
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    codes = list(string.ascii_lowercase[: len(tensors)])
    if name == "a.mm":
        codes = ["a", "b"]
    doc = explain(fn, name, tuple(tensors), codes, kwargs)
    want = fn(*tensors, **kwargs)
    assert doc["error"] is None
    assert_tensor(doc["result"], want, rel=1e-12)
    checks = value_checks(doc)
    assert checks, "an element should be checked by hand"
    for check in checks:
        assert check["ok"] is True
    # the element checked is torch's own element
    index = tuple(int(i) for i in re.findall(r"\d+", checks[0]["label"]))
    assert checks[0]["torch"] == pytest.approx(want[index].item(), rel=1e-12)
    assert checks[0]["manual"] == pytest.approx(want[index].item(), rel=1e-9)
    shape = next(c for c in doc["checks"] if c["label"] == "shape")
    assert shape["torch"] == str(tuple(want.shape)).replace(",)", ",)") and shape["ok"]


def test_mm_element_written_as_in_the_notebook():
    a = torch.tensor([[1.0, 2, 3], [4, 5, 6]])
    b = torch.tensor([[1.0, 0], [5, 1], [9, 2]])
    doc = explain(torch.mm, "torch.mm", (a, b), ["a", "b"])
    want = torch.mm(a, b)
    element = next(s for s in doc["steps"] if s["title"] == "One element by hand")
    assert "y[0, 1] = a[0,0]*b[0,1] + a[0,1]*b[1,1] + a[0,2]*b[2,1]" in element["note"]
    check = value_checks(doc)[0]
    assert check["expression"] == "1*0 + 2*1 + 3*2"
    assert check["torch"] == want[0, 1].item()
    table = next(s["table"] for s in doc["steps"] if s["table"])
    rows = {row[0]: row for row in table["rows"]}
    assert rows["j"][2] == "3" and rows["j"][3] == "summed over"
    assert rows["i"][2] == "2" and rows["k"][2] == "2"


def test_a_wrong_hand_value_would_show():
    """The check compares two independent numbers: a different input gives a different torch."""
    a = torch.tensor([[1.0, 2], [3, 4]])
    doc = explain(torch.mm, "torch.mm", (a, a), ["a", "b"])
    check = value_checks(doc)[0]
    assert check["manual"] == (a @ a)[0, 1].item() != (a @ a)[1, 0].item()


def test_long_sums_are_elided():
    a = torch.ones(1, 20)
    b = torch.arange(20.0).reshape(20, 1)
    doc = explain(torch.mm, "torch.mm", (a, b), ["a", "b"])
    check = value_checks(doc)[0]
    assert "more terms" in check["expression"]
    assert check["manual"] == torch.mm(a, b)[0, 0].item() and check["ok"]


def test_shape_only_gives_shapes_and_skips_values():
    a, b = shape_only(torch.zeros(2, 3, 5)), shape_only(torch.zeros(2, 5, 4))
    doc = explain(torch.bmm, "torch.bmm", (a, b), ["a", "b"])
    want = torch.bmm(torch.zeros(2, 3, 5), torch.zeros(2, 5, 4))
    assert doc["result"]["shape"] == list(want.shape)
    assert doc["result"]["stride"] == list(want.stride())
    assert doc["result"]["values"] is None
    assert any(c["label"] == "values" for c in doc["checks"])


def test_einsum_letter_table_and_batch_broadcast():
    a = torch.randn(2, 1, 2, 3)
    b = torch.randn(5, 3, 2)
    eq = "...ij,...jk->...ik"
    doc = explain(torch.einsum, "torch.einsum", (eq, a, b), [f'"{eq}"', "a", "b"])
    want = torch.einsum(eq, a, b)
    assert_tensor(doc["result"], want, rel=1e-5)
    table = next(s["table"] for s in doc["steps"] if s["table"])
    batch_rows = [r for r in table["rows"] if r[0] == "…"]
    assert [r[2] for r in batch_rows] == ["2", "5"]
    assert "stretched" in table["status"]  # a's size 1 broadcast against b's 5
    assert all(c["ok"] for c in doc["checks"])


def test_einsum_sublist_and_list_forms():
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    doc = explain(
        torch.einsum, "torch.einsum", (a, [0, 1], b, [1, 2], [0, 2]), ["a", "[0, 1]", "b", "[1, 2]", "[0, 2]"]
    )
    assert_tensor(doc["result"], torch.einsum(a, [0, 1], b, [1, 2], [0, 2]), rel=1e-6)
    doc = explain(torch.einsum, "torch.einsum", ("ij,jk", [a, b]), ['"ij,jk"', "[a, b]"])
    assert_tensor(doc["result"], torch.einsum("ij,jk", [a, b]), rel=1e-6)
    assert all(c["ok"] for c in doc["checks"])


def test_einsum_trace_and_uppercase_implicit_output():
    m = torch.arange(9.0).reshape(3, 3)
    doc = explain(torch.einsum, "torch.einsum", ("ii", m), ['"ii"', "m"])
    assert value_checks(doc)[0]["manual"] == torch.trace(m).item()
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    doc = explain(torch.einsum, "torch.einsum", ("Bj,jA", a, b), ['"Bj,jA"', "a", "b"])
    assert_tensor(doc["result"], torch.einsum("Bj,jA", a, b), rel=1e-6)
    assert all(c["ok"] for c in doc["checks"])


def torch_message(fn, *args, **kwargs):
    with pytest.raises((RuntimeError, IndexError, ValueError)) as info:
        fn(*args, **kwargs)
    return str(info.value).splitlines()[0]


@pytest.mark.parametrize(
    ("fn", "name", "args", "codes", "kind", "hint_part"),
    [
        (
            torch.mm,
            "torch.mm",
            (torch.ones(2, 3), torch.ones(2, 3)),
            ["a", "b"],
            "contraction_mismatch",
            "torch.mm(a, b.T)",
        ),
        (
            torch.mm,
            "torch.mm",
            (torch.ones(2, 2, 3), torch.ones(3, 4)),
            ["x", "w"],
            "mm_rank",
            "torch.matmul(x, w)",
        ),
        (
            torch.bmm,
            "torch.bmm",
            (torch.ones(2, 2, 3), torch.ones(3, 3, 2)),
            ["a", "b"],
            "bmm_batch_mismatch",
            "2 or 3",
        ),
        (
            torch.bmm,
            "torch.bmm",
            (torch.ones(1, 2, 3), torch.ones(3, 3, 2)),
            ["a", "b"],
            "bmm_batch_mismatch",
            "torch.matmul(a, b)",
        ),
        (
            torch.dot,
            "torch.dot",
            (torch.ones(3), torch.ones(2)),
            ["u", "v"],
            "contraction_mismatch",
            "dim 0 of u",
        ),
        (
            torch.dot,
            "torch.dot",
            (torch.ones(2, 3), torch.ones(2, 3)),
            ["u", "v"],
            "dot_rank",
            "(u * v).sum()",
        ),
        (torch.mv, "torch.mv", (torch.ones(2, 3), torch.ones(4)), ["m", "v"], "contraction_mismatch", "m"),
        (
            torch.tensordot,
            "torch.tensordot",
            (torch.ones(2, 3), torch.ones(4, 5)),
            ["a", "b"],
            "contraction_mismatch",
            "dim 0 of a (2) and dim 0 of b (4)",
        ),
    ],
)
def test_failures_explained_with_a_fix(fn, name, args, codes, kind, hint_part):
    said = torch_message(fn, *args)
    doc = explain(fn, name, args, codes)
    assert doc["error"]["kind"] == kind
    assert hint_part in doc["error"]["hint"]
    assert said in doc["error"]["message"]  # torch's own words stay reachable
    assert doc["result"] is None


def test_mm_mismatch_names_both_sizes():
    a, b = torch.ones(2, 3), torch.ones(4, 5)
    doc = explain(torch.mm, "torch.mm", (a, b), ["a", "b"])
    message = doc["error"]["message"]
    assert "(3)" in message and "(4)" in message
    assert "change the last dimension of a to 4" in doc["error"]["hint"]


@pytest.mark.parametrize(
    ("eq", "shapes", "kind"),
    [
        ("ij,jk", [(2, 3), (2, 3)], "einsum_size"),
        ("ij,jk->ik", [(2, 3)], "einsum_operands"),
        ("ij,jk->iz", [(2, 3), (3, 2)], "einsum_output"),
        ("ij,jk->ikk", [(2, 3), (3, 2)], "einsum_output"),
        ("ijk,jk->ik", [(2, 3), (2, 3)], "einsum_rank"),
        ("ii->i", [(2, 3)], "einsum_size"),
    ],
)
def test_einsum_failures(eq, shapes, kind):
    tensors = [torch.ones(s) for s in shapes]
    said = torch_message(torch.einsum, eq, *tensors)
    codes = [f'"{eq}"', *"abc"[: len(tensors)]]
    doc = explain(torch.einsum, "torch.einsum", (eq, *tensors), codes)
    assert doc["error"]["kind"] == kind
    assert said in doc["error"]["message"]
    assert doc["error"]["hint"]


def test_einsum_clash_says_both_sizes():
    a, b = torch.ones(2, 3), torch.ones(4, 2)
    doc = explain(torch.einsum, "torch.einsum", ("ij,jk->ik", a, b), ['"ij,jk->ik"', "a", "b"])
    message = doc["error"]["message"]
    assert "dim 1 of a (3)" in message and "dim 0 of b (4)" in message


def test_dtype_mismatch_converts_towards_float():
    a, b = torch.ones(2, 3, dtype=torch.long), torch.ones(3, 4)
    doc = explain(torch.mm, "torch.mm", (a, b), ["a", "b"])
    assert doc["error"]["kind"] == "contraction_dtype"
    assert "a.to(b.dtype)" in doc["error"]["hint"]


def test_integer_contraction_is_exact():
    a = torch.arange(6).reshape(2, 3)
    b = torch.arange(12).reshape(3, 4)
    doc = explain(torch.mm, "torch.mm", (a, b), ["a", "b"])
    assert_tensor(doc["result"], torch.mm(a, b))
    check = value_checks(doc)[0]
    assert check["ok"] and check["manual"] == torch.mm(a, b)[0, 1].item()


def test_spanish_contraction():
    a, b = torch.ones(2, 3), torch.ones(2, 3)
    for args in ((a, b.T), (a, b)):
        doc = explain(torch.mm, "torch.mm", args, ["a", "b"], lang="es")
        assert not english_words(doc), english_words(doc)
    assert "Un elemento a mano" in [
        s["title"] for s in explain(torch.mm, "torch.mm", (a, b.T), ["a", "b"], lang="es")["steps"]
    ]


# --- property: random einsum equations give torch's result through the spec ------------------------


@st.composite
def einsum_case(draw):
    letters = "ijklm"
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    terms = []
    for _ in range(n_ops):
        k = draw(st.integers(0, 3))
        terms.append("".join(draw(st.lists(st.sampled_from(letters), min_size=k, max_size=k, unique=True))))
    used = sorted(set("".join(terms)))
    explicit = draw(st.booleans())
    if explicit:
        out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
        eq = ",".join(terms) + "->" + out
    else:
        eq = ",".join(terms)
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    tensors = [torch.randn([sizes[c] for c in term], generator=g, dtype=torch.float64) for term in terms]
    return eq, tensors


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(einsum_case())
def test_random_einsum_agrees_with_torch(case):
    eq, tensors = case
    want = torch.einsum(eq, *tensors)
    codes = [f'"{eq}"', *[f"t{i}" for i in range(len(tensors))]]
    doc = explain(torch.einsum, "torch.einsum", (eq, *tensors), codes)
    assert doc["error"] is None
    assert_tensor(doc["result"], want, rel=1e-9)
    assert all(c["ok"] for c in doc["checks"]), doc["checks"]
    value = value_checks(doc)
    if want.numel():
        assert value, "an element is checked by hand"
        index = tuple(int(i) for i in re.findall(r"\d+", value[0]["label"]))
        assert value[0]["torch"] == pytest.approx(want[index].item(), rel=1e-12)

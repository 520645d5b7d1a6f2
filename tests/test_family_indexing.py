"""The indexing family against torch, computed here: index shapes, traced elements, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from conftest import assert_schema, assert_tensor
from test_lang import ENGLISH_WORDS, TORCH_QUOTED, WORD, doc_texts

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import EN, ES
from tensorshape_cli.ops.families import indexing
from tensorshape_cli.registry import Call

X = torch.arange(24.0).view(2, 3, 4)
M = X[0]  # (3, 4)
IDX = torch.tensor([[0, 1], [1, 1]])
T = torch.tensor
J = torch.tensor([3, 0])
SRC = torch.arange(100.0, 106.0).view(2, 3)
SCAT = torch.tensor([[0, 0, 2], [3, 2, 1]])
GET = torch.Tensor.__getitem__


def explain(fn: Any, code: str, args: tuple[Any, ...], codes: list[str], lang: str = "en", **kw: Any) -> dict:
    spec = registry.for_callable(fn)
    assert spec is not None and spec.family == "indexing", code
    call = Call(fn=fn, name=code, args=args, kwargs=kw, codes=codes, code=code)
    with settings.use(settings.Settings(lang=lang)):
        doc = spec.explain(call).to_dict()
    assert_schema(doc)
    return doc


CASES = [
    (GET, "x[i]", (X, IDX), ["x", "i"], {}),
    (GET, "x[0, :, j]", (X, (0, slice(None), J)), ["x", "k"], {}),
    (GET, "x[k, :, j]", (X, (torch.tensor([1, 0]), slice(None), J)), ["x", "k"], {}),
    (GET, "x[:, i, j]", (X, (slice(None), IDX, J)), ["x", "k"], {}),
    (GET, "x[i, None, j]", (X, (IDX, None, T([2, 0]))), ["x", "k"], {}),
    (GET, "x[..., None, 1:3]", (X, (Ellipsis, None, slice(1, 3))), ["x", "k"], {}),
    (GET, "x[1, ..., ::2]", (X, (1, Ellipsis, slice(None, None, 2))), ["x", "k"], {}),
    (GET, "x[x > 10]", (X, X > 10), ["x", "m"], {}),
    (GET, "x[:, m]", (X, (slice(None), torch.tensor([True, False, True]))), ["x", "k"], {}),
    (GET, "x[-1, j]", (X, (-1, torch.tensor([-1, 2]))), ["x", "k"], {}),
    (torch.gather, "torch.gather(x, 2, idx)", (X, 2, T([[[0, 3]], [[1, 1]]])), ["x", "2", "idx"], {}),
    (torch.Tensor.gather, "x.gather(1, idx)", (M, 1, torch.tensor([[0], [3], [2]])), ["x", "1", "idx"], {}),
    (torch.take_along_dim, "torch.take_along_dim(x, idx, dim=2)", (X, torch.tensor([[[0, 3]]])), ["x", "idx"],
     {"dim": 2}),
    (torch.index_select, "torch.index_select(x, 1, j)", (X, 1, torch.tensor([2, 0])), ["x", "1", "j"], {}),
    (torch.Tensor.scatter, "x.scatter(1, idx, src)", (M, 1, torch.tensor([[0, 1, 2], [3, 2, 1]]), SRC),
     ["x", "1", "idx", "src"], {}),
    (torch.scatter, "torch.scatter(x, 1, idx, 7.0)", (M, 1, T([[0], [3]]), 7.0), ["x", "1", "idx", "7.0"],
     {}),
    (torch.Tensor.scatter_add, "x.scatter_add(1, idx, src)", (M, 1, SCAT, SRC), ["x", "1", "idx", "src"], {}),
    *[
        (torch.Tensor.scatter_reduce, f"x.scatter_reduce(1, idx, src, {r!r})", (M, 1, SCAT, SRC, r),
         ["x", "1", "idx", "src", repr(r)], {"include_self": inc})
        for r in ("sum", "prod", "mean", "amax", "amin")
        for inc in (True, False)
    ],
    (torch.Tensor.index_add, "x.index_add(0, j, s, alpha=2)", (M, 0, torch.tensor([2, 0]), torch.ones(2, 4)),
     ["x", "0", "j", "s"], {"alpha": 2}),
    (torch.index_copy, "torch.index_copy(x, 0, j, s)", (M, 0, torch.tensor([2, 0]), torch.ones(2, 4)),
     ["x", "0", "j", "s"], {}),
    (torch.Tensor.index_fill, "x.index_fill(1, j, -1.0)", (M, 1, T([2, 0]), -1.0), ["x", "1", "j", "-1.0"],
     {}),
    (torch.masked_select, "torch.masked_select(x, m)", (X, M > 5), ["x", "m"], {}),
    (torch.Tensor.masked_fill, "x.masked_fill(m, 0.0)", (X, M > 5, 0.0), ["x", "m", "0.0"], {}),
    (torch.where, "torch.where(c, x, y)", (X > 10, X, torch.zeros(4)), ["c", "x", "y"], {}),
    (torch.Tensor.where, "x.where(c, 5.0)", (X, X > 10, 5.0), ["x", "c", "5.0"], {}),
    (torch.nonzero, "torch.nonzero(m)", (M > 5,), ["m"], {}),
    (torch.argwhere, "torch.argwhere(x)", (M,), ["x"], {}),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "code", "args", "codes", "kw"), CASES, ids=[c[1] for c in CASES])
def test_real_values_agree_with_torch(fn, code, args, codes, kw):
    want = fn(*args, **kw)
    doc = explain(fn, code, args, codes, **kw)
    assert doc["error"] is None
    assert_tensor(doc["result"], want)
    shape = doc["checks"][0]
    assert shape["label"] == EN["check.shape"]
    assert shape["torch"] == str(tuple(want.shape)) and shape["ok"]
    elements = doc["checks"][1:]
    assert elements, "no element traced"
    for check in elements:
        assert check["ok"], check
        name, _, index = check["label"].partition("[")
        assert name == ("out" if "y" in codes else "y") and name not in codes  # named apart from the operands
        idx = tuple(int(i) for i in index[:-1].split(", "))
        assert check["torch"] == pytest.approx(want[idx].item())


def test_advanced_indices_separated_by_a_slice_go_first():
    k = torch.tensor([1, 0])
    want = X[k, :, J]
    doc = explain(GET, "x[k, :, j]", (X, (k, slice(None), J)), ["x", "k"])
    assert list(want.shape) == [2, 3] == doc["result"]["shape"]
    assert EN["indexing.getitem.front"] in doc["steps"][-2]["note"]
    together = explain(GET, "x[:, i, j]", (X, (slice(None), IDX, J)), ["x", "k"])
    assert EN["indexing.getitem.together"] in together["steps"][-2]["note"]


def test_gather_trace_names_the_index():
    idx = torch.tensor([[0], [3], [2]])
    doc = explain(torch.Tensor.gather, "x.gather(1, idx)", (M, 1, idx), ["x", "1", "idx"])
    last = doc["checks"][-1]
    # out[i][j] = x[i][idx[i][j]]: row 2 reads column idx[2, 0] = 2
    assert last["expression"] == f"x[2, idx[2, 0]] = x[2, {idx[2, 0].item()}]"
    assert last["manual"] == M.tolist()[2][idx[2, 0].item()] == M.gather(1, idx)[2, 0].item()


def test_scatter_add_is_a_written_sum():
    doc = explain(
        torch.Tensor.scatter_add, "x.scatter_add(1, idx, src)", (M, 1, SCAT, SRC), ["x", "1", "idx", "src"]
    )
    first = doc["checks"][1]
    assert first["expression"] == "x[0, 0] + src[0, 0] + src[0, 1]"
    assert first["torch"] == M.scatter_add(1, SCAT, SRC)[0, 0].item()


SHAPE_ONLY = [c for c in CASES if c[1] not in ("x[x > 10]", "x[:, m]", "torch.masked_select(x, m)") and
              not c[1].startswith(("torch.nonzero", "torch.argwhere"))]  # fmt: skip


@pytest.mark.parametrize(("fn", "code", "args", "codes", "kw"), SHAPE_ONLY, ids=[c[1] for c in SHAPE_ONLY])
def test_shape_only_gives_shapes_and_skips_values(fn, code, args, codes, kw):
    want = fn(*args, **kw)

    def meta(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            return a.to("meta")
        return tuple(meta(v) for v in a) if isinstance(a, tuple) else a

    doc = explain(fn, code, tuple(meta(a) for a in args), codes, **kw)
    assert doc["error"] is None
    assert_tensor(doc["result"], want, values=False)
    assert doc["checks"][0]["ok"] and doc["checks"][0]["torch"] == str(tuple(want.shape))
    assert doc["checks"][-1]["label"] == EN["check.skipped.label"]


@pytest.mark.parametrize(
    ("fn", "code", "args", "codes"),
    [
        (torch.nonzero, "torch.nonzero(x)", (X,), ["x"]),
        (torch.masked_select, "torch.masked_select(x, m)", (X, X > 1), ["x", "m"]),
        (GET, "x[m]", (X, X > 1), ["x", "m"]),
    ],
)
def test_data_dependent_sizes_on_shape_only_say_why(fn, code, args, codes):
    meta = tuple(a.to("meta") for a in args)
    with pytest.raises((NotImplementedError, RuntimeError)):
        fn(*meta)
    doc = explain(fn, code, meta, codes)
    assert doc["error"] is None and doc["result"] is None
    assert EN["moves.unknown"] in [s["note"] for s in doc["steps"]]
    assert doc["checks"][-1]["label"] == EN["check.skipped.label"]


FAILURES = [
    (GET, "x[j]", (X, torch.tensor([0, 5])), ["x", "j"], "index_out_of_range", ["j[1]", "5", "-2", "1"]),
    (torch.Tensor.gather, "x.gather(1, idx)", (M, 1, torch.tensor([[0], [4], [1]])), ["x", "1", "idx"],
     "index_out_of_range", ["idx[1, 0]", "4", "0 to 3"]),
    (torch.index_select, "torch.index_select(x, 2, j)", (X, 2, torch.tensor([1, 4])), ["x", "2", "j"],
     "index_out_of_range", ["j[1]", "4"]),
    (torch.Tensor.gather, "x.gather(1, idx)", (M, 1, torch.tensor([0, 1])), ["x", "1", "idx"], "gather_dims",
     ["idx.unsqueeze(-1)"]),
    (GET, "x[mask]", (X, T([[True, False]])), ["x", "mask"], "mask_shape", ["(1, 2)", "(2, 3, 4)"]),
    (GET, "x[f]", (X, torch.tensor([0.0, 1.0])), ["x", "f"], "index_dtype", ["f.long()"]),
    (torch.Tensor.gather, "x.gather(1, idx)", (M, 1, torch.tensor([[0.0], [1.0], [2.0]])), ["x", "1", "idx"],
     "index_dtype", ["idx.long()"]),
    (torch.where, "torch.where(c, x, y)", (M > 1, M, torch.zeros(3, 4, device="meta")), ["c", "x", "y"],
     "index_device", ["y.to(c.device)"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fn", "code", "args", "codes", "kind", "wants"), FAILURES, ids=[f[1] + f[4] for f in FAILURES]
)
def test_failures_are_explained_with_a_fix(fn, code, args, codes, kind, wants):
    with pytest.raises((RuntimeError, IndexError)) as raised:
        fn(*args)
    doc = explain(fn, code, args, codes)
    assert doc["error"]["kind"] == kind
    assert str(raised.value).splitlines()[0] in doc["error"]["message"]
    text = doc["error"]["message"] + " " + doc["error"]["hint"]
    for want in wants:
        assert want in text
    assert doc["result"] is None


def test_the_fixes_run():
    assert X[torch.tensor([0, 5]).clamp(-2, 1)].shape == (2, 3, 4)
    assert M.gather(1, torch.tensor([0, 1]).unsqueeze(-1)).shape == (2, 1)
    assert X[torch.tensor([0.0, 1.0]).long()].shape == (2, 3, 4)


@pytest.mark.parametrize("case", [0, 3, 11, 16, 22, 25, 26], ids=lambda i: CASES[i][1])
def test_spanish_has_no_english(case):
    fn, code, args, codes, kw = CASES[case]
    doc = explain(fn, code, args, codes, lang="es", **kw)
    words, code_texts = doc_texts(doc)
    texts = [TORCH_QUOTED.sub("", text) for text in words + code_texts]
    found = [(w, text) for text in texts for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]
    assert not found, found
    english = explain(fn, code, args, codes, **kw)
    assert [s["note"] for s in doc["steps"]] != [s["note"] for s in english["steps"]]


def test_spanish_failure_has_no_english():
    doc = explain(GET, "x[j]", (X, torch.tensor([0, 5])), ["x", "j"], lang="es")
    assert doc["error"]["kind"] == "index_out_of_range"
    texts = [TORCH_QUOTED.sub("", doc["error"]["message"]), doc["error"]["hint"]]
    assert not [w for text in texts for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]


def test_every_target_resolves_and_runtime_ids_exist():
    # "index" (ops/operators.py) is expr's x[...]: it guards the size and hands the call to indexing.getitem
    specs = [s for s in registry.specs() if s.family == "indexing" and s.name != "index"]
    assert {s.name for s in specs} == {f"indexing.{op}" for op in indexing.OPS}
    for spec in specs:
        for path in spec.targets:
            target = registry.resolve(path)
            assert target is not None, path
            assert registry.for_callable(target) is spec, path
        assert spec.summary in EN and spec.summary in ES
    for msg_id in indexing.RUNTIME_IDS:
        assert msg_id in EN and msg_id in ES


# --- where: promotion, and a result named apart from an operand called y -------------------------


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (T([1, 2, 3]), T([0.5, 0.25, 0.125])),  # int64 against float32
        (T([1, 2, 3], dtype=torch.int8), T([7, 8, 9], dtype=torch.int32)),  # the wider integer
        (T([1.0, 2.0, 3.0], dtype=torch.float16), 0.5),  # a Python float: the tensor's dtype stays
        (T([True, False, True]), 2),  # a Python int beats bool
    ],
)
def test_where_shows_the_promotion_of_its_two_branches(x, y):
    c = T([True, False, True])
    codes = ["c", "x", "y" if isinstance(y, torch.Tensor) else repr(y)]
    doc = explain(torch.where, "torch.where(c, x, y)", (c, x, y), codes)
    expected = torch.where(c, x, y)
    assert doc["result"]["dtype"] == str(expected.dtype).removeprefix("torch.")
    (check,) = [k for k in doc["checks"] if k["label"] == EN["pointwise.check.dtype"]]
    assert check["torch"] == str(torch.result_type(x, y)).removeprefix("torch.")
    assert check["manual"] == check["torch"] and check["ok"]
    step = next(s for s in doc["steps"] if s["code"] == f"torch.result_type(x, {codes[2]})")
    assert step["note"]


def test_where_with_one_dtype_has_no_promotion_step():
    c, x, y = T([True, False]), T([1.0, 2.0]), T([3.0, 4.0])
    doc = explain(torch.where, "torch.where(c, x, y)", (c, x, y), ["c", "x", "y"])
    assert not [k for k in doc["checks"] if k["label"] == EN["pointwise.check.dtype"]]
    assert not [s for s in doc["steps"] if s["code"].startswith("torch.result_type")]


def test_the_result_is_out_when_an_operand_is_called_y():
    c, x, y = T([True, False]), T([1.0, 2.0]), T([3.0, 4.0])
    doc = explain(torch.where, "torch.where(c, x, y)", (c, x, y), ["c", "x", "y"])
    elements = [k["label"] for k in doc["checks"] if "[" in k["label"]]
    assert elements == ["out[0]", "out[1]"]
    other = explain(torch.where, "torch.where(c, a, b)", (c, x, y), ["c", "a", "b"])
    assert [k["label"] for k in other["checks"] if "[" in k["label"]] == ["y[0]", "y[1]"]
    both = explain(torch.where, "torch.where(c, y, out)", (c, x, y), ["c", "y", "out"])
    assert [k["label"] for k in both["checks"] if "[" in k["label"]] == ["result[0]", "result[1]"]


def test_expr_keeps_the_rule_the_family_explains(tshape):
    # expr folds a call into one step: the indexing rule's own note must survive the fold
    x, i = M, torch.tensor([[0], [3], [2]])
    direct = explain(torch.Tensor.gather, "x.gather(1, i)", (x, 1, i), ["x", "1", "i"])
    rule = next(s for s in direct["steps"] if s["title"] == EN["indexing.rule.title"])
    values = ["-t", f"x={x.tolist()}", "-t", f"i={i.tolist()}"]
    result = tshape("expr", "x.gather(1, i)", *values, "--json")
    assert result.code == 0, result.stderr
    step = next(s for s in json.loads(result.stdout)["steps"] if s["code"] == "x.gather(1, i)")
    assert rule["note"] and rule["note"] in step["note"]

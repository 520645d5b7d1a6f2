"""The reduction family against torch computed here: shapes, outputs, hand checks, failures."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor
from test_lang import english_words

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import reduction
from tensorshape_cli.registry import Call
from tensorshape_cli.tensorfiles import shape_only

T = torch.Tensor
X = torch.tensor([[1.0, 5, 3, 2], [4, 2, 6, 6], [0, -1, 7, 3]])


def explain(fn, name, args, codes, kwargs=None, lang="en"):
    spec = registry.for_callable(fn)
    assert spec is not None and spec.family == "reduction", name
    method = name.startswith("x.")
    shown = codes[1:] if method else codes
    extra = [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    code = f"{name}({', '.join([*shown, *extra])})"
    with settings.use(settings.Settings(lang=lang)):
        ex = spec.explain(Call(fn=fn, name=name, args=args, kwargs=kwargs or {}, codes=codes, code=code))
        doc = ex.to_dict()
    assert_schema(doc)
    return doc


def test_run_time_ids_exist_in_both_catalogs():
    ids = list(reduction.RUN_TIME_IDS)
    ids += [f"reduction.note.{op}" for op, spec in reduction.OPS.items() if spec.kind == "two"]
    ids += [f"reduction.rule.{k}" for k in reduction.KINDS]
    ids += [f"reduction.{op}_k{s}" for op in ("topk", "kthvalue") for s in ("", ".hint")]
    for msg_id in ids:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


CASES = [
    (T.amax, "x.amax", (1,), {}),
    (T.amin, "x.amin", ((0, 1),), {}),
    (T.amax, "x.amax", (0,), {"keepdim": True}),
    (T.argmax, "x.argmax", (), {}),
    (T.argmax, "x.argmax", (1,), {}),
    (T.argmin, "x.argmin", (0,), {"keepdim": True}),
    (T.max, "x.max", (1,), {}),
    (T.min, "x.min", (), {}),
    (T.std, "x.std", (1,), {}),
    (T.std, "x.std", (1,), {"correction": 0}),
    (T.var, "x.var", (0,), {"keepdim": True}),
    (torch.std_mean, "torch.std_mean", (1,), {}),
    (torch.var_mean, "torch.var_mean", (0,), {}),
    (T.prod, "x.prod", (1,), {}),
    (torch.norm, "torch.norm", (), {}),
    (torch.linalg.norm, "torch.linalg.norm", (), {"dim": 1}),
    (torch.linalg.vector_norm, "torch.linalg.vector_norm", (1,), {"dim": 1}),
    (torch.linalg.matrix_norm, "torch.linalg.matrix_norm", (), {}),
    (T.logsumexp, "x.logsumexp", (1,), {}),
    (torch.special.logsumexp, "torch.special.logsumexp", (0,), {}),
    (torch.count_nonzero, "torch.count_nonzero", (), {"dim": 1}),
    (T.nansum, "x.nansum", (1,), {}),
    (T.nanmean, "x.nanmean", (0,), {}),
    (T.median, "x.median", (), {}),
    (T.median, "x.median", (1,), {}),
    (T.nanmedian, "x.nanmedian", (0,), {}),
    (T.mode, "x.mode", (), {}),
    (T.kthvalue, "x.kthvalue", (2, 1), {}),
    (torch.aminmax, "torch.aminmax", (), {"dim": 1}),
    (T.topk, "x.topk", (2,), {}),
    (T.topk, "x.topk", (2, 0), {"largest": False}),
    (T.sort, "x.sort", (), {"descending": True}),
    (T.argsort, "x.argsort", (1,), {}),
    (torch.msort, "torch.msort", (), {}),
    (T.cumsum, "x.cumsum", (1,), {}),
    (T.cumprod, "x.cumprod", (0,), {}),
    (T.logcumsumexp, "x.logcumsumexp", (1,), {}),
    (T.cummax, "x.cummax", (1,), {}),
    (T.cummin, "x.cummin", (0,), {}),
]


@pytest.mark.parametrize(("fn", "name", "args", "kwargs"), CASES, ids=[f"{c[1]}{c[2]}{c[3]}" for c in CASES])
def test_real_values_match_torch(fn, name, args, kwargs):
    x = X.clone()
    doc = explain(fn, name, (x, *args), ["x", *map(repr, args)], kwargs)
    want = fn(x, *args, **kwargs)
    assert doc["error"] is None
    if isinstance(want, torch.Tensor):
        assert_tensor(doc["result"], want, rel=1e-6)
        assert "outputs" not in doc
        outs = [want]
    else:
        assert doc["result"] is None
        assert len(doc["outputs"]) == len(want)
        for got, out in zip(doc["outputs"], want, strict=True):
            assert_tensor(got, out, rel=1e-6)
        outs = list(want)
    shapes = [c for c in doc["checks"] if c["label"] == "shape"]
    assert [s["torch"] for s in shapes] == [str(tuple(o.shape)).replace(",)", ",)") for o in outs]
    assert all(s["ok"] for s in shapes)
    values = [c for c in doc["checks"] if c["label"] != "shape"]
    assert values, "a slice is checked by hand"
    assert all(c["ok"] for c in values), values
    # the first hand value is torch's first element (or first slice)
    first = values[0]
    if first["label"].startswith("y"):
        assert first["torch"] == pytest.approx(outs[0].reshape(-1)[0].item(), rel=1e-6)


def test_std_correction_is_shown_and_used():
    x = X.clone()
    for correction in (0, 1, 2):
        doc = explain(T.std, "x.std", (x, 1), ["x", "1"], {"correction": correction})
        rule = next(s for s in doc["steps"] if s["table"])
        assert f"N - {correction}" in rule["note"]
        check = next(c for c in doc["checks"] if c["label"] == "y[0]")
        assert f"(4 - {correction})" in check["expression"]
        assert check["manual"] == pytest.approx(x.std(1, correction=correction)[0].item(), rel=1e-6)


def test_unbiased_false_positional():
    x = X.clone()
    doc = explain(T.var, "x.var", (x, False), ["x", "False"])
    check = next(c for c in doc["checks"] if c["label"] == "y")
    assert check["manual"] == pytest.approx(x.var(False).item(), rel=1e-6)


def test_argmax_traced_back_to_the_input():
    x = X.clone()
    doc = explain(T.argmax, "x.argmax", (x,), ["x"])
    flat = int(x.argmax())
    row, col = divmod(flat, x.shape[1])
    trace = next(c for c in doc["checks"] if c["label"].startswith("index"))
    assert trace["expression"] == f"x[{row}, {col}]"
    assert trace["manual"] == x[row, col].item() == trace["torch"]


def test_max_with_dim_gives_values_and_indices():
    x = X.clone()
    doc = explain(T.max, "x.max", (x, 1), ["x", "1"])
    values, indices = x.max(1)
    assert_tensor(doc["outputs"][0], values)
    assert_tensor(doc["outputs"][1], indices)
    trace = next(c for c in doc["checks"] if c["label"].startswith("index"))
    assert trace["expression"] == f"x[0, {indices[0].item()}]"
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert table["rows"][1][2] == "reduced: removed" and table["rows"][0][2] == "kept"


def test_keepdim_rows():
    doc = explain(T.amax, "x.amax", (X.clone(), 1), ["x", "1"], {"keepdim": True})
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert table["rows"][1][2] == "reduced: kept as 1"


def test_shape_only():
    x = shape_only(X.clone())
    doc = explain(T.topk, "x.topk", (x, 2), ["x", "2"])
    want = X.topk(2)
    assert [o["shape"] for o in doc["outputs"]] == [list(w.shape) for w in want]
    assert [o["dtype"] for o in doc["outputs"]] == ["float32", "int64"]
    assert any(c["label"] == "values" for c in doc["checks"])
    doc = explain(T.std, "x.std", (x, 0), ["x", "0"])
    assert doc["result"]["shape"] == list(X.std(0).shape)


def torch_message(fn, *args, **kwargs):
    with pytest.raises((RuntimeError, IndexError)) as info:
        fn(*args, **kwargs)
    return str(info.value).splitlines()[0]


@pytest.mark.parametrize(
    ("fn", "name", "x", "args", "kind", "hint_part"),
    [
        (T.amax, "x.amax", X, (2,), "dim_out_of_range", "[-2, 1]"),
        (T.argmax, "x.argmax", X, (-3,), "dim_out_of_range", "dim=-1"),
        (T.std, "x.std", X.long(), (1,), "reduction_dtype", "x.float().std(1)"),
        (torch.nanmean, "torch.nanmean", X.long(), (), "reduction_dtype", "torch.nanmean(x.float())"),
        (T.topk, "x.topk", X, (5,), "topk_k", "x.topk(4)"),
        (T.kthvalue, "x.kthvalue", X, (0,), "kthvalue_k", "1 to 4"),
    ],
)
def test_failures_explained_with_a_fix(fn, name, x, args, kind, hint_part):
    said = torch_message(fn, x, *args)
    doc = explain(fn, name, (x, *args), ["x", *map(repr, args)])
    assert doc["error"]["kind"] == kind
    assert hint_part in doc["error"]["hint"]
    assert said in doc["error"]["message"]


def test_dim_range_message_has_the_numbers():
    doc = explain(T.amax, "x.amax", (X, 5), ["x", "5"])
    assert "dim 5" in doc["error"]["message"] and "(3, 4)" in doc["error"]["message"]


def test_binary_max_is_not_a_reduction():
    a, b = X.clone(), X.flip(0)
    doc = explain(torch.max, "torch.max", (a, b), ["a", "b"])
    assert_tensor(doc["result"], torch.max(a, b))


def test_spanish_reduction():
    for args, codes in (((X.clone(), 1), ["x", "1"]), ((X.clone(), 7), ["x", "7"])):
        doc = explain(T.max, "x.max", args, codes, lang="es")
        assert not english_words(doc), english_words(doc)
    assert "Qué dimensiones se quedan" in [s["title"] for s in doc["steps"]]

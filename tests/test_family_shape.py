"""The shape family against torch, computed here: predicted shapes, traced elements, failures."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import ENGLISH_WORDS, TORCH_QUOTED, WORD, doc_texts

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import EN, ES
from tensorshape_cli.ops.families import shape as shape_family
from tensorshape_cli.registry import Call

X = torch.arange(24.0).view(2, 3, 4)
R = torch.tensor([1, 0, 2])


def explain(fn: Any, code: str, *args: Any, lang: str = "en", **kwargs: Any) -> dict[str, Any]:
    spec = registry.for_callable(fn)
    assert spec is not None and spec.family == "shape", code
    codes = ["x", *(repr(a) for a in args[1:])]
    call = Call(fn=fn, name=code.partition("(")[0], args=args, kwargs=kwargs, codes=codes, code=code)
    with settings.use(settings.Settings(lang=lang)):
        doc = spec.explain(call).to_dict()
    assert_schema(doc)
    return doc


CASES = [
    (torch.Tensor.t, "x.t()", (X[0],), {}),
    (torch.Tensor.unflatten, "x.unflatten(2, (2, -1))", (X, 2, (2, -1)), {}),
    (torch.Tensor.repeat, "x.repeat(2, 1, 1, 2)", (X, 2, 1, 1, 2), {}),
    (torch.tile, "torch.tile(x, (2,))", (X, (2,)), {}),
    (torch.repeat_interleave, "torch.repeat_interleave(x, 2, dim=1)", (X, 2), {"dim": 1}),
    (torch.repeat_interleave, "torch.repeat_interleave(x, 2)", (X, 2), {}),
    (
        torch.repeat_interleave,
        "torch.repeat_interleave(x, r, dim=1)",
        (X, torch.tensor([1, 0, 2])),
        {"dim": 1},
    ),
    (torch.Tensor.split, "x.split(3, 2)", (X, 3, 2), {}),
    (torch.split, "torch.split(x, [1, 2], 1)", (X, [1, 2], 1), {}),
    (torch.chunk, "torch.chunk(x, 3, 2)", (X, 3, 2), {}),
    (torch.chunk, "torch.chunk(x, 4, 1)", (X, 4, 1), {}),
    (torch.tensor_split, "torch.tensor_split(x, 3, 2)", (X, 3, 2), {}),
    (torch.tensor_split, "torch.tensor_split(x, [1, 3], 2)", (X, [1, 3], 2), {}),
    (torch.hsplit, "torch.hsplit(x, 3)", (X, 3), {}),
    (torch.vsplit, "torch.vsplit(x, [1])", (X, [1]), {}),
    (torch.unbind, "torch.unbind(x, 1)", (X, 1), {}),
    (torch.narrow, "torch.narrow(x, 2, 1, 2)", (X, 2, 1, 2), {}),
    (torch.Tensor.narrow_copy, "x.narrow_copy(-1, 1, 2)", (X, -1, 1, 2), {}),
    (torch.Tensor.select, "x.select(1, -1)", (X, 1, -1), {}),
    (torch.roll, "torch.roll(x, 1)", (X, 1), {}),
    (torch.roll, "torch.roll(x, (1, -1), (0, 2))", (X, (1, -1), (0, 2)), {}),
    (torch.flip, "torch.flip(x, (0, 2))", (X, (0, 2)), {}),
    (torch.fliplr, "torch.fliplr(x)", (X,), {}),
    (torch.flipud, "torch.flipud(x)", (X,), {}),
    *[(torch.rot90, f"torch.rot90(x, {k}, (1, 2))", (X, k, (1, 2)), {}) for k in range(-1, 4)],
    (torch.diagonal, "torch.diagonal(x, 1, 1, 2)", (X, 1, 1, 2), {}),
    (torch.diagonal, "torch.diagonal(x, -1, 1, 2)", (X, -1, 1, 2), {}),
    (torch.diag_embed, "torch.diag_embed(x, 1)", (X, 1), {}),
    (torch.diag, "torch.diag(x, -1)", (X[0, 0], -1), {}),
    (torch.diag, "torch.diag(x, 1)", (X[0], 1), {}),
    (torch.tril, "torch.tril(x, -1)", (X, -1), {}),
    (torch.Tensor.triu, "x.triu(1)", (X, 1), {}),
    (F.pad, "F.pad(x, (1, 2, 0, 1))", (X, (1, 2, 0, 1)), {}),
    (F.pad, "F.pad(x, (1, 1), value=-1.0)", (X, (1, 1)), {"value": -1.0}),
    *[(F.pad, f"F.pad(x, (2, 1), {m!r})", (X, (2, 1), m), {}) for m in ("reflect", "replicate", "circular")],
    (torch.take, "torch.take(x, i)", (X, torch.tensor([[0, -1], [5, 7]])), {}),
    (torch.atleast_3d, "torch.atleast_3d(x)", (X[0, 0],), {}),
    (torch.atleast_2d, "torch.atleast_2d(x)", (torch.tensor(5.0),), {}),
    (torch.atleast_1d, "torch.atleast_1d(x)", (X,), {}),
]


@pytest.mark.parametrize(("fn", "code", "args", "kwargs"), CASES, ids=[c[1] for c in CASES])
def test_real_values_agree_with_torch(fn, code, args, kwargs):
    want = fn(*args, **kwargs)
    doc = explain(fn, code, *args, **kwargs)
    assert doc["error"] is None
    if isinstance(want, torch.Tensor):
        assert_tensor(doc["result"], want)
        outputs = [want]
    else:
        assert len(doc["outputs"]) == len(want)
        for info, w in zip(doc["outputs"], want, strict=True):
            assert_tensor(info, w)
        outputs = list(want)
    shapes = [c for c in doc["checks"] if c["manual"] is not None and str(c["manual"]).startswith("(")]
    assert [c["torch"] for c in shapes] == [str(tuple(o.shape)) for o in outputs]
    elements = [c for c in doc["checks"] if c not in shapes]
    assert elements, "no element traced"
    for check in elements:
        assert check["ok"], check
        # the check's torch value is torch's element, found again here from its label
        label = check["label"].rpartition("y")[2]
        k, _, index = label.partition("][") if label.count("[") == 2 else ("[0", "", label[1:])
        out = outputs[int(k.strip("["))]
        idx = tuple(int(i) for i in index.rstrip("]").split(", ") if i)
        assert check["torch"] == out[idx].item()


def test_shape_is_the_rule_not_a_copy_of_torch():
    # the predicted shape comes from the rule: a wrong prediction would show as ✗
    doc = explain(torch.Tensor.repeat, "x.repeat(2, 1, 3)", X, 2, 1, 3)
    shape = doc["checks"][0]
    assert shape["manual"] == shape["torch"] == str(tuple(X.repeat(2, 1, 3).shape))
    assert doc["steps"][1]["code"] == "(2 * 2, 3 * 1, 4 * 3)"
    products = [
        math.prod(int(v) for v in part.split(" * ")) for part in doc["steps"][1]["code"][1:-1].split(", ")
    ]
    assert products == list(X.repeat(2, 1, 3).shape)


def test_pad_starts_at_the_last_dimension():
    doc = explain(F.pad, "F.pad(x, (1, 2, 0, 1))", X, (1, 2, 0, 1))
    table = doc["steps"][1]["table"]
    assert [row[1] for row in table["rows"]] == ["2", "1"]
    want = F.pad(X, (1, 2, 0, 1)).shape
    assert [row[-1].split(" → ")[1] for row in table["rows"]] == [str(want[2]), str(want[1])]


def test_split_pieces_last_one_smaller():
    doc = explain(torch.Tensor.split, "x.split(3, 2)", X, 3, 2)
    rows = doc["steps"][1]["table"]["rows"]
    assert [int(r[2]) for r in rows] == [p.shape[2] for p in X.split(3, 2)]
    assert "outputs" in doc and doc["result"] is None


@pytest.mark.parametrize(
    ("fn", "code", "args", "kwargs"),
    [c for c in CASES if c[1] != "torch.repeat_interleave(x, r, dim=1)"],
    ids=[c[1] for c in CASES if c[1] != "torch.repeat_interleave(x, r, dim=1)"],
)
def test_shape_only_gives_shapes_and_skips_values(fn, code, args, kwargs):
    meta = tuple(a.to("meta") if isinstance(a, torch.Tensor) else a for a in args)
    want = fn(*args, **kwargs)
    doc = explain(fn, code, *meta, **kwargs)
    assert doc["error"] is None
    wants = [want] if isinstance(want, torch.Tensor) else list(want)
    infos = [doc["result"]] if doc["result"] else doc["outputs"]
    for info, w in zip(infos, wants, strict=True):
        assert_tensor(info, w, values=False)
        assert info["values"] is None
    assert doc["checks"][-1]["label"] == EN["check.skipped.label"]
    assert all(c["ok"] for c in doc["checks"])


def test_repeat_interleave_with_shape_only_counts_says_the_size_is_unknown():
    x, r = X.to("meta"), torch.tensor([1, 0, 2], device="meta")
    with pytest.raises(RuntimeError):
        torch.repeat_interleave(x, r, dim=1)
    doc = explain(torch.repeat_interleave, "torch.repeat_interleave(x, r, dim=1)", x, r, dim=1)
    assert doc["error"] is None and doc["result"] is None
    assert EN["moves.unknown"] in [s["note"] for s in doc["steps"]]


FAILURES = [
    (torch.split, "torch.split(x, [1, 1], 1)", (X, [1, 1], 1), {}, "split_sizes", ["x.split([1, 2], dim=1)"]),
    (torch.hsplit, "torch.hsplit(x, 2)", (X, 2), {}, "split_sections", ["torch.tensor_split(x, 2, dim=1)"]),
    (
        torch.Tensor.repeat,
        "x.repeat(2, 2)",
        (X, 2, 2),
        {},
        "repeat_dims",
        ["x.repeat(1, 2, 2)", "x.tile(2, 2)"],
    ),
    (torch.Tensor.unflatten, "x.unflatten(2, (3, -1))", (X, 2, (3, -1)), {}, "unflatten_sizes", ["(2, -1)"]),
    (torch.narrow, "torch.narrow(x, 2, 3, 2)", (X, 2, 3, 2), {}, "narrow_range", ["x.narrow(2, 2, 2)"]),
    (F.pad, "F.pad(x, (1, 2, 3))", (X, (1, 2, 3)), {}, "pad_length", ["F.pad(x, (1, 2, 3, 0))"]),
    (F.pad, "F.pad(x, (1,) * 8)", (X, (1,) * 8), {}, "pad_length", ["F.pad(x, (1, 1, 1, 1, 1, 1))"]),
    (F.pad, "F.pad(x, (4, 4), 'reflect')", (X, (4, 4), "reflect"), {}, "pad_reflect", ["mode='replicate'"]),
]


@pytest.mark.parametrize(
    ("fn", "code", "args", "kwargs", "kind", "fixes"), FAILURES, ids=[f[1] for f in FAILURES]
)
def test_failures_are_explained_with_a_fix(fn, code, args, kwargs, kind, fixes):
    with pytest.raises((RuntimeError, IndexError, ValueError)) as raised:
        fn(*args, **kwargs)
    doc = explain(fn, code, *args, **kwargs)
    assert doc["error"]["kind"] == kind
    assert str(raised.value).splitlines()[0] in doc["error"]["message"]  # torch's words kept
    for fix in fixes:
        assert fix in doc["error"]["hint"]
    assert doc["result"] is None and not doc["checks"]


def test_the_fixes_run():
    # the hints' code does what the message says
    assert sum(p.shape[1] for p in X.split([1, 2], dim=1)) == X.shape[1]
    assert X.repeat(1, 2, 2).shape == X.tile(2, 2).shape
    assert X.unflatten(2, (2, -1)).shape == (2, 3, 2, 2)
    assert X.narrow(2, 2, 2).shape[2] == 2
    F.pad(X, (1, 2, 3, 0))
    F.pad(X, (4, 4), mode="replicate")


@pytest.mark.parametrize(
    ("fn", "code", "args"),
    [
        (F.pad, "F.pad(x, (1, 2, 0, 1))", (X, (1, 2, 0, 1))),
        (torch.chunk, "torch.chunk(x, 3, 2)", (X, 3, 2)),
        (torch.Tensor.repeat, "x.repeat(2, 2)", (X, 2, 2)),
        (torch.roll, "torch.roll(x, 1)", (X, 1)),
        (torch.diag_embed, "torch.diag_embed(x, 1)", (X, 1)),
        (torch.tril, "torch.tril(x, -1)", (X, -1)),
    ],
)
def test_spanish_has_no_english(fn, code, args):
    doc = explain(fn, code, *args, lang="es")
    words, code_texts = doc_texts(doc)
    texts = [TORCH_QUOTED.sub("", text) for text in words + code_texts]  # torch's words, quoted
    found = [(w, text) for text in texts for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]
    assert not found, found
    english = explain(fn, code, *args)
    assert [s["title"] for s in doc["steps"]] != [s["title"] for s in english["steps"]]


def test_every_target_resolves_and_runtime_ids_exist():
    specs = [s for s in registry.specs() if s.family == "shape"]
    assert {s.name for s in specs} >= {f"shape.{op}" for op in shape_family.OPS}
    for spec in specs:
        for path in spec.targets:
            assert registry.resolve(path) is not None, path
            assert registry.for_callable(registry.resolve(path)) is spec, path
        assert spec.summary in EN and spec.summary in ES
    for msg_id in shape_family.RUNTIME_IDS:
        assert msg_id in EN and msg_id in ES


def test_dedicated_ops_are_not_claimed():
    claimed = {p for s in registry.specs() if s.family == "shape" for p in s.targets}
    # movedim/moveaxis (ops/movedim.py) and swapaxes/swapdims (ops/permute.py) are dedicated too
    for name in (
        "view",
        "reshape",
        "flatten",
        "permute",
        "transpose",
        "expand",
        "unsqueeze",
        "squeeze",
        "movedim",
        "swapaxes",
    ):
        assert f"torch.Tensor.{name}" not in claimed and f"torch.{name}" not in claimed
    for name in ("cat", "stack", "broadcast_to"):
        assert f"torch.{name}" not in claimed

"""F.embedding and torch.embedding: index → row, the range rule, against torch computed here."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import english_words

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.registry import Call
from tensorshape_cli.text import fmt_num

W = torch.arange(15.0).reshape(5, 3) / 10
IDX = torch.tensor([[0, 4], [2, 2]])


def listed(values: list[float]) -> str:
    return "[" + ", ".join(fmt_num(v) for v in values) + "]"


def explain(fn: Any, args: tuple[Any, ...], codes: list[str], lang: str = "en", **kw: Any):
    name = "torch.embedding" if fn is torch.embedding else "F.embedding"
    code = f"{name}({', '.join([*codes, *(f'{k}={v!r}' for k, v in kw.items())])})"
    call = Call(fn=fn, name=name, args=args, kwargs=kw, codes=codes, code=code)
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("embedding").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


@pytest.mark.parametrize("spelling", ["F", "torch"])
def test_rows_against_torch(spelling):
    if spelling == "F":
        y = F.embedding(IDX, W)
        ex, doc = explain(F.embedding, (IDX, W), ["i", "w"])
    else:
        y = torch.embedding(W, IDX)
        ex, doc = explain(torch.embedding, (W, IDX), ["w", "i"])
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], y)
    assert doc["checks"][0]["torch"] == str(tuple(y.shape))
    table = next(s["table"] for s in doc["steps"] if s["table"])
    assert [row[1] for row in table["rows"]] == [str(v) for v in IDX.reshape(-1).tolist()]
    assert table["rows"][1] == ["0, 1", "4", "w[4]"]
    traced = next(s for s in doc["steps"] if s["code"] == "w[2]")
    assert_tensor(traced["tensor"], W[2])
    row = doc["checks"][-1]
    assert row["ok"] and row["torch"] == listed(y[1, 1].tolist())


def test_a_wrong_row_would_show_as_a_cross():
    """The row check reads the weight apart from torch: a result off by one fails it."""

    def off_by_one(i: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.embedding(i, w) + 1

    call = Call(fn=off_by_one, name="F.embedding", args=(IDX, W), codes=["i", "w"], code="F.embedding(i, w)")
    ex = registry.get("embedding").explain(call)
    row = ex.checks[-1]
    assert row.manual == listed(W[IDX[1, 1]].tolist())
    assert not row.ok and not ex.ok


def test_padding_idx_is_explained():
    y = F.embedding(IDX, W, padding_idx=2)
    _, doc = explain(F.embedding, (IDX, W), ["i", "w"], padding_idx=2)
    assert_tensor(doc["result"], y)
    assert "padding_idx=2" in next(s["note"] for s in doc["steps"] if s["table"])


def test_index_out_of_range_names_the_index_and_its_position():
    bad = torch.tensor([[0, 1], [7, 3]])
    with pytest.raises(IndexError) as raised:
        F.embedding(bad, W)
    _, doc = explain(F.embedding, (bad, W), ["i", "w"])
    error = doc["error"]
    assert error["kind"] == "embedding_index_range"
    assert "index 7 at position (1, 0)" in error["message"]
    assert f"[0, {W.shape[0]})" in error["message"]
    assert str(raised.value) in error["message"]
    assert f"nn.Embedding({bad.max().item() + 1}, {W.shape[1]})" in error["hint"]
    assert torch.nn.Embedding(bad.max().item() + 1, W.shape[1])(bad).shape == (2, 2, 3)  # the fix works
    _, doc = explain(F.embedding, (torch.tensor([-1, 0]), W), ["i", "w"])
    assert doc["error"]["kind"] == "embedding_index_range"
    assert "index -1 at position (0)" in doc["error"]["message"]


def test_float_indices():
    fi = IDX.float()
    with pytest.raises(RuntimeError) as raised:
        F.embedding(fi, W)
    for x, w in ((fi, W), (fi.to("meta"), W.to("meta"))):
        _, doc = explain(F.embedding, (x, w), ["i", "w"])
        assert doc["error"]["kind"] == "embedding_index_dtype"
        assert "float32" in doc["error"]["message"]
        assert "F.embedding(i.long(), w)" in doc["error"]["hint"]
    assert (
        str(raised.value).split(" (while")[0]
        in explain(F.embedding, (fi, W), ["i", "w"])[1]["error"]["message"]
    )
    assert torch.equal(F.embedding(fi.long(), W), F.embedding(IDX, W))


def test_shape_only():
    i, w = torch.empty(4, 7, dtype=torch.long, device="meta"), torch.empty(10, 3, device="meta")
    y = F.embedding(torch.zeros(4, 7, dtype=torch.long), torch.zeros(10, 3))
    ex, doc = explain(F.embedding, (i, w), ["i", "w"])
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], y, values=False)
    assert CATALOGS["en"]["check.skipped.label"] in [c["label"] for c in doc["checks"]]


def test_spanish():
    _, doc = explain(F.embedding, (IDX, W), ["i", "w"], lang="es")
    assert doc["steps"][2]["title"] == CATALOGS["es"]["embedding.rule.title"]
    assert not english_words(doc), english_words(doc)
    _, doc = explain(F.embedding, (torch.tensor([9]), W), ["i", "w"], lang="es")
    assert "fuera de rango" in doc["error"]["message"]
    assert not english_words(doc), english_words(doc)

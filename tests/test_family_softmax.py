"""softmax, log_softmax, softmin: the family spec against torch computed here, real and shape-only."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor
from test_lang import english_words

from tensorshape_cli import registry, settings
from tensorshape_cli.messages import CATALOGS
from tensorshape_cli.ops.families import softmax as family
from tensorshape_cli.registry import Call

X = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
SPELLINGS = [
    (torch.softmax, "torch.softmax", False),
    (F.softmax, "F.softmax", False),
    (torch.special.softmax, "torch.special.softmax", False),
    (torch.Tensor.softmax, "x.softmax", True),
    (torch.log_softmax, "torch.log_softmax", False),
    (F.log_softmax, "F.log_softmax", False),
    (torch.special.log_softmax, "torch.special.log_softmax", False),
    (torch.Tensor.log_softmax, "x.log_softmax", True),
    (F.softmin, "F.softmin", False),
]


def explain(fn: Any, name: str, method: bool, x: torch.Tensor, *rest: Any, lang: str = "en", **kw: Any):
    codes = ["x", *map(repr, rest)]
    shown = codes[1:] if method else codes
    code = f"{name}({', '.join([*shown, *(f'{k}={v!r}' for k, v in kw.items())])})"
    call = Call(fn=fn, name=name, args=(x, *rest), kwargs=kw, codes=codes, code=code)
    with settings.use(settings.Settings(lang=lang)):
        ex = registry.get("softmax").explain(call)
        doc = ex.to_dict()
    assert_schema(doc)
    return ex, doc


def torch_quiet(fn: Any, *args: Any, **kw: Any) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_every_spelling_is_claimed():
    spec = registry.get("softmax")
    for fn, _, _ in SPELLINGS:
        assert registry.for_callable(fn) is spec


def test_runtime_ids_are_in_both_catalogs():
    for msg_id in family.RUNTIME_IDS:
        assert msg_id in CATALOGS["en"] and msg_id in CATALOGS["es"], msg_id


@pytest.mark.parametrize(("fn", "name", "method"), SPELLINGS, ids=[s[1] for s in SPELLINGS])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_every_spelling_against_torch(fn, name, method, dim):
    y = fn(X, dim)
    ex, doc = explain(fn, name, method, X, dim)
    assert doc["error"] is None
    assert_tensor(doc["result"], y)
    assert ex.ok
    d = dim % 2
    elements = [c for c in doc["checks"] if re.fullmatch(r"y\[.*\]", c["label"])]
    assert len(elements) == X.shape[d]
    for k, check in enumerate(elements):
        index = [0, 0]
        index[d] = k
        assert check["torch"] == y[tuple(index)].item()
        # the hand value is float64 Python, close to torch's float32 but computed apart
        assert check["manual"] == pytest.approx(y[tuple(index)].item(), rel=1e-5, abs=1e-6)
    # the notebook's written sum of the first slice, against torch's exps
    first = X.select(1 - d, 0)
    values = -first if "softmin" in name else first
    sum_check = doc["checks"][1]
    assert sum_check["expression"] == " + ".join(f"e^{v:g}" for v in values.tolist())
    assert sum_check["torch"] == values.exp().sum().item()
    assert sum_check["manual"] == pytest.approx(math.fsum(math.exp(v) for v in values.tolist()))
    every = doc["checks"][-1]
    sums = (y.double().exp() if "log" in name else y.double()).sum(dim)
    assert every["ok"] and abs(every["torch"] - 1) == (sums - 1).abs().max().item()


def test_the_slice_steps_hold_torchs_tensors():
    y = torch.softmax(X, 1)
    _, doc = explain(torch.softmax, "torch.softmax", False, X, 1)
    by_code = {s["code"]: s["tensor"] for s in doc["steps"]}
    assert_tensor(by_code["x[0, :]"], X[0, :])
    assert_tensor(by_code["(x[0, :] - (x[0, :]).max()).exp()"], (X[0, :] - X[0, :].max()).exp())
    assert_tensor(by_code["torch.softmax(x, 1)[0, :]"], y[0, :])
    notes = " ".join(s["note"] for s in doc["steps"])
    total = (X[0] - X[0].max()).exp().sum().item()
    assert f"{total:.6g}" in notes
    assert "e^(1 - 3) + e^(2 - 3) + e^(3 - 3)" in notes


def test_a_wrong_hand_value_would_show_as_a_cross(monkeypatch):
    """The checks compare: a hand route that is off makes them fail."""
    monkeypatch.setattr(family, "_quotient", lambda how, v, m, total: 0.5)
    ex, doc = explain(torch.softmax, "torch.softmax", False, X, 1)
    assert not ex.ok
    assert any(not c["ok"] for c in doc["checks"])


def test_large_values_do_not_overflow_the_hand_sum():
    x = torch.tensor([1000.0, 1001.0, 1002.0])
    y = torch.softmax(x, 0)
    ex, doc = explain(torch.softmax, "torch.softmax", False, x, 0)
    assert ex.ok
    assert_tensor(doc["result"], y)
    assert doc["checks"][1]["expression"].startswith("e^(1000 - 1002)")


def test_float64_and_dtype_keyword():
    x = X.double()
    ex, doc = explain(F.softmax, "F.softmax", False, x, 1)
    assert ex.ok
    assert_tensor(doc["result"], F.softmax(x, 1))
    xi = torch.tensor([[1, 2, 3]])
    y = torch.softmax(xi, 1, dtype=torch.float64)
    ex, doc = explain(torch.softmax, "torch.softmax", False, xi, 1, dtype=torch.float64)
    assert doc["error"] is None and ex.ok
    assert_tensor(doc["result"], y)


def test_implicit_dim_names_the_dim_torch_picks():
    for x in (X, torch.rand(2, 3, 4), torch.rand(2, 3, 4, 5)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = F.softmax(x)
        said = str(caught[0].message)
        ex, doc = explain(F.softmax, "F.softmax", False, x)
        assert_tensor(doc["result"], y, rel=1e-6)
        picked = next(d for d in range(x.dim()) if torch.allclose(torch.softmax(x, d), y))
        rule = next(s for s in doc["steps"] if s["table"])
        assert f"F.softmax(x, dim={picked})" in rule["note"]
        assert said in rule["note"]
        assert ex.ok


@pytest.mark.parametrize("dim", [2, -3, 5])
def test_dim_out_of_range(dim):
    with pytest.raises(IndexError) as raised:
        torch.softmax(X, dim)
    _, doc = explain(torch.softmax, "torch.softmax", False, X, dim)
    assert doc["error"]["kind"] == "softmax_dim"
    assert str(raised.value) in doc["error"]["message"]
    assert "[-2, 1]" in doc["error"]["message"]
    assert "torch.softmax(x, dim=-1)" in doc["error"]["hint"]
    assert doc["result"] is None
    _, doc = explain(torch.Tensor.log_softmax, "x.log_softmax", True, X.to("meta"), dim)
    assert doc["error"]["kind"] == "softmax_dim"
    assert "x.log_softmax(dim=-1)" in doc["error"]["hint"]


def test_integer_input():
    xi = torch.tensor([[1, 2, 3]])
    with pytest.raises(RuntimeError) as raised:
        xi.softmax(1)
    _, doc = explain(torch.Tensor.softmax, "x.softmax", True, xi, 1)
    assert doc["error"]["kind"] == "softmax_dtype"
    assert "int64" in doc["error"]["message"]
    assert str(raised.value).splitlines()[0] in doc["error"]["message"]
    fix = doc["error"]["hint"].split(": ", 1)[1].split(" ")[0]
    assert fix == "x.float().softmax(dim=1)"
    assert xi.float().softmax(dim=1).dtype == torch.float32  # the fix works for this x
    # shape-only: torch's meta kernel does not check the dtype; the rule does
    _, doc = explain(F.log_softmax, "F.log_softmax", False, xi.to("meta"), 1)
    assert doc["error"]["kind"] == "softmax_dtype"
    assert "F.log_softmax(x.float(), dim=1)" in doc["error"]["hint"]


@pytest.mark.parametrize(("fn", "name", "method"), SPELLINGS[::4], ids=[s[1] for s in SPELLINGS[::4]])
def test_shape_only(fn, name, method):
    x = torch.empty(4, 5, 6, device="meta")
    y = fn(torch.zeros(4, 5, 6), 1)
    ex, doc = explain(fn, name, method, x, 1)
    assert doc["error"] is None
    assert_tensor(doc["result"], y, values=False)
    labels = [c["label"] for c in doc["checks"]]
    assert CATALOGS["en"]["check.skipped.label"] in labels
    assert doc["checks"][0]["torch"] == str(tuple(y.shape))
    assert ex.ok


def test_spanish():
    _, doc = explain(torch.softmax, "torch.softmax", False, X, 1, lang="es")
    assert doc["steps"][-3]["title"] == CATALOGS["es"]["softmax.slice.title"]
    assert not english_words(doc), english_words(doc)
    _, doc = explain(F.softmax, "F.softmax", False, X, lang="es")
    assert not english_words(doc), english_words(doc)
    _, doc = explain(torch.Tensor.softmax, "x.softmax", True, torch.tensor([1, 2]), 0, lang="es")
    assert doc["error"]["kind"] == "softmax_dtype"
    assert "necesita" in doc["error"]["message"]
    assert not english_words(doc), english_words(doc)
    _, doc = explain(torch.softmax, "torch.softmax", False, X, 3, lang="es")
    assert "fuera de rango" in doc["error"]["message"]
    assert not english_words(doc), english_words(doc)

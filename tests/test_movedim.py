"""movedim, the op added the registry's way: one module, explained in expr, against torch."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_schema, assert_tensor

from tensorshape_cli import registry


def test_movedim_is_registered_for_its_callables():
    spec = registry.get("movedim")
    assert spec.family == "dedicated"
    for fn in (torch.movedim, torch.Tensor.movedim, torch.moveaxis, torch.Tensor.moveaxis):
        assert registry.for_callable(fn) is spec


@pytest.mark.parametrize(
    ("expression", "source", "destination"),
    [
        ("x.movedim(0, -1)", 0, -1),
        ("torch.movedim(x, 2, 0)", 2, 0),
        ("x.movedim((0, 1), (2, 0))", (0, 1), (2, 0)),
        ("x.movedim(source=1, destination=0)", 1, 0),
    ],
)
def test_movedim_against_torch(tshape, expression, source, destination):
    x = torch.arange(24.0).reshape(2, 3, 4)
    expected = torch.movedim(x, source, destination)
    r = tshape("expr", expression, "-t", f"x={x.tolist()}", "--json")
    assert r.code == 0, r.stderr
    assert_schema(r.doc)
    assert_tensor(r.doc["result"], expected)
    step = r.doc["steps"][-1]
    assert_tensor(step["tensor"], expected)
    # the table: each new dim, the old dim it comes from, with its size and stride
    rows = step["table"]["rows"]
    for new, row in enumerate(rows):
        old = int(row[1])
        assert int(row[0]) == new
        assert int(row[2]) == x.shape[old] == expected.shape[new]
        assert int(row[3]) == x.stride(old) == expected.stride(new)


def test_movedim_explains_its_checks_against_torch():
    from tensorshape_cli.ops import movedim

    x = torch.zeros(2, 3, 4, 5)
    ex = movedim.explain(x, [0, 3], [1, 2])
    y = x.movedim((0, 3), (1, 2))
    assert ex.result is not None and ex.result.shape == list(y.shape)
    assert ex.checks and all(c.ok for c in ex.checks)


@pytest.mark.parametrize(
    "expression", ["x.movedim(5, 0)", "x.movedim((0, 1), 0)", "x.movedim((0, 0), (1, 2))"]
)
def test_movedim_fails_exactly_when_torch_does(tshape, expression):
    x = torch.zeros(2, 3, 4)
    with pytest.raises((RuntimeError, IndexError, TypeError)):
        eval(expression, {"x": x})  # the test's own oracle
    r = tshape("expr", expression, "-t", "x=zeros(2, 3, 4)", "--json")
    assert r.code == 1, (r.code, r.stderr)
    assert r.doc["error"]["message"]

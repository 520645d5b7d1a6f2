"""The registry: every command's op found by name and by the torch callables it explains, and
adding an op is one module that registers itself."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
from conftest import assert_schema, assert_tensor

from tensorshape_cli import registry
from tensorshape_cli.explanation import Explanation, Step

# command → (spec name, torch callables it must claim)
COMMANDS = {
    "unsqueeze": ("unsqueeze", [torch.unsqueeze, torch.Tensor.unsqueeze]),
    "view": ("view", [torch.Tensor.view]),
    "squeeze": ("squeeze", [torch.squeeze, torch.Tensor.squeeze]),
    "reshape": ("reshape", [torch.reshape, torch.Tensor.reshape]),
    "flatten": ("flatten", [torch.flatten, torch.Tensor.flatten]),
    "permute": ("permute", [torch.permute, torch.Tensor.permute]),
    "transpose": ("transpose", [torch.transpose, torch.Tensor.transpose, torch.swapaxes]),
    "expand": ("expand", [torch.Tensor.expand, torch.broadcast_to, torch.Tensor.broadcast_to]),
    "broadcast": ("broadcast", [torch.broadcast_tensors, torch.broadcast_shapes]),
    "matmul": ("matmul", [torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__]),
    "sum": ("sum", [torch.sum, torch.Tensor.sum]),
    "mean": ("mean", [torch.mean, torch.Tensor.mean]),
    "cat": ("cat", [torch.cat, torch.concat, torch.concatenate]),
    "stack": ("stack", [torch.stack]),
    "linear": ("linear", [torch.nn.functional.linear, torch.nn.Linear]),
    "weighted": ("weighted", []),
    "inspect": ("inspect", []),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_finds_its_op_by_name_and_by_callable(command):
    name, callables = COMMANDS[command]
    spec = registry.get(name)
    assert spec.command == command
    assert spec.family == "dedicated"
    for fn in callables:
        assert registry.for_callable(fn) is spec, fn
    # methods looked up on an instance are the same callables as on the class
    for fn in callables:
        bound = getattr(torch.zeros(1), getattr(fn, "__name__", ""), None)
        if bound is not None and getattr(bound, "__func__", None) is not None:
            assert registry.for_callable(bound) is spec


def test_each_spec_is_registered_once_and_names_are_unique():
    specs = list(registry.specs())
    assert len({s.name for s in specs}) == len(specs)
    with pytest.raises(ValueError, match="twice"):
        registry.register(registry.OpSpec("view", "dedicated", lambda call: Explanation("x", "x")))


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="family"):
        registry.OpSpec("nothing", "no-such-family", lambda call: Explanation("x", "x"))


def test_a_callable_no_spec_claims_goes_to_the_generic_spec():
    assert registry.for_callable(torch.Tensor.contiguous) is None
    assert registry.get("generic").family == "generic"


def test_call_runs_torch_once():
    calls = []

    def fn(x):
        calls.append(x)
        return x + 1

    call = registry.Call(fn, "fn", (torch.ones(2),))
    assert call.run() is call.run()
    assert len(calls) == 1


def test_call_binds_arguments_as_torch_does():
    x = torch.zeros(2, 3)
    assert registry.Call(None, "view", (x, 3, -1)).sizes(1, "size") == [3, -1]
    assert registry.Call(None, "view", (x, (3, -1))).sizes(1, "size") == [3, -1]
    assert registry.Call(None, "view", (x,), {"size": (3, -1)}).sizes(1, "size") == [3, -1]
    assert registry.Call(None, "sum", (x,), {"dim": 1}).arg(1, "dim") == 1
    with pytest.raises(TypeError):
        registry.Call(None, "sum", (x,), {"dtype": None}).only("dim", "keepdim")


# --- adding an op is one module --------------------------------------------------------------


MODULE = textwrap.dedent(
    '''
    """A tiny op registered from its own module: torch.Tensor.clone, explained its own way."""
    from tensorshape_cli.describe import info
    from tensorshape_cli.explanation import Explanation, Step
    from tensorshape_cli.registry import Call, OpSpec, register


    def _explain_call(call: Call) -> Explanation:
        y = call.run()
        ex = Explanation(op="clone", call=call.code, result=info(y))
        ex.steps.append(Step("cloned", call.code, ex.result, "a copy, new storage"))
        return ex


    SPEC = register(OpSpec("tiny_clone", "dedicated", _explain_call, targets=("torch.Tensor.clone",)))
    '''
)


@pytest.fixture
def tiny_op(tmp_path, monkeypatch):
    (tmp_path / "tiny_clone_op.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    saved_specs, saved_table = dict(registry._SPECS), registry._BY_CALLABLE
    import importlib

    module = importlib.import_module("tiny_clone_op")
    yield module.SPEC
    registry._SPECS.clear()
    registry._SPECS.update(saved_specs)
    registry._BY_CALLABLE = saved_table
    sys.modules.pop("tiny_clone_op", None)


def test_a_spec_registered_in_its_own_module_is_what_expr_dispatches_to(tiny_op, tshape, monkeypatch):
    assert registry.for_callable(torch.Tensor.clone) is tiny_op
    x = torch.tensor([1.0, 2.0])
    r = tshape("expr", "x.clone() * 2", "-t", "x=[1.0, 2.0]", "--json")
    assert r.code == 0, r.stderr
    assert_schema(r.doc)
    step = {s["code"]: s for s in r.doc["steps"]}["x.clone()"]
    assert step["note"] == "a copy, new storage"  # the tiny spec's own words
    assert_tensor(step["tensor"], x.clone())
    assert_tensor(r.doc["result"], x.clone() * 2)


def test_a_step_records_outputs_and_value_only_when_there_are_some():
    assert set(Step("t", "c").to_dict()) == {"title", "code", "tensor", "note", "table"}
    assert Step("t", "c", value=3).to_dict()["value"] == 3


@pytest.mark.parametrize("spec", list(registry.specs()), ids=lambda spec: spec.name)
def test_every_target_of_a_spec_resolves_to_a_callable_that_spec_claims(spec):
    for path in spec.targets:
        target = registry.resolve(path)
        assert target is not None, path
        assert registry.for_callable(target) is spec, path


def test_no_torch_callable_is_claimed_by_two_specs():
    """for_callable picks one spec per callable: two claims would make the choice an accident
    of import order."""
    claims: dict[int, set[str]] = {}
    for spec in registry.specs():
        for path in spec.targets:
            target = registry.resolve(path)
            if target is not None:
                claims.setdefault(id(target), set()).add(spec.name)
    assert not [names for names in claims.values() if len(names) > 1]

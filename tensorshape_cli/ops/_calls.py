"""Step builders shared by the family specs: a registry.Call's operands, its run, its result.

A family module explains many torch callables with one rule; these helpers give every family
the same opening (one step per tensor operand, named as the user wrote it), the same way of
running the call (torch's own error kept, never raised) and the same closing (the result, or
several outputs, or a plain value).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import Explanation, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import TORCH_ERRORS, torch_error
from tensorshape_cli.text import fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call


def operands(call: Call) -> Iterator[tuple[str, torch.Tensor]]:
    """(name as written, tensor) for every tensor the call receives, positional first, then
    keywords, then tensors inside lists and tuples (torch.cat((a, b)))."""
    import torch

    for i, value in enumerate(call.args):
        code = call.codes[i] if i < len(call.codes) else f"arg{i}"
        if isinstance(value, torch.Tensor):
            yield code, value
        elif isinstance(value, (list, tuple)):
            for j, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    yield f"{code}[{j}]", item
    for key, value in call.kwargs.items():
        if isinstance(value, torch.Tensor):
            yield call.keyword_codes.get(key, key), value


def arg(call: Call, index: int, name: str, default: Any = None) -> Any:
    """An argument as torch binds it: positional at `index` (counting the tensor a method is
    called on as 0), else the keyword `name`, else the default."""
    if index < len(call.args):
        return call.args[index]
    return call.kwargs.get(name, default)


def start(call: Call, op: str, title: str) -> Explanation:
    """An Explanation with the call's tensor operands as inputs, one step each."""
    named = dict(operands(call))
    ex = Explanation(
        op=op, call=call.code or call.name, title=title, inputs={n: info(x) for n, x in named.items()}
    )
    for name, x in named.items():
        ex.steps.append(
            Step(
                t("call.input", name=name),
                name,
                info(x),
                t("call.input.note", name=name, shape=fmt_shape(x.shape), n=x.dim()),
            )
        )
    return ex


def run(ex: Explanation, call: Call) -> tuple[bool, Any]:
    """(True, torch's result), or (False, None) with torch's error on ex.error: a family that
    has a rule for the error replaces that OpError with its own explanation and fix."""
    try:
        return True, call.run()
    except TORCH_ERRORS as e:
        ex.error = torch_error(e)
        return False, e


def result_step(ex: Explanation, call: Call, value: Any, note: str = "") -> None:
    """The result as the last step: a tensor is ex.result; several tensors are ex.outputs;
    anything else (a number, a shape, a bool) is ex.value."""
    import torch

    code = call.code or call.name
    if isinstance(value, torch.Tensor):
        ex.result = info(value)
        ex.steps.append(Step(t("step.result"), code, ex.result, note))
        return
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, torch.Tensor) for v in value):
        outputs = [info(v) for v in value]
        ex.outputs = outputs
        for i, out in enumerate(outputs):
            ex.steps.append(
                Step(t("call.output", i=i, n=len(outputs)), f"{code}[{i}]", out, note if i == 0 else "")
            )
        return
    ex.value = plain_value(value)
    ex.steps.append(Step(t("step.result"), code, None, note or t("call.value", value=ex.value)))


def plain_value(value: Any) -> Any:
    """A JSON-ready form of a non-tensor result: torch.Size and tuples as lists, numbers as is."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [plain_value(v) for v in value]
    return str(value)

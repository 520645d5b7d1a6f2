"""Any op no other spec claims: what torch gives, correct for every op.

The inputs, the result as torch computes it (shape, dtype, stride, values), which dimensions
changed size; several tensors as `outputs`, a plain number or shape as `value`, a layer built
in an expression with its parameters' shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info, plain_value
from tensorshape_cli.explanation import Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import torch_error
from tensorshape_cli.registry import Call, OpSpec, register
from tensorshape_cli.text import fmt_args, fmt_shape

if TYPE_CHECKING:
    import torch


def explain(call: Call) -> Explanation:
    import torch

    ex = Explanation(op=call.name, call=call.code or call.name, title=t("generic.title", name=call.name))
    inputs = [
        (code, x) for code, x in zip(call.codes, call.args, strict=False) if isinstance(x, torch.Tensor)
    ]
    ex.inputs = {code: info(x) for code, x in inputs}
    try:
        out = call.run()
    except ZeroDivisionError:
        ex.error = OpError("expr_zero_division", t("expr.zero_division"), t("expr.zero_division.hint"))
        return ex
    except Exception as e:  # torch's refusal, in its own words
        ex.error = torch_error(e)
        return ex
    first = inputs[0][1] if inputs else None
    code = f"y = {call.code}" if call.code else "y"
    if isinstance(out, torch.Tensor):
        ex.result = info(out)
        ex.steps.append(Step(t("step.result"), code, ex.result, _tensor_note(first, out)))
    elif isinstance(out, torch.nn.Module):
        ex.steps.append(Step(t("step.result"), code, None, _layer_note(out)))
    elif isinstance(out, (tuple, list)) and out and all(isinstance(o, torch.Tensor) for o in out):
        ex.outputs = [info(o) for o in out]
        shapes = ", ".join(fmt_shape(o.shape) for o in out)
        step = Step(t("step.result"), code, None, t("generic.outputs", count=len(out), shapes=shapes))
        step.outputs = ex.outputs
        ex.steps.append(step)
    else:
        ex.value = plain_value(out)
        ex.steps.append(Step(t("step.result"), code, None, "", value=ex.value))
    return ex


def _tensor_note(first: torch.Tensor | None, out: torch.Tensor) -> str:
    note = t(
        "generic.result",
        shape=fmt_shape(out.shape),
        dtype=dtype_name(out.dtype),
        stride=fmt_shape(out.stride()),
    )
    if first is None:
        return note
    if first.dim() == out.dim():
        changed = [d for d in range(out.dim()) if first.shape[d] != out.shape[d]]
        if changed:
            return note + " " + t("generic.changed", dims=fmt_args(changed), before=fmt_shape(first.shape))
        return note + " " + t("generic.same_shape")
    return note + " " + t("generic.rank", before=fmt_shape(first.shape), n=first.dim(), m=out.dim())


def _layer_note(layer: torch.nn.Module) -> str:
    params = ", ".join(f"{name} {fmt_shape(p.shape)}" for name, p in layer.named_parameters())
    return t("generic.layer", layer=type(layer).__name__, params=params or t("generic.no_params"))


SPEC = register(OpSpec("generic", "generic", explain))

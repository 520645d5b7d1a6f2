"""nn.Linear: y = x @ W.T + b, with a real module whose parameters are set as in the notebook."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tensorshape_cli import settings
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Check, Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import (
    agrees,
    allclose_check,
    check_size,
    eps_of,
    shape_only_if_any,
    skipped_check,
    torch_error,
    written_sum,
)
from tensorshape_cli.text import fmt_count, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

DEFAULT_OUT_FEATURES = 2  # the notebook's nn.Linear(in_features=3, out_features=2)
ALL_WRITTEN = 8
FIRST_WRITTEN = 4


def notebook_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    import torch

    x = torch.tensor([[0.5, 0.6, 0.7], [0.8, 0.9, 1.0]], dtype=torch.float32)
    return x, x.clone(), torch.tensor([0.1, 0.2], dtype=torch.float32)


def explain(
    x: torch.Tensor,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    *,
    use_bias: bool = True,
    out_features: int | None = None,
    seed: int = 0,
) -> Explanation:
    import torch
    from torch import nn

    if bias is not None and not use_bias:
        raise InputError(t("linear.bias_conflict"))
    x, weight, bias = shape_only_if_any(x, weight, bias)  # type: ignore[assignment]
    if weight is not None and weight.dim() == 2 and out_features not in (None, weight.shape[0]):
        raise InputError(
            t("linear.out_conflict", n=out_features, out=weight.shape[0], shape=fmt_shape(weight.shape))
        )
    if out_features is not None and out_features < 0:
        raise InputError(t("linear.out_negative", n=out_features))
    dtype = x.dtype if x.is_floating_point() else torch.float32
    ex = Explanation(
        op="linear",
        call="nn.Linear(in_features, out_features)(x)",
        title=t("linear.title"),
        inputs={"x": info(x)},
    )
    if weight is not None:
        ex.inputs["weight"] = info(weight)
    if bias is not None:
        ex.inputs["bias"] = info(bias)
    if x.dim() == 0:
        ex.error = OpError("linear_rank", t("linear.rank"), t("linear.rank.hint"))
        return ex
    if x.dtype != dtype:
        ex.steps.append(
            Step(
                t("linear.cast.title"),
                f"x = x.to(torch.{dtype_name(dtype)})",
                None,
                t("linear.cast", name="x", before=dtype_name(x.dtype), after=dtype_name(dtype)),
            )
        )
        x = x.to(dtype)
    in_features = x.shape[-1]
    lead = fmt_shape(x.shape[:-1])
    ex.steps.append(
        Step(
            t("step.input_of", name="x"),
            "x",
            info(x, marked=[x.dim() - 1]),
            t("linear.input", shape=fmt_shape(x.shape), n=in_features, lead=lead),
        )
    )
    if weight is not None and (weight.dim() != 2 or weight.shape[1] != in_features):
        ex.error = _weight_error(weight, in_features)
        return ex
    out = (
        weight.shape[0]
        if weight is not None
        else (out_features if out_features is not None else DEFAULT_OUT_FEATURES)
    )
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out):
        ex.error = OpError(
            "linear_bias",
            t("linear.bias_shape", shape=fmt_shape(bias.shape), out=out),
            t("linear.bias_shape.hint", out=out),
        )
        return ex

    x, weight, bias = shape_only_if_any(x, weight, bias)  # type: ignore[assignment]
    meta = x.device.type == "meta"
    if not meta:  # the layer's own weight, and y, before torch allocates them
        check_size((out, in_features), "weight")
        check_size((*x.shape[:-1], out), "y = m(x)")
    settings.seed_generator(seed)  # nn.Linear draws its initial parameters from the CPU generator
    m = nn.Linear(in_features, out, bias=use_bias, dtype=dtype, device="meta" if meta else None)
    ex.call = f"nn.Linear(in_features={in_features}, out_features={out}, bias={use_bias})(x)"
    bound = 1 / math.sqrt(in_features) if in_features else 0.0
    init = t("linear.init", seed=seed, bound=fmt_num(bound), n=in_features)
    if weight is not None:
        m.weight.data = weight.to(dtype)  # as the notebook sets it: layer.weight.data = new_weight
        w_note = t("linear.weight.given", out=out, n=in_features)
    else:
        w_note = t("linear.weight", out=out, n=in_features) + " " + init
    ex.steps.append(
        Step(
            t("linear.weight.title"),
            "m.weight.data = W" if weight is not None else "m.weight",
            info(m.weight),
            w_note,
        )
    )
    if m.bias is not None:
        if bias is not None:
            m.bias.data = bias.to(dtype)
        b_note = t("linear.bias", out=out) + ("" if bias is not None else " " + init)
        ex.steps.append(
            Step(
                t("linear.bias.title"),
                "m.bias.data = b" if bias is not None else "m.bias",
                info(m.bias),
                b_note,
            )
        )
    else:
        ex.steps.append(Step(t("linear.bias.title"), "m.bias is None", None, t("linear.no_bias")))

    with torch.no_grad():
        try:
            wt = m.weight.T
            xw = x @ wt
            manual = xw + m.bias if m.bias is not None else xw
            y = m(x)
        except RuntimeError as e:
            ex.error = torch_error(e)
            return ex
    ex.steps.append(
        Step(
            t("linear.transpose.title"),
            "W.T",
            info(wt),
            t(
                "linear.transpose",
                before=fmt_shape(m.weight.shape),
                after=fmt_shape(wt.shape),
                stride=fmt_shape(wt.stride()),
            ),
        )
    )
    ex.steps.append(
        Step(
            t("linear.matmul.title"),
            "x @ W.T",
            info(xw, marked=[xw.dim() - 1]),
            t(
                "linear.matmul",
                x=fmt_shape(x.shape),
                wt=fmt_shape(wt.shape),
                y=fmt_shape(xw.shape),
                n=in_features,
                lead=lead,
            ),
        )
    )
    if m.bias is not None:
        ex.steps.append(
            Step(
                t("linear.add.title"),
                "x @ W.T + b",
                info(manual),
                t("linear.add", b=fmt_shape(m.bias.shape), y=fmt_shape(manual.shape)),
            )
        )
    ex.result = info(y, marked=[y.dim() - 1])
    ex.steps.append(
        Step(
            t("step.result"),
            "y = m(x)",
            ex.result,
            t("linear.result", x=fmt_shape(x.shape), y=fmt_shape(y.shape)),
        )
    )
    if meta:
        ex.checks.append(skipped_check())
    else:
        ex.checks.extend(_row_checks(x, m.weight, m.bias, y))
        label = t("linear.check.module", n=fmt_count(y.numel()))
        ex.checks.append(allclose_check(label, "torch.allclose(m(x), x @ W.T + b)", y, manual, in_features))
    weight_n, bias_n = out * in_features, out if use_bias else 0
    counted = sum(p.numel() for p in m.parameters())
    ex.checks.append(
        Check(
            t("linear.check.params"),
            t("linear.check.params.expr", out=out, n=in_features, b=bias_n),
            weight_n + bias_n,
            counted,
            weight_n + bias_n == counted,
        )
    )
    return ex


def _weight_error(weight: torch.Tensor, in_features: int) -> OpError:
    if weight.dim() != 2:
        return OpError(
            "linear_weight_rank",
            t("linear.weight_rank", shape=fmt_shape(weight.shape)),
            t("linear.weight_rank.hint"),
        )
    return OpError(
        "linear_in_features",
        t("linear.in_mismatch", n=in_features, w=weight.shape[1], shape=fmt_shape(weight.shape)),
        t("linear.in_mismatch.hint", n=in_features, w=weight.shape[1], out=weight.shape[0]),
    )


def _row_checks(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, y: torch.Tensor) -> list[Check]:
    """The first output row by hand: sum of x[0, k] * W[j, k], plus b[j], for each j."""
    if x.numel() == 0 or y.numel() == 0:
        return []
    row = x.reshape(-1, x.shape[-1])[0].tolist()
    first = y.reshape(-1, y.shape[-1])[0].tolist()
    out = len(first)
    # only the rows written out: W can have millions of elements
    weights = w.detach()[: out if out <= ALL_WRITTEN else FIRST_WRITTEN].tolist()
    biases = b.detach().tolist() if b is not None else None
    eps = eps_of(dtype_name(y.dtype))
    index = ", ".join(["0"] * (x.dim() - 1))
    checks = []
    for j in range(out if out <= ALL_WRITTEN else FIRST_WRITTEN):
        pairs = list(zip(row, weights[j], strict=True))
        products = [a * w for a, w in pairs]
        manual = sum(products) + (biases[j] if biases else 0.0)
        magnitude = sum(abs(p) for p in products) + (abs(biases[j]) if biases else 0.0)
        label = t("linear.check.row", index=f"{index}, {j}" if index else str(j))
        checks.append(
            Check(
                label,
                written_sum(pairs, biases[j] if biases else None),
                manual,
                first[j],
                agrees(manual, first[j], magnitude, len(products) + 1, eps),
            )
        )
    return checks


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    """F.linear(x, weight, bias), a called nn.Linear, or the command: x, weight and bias left
    out (None) come from the notebook or from torch's initialisation under the seed."""
    from torch import nn

    x, weight, bias = call.arg(0, "input", None), call.arg(1, "weight", None), call.arg(2, "bias", None)
    options = dict(call.options)
    if isinstance(call.fn, nn.Linear):  # the layer itself, as built in the expression
        weight, bias = call.fn.weight.detach(), None if call.fn.bias is None else call.fn.bias.detach()
        options["use_bias"] = bias is not None
    elif call.fn is not None:  # F.linear: the bias is what was passed
        call.only("bias")
        options["use_bias"] = bias is not None
    elif x is None and weight is None and bias is None and options.get("out_features") is None:
        x, weight, bias = notebook_inputs()
        bias = bias if options.get("use_bias", True) else None
    elif x is None:
        x = notebook_inputs()[0]
    return explain(x, weight, bias, **options)


register(
    OpSpec(
        "linear",
        "dedicated",
        _explain_call,
        targets=("torch.nn.functional.linear", "torch.nn.Linear"),
        command="linear",
    )
)

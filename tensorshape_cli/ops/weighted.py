"""The notebook's WeightedFamiliesLayer: torch.sum(x * weights.view(M, 1, -1), dim=0).

x is (models, batch, classes), weights (models, classes): one weight per model and class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorshape_cli import settings
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops._broadcast import align
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
from tensorshape_cli.text import fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

CALL = "torch.sum(x * weights.view(M, 1, -1), dim=0)"
ALL_WRITTEN = 8  # outputs up to this size are all written out; larger ones show the first few
FIRST_WRITTEN = 4
DIM_NAMES = ("models", "batch", "classes")


def prepare(
    x: torch.Tensor | None,
    weights: torch.Tensor | None,
    *,
    batch: int = 2,
    random: bool = False,
    models: int | None = None,
    classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs a command line leaves out, as the notebook makes them."""
    import torch

    # a shape-only input makes the missing ones shape-only too: nothing large is allocated
    meta = settings.current().meta or any(t is not None and t.device.type == "meta" for t in (x, weights))
    if random and weights is None:
        m = models or (x.shape[0] if x is not None and x.dim() == 3 else 3)
        c = classes or (x.shape[2] if x is not None and x.dim() == 3 else 2)
        if meta:
            weights = torch.empty(m, c, device="meta")
        else:
            check_size((m, c), "weights")
            settings.seed_torch()
            weights = torch.rand(m, c)  # as the layer's own nn.Parameter(tr.rand(M, C))
    if weights is None:
        weights = torch.arange(1, 7, dtype=torch.float32).view(3, 2)
        if x is None:
            x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    if x is None:
        m, c = (weights.shape[0], weights.shape[-1]) if weights.dim() == 2 else (3, 2)
        if meta:
            x = torch.empty(m, batch, c, device="meta")
        else:
            check_size((m, batch, c), "x")
            x = torch.arange(1, m * batch * c + 1, dtype=torch.float32).view(m, batch, c)
    return x, weights


def explain(x: torch.Tensor, weights: torch.Tensor) -> Explanation:
    import torch

    x, weights = shape_only_if_any(x, weights)
    ex = Explanation(
        op="weighted", call=CALL, title=t("weighted.title"), inputs={"x": info(x), "weights": info(weights)}
    )
    ex.steps.append(
        Step(t("step.input_of", name="x"), "x", info(x), t("weighted.x", shape=fmt_shape(x.shape)))
    )
    ex.steps.append(
        Step(
            t("step.input_of", name="weights"),
            "weights",
            info(weights),
            t("weighted.w", shape=fmt_shape(weights.shape)),
        )
    )
    if x.dim() != 3 or weights.dim() != 2:
        name, shape, want = ("x", x.shape, 3) if x.dim() != 3 else ("weights", weights.shape, 2)
        ex.error = OpError(
            "weighted_rank",
            t("weighted.rank", name=name, shape=fmt_shape(shape), want=want, dims=t(f"weighted.dims{want}")),
            t("weighted.rank.hint"),
        )
        return ex
    x, weights = shape_only_if_any(x, weights)  # type: ignore[assignment]
    m = weights.shape[0]
    ex.call = CALL.replace("M", str(m))
    try:
        wv = weights.view(m, 1, -1)
    except RuntimeError as e:
        ex.error = torch_error(e)
        return ex
    ex.steps.append(
        Step(
            t("weighted.step1"),
            f"weights_view = weights.view({m}, 1, -1)",
            info(wv, marked=[1]),
            t("weighted.step1.note", before=fmt_shape(weights.shape), after=fmt_shape(wv.shape)),
        )
    )
    alignment = align([list(x.shape), list(wv.shape)], ["x", "weights_view"])
    if alignment.shape is not None and x.device.type != "meta":  # (1, B, 1) * (M, 1, C) is M·B·C
        check_size(alignment.shape, "x * weights_view")
    try:
        multiplied = x * wv
    except RuntimeError as e:
        ex.steps.append(
            Step(
                t("weighted.step2"),
                "multiplied = x * weights_view",
                None,
                t("weighted.step2.fails"),
                alignment.table,
            )
        )
        d = alignment.failed_dim
        if d is not None and alignment.failed_sizes:
            sizes = alignment.failed_sizes
            what = t(f"weighted.dim.{DIM_NAMES[d]}")
            ex.error = OpError(
                "weighted_mismatch",
                t("weighted.mismatch", what=what, dim=d, x=sizes[0], w=sizes[1]),
                t("weighted.mismatch.hint", what=what),
            )
        else:
            ex.error = torch_error(e)
        return ex
    ex.steps.append(
        Step(
            t("weighted.step2"),
            "multiplied = x * weights_view",
            info(multiplied, marked=alignment.stretched or []),
            t("weighted.step2.note", shape=fmt_shape(multiplied.shape)),
            alignment.table,
        )
    )
    summed = multiplied.sum(dim=0)
    ex.result = info(summed)
    ex.steps.append(
        Step(
            t("weighted.step3"),
            "summed = multiplied.sum(dim=0)",
            ex.result,
            t(
                "weighted.step3.note",
                m=multiplied.shape[0],
                before=fmt_shape(multiplied.shape),
                after=fmt_shape(summed.shape),
            ),
        )
    )
    if x.device.type == "meta":
        ex.checks.append(skipped_check())
        return ex
    ex.checks.extend(_hand_checks(x, wv, summed))
    # An independent route to the same numbers (einsum broadcasts size-1 dims as `*` does).
    reference = torch.einsum("mbc,mc->bc", x.to(summed.dtype), weights.to(summed.dtype))
    label = t("weighted.check.all", n=fmt_count(summed.numel()))
    expression = "torch.allclose(summed, torch.einsum('mbc,mc->bc', x, weights))"
    ex.checks.append(allclose_check(label, expression, summed, reference, m))
    return ex


def _hand_checks(x: torch.Tensor, wv: torch.Tensor, summed: torch.Tensor) -> list[Check]:
    """The notebook's 'Verificación manual': each output written out as a sum of products."""
    import torch

    b_size, c_size = summed.shape
    total = b_size * c_size
    count = total if total <= ALL_WRITTEN else FIRST_WRITTEN
    eps = eps_of(dtype_name(summed.dtype))
    # x (1, B, 1) or weights (1, C) broadcast too: index both as the product sees them
    # (expanded views, nothing is copied).
    xb, wb = torch.broadcast_tensors(x, wv)
    checks = []
    for flat in range(count):
        b, c = divmod(flat, c_size)
        xs = xb[:, b, c].tolist()
        ws = wb[:, b, c].tolist()
        products = [a * w for a, w in zip(xs, ws, strict=True)]
        manual = sum(products)
        computed = summed[b, c].item()
        ok = agrees(float(manual), float(computed), sum(abs(p) for p in products), len(products), eps)
        checks.append(
            Check(
                t("weighted.check.label", b=b, c=c),
                written_sum(list(zip(xs, ws, strict=True))),
                manual,
                computed,
                ok,
            )
        )
    return checks


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    """The notebook's layer: x and weights, either left out (None) and made as the notebook
    makes them, with the command's --batch, --random, --models, --classes as options."""
    x, weights = call.arg(0, "x", None), call.arg(1, "weights", None)
    return explain(*prepare(x, weights, **dict(call.options)))


register(OpSpec("weighted", "dedicated", _explain_call, command="weighted", aliases=("weighted-sum",)))

"""scaled_dot_product_attention: the shapes of q, k, v, the scores (…, L, S), the mask, the output.

softmax(q @ k.transpose(-2, -1) * scale + mask, dim=-1) @ v, with scale = 1/sqrt(E) unless
given. The explanation names L, S, E and Ev from the inputs, shows torch's scores, mask and
weights as steps, and works out the first output row in plain Python (float64): one row of
scores as written sums, its softmax, and each output element as the weighted sum of v's rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import (
    agrees,
    broadcast_shape,
    eps_of,
    shape_check,
    skipped_check,
    torch_error,
)
from tensorshape_cli.registry import Call, OpSpec
from tensorshape_cli.text import elide_terms, fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

TARGETS = ("torch.nn.functional.scaled_dot_product_attention",)
HAND_CHECKS = 3
MAX_SHOWN = 6  # terms of a written sum before eliding the middle


@dataclass
class _Form:
    q: Any
    k: Any
    v: Any
    names: list[str]  # q, k, v as the user wrote them
    mask: Any
    mask_code: str
    dropout: float
    causal: bool
    scale: float | None
    gqa: bool


def _form(call: Call) -> _Form:
    codes = [*call.codes[:3], *("query", "key", "value")[len(call.codes[:3]) :]]
    for i, key in enumerate(("query", "key", "value")):
        if key in call.keyword_codes:
            codes[i] = call.keyword_codes[key]
    return _Form(
        _calls.arg(call, 0, "query"),
        _calls.arg(call, 1, "key"),
        _calls.arg(call, 2, "value"),
        codes,
        _calls.arg(call, 3, "attn_mask"),
        call.codes[3] if len(call.codes) > 3 else call.keyword_codes.get("attn_mask", "attn_mask"),
        float(_calls.arg(call, 4, "dropout_p", 0.0) or 0.0),
        bool(_calls.arg(call, 5, "is_causal", False)),
        _calls.arg(call, 6, "scale"),
        bool(call.kwargs.get("enable_gqa", False)),
    )


def _torch_says(error: BaseException | None) -> str:
    return t("attention.torch_says", torch=torch_error(error).message) if error is not None else ""


def explain(call: Call) -> Explanation:
    import torch

    form = _form(call)
    ex = _calls.start(call, "scaled_dot_product_attention", t("attention.title"))
    q, k, v = form.q, form.k, form.v
    if not all(isinstance(a, torch.Tensor) for a in (q, k, v)):
        ok, value = _calls.run(ex, call)
        if ok:
            _calls.result_step(ex, call, value)
        return ex
    ok, result = _calls.run(ex, call)
    error = None if ok else result
    rule = _rule_error(form, error)
    if rule is not None:
        ex.error = rule
        return ex
    if not ok:
        return ex
    out: torch.Tensor = result
    qn, kn, vn = form.names
    big_l, e, big_s, ev = q.shape[-2], q.shape[-1], k.shape[-2], v.shape[-1]
    scale = form.scale if form.scale is not None else 1 / math.sqrt(e)
    batch = [fmt_shape(x.shape[:-2]) for x in (q, k, v)]
    rows = [
        [qn, fmt_shape(q.shape), batch[0], f"L = {big_l}", f"E = {e}"],
        [kn, fmt_shape(k.shape), batch[1], f"S = {big_s}", f"E = {k.shape[-1]}"],
        [vn, fmt_shape(v.shape), batch[2], f"S = {v.shape[-2]}", f"Ev = {ev}"],
    ]
    table = Table(
        [t("attention.col.operand"), t("attention.col.shape"), t("attention.col.batch"), "-2", "-1"], rows
    )
    ex.steps.append(
        Step(
            t("attention.shapes.title"),
            f"({qn}.shape, {kn}.shape, {vn}.shape)",
            None,
            t("attention.shapes.note", q=qn, k=kn, v=vn, L=big_l, S=big_s, E=e, Ev=ev),
            table,
        )
    )
    scale_code = str(form.scale) if form.scale is not None else f"{qn}.shape[-1] ** -0.5"
    scores = (q.detach() @ k.detach().transpose(-2, -1)) * scale
    ex.steps.append(
        Step(
            t("attention.scores.title"),
            f"{qn} @ {kn}.transpose(-2, -1) * {scale_code}",
            info(scores),
            t(
                "attention.scores.note",
                shape=fmt_shape(scores.shape),
                L=big_l,
                S=big_s,
                E=e,
                scale=fmt_num(scale),
            ),
        )
    )
    bias = _mask_step(ex, form, scores, big_l, big_s)
    weights = torch.softmax(scores + bias if bias is not None else scores, dim=-1)
    ex.steps.append(
        Step(
            t("attention.weights.title"),
            "torch.softmax(scores, dim=-1)" if bias is None else "torch.softmax(scores + mask, dim=-1)",
            info(weights),
            t("attention.weights.note", S=big_s, shape=fmt_shape(weights.shape)),
        )
    )
    _calls.result_step(
        ex, call, out, t("attention.result", shape=fmt_shape(out.shape), L=big_l, S=big_s, Ev=ev, v=vn)
    )
    want = [*broadcast_shape([list(q.shape[:-2]), list(k.shape[:-2]), list(v.shape[:-2])]), big_l, ev]
    ex.checks.append(shape_check(t("attention.check.shape"), want, list(out.shape)))
    if q.device.type == "meta":
        ex.checks.append(skipped_check())
    elif form.dropout == 0 and out.numel() and not q.is_complex():
        _by_hand(ex, form, out, scale, bias)
    return ex


def _rule_error(form: _Form, error: BaseException | None) -> OpError | None:
    """The shape rule the inputs broke, from their shapes, with the fix; None if none did."""
    import torch

    q, k, v = form.q, form.k, form.v
    qn, kn, vn = form.names
    said = _torch_says(error)
    if min(q.dim(), k.dim(), v.dim()) < 2:
        return OpError(
            "attention_dims",
            t(
                "attention.dims",
                q=qn,
                k=kn,
                v=vn,
                qs=fmt_shape(q.shape),
                ks=fmt_shape(k.shape),
                vs=fmt_shape(v.shape),
            )
            + said,
            t("attention.dims.hint", q=qn, k=kn, v=vn),
        )
    if q.shape[-1] != k.shape[-1]:
        return OpError(
            "attention_embed",
            t(
                "attention.embed",
                q=qn,
                k=kn,
                qs=fmt_shape(q.shape),
                ks=fmt_shape(k.shape),
                e=q.shape[-1],
                f=k.shape[-1],
            )
            + said,
            t("attention.embed.hint", q=qn, k=kn, e=q.shape[-1]),
        )
    if k.shape[-2] != v.shape[-2]:
        return OpError(
            "attention_length",
            t(
                "attention.length",
                k=kn,
                v=vn,
                ks=fmt_shape(k.shape),
                vs=fmt_shape(v.shape),
                s=k.shape[-2],
                r=v.shape[-2],
            )
            + said,
            t("attention.length.hint", k=kn, v=vn),
        )
    if error is None:
        return None
    batches = [list(x.shape[:-2]) for x in (q, k, v)]
    try:
        batch = broadcast_shape(batches)
    except RuntimeError:
        if not form.gqa:
            return OpError(
                "attention_batch",
                t(
                    "attention.batch",
                    q=qn,
                    k=kn,
                    v=vn,
                    qs=fmt_shape(batches[0]),
                    ks=fmt_shape(batches[1]),
                    vs=fmt_shape(batches[2]),
                )
                + said,
                t("attention.batch.hint"),
            )
        return None
    mask = form.mask
    if isinstance(mask, torch.Tensor):
        if form.causal:
            return OpError(
                "attention_mask", t("attention.causal_and_mask") + said, t("attention.causal_and_mask.hint")
            )
        want = [*batch, q.shape[-2], k.shape[-2]]
        try:
            broadcast_shape([list(mask.shape), want])
            fits = len(mask.shape) <= len(want) and broadcast_shape([list(mask.shape), want]) == want
        except RuntimeError:
            fits = False
        if not fits:
            return OpError(
                "attention_mask",
                t("attention.mask", mask=form.mask_code, ms=fmt_shape(mask.shape), want=fmt_shape(want))
                + said,
                t("attention.mask.hint", L=q.shape[-2], S=k.shape[-2], want=fmt_shape(want)),
            )
        if not (mask.dtype == torch.bool or mask.dtype.is_floating_point):
            return OpError(
                "attention_mask",
                t("attention.mask_dtype", mask=form.mask_code, dtype=dtype_name(mask.dtype)) + said,
                t("attention.mask_dtype.hint", mask=form.mask_code),
            )
    return None


def _mask_step(
    ex: Explanation, form: _Form, scores: torch.Tensor, big_l: int, big_s: int
) -> torch.Tensor | None:
    """The additive mask torch applies to the scores: 0 where attended, -inf where not."""
    import torch

    mask = form.mask
    if form.causal:
        keep = torch.ones(big_l, big_s, dtype=torch.bool, device=scores.device).tril()
        bias = torch.zeros(big_l, big_s, dtype=scores.dtype, device=scores.device).masked_fill(
            ~keep, -math.inf
        )
        ex.steps.append(
            Step(
                t("attention.causal.title"),
                f"torch.ones({big_l}, {big_s}, dtype=torch.bool).tril()",
                info(keep),
                t("attention.causal.note", L=big_l, S=big_s),
            )
        )
        return bias
    if not isinstance(mask, torch.Tensor):
        return None
    want = fmt_shape(scores.shape)
    if mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=scores.dtype, device=scores.device).masked_fill(~mask, -math.inf)
        note = t("attention.mask.bool", mask=form.mask_code, ms=fmt_shape(mask.shape), want=want)
    else:
        bias = mask.to(scores.dtype)
        note = t("attention.mask.float", mask=form.mask_code, ms=fmt_shape(mask.shape), want=want)
    ex.steps.append(Step(t("attention.mask.title"), form.mask_code, info(mask), note))
    return bias


def _elided(terms: list[str]) -> str:
    return " + ".join(elide_terms(terms, most=MAX_SHOWN))


def _by_hand(
    ex: Explanation, form: _Form, out: torch.Tensor, scale: float, bias: torch.Tensor | None
) -> None:
    """The first output row from the inputs' values alone: scores, their softmax, weighted sums."""
    q, k, v = form.q.detach(), form.k.detach(), form.v.detach()
    lead = [0] * (out.dim() - 2)
    batch = broadcast_shape([list(q.shape[:-2]), list(k.shape[:-2]), list(v.shape[:-2])])

    def first(x: torch.Tensor) -> torch.Tensor:
        return x.expand(*batch, *x.shape[-2:])[tuple(lead)] if batch else x

    qr = first(q)[0].double().tolist()
    kr = first(k).double().tolist()
    vr = first(v).double().tolist()
    masks = [0.0] * len(kr)
    if bias is not None:
        b = bias.expand(*batch, q.shape[-2], k.shape[-2])[tuple(lead)] if batch else bias
        masks = b[0].double().tolist()
    qn, kn = form.names[:2]
    scores = [scale * math.fsum(a * c for a, c in zip(qr, row, strict=True)) for row in kr]
    torch_scores = (q.double() @ k.double().transpose(-2, -1)) * scale
    ts = first(torch_scores)[0].tolist()
    eps = max(eps_of(dtype_name(out.dtype)), 1e-7)
    e = len(qr)
    written = _elided([f"{fmt_num(a)}*{fmt_num(c)}" for a, c in zip(qr, kr[0], strict=True)])
    ex.checks.append(
        Check(
            t("attention.check.score", q=qn, k=kn),
            f"({written}) * {fmt_num(scale)}",
            scores[0],
            float(ts[0]),
            agrees(
                scores[0],
                float(ts[0]),
                scale * math.fsum(abs(a * c) for a, c in zip(qr, kr[0], strict=True)) + 1e-12,
                e,
                2.3e-16,
            ),
        )
    )
    shifted = [s + m for s, m in zip(scores, masks, strict=True)]
    top = max(shifted)
    if math.isinf(top):  # every key masked: torch's row is NaN (or 0 in newer kernels)
        return
    exps = [math.exp(s - top) for s in shifted]
    total = math.fsum(exps)
    weights = [x / total for x in exps]
    flat = out[tuple(lead)][0].tolist() if lead else out[0].tolist()
    for j in range(min(HAND_CHECKS, len(flat))):
        manual = math.fsum(w * row[j] for w, row in zip(weights, vr, strict=True))
        magnitude = math.fsum(abs(row[j]) for row in vr) + 1
        terms = _elided([f"{fmt_num(w)}*{fmt_num(row[j])}" for w, row in zip(weights, vr, strict=True)])
        index = [*lead, 0, j]
        ex.checks.append(
            Check(
                t("attention.check.element", index=fmt_index(index)),
                terms,
                manual,
                flat[j],
                agrees(manual, flat[j], magnitude, len(vr) + e, eps),
            )
        )


registry.register(
    OpSpec(
        name="scaled_dot_product_attention",
        family="attention",
        explain=explain,
        targets=TARGETS,
        aliases=("attention",),
        summary="attention.summary",
    )
)

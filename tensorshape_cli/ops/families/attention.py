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
    allclose_check,
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
        bias = _additive(~keep, scores)
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
    boolean = mask.dtype == torch.bool  # sdpa's True attends: MultiheadAttention's True masks out
    bias = _additive(~mask if boolean else mask, scores)
    note = t(
        "attention.mask.bool" if boolean else "attention.mask.float",
        mask=form.mask_code,
        ms=fmt_shape(mask.shape),
        want=want,
    )
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


# --- nn.MultiheadAttention ---------------------------------------------------------------------

MHA_TARGETS = ("torch.nn.MultiheadAttention",)


def _mha_inputs(call: Call) -> tuple[list[Any], list[str]]:
    values = [_calls.arg(call, i, n) for i, n in enumerate(("query", "key", "value"))]
    names = [*call.codes[:3], *("query", "key", "value")[len(call.codes[:3]) :]]
    for i, key in enumerate(("query", "key", "value")):
        if key in call.keyword_codes:
            names[i] = call.keyword_codes[key]
    return values, names


def _additive(mask: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """A mask as the bias torch adds to the scores: a bool mask's True is -inf (that key is
    not attended to), a float mask is added as it is. Shared by sdpa's mask, the causal mask
    and MultiheadAttention's two masks."""
    import torch

    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=scores.dtype, device=scores.device).masked_fill(mask, -math.inf)
    return mask.to(scores.dtype)


def explain_mha(call: Call) -> Explanation:
    """A called nn.MultiheadAttention: heads, in-projections, per-head scores, masks, outputs."""
    import torch
    import torch.nn.functional as F

    layer = call.fn
    if not isinstance(layer, torch.nn.MultiheadAttention):
        raise TypeError("not a MultiheadAttention layer")
    call.only("key_padding_mask", "need_weights", "attn_mask", "average_attn_weights", "is_causal")
    (q, k, v), (qn, kn, vn) = _mha_inputs(call)
    if not all(isinstance(x, torch.Tensor) for x in (q, k, v)):
        raise TypeError("query, key and value must be tensors")
    ex = _calls.start(call, "MultiheadAttention", t("attention.mha.title"))
    e, heads = layer.embed_dim, layer.num_heads
    hd = layer.head_dim
    rule = _mha_rule(layer, (q, k, v), (qn, kn, vn))
    try:
        result = call.run()
    except Exception as error:  # torch asserts some rules (AssertionError): explained, never raised
        ex.error = rule or torch_error(error)
        return ex
    if rule is not None:  # torch accepted what the rule refuses: torch is right
        rule = None
    batched = q.dim() == 3
    first = layer.batch_first or not batched
    layout = "(N, L, E)" if layer.batch_first else "(L, N, E)"
    if not batched:
        layout = "(L, E)"

    def nle(x: torch.Tensor) -> torch.Tensor:  # every input as (N, L, E), as torch works inside
        x = x.detach()
        if not batched:
            return x.unsqueeze(0)
        return x if first else x.transpose(0, 1)

    qb, kb, vb = nle(q), nle(k), nle(v)
    n, big_l, big_s = qb.shape[0], qb.shape[1], kb.shape[1]
    rows = [
        [qn, fmt_shape(q.shape), layout.replace("L", "L"), f"L = {big_l}", f"E = {q.shape[-1]}"],
        [kn, fmt_shape(k.shape), layout.replace("L", "S"), f"S = {big_s}", f"E = {k.shape[-1]}"],
        [vn, fmt_shape(v.shape), layout.replace("L", "S"), f"S = {vb.shape[1]}", f"E = {v.shape[-1]}"],
    ]
    table = Table(
        [t("attention.col.operand"), t("attention.col.shape"), t("attention.mha.col.layout"), "L/S", "E"],
        rows,
    )
    ex.steps.append(
        Step(
            t("attention.mha.layout.title"),
            f"({qn}.shape, {kn}.shape, {vn}.shape)",
            None,
            _layout_note(layer.batch_first, batched, (qn, kn, vn), (n, big_l, big_s, e)),
            table,
        )
    )
    params = ", ".join(f"{name} {fmt_shape(p.shape)}" for name, p in layer.named_parameters())
    ex.steps.append(
        Step(
            t("attention.mha.heads.title"),
            f"{e} // {heads}",
            None,
            t("attention.mha.heads.note", E=e, h=heads, hd=hd, params=params, E3=3 * e),
            value=hd,
        )
    )
    if layer._qkv_same_embed_dim:
        w_q, w_k, w_v = layer.in_proj_weight.detach().chunk(3)
    else:
        w_q, w_k, w_v = (
            layer.q_proj_weight.detach(),
            layer.k_proj_weight.detach(),
            layer.v_proj_weight.detach(),
        )
    b_q = b_k = b_v = None
    if layer.in_proj_bias is not None:
        b_q, b_k, b_v = layer.in_proj_bias.detach().chunk(3)
    big_q, big_k, big_v = F.linear(qb, w_q, b_q), F.linear(kb, w_k, b_k), F.linear(vb, w_v, b_v)
    ex.steps.append(
        Step(
            t("attention.mha.proj.title"),
            f"Q = F.linear({qn}, W_q, b_q)  # W_q = in_proj_weight[:{e}]",
            info(big_q),
            t(
                "attention.mha.proj.note",
                q=qn,
                k=kn,
                v=vn,
                E=e,
                shape=fmt_shape(big_q.shape),
                ks=fmt_shape(big_k.shape),
            ),
        )
    )
    split = [x.reshape(n, x.shape[1], heads, hd).transpose(1, 2) for x in (big_q, big_k, big_v)]
    qh, kh, vh = split
    ex.steps.append(
        Step(
            t("attention.mha.split.title"),
            f"Q.view({n}, {big_l}, {heads}, {hd}).transpose(1, 2)",
            info(qh),
            t("attention.mha.split.note", h=heads, hd=hd, shape=fmt_shape(qh.shape), ks=fmt_shape(kh.shape)),
        )
    )
    scores = qh @ kh.transpose(-2, -1) / math.sqrt(hd)
    ex.steps.append(
        Step(
            t("attention.mha.scores.title"),
            f"Q_h @ K_h.transpose(-2, -1) / sqrt({hd})",
            info(scores),
            t(
                "attention.mha.scores.note",
                shape=fmt_shape(scores.shape),
                N=n,
                h=heads,
                L=big_l,
                S=big_s,
                hd=hd,
            ),
        )
    )
    bias = torch.zeros((), dtype=scores.dtype, device=scores.device)
    padding = call.kwargs.get("key_padding_mask")
    mask = call.kwargs.get("attn_mask")
    if isinstance(padding, torch.Tensor):
        bias = bias + _additive(padding.reshape(n, 1, 1, big_s), scores)
        ex.steps.append(
            Step(
                t("attention.mha.padding.title"),
                call.keyword_codes.get("key_padding_mask", "key_padding_mask"),
                info(padding),
                t(
                    "attention.mha.padding.note",
                    ms=fmt_shape(padding.shape),
                    N=n,
                    S=big_s,
                    want=fmt_shape(scores.shape),
                ),
            )
        )
    if isinstance(mask, torch.Tensor):
        bias = bias + _additive(mask.reshape(n, heads, big_l, big_s) if mask.dim() == 3 else mask, scores)
        ex.steps.append(
            Step(
                t("attention.mha.mask.title"),
                call.keyword_codes.get("attn_mask", "attn_mask"),
                info(mask),
                t(
                    "attention.mha.mask.note",
                    ms=fmt_shape(mask.shape),
                    L=big_l,
                    S=big_s,
                    Nh=n * heads,
                    want=fmt_shape(scores.shape),
                ),
            )
        )
    weights = torch.softmax(scores + bias, dim=-1)
    ex.steps.append(
        Step(
            t("attention.weights.title"),
            "torch.softmax(scores, dim=-1)",
            info(weights),
            t("attention.weights.note", S=big_s, shape=fmt_shape(weights.shape)),
        )
    )
    heads_out = weights @ vh
    merged = heads_out.transpose(1, 2).reshape(n, big_l, e)
    mine = F.linear(
        merged,
        layer.out_proj.weight.detach(),
        None if layer.out_proj.bias is None else layer.out_proj.bias.detach(),
    )
    ex.steps.append(
        Step(
            t("attention.mha.merge.title"),
            f"out_proj((weights @ V_h).transpose(1, 2).reshape({n}, {big_l}, {e}))",
            info(mine),
            t("attention.mha.merge.note", h=heads, hd=hd, E=e, shape=fmt_shape(mine.shape)),
        )
    )
    out, att = result
    average = bool(call.kwargs.get("average_attn_weights", True))
    note = t(
        "attention.mha.result",
        E=e,
        h=heads,
        hd=hd,
        scores=fmt_shape(scores.shape),
        out=fmt_shape(out.shape),
        weights=fmt_shape(att.shape) if att is not None else "None",
        how=t("attention.mha.averaged" if average else "attention.mha.per_head", h=heads),
    )
    _calls.result_step(ex, call, [out, att] if att is not None else out, note)
    if att is not None:  # the summary on the last step, the one a walk through expr shows
        ex.steps[-2].note, ex.steps[-1].note = "", note
    expected = [big_l, n, e] if batched and not first else ([n, big_l, e] if batched else [big_l, e])
    ex.checks.append(shape_check(t("attention.mha.check.shape"), expected, list(out.shape)))
    if q.device.type == "meta":
        ex.checks.append(skipped_check())
        return ex
    if layer.training and layer.dropout > 0:
        return ex  # the weights torch used were dropped at random: no value can be redone here
    want = mine if first else mine.transpose(0, 1)
    ex.checks.append(
        allclose_check(
            t("attention.mha.check.output"),
            "torch.allclose(attn_output, steps)",
            out.detach(),
            (want if batched else want[0]),
            e + big_s,
        )
    )
    if att is not None:
        mean = weights.mean(dim=1) if average else weights
        ex.checks.append(
            allclose_check(
                t("attention.mha.check.weights"),
                "torch.allclose(attn_weights, weights)",
                att.detach(),
                mean if batched else mean[0],
                big_s,
            )
        )
    qr, kr = qh[0, 0, 0].double().tolist(), kh[0, 0, 0].double().tolist()
    manual = math.fsum(a * c for a, c in zip(qr, kr, strict=True)) / math.sqrt(hd)
    got = float(scores[0, 0, 0, 0].double())
    ex.checks.append(
        Check(
            t("attention.mha.check.score"),
            f"({_elided([f'{fmt_num(a)}*{fmt_num(c)}' for a, c in zip(qr, kr, strict=True)])}) / sqrt({hd})",
            manual,
            got,
            agrees(
                manual, got, math.fsum(abs(a * c) for a, c in zip(qr, kr, strict=True)) + 1e-12, hd, 1.2e-7
            ),
        )
    )
    return ex


def _layout_note(
    batch_first: bool, batched: bool, names: tuple[str, str, str], sizes: tuple[int, ...]
) -> str:
    (q, k, v), (n, big_l, big_s, e) = names, sizes
    if not batched:
        return t("attention.mha.layout.unbatched", q=q, k=k, v=v, L=big_l, S=big_s, E=e)
    if batch_first:
        return t("attention.mha.layout.batch_first", q=q, k=k, v=v, N=n, L=big_l, S=big_s, E=e)
    return t("attention.mha.layout.seq_first", q=q, k=k, v=v, N=n, L=big_l, S=big_s, E=e)


def _mha_rule(layer: Any, values: tuple[Any, Any, Any], names: tuple[str, str, str]) -> OpError | None:
    """The shape rule the inputs break, from their shapes, with the fix; None if none."""
    q, k, v = values
    qn, kn, vn = names
    e = layer.embed_dim
    if q.dim() not in (2, 3) or k.dim() != q.dim() or v.dim() != q.dim():
        return OpError(
            "mha_dims",
            t(
                "attention.mha.dims",
                q=qn,
                k=kn,
                v=vn,
                qs=fmt_shape(q.shape),
                ks=fmt_shape(k.shape),
                vs=fmt_shape(v.shape),
            ),
            t("attention.mha.dims.hint"),
        )
    if q.shape[-1] != e:
        return OpError(
            "mha_embed",
            t("attention.mha.embed", q=qn, qs=fmt_shape(q.shape), e=e, f=q.shape[-1]),
            t("attention.mha.embed.hint", f=q.shape[-1], h=layer.num_heads, q=qn, e=e),
        )
    if k.shape[:-1] != v.shape[:-1]:
        return OpError(
            "mha_key_value",
            t("attention.mha.key_value", k=kn, v=vn, ks=fmt_shape(k.shape), vs=fmt_shape(v.shape)),
            t("attention.length.hint", k=kn, v=vn),
        )
    batch_dim = 0 if layer.batch_first else 1
    if q.dim() == 3 and q.shape[batch_dim] != k.shape[batch_dim]:
        return OpError(
            "mha_batch",
            t("attention.mha.batch", q=qn, k=kn, qs=fmt_shape(q.shape), ks=fmt_shape(k.shape), d=batch_dim),
            t("attention.mha.batch.hint" if not layer.batch_first else "attention.mha.batch.hint_first"),
        )
    return None


registry.register(
    OpSpec(
        name="multihead_attention",
        family="attention",
        explain=explain_mha,
        targets=MHA_TARGETS,
        summary="attention.mha.summary",
    )
)

"""A recognised error → the explanation of why, rebuilt on shape-only tensors, with the fix.

Each family rebuilds the operands torch's message names as meta tensors (shapes only, no
memory), runs the op again to confirm that torch raises the same error, and explains the rule
with the message's own numbers. The fix is code with those numbers, and with the user's own
names where the source line gives them (read with `ast`, never run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Check, Explanation, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.ops.inspect import common_prefix, layer_fix
from tensorshape_cli.text import first_line, fmt_args, fmt_shape
from tensorshape_cli.why import source
from tensorshape_cli.why.patterns import Diagnosis, close_family, recognise
from tensorshape_cli.why.traceback import Parsed, parse

if TYPE_CHECKING:
    import torch

MAX_KEYS_SHOWN = 20
# What load_state_dict compares, as code: the model's keys against the checkpoint's.
CODE = {
    "missing": "model.state_dict().keys() - state_dict.keys()",
    "unexpected": "state_dict.keys() - model.state_dict().keys()",
}
TORCH_TYPES = ("RuntimeError", "IndexError", "ValueError", "TypeError", "NotImplementedError")


def explain(text: str) -> Explanation:
    """The explanation of the last error in `text`; InputError (exit 2) when there is none,
    or when tshape does not know it."""
    parsed = parse(text)
    if not parsed.message.strip():
        raise InputError(t("why.empty"))
    diagnosis = recognise(parsed.message)
    if diagnosis is None:
        close = close_family(parsed.message)
        first = first_line(parsed.message, 200)
        if close:
            raise InputError(t("why.unknown_close", message=first, family=t(f"why.family.{close}")))
        if not parsed.exception and "Error" not in parsed.message:
            raise InputError(t("why.no_error"))
        raise InputError(t("why.unknown", message=first))
    from tensorshape_cli import torchmeta

    with torchmeta.fast_meta():  # the operands are shape-only: meta kernels without sympy/dynamo
        ex = BUILDERS[diagnosis.kind](diagnosis, parsed)
    ex.diagnosis = True
    if parsed.location is not None:
        loc = parsed.location
        ex.location = {"file": loc.file, "line": loc.line, "code": loc.code}
        ex.steps.insert(
            0,
            Step(
                t("why.location.title"),
                loc.code or "",
                None,
                t("why.location", file=loc.file, line=loc.line, exception=parsed.exception or "Error"),
            ),
        )
    return ex


INT64_MAX = 2**63 - 1  # torch's sizes are 64-bit integers


def _meta(shape: tuple[int, ...]) -> torch.Tensor:
    """A shape-only operand of the sizes the message names; a size no tensor can have (a
    pasted or mangled number past 64 bits) is said in one sentence."""
    import torch

    too_big = next((s for s in shape if s > INT64_MAX), None)
    if too_big is not None:
        raise InputError(t("why.size_too_big", digits=len(str(too_big))))
    return torch.empty(shape, device="meta")


def _start(op: str, call: str, parsed: Parsed, shapes: dict[str, tuple[int, ...]]) -> Explanation:
    from tensorshape_cli.describe import info

    ex = Explanation(op=op, call=call, title=t("why.title", op=op))
    ex.inputs = {name: info(_meta(shape)) for name, shape in shapes.items()}
    return ex


def _reproduce(ex: Explanation, parsed: Parsed, code: str, run: Callable[[], object]) -> None:
    """Run the op again on shape-only tensors: torch must raise the error the user pasted.

    torch's shape-only (meta) kernels word some errors their own way ("a and b must have same
    reduction dim" for mat1/mat2), and other releases word them differently again, so the two
    count as the same error when torch raises the same exception type for these shapes and
    every number its message names is one the pasted message names too."""
    from tensorshape_cli.ops._common import TORCH_ERRORS

    try:
        run()
        got, kind = "", ""
    except TORCH_ERRORS as e:
        got, kind = str(e), type(e).__name__
    pasted = parsed.exception.rsplit(".", 1)[-1]
    # another library's exception that wraps torch's message says nothing of torch's own type
    same = bool(got) and (pasted not in TORCH_TYPES or pasted == kind)
    same = same and (recognise(got) == recognise(parsed.message) or _numbers(got) <= _numbers(parsed.message))
    shown = f"{kind}: {first_line(got, 200)}" if got else "—"
    note = t("why.reproduce.same" if same else "why.reproduce.differs", got=shown)
    ex.steps.append(Step(t("why.reproduce.title"), code, None, note))
    ex.checks.append(Check(t("why.check.reproduced"), code, first_line(parsed.message, 200), shown, same))


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text[:10_000]))


def _fail(ex: Explanation, kind: str, message: str, hint: str) -> Explanation:
    ex.error = OpError(kind, message, hint)
    return ex


def _code_line(parsed: Parsed) -> str:
    return parsed.location.code if parsed.location is not None else ""


# --- matmul: mat1 and mat2 shapes cannot be multiplied ------------------------------------


def _matmul(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    (n, k1), (k2, m) = d.shapes["mat1"], d.shapes["mat2"]
    ex = _start("matmul", f"mat1 @ mat2  # ({n}, {k1}) @ ({k2}, {m})", parsed, d.shapes)
    ex.steps.append(
        Step(
            t("why.matmul.rule.title"),
            "mat1.shape[1] == mat2.shape[0]",
            None,
            t("why.matmul.rule", k1=k1, k2=k2),
        )
    )
    code = f'torch.mm(torch.empty({n}, {k1}, device="meta"), torch.empty({k2}, {m}, device="meta"))'
    _reproduce(ex, parsed, code, lambda: torch.mm(_meta((n, k1)), _meta((k2, m))))
    line = _code_line(parsed)
    layer = source.layer_call(line)
    op = source.find(line, "@", "matmul", "mm")
    if layer is not None:
        x = layer.args[0] if layer.args else "x"
        ex.steps.append(
            Step(
                t("why.matmul.layer.title"),
                layer.func,
                None,
                t("why.matmul.layer", layer=layer.func, x=x, k1=k1, k2=k2, m=m),
            )
        )
        hint = t("why.matmul.layer.hint", layer=layer.func, x=x, k1=k1, k2=k2, m=m)
    elif op is not None:
        if op.func == "@":
            a, b = [*op.args, "mat1", "mat2"][:2]
        else:  # x.matmul(w), torch.mm(x, w)
            both = [op.receiver, *op.args] if op.receiver and op.receiver != "torch" else op.args
            a, b = [*both, "mat1", "mat2"][:2]
        hint = t("why.matmul.operands.hint", a=a, b=b, k1=k1, k2=k2, n=n, m=m)
        if m == k1:
            hint += " " + t("why.matmul.transpose.hint", a=a, b=b)
    else:
        hint = t("why.matmul.hint", k1=k1, k2=k2, m=m)
    return _fail(ex, "matmul_inner_mismatch", t("why.matmul.message", n=n, k1=k1, k2=k2, m=m), hint)


# --- conv: channels, missing batch dims, kernel larger than the input --------------------


def _conv_channels(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    x, w = d.shapes["input"], d.shapes["weight"]
    groups, expected, got = d.numbers["groups"], d.numbers["expected"], d.numbers["got"]
    spatial = len(w) - 2
    conv = f"conv{spatial}d"
    ex = _start(conv, f"F.{conv}(input, weight, groups={groups})", parsed, d.shapes)
    ex.steps.append(
        Step(
            t("why.conv.channels.rule.title"),
            "input.shape[1] == weight.shape[1] * groups",
            None,
            t(
                "why.conv.channels.rule",
                got=got,
                per_group=w[1] if len(w) > 1 else expected,
                groups=groups,
                expected=expected,
                out=w[0] if w else 0,
            ),
        )
    )
    fn = getattr(torch.nn.functional, conv, None)
    meta = 'device="meta"'
    code = (
        f"F.{conv}(torch.empty({fmt_args(x)}, {meta}), torch.empty({fmt_args(w)}, {meta}), groups={groups})"
    )
    if fn is not None:
        _reproduce(ex, parsed, code, lambda: fn(_meta(x), _meta(w), groups=groups))
    layer = source.layer_call(_code_line(parsed))
    name = layer.func if layer is not None else "conv"
    xname = layer.args[0] if layer is not None and layer.args else "x"
    kernel = ", ".join(str(k) for k in w[2:]) if len(w) > 2 else "3"
    kernel = kernel if len(set(w[2:])) != 1 else str(w[2])
    fixes = [
        t(
            "why.conv.channels.layer_fix",
            layer=name,
            conv=f"nn.Conv{spatial}d",
            got=got,
            out=w[0],
            kernel=kernel,
        )
    ]
    if len(x) == spatial + 2 and x[-1] == expected:
        order = ", ".join(str(i) for i in (0, spatial + 1, *range(1, spatial + 1)))
        fixes.insert(0, t("why.conv.channels.channels_last", x=xname, order=order, expected=expected))
    elif got == 1 and expected == 3:
        fixes.append(t("why.conv.channels.gray", x=xname, dims=", ".join(["-1", "3", *["-1"] * spatial])))
    return _fail(
        ex,
        "conv_channels",
        t("why.conv.channels.message", got=got, expected=expected, shape=fmt_shape(x)),
        "; ".join(fixes),
    )


def _conv_input_dims(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    x = d.shapes["input"]
    unbatched, batched, op = d.numbers["unbatched"], d.numbers["batched"], d.numbers["op"]
    ex = _start(op, f"F.{op}(input, weight)", parsed, {"input": x})
    ex.steps.append(
        Step(
            t("why.conv.dims.rule.title"),
            "input.dim()",
            None,
            t(
                "why.conv.dims.rule",
                op=op,
                unbatched=unbatched,
                batched=batched,
                n=len(x),
                shape=fmt_shape(x),
            ),
        )
    )
    fn = getattr(torch.nn.functional, op, None)
    spatial = batched - 2
    if fn is not None and spatial >= 1:
        channels = x[0] if x else 1
        w = (1, channels, *([1] * spatial))
        code = f'F.{op}(torch.empty({fmt_args(x)}, device="meta"), torch.empty({fmt_args(w)}, device="meta"))'
        _reproduce(ex, parsed, code, lambda: fn(_meta(x), _meta(w)))
    xname = _first_arg(parsed) or "x"
    if len(x) == unbatched - 1:
        hint = t(
            "why.conv.dims.add_channel", x=xname, shape=fmt_shape((1, *x)), batched=fmt_shape((1, 1, *x))
        )
    elif len(x) < unbatched:
        missing = unbatched - len(x)
        hint = t("why.conv.dims.too_few", x=xname, n=len(x), missing=missing, unbatched=unbatched)
    else:
        hint = t(
            "why.conv.dims.too_many",
            x=xname,
            n=len(x),
            batched=batched,
            merged=fmt_shape((math.prod(x[: len(x) - batched + 1]), *x[len(x) - batched + 1 :])),
        )
    return _fail(
        ex,
        "conv_input_dims",
        t("why.conv.dims.message", op=op, n=len(x), shape=fmt_shape(x), unbatched=unbatched, batched=batched),
        hint,
    )


def _conv_kernel(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    padded, kernel = d.numbers["padded"], d.numbers["kernel"]
    spatial = len(kernel)
    op = f"conv{spatial}d"
    ex = _start(op, f"F.{op}(input, weight)", parsed, {})
    too_small = [i for i, (p, k) in enumerate(zip(padded, kernel, strict=False)) if k > p]
    ex.steps.append(
        Step(
            t("why.conv.kernel.rule.title"),
            "input size + 2 * padding >= dilation * (kernel - 1) + 1",
            None,
            t(
                "why.conv.kernel.rule",
                padded=" x ".join(map(str, padded)),
                kernel=" x ".join(map(str, kernel)),
            ),
        )
    )
    fn = getattr(torch.nn.functional, op, None)
    if fn is not None and len(padded) == spatial:
        x, w = (1, 1, *padded), (1, 1, *kernel)
        code = f'F.{op}(torch.empty({fmt_args(x)}, device="meta"), torch.empty({fmt_args(w)}, device="meta"))'
        _reproduce(ex, parsed, code, lambda: fn(_meta(x), _meta(w)))
    pad = max((kernel[i] - padded[i] + 1) // 2 for i in too_small) if too_small else 0
    hint = t("why.conv.kernel.hint", kernel=max(padded) if padded else 1, padding=pad)
    return _fail(
        ex,
        "conv_kernel_too_big",
        t(
            "why.conv.kernel.message",
            padded=" x ".join(map(str, padded)),
            kernel=" x ".join(map(str, kernel)),
        ),
        hint,
    )


def _pool(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    size, out = d.numbers["input"], d.numbers["output"]
    spatial = size[1:] if len(size) > 1 else size
    op = f"max_pool{len(spatial)}d"
    ex = _start(op, f"F.{op}(input, kernel_size)", parsed, {})
    ex.steps.append(
        Step(
            t("why.pool.rule.title"),
            "floor((H + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1",
            None,
            t("why.pool.rule", size=" x ".join(map(str, size)), out=" x ".join(map(str, out))),
        )
    )
    fn = getattr(torch.nn.functional, op, None)
    if fn is not None and spatial:
        k = max(spatial) + 1
        x = (1, *size)
        code = f'F.{op}(torch.empty({fmt_args(x)}, device="meta"), {k})'
        _reproduce(ex, parsed, code, lambda: fn(_meta(x), k))
    return _fail(
        ex,
        "pool_output_too_small",
        t("why.pool.message", size=" x ".join(map(str, size)), out=" x ".join(map(str, out))),
        t("why.pool.hint", largest=min(spatial) if spatial else 1),
    )


# --- view, reshape, broadcasting, expand, cat, stack: the dedicated ops explain them ----


def _view_size(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import view

    shape, numel = list(d.numbers["shape"]), d.numbers["numel"]
    site = source.find(_code_line(parsed), "view", "reshape")
    name = site.receiver if site is not None and site.receiver else "x"
    ex = view.explain(_meta((numel,)), shape)
    ex.title = t("why.title", op="view")
    known = math.prod(s for s in shape if s != -1) if shape else 1
    hint = ex.error.hint if ex.error else ""
    options = [] if -1 in shape else _inferred_views(name, shape, numel)
    ex.error = OpError(
        "view_size_mismatch",
        t("why.view.message", shape=fmt_shape(shape), known=known, numel=numel),
        "; ".join(part for part in [hint, *options[:2]] if part),
    )
    return ex


def _inferred_views(name: str, shape: list[int], numel: int) -> list[str]:
    """`x.view(4, -1)`: each size that can be kept while torch infers another one."""
    found = []
    for i in range(len(shape)):
        rest = math.prod(s for j, s in enumerate(shape) if j != i)
        if rest and numel % rest == 0:
            args = fmt_args([*shape[:i], -1, *shape[i + 1 :]])
            result = fmt_shape([*shape[:i], numel // rest, *shape[i + 1 :]])
            found.append(t("why.view.infer", name=name, args=args, shape=result))
    return found


def _view_stride(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import view

    site = source.find(_code_line(parsed), "view")
    name = site.receiver if site is not None and site.receiver else "x"
    args = ", ".join(site.args) if site is not None and site.args else "-1"
    x = _meta((2, 3)).transpose(0, 1)
    ex = view.explain(x, [-1])
    ex.title = t("why.title", op="view")
    ex.call = f"{name}.view({args})"
    ex.steps.append(
        Step(
            t("why.view.stride.example.title"),
            "torch.empty(2, 3).transpose(0, 1).view(-1)",
            None,
            t("why.view.stride.example"),
        )
    )
    return _fail(
        ex,
        "view_not_contiguous",
        t("why.view.stride.message", name=name),
        t("why.view.stride.hint", name=name, args=args),
    )


def _broadcast(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import broadcast

    a, b, dim = d.numbers["a"], d.numbers["b"], d.numbers["dim"]
    site = source.find(_code_line(parsed), "+", "-", "*", "/", "add", "sub", "mul", "div", "where")
    names = ["a", "b"]
    if site is not None and len(site.args) >= 2 and site.func in ("+", "-", "*", "/"):
        names = [site.args[0], site.args[1]]
    shape_a, shape_b = (1,) * dim + (a,), (1,) * dim + (b,)
    ex = broadcast.explain([_meta(shape_a), _meta(shape_b)], names)
    ex.title = t("why.title", op="broadcast")
    hint = t("why.broadcast.hint", a=names[0], b=names[1], dim=dim)
    return _fail(
        ex,
        "broadcast_mismatch",
        t("why.broadcast.message", a=names[0], b=names[1], sa=a, sb=b, dim=dim),
        hint,
    )


def _expand(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import expand

    x, target = d.shapes["x"], list(d.numbers["target"])
    ex = expand.explain(_meta(x), target)
    ex.title = t("why.title", op="expand")
    return ex


def _cat(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import cat

    dim, expected, got, index = d.numbers["dim"], d.numbers["expected"], d.numbers["got"], d.numbers["index"]
    other = d.numbers.get("at_dim", 1 if dim == 0 else 0)
    ndim = max(dim, other) + 1
    first = [1] * ndim
    second = [1] * ndim
    first[other], second[other] = expected, got
    tensors = [_meta(tuple(first))] * index + [_meta(tuple(second))]
    ex = cat.explain_cat(tensors, dim)
    ex.title = t("why.title", op="cat")
    return _fail(
        ex,
        "cat_size_mismatch",
        t("why.cat.message", dim=dim, expected=expected, got=got, index=index, other=other),
        t("why.cat.hint", dim=dim, other=other),
    )


def _stack(d: Diagnosis, parsed: Parsed) -> Explanation:
    from tensorshape_cli.ops import cat

    first, other, index = d.shapes["first"], d.shapes["other"], d.numbers["index"]
    tensors = [_meta(first)] * index + [_meta(other)]
    ex = cat.explain_stack(tensors, 0)
    ex.title = t("why.title", op="stack")
    return ex


def _dim_range(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    lo, hi, dim = d.numbers["lo"], d.numbers["hi"], d.numbers["dim"]
    site = source.find(_code_line(parsed))
    method = site.method if site is not None else "sum"
    n = hi + 1 if method != "unsqueeze" else hi
    ex = _start(method, f"x.{method}({dim})", parsed, {"x": (1,) * max(n, 0)})
    ex.steps.append(
        Step(t("why.dim.rule.title"), "x.dim()", None, t("why.dim.rule", n=n, lo=lo, hi=hi, dim=dim))
    )
    fn = getattr(torch.Tensor, method, None) or torch.Tensor.sum
    _reproduce(
        ex,
        parsed,
        f'torch.empty({fmt_args((1,) * n)}, device="meta").{method}({dim})',
        lambda: fn(_meta((1,) * n), dim),
    )
    return _fail(
        ex,
        "dim_out_of_range",
        t("why.dim.message", dim=dim, lo=lo, hi=hi, n=n),
        t("why.dim.hint", last=hi, neg=dim - (hi - lo + 1) if dim > hi else dim),
    )


def _index_bounds(d: Diagnosis, parsed: Parsed) -> Explanation:
    index, dim, size = d.numbers["index"], d.numbers["dim"], d.numbers["size"]
    ex = _start("index", "x[...]", parsed, {"x": (1,) * dim + (size,)})
    return _fail(
        ex,
        "index_out_of_range",
        t("why.index.message", index=index, dim=dim, size=size),
        t("why.index.hint", last=size - 1, size=size, dim=dim),
    )


def _embedding(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    ex = _start("embedding", "F.embedding(input, weight)", parsed, {})
    layer = source.layer_call(_code_line(parsed))
    name = layer.func if layer is not None else "nn.Embedding(num_embeddings, embedding_dim)"
    ids = layer.args[0] if layer is not None and layer.args else "input"
    ex.steps.append(
        Step(
            t("why.embedding.rule.title"),
            f"{ids}.min() >= 0 and {ids}.max() < num_embeddings",
            None,
            t("why.embedding.rule", layer=name, ids=ids),
        )
    )
    code = "F.embedding(torch.tensor([3]), torch.zeros(3, 2))"
    _reproduce(ex, parsed, code, lambda: torch.nn.functional.embedding(torch.tensor([3]), torch.zeros(3, 2)))
    return _fail(
        ex,
        "embedding_index",
        t("why.embedding.message", layer=name),
        t("why.embedding.hint", layer=name, ids=ids),
    )


def _ce_dtype(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    dtype = d.numbers["dtype"]
    ex = _start("cross_entropy", "F.cross_entropy(input, target)", parsed, {})
    names = _loss_names(parsed)
    ex.steps.append(
        Step(
            t("why.ce.rule.title"),
            f"{names[1]}.dtype",
            None,
            t("why.ce.dtype.rule", dtype=dtype, target=names[1]),
        )
    )
    _reproduce(
        ex,
        parsed,
        "F.cross_entropy(torch.zeros(2, 3), torch.zeros(2))",
        lambda: torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.zeros(2)),
    )
    return _fail(
        ex,
        "cross_entropy_target_dtype",
        t("why.ce.dtype.message", dtype=dtype),
        t("why.ce.dtype.hint", target=names[1], input=names[0]),
    )


def _ce_multi(d: Diagnosis, parsed: Parsed) -> Explanation:
    import torch

    ex = _start("cross_entropy", "F.cross_entropy(input, target)", parsed, {})
    names = _loss_names(parsed)
    ex.steps.append(
        Step(
            t("why.ce.rule.title"),
            f"{names[1]}.shape",
            None,
            t("why.ce.multi.rule", target=names[1], input=names[0]),
        )
    )
    _reproduce(
        ex,
        parsed,
        "F.cross_entropy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long))",
        lambda: torch.nn.functional.cross_entropy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long)),
    )
    return _fail(
        ex,
        "cross_entropy_target_shape",
        t("why.ce.multi.message", target=names[1]),
        t("why.ce.multi.hint", target=names[1]),
    )


def _ce_batch(d: Diagnosis, parsed: Parsed) -> Explanation:
    n_in, n_t = d.numbers["input"], d.numbers["target"]
    ex = _start("cross_entropy", "F.cross_entropy(input, target)", parsed, {})
    names = _loss_names(parsed)
    ex.steps.append(
        Step(
            t("why.ce.rule.title"),
            f"{names[0]}.shape[0] == {names[1]}.shape[0]",
            None,
            t("why.ce.batch.rule", input=names[0], target=names[1], ni=n_in, nt=n_t),
        )
    )
    return _fail(
        ex,
        "cross_entropy_batch",
        t("why.ce.batch.message", ni=n_in, nt=n_t),
        t("why.ce.batch.hint", input=names[0], target=names[1]),
    )


def _ce_size(d: Diagnosis, parsed: Parsed) -> Explanation:
    expected, target = d.numbers["expected"], d.shapes["target"]
    ex = _start("cross_entropy", "F.cross_entropy(input, target)", parsed, {"target": target})
    names = _loss_names(parsed)
    return _fail(
        ex,
        "cross_entropy_target_shape",
        t("why.ce.size.message", expected=fmt_shape(expected), got=fmt_shape(target)),
        t("why.ce.size.hint", target=names[1], expected=fmt_shape(expected)),
    )


def _layer_norm(d: Diagnosis, parsed: Parsed) -> Explanation:
    norm, x = d.numbers["normalized_shape"], d.shapes["input"]
    ex = _start("layer_norm", f"F.layer_norm(input, {list(norm)})", parsed, {"input": x})
    layer = source.layer_call(_code_line(parsed))
    name = layer.func if layer is not None else "nn.LayerNorm"
    last = x[-len(norm) :] if norm else ()
    return _fail(
        ex,
        "layer_norm_shape",
        t("why.layernorm.message", norm=fmt_shape(norm), shape=fmt_shape(x)),
        t("why.layernorm.hint", layer=name, last=fmt_args(last)),
    )


def _batch_norm(d: Diagnosis, parsed: Parsed) -> Explanation:
    features, channels = d.numbers["features"], d.numbers["channels"]
    ex = _start("batch_norm", "F.batch_norm(input, running_mean, running_var)", parsed, {})
    layer = source.layer_call(_code_line(parsed))
    name = layer.func if layer is not None else "nn.BatchNorm"
    return _fail(
        ex,
        "batch_norm_features",
        t("why.batchnorm.message", features=features, channels=channels),
        t("why.batchnorm.hint", layer=name),
    )


def _rnn(d: Diagnosis, parsed: Parsed) -> Explanation:
    expected, got = d.numbers["expected"], d.numbers["got"]
    ex = _start("lstm", "nn.LSTM(input_size, hidden_size)(input)", parsed, {})
    layer = source.layer_call(_code_line(parsed))
    name = layer.func if layer is not None else "rnn"
    return _fail(
        ex,
        "rnn_input_size",
        t("why.rnn.message", expected=expected, got=got),
        t("why.rnn.hint", layer=name, got=got),
    )


def _bmm(d: Diagnosis, parsed: Parsed) -> Explanation:
    (b, k), (b2, k2) = d.numbers["expected"], d.numbers["got"]
    ex = _start("bmm", "torch.bmm(batch1, batch2)", parsed, {})
    return _fail(
        ex, "bmm_mismatch", t("why.bmm.message", b=b, k=k, b2=b2, k2=k2), t("why.bmm.hint", b=b, k=k)
    )


def _state_dict(d: Diagnosis, parsed: Parsed) -> Explanation:
    model = d.numbers["model"]
    mismatches: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = d.numbers["mismatches"]
    missing: list[str] = d.numbers["missing"]
    unexpected: list[str] = d.numbers["unexpected"]
    ex = Explanation(
        op="load_state_dict",
        call=f"{model}.load_state_dict(state_dict)",
        title=t("why.title", op="load_state_dict"),
    )
    from tensorshape_cli.describe import info

    fixes: list[str] = []
    for key, saved, current in mismatches[:MAX_KEYS_SHOWN]:
        ex.inputs[key] = info(_meta(saved))
        ex.steps.append(
            Step(
                t("why.state.mismatch.title", key=key),
                key,
                info(_meta(saved)),
                t("why.state.mismatch", key=key, saved=fmt_shape(saved), current=fmt_shape(current)),
            )
        )
        fixes.append(layer_fix(key, saved, current))
    for label, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            shown = ", ".join(keys[:MAX_KEYS_SHOWN]) + (" …" if len(keys) > MAX_KEYS_SHOWN else "")
            ex.steps.append(
                Step(
                    t(f"why.state.{label}.title", n=len(keys)),
                    CODE[label],
                    None,
                    t(f"why.state.{label}", keys=shown),
                )
            )
    prefix = common_prefix(missing, unexpected)
    if prefix:
        fixes.append(t("why.state.prefix.hint", prefix=prefix))
    elif missing or unexpected:
        fixes.append(t("why.state.keys.hint"))
    parts = [
        t(
            "why.state.count",
            mismatches=len(mismatches),
            missing=len(missing),
            unexpected=len(unexpected),
            model=model,
        )
    ]
    return _fail(ex, "state_dict_mismatch", " ".join(parts), "; ".join(f for f in fixes if f))


def _loss_names(parsed: Parsed) -> list[str]:
    site = source.find(_code_line(parsed), "cross_entropy", "nll_loss")
    if site is None:
        site = source.layer_call(_code_line(parsed))
    args = site.args if site is not None else []
    return args[:2] if len(args) >= 2 else ["logits", "target"]


def _first_arg(parsed: Parsed) -> str | None:
    site = source.layer_call(_code_line(parsed)) or source.find(_code_line(parsed))
    return site.args[0] if site is not None and site.args else None


BUILDERS: dict[str, Callable[[Diagnosis, Parsed], Explanation]] = {
    "matmul": _matmul,
    "bmm": _bmm,
    "conv_channels": _conv_channels,
    "conv_input_dims": _conv_input_dims,
    "conv_kernel_too_big": _conv_kernel,
    "pool_output_too_small": _pool,
    "view_size": _view_size,
    "view_stride": _view_stride,
    "broadcast": _broadcast,
    "expand": _expand,
    "cat": _cat,
    "stack": _stack,
    "dim_range": _dim_range,
    "index_bounds": _index_bounds,
    "embedding_index": _embedding,
    "ce_target_dtype": _ce_dtype,
    "ce_multi_target": _ce_multi,
    "ce_batch": _ce_batch,
    "ce_target_size": _ce_size,
    "layer_norm": _layer_norm,
    "batch_norm": _batch_norm,
    "rnn_input_size": _rnn,
    "state_dict": _state_dict,
}

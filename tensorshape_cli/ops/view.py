"""x.view(*shape): the same storage read with another shape."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tensorshape_cli.describe import info
from tensorshape_cli.explanation import MISMATCH, OK, Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops._common import TORCH_ERRORS, storage_note, torch_error
from tensorshape_cli.text import fmt_args, fmt_count, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch


def explain(x: torch.Tensor, shape: list[int], transpose: tuple[int, int] | None = None) -> Explanation:
    args = fmt_args(shape)
    ex = Explanation(op="view", call=f"x.view({args})", title=t("view.title"), inputs={"x": info(x)})
    laid_out = layout_steps(ex, x, shape, transpose, "view")
    if laid_out is None:
        return ex
    x = laid_out
    try:
        result = x.view(tuple(shape))
    except TORCH_ERRORS as e:
        if ex.error is None and not x.is_contiguous():
            ex.steps += stride_steps(x, shape)
            ex.error = stride_error(x, shape)
        elif ex.error is None:
            ex.error = torch_error(e)
        return ex
    if ex.error is not None:  # our rule refused what torch accepted: torch is right
        ex.error = None
    ex.result = info(result)
    ex.steps.append(
        Step(
            t("step.result"),
            f"y = x.view({args})",
            ex.result,
            t("view.result", shape=fmt_shape(result.shape), stride=fmt_shape(result.stride())),
        )
    )
    ex.steps.append(Step(t("step.storage"), "y.data_ptr() == x.data_ptr()", None, storage_note(x, result)))
    ex.checks.append(
        Check(
            t("view.check.label"),
            t("view.check.expr", shape=fmt_shape(result.shape)),
            x.numel(),
            result.numel(),
            x.numel() == result.numel(),
        )
    )
    return ex


def infer_step(shape: list[int], numel: int) -> Step:
    """How torch infers the one -1: numel ÷ the product of the known sizes."""
    known = [s for s in shape if s != -1]
    product = math.prod(known)
    expr = " × ".join(str(s) for s in known) if len(known) > 1 else ""
    inferred = numel // product
    known_text = f"({expr} = {product})" if expr else str(product)
    return Step(
        t("view.infer.title"),
        f"{numel} // {product}",
        None,
        t("view.infer", numel=fmt_count(numel), known=known_text, size=inferred, pos=shape.index(-1)),
    )


def layout_steps(
    ex: Explanation, x: torch.Tensor, shape: list[int], transpose: tuple[int, int] | None, method: str
) -> torch.Tensor | None:
    """The steps view and reshape share: an optional transpose, the input's layout, and the
    -1 inferred. Sets ex.error for sizes torch refuses whatever the strides; None when the
    transpose itself failed."""
    args = fmt_args(shape)
    if transpose is not None:
        a, b = transpose
        ex.call = f"x.transpose({a}, {b}).{method}({args})"
        try:
            x = x.transpose(a, b)
        except TORCH_ERRORS as e:
            ex.error = torch_error(e)
            return None
        ex.steps.append(
            Step(
                t("view.transpose.title"),
                f"x = x.transpose({a}, {b})",
                info(x, marked=[a, b]),
                t("view.transpose", shape=fmt_shape(x.shape), stride=fmt_shape(x.stride())),
            )
        )
    numel = x.numel()
    ex.steps.append(
        Step(
            t("step.input_of", name="x"),
            "x.shape, x.numel(), x.stride(), x.is_contiguous()",
            info(x) if transpose is None else None,  # the transpose step has just shown it
            t(
                "view.input",
                shape=fmt_shape(x.shape),
                numel=fmt_count(numel),
                stride=fmt_shape(x.stride()),
                contiguous=_yes_no(x.is_contiguous()),
            ),
        )
    )
    ex.error = shape_error(shape, numel)
    if ex.error is None and -1 in shape:
        ex.steps.append(infer_step(shape, numel))
    return x


def shape_error(shape: list[int], numel: int) -> OpError | None:
    """The reasons torch would refuse these sizes whatever the strides, in words."""
    holes = [i for i, s in enumerate(shape) if s == -1]
    if len(holes) > 1:
        return OpError(
            "view_two_inferred",
            t("view.two_inferred", count=len(holes), positions=fmt_args(holes)),
            t("view.two_inferred.hint"),
        )
    bad = [(i, s) for i, s in enumerate(shape) if s < -1]
    if bad:
        return OpError(
            "view_negative", t("view.negative", size=bad[0][1], pos=bad[0][0]), t("view.negative.hint")
        )
    known = math.prod(s for s in shape if s != -1)
    if holes:
        if known == 0:
            return OpError("view_cannot_infer", t("view.infer_zero"), t("view.infer.hint", numel=numel))
        if numel % known:
            return OpError(
                "view_cannot_infer",
                t("view.infer_indivisible", numel=fmt_count(numel), known=known),
                t("view.infer.hint", numel=numel),
            )
        return None
    if known != numel:
        return OpError(
            "view_size_mismatch",
            t("view.mismatch", shape=fmt_shape(shape), size=fmt_count(known), numel=fmt_count(numel)),
            t("view.mismatch.hint", numel=fmt_count(numel)),
        )
    return None


MAX_ORDER = 12  # elements of the memory-order table; more are elided


def stride_steps(x: torch.Tensor, shape: list[int]) -> list[Step]:
    """Why view refuses a non-contiguous x, intuition first: the order of its elements in
    memory against the order view would have to read them, then what the two fixes give."""
    args = fmt_args(shape)
    steps = []
    if x.device.type != "meta" and _dense(x):
        numel = x.numel()
        memory = x.as_strided((numel,), (1,)).tolist()  # storage, in address order
        read = x.reshape(-1).tolist()  # x row by row: the order any view of x reads
        shown = min(numel, MAX_ORDER)
        columns = [t("view.order.col.what"), *map(str, range(shown))] + (["…"] if numel > shown else [])
        more = ["…"] if numel > shown else []
        table = Table(columns, [])
        table.add([t("view.order.memory"), *map(fmt_num, memory[:shown]), *more])
        table.add(
            [t("view.order.read"), *map(fmt_num, read[:shown]), *more],
            OK if memory == read else MISMATCH,
        )
        table.marked = [[1, i + 1] for i in range(shown) if memory[i] != read[i]]
        steps.append(
            Step(
                t("view.order.title"),
                f"x.as_strided(({numel},), (1,)), x.flatten()",
                None,
                t(
                    "view.order",
                    memory=" ".join(map(fmt_num, memory[:shown])) + (" …" if more else ""),
                    read=" ".join(map(fmt_num, read[:shown])) + (" …" if more else ""),
                    args=args,
                ),
                table,
            )
        )
    steps.append(
        Step(
            t("view.rule.title"),
            "x.stride(), x.is_contiguous()",
            None,
            t("view.rule", broken=_broken(x), stride=fmt_shape(x.stride())),
        )
    )
    reshaped = x.reshape(tuple(shape))
    steps.append(
        Step(t("view.fix.reshape.title"), f"x.reshape({args})", info(reshaped), t("view.fix.reshape"))
    )
    fixed = x.contiguous().view(tuple(shape))
    steps.append(
        Step(
            t("view.fix.contiguous.title"),
            f"x.contiguous().view({args})",
            info(fixed),
            t("view.fix.contiguous", stride=fmt_shape(fixed.stride())),
        )
    )
    return steps


def _dense(x: torch.Tensor) -> bool:
    """Whether x's elements fill a block of memory with no gaps (a permuted contiguous
    tensor, as a transpose gives): then memory read in address order is every element once."""
    dims = sorted((st, n) for n, st in zip(x.shape, x.stride(), strict=True) if n != 1)
    expected = 1
    for st, n in dims:
        if st != expected:
            return False
        expected *= n
    return True


def _broken(x: torch.Tensor) -> str:
    size, stride = list(x.shape), list(x.stride())
    broken = [
        t(
            "view.stride.pair",
            i=i,
            j=i + 1,
            si=stride[i],
            sj=stride[i + 1],
            nj=size[i + 1],
            want=stride[i + 1] * size[i + 1],
        )
        for i in range(len(size) - 1)
        if size[i] != 1 and size[i + 1] != 1 and stride[i] != stride[i + 1] * size[i + 1]
    ]
    return "; ".join(broken) or t("view.stride.none")


def stride_error(x: torch.Tensor, shape: list[int], name: str = "x") -> OpError:
    """A non-contiguous input: name the dimensions whose strides break torch's condition."""
    size, stride = list(x.shape), list(x.stride())
    args = fmt_args(shape)
    return OpError(
        "view_not_contiguous",
        t(
            "view.stride",
            name=name,
            shape=fmt_shape(size),
            stride=fmt_shape(stride),
            args=args,
            broken=_broken(x),
        ),
        t("view.stride.hint", args=args, name=name),
    )


def _yes_no(flag: bool) -> str:
    return t("word.yes") if flag else t("word.no")


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, reads_nothing, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    call.only("size")
    x, shape = call.arg(0, "self"), call.sizes(1, "size")
    ex = explain(x, shape, call.options.get("transpose"))
    if ex.error is not None and ex.error.kind == "view_not_contiguous" and call.codes:
        ex.error = stride_error(x, shape, name=call.codes[0])  # the fix, in the user's own names
    return ex


register(
    OpSpec(
        "view",
        "dedicated",
        _explain_call,
        targets=("torch.Tensor.view",),
        output_shapes=reads_nothing,
        command="view",
    )
)

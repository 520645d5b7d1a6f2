"""Helpers shared by ops: torch's errors as OpErrors, hand sums, tolerant comparisons."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from tensorshape_cli import settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Check, OpError, Step
from tensorshape_cli.messages import t
from tensorshape_cli.text import elide_terms, fmt_count, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

MaybeTensor = TypeVar("MaybeTensor", bound="torch.Tensor | None")

# What torch raises when it refuses an operation: a RuntimeError for most shape errors,
# but an IndexError for a dim out of range and a TypeError/ValueError/OverflowError for
# an integer beyond int64 (`--dim 10**20`).
TORCH_ERRORS = (RuntimeError, IndexError, TypeError, ValueError, OverflowError)


def torch_error(e: BaseException) -> OpError:
    """An error torch raised that no rule of ours explains: its own words, first line."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if text.endswith(":"):  # "… - got (float), but expected one of:" lists its signatures below
        text = text.rsplit(", but ", 1)[0].rstrip(":")
    return OpError(kind="torch_error", message=text, hint=t("error.torch_hint"))


def check_size(shape: Sequence[int], what: str) -> None:
    """Refuse a tensor an op would make (a product, a layer's weight) before torch allocates
    it, when it has more elements than --max-elements: inputs within the limit can still
    broadcast to a huge result. InputError: exit 2, like an input over the limit."""
    limit = settings.current().max_elements
    numel = math.prod(shape)
    if numel > limit:
        raise InputError(
            t(
                "limit.op_too_many",
                what=what,
                shape=fmt_shape(shape),
                numel=fmt_count(numel),
                limit=fmt_count(limit),
            )
        )


def written_sum(pairs: Sequence[tuple[object, object]], tail: object | None = None) -> str:
    """'1*1 + 5*3 + 9*5' (+ bias), eliding the middle of long sums."""
    text = " + ".join(elide_terms([f"{fmt_num(a)}*{fmt_num(b)}" for a, b in pairs]))
    if tail is not None:
        text += f" + {fmt_num(tail)}"
    return text


def agrees(manual: float, computed: float, magnitude: float, n_terms: int, eps: float) -> bool:
    """Does a hand sum in float64 agree with torch's, within the rounding torch may do?

    A sum of n products in a type with machine epsilon eps can be off by about
    n * eps * sum(|terms|); exact dtypes (ints, bools) have eps 0 and must match exactly.
    """
    if math.isnan(manual) or math.isnan(computed):
        return math.isnan(manual) and math.isnan(computed)
    if math.isinf(manual) or math.isinf(computed):
        return manual == computed
    return abs(manual - computed) <= (n_terms + 1) * eps * magnitude + 1e-12


def allclose_check(label: str, expression: str, a: torch.Tensor, b: torch.Tensor, n_terms: int) -> Check:
    """Two routes to the same tensor agree, within the rounding their dtype allows."""
    import torch

    tol = tolerance(str(a.dtype).removeprefix("torch."), n_terms)
    same = bool(torch.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return Check(label, expression, True, same, same)


def tolerance(dtype_name: str, n_terms: int) -> float:
    """rtol = atol for comparing two routes to the same sums (a fused kernel rounds differently)."""
    return max(1e-5, (n_terms + 1) * eps_of(dtype_name))


def eps_of(dtype_name: str) -> float:
    return {"float16": 9.8e-4, "bfloat16": 7.9e-3, "float32": 1.2e-7, "float64": 2.3e-16}.get(dtype_name, 0.0)


def storage_note(x: torch.Tensor, y: torch.Tensor) -> str:
    """Whether y shares x's memory, read from torch (not assumed from the op's name)."""
    if x.device.type == "meta":
        return t("storage.meta")
    if y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        return t("storage.shared")
    return t("storage.copied")


def shape_only_if_any(*tensors: MaybeTensor) -> list[MaybeTensor]:
    """Shape-only is contagious: torch refuses to mix meta and real tensors in one operation,
    so if one input is a meta tensor (or --meta is on), all of them become meta tensors."""
    from tensorshape_cli import settings
    from tensorshape_cli.tensorfiles import shape_only

    present = [x for x in tensors if x is not None]
    if not settings.current().meta and all(x.device.type != "meta" for x in present):
        return list(tensors)
    return [x if x is None or x.device.type == "meta" else shape_only(x) for x in tensors]  # type: ignore[misc]


def input_steps(names: Sequence[str], tensors: Sequence[torch.Tensor]) -> list[Step]:
    """One Input step per operand of a many-tensor op: its shape and number of dimensions."""
    from tensorshape_cli.describe import info

    return [
        Step(
            t("step.input_of", name=n),
            n,
            info(x),
            t("broadcastop.input", name=n, shape=fmt_shape(x.shape), n=x.dim()),
        )
        for n, x in zip(names, tensors, strict=True)
    ]


def shape_check(expression: str, predicted: Sequence[int], actual: Sequence[int]) -> Check:
    """The shape a rule predicts, against the shape torch gave."""
    return Check(
        t("check.shape"), expression, fmt_shape(predicted), fmt_shape(actual), list(predicted) == list(actual)
    )


def skipped_check() -> Check:
    """A shape-only (meta) tensor has no values: say the value checks were skipped."""
    return Check(t("check.skipped.label"), t("check.skipped"), None, None, True)


def fresh_stride(shape: Sequence[int]) -> list[int]:
    """The strides of a newly made (contiguous) tensor of this shape."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return strides[::-1]


def unravel(flat: int, shape: Sequence[int]) -> list[int]:
    """The index of element `flat` of a tensor of this shape, in row-major order (a size-0
    dimension, which holds no element, gives 0)."""
    index = []
    for size in reversed(shape):
        index.append(flat % size if size else 0)
        flat //= max(size, 1)
    return index[::-1]


def same_device(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Shape-only (meta) and real tensors cannot meet in one op: when any is shape-only,
    all are taken as shapes."""
    if any(x.device.type == "meta" for x in tensors):
        return [x.to("meta") for x in tensors]
    return list(tensors)


def broadcast_shape(shapes: Sequence[Sequence[int]]) -> list[int]:
    """torch's own broadcast of these shapes, with no memory and no slow import:
    torch.broadcast_shapes imports torch.fx (~0.5 s) and shape-only (meta) tensors load
    torch's Python meta kernels (~3 s) on first use. Zero-stride views of one scalar go
    through the same C++ broadcasting as `a + b`, and raise its RuntimeError."""
    import torch

    probes = [torch.zeros(()).expand(tuple(s)) for s in shapes]
    if not probes:
        return []
    return list(torch.broadcast_tensors(*probes)[0].shape)

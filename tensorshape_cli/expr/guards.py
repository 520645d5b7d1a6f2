"""The universal size guard: before an op runs, the sizes it would read and make are worked out
from the shapes alone, and more than --max-elements is refused (exit 2) before any memory is
taken. A spec that knows its result's shapes says so (`OpSpec.output_shapes`, cheap arithmetic);
for any other op torch itself works them out on shape-only (meta) copies of the inputs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.registry import Unfit
from tensorshape_cli.text import fmt_count, fmt_shape
from tensorshape_cli.torchmeta import to_meta

if TYPE_CHECKING:
    from tensorshape_cli.registry import Call, OpSpec, Shape

MAX_WORK = 10**10  # index combinations a product (matmul, einsum) may visit


def check(spec: OpSpec, call: Call, code: str) -> None:
    """InputError (exit 2) when the call would read or make more than the limit."""
    tensors = list(tensors_in((call.args, call.kwargs)))
    if any(x.device.type == "meta" for x in tensors):
        return  # shape-only: the op runs on shapes alone and allocates nothing
    limit = settings.current().max_elements
    shapes = None
    if spec.output_shapes is not None:
        try:
            shapes = spec.output_shapes(call)
        except (InputError, Unfit):
            raise
        except Exception:  # arguments the spec's arithmetic does not read: torch works it out
            shapes = None
    if shapes is None:
        shapes = output_shapes(call.fn, call.args, call.kwargs)
    # () known: a view or a plain value, nothing read; None unknown: torch judges, inputs bounded
    read = [] if shapes is not None and not shapes else [tuple(x.shape) for x in tensors]
    largest = max([*(shapes or []), *read], key=math.prod, default=None)
    if largest is not None and math.prod(largest) > limit:
        numel = fmt_count(math.prod(largest))
        raise InputError(
            t("expr.too_many", code=code, shape=fmt_shape(largest), numel=numel, limit=fmt_count(limit))
        )
    try:
        work = spec.work(call) if spec.work is not None else 0
    except (InputError, Unfit):
        raise
    except Exception:  # arguments its arithmetic does not read: torch refuses them when it runs
        work = 0
    if work > MAX_WORK:
        raise InputError(t("expr.einsum_work", code=code, work=fmt_count(work), limit=fmt_count(MAX_WORK)))


def output_shapes(
    fn: Callable[..., Any] | None, args: Sequence[Any], kwargs: dict[str, Any]
) -> list[Shape] | None:
    """The shapes torch gives on meta copies of the inputs (factories made on meta too; a layer
    built on meta, its parameters counted); None when torch cannot tell from shapes alone."""

    import torch

    from tensorshape_cli import torchmeta

    if fn is None:
        return None
    try:
        with torch.device("meta"), warnings.catch_warnings():  # factories are made on meta too
            warnings.simplefilter("ignore")
            if isinstance(fn, type):  # a layer built here: its parameters, made on meta, count
                return [tuple(x.shape) for x in tensors_in(fn(*to_meta(list(args)), **to_meta(kwargs)))]
            return torchmeta.output_shapes(fn, tuple(args), dict(kwargs))
    except torchmeta.Unsizable as e:  # data-dependent (nonzero, a mask): its bound, if one holds
        return [(e.bound,)] if e.bound is not None else None
    except Exception:  # refused on shapes alone: torch judges for real, the inputs bounded
        return None


def tensors_in(value: Any) -> Iterator[Any]:
    """Every tensor in a value: nested tuples, lists and dicts, and a layer's parameters."""
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors_in(v)
    elif isinstance(value, torch.nn.Module):
        yield from value.parameters()
        yield from value.buffers()

"""The failing call of a trace → an OpError (the fix), and the table behind it when there is one.

The one place that maps a recorded call to an explanation: the dedicated ops explain the
calls they know with the real tensors (F.linear and nn.Linear, view, reshape, matmul and @,
cat, stack, elementwise broadcasting, unsqueeze, squeeze, permute, transpose, expand,
flatten, sum, mean); anything else is torch's own message with a hint. A registry of op
specs can replace `explain` without the tracer changing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Explanation, OpError, Table
from tensorshape_cli.messages import t
from tensorshape_cli.tracing.recorder import Call, Failure

if TYPE_CHECKING:
    import torch

MATMUL = frozenset({"matmul", "__matmul__", "__rmatmul__", "mm", "bmm"})
ELEMENTWISE = frozenset(
    {
        *("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "rsub"),
        *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__"),
        *("__rtruediv__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "add_", "sub_", "mul_"),
        *("div_", "maximum", "minimum", "pow", "__pow__", "eq", "ne", "lt", "le", "gt", "ge"),
        *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "where"),
    }
)


def explain(failure: Failure) -> tuple[OpError, Table | None]:
    """The failure explained: by the op that fits the failing call, else torch's own words."""
    fallback = _fallback(failure.error)
    call = failure.call
    try:
        # a raise outside any torch call (a check in torch's module code, the user's own
        # raise) has no call to explain: torch's words, or the exception's
        sub = _dedicated(call) if call is not None and call.func is not None else None
    except (InputError, RuntimeError, TypeError, ValueError, IndexError, KeyError, AttributeError):
        sub = None
    if sub is None or sub.error is None:
        return fallback, None
    table = next((s.table for s in reversed(sub.steps) if s.table is not None), None)
    return sub.error, table


def _fallback(error: BaseException) -> OpError:
    from tensorshape_cli.ops._common import TORCH_ERRORS

    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, TORCH_ERRORS) and text:
        return OpError("torch_error", text, t("trace.hint.torch"))
    return OpError(
        "trace_raised",
        f"{type(error).__name__}: {text}" if text else type(error).__name__,
        t("trace.hint.raised"),
    )


def _dedicated(call: Call) -> Explanation | None:
    base = call.name.rsplit(".", 1)[-1]
    explainer = _EXPLAINERS.get(base)
    if explainer is not None:
        return explainer(call.raw_args, call.raw_kwargs)
    if base in MATMUL:
        a, b = _two(call.raw_args, call.raw_kwargs, "other")
        if base == "__rmatmul__":
            a, b = b, a
        from tensorshape_cli.ops import matmul

        return matmul.explain(a, b) if _tensor(a) and _tensor(b) else None
    if base in ELEMENTWISE:
        return _broadcast(call)
    return None


def _linear(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import linear

    x = args[0] if args else kwargs.get("input")
    weight = args[1] if len(args) > 1 else kwargs.get("weight")
    bias = args[2] if len(args) > 2 else kwargs.get("bias")
    if not (_tensor(x) and _tensor(weight)) or not (bias is None or _tensor(bias)):
        return None
    assert x is not None and weight is not None
    return linear.explain(x.detach(), weight.detach(), None if bias is None else bias.detach())


def _view(args: tuple[Any, ...], kwargs: dict[str, Any], method: str = "view") -> Explanation | None:
    from tensorshape_cli.ops import view

    x, shape = args[0], _sizes(args[1:], kwargs, "shape" if method == "reshape" else "size")
    error = view.shape_error(shape, x.numel())
    if error is None and method == "view" and not x.is_contiguous():
        error = view.stride_error(x, shape)
    return Explanation(op=method, call="", error=error) if error is not None else None


def _reshape(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    return _view(args, kwargs, "reshape")


def _unsqueeze(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import unsqueeze

    return unsqueeze.explain(_meta(args[0]), _one(args[1:], kwargs, "dim"))


def _squeeze(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import squeeze

    dims = _optional_dims(args[1:], kwargs)
    return squeeze.explain(_meta(args[0]), dims)


def _permute(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import permute

    return permute.explain_permute(_meta(args[0]), _sizes(args[1:], kwargs, "dims"))


def _transpose(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import permute

    rest = args[1:]
    d0 = rest[0] if rest else kwargs["dim0"]
    d1 = rest[1] if len(rest) > 1 else kwargs["dim1"]
    return permute.explain_transpose(_meta(args[0]), int(d0), int(d1))


def _expand(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import expand

    return expand.explain(_meta(args[0]), _sizes(args[1:], kwargs, "size"))


def _flatten(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
    from tensorshape_cli.ops import flatten

    rest = args[1:]
    start = rest[0] if rest else kwargs.get("start_dim", 0)
    end = rest[1] if len(rest) > 1 else kwargs.get("end_dim", -1)
    return flatten.explain(_meta(args[0]), int(start), int(end))


def _reduce(kind: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Explanation | None]:
    def explain_reduce(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
        from tensorshape_cli.ops import reduce

        rest = args[1:]
        dims = _optional_dims(rest[:1], {"dim": kwargs["dim"]} if "dim" in kwargs else {})
        keepdim = bool(rest[1]) if len(rest) > 1 else bool(kwargs.get("keepdim", False))
        return reduce.explain(_meta(args[0]), dims, keepdim, kind)

    return explain_reduce


def _join(kind: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Explanation | None]:
    def explain_join(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Explanation | None:
        from tensorshape_cli.ops import cat

        tensors = list(args[0] if args else kwargs["tensors"])
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        explainer = cat.explain_cat if kind == "cat" else cat.explain_stack
        return explainer([_meta(x) for x in tensors], int(dim), None)

    return explain_join


_EXPLAINERS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], Explanation | None]] = {
    "linear": _linear,
    "view": _view,
    "reshape": _reshape,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "permute": _permute,
    "transpose": _transpose,
    "swapaxes": _transpose,
    "expand": _expand,
    "flatten": _flatten,
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "cat": _join("cat"),
    "concat": _join("cat"),
    "concatenate": _join("cat"),
    "stack": _join("stack"),
}


def _broadcast(call: Call) -> Explanation | None:
    """a + b (and the other elementwise ops): the alignment table and the clashing dimension."""
    from tensorshape_cli.ops._broadcast import align, mismatch_error

    a, b = _two(call.raw_args, call.raw_kwargs, "other")
    shapes = [list(v.shape) if _tensor(v) else [] for v in (a, b)]
    alignment = align(shapes, ["a", "b"])
    if alignment.shape is not None:
        return None
    from tensorshape_cli.explanation import Step

    ex = Explanation(op="broadcast", call="", error=mismatch_error(alignment, ["a", "b"]))
    ex.steps.append(Step("", "", None, "", alignment.table))
    return ex


# --- reading arguments ---------------------------------------------------------------------


def _two(args: tuple[Any, ...], kwargs: dict[str, Any], second: str) -> tuple[Any, Any]:
    a = args[0] if args else kwargs.get("input")
    b = args[1] if len(args) > 1 else kwargs.get(second)
    return a, b


def _tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _meta(x: torch.Tensor) -> torch.Tensor:
    """The shapes are what the explanation needs: on the meta device no value is read again."""
    from tensorshape_cli.tensorfiles import shape_only

    return x if x.device.type == "meta" else shape_only(x)


def _sizes(rest: tuple[Any, ...], kwargs: dict[str, Any], key: str) -> list[int]:
    if len(rest) == 1 and not isinstance(rest[0], int):  # x.view((3, -1)), x.view(torch.Size(…))
        return [int(s) for s in rest[0]]
    if rest:
        return [int(s) for s in rest]
    return [int(s) for s in kwargs[key]]


def _one(rest: tuple[Any, ...], kwargs: dict[str, Any], key: str) -> int:
    return int(rest[0] if rest else kwargs[key])


def _optional_dims(rest: tuple[Any, ...], kwargs: dict[str, Any]) -> list[int] | None:
    value = rest[0] if rest else kwargs.get("dim")
    if value is None:
        return None
    return [int(d) for d in value] if isinstance(value, (tuple, list)) else [int(value)]

"""The failing call of a trace → an OpError (the fix), and the table behind it when there is one.

The registry finds the spec of the failing callable, as it does for expr and why, and the
spec explains the call with the user's own tensors (detached: nothing is recorded, nothing
changes); a call no spec but the generic one claims is torch's own message with a hint.
"""

from __future__ import annotations

from typing import Any

from tensorshape_cli.errors import InputError
from tensorshape_cli.explanation import Explanation, OpError, Table
from tensorshape_cli.messages import t
from tensorshape_cli.tracing.recorder import Call, Failure


def explain(failure: Failure) -> tuple[OpError, Table | None]:
    """The failure explained: by the op that fits the failing call, else torch's own words."""
    fallback = _fallback(failure.error)
    call = failure.call
    try:
        # a raise outside any torch call (a check in torch's module code, the user's own
        # raise) has no call to explain: torch's words, or the exception's
        sub = _by_registry(call) if call is not None and call.func is not None else None
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


def _by_registry(call: Call) -> Explanation | None:
    """The spec that claims the failing callable explains it, as expr and why ask it; an
    in-place call (`x += y`, `x.add_(y)`) by its pure twin, which fails the same way."""
    import torch

    from tensorshape_cli import registry

    func = _pure(call.func)
    spec = registry.for_callable(func)
    if spec is None or spec.family == "generic":
        return None  # the generic explanation of a failure is torch's message: the fallback's
    detached = _detached((call.raw_args, call.raw_kwargs))
    name = call.name.rsplit(".", 1)[-1]
    bound = registry.Call(func, name, tuple(detached[0]), dict(detached[1]), code=call.site.code)
    with torch.no_grad():
        return spec.explain(bound)


def _pure(func: Any) -> Any:
    import torch

    name = getattr(func, "__name__", "")
    if name.startswith("__i") and name.endswith("__"):  # __iadd__ → __add__
        return getattr(torch.Tensor, "__" + name[3:], func)
    if name.endswith("_") and not name.endswith("__"):  # add_ → add
        return getattr(torch.Tensor, name[:-1], func)
    return func


def _detached(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach()
    if type(value) in (list, tuple):  # torch.Size and named tuples hold no tensors
        return type(value)(_detached(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value

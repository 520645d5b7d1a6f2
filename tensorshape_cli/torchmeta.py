"""The universal size guard: the shapes of any call's result(s), worked out on meta tensors.

`output_shapes(fn, args, kwargs)` runs the call on shape-only (meta) copies of its tensor
arguments, nested in lists, tuples and dicts too, so every result's size is known before
anything runs on real data, whatever the op. nn modules are called as a meta copy of
themselves (their parameters and buffers on meta; nothing is copied).

Ops whose result size depends on the values (torch cannot size them on meta) follow one of
the rules in `_BOUNDS`: either an upper bound worked out from the inputs (returned as the
shapes, each dimension at its largest) or `Unsizable`, which names the op and, where one
holds, a bound on the result's elements. The rules, by op:

- nonzero, argwhere: (numel, ndim); as_tuple=True (and where(cond)): ndim × (numel,).
- masked_select: (numel of the broadcast of input and mask,).
- boolean-mask indexing x[mask] (Tensor.__getitem__): the mask's dims become one of at
  most mask.numel() positions; other indices as torch sizes them.
- unique, unique_consecutive: (numel,) or, with dim, the input's shape; inverse and counts
  at their largest likewise.
- repeat_interleave with a tensor of repeats: exact, from the repeats' sum (real repeats
  only; shape-only repeats are Unsizable).
- bincount: exact from the input's max (real input only), else Unsizable.
- anything else torch cannot size on meta: Unsizable(bound=None): no rule, refuse it or
  run it only where the caller knows its size.

Speed. The first meta op of a process costs seconds: torch's Python meta kernels import
sympy (for an isinstance test) and torch.fx.experimental.symbolic_shapes (for guards that,
on plain ints and bools, are the identity), and pass through `torch._disable_dynamo`
wrappers that import torch._dynamo on their first call. `fast_meta()` avoids all three,
while tshape runs its own meta computations only, and restores everything on exit:

- the wrapped functions' `__dynamo_disable` cache is pre-seeded with the function itself:
  disabling dynamo is the identity when dynamo is not running, and tshape never runs it;
- `sympy` and `torch.fx.experimental.symbolic_shapes`, when not yet imported, are stood in
  for by modules whose functions answer plain bools and ints as the real ones do (read
  from torch's source: guard_or_false(True) is True, is_nested_int(3) is False, …) and
  hand anything else, or any other name, to the real module, imported on first need.
  No sympy object can exist before sympy is imported, so `isinstance(x, sympy.Basic)` is
  False for every x until then.

tests/test_torchmeta.py proves it faithful: shapes, dtypes and error types and messages
are identical with and without it on torch's own op samples; benchmarks/meta.py times it.
"""

from __future__ import annotations

import copy
import functools
import importlib
import math
import operator
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Shape = tuple[int, ...]

SYMPY = "sympy"
SHAPES = "torch.fx.experimental.symbolic_shapes"


class Unsizable(Exception):
    """torch cannot work out this op's result size without its values.

    `bound` is an upper bound on the result's elements derived from the inputs when one
    holds, None when no rule is known (the caller must refuse the op or run it knowingly).
    """

    def __init__(self, op: str, bound: int | None = None) -> None:
        super().__init__(op, bound)
        self.op = op
        self.bound = bound


# --- the fast path --------------------------------------------------------------------------


class _StandIn(types.ModuleType):
    """A module in sys.modules in place of one not imported yet.

    `fast` answers some names while the real module is absent; every other name, and every
    name once the real module is loaded, comes from the real module.
    """

    def __init__(self, name: str, fast: dict[str, Any]) -> None:
        super().__init__(name)
        self._fast = fast

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        real = sys.modules.get(self.__name__)
        if real is None or isinstance(real, _StandIn):
            if attr in self._fast and _state.active:
                return self._fast[attr]
            real = _load_real(self.__name__)
        return getattr(real, attr)


class _State:
    depth = 0
    active = False  # stand-ins answer fast only while fast_meta() is active
    stand_ins: list[str] = []  # noqa: RUF012 - module-level singleton
    seeded: list[Any] = []  # noqa: RUF012


_state = _State()


def _load_real(name: str) -> types.ModuleType:
    """Give up the stand-ins (all of them: a real module must not bind one) and import."""
    _remove_stand_ins()
    return importlib.import_module(name)


def _remove_stand_ins() -> None:
    for name in _state.stand_ins:
        if isinstance(sys.modules.get(name), _StandIn):
            del sys.modules[name]
    _state.stand_ins = []


class _NoSympyObject:
    """sympy.Basic before sympy is imported: nothing can be an instance of it yet."""


def _real_fn(name: str) -> Callable[..., Any]:
    return getattr(_load_real(SHAPES), name)  # type: ignore[no-any-return]


def _plain_bool(name: str) -> Callable[..., Any]:
    """guard_or_false, statically_known_true, expect_true, …: a plain bool is its own answer."""

    def fast(a: Any, *rest: Any, **kwargs: Any) -> Any:
        if type(a) is bool:
            return a
        return _real_fn(name)(a, *rest, **kwargs)

    return fast


def _shape_fast() -> dict[str, Any]:
    def is_nested_int(s: Any) -> Any:
        if type(s) in (int, float, bool):
            return False
        return _real_fn("is_nested_int")(s)

    def has_guarding_hint(a: Any) -> Any:
        if type(a) in (int, float, bool):
            return True
        return _real_fn("has_guarding_hint")(a)

    def guarding_hint_or_throw(a: Any) -> Any:
        if type(a) in (int, bool):
            return a
        return _real_fn("guarding_hint_or_throw")(a)

    def guard_int(a: Any) -> Any:
        if type(a) is int:
            return a
        return _real_fn("guard_int")(a)

    def sym_eq(x: Any, y: Any) -> Any:
        if type(x) in (int, bool) and type(y) in (int, bool):
            return x == y
        if isinstance(x, (tuple, list)) and isinstance(y, (list, tuple)):
            if len(x) != len(y):
                return False
            return functools.reduce(operator.and_, map(sym_eq, x, y), True)
        return _real_fn("sym_eq")(x, y)

    def joined(name: str, op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        def fast(x: Any, *others: Any) -> Any:
            if all(type(v) is bool for v in (x, *others)):
                for y in others:
                    x = op(x, y)
                return x
            return _real_fn(name)(x, *others)

        return fast

    fast: dict[str, Any] = {
        name: _plain_bool(name)
        for name in (
            "guard_or_false",
            "guard_or_true",
            "statically_known_true",
            "expect_true",
            "guard_bool",
            "guard_size_oblivious",
        )
    }
    fast.update(
        is_nested_int=is_nested_int,
        has_guarding_hint=has_guarding_hint,
        guarding_hint_or_throw=guarding_hint_or_throw,
        guard_int=guard_int,
        sym_eq=sym_eq,
        sym_and=joined("sym_and", operator.and_),
        sym_or=joined("sym_or", operator.or_),
    )
    return fast


def _dynamo_disabled_functions() -> Iterator[Any]:
    """The functions torch wraps in `torch._disable_dynamo` on the meta kernels' paths.

    Found from the roots the dispatcher calls (the decomposition tables, whose entries
    torch._meta_registrations registers as Meta kernels) and the refs/prims modules,
    through `__wrapped__`, partials and closures.
    """
    import torch
    import torch._decomp

    inner_code = torch._disable_dynamo(_NoSympyObject).__code__
    roots: list[Any] = []
    for table in torch._decomp.global_decomposition_table.values():
        roots.extend(table.values())
    prefixes = ("torch._refs", "torch._prims", "torch._decomp", "torch._meta_registrations")
    for name, module in list(sys.modules.items()):
        if name.startswith(prefixes) and module is not None:
            roots.extend(v for v in vars(module).values() if callable(v))
    seen: set[int] = set()
    while roots:
        f = roots.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        if isinstance(f, functools.partial):
            roots.append(f.func)
            continue
        code = getattr(f, "__code__", None)
        if code is inner_code:
            cell = f.__closure__[code.co_freevars.index("fn")]
            yield cell.cell_contents
        wrapped = getattr(f, "__wrapped__", None)
        if wrapped is not None:
            roots.append(wrapped)
        for cell in getattr(f, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if callable(value) and not isinstance(value, type):
                roots.append(value)


@functools.cache
def _dynamo_disabled() -> tuple[Any, ...]:
    return tuple(_dynamo_disabled_functions())


@contextmanager
def fast_meta() -> Iterator[None]:
    """While active, meta kernels run without importing sympy or torch._dynamo (see above)."""
    if _state.depth:
        _state.depth += 1
        try:
            yield
        finally:
            _state.depth -= 1
        return
    import torch  # noqa: F401 - the stand-ins must not hide a torch import

    _state.depth = 1
    if "torch._dynamo" not in sys.modules:
        for fn in _dynamo_disabled():
            if getattr(fn, "__dynamo_disable", None) is None:
                setattr(fn, "__dynamo_disable", fn)  # the name torch reads
                _state.seeded.append(fn)
    for name, fast in ((SYMPY, {"Basic": _NoSympyObject}), (SHAPES, _shape_fast())):
        if name not in sys.modules:
            sys.modules[name] = _StandIn(name, fast)
            _state.stand_ins.append(name)
    _state.active = True
    try:
        yield
    finally:
        _state.active = False
        _remove_stand_ins()
        for seeded in _state.seeded:
            if getattr(seeded, "__dynamo_disable", None) is seeded:
                delattr(seeded, "__dynamo_disable")
        _state.seeded = []
        _state.depth = 0


# --- output shapes --------------------------------------------------------------------------


def output_shapes(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    """The shapes of every tensor `fn(*args, **kwargs)` returns, in order, without running it.

    Raises torch's exception when the call fails for these shapes (on meta: the message may
    differ from the CPU kernel's), and Unsizable when the size depends on the values and no
    upper bound is known. Data-dependent ops with a rule return their upper bound.
    """
    import torch

    with fast_meta():
        meta_fn = _meta_module(fn) if isinstance(fn, torch.nn.Module) else fn
        meta_args = to_meta(args)
        meta_kwargs = to_meta(kwargs)
        if "device" in meta_kwargs:
            meta_kwargs["device"] = "meta"
        meta_kwargs.pop("generator", None)  # a CPU generator cannot drive meta; shapes ignore it
        try:
            with torch.device("meta"):  # factories (zeros, arange, …) allocate nothing either
                result = meta_fn(*meta_args, **meta_kwargs)
        except (NotImplementedError, RuntimeError) as error:
            if not _meta_cannot(error):
                raise
            return _bounded(fn, args, kwargs)
        return [tuple(t.shape) for t in _tensors(result)]


def _meta_cannot(error: BaseException) -> bool:
    """torch says meta cannot run this op, as opposed to the op failing for these shapes."""
    if isinstance(error, NotImplementedError):
        return True
    text = str(error)
    return any(
        key in text
        for key in ("meta tensor", "Meta tensor", "'Meta' backend", "without output_size", "data-dependent")
    )


def to_meta(value: Any) -> Any:
    """Shape-only copies of the tensors in a value (nested lists, tuples, dicts), strides kept;
    an nn module as a copy whose parameters and buffers are meta, the layers it holds or built
    in its __init__ included (torch refuses a meta input against cpu weights)."""
    import torch

    if isinstance(value, torch.nn.Module):
        on_cpu = any(not x.is_meta for x in (*value.parameters(), *value.buffers()))
        return _meta_module(value) if on_cpu else value
    if isinstance(value, torch.Tensor):
        if value.is_meta:
            return value
        if value.layout != torch.strided:
            return value.to("meta")
        return torch.empty_strided(
            value.size(), value.stride(), dtype=value.dtype, device="meta", requires_grad=value.requires_grad
        )
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(to_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: to_meta(v) for k, v in value.items()}
    return value


def _meta_module(module: Any) -> Any:
    """A copy of the module whose parameters and buffers are meta (their data is not copied)."""
    import torch

    memo: dict[int, Any] = {}
    for p in module.parameters():
        memo[id(p)] = torch.nn.Parameter(p.to("meta"), requires_grad=p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = b.to("meta")
    return copy.deepcopy(module, memo)


def _tensors(result: Any) -> Iterator[Any]:
    import torch

    if isinstance(result, torch.Tensor):
        yield result
    elif isinstance(result, (list, tuple)):
        for item in result:
            yield from _tensors(item)
    elif isinstance(result, dict):
        for item in result.values():
            yield from _tensors(item)


# --- data-dependent ops ---------------------------------------------------------------------


def _name(fn: Any) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _bounded(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    rule = _BOUNDS.get(_name(fn))
    if rule is None:
        raise Unsizable(_name(fn))
    return rule(args, kwargs)


def _nonzero(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    x = _arg(args, kwargs, 0, "input")
    if _arg(args, kwargs, 99, "as_tuple", False):
        return [(x.numel(),)] * max(x.dim(), 1)
    return [(x.numel(), x.dim())]


def _where(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    x = _arg(args, kwargs, 0, "condition")
    return [(x.numel(),)] * max(x.dim(), 1)


def _masked_select(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    import torch

    x, mask = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "mask")
    return [(math.prod(torch.broadcast_shapes(x.shape, mask.shape)),)]


def _unique(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    x = _arg(args, kwargs, 0, "input")
    dim = kwargs.get("dim")
    out: Shape = (x.numel(),) if dim is None else tuple(x.shape)
    shapes = [out]
    if kwargs.get("return_inverse"):
        shapes.append(tuple(x.shape) if dim is None else (x.shape[dim],))
    if kwargs.get("return_counts"):
        shapes.append((x.numel(),) if dim is None else (x.shape[dim],))
    return shapes


def _repeat_interleave(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    import torch

    x = _arg(args, kwargs, 0, "input")
    repeats = _arg(args, kwargs, 1, "repeats")
    if repeats is None:  # repeat_interleave(repeats): the repeats are the input
        x, repeats = None, x
    if not isinstance(repeats, torch.Tensor) or repeats.is_meta:
        raise Unsizable("repeat_interleave")
    total = int(repeats.sum()) if repeats.numel() else 0
    if x is None:
        return [(total,)]
    dim = _arg(args, kwargs, 2, "dim")
    if dim is None:
        return [(total if repeats.numel() > 1 else x.numel() * total,)]
    shape = list(x.shape)
    shape[dim] = total if repeats.numel() > 1 else shape[dim] * total
    return [tuple(shape)]


def _bincount(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    x = _arg(args, kwargs, 0, "input")
    minlength = int(_arg(args, kwargs, 2, "minlength", 0))
    if x.is_meta:
        raise Unsizable("bincount")
    return [(max(int(x.max()) + 1 if x.numel() else 0, minlength),)]


def _getitem(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Shape]:
    """x[index] with boolean masks: each mask stands for at most mask.numel() positions."""
    import torch

    x, index = args[0], args[1]
    parts = index if isinstance(index, tuple) else (index,)
    if not any(isinstance(p, torch.Tensor) and p.dtype == torch.bool for p in parts):
        raise Unsizable("__getitem__")
    # A mask of k dims is the k long index tensors nonzero() gives it: size them at their largest.
    stand_in: list[Any] = []
    for p in parts:
        if isinstance(p, torch.Tensor) and p.dtype == torch.bool:
            stand_in.extend([torch.zeros(p.numel(), dtype=torch.long, device="meta")] * max(p.dim(), 1))
        else:
            stand_in.append(to_meta(p))
    with fast_meta():
        return [tuple(to_meta(x)[tuple(stand_in)].shape)]


_BOUNDS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], list[Shape]]] = {
    "nonzero": _nonzero,
    "argwhere": lambda a, k: [(_arg(a, k, 0, "input").numel(), _arg(a, k, 0, "input").dim())],
    "where": _where,
    "masked_select": _masked_select,
    "unique": _unique,
    "unique_consecutive": _unique,
    "repeat_interleave": _repeat_interleave,
    "bincount": _bincount,
    "__getitem__": _getitem,
}

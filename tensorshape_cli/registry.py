"""The one registry of op specs: name or torch callable → the spec that explains it.

Every front-end (a command, `expr`, `why`, `trace`) finds an op here, the same way. An op is
one module under `tensorshape_cli/ops/` (a dedicated op: view, unsqueeze, linear, …) or
`tensorshape_cli/ops/families/` (a family: pointwise, reduction, softmax, conv, …) that calls
`register(OpSpec(...))` at import time. Importing an op module costs no torch (torch is
imported inside its functions), so `load_all()` is cheap and `--help` can list the ops.

A spec names the torch callables it explains by dotted path (`"torch.Tensor.view"`,
`"torch.nn.functional.softmax"`); they are resolved only when a lookup by callable needs them,
after torch is imported. A callable no spec claims goes to the generic spec, which explains
any pure op correctly (inputs, output shape, dtype, stride, values).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorshape_cli import entry

if TYPE_CHECKING:
    from tensorshape_cli.explanation import Explanation

Shape = tuple[int, ...]
_MISSING: Any = object()

# Families, in the order the README and --help present them.
FAMILIES = (
    "dedicated",
    "pointwise",
    "reduction",
    "softmax",
    "shape",
    "indexing",
    "contraction",
    "conv",
    "normalization",
    "embedding",
    "loss",
    "attention",
    "layer",
    "generic",
)


@dataclass
class Call:
    """One call of a torch callable, bound to its values: what every front-end hands a spec.

    `args`/`kwargs` are the values torch receives (tensors, numbers, tuples, strings). `codes`
    are the source texts of the positional arguments as the user wrote them (`"x"`, `"3"`),
    and `keyword_codes` those of the keyword arguments, so explanations can name operands as
    the user did. `options` holds command-line choices that are not torch arguments (view's
    `--transpose`, linear's seed), read only by the spec of that command.
    """

    fn: Callable[..., Any] | None
    name: str  # as written: "x.view", "torch.cat", "F.softmax", "nn.Linear(4, 2)", "a + b"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    keyword_codes: dict[str, str] = field(default_factory=dict)
    code: str = ""  # the whole call as written: "x.view(3, -1)"
    options: Mapping[str, Any] = field(default_factory=dict)
    # For a positional argument written as a tuple or list literal, its elements' source
    # texts: torch.cat((x, y)) → {0: ["x", "y"]}, so cat can name its operands as written.
    element_codes: dict[int, list[str]] = field(default_factory=dict)
    _outcome: tuple[bool, Any] | None = field(default=None, repr=False, compare=False)

    def run(self) -> Any:
        """torch's own result for this call (raises as torch raises). Run once: the front-end
        and the spec share the one result, so a random op or a layer's initialisation draws
        from the generator once, as the user's script would."""
        if self._outcome is None:
            if self.fn is None:
                raise TypeError(f"{self.name} has no torch callable to run")
            try:
                self._outcome = (True, self.fn(*self.args, **self.kwargs))
            except Exception as e:
                self._outcome = (False, e)
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    @property
    def result_name(self) -> str:
        """The result's name in an explanation: y, as the notebook writes it, else the first of
        out, result, … that no operand is called (torch.where(c, x, y): y[1] would name two)."""
        inside = (c for codes in self.element_codes.values() for c in codes)
        taken = {*self.codes, *self.keyword_codes.values(), *inside}
        return next(
            n for n in ("y", "out", "result", *(f"y{i}" for i in range(len(taken) + 1))) if n not in taken
        )

    def arg(self, index: int, name: str, default: Any = _MISSING) -> Any:
        """The argument torch binds to parameter `name`, at position `index` or by keyword."""
        if index < len(self.args):
            return self.args[index]
        if name in self.kwargs:
            return self.kwargs[name]
        if default is _MISSING:
            raise TypeError(f"{self.name}() missing argument {name!r}")
        return default

    def only(self, *keywords: str) -> None:
        """TypeError for a keyword argument this spec does not explain: a front-end then
        hands the call to the generic spec, which is correct for any arguments."""
        unknown = sorted(set(self.kwargs) - set(keywords))
        if unknown:
            raise TypeError(f"{self.name}() keyword {unknown[0]!r} is not explained by this spec")

    def sizes(self, index: int, name: str) -> list[int]:
        """Sizes written as varargs or one sequence: view(3, -1), view((3, -1)), view(size=(3, -1))."""
        rest = self.args[index:]
        value: Any = rest[0] if len(rest) == 1 else rest
        if not rest:
            value = self.arg(index, name)
        return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)]

    def names(self, index: int, count: int) -> list[str]:
        """How the user wrote `count` operands from position `index` on (or the elements of the
        tuple written there): their codes, else a, b, c as torch's messages name them."""
        codes = self.element_codes.get(index) or self.codes[index : index + count]
        if len(codes) == count and all(codes):
            return list(codes)
        return [chr(ord("a") + i) if i < 26 else f"t{i}" for i in range(count)]


@dataclass(frozen=True)
class OpSpec:
    """What tshape knows about one op or family.

    - `explain(call)`: the whole explanation, success or failure (an OpError on the
      Explanation, with a hint that carries the fix), never raising for torch's errors.
    - `output_shapes(call)`: the shapes of the result(s) worked out from the inputs' shapes
      alone, before anything runs, so the limits are checked once, for every op. None: the
      universal guard works them out on shape-only (meta) copies of the inputs. An empty
      list: the op returns a view or a plain value, reading no element and allocating
      nothing (a stride-0 expand of any size is free).
    - `work(call)`: for products, the index combinations torch may visit, bounded too.
    - `targets`: dotted paths of the torch callables the spec explains.
    - `command`: the `tshape` command that explains it, when there is one.
    """

    name: str
    family: str
    explain: Callable[[Call], Explanation]
    targets: tuple[str, ...] = ()
    output_shapes: Callable[[Call], Sequence[Shape]] | None = None
    work: Callable[[Call], int] | None = None
    command: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""  # a message id: one line for --help and the README's family list

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r} for op {self.name!r}")


class Unfit(TypeError):
    """Raised by `output_shapes` when the arguments cannot be this op's at all (a tuple times a
    number, for Python's `*`): the call is explained as failing, and never run."""


def reads_nothing(call: Call) -> Sequence[Shape]:
    """`output_shapes` of an op that returns a view or a plain value: no element read or made."""
    return ()


_SPECS: dict[str, OpSpec] = {}
_BY_CALLABLE: dict[int, OpSpec] | None = None
_LOADED = False
OP_PACKAGES = ("tensorshape_cli.ops", "tensorshape_cli.ops.families")


def register(spec: OpSpec) -> OpSpec:
    """Add a spec; names and aliases are unique across the registry."""
    global _BY_CALLABLE
    for key in (spec.name, *spec.aliases):
        if key in _SPECS and _SPECS[key] is not spec:
            raise ValueError(f"op {key!r} is registered twice")
        _SPECS[key] = spec
    _BY_CALLABLE = None  # rebuilt on the next lookup by callable
    return spec


def load_all() -> None:
    """Import every op module once (no torch: op modules import it inside functions)."""
    global _LOADED
    if _LOADED:
        return
    if "torch" in sys.modules and entry.one_shot:
        # torch's import leaves about a million objects behind; the allocations that follow
        # would make Python's full collections walk them all (~0.1 s each, several per run).
        # Frozen, they are skipped for the rest of a process that runs one command.
        gc.freeze()
    for package_name in OP_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package_name}.{module.name}")
    _LOADED = True


def get(name: str) -> OpSpec:
    """The spec registered under this name or alias (KeyError when there is none)."""
    if name not in _SPECS and importlib.util.find_spec(f"{OP_PACKAGES[0]}.{name}") is not None:
        importlib.import_module(f"{OP_PACKAGES[0]}.{name}")  # most ops live in a module of their name
    if name not in _SPECS:
        load_all()
    return _SPECS[name]


def explain(name: str, *args: Any, options: Mapping[str, Any] | None = None, **kwargs: Any) -> Explanation:
    """The spec `name` explaining these torch arguments (and a command's own `options`):
    a command's one line."""
    return get(name).explain(Call(None, name, args, kwargs, options=options or {}))


def specs() -> Iterator[OpSpec]:
    """Every spec once, in registration order."""
    load_all()
    seen: set[int] = set()
    for spec in _SPECS.values():
        if id(spec) not in seen:
            seen.add(id(spec))
            yield spec


def for_callable(fn: Callable[..., Any]) -> OpSpec | None:
    """The spec that claims this torch callable, or None (the generic spec then explains it)."""
    global _BY_CALLABLE
    if _BY_CALLABLE is None:
        table: dict[int, OpSpec] = {}
        for spec in specs():
            for path in spec.targets:
                target = resolve(path)
                if target is not None:
                    table.setdefault(id(target), spec)
        _BY_CALLABLE = table
    return _BY_CALLABLE.get(id(_unwrap(fn)))


def resolve(path: str) -> Any | None:
    """`"torch.nn.functional.softmax"` → the object, or None when this torch lacks it."""
    module_name, _, rest = path.partition(".")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in rest.split(".") if rest else []:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return _unwrap(obj)


def _unwrap(fn: Any) -> Any:
    """A Python method looked up on an instance carries its function in __func__; front-ends
    look Tensor methods up on the class (`torch.Tensor.view`), the form targets name."""
    return getattr(fn, "__func__", fn)

"""The ops `tshape expr` may call: PyTorch's pure functional vocabulary, read from torch itself.

Nothing here is a hand list of ops. The candidates are what torch declares:

- functions: `torch.overrides.get_overridable_functions()` (the functions of torch,
  torch.nn.functional, torch.linalg, torch.special, torch.fft that take tensors), plus the
  factories torch lists as ignored by `__torch_function__` that are aten operators or
  `torch._C._VariableFunctions` (zeros, arange, randn, …);
- Tensor methods and properties: the same overridable table's `torch.Tensor` entries;
- nn layers: the `torch.nn.Module` subclasses torch.nn exports (containers that hold no
  forward excepted).

Each candidate is then classified from torch's metadata, in this order:

- in place: a name ending in `_` (`x.add_`, `F.relu_`), an in-place operator (`__iadd__`,
  `__setitem__`), or an aten operator all of whose non-`out` overloads write an input
  (`_schema.is_mutable`);
- files: a Python signature with a file parameter (`f`, `filename`, `path`: torch.load,
  torch.save) or an aten schema with a `filename` argument (from_file);
- global state: torch's own setters (`set_*`, `use_*`, seeds) and the Tensor methods that
  change autograd state rather than compute (`backward`, `register_*`, `retain_grad`);
- random (allowed, flagged): an aten overload tagged `nondeterministic_seeded`, or Python
  code (F.dropout, nn.Linear's initialisation) that calls such an op, found by following the
  names its code uses through torch's own modules. A call draws only when `Entry.draws`
  says so: dropout with a probability of 0 or training=False (sdpa's default dropout_p=0,
  nn.Dropout(0), F.rrelu's default training=False) draws nothing and needs no --seed.

`out=` and `inplace=True` are refused per call: `refused_kwargs`. The candidates are listed
once per process, on first use, after torch is imported (~10 ms); each path is judged on its
first lookup, its aten schemas read by name.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["function", "method", "property", "module"]

NAMESPACES = {
    "torch": "torch",
    "torch.functional": "torch",  # torch.split, torch.einsum, …: re-exported by torch
    "torch.nn.functional": "torch.nn.functional",
    "torch.linalg": "torch.linalg",
    "torch.special": "torch.special",
    "torch.fft": "torch.fft",
}
ATEN_PREFIX = {"torch.linalg": "linalg_", "torch.fft": "fft_", "torch.special": "special_"}
TENSOR = "torch.Tensor"
NN = "torch.nn"

# The spellings users write, longest first: the canonical prefix each stands for.
ALIASES = (
    ("nn.functional.", "torch.nn.functional."),
    ("torch.functional.", "torch."),
    ("functional.", "torch.nn.functional."),
    ("F.", "torch.nn.functional."),
    ("nn.", "torch.nn."),
    ("Tensor.", "torch.Tensor."),
    ("linalg.", "torch.linalg."),
    ("special.", "torch.special."),
    ("fft.", "torch.fft."),
)

# Refusal ids (tensorshape_cli/messages: the "vocab." block); each takes {name}.
INPLACE = "vocab.inplace"
OUT = "vocab.out"
INPLACE_KWARG = "vocab.inplace_kwarg"
FILES = "vocab.files"
STATE = "vocab.state"
RANDOM = "vocab.random"
NOT_AN_OP = "vocab.not_an_op"
ESCAPES = "vocab.escapes"

# Module classes that hold modules but have no forward of their own.
_NO_FORWARD = ("Module", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Container")
# Parameters that name a file to read or write; and `f: FileLike` (torch.load, torch.save).
_FILE_PARAMS = frozenset({"filename", "path", "file"})
# Tensor methods that change autograd state attached to the tensor instead of computing.
_AUTOGRAD_STATE = re.compile(r"^(backward|retain_grad|register_\w+)$")
# Tensor members that hand out what is not a tensor result to explain: the autograd graph
# (grad, grad_fn, data, which aliases the storage without autograd), storage and memory
# (storage, data_ptr, pin_memory, share_memory_), other libraries' objects (numpy, tolist,
# __dlpack__, cuda/ipu/… devices tshape does not have).
_ESCAPES = re.compile(
    r"^(data|grad|grad_fn|_base|storage|untyped_storage|typed_storage|data_ptr|numpy|tolist|"
    r"pin_memory|share_memory_|is_shared|cuda|ipu|xpu|mps|hpu|npu|mtia|dlpack|to_dlpack|"
    r"element_size|nbytes|itemsize|new_tensor|new_empty|new_empty_strided|as_subclass|"
    r"requires_grad|is_leaf|output_nr|_version|names|refine_names|rename|align_to|align_as)$"
)
# The parameters that turn dropout off: its probability (`p` only in a dropout's own
# signature: bernoulli's p is no switch), and a training flag.
_PROBABILITY = frozenset({"dropout_p", "dropout"})
_TRAINING = frozenset({"training", "train"})
# torch's global setters: seeds, defaults, threads, flags, grad mode, printing.
_GLOBAL_STATE = re.compile(r"^(set_\w+|use_\w+|manual_seed|seed|init_num_threads|autocast_\w+|clear_\w+)$")


@dataclass(frozen=True)
class Entry:
    """One allowed op: its canonical path, the torch object, what kind it is, and whether it
    draws random numbers (the caller allows it only with --seed)."""

    path: str
    fn: Any
    kind: Kind
    random: bool
    # For an op whose only draws are dropout's: its parameters that turn them off, with
    # their defaults (a probability of 0, training=False); () when every call draws.
    switches: tuple[tuple[str, Any], ...] = ()
    names: tuple[str, ...] = ()  # the parameters `switches` are bound among, in order

    def draws(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> bool:
        """Whether this call draws random numbers: dropout with p=0 (sdpa's default dropout_p,
        nn.Dropout(0)) or training=False (F.rrelu's default) draws none, and needs no seed."""
        if not self.random:
            return False
        if not self.switches:
            return True
        bound = dict(zip(self.names, args, strict=False)) | (kwargs or {})
        for name, default in self.switches:
            value = bound.get(name, default)
            off = value is False or value == 0 if name in _TRAINING else _is_zero(value)
            if off:
                return False
        return True


@dataclass(frozen=True)
class _Candidate:
    fn: Any
    kind: Kind
    aten: str  # the aten operator name it would be: torch.linalg.norm → linalg_norm
    # False: a torch function that takes no tensors (torch.load, torch.manual_seed): never
    # allowed, but refused with the reason when it has one, rather than unknown
    allowable: bool = True


def normalise(path: str) -> str:
    """The canonical dotted path of what the user wrote: F.softmax → torch.nn.functional.softmax,
    nn.Linear → torch.nn.Linear, torch.functional.split → torch.split."""
    path = path.strip()
    for alias, canonical in ALIASES:
        if path.startswith(alias):
            return canonical + path[len(alias) :]
    if path.startswith("torch.functional."):
        return "torch." + path[len("torch.functional.") :]
    return path


def lookup(path: str) -> Entry | None:
    """The allowed op at this path (after normalise), or None."""
    return _entry(normalise(path))


@functools.cache
def _entry(path: str) -> Entry | None:
    found = _allowed(path)
    if found is None:
        return None
    meta = _meta()
    # Whether it draws random numbers is worked out per op, on first lookup.
    if found.kind == "module":
        random = _module_is_random(found.fn, meta)
        # drawing only in forward (nn.Dropout, not nn.Linear's init): its p decides
        forward_only = random and not _module_is_random(found.fn, meta, _INIT)
        names = _init_parameters(found.fn) if forward_only else ()
        switches = tuple((n, d) for n, d in names if n in _PROBABILITY or n == "p")
        return Entry(path, found.fn, found.kind, random, switches, tuple(n for n, _ in names))
    random = meta.is_random(found.aten) or _code_is_random(found.fn, meta)
    params = _parameters(path) if random else ()
    dropout = "dropout" in found.aten
    switches = tuple(
        (n, d) for n, d in params if n in _PROBABILITY or n in _TRAINING or (dropout and n == "p")
    )
    return Entry(path, found.fn, found.kind, random, switches, tuple(n for n, _ in params))


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _init_parameters(cls: type) -> tuple[tuple[str, Any], ...]:
    """A layer's construction parameters and their defaults."""
    try:
        params = list(inspect.signature(cls).parameters.values())  # self left out
    except (TypeError, ValueError):
        return ()
    return tuple((p.name, None if p.default is inspect.Parameter.empty else p.default) for p in params)


def refusal(path: str) -> str | None:
    """For a torch name that exists but is refused, the message id saying why; else None.

    Random ops are allowed (Entry.random): the caller refuses them without --seed, with RANDOM.
    """
    path = normalise(path)
    verdict = _classify(path)
    if isinstance(verdict, _Candidate):
        return None
    if verdict is not None:
        return verdict
    return NOT_AN_OP if _exists(path) else None


def refused_kwargs(path: str, kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> str | None:
    """The refusal id for arguments that would write into a tensor: out=, inplace=True, and
    running statistics a normalization updates in training mode (F.batch_norm(x, mean, var,
    training=True) writes mean and var: aten's schemas do not mark it, so the arguments are
    bound by name, to the Python signature or the aten schema)."""
    if kwargs.get("out") is not None:
        return OUT
    if kwargs.get("inplace") is True:
        return INPLACE_KWARG
    if _updates_running_stats(normalise(path), args, kwargs):
        return INPLACE
    return None


def _updates_running_stats(path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    names = _parameter_names(path)
    if "running_mean" not in names and "running_var" not in names:
        return False
    bound = dict(zip(names, args, strict=False)) | kwargs
    stats = [bound.get(n) for n in ("running_mean", "running_var")]
    if all(s is None for s in stats):
        return False
    for flag, default in (("training", False), ("use_input_stats", True)):
        if flag in names and bool(bound.get(flag, default)):
            return True
    return False


@functools.cache
def _parameter_names(path: str) -> tuple[str, ...]:
    """The parameter names of an allowed function: its Python signature, else its aten schema."""
    return tuple(name for name, _ in _parameters(path))


@functools.cache
def _parameters(path: str) -> tuple[tuple[str, Any], ...]:
    """(name, default) of an allowed function's parameters, from its Python signature, else
    its aten schema (None: no default, or a default of None)."""
    found = _allowed(path)
    if found is None or found.kind != "function":
        return ()
    try:
        params = inspect.signature(found.fn).parameters.values()
        return tuple((p.name, None if p.default is inspect.Parameter.empty else p.default) for p in params)
    except (TypeError, ValueError):
        pass
    import torch

    packet = getattr(torch.ops.aten, found.aten, None)
    if packet is None or "default" not in packet.overloads():
        return ()
    return tuple((a.name, a.default_value) for a in packet.default._schema.arguments)


def allowed_paths() -> frozenset[str]:
    """Every allowed canonical path (for help, README counts and tests)."""
    return _paths()


@functools.cache
def _paths() -> frozenset[str]:
    return frozenset(path for path in _candidates() if isinstance(_classify(path), _Candidate))


def refused_paths() -> dict[str, str]:
    """Every refused candidate: path → refusal id (for tests and the README)."""
    verdicts = {path: _classify(path) for path in _candidates()}
    return {path: why for path, why in verdicts.items() if isinstance(why, str)}


def _exists(path: str) -> bool:
    from tensorshape_cli import registry

    return path.startswith("torch.") and registry.resolve(path) is not None


# --- building the set -----------------------------------------------------------------------


# A path's candidates are listed once per process (~10 ms); each is judged on first lookup
# (its aten schemas read by name), so that one expression does not judge all ~1700.


def _allowed(path: str) -> _Candidate | None:
    verdict = _classify(path)
    return verdict if isinstance(verdict, _Candidate) else None


@functools.cache
def _classify(path: str) -> _Candidate | str | None:
    """The allowed candidate at this path, else the refusal id of the first refused one, else
    None (not a candidate). Layers are always allowed."""
    refused: str | None = None
    for found in _candidates().get(path, ()):
        if isinstance(found, str):
            refused = refused or found
            continue
        why = None if found.kind == "module" else _why_refused(found.aten, found.fn, found.kind, _meta())
        if why is None and found.allowable:
            return found
        refused = refused or why
    return refused


@functools.cache
def _candidates() -> dict[str, tuple[_Candidate | str, ...]]:
    """path → what torch declares there, in the order it is judged (a refusal id: refused
    whatever else is there, as torch's global-state classes are)."""
    import torch

    found: dict[str, list[_Candidate | str]] = {}

    def add(path: str, candidate: _Candidate | str) -> None:
        found.setdefault(path, []).append(candidate)

    overridable = torch.overrides.get_overridable_functions()
    takes_tensors: set[int] = set()
    for namespace, functions in overridable.items():
        if namespace is torch.Tensor:
            for fn in functions:
                name = getattr(fn, "__name__", "")
                if name and not _private(name) and getattr(torch.Tensor, name, None) is not None:
                    add(f"{TENSOR}.{name}", _Candidate(getattr(torch.Tensor, name), "method", name))
        elif isinstance(namespace, types.ModuleType):
            takes_tensors.update(id(fn) for fn in functions)
        else:  # a Tensor property: the table's key is the descriptor
            name = getattr(namespace, "__name__", "")
            if name and not name.startswith("_") and getattr(torch.Tensor, name, None) is not None:
                add(f"{TENSOR}.{name}", _Candidate(namespace, "property", name))
    meta = _meta()
    ignored = torch.overrides.get_ignored_functions()
    factories = {id(fn) for fn in ignored}
    for fn in ignored:  # x.new_zeros(…), x.new_full(…): Tensor factories torch does not dispatch
        name = getattr(fn, "__name__", "")
        if name and not _private(name) and getattr(torch.Tensor, name, None) is fn and meta.has_op(name):
            add(f"{TENSOR}.{name}", _Candidate(fn, "method", name))
    variable_functions = torch._C._VariableFunctions
    for prefix in dict.fromkeys(NAMESPACES.values()):
        module = _public_module(prefix)
        for name, fn in vars(module).items():
            if _private(name) or not callable(fn):
                continue
            if isinstance(fn, type):  # torch.set_grad_enabled, torch.no_grad, … are classes
                if _GLOBAL_STATE.match(name):
                    add(f"{prefix}.{name}", STATE)
                continue
            aten = ATEN_PREFIX.get(prefix, "") + name  # torch.linalg.norm is aten::linalg_norm
            factory = id(fn) in factories and (hasattr(variable_functions, name) or meta.has_op(aten))
            # a function that takes no tensors is judged only to say why it is refused
            # (torch.relu_, torch.load, torch.set_default_dtype, …)
            add(f"{prefix}.{name}", _Candidate(fn, "function", aten, id(fn) in takes_tensors or factory))

    for name, cls in vars(torch.nn).items():
        if (
            isinstance(cls, type)
            and issubclass(cls, torch.nn.Module)
            and not _private(name)
            and name not in _NO_FORWARD
        ):
            found[f"{NN}.{name}"] = [_Candidate(cls, "module", name)]
    return {path: tuple(candidates) for path, candidates in found.items()}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@functools.cache
def _public_module(prefix: str) -> Any:
    import importlib

    return importlib.import_module(prefix)


def _why_refused(name: str, fn: Any, kind: Kind, meta: _AtenMeta) -> str | None:
    dunder = name.startswith("__") and name.endswith("__")
    if dunder:
        import torch

        op = name[3:-2]
        if name in ("__setitem__", "__setstate__", "__delitem__") or (
            name.startswith("__i") and hasattr(torch.Tensor, f"__{op}__") and op != ""
        ):
            return INPLACE
        return None
    if _GLOBAL_STATE.match(name) or (kind == "method" and _AUTOGRAD_STATE.match(name)):
        return STATE
    if kind in ("method", "property") and _ESCAPES.match(name):
        return ESCAPES
    if _file_signature(fn) or meta.reads_files(name):
        return FILES
    if name.endswith("_") or meta.only_mutating(name):
        return INPLACE
    return None


def _file_signature(fn: Any) -> bool:
    if not isinstance(fn, types.FunctionType):
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return any(
        name in _FILE_PARAMS or (name == "f" and ("IO[" in str(p.annotation) or "File" in str(p.annotation)))
        for name, p in params.items()
    )


@dataclass(frozen=True)
class _Schemas:
    """What aten's schemas of one operator name say, its overloads merged."""

    overloads: tuple[str, ...]
    pure: bool  # some non-out overload writes no input
    mutating: bool  # some non-out overload writes an input (is_mutable: an alias annotation Tensor(a!))
    files: bool  # some overload takes a filename


class _AtenMeta:
    """aten's operator schemas, read by name on first need (a few microseconds each)."""

    def __init__(self) -> None:
        self._schemas: dict[str, _Schemas] = {}
        self._random: dict[str, bool] = {}

    def schemas(self, name: str) -> _Schemas:
        known = self._schemas.get(name)
        if known is None:
            import torch

            found = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
            computing = [s for s in found if not _writes_out(s.overload_name)]
            known = _Schemas(
                overloads=tuple(s.overload_name for s in found),
                pure=any(not s.is_mutable for s in computing),
                mutating=any(s.is_mutable for s in computing),
                files="file" in name and any(a.name == "filename" for s in found for a in s.arguments),
            )
            self._schemas[name] = known
        return known

    def is_random(self, name: str) -> bool:
        """Some overload is tagged nondeterministic_seeded (looked up once per name)."""
        known = self._random.get(name)
        if known is None:
            import torch

            seeded = torch.Tag.nondeterministic_seeded
            get = torch._C._get_operation_overload
            overloads = self.schemas(name).overloads
            known = any(seeded in get(f"aten::{name}", overload)[2] for overload in overloads)
            self._random[name] = known
        return known

    def has_op(self, name: str) -> bool:
        known = self.schemas(name)
        return known.pure or known.mutating

    def only_mutating(self, name: str) -> bool:
        known = self.schemas(name)
        return known.mutating and not known.pure

    def reads_files(self, name: str) -> bool:
        return self.schemas(name).files


def _writes_out(overload: str) -> bool:
    return overload == "out" or overload.endswith("_out")


@functools.cache
def _meta() -> _AtenMeta:
    return _AtenMeta()


def _code_is_random(fn: Any, meta: _AtenMeta, depth: int = 3) -> bool:
    """Python code that calls a seeded aten op, following the names it uses (F.dropout →
    _VF.dropout; nn.init.xavier_uniform_ → _no_grad_uniform_ → tensor.uniform_)."""
    fn = inspect.unwrap(fn) if callable(fn) else fn
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    if _names_are_random(code, getattr(fn, "__globals__", {}), meta, depth, set()):
        return True
    # boolean_dispatch (F.max_pool2d, F.fractional_max_pool2d) picks one of the functions it closes over
    for cell in getattr(fn, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, types.FunctionType) and depth > 0 and _code_is_random(value, meta, depth - 1):
            return True
    return False


def _names_are_random(
    code: types.CodeType, globals_: dict[str, Any], meta: _AtenMeta, depth: int, seen: set[int]
) -> bool:
    if id(code) in seen:
        return False
    seen.add(id(code))
    import torch.nn.functional
    import torch.nn.init

    # names reached as attributes (F.dropout1d in nn.Dropout1d.forward) are looked up there
    spaces = (vars(torch.nn.init), vars(torch.nn.functional))
    for name in _code_names(code):
        if meta.is_random(name):
            return True
        if depth <= 0:
            continue
        target = globals_.get(name) or next((s[name] for s in spaces if name in s), None)
        target_code = getattr(target, "__code__", None)
        if (
            isinstance(target, types.FunctionType)
            and target_code is not None
            and _names_are_random(target_code, target.__globals__, meta, depth - 1, seen)
        ):
            return True
    return False


def _code_names(code: types.CodeType) -> Iterable[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


_INIT = ("__init__", "reset_parameters", "_reset_parameters")


def _module_is_random(
    cls: type, meta: _AtenMeta, methods: tuple[str, ...] = (*_INIT, "forward"), seen: set[type] | None = None
) -> bool:
    """A layer whose construction (parameter initialisation) or call draws random numbers;
    with methods=_INIT, its construction alone (the layers it builds: any of their draws)."""
    import torch

    seen = set() if seen is None else seen
    if cls in seen:
        return False
    seen.add(cls)
    for method in methods:
        fn = getattr(cls, method, None)
        if fn is None or getattr(torch.nn.Module, method, None) is fn:
            continue
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        if _names_are_random(code, fn.__globals__, meta, 3, set()):
            return True
        for name in _code_names(code):  # layers it builds (Transformer → Linear, …)
            sub = fn.__globals__.get(name)
            is_layer = isinstance(sub, type) and issubclass(sub, torch.nn.Module) and sub is not cls
            if is_layer and _module_is_random(sub, meta, seen=seen):  # type: ignore[arg-type]
                return True
    return False

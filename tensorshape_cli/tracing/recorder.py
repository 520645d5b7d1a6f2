"""Recording the torch calls a piece of code makes, as plain data.

torch.overrides.TorchFunctionMode sees every call into torch's Python API: functions, Tensor
methods and properties, operators and indexing. While our handler runs, torch has taken the
mode off its stack, so the calls a recorded call makes below it are never seen: each record
is the outermost call. Global module hooks (forward pre-hook and an always-called forward
hook) keep a stack of the modules being called, which gives every call its module path
(`features.3`, from named_modules of the outermost module called) and lets a module torch
defines be one step.
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import os
import sys
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings as settings_mod
from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import TensorInfo

if TYPE_CHECKING:
    import torch

MAX_CALLS = 10_000  # records kept; later calls are counted only (memory stays bounded)
MAX_VALUES = 1_000_000  # values kept over the whole trace; beyond, shapes only

# How a frame's file is classed when looking for the user's line.
USER, OURS, TORCH, TORCH_MODULES = 0, 1, 2, 3


@dataclass
class Arg:
    """A tensor argument of a call: its name in the signature, shape, dtype and stride."""

    name: str
    shape: list[int]
    dtype: str
    stride: list[int]


@dataclass
class Site:
    """Where the user's code made a call: the file, the line and the line as written."""

    file: str
    line: int
    code: str


@dataclass
class Call:
    name: str  # F.linear, Tensor.view, torch.cat
    args: list[Arg]
    site: Site
    output: TensorInfo | None = None
    more_outputs: list[list[int]] = field(default_factory=list)  # shapes of the other tensors returned
    module: Node | None = None
    error: BaseException | None = None
    # Kept for the failing call only, to explain it with the real tensors.
    func: Any = None
    raw_args: tuple[Any, ...] = ()
    raw_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Node:
    """One call of a module; the outermost node (path None) stands for code outside any module."""

    path: str | None
    cls: str
    site: Site | None = None
    torch_defined: bool = False  # one step: torch's code inside is not shown
    inputs: list[Arg] = field(default_factory=list)
    output: TensorInfo | None = None
    more_outputs: list[list[int]] = field(default_factory=list)
    children: list[Call | Node] = field(default_factory=list)
    inner: list[Call] = field(default_factory=list)  # calls torch's own module code made
    error: BaseException | None = None
    done: bool = False
    module: Any = None  # the nn.Module itself, to explain a failure with its parameters

    @property
    def depth(self) -> int:
        if self.path is None:
            return -1
        return 0 if self.path == "" else self.path.count(".") + 1


@dataclass
class Failure:
    """Where the traced code raised: the failing call when torch raised inside one, else the
    innermost module that did not return, else the user's line from the traceback."""

    error: BaseException
    site: Site | None
    call: Call | None = None
    node: Node | None = None


class Recorder:
    def __init__(self, settings: settings_mod.Settings | None = None) -> None:
        self.settings = settings or settings_mod.current()
        # one run with the code that records: its hooks resume it (settings_mod.use)
        self.memo = settings_mod.memo() if settings is None else settings_mod.Memo()
        self.root = Node(path=None, cls="")
        self._stack: list[tuple[Node, int]] = [(self.root, 0)]
        self._paths: dict[int, tuple[Any, str]] = {}
        self._classes: dict[str, int] = {}
        self._busy = False
        self._handles: list[Any] = []
        self._mode: Any = None
        self._failed_calls: list[Call] = []
        self._failed_nodes: list[Node] = []
        self.calls = 0
        self.dropped = 0
        self.values = 0
        self.failure: Failure | None = None

    # --- start and stop --------------------------------------------------------------------

    def start(self) -> None:
        from torch.nn.modules import module as nn_module

        self._handles = [
            nn_module.register_module_forward_pre_hook(self._enter_module),
            nn_module.register_module_forward_hook(self._leave_module, always_call=True),
        ]
        self._mode = _mode_class()(self)
        self._mode.__enter__()

    def stop(self, error: BaseException | None) -> None:
        """Stop recording; `error` is what the traced code raised (None when it returned)."""
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if error is not None and not isinstance(error, KeyboardInterrupt):
            self.failure = self._failure(error)

    def _failure(self, error: BaseException) -> Failure:
        call = next((c for c in reversed(self._failed_calls) if c.error is error), None)
        if call is not None:
            return Failure(error, call.site, call=call, node=call.module)
        node = next((n for n in self._failed_nodes if n.error is error), None)
        if node is not None:
            return Failure(error, node.site, node=node)
        return Failure(error, _site_of_traceback(error.__traceback__))

    # --- torch calls ---------------------------------------------------------------------

    def on_call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._busy:
            return func(*args, **kwargs)
        try:
            out = func(*args, **kwargs)
        except Exception as e:
            self._record(func, args, kwargs, None, e)
            raise
        if _first_tensor(out) is not None:
            self._record(func, args, kwargs, out, None)
        return out

    def _record(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, error: Exception | None
    ) -> None:
        self._busy = True
        try:
            with settings_mod.use(self.settings, self.memo):
                self._add(func, args, kwargs, out, error)
        finally:
            self._busy = False

    def _add(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, error: Exception | None
    ) -> None:
        node = self._stack[-1][0]
        site, via_module_code = _user_site(sys._getframe(1))
        if not node.torch_defined and via_module_code and error is None:
            return  # torch's module code outside a forward: a layer's __init__, .to(), …
        if self.calls >= MAX_CALLS and error is None:
            self.dropped += 1
            return
        self.calls += 1
        call = Call(call_name(func), tensor_args(func, args, kwargs), site, module=node, error=error)
        if error is not None:
            call.func, call.raw_args, call.raw_kwargs = func, args, kwargs
            self._failed_calls.append(call)
        elif not node.torch_defined:  # an inner call's output is the module's, shown there
            call.output, call.more_outputs = self._outputs(out)
        (node.inner if node.torch_defined else node.children).append(call)

    def _outputs(self, out: Any) -> tuple[TensorInfo | None, list[list[int]]]:
        tensors = _tensors(out)
        if not tensors:
            return None, []
        first = info(tensors[0])
        first.preview = None  # a step of a trace shows its values when few, else their summary
        if first.values is not None:
            self.values += tensors[0].numel()
            if self.values > MAX_VALUES:
                first.values = None
        # describe.summary remembers each tensor it summarised (holding it): not across calls
        self.memo.summaries.clear()
        return first, [list(t.shape) for t in tensors[1:]]

    # --- modules ----------------------------------------------------------------------------

    def _enter_module(self, module: Any, args: tuple[Any, ...]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            parent = self._stack[-1][0]
            if parent.torch_defined:  # a module inside torch's own: part of that one step
                self._stack.append((parent, id(module)))
                return
            node = Node(
                path=self._path(module),
                cls=type(module).__name__,
                site=_user_site(sys._getframe(1))[0],
                torch_defined=_torch_defined(module),
                inputs=tensor_args(None, args, {}, prefix="input"),
                module=module,
            )
            parent.children.append(node)
            self._stack.append((node, id(module)))
        finally:
            self._busy = False

    def _leave_module(self, module: Any, args: tuple[Any, ...], output: Any) -> None:
        if self._busy:
            return
        while len(self._stack) > 1 and self._stack[-1][1] != id(module):
            self._stack.pop()  # defensive: a hook torch skipped
        if len(self._stack) == 1:
            return
        node, _ = self._stack.pop()
        if node is self._stack[-1][0]:  # an inner module of a torch-defined one
            return
        error = sys.exc_info()[1]
        if output is None and error is not None:  # torch calls this hook on the way out of a raise
            node.error = error
            self._failed_nodes.append(node)
            return
        self._busy = True
        try:
            with settings_mod.use(self.settings, self.memo):
                node.output, node.more_outputs = self._outputs(output)
        finally:
            self._busy = False
        node.done = True

    def _path(self, module: Any) -> str:
        found = self._paths.get(id(module))
        if found is not None and found[0] is module:
            return found[1]
        parent = next((n for n, _ in reversed(self._stack) if n.path is not None), None)
        if parent is None:  # the outermost module called: its tree names every module in it
            for path, sub in module.named_modules():
                self._paths.setdefault(id(sub), (sub, path))
            return self._paths[id(module)][1]
        # a module outside its caller's tree (made on the fly): named by its class
        path = (parent.path + "." if parent.path else "") + type(module).__name__
        self._paths[id(module)] = (module, path)
        return path


def _mode_class() -> type:
    """The TorchFunctionMode subclass, defined when torch is first needed (never at import)."""
    global _MODE
    if _MODE is None:
        from torch.overrides import TorchFunctionMode

        class _Mode(TorchFunctionMode):
            def __init__(self, recorder: Recorder) -> None:
                super().__init__()
                self.recorder = recorder

            def __torch_function__(
                self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
            ) -> Any:
                return self.recorder.on_call(func, args, kwargs or {})

        _MODE = _Mode
    return _MODE


_MODE: type | None = None


# --- naming calls and arguments ------------------------------------------------------------------

_NAMES: dict[Any, str] = {}
_SIGNATURES: dict[Any, inspect.Signature | None] = {}


def call_name(func: Any) -> str:
    """How the code spells the call: F.linear, torch.cat, Tensor.view, Tensor.T."""
    try:
        return _NAMES[func]
    except (KeyError, TypeError):
        pass
    import torch
    import torch.nn.functional as F

    name = getattr(func, "__name__", None) or type(func).__name__
    qualname = getattr(func, "__qualname__", "") or ""
    if name == "__get__":  # a property: x.T, x.mT, x.data
        owner = getattr(func, "__self__", None)
        text = "Tensor." + str(getattr(owner, "__name__", name))
    elif getattr(F, name, None) is func:
        text = "F." + name
    elif getattr(torch, name, None) is func:
        text = "torch." + name
    elif qualname.startswith(("TensorBase.", "Tensor.")) or getattr(torch.Tensor, name, None) is func:
        text = "Tensor." + name
    else:
        text = f"{getattr(func, '__module__', None) or 'torch'}.{name}"
    with contextlib.suppress(TypeError):
        _NAMES[func] = text
    return text


def _signature(func: Any) -> inspect.Signature | None:
    try:
        return _SIGNATURES[func]
    except (KeyError, TypeError):
        pass
    sig: inspect.Signature | None = None
    stand_in = _overrides().get(func) if func is not None else None
    for candidate in (stand_in, func):
        if candidate is None:
            continue
        try:
            sig = inspect.signature(candidate)
            break
        except (TypeError, ValueError):
            continue
    with contextlib.suppress(TypeError):
        _SIGNATURES[func] = sig
    return sig


_OVERRIDES: dict[Any, Any] | None = None


def _overrides() -> dict[Any, Any]:
    """torch's own table of every overridable function with a stand-in of its signature
    (~10 ms once): it names the arguments of C functions, which inspect cannot read."""
    global _OVERRIDES
    if _OVERRIDES is None:
        from torch.overrides import get_testing_overrides

        _OVERRIDES = get_testing_overrides()
    return _OVERRIDES


def tensor_args(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], prefix: str = "") -> list[Arg]:
    """The tensors among a call's arguments, named as its signature names them."""
    named: list[tuple[str, Any]] = []
    sig = _signature(func) if func is not None else None
    bound = None
    if sig is not None:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            bound = None
    if bound is not None:
        named = list(bound.arguments.items())
    else:
        first = prefix or "input"
        named = [
            (first if i == 0 else f"{first}[{i}]" if prefix else f"arg{i}", a) for i, a in enumerate(args)
        ]
        named += list(kwargs.items())
    found: list[Arg] = []
    for name, value in named:
        if _is_tensor(value):
            found.append(_arg(name, value))
        elif isinstance(value, (list, tuple)):
            found += [_arg(f"{name}[{i}]", v) for i, v in enumerate(value) if _is_tensor(v)]
    return found


def _arg(name: str, t: torch.Tensor) -> Arg:
    return Arg(name, list(t.shape), dtype_name(t.dtype), list(t.stride()))


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _tensors(out: Any) -> list[torch.Tensor]:
    """The tensors a call returned: itself, or those in a tuple/list, one level nested
    (nn.LSTM returns (output, (h, c)))."""
    if _is_tensor(out):
        return [out]
    found: list[torch.Tensor] = []
    if isinstance(out, (tuple, list)):
        for item in out:
            if _is_tensor(item):
                found.append(item)
            elif isinstance(item, (tuple, list)):
                found += [v for v in item if _is_tensor(v)]
    return found


def _first_tensor(out: Any) -> torch.Tensor | None:
    tensors = _tensors(out)
    return tensors[0] if tensors else None


def _torch_defined(module: Any) -> bool:
    """A module whose class torch defines is one step; its containers are see-through."""
    from torch import nn

    if isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        return False
    return type(module).__module__.split(".", 1)[0] == "torch"


# --- the user's line ---------------------------------------------------------------------------

_KINDS: dict[str, int] = {}


def _kind(filename: str) -> int:
    kind = _KINDS.get(filename)
    if kind is None:
        import torch

        import tensorshape_cli

        torch_dir = os.path.dirname(torch.__file__) + os.sep
        ours = os.path.dirname(tensorshape_cli.__file__) + os.sep
        if filename.startswith(ours):
            kind = OURS
        elif filename.startswith(torch_dir):
            rest = filename[len(torch_dir) :].replace(os.sep, "/")
            module_code = rest.startswith(("nn/modules/", "nn/utils/")) or rest in (
                "nn/init.py",
                "nn/parameter.py",
            )
            kind = TORCH_MODULES if module_code else TORCH
        else:
            kind = USER
        _KINDS[filename] = kind
    return kind


def _user_site(frame: FrameType | None) -> tuple[Site, bool]:
    """The innermost frame outside torch and tshape; and whether torch's module code (a
    layer's __init__, Module.to) stands between it and the call."""
    via_module_code = False
    last = frame
    while frame is not None:
        kind = _kind(frame.f_code.co_filename)
        if kind == USER:
            return _site(frame.f_code.co_filename, frame.f_lineno), via_module_code
        via_module_code = via_module_code or kind == TORCH_MODULES
        last = frame
        frame = frame.f_back
    if last is None:
        return Site("", 0, ""), via_module_code
    return _site(last.f_code.co_filename, last.f_lineno), via_module_code


def _site(filename: str, line: int) -> Site:
    return Site(filename, line, linecache.getline(filename, line).strip())


def _site_of_traceback(tb: TracebackType | None) -> Site | None:
    """The last line of the user's code the exception went through."""
    found = None
    while tb is not None:
        if _kind(tb.tb_frame.f_code.co_filename) == USER:
            found = _site(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found

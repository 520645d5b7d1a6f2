"""`tshape trace FILE.py:NAME`: load the user's file as Python imports it, call NAME, record.

The file runs exactly as `python FILE.py` would import it: its directory first on sys.path,
its module-level code run, its `if __name__ == "__main__":` block not. This is the user's own
code; it is the only place tshape runs code, and never from a batch file.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import keyword
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.text import first_line

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.explanation import Explanation
    from tensorshape_cli.runner import Loader


def explain_target(
    spec: str, inputs: list[str], init: str | None, depth: int | None, load: Loader
) -> Explanation:
    from tensorshape_cli.describe import info
    from tensorshape_cli.ops._common import shape_only_if_any
    from tensorshape_cli.tracing import steps
    from tensorshape_cli.tracing.recorder import Recorder, _first_tensor

    path, name = split_spec(spec)
    kwargs = parse_init(init)
    given = [parse_input(text) for text in inputs]
    seen: set[str] = set()
    for key, _ in given:
        if key is not None and key in seen:
            raise InputError(t("trace.input_twice", name=key))
        seen.add(key or "")
    # the inputs are read before any of the user's code runs: a bad one is exit 2 at once
    tensors = [load(text, key or f"-i {i + 1}") for i, (key, text) in enumerate(given)]
    tensors = shape_only_if_any(*tensors)
    meta = any(x.device.type == "meta" for x in tensors)
    with _importable(path) as module:
        target, label = _resolve(module, name, path, kwargs, init, meta)
        positional = [x for (key, _), x in zip(given, tensors, strict=True) if key is None]
        named = {key: x for (key, _), x in zip(given, tensors, strict=True) if key is not None}
        names = _bind(target, label, positional, named)
        recorder = Recorder()
        out, error = _run(recorder, target, positional, named, meta)
    first = _first_tensor(out) if error is None else None
    return steps.build(
        recorder,
        call=f"{label}({', '.join(names)})",
        inputs={n: info(x) for n, x in zip(names, [*positional, *named.values()], strict=True)},
        result=info(first) if first is not None else None,
        depth=depth,
    )


def split_spec(spec: str) -> tuple[Path, str]:
    file, sep, name = spec.rpartition(":")
    if not sep or not file.lower().endswith(".py") or not name.isidentifier():
        raise InputError(t("trace.spec", spec=spec))
    path = Path(file).expanduser()
    if not path.is_file():
        raise InputError(t("trace.no_file", path=file))
    return path, name


def parse_init(text: str | None) -> dict[str, Any]:
    """--init 'num_classes=10, hidden=64': keyword arguments whose values are Python
    literals, read with ast.literal_eval (never eval)."""
    if text is None or not text.strip():
        return {}
    try:
        tree = ast.parse(f"_({text})", mode="eval")
    except SyntaxError:
        raise InputError(t("trace.init", init=text)) from None
    call = tree.body
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise InputError(t("trace.init", init=text))
    values: dict[str, Any] = {}
    for kw in call.keywords:
        try:
            values[str(kw.arg)] = ast.literal_eval(kw.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            raise InputError(
                t("trace.init_value", name=kw.arg, value=ast.get_source_segment(f"_({text})", kw.value))
            ) from None
    return values


def parse_input(text: str) -> tuple[str | None, str]:
    """-i x=TENSOR (by name) or -i TENSOR (positional)."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if sep and key.isidentifier() and not keyword.iskeyword(key):
        if not rest.strip():
            raise InputError(t("trace.input_empty", name=key))
        return key, rest
    return None, text


@contextlib.contextmanager
def _importable(path: Path) -> Iterator[ModuleType]:
    """The file imported as `import stem` would, its directory first on sys.path, the user's
    prints on stderr (stdout is tshape's: its JSON stays parseable)."""
    directory = str(path.resolve().parent)
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "__tshape_trace__"
    previous = sys.modules.get(name)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputError(t("trace.no_file", path=str(path)))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # as an import does: dataclasses and pickling look it up there
        try:
            with contextlib.redirect_stdout(sys.stderr):
                spec.loader.exec_module(module)
        except SyntaxError as e:
            raise InputError(t("trace.syntax", path=str(path), line=e.lineno or 0, error=e.msg)) from None
        except Exception as e:
            raise InputError(
                t("trace.import_failed", path=str(path), type=type(e).__name__, message=first_line(e))
            ) from None
        yield module
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(directory)


def _resolve(
    module: ModuleType, name: str, path: Path, kwargs: dict[str, Any], init: str | None, meta: bool
) -> tuple[Any, str]:
    """NAME → what to call: a function, an nn.Module subclass constructed (under the meta
    device when shape-only), or a module-level instance (moved to meta when shape-only)."""
    import torch
    from torch import nn

    if not hasattr(module, name):
        known = sorted(k for k, v in vars(module).items() if not k.startswith("_") and _traceable(v, module))
        raise InputError(t("trace.no_name", name=name, path=str(path), known=", ".join(known) or "-"))
    target = getattr(module, name)
    if isinstance(target, type) and issubclass(target, nn.Module):
        label = f"{name}({init.strip() if init else ''})"
        try:
            with (
                torch.device("meta") if meta else contextlib.nullcontext(),
                contextlib.redirect_stdout(sys.stderr),
            ):
                return target(**kwargs), label
        except Exception as e:
            raise InputError(
                t("trace.construct", call=label, type=type(e).__name__, message=first_line(e))
            ) from None
    if init is not None:
        raise InputError(t("trace.init_class", name=name))
    if isinstance(target, nn.Module):
        return (target.to("meta") if meta else target), name
    if isinstance(target, type) or not callable(target):
        raise InputError(t("trace.not_callable", name=name, path=str(path)))
    return target, name


def _traceable(value: Any, module: ModuleType) -> bool:
    from torch import nn

    if isinstance(value, nn.Module):
        return True
    if isinstance(value, type):
        return issubclass(value, nn.Module) and value.__module__ == module.__name__
    return inspect.isfunction(value) and value.__module__ == module.__name__


def _bind(target: Any, label: str, positional: list[Any], named: dict[str, Any]) -> list[str]:
    """The parameter names the inputs bind to, in order: a mismatch is exit 2 before running."""
    try:
        sig = inspect.signature(target.forward if hasattr(target, "forward") else target)
    except (TypeError, ValueError):
        return [f"x{i}" for i in range(len(positional))] + list(named)
    try:
        bound = sig.bind(*positional, **named)
    except TypeError as e:
        params = ", ".join(sig.parameters)
        raise InputError(t("trace.bind", call=label, error=str(e), params=params)) from None
    by_id = {id(v): k for k, v in bound.arguments.items() if not isinstance(v, (tuple, dict))}
    names = [by_id.get(id(x), f"x{i}") for i, x in enumerate(positional)]
    return names + list(named)


def _run(
    recorder: Any, target: Any, positional: list[torch.Tensor], named: dict[str, torch.Tensor], meta: bool
) -> tuple[Any, BaseException | None]:
    import torch

    error: BaseException | None = None
    out = None
    device = torch.device("meta") if meta else contextlib.nullcontext()
    with device, contextlib.redirect_stdout(sys.stderr):
        recorder.start()
        try:
            out = target(*positional, **named)
        except (Exception, SystemExit) as e:  # the user's code raised: recorded, explained, exit 1
            error = e
        except BaseException as e:
            recorder.stop(e)
            raise
        recorder.stop(error)
    return out, error

"""Tensor files → torch.Tensor: `.npy`, `.pt`/`.pth` and `.safetensors`, never running code.

`torch.load` runs only with `weights_only=True` and `numpy.load` only with
`allow_pickle=False`: a file that holds anything but tensors, numbers and containers is
refused (exit 2) before any of its code could run. Files are opened lazily (memory-mapped,
or the safetensors header alone), so listing a large checkpoint, or reading one tensor of
it, never reads the rest, and element limits are checked before a tensor's data is read.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.text import fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

SUFFIXES = (".npy", ".pt", ".pth", ".safetensors")
KINDS = {".npy": "npy", ".pt": "pt", ".pth": "pt", ".safetensors": "safetensors"}
# A legacy (non-zip) .pt file cannot be memory-mapped and is read whole: keep it bounded.
MAX_LEGACY_BYTES = 512 * 1024 * 1024
MAX_KEYS_SHOWN = 8
_WITH_KEY = re.compile(r"^(.+?\.(?:npy|pth|pt|safetensors)):(.*)$", re.IGNORECASE | re.DOTALL)

# safetensors' dtype names → torch's
_SAFETENSORS_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "U16": "uint16",
    "I32": "int32",
    "U32": "uint32",
    "I64": "int64",
    "U64": "uint64",
    "F16": "float16",
    "BF16": "bfloat16",
    "F32": "float32",
    "F64": "float64",
    "C64": "complex64",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
}


def split_spec(spec: str) -> tuple[Path, str | None] | None:
    """`model.pt` → (model.pt, None); `model.pt:fc.weight` → (model.pt, 'fc.weight');
    None when the text names no tensor file (a literal, a constructor, a text file)."""
    if spec.lower().endswith(SUFFIXES):
        return Path(spec).expanduser(), None
    match = _WITH_KEY.match(spec)
    if match:
        return Path(match.group(1)).expanduser(), match.group(2) or None
    return None


@dataclass
class TensorFile:
    """The tensors of one file, by key, each read only when asked for."""

    path: Path
    kind: str  # npy | pt | safetensors
    # key → a shape-only (meta) tensor with the file tensor's shape, dtype and stride
    shapes: dict[str, torch.Tensor]
    read: Callable[[str], torch.Tensor]
    # keys of entries that are not tensors (an epoch number, a config string, …)
    others: list[str] = field(default_factory=list)

    def label(self, key: str) -> str:
        """How a tensor is named to a user: its key, or the file name for a lone tensor."""
        return key or self.path.name


def open_file(path: Path, name: str) -> TensorFile:
    """Read a tensor file's table of contents; `name` is the argument's name in messages."""
    if path.is_dir():
        raise InputError(t("input.file_is_dir", name=name, path=path))
    if not path.exists():
        raise InputError(t("input.file_missing", name=name, path=path))
    kind = KINDS[path.suffix.lower()]
    try:
        if path.stat().st_size == 0:
            raise InputError(t("input.file_empty", name=name, path=path))
        with warnings.catch_warnings():  # torch and numpy warn about old formats: not the user's concern
            warnings.simplefilter("ignore")
            if kind == "npy":
                return _open_npy(path, name)
            if kind == "safetensors":
                return _open_safetensors(path, name)
            return _open_pt(path, name)
    except PermissionError:
        raise InputError(t("input.file_denied", name=name, path=path)) from None
    except OSError as e:
        raise InputError(t("input.file_error", name=name, path=path, error=e.strerror or e)) from None


def load(path: Path, key: str | None, name: str) -> torch.Tensor:
    """One tensor of a file (`key` picks it from a state dict), as the command reads it:
    on the meta device under --meta, converted to --dtype, within --max-elements."""
    import torch

    from tensorshape_cli.inputs import torch_dtype

    f = open_file(path, name)
    key = _pick(f, key, name)
    shaped = f.shapes[key]
    s = settings.current()
    dtype = torch_dtype(s.dtype)
    if s.meta:
        return shaped if dtype is None else shaped.to(dtype)
    numel = shaped.numel()
    if numel > s.max_elements:
        raise InputError(
            t(
                "file.too_many" if key else "file.too_many_single",
                name=name,
                path=path,
                key=key,
                shape=fmt_shape(shaped.shape),
                numel=fmt_count(numel),
                limit=fmt_count(s.max_elements),
            )
        )
    tensor = f.read(key)
    if tensor.layout != torch.strided:
        raise InputError(t("file.layout", name=name, path=path, key=f.label(key), layout=tensor.layout))
    tensor = tensor.detach()  # an nn.Parameter in a state dict is read as its data
    return tensor if dtype is None else tensor.to(dtype)


def _pick(f: TensorFile, key: str | None, name: str) -> str:
    keys = list(f.shapes)
    if key is None:
        if len(keys) == 1:
            return keys[0]
        if not keys:
            raise InputError(t("file.no_tensors", name=name, path=f.path))
        raise InputError(
            t(
                "file.pick",
                name=name,
                path=f.path,
                count=len(keys),
                example=f"{f.path}:{keys[0]}",
                keys=_listing(keys),
            )
        )
    if key in f.shapes:
        return key
    if key in f.others:
        raise InputError(t("file.not_tensor", name=name, path=f.path, key=key))
    if keys == [""]:
        raise InputError(t("file.single", name=name, path=f.path, key=key))
    close = sorted(keys, key=lambda k: -difflib.SequenceMatcher(None, key, k).ratio())
    raise InputError(t("file.unknown_key", name=name, path=f.path, key=key, keys=_listing(close)))


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_KEYS_SHOWN])
    more = len(keys) - MAX_KEYS_SHOWN
    return shown + (t("file.more_keys", n=more) if more > 0 else "")


def shape_only(tensor: torch.Tensor) -> torch.Tensor:
    """A meta tensor with the same shape, dtype and stride: no data is read or allocated."""
    import torch

    return torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="meta")


# --- .pt / .pth ------------------------------------------------------------------------------


def _open_pt(path: Path, name: str) -> TensorFile:
    import torch
    from torch.serialization import pickle as torch_pickle  # the module torch.load unpickles with

    zipped = zipfile.is_zipfile(path)
    if not zipped and path.stat().st_size > MAX_LEGACY_BYTES:
        raise InputError(
            t(
                "file.legacy_too_big",
                name=name,
                path=path,
                size=fmt_count(path.stat().st_size),
                limit=fmt_count(MAX_LEGACY_BYTES),
            )
        )
    try:
        # weights_only: tensors, numbers, strings and containers only; any other object in
        # the pickle is refused before it is built, so no code from the file runs.
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except torch_pickle.UnpicklingError as e:
        if "weights only" in str(e).lower() or "weights_only" in str(e):
            raise InputError(t("file.unsafe", name=name, path=path)) from None
        raise InputError(t("file.not_torch", name=name, path=path, error=_first_line(e))) from None
    except (RecursionError, MemoryError):
        raise InputError(t("file.not_torch", name=name, path=path, error="nested too deeply")) from None
    except OSError:
        raise
    except Exception as e:  # torch.load fails in many ways on a file that is not its own
        if not zipped:  # neither torch.save's zip archive nor a legacy pickle: say so plainly
            raise InputError(t("file.not_torch_at_all", name=name, path=path)) from None
        raise InputError(t("file.not_torch", name=name, path=path, error=_first_line(e))) from None
    tensors: dict[str, torch.Tensor] = {}
    others: list[str] = []
    _flatten(obj, "", tensors, others, 0)
    return TensorFile(
        path,
        "pt",
        {k: shape_only(v) for k, v in tensors.items()},
        lambda key: tensors[key],
        others,
    )


def _flatten(obj: Any, prefix: str, tensors: dict[str, Any], others: list[str], depth: int) -> None:
    """A state dict's keys as they are written (`fc.weight`); nested dicts and lists joined by dots."""
    import torch

    if depth > 64:
        others.append(prefix)
    elif isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), tensors, others, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}.{i}" if prefix else str(i), tensors, others, depth + 1)
    else:
        others.append(prefix)


# --- .npy ------------------------------------------------------------------------------------


def _open_npy(path: Path, name: str) -> TensorFile:
    import numpy as np
    import torch

    try:
        # allow_pickle=False: an array of Python objects is refused, never unpickled;
        # mmap_mode: the header is read now, the data only if the tensor is used.
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e) or "object" in str(e).lower():
            raise InputError(t("file.npy_objects", name=name, path=path)) from None
        raise InputError(t("file.not_npy", name=name, path=path, error=_first_line(e))) from None
    except EOFError:
        raise InputError(t("input.file_empty", name=name, path=path)) from None
    if not isinstance(array, np.ndarray):
        raise InputError(t("file.not_npy", name=name, path=path, error=type(array).__name__))
    dtype = _torch_dtype_of_numpy(array.dtype)
    if dtype is None:
        raise InputError(t("file.npy_dtype", name=name, path=path, dtype=array.dtype))
    # numpy's strides are in bytes, torch's in elements; a Fortran-order array stays one
    itemsize = array.dtype.itemsize
    stride = [s // itemsize for s in array.strides]
    if array.size == 0:
        meta = torch.empty(array.shape, dtype=dtype, device="meta")
    else:
        meta = torch.empty_strided(array.shape, stride, dtype=dtype, device="meta")

    def read(_: str) -> torch.Tensor:
        if array.size == 0:  # numpy gives empty arrays zero strides; torch.empty has its own
            return torch.empty(array.shape, dtype=dtype)
        native = array.dtype.newbyteorder("=")
        data = np.array(array, dtype=native, order="K")  # a writable copy, in native byte order
        return torch.from_numpy(data)

    return TensorFile(path, "npy", {"": meta}, read)


def _torch_dtype_of_numpy(dtype: Any) -> torch.dtype | None:
    import numpy as np
    import torch

    try:
        return torch.from_numpy(np.zeros(0, dtype=dtype.newbyteorder("="))).dtype
    except (TypeError, ValueError):
        return None


# --- .safetensors ----------------------------------------------------------------------------


def _open_safetensors(path: Path, name: str) -> TensorFile:
    import torch

    try:
        from safetensors import safe_open
    except ImportError:
        raise InputError(t("file.safetensors_missing", name=name, path=path)) from None
    shapes: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:  # reads the JSON header only
            for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                sliced = f.get_slice(key)
                dtype_name = _SAFETENSORS_DTYPES.get(sliced.get_dtype())
                dtype = getattr(torch, dtype_name, None) if dtype_name else None
                if dtype is None:
                    raise InputError(
                        t("file.npy_dtype", name=name, path=path, dtype=f"{key}: {sliced.get_dtype()}")
                    )
                shapes[key] = torch.empty(sliced.get_shape(), dtype=dtype, device="meta")
    except InputError:
        raise
    except OSError:
        raise
    except Exception as e:  # SafetensorError: a bad header, a truncated file
        raise InputError(t("file.not_safetensors", name=name, path=path, error=_first_line(e))) from None

    def read(key: str) -> torch.Tensor:
        try:
            with safe_open(str(path), framework="pt") as f:
                tensor: torch.Tensor = f.get_tensor(key)
                return tensor
        except Exception as e:
            raise InputError(t("file.not_safetensors", name=name, path=path, error=_first_line(e))) from None

    return TensorFile(path, "safetensors", shapes, read)


def total_bytes(shapes: dict[str, torch.Tensor]) -> int:
    return sum(math.prod(v.shape) * v.element_size() for v in shapes.values())


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__

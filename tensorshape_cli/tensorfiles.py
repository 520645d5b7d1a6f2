"""Tensor files → torch.Tensor: `.npy`, `.pt`/`.pth` and `.safetensors`, never running code.

`torch.load` runs only with `weights_only=True` and `numpy.load`'s header reader only with
its own limits: a file that holds anything but tensors, numbers and containers is refused
(exit 2) before any of its code could run. Only a file's table of contents is read when it
is opened (the pickle of a `.pt` with its tensors on the meta device, the header of a
`.npy` or `.safetensors`), so listing a large checkpoint, or reading one tensor of it, never
reads the rest, and element limits are checked before a tensor's data is read.

A tensor's data is then read with ordinary reads of exactly its bytes, never through a
memory map: a file truncated while it is read (a trainer overwriting its checkpoint) is a
short read and a sentence, where a mapped page past the new end of the file would kill the
process with SIGBUS.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tensorshape_cli import settings
from tensorshape_cli.describe import torch_dtype
from tensorshape_cli.errors import InputError
from tensorshape_cli.files import expand_user, open_regular, shown_path
from tensorshape_cli.messages import t
from tensorshape_cli.text import error_line, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

SUFFIXES = (".npy", ".pt", ".pth", ".safetensors")
KINDS = {".npy": "npy", ".pt": "pt", ".pth": "pt", ".safetensors": "safetensors"}
# A legacy (non-zip) .pt file cannot be memory-mapped and is read whole: keep it bounded.
MAX_LEGACY_BYTES = 512 * 1024 * 1024
MAX_KEYS_SHOWN = 8
# Entries of an archive that are inflated (compressed) are bounded by their declared size
# before anything is read; so are the entries listed from one file and their nesting.
MAX_INFLATED_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 1_000_000
MAX_NESTING = 64
MAX_SAFETENSORS_HEADER = 100_000_000  # the safetensors package's own limit
MAX_KEYS_COMPARED = 2000
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
        return expand_user(Path(spec)), None
    match = _WITH_KEY.match(spec)
    if match:
        return expand_user(Path(match.group(1))), match.group(2) or None
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
    shown = shown_path(path)
    kind = KINDS[path.suffix.lower()]
    with open_regular(path, name) as stream:  # refuses a FIFO, a device, a directory at once
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            raise InputError(t("input.file_empty", name=name, path=shown))
        try:
            with warnings.catch_warnings():  # torch and numpy warn about old formats: not the user's concern
                warnings.simplefilter("ignore")
                if kind == "npy":
                    return _open_npy(path, stream, shown, name)
                if kind == "safetensors":
                    return _open_safetensors(path, stream, size, shown, name)
                return _open_pt(path, stream, size, shown, name)
        except OSError as e:
            raise InputError(t("input.file_error", name=name, path=shown, error=e.strerror or e)) from None


def load(path: Path, key: str | None, name: str) -> torch.Tensor:
    """One tensor of a file (`key` picks it from a state dict), as the command reads it:
    on the meta device under --meta, converted to --dtype, within --max-elements."""
    import torch

    f = open_file(path, name)
    key = _pick(f, key, name)
    shaped = f.shapes[key]
    s = settings.current()
    dtype = torch_dtype(s.dtype)
    shown, label = shown_path(path), shown_path(f.label(key))
    _check_dtype(shaped.dtype, dtype, name, shown, label)
    if s.meta:
        return shaped if dtype is None else shaped.to(dtype)
    numel = shaped.numel()
    if numel > s.max_elements:
        raise InputError(
            t(
                "file.too_many" if key else "file.too_many_single",
                name=name,
                path=shown,
                key=shown_path(key),
                shape=fmt_shape(shaped.shape),
                numel=fmt_count(numel),
                limit=fmt_count(s.max_elements),
            )
        )
    tensor = f.read(key)
    if tensor.layout != torch.strided:
        raise InputError(t("file.layout", name=name, path=shown, key=label, layout=tensor.layout))
    tensor = tensor.detach()  # an nn.Parameter in a state dict is read as its data
    return tensor if dtype is None else tensor.to(dtype)


def _check_dtype(found: torch.dtype, wanted: torch.dtype | None, name: str, path: str, label: str) -> None:
    """tshape explains the dtypes it can be asked for (--dtype): a complex, float8, quantized
    or wide unsigned tensor is refused by name, before any op fails on it in torch's words;
    --dtype converts one whose values survive it (not complex, not quantized)."""
    dtype_name = str(found).removeprefix("torch.")
    if dtype_name in settings.DTYPES:
        return
    if wanted is not None and not (found.is_complex or _is_quantized(found)):
        return
    known = ", ".join(settings.DTYPES)
    key = "file.dtype_convert" if not (found.is_complex or _is_quantized(found)) else "file.dtype"
    raise InputError(t(key, name=name, path=path, key=label, dtype=dtype_name, known=known))


def _is_quantized(dtype: torch.dtype) -> bool:
    return str(dtype).removeprefix("torch.").startswith(("qint", "quint"))


def _pick(f: TensorFile, key: str | None, name: str) -> str:
    keys = list(f.shapes)
    path = shown_path(f.path)
    if key is None:
        if len(keys) == 1:
            return keys[0]
        if not keys:
            raise InputError(t("file.no_tensors", name=name, path=path))
        raise InputError(
            t(
                "file.pick",
                name=name,
                path=path,
                count=len(keys),
                example=shown_path(f"{f.path}:{keys[0]}"),
                keys=_listing(keys),
            )
        )
    if key in f.shapes:
        return key
    if key in f.others:
        raise InputError(t("file.not_tensor", name=name, path=path, key=shown_path(key)))
    if keys == [""]:
        raise InputError(t("file.single", name=name, path=path, key=shown_path(key)))
    # the closest keys first, among a bounded number (a file may hold a million)
    close = difflib.get_close_matches(key, keys[:MAX_KEYS_COMPARED], n=MAX_KEYS_SHOWN, cutoff=0) + keys
    close = list(dict.fromkeys(close))
    raise InputError(t("file.unknown_key", name=name, path=path, key=shown_path(key), keys=_listing(close)))


def _listing(keys: list[str]) -> str:
    shown = ", ".join(shown_path(k) for k in keys[:MAX_KEYS_SHOWN])
    more = len(keys) - MAX_KEYS_SHOWN
    return shown + (t("file.more_keys", n=more) if more > 0 else "")


def shape_only(tensor: torch.Tensor) -> torch.Tensor:
    """A meta tensor with the same shape, dtype and stride: no data is read or allocated."""
    import torch

    return torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="meta")


# --- .pt / .pth ------------------------------------------------------------------------------


def _open_pt(path: Path, stream: BinaryIO, size: int, shown: str, name: str) -> TensorFile:
    import torch
    from torch.serialization import pickle as torch_pickle  # the module torch.load unpickles with

    zipped = zipfile.is_zipfile(stream)
    stream.seek(0)
    if not zipped and size > MAX_LEGACY_BYTES:
        raise InputError(
            t(
                "file.legacy_too_big",
                name=name,
                path=shown,
                size=fmt_count(size),
                limit=fmt_count(MAX_LEGACY_BYTES),
            )
        )
    big_endian = _check_archive(stream, shown, name) if zipped else False
    stream.seek(0)
    try:
        # weights_only: tensors, numbers, strings and containers only; any other object in
        # the pickle is refused before it is built, so no code from the file runs. A zip
        # archive is read onto the meta device: the pickle alone, each storage knowing its
        # offset in the file, read later (read below) only for the tensor asked for.
        obj = torch.load(stream, map_location="meta" if zipped else "cpu", weights_only=True)
    except torch_pickle.UnpicklingError as e:
        if "weights only" in str(e).lower() or "weights_only" in str(e):
            raise InputError(t("file.unsafe", name=name, path=shown)) from None
        raise InputError(t("file.not_torch", name=name, path=shown, error=error_line(e, 200))) from None
    except RecursionError:
        raise InputError(t("file.not_torch", name=name, path=shown, error="nested too deeply")) from None
    except MemoryError:
        raise InputError(t("file.too_large", name=name, path=shown)) from None
    except OSError:
        raise
    except Exception as e:  # torch.load fails in many ways on a file that is not its own
        if not zipped:  # neither torch.save's zip archive nor a legacy pickle: say so plainly
            raise InputError(t("file.not_torch_at_all", name=name, path=shown)) from None
        raise InputError(t("file.not_torch", name=name, path=shown, error=error_line(e, 200))) from None
    tensors: dict[str, torch.Tensor] = {}
    others: list[str] = []
    _flatten(obj, tensors, others)

    def read(key: str) -> torch.Tensor:
        tensor = tensors[key]
        if not zipped or tensor.device.type != "meta":
            return tensor
        return _read_storage(path, tensor, big_endian, shown, name)

    return TensorFile(path, "pt", {k: shape_only(v) for k, v in tensors.items()}, read, others)


def _check_archive(stream: BinaryIO, shown: str, name: str) -> bool:
    """A torch.save archive's entries, checked before torch reads any: what would be
    inflated (a compressed entry) is bounded by its declared size, and tensor data must be
    stored (torch.save never compresses it; it is read in place). True for big-endian data."""
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            inflated = sum(i.file_size for i in infos if i.compress_type != zipfile.ZIP_STORED)
            if inflated > MAX_INFLATED_BYTES:
                raise InputError(
                    t(
                        "file.inflates",
                        name=name,
                        path=shown,
                        size=fmt_count(inflated),
                        limit=fmt_count(MAX_INFLATED_BYTES),
                    )
                )
            for i in infos:
                if "/data/" in i.filename and i.compress_type != zipfile.ZIP_STORED:
                    raise InputError(t("file.compressed_data", name=name, path=shown))
            order = next((i for i in infos if i.filename.endswith("/byteorder")), None)
            return order is not None and archive.read(order)[:3] == b"big"
    except InputError:
        raise
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, NotImplementedError, EOFError) as e:
        # a directory that lies (names not in their encoding, sizes past the end, a method zipfile lacks)
        raise InputError(t("file.not_torch", name=name, path=shown, error=error_line(e, 200))) from None


def _read_storage(path: Path, meta: torch.Tensor, big_endian: bool, shown: str, name: str) -> torch.Tensor:
    """The data of one tensor, read from its storage's place in the file: only the bytes the
    tensor spans (a small view of a large storage reads its own elements), by plain reads."""
    import torch

    storage = meta.untyped_storage()
    base = getattr(storage, "_checkpoint_offset", None)
    if base is None:
        raise InputError(t("file.not_torch", name=name, path=shown, error="no storage offset"))
    item = meta.element_size()
    if meta.numel() == 0:
        return torch.empty_strided(meta.shape, meta.stride(), dtype=meta.dtype)
    span = 1 + sum((n - 1) * abs(st) for n, st in zip(meta.shape, meta.stride(), strict=True))
    first = meta.storage_offset()
    limit = settings.current().max_elements
    if span > max(meta.numel(), limit):  # a few elements strided across a huge storage
        raise InputError(
            t("file.too_many_single", name=name, path=shown, shape=fmt_shape(meta.shape),
              numel=fmt_count(span), limit=fmt_count(limit))
        )  # fmt: skip
    if (first + span) * item > storage.nbytes():
        raise InputError(t("file.not_torch", name=name, path=shown, error="a tensor beyond its storage"))
    data = _read_exactly(path, base + first * item, span * item, shown, name)
    flat = torch.frombuffer(data, dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)
    values = flat.view(meta.dtype)
    if big_endian != (sys.byteorder == "big"):
        values = _byteswapped(values)
    return values.as_strided(meta.shape, meta.stride(), 0)


def _byteswapped(values: torch.Tensor) -> torch.Tensor:
    storage = values.untyped_storage()
    storage.byteswap(values.dtype)
    return values


def _read_exactly(path: Path, offset: int, nbytes: int, shown: str, name: str) -> bytearray:
    """`nbytes` bytes at `offset`, or a sentence if the file ends first (truncated, perhaps
    while it was read)."""
    data = bytearray(nbytes)
    with open_regular(path, name) as stream:
        stream.seek(offset)
        view = memoryview(data)
        got = 0
        while got < nbytes:
            n = stream.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                raise InputError(t("file.truncated", name=name, path=shown, need=fmt_count(offset + nbytes)))
            got += n
    return data


def _flatten(root: Any, tensors: dict[str, Any], others: list[str]) -> None:
    """A state dict's keys as they are written (`fc.weight`); nested dicts and lists joined by dots.

    Each container is walked once: a pickle can refer to one dict from many places (or from
    itself), and following every path would take 2^depth steps. A container met again is
    listed among the other entries, under the key it was met at; the walk uses its own
    stack, so depth costs no recursion, and at most MAX_ENTRIES entries are listed.
    """
    import torch

    seen: set[int] = set()
    stack: list[tuple[str, Any, int]] = [("", root, 0)]
    while stack and len(tensors) + len(others) < MAX_ENTRIES:
        prefix, obj, depth = stack.pop()
        if isinstance(obj, torch.Tensor):
            tensors[prefix] = obj
            continue
        if not isinstance(obj, (dict, list, tuple)) or depth > MAX_NESTING or id(obj) in seen:
            others.append(prefix)
            continue
        seen.add(id(obj))
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        children = [(f"{prefix}.{k}" if prefix else str(k), v, depth + 1) for k, v in items]
        stack.extend(reversed(children))  # popped in the file's order


# --- .npy ------------------------------------------------------------------------------------


def _open_npy(path: Path, stream: BinaryIO, shown: str, name: str) -> TensorFile:
    import numpy as np
    import torch
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(stream)
        read_header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"format version {version[0]}.{version[1]}")
        shape, fortran, dtype_np = read_header(stream)
    except Exception as e:  # numpy parses the header text with tokenize and ast: any of their errors
        raise InputError(t("file.not_npy", name=name, path=shown, error=error_line(e, 200))) from None
    # allow_pickle=False, as numpy.load: an array of Python objects is refused, never unpickled
    if dtype_np.hasobject:
        raise InputError(t("file.npy_objects", name=name, path=shown))
    dtype = _torch_dtype_of_numpy(dtype_np)
    if dtype is None:
        raise InputError(t("file.npy_dtype", name=name, path=shown, dtype=dtype_np))
    if len(shape) > MAX_NESTING:
        raise InputError(t("file.not_npy", name=name, path=shown, error=f"{len(shape)} dimensions"))
    offset = stream.tell()
    numel = math.prod(shape)
    # torch's strides, in elements: a Fortran-order array stays one
    stride: list[int] = []
    step = 1
    for n in reversed(shape) if not fortran else shape:
        stride.append(step)
        step *= max(n, 1)
    stride = stride if fortran else stride[::-1]
    if numel == 0:
        meta = torch.empty(shape, dtype=dtype, device="meta")
    else:
        meta = torch.empty_strided(shape, stride, dtype=dtype, device="meta")

    def read(_: str) -> torch.Tensor:
        if numel == 0:
            return torch.empty(shape, dtype=dtype)
        data = _read_exactly(path, offset, numel * dtype_np.itemsize, shown, name)
        flat = np.frombuffer(data, dtype=dtype_np).astype(dtype_np.newbyteorder("="), copy=False)
        array = flat.reshape(shape, order="F" if fortran else "C")
        return torch.from_numpy(array)

    return TensorFile(path, "npy", {"": meta}, read)


def _torch_dtype_of_numpy(dtype: Any) -> torch.dtype | None:
    import numpy as np
    import torch

    try:
        return torch.from_numpy(np.zeros(0, dtype=dtype.newbyteorder("="))).dtype
    except (TypeError, ValueError):
        return None


# --- .safetensors ----------------------------------------------------------------------------


def _open_safetensors(path: Path, stream: BinaryIO, size: int, shown: str, name: str) -> TensorFile:
    """The format is 8 bytes (the header's length), a JSON header (each tensor's dtype, shape
    and byte range), then the data: read here with plain reads, checked as the safetensors
    package checks it, so that nothing is memory-mapped."""
    import torch

    def bad(error: str) -> InputError:
        return InputError(t("file.not_safetensors", name=name, path=shown, error=error))

    head = stream.read(8)
    if len(head) < 8:
        raise bad("shorter than its 8-byte header length")
    length = int.from_bytes(head, "little")
    if length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        raise bad(f"a header of {fmt_count(length)} bytes in a file of {fmt_count(size)}")
    raw = stream.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise bad(f"the header is not JSON: {error_line(e, 200)}") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    data_start, data_size = 8 + length, size - 8 - length
    shapes: dict[str, torch.Tensor] = {}
    places: dict[str, tuple[int, int]] = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise bad(f"{shown_key(key)}: not a tensor entry")
        dtype_name = _SAFETENSORS_DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
        dtype = getattr(torch, dtype_name, None) if dtype_name else None
        if dtype is None:
            raise InputError(
                t(
                    "file.npy_dtype",
                    name=name,
                    path=shown,
                    dtype=f"{shown_key(key)}: {shown_key(entry.get('dtype'))}",
                )
            )
        shape: Any = entry.get("shape")
        offsets: Any = entry.get("data_offsets")
        if not _ints(shape, MAX_NESTING) or not _ints(offsets, 2) or len(offsets) != 2:
            raise bad(f"{shown_key(key)}: a shape or data_offsets that are not lists of integers")
        begin, end = offsets
        nbytes = math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
        if not 0 <= begin <= end <= data_size or end - begin != nbytes:
            raise bad(f"{shown_key(key)}: data_offsets {begin}..{end} do not fit its shape and the file")
        shapes[key] = torch.empty(shape, dtype=dtype, device="meta")
        places[key] = (data_start + begin, nbytes)

    def read(key: str) -> torch.Tensor:
        offset, nbytes = places[key]
        meta = shapes[key]
        if nbytes == 0:
            return torch.empty(meta.shape, dtype=meta.dtype)
        data = _read_exactly(path, offset, nbytes, shown, name)
        values = torch.frombuffer(data, dtype=torch.uint8).view(meta.dtype)
        if sys.byteorder == "big":  # safetensors is little-endian
            values = _byteswapped(values)
        return values.reshape(meta.shape)

    return TensorFile(path, "safetensors", shapes, read)


def _ints(value: object, most: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= most
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in value)
    )


def shown_key(key: object) -> str:
    return shown_path(str(key))


def total_bytes(shapes: dict[str, torch.Tensor]) -> int:
    return sum(math.prod(v.shape) * v.element_size() for v in shapes.values())

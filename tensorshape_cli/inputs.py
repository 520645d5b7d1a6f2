"""TENSOR text → torch.Tensor: literals, constructors, files and stdin, with limits.

Every failure is an InputError (exit 2) whose message names the argument and the
place that is wrong. Limits are checked before torch allocates anything; user text is
never evaluated (JSON first, then a whitelist walk over `ast`).
"""

from __future__ import annotations

import ast
import codecs
import difflib
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tensorshape_cli import settings
from tensorshape_cli.describe import torch_dtype
from tensorshape_cli.errors import InputError
from tensorshape_cli.files import expand_user, open_regular, shown_path
from tensorshape_cli.messages import t
from tensorshape_cli.settings import DTYPES
from tensorshape_cli.text import clip, error_line, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

MAX_DEPTH = 32  # torch itself allows few more dimensions, and no one reads deeper
MAX_PY_LITERAL_CHARS = 100_000  # ast.parse takes up to ~1 s for that much; JSON has no such limit
MAX_FILE_BYTES = 512 * 1024 * 1024
READ_CHUNK = 1024 * 1024
COUNT_BEFORE_PARSING_CHARS = 64 * 1024
JSON_SUFFIXES = (".json",)
CONSTRUCTORS = ("tensor", "zeros", "ones", "arange", "rand", "randn", "eye", "shape")
# Methods a TENSOR may end with (`arange(12).reshape(3, 4)`): each keeps the number of
# elements, so the limit checked before the constructor allocates holds for the result.
METHODS = (
    "reshape", "view", "t", "transpose", "permute", "unsqueeze", "squeeze", "flatten", "contiguous",
    "float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool", "to",
)  # fmt: skip
ATTRIBUTES = ("T", "mT")
_METHOD_KEYWORDS = ("dim", "dim0", "dim1", "dims", "start_dim", "end_dim", "shape", "size")
_KEYWORDS = ("dtype", "device", "requires_grad", "size")  # size: not for arange and eye
# torch.float is float32, torch.long int64, ...: the names code writes for the dtypes tshape reads
_DTYPE_ALIASES = {
    "float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
    "short": "int16", "char": "int8", "byte": "uint8",
}  # fmt: skip
# `zeros(`, `torch.tensor(`, `tr.arange (`: a call, read by _read_call
_CALL_START = re.compile(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*\s*\(")
_GRAD_FN = re.compile(r"(\bgrad_fn\s*=\s*)<([A-Za-z_]\w*)>")
# texts too long for ast: the call's name and its arguments, to count them
_CONSTRUCTOR = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9.]*)\s*\((.*)\)\s*$", re.DOTALL)
_LONG_TENSOR = re.compile(r"^\s*(?:[A-Za-z_]\w*\s*\.\s*)?tensor\s*\(\s*([\[(].*[\])])\s*\)\s*$", re.DOTALL)
_PY_NAMES: dict[str, float | bool] = {
    "nan": math.nan,
    "NaN": math.nan,
    "inf": math.inf,
    "Infinity": math.inf,
    "True": True,
    "False": False,
    "true": True,
    "false": False,
}
_PY_NUMBER_NAMES = ("nan", "NaN", "inf", "Infinity")
# `True, False` and `nan, 1` are literals (tuples) too; `nanometres` is not
_STARTS_WITH_NAME = re.compile(r"(?:" + "|".join(_PY_NAMES) + r")\b")


class StdinReader:
    """Standard input may be read once per command: `-` twice is an error, not a hang."""

    def __init__(self, read: Callable[[], str] | None = None) -> None:
        self._read = read  # tests inject text here; by default stdin's bytes are read
        self._used = False

    def read(self, name: str) -> str:
        if self._used:
            raise InputError(t("input.stdin_twice", name=name))
        self._used = True
        text = self._read() if self._read is not None else _read_stdin(name)
        if not text.strip():
            raise InputError(t("input.stdin_empty", name=name))
        return text


def _read_stdin(name: str) -> str:
    stdin = sys.stdin
    if stdin is None:  # started with stdin closed (`<&-`)
        raise InputError(t("input.stdin_closed", name=name))
    if stdin.isatty():
        raise InputError(t("input.stdin_tty", name=name))
    where = t("input.stdin")
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text-only stream (an embedding program): no bytes to check
        text: str = stdin.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise InputError(
                t("input.stream_too_big", name=name, where=where, limit=fmt_count(MAX_FILE_BYTES))
            )
        return text
    try:
        return read_limited(buffer, name, where)
    except OSError as e:
        raise InputError(t("input.stream_error", name=name, where=where, error=e.strerror or e)) from None


def read_limited(stream: BinaryIO, name: str, where: object) -> str:
    """Read UTF-8 text, refusing as soon as it cannot be a tensor's text.

    Reading in chunks keeps `@/dev/zero`, `@/dev/urandom` or `yes | tshape … -` from
    filling memory: a NUL or a byte that is not UTF-8 stops at once, and more than
    MAX_FILE_BYTES stops at the limit (a file's size is checked before, but devices,
    pipes and /proc files report none).
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    parts: list[str] = []
    total = 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        nul = chunk.find(b"\0")
        try:
            if nul >= 0:
                raise UnicodeDecodeError("utf-8", chunk, nul, nul + 1, "NUL")
            parts.append(decoder.decode(chunk))
        except UnicodeDecodeError as e:
            raise InputError(t("input.binary", name=name, where=where, pos=total + e.start)) from None
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise InputError(
                t("input.stream_too_big", name=name, where=where, limit=fmt_count(MAX_FILE_BYTES))
            )
    try:
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise InputError(t("input.binary", name=name, where=where, pos=total)) from None
    return "".join(parts)


def load_tensor(text: str, name: str, stdin: StdinReader | None = None) -> torch.Tensor:
    """Read one TENSOR argument; `name` is how messages refer to it (x, weights, ...).

    Under --meta the tensor is shape-only: on torch's meta device, with no values.
    """
    tensor = _load(text, name, stdin)
    if settings.current().meta and tensor.device.type != "meta":
        from tensorshape_cli.tensorfiles import shape_only

        tensor = shape_only(tensor)
    return tensor


def _load(text: str, name: str, stdin: StdinReader | None) -> torch.Tensor:
    spec = text.strip()
    if spec == "-":
        return parse_text((stdin or StdinReader()).read(name), name, source=t("input.stdin"))
    bare = spec[1:] if spec.startswith("@") else spec
    from tensorshape_cli import tensorfiles

    tensor_file = tensorfiles.split_spec(bare)
    if tensor_file is not None:  # .npy, .pt, .pth, .safetensors, with an optional :KEY
        return tensorfiles.load(*tensor_file, name)
    if spec.startswith("@") or spec.lower().endswith(JSON_SUFFIXES):
        path = expand_user(Path(bare))
        return parse_text(read_text_file(path, name), name, source=shown_path(path))
    return parse_text(spec, name)


def read_text_file(path: Path, name: str) -> str:
    shown = shown_path(path)
    with open_regular(path, name) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                t(
                    "input.file_too_big",
                    name=name,
                    path=shown,
                    size=fmt_count(size),
                    limit=fmt_count(MAX_FILE_BYTES),
                )
            )
        try:
            text = read_limited(stream, name, shown)
        except OSError as e:  # EIO from /proc/self/mem, a disk error
            raise InputError(t("input.file_error", name=name, path=shown, error=e.strerror or e)) from None
    if not text.strip():
        raise InputError(t("input.file_empty", name=name, path=shown))
    return text


def parse_text(text: str, name: str, source: str | None = None) -> torch.Tensor:
    """A literal or a constructor, from the command line, a file or stdin."""
    where = f"{name} ({source})" if source else name
    spec = text.strip()
    if not spec:
        raise InputError(t("input.empty", name=where))
    if spec[0] in "[(-+.0123456789" or _STARTS_WITH_NAME.match(spec):
        return tensor_from_value(parse_literal(spec, where), where)
    if _CALL_START.match(spec):
        return _read_call(spec, where)
    hint = t("input.hint_at") if _is_file(spec) else ""
    raise InputError(t("input.unknown", name=where, text=clip(spec), hint=hint))


def _is_file(spec: str) -> bool:
    """Whether the text names an existing file (for a hint); a name too long is not one."""
    try:
        return len(spec) < 4096 and Path(spec).is_file()
    except (OSError, ValueError):
        return False


def parse_literal(spec: str, where: str) -> Any:
    """Nested lists of numbers from JSON or Python-style text (never evaluated)."""
    _check_leading_depth(spec, where)
    _check_count(spec, where)
    try:
        value = json.loads(spec)
    except RecursionError:
        raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH)) from None
    except ValueError:
        value = _python_literal(spec, where)
    return value


def tensor_from_value(value: Any, where: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """torch.tensor(value, dtype=dtype), dtype --dtype's by default, within the element limit."""
    import torch

    s = settings.current()
    shape = _leading_shape(value, where)
    numel = math.prod(shape)
    if numel > s.max_elements:
        raise InputError(
            t(
                "input.too_many",
                name=where,
                shape=fmt_shape(shape),
                numel=fmt_count(numel),
                limit=fmt_count(s.max_elements),
            )
        )
    if dtype is None:
        dtype = torch_dtype(s.dtype)
    try:
        tensor = torch.tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise InputError(_explain_bad_value(value, where) or f"{where}: {error_line(e)}") from None
    return tensor


def _check_count(spec: str, where: str) -> None:
    """Refuse a long literal with too many numbers before parsing builds them all.

    A literal of n numbers has at least n - 1 commas (more with trailing commas or empty
    lists), and str.count runs at C speed: 10 million numbers are refused in milliseconds,
    where json.loads would first build 10 million Python objects. Short literals are
    parsed and counted exactly (tensor_from_value).
    """
    if len(spec) <= COUNT_BEFORE_PARSING_CHARS:
        return
    limit = settings.current().max_elements
    values = spec.count(",") + 1
    if values > limit:
        raise InputError(
            t("input.too_many_values", name=where, count=fmt_count(values), limit=fmt_count(limit))
        )


def _check_leading_depth(spec: str, where: str) -> None:
    # `[[[[…` 100,000 deep must fail fast, before any parser recurses into it.
    head = spec[: MAX_DEPTH * 4 + 8]
    depth = len(head) - len(head.lstrip("[( \t\r\n"))
    if sum(1 for c in head[:depth] if c in "[(") > MAX_DEPTH:
        raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH))


def _leading_shape(value: Any, where: str) -> list[int]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if len(shape) > MAX_DEPTH:
            raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH))
        if not value:
            break
        value = value[0]
    return shape


def _python_literal(spec: str, where: str) -> Any:
    if len(spec) > MAX_PY_LITERAL_CHARS:
        raise InputError(
            t(
                "input.py_too_long",
                name=where,
                size=fmt_count(len(spec)),
                limit=fmt_count(MAX_PY_LITERAL_CHARS),
            )
        )
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" for [1if 2]: the error says it
            warnings.simplefilter("ignore")
            tree = ast.parse(spec, mode="eval")
    except SyntaxError as e:
        if str(e.msg).startswith("Exceeds the limit"):  # an integer of thousands of digits
            raise InputError(t("input.int_too_long", name=where)) from None
        col = e.offset or 0
        raise InputError(t("input.syntax", name=where, col=col, error=e.msg, near=_near(spec, col))) from None
    except (RecursionError, MemoryError):
        raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH)) from None
    except ValueError as e:  # e.g. a NUL character, on older Pythons
        raise InputError(
            t("input.syntax", name=where, col=0, error=error_line(e), near=_near(spec, 0))
        ) from None
    return _literal_node(tree.body, spec, where, 0)


def _literal_node(node: ast.expr, spec: str, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal_node(e, spec, where, depth + 1) for e in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        return node.value
    if isinstance(node, ast.Name) and node.id in _PY_NAMES:
        return _PY_NAMES[node.id]
    if isinstance(node, ast.Constant) and node.value is Ellipsis:  # torch's `[0, 1, ..., 999]`
        raise InputError(t("input.elided", name=where))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        # a sign applies to a number (or nan/inf), as in ast.literal_eval: not to True, [1], -1
        operand = node.operand
        number = (isinstance(operand, ast.Constant) and type(operand.value) in (int, float)) or (
            isinstance(operand, ast.Name) and operand.id in _PY_NUMBER_NAMES
        )
        if number:
            inner = _literal_node(operand, spec, where, depth + 1)
            return -inner if isinstance(node.op, ast.USub) else inner
    col = getattr(node, "col_offset", 0) + 1
    snippet = ast.get_source_segment(spec, node) or type(node).__name__
    raise InputError(t("input.not_number", name=where, col=col, text=clip(snippet, 30)))


def _explain_bad_value(value: Any, where: str) -> str | None:
    """Why torch.tensor refused `value`: the first ragged row or foreign element."""
    expected = _leading_shape(value, where)

    def walk(v: Any, index: tuple[int, ...]) -> str | None:
        depth = len(index)
        at = ",".join(str(i) for i in index)
        if depth < len(expected):
            if not isinstance(v, list):
                return t("input.expected_list", name=where, index=at, size=expected[depth])
            if len(v) != expected[depth]:
                return t("input.ragged", name=where, index=at, count=len(v), expected=expected[depth])
            for i, item in enumerate(v):
                found = walk(item, (*index, i))
                if found:
                    return found
            return None
        if isinstance(v, list):
            return t("input.too_nested", name=where, index=at)
        if isinstance(v, (bool, float)):
            return None
        if isinstance(v, int):
            if not -(2**63) <= v < 2**63:
                return t("input.int_overflow", name=where, index=at, value=clip(str(v), 24))
            return None
        return t("input.not_a_number", name=where, index=at, text=clip(json.dumps(v), 24))

    return walk(value, ())


# --- constructors and the methods pasted after them ---------------------------------------------


def _read_call(spec: str, where: str) -> torch.Tensor:
    """`torch.tensor([1, 2], dtype=torch.int32)`, `arange(12).reshape(3, 4)`, `t.randn(2, 3).T`.

    The text is parsed by `ast` and walked: a constructor of CONSTRUCTORS (under any module
    alias), then at most MAX_DEPTH methods of METHODS or attributes of ATTRIBUTES, each
    applied by torch. Every one of them keeps the number of elements, so the element limit,
    checked before the constructor allocates, holds for the whole chain.
    """
    if len(spec) > MAX_PY_LITERAL_CHARS:
        return _read_long_call(spec, where)
    # torch prints `grad_fn=<MulBackward0>`, which is not Python: read it as a string (same length)
    text = _GRAD_FN.sub(lambda m: f"{m.group(1)}'{m.group(2)}'", spec)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        if str(e.msg).startswith("Exceeds the limit"):
            raise InputError(t("input.int_too_long", name=where)) from None
        col = e.offset or 0
        raise InputError(t("input.syntax", name=where, col=col, error=e.msg, near=_near(spec, col))) from None
    except (RecursionError, MemoryError):
        raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH)) from None
    except ValueError as e:
        raise InputError(
            t("input.syntax", name=where, col=0, error=error_line(e), near=_near(spec, 0))
        ) from None
    chain: list[ast.expr] = []  # the methods, outermost first
    node = tree.body
    while _is_method(node):
        chain.append(node)
        if len(chain) > MAX_DEPTH:
            raise InputError(t("input.too_deep", name=where, limit=MAX_DEPTH))
        attribute = node.func if isinstance(node, ast.Call) else node
        assert isinstance(attribute, ast.Attribute)  # as _is_method found
        node = attribute.value
    if isinstance(node, ast.Call) and _func_name(node.func) is None and _is_dotted_name(node.func):
        # torch.nn.functional.relu(x): a function of a submodule, not a constructor
        func = clip(_segment(text, node.func), 30)
        raise InputError(
            t("input.constructor", name=where, func=func, known=", ".join(CONSTRUCTORS), hint="")
        )
    if not isinstance(node, ast.Call) or _func_name(node.func) is None:
        raise _not_part(node, text, where)
    tensor = _constructor_call(node, text, where)
    for method in reversed(chain):
        tensor = _apply_method(tensor, method, text, where)
    wanted = torch_dtype(settings.current().dtype)
    if wanted is not None and tensor.dtype != wanted:  # --dtype converts what the text made
        tensor = tensor.to(wanted)
    return tensor


def _is_method(node: ast.expr) -> bool:
    """`<expr>.name(...)` or `<expr>.T`, where <expr> is not a module's name (`torch.zeros`)."""
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and not _is_dotted_name(node.value)


def _is_dotted_name(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _func_name(func: ast.expr) -> str | None:
    """`zeros`, `torch.zeros`, `tr.zeros`: the constructor's name, whatever the module's alias."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.attr
    return None


def _not_part(node: ast.AST, text: str, where: str) -> InputError:
    snippet = ast.get_source_segment(text, node) or type(node).__name__
    col = getattr(node, "col_offset", 0) + 1
    return InputError(t("input.not_part", name=where, col=col, text=clip(snippet, 30)))


def _read_long_call(spec: str, where: str) -> torch.Tensor:
    """Too long for `ast`: `tensor(<JSON>)` is read as its JSON, `zeros(1, 1, …)` refused by its commas."""
    match = _LONG_TENSOR.match(spec)
    if match:
        return tensor_from_value(parse_literal(match.group(1), where), where)
    match = _CONSTRUCTOR.match(spec)
    if match and match.group(2).count(",") >= MAX_DEPTH:
        count = match.group(2).count(",") + 1
        raise InputError(t("input.too_many_dims", name=where, count=count, limit=MAX_DEPTH))
    raise InputError(
        t("input.py_too_long", name=where, size=fmt_count(len(spec)), limit=fmt_count(MAX_PY_LITERAL_CHARS))
    )


def _constructor_call(node: ast.Call, text: str, where: str) -> torch.Tensor:
    func = _func_name(node.func) or ""
    if func not in CONSTRUCTORS:
        close = difflib.get_close_matches(func, CONSTRUCTORS, n=1)
        hint = t("input.did_you_mean", name=close[0]) if close else ""
        raise InputError(
            t("input.constructor", name=where, func=clip(func, 30), known=", ".join(CONSTRUCTORS), hint=hint)
        )
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise _not_part(arg, text, where)
    options = _keywords(func, node, text, where)
    if func == "tensor":
        return _tensor_call(node, options, text, where)
    if "size" in options:  # zeros(size=(2, 3)) as torch takes it
        if node.args:
            raise InputError(t("input.keyword", name=where, func=func, key="size", known=_known_keys(func)))
        args = _size_values(options.pop("size"), func, text, where)
    else:
        args = _constructor_args(func, node.args, text, where)
    call = f"{func}({clip(', '.join(_segment(text, a) for a in node.args))})"
    return construct(func, args, where, call, options.get("dtype"), options.get("device") == "meta")


def _keywords(func: str, node: ast.Call, text: str, where: str) -> dict[str, Any]:
    """The keywords torch prints or people write (dtype, device, requires_grad, grad_fn, size)."""
    options: dict[str, Any] = {}
    for keyword in node.keywords:
        key = keyword.arg
        value = keyword.value
        if key not in _keywords_of(func):
            shown = key if key is not None else "**"
            raise InputError(t("input.keyword", name=where, func=func, key=shown, known=_known_keys(func)))
        if key == "dtype":
            options["dtype"] = _dtype_node(value, text, where)
        elif key == "device":
            device = value.value if isinstance(value, ast.Constant) else None
            if device not in ("cpu", "meta"):
                raise InputError(t("input.device", name=where, text=clip(_segment(text, value), 30)))
            options["device"] = device
        elif key == "requires_grad":  # set aside: tshape shows values and shapes, not gradients
            if not (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
                raise _not_part(value, text, where)
        elif key == "grad_fn":  # torch's printed <MulBackward0>, read as a string: set aside too
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                raise _not_part(value, text, where)
        elif key == "size":
            options["size"] = value
    return options


def _keywords_of(func: str) -> tuple[str, ...]:
    if func == "tensor":
        return (*_KEYWORDS, "grad_fn")  # grad_fn only as torch prints a result
    return _KEYWORDS if func not in ("arange", "eye") else _KEYWORDS[:-1]


def _known_keys(func: str) -> str:
    return ", ".join(k for k in _keywords_of(func) if k != "grad_fn")


def _dtype_node(node: ast.expr, text: str, where: str) -> torch.dtype:
    """`torch.int32`, `t.float`, `torch.long`: a dtype as code writes it, by name only."""
    import torch

    name = node.attr if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) else None
    canonical = _DTYPE_ALIASES.get(name, name) if name else None
    if canonical not in DTYPES:
        raise InputError(
            t("input.dtype_value", name=where, text=clip(_segment(text, node), 30), known=", ".join(DTYPES))
        )
    dtype: torch.dtype = getattr(torch, str(canonical))
    return dtype


def _tensor_call(node: ast.Call, options: dict[str, Any], text: str, where: str) -> torch.Tensor:
    """torch.tensor(data, dtype=…) and torch's printed forms: `tensor([], size=(0, 3))`,
    `tensor(..., device='meta', size=(2, 3))`."""
    import torch

    if len(node.args) != 1:
        raise InputError(t("input.tensor_args", name=where))
    data = node.args[0]
    dtype: torch.dtype | None = options.get("dtype")
    size_node = options.get("size")
    if size_node is not None:
        size = _size_values(size_node, "tensor", text, where)
        elided = isinstance(data, ast.Constant) and data.value is Ellipsis
        empty = isinstance(data, ast.List) and not data.elts
        meta = options.get("device") == "meta" or settings.current().meta
        if not ((elided and meta) or (empty and math.prod(size) == 0)):
            raise InputError(t("input.size_printed", name=where, size=clip(_segment(text, size_node), 30)))
        sizes = [int(s) for s in size]
        return torch.empty(
            sizes, dtype=dtype or torch_dtype(settings.current().dtype), device="meta" if elided else "cpu"
        )
    value = _literal_node(data, text, where, 0)
    tensor = tensor_from_value(value, where, dtype)
    return tensor.to("meta") if options.get("device") == "meta" else tensor


def _size_values(node: ast.expr, func: str, text: str, where: str) -> list[int | float]:
    value = _literal_node(node, text, where, 0)
    values = value if isinstance(value, list) else [value]
    return _number_args(func, values, [_segment(text, e) for e in getattr(node, "elts", [node])], where)


def _constructor_args(func: str, nodes: list[ast.expr], text: str, where: str) -> list[int | float]:
    # zeros((2, 3)) and zeros([2, 3]) mean zeros(2, 3), as in torch.
    if len(nodes) == 1 and isinstance(nodes[0], (ast.Tuple, ast.List)):
        nodes = list(nodes[0].elts)
    if len(nodes) > MAX_DEPTH:
        raise InputError(t("input.too_many_dims", name=where, count=len(nodes), limit=MAX_DEPTH))
    values = []
    for node in nodes:
        try:
            values.append(_literal_node(node, text, where, 0))  # a list is refused below
        except InputError:
            raise InputError(
                t("input.constructor_arg", name=where, func=func, arg=clip(_segment(text, node), 20))
            ) from None
    return _number_args(func, values, [_segment(text, n) for n in nodes], where)


def _number_args(func: str, values: list[Any], shown: list[str], where: str) -> list[int | float]:
    if len(values) > MAX_DEPTH:
        raise InputError(t("input.too_many_dims", name=where, count=len(values), limit=MAX_DEPTH))
    args: list[int | float] = []
    for value, text in zip(values, shown, strict=False):
        integer = type(value) is int
        finite_float = type(value) is float and math.isfinite(value)
        if not (integer or (func == "arange" and finite_float)):
            raise InputError(t("input.constructor_arg", name=where, func=func, arg=clip(text, 20)))
        args.append(value)
    if func == "arange" and not 1 <= len(args) <= 3:
        raise InputError(t("input.arange_args", name=where))
    if func == "eye" and not 1 <= len(args) <= 2:
        raise InputError(t("input.eye_args", name=where))
    if func != "arange" and any(a < 0 for a in args):
        raise InputError(t("input.negative_size", name=where, func=func))
    return args


def construct(
    func: str,
    args: list[int | float],
    where: str,
    call: str,
    dtype: torch.dtype | None = None,
    meta_device: bool = False,
) -> torch.Tensor:
    """zeros(2, 3), arange(1, 13), rand(2, 3), eye(3), shape(1000000, 1000000), ..."""
    import torch

    s = settings.current()
    meta = func == "shape" or s.meta or meta_device
    sizes: list[Any]
    if func == "arange":
        sizes = [_arange_length(args, where)]
    elif func == "eye":
        sizes = [int(a) for a in args] * (2 if len(args) == 1 else 1)
    else:
        sizes = [int(a) for a in args]
    numel = math.prod(sizes)
    if not meta and numel > s.max_elements:
        raise InputError(
            t(
                "input.constructor_too_many",
                name=where,
                call=call,
                numel=_fmt_huge(numel),
                limit=fmt_count(s.max_elements),
            )
        )
    if dtype is None:
        dtype = torch_dtype(s.dtype)
    device = "meta" if meta else "cpu"
    try:
        if func == "shape":
            return torch.empty(sizes, dtype=dtype, device="meta")
        if func == "arange":
            return torch.arange(*args, dtype=dtype, device=device)
        if func == "eye":
            return torch.eye(*sizes, dtype=dtype, device=device)
        if func in ("rand", "randn"):
            if not meta:
                settings.seed_torch()
            draw = torch.rand if func == "rand" else torch.randn
            return draw(sizes, dtype=dtype, device=device)
        fill = torch.zeros if func == "zeros" else torch.ones
        return fill(sizes, dtype=dtype, device=device)
    except (RuntimeError, TypeError, ValueError, OverflowError) as e:  # arange(-1e308, 1e308) on meta
        raise InputError(t("input.torch_refused", name=where, call=call, error=error_line(e))) from None


def _apply_method(tensor: torch.Tensor, node: ast.expr, text: str, where: str) -> torch.Tensor:
    """One method of METHODS (or attribute of ATTRIBUTES), applied by torch."""
    import torch

    if isinstance(node, ast.Attribute):  # .T, .mT
        if node.attr not in ATTRIBUTES:
            raise InputError(
                t("input.method", name=where, method=clip(node.attr, 30), known=_known_methods())
            )
        shown = "." + node.attr
        apply: Callable[[], torch.Tensor] = lambda: getattr(tensor, node.attr)  # noqa: E731
    else:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        name = node.func.attr
        if name not in METHODS:
            raise InputError(
                t("input.method", name=where, method=clip(name, 30) + "()", known=_known_methods())
            )
        parts = [_segment(text, a) for a in node.args] + [_segment(text, k) for k in node.keywords]
        shown = f".{name}({', '.join(parts)})"
        args, kwargs = _method_args(name, node, text, where)
        apply = lambda: getattr(tensor, name)(*args, **kwargs)  # noqa: E731
    try:
        with warnings.catch_warnings():  # `.T` on 3 dimensions is deprecated: not the user's concern here
            warnings.simplefilter("ignore")
            result = apply()
    except (RuntimeError, TypeError, ValueError, IndexError) as e:
        raise InputError(
            t("input.torch_refused", name=where, call=clip(shown), error=error_line(e))
        ) from None
    if not isinstance(result, torch.Tensor):
        raise InputError(t("input.method", name=where, method=clip(shown, 30), known=_known_methods()))
    return result


def _method_args(name: str, node: ast.Call, text: str, where: str) -> tuple[list[Any], dict[str, Any]]:
    """Integers (or one tuple of them) for the shape methods; a dtype for `.to(...)`."""
    if len(node.args) + len(node.keywords) > MAX_DEPTH:
        raise InputError(
            t("input.too_many_dims", name=where, count=len(node.args) + len(node.keywords), limit=MAX_DEPTH)
        )
    if name == "to":
        dtypes = [*node.args, *(k.value for k in node.keywords if k.arg == "dtype")]
        if len(dtypes) != 1 or len(node.args) + len(node.keywords) != 1:
            raise InputError(t("input.to_args", name=where))
        return [_dtype_node(dtypes[0], text, where)], {}

    def integers(arg: ast.expr) -> Any:
        refused = InputError(
            t("input.method_arg", name=where, method=name, arg=clip(_segment(text, arg), 20))
        )
        try:
            value = _literal_node(arg, text, where, 0)  # an int, or one tuple of them
        except InputError:
            raise refused from None
        flat = value if isinstance(value, list) else [value]
        if any(type(v) is not int for v in flat):
            raise refused
        return value

    args = [integers(a) for a in node.args]
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg not in _METHOD_KEYWORDS:
            shown = keyword.arg or "**"
            raise InputError(
                t("input.keyword", name=where, func=name, key=shown, known=", ".join(_METHOD_KEYWORDS))
            )
        kwargs[keyword.arg] = integers(keyword.value)
    return args, kwargs


def _known_methods() -> str:
    return ", ".join([*(f".{m}()" for m in METHODS), *(f".{a}" for a in ATTRIBUTES)])


def _segment(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text, node) or type(node).__name__


def _arange_length(args: list[int | float], where: str) -> float:
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args[:2], args[2] if len(args) == 3 else 1)
    if step == 0:
        raise InputError(t("input.arange_step", name=where))
    length = (end - start) / step
    if not math.isfinite(length):  # arange(-1e308, 1e308): more elements than any limit
        return math.inf
    return max(0, math.ceil(length))


def parse_shape(text: str, what: str = "--shape") -> list[int]:
    """`3,-1`, `(3, -1)`, `[3, -1]` or `3 -1` → [3, -1]; `()` is the shape of a scalar."""
    inner = text.strip()
    if not inner:
        raise InputError(t("input.shape_empty", what=what))
    if len(inner) >= 2 and inner[0] + inner[-1] in ("()", "[]"):
        inner = inner[1:-1]
    parts = [p for p in re.split(r"[\s,]+", inner) if p]
    values: list[int] = []
    for part in parts:
        try:
            values.append(int(part))
        except ValueError:
            raise InputError(t("input.shape", what=what, text=clip(text), part=clip(part, 20))) from None
    if len(values) > MAX_DEPTH:
        raise InputError(t("input.too_many_dims", name=what, count=len(values), limit=MAX_DEPTH))
    return values


def parse_dims(values: list[str] | None, what: str = "--dim") -> list[int] | None:
    """`--dim 0 --dim 2` or `--dim 0,2` → [0, 2]; None when the option was left out."""
    if values is None:
        return None
    dims: list[int] = []
    for value in values:
        dims.extend(parse_shape(value, what))
    if len(dims) > MAX_DEPTH:
        raise InputError(t("input.too_deep", name=what, limit=MAX_DEPTH))
    return dims


def _fmt_huge(n: float) -> str:
    """1,000,000 as such, but 1e+300 and inf rather than a line of digits."""
    return fmt_count(int(n)) if n < 1e15 else f"{float(n):.3g}"


def _near(spec: str, col: int) -> str:
    start = max(0, col - 10)
    return clip(spec[start : col + 10], 24)

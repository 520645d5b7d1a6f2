"""TENSOR text → torch.Tensor: literals, constructors, files and stdin, with limits.

Every failure is an InputError (exit 2) whose message names the argument and the
place that is wrong. Limits are checked before torch allocates anything; user text is
never evaluated (JSON first, then a whitelist walk over `ast`).
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import difflib
import json
import math
import os
import re
import stat
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tensorshape_cli import settings
from tensorshape_cli.errors import InputError
from tensorshape_cli.messages import t
from tensorshape_cli.settings import DTYPES
from tensorshape_cli.text import fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

MAX_DEPTH = 32  # torch itself allows few more dimensions, and no one reads deeper
MAX_PY_LITERAL_CHARS = 100_000  # ast.parse takes up to ~1 s for that much; JSON has no such limit
MAX_FILE_BYTES = 512 * 1024 * 1024
READ_CHUNK = 1024 * 1024
COUNT_BEFORE_PARSING_CHARS = 64 * 1024
JSON_SUFFIXES = (".json",)
CONSTRUCTORS = ("zeros", "ones", "arange", "rand", "randn", "eye", "shape")
_CONSTRUCTOR = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9.]*)\s*\((.*)\)\s*$", re.DOTALL)
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


def torch_dtype(name: str | None) -> torch.dtype | None:
    import torch

    if name is None:
        return None
    if name not in DTYPES:
        raise InputError(t("input.dtype", name=name, known=", ".join(DTYPES)))
    dtype: torch.dtype = getattr(torch, name)
    return dtype


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
        path = _expand_user(Path(bare))
        return parse_text(read_text_file(path, name), name, source=shown_path(path))
    return parse_text(spec, name)


def _expand_user(path: Path) -> Path:
    """~/x.json as the shell would; `~nosuchuser/x` stays as written (a missing file)."""
    try:
        return path.expanduser()
    except (RuntimeError, ValueError):  # "Could not determine home directory", a NUL
        return path


def shown_path(path: Path | str) -> str:
    """A path (or a key from a file) as tshape shows it: on one line, with no control
    characters, whatever it holds: an ESC or a newline is shown as \\x1b or \\n, so a
    name from a file can neither drive the terminal nor break a line of -q output."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


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


# What a path names when it is not a regular file, for the message that refuses it.
_FILE_KINDS = (
    (stat.S_ISFIFO, "input.kind_fifo"),
    (stat.S_ISCHR, "input.kind_char"),
    (stat.S_ISBLK, "input.kind_block"),
    (stat.S_ISSOCK, "input.kind_socket"),
)


@contextlib.contextmanager
def open_regular(path: Path, name: str) -> Iterator[BinaryIO]:
    """Open a regular file for reading, or refuse it in one sentence (InputError).

    The file is opened with O_NONBLOCK and checked with fstat on the open descriptor, so a
    FIFO without a writer, a terminal or a device never blocks tshape, and nothing can swap
    the file between the check and the read. Only regular files are read: a pipe is given
    as - (standard input), which is read with the same limits.
    """
    shown = shown_path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(t("input.file_missing", name=name, path=shown)) from None
    except IsADirectoryError:
        raise InputError(t("input.file_is_dir", name=name, path=shown)) from None
    except PermissionError:
        raise InputError(t("input.file_denied", name=name, path=shown)) from None
    except OSError as e:  # a name too long, a loop of symlinks, a device that refuses
        raise InputError(t("input.file_error", name=name, path=shown, error=e.strerror or e)) from None
    except ValueError:  # a NUL in the path
        raise InputError(t("input.path_nul", name=name, path=shown)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(t("input.file_is_dir", name=name, path=shown))
        if not stat.S_ISREG(mode):
            kind = next((key for test, key in _FILE_KINDS if test(mode)), "input.kind_other")
            raise InputError(t("input.not_regular", name=name, path=shown, kind=t(kind)))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def parse_text(text: str, name: str, source: str | None = None) -> torch.Tensor:
    """A literal or a constructor, from the command line, a file or stdin."""
    where = f"{name} ({source})" if source else name
    spec = text.strip()
    if not spec:
        raise InputError(t("input.empty", name=where))
    match = _CONSTRUCTOR.match(spec)
    if match and not spec.startswith(("[", "(")):
        return construct(match.group(1), match.group(2), where)
    if spec[0] in "[(-+.0123456789" or _STARTS_WITH_NAME.match(spec):
        return tensor_from_value(parse_literal(spec, where), where)
    hint = t("input.hint_at") if _is_file(spec) else ""
    raise InputError(t("input.unknown", name=where, text=_clip(spec), hint=hint))


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


def tensor_from_value(value: Any, where: str) -> torch.Tensor:
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
    dtype = torch_dtype(s.dtype)
    try:
        tensor = torch.tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise InputError(_explain_bad_value(value, where) or f"{where}: {_first_line(e)}") from None
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
            t("input.syntax", name=where, col=0, error=_first_line(e), near=_near(spec, 0))
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
    raise InputError(t("input.not_number", name=where, col=col, text=_clip(snippet, 30)))


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
                return t("input.int_overflow", name=where, index=at, value=_clip(str(v), 24))
            return None
        return t("input.not_a_number", name=where, index=at, text=_clip(json.dumps(v), 24))

    return walk(value, ())


def construct(func: str, args_text: str, where: str) -> torch.Tensor:
    """zeros(2, 3), arange(1, 13), rand(2, 3), eye(3), shape(1000000, 1000000), ..."""
    import torch

    func = func.removeprefix("torch.")
    if func not in CONSTRUCTORS:
        close = difflib.get_close_matches(func, CONSTRUCTORS, n=1)
        hint = t("input.did_you_mean", name=close[0]) if close else ""
        raise InputError(
            t("input.constructor", name=where, func=func, known=", ".join(CONSTRUCTORS), hint=hint)
        )
    args = _constructor_args(func, args_text, where)
    s = settings.current()
    meta = func == "shape" or s.meta
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
                call=f"{func}({_clip(args_text.strip())})",
                numel=_fmt_huge(numel),
                limit=fmt_count(s.max_elements),
            )
        )
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
        raise InputError(f"{where}: {func}({args_text.strip()}): {_first_line(e)}") from None


def _constructor_args(func: str, text: str, where: str) -> list[int | float]:
    inner = text.strip()
    # zeros((2, 3)) and zeros([2, 3]) mean zeros(2, 3), as in torch.
    if len(inner) >= 2 and inner[0] + inner[-1] in ("()", "[]"):
        inner = inner[1:-1]
    if inner.count(",") >= MAX_DEPTH:  # before splitting a huge text into parts
        raise InputError(t("input.too_many_dims", name=where, count=inner.count(",") + 1, limit=MAX_DEPTH))
    parts = [p.strip() for p in inner.split(",") if p.strip()]
    args: list[int | float] = []
    for part in parts:
        try:
            args.append(int(part))
        except ValueError:
            try:
                number = float(part)
            except ValueError:
                raise InputError(
                    t("input.constructor_arg", name=where, func=func, arg=_clip(part, 20))
                ) from None
            if func != "arange" or not math.isfinite(number):
                raise InputError(
                    t("input.constructor_arg", name=where, func=func, arg=_clip(part, 20))
                ) from None
            args.append(number)
    if func == "arange" and not 1 <= len(args) <= 3:
        raise InputError(t("input.arange_args", name=where))
    if func == "eye" and not 1 <= len(args) <= 2:
        raise InputError(t("input.eye_args", name=where))
    if len(args) > MAX_DEPTH:
        raise InputError(t("input.too_many_dims", name=where, count=len(args), limit=MAX_DEPTH))
    if func != "arange" and any(a < 0 for a in args):
        raise InputError(t("input.negative_size", name=where, func=func))
    return args


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
            raise InputError(t("input.shape", what=what, text=_clip(text), part=_clip(part, 20))) from None
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


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _near(spec: str, col: int) -> str:
    start = max(0, col - 10)
    return _clip(spec[start : col + 10], 24)


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__

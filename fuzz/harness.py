"""What the fuzzers check, and how they build inputs: shared by both engines (fuzz/run.py).

Targets:

- parser: any text into the TENSOR reader (`load_tensor`): either a tensor within the limits
  equal to `torch.tensor` of the text's value (read independently with json.loads or
  ast.literal_eval), or an InputError whose message is one non-empty line, and then only for
  text that is no literal torch.tensor reads. Any other exception is a finding.
- cli: any command line (and any bytes on standard input) into `tensorshape_cli.cli.invoke`,
  the console script's own function: exit 0, 1 or 2 only (70 is an internal error), never a
  traceback, exit 2 with exactly one line on stderr, JSON output that parses, within
  SLOW_SECONDS. stdout is strict UTF-8 as in a real process, so a character that cannot be
  written is a finding too.
- run: a batch file (text of command lines, with quotes, continuations, comments, NULs,
  long words, refused options) on standard input of `tshape run -`: exit 0, 1 or 2, every
  stderr line a tshape message, with -q at most one stdout line per command line.
- files: a valid .npy, .pt or .safetensors file with its bytes mutated (flipped, cut,
  spliced), read by `inspect` and by a command: the cli guarantees.
- export: --export paths of every kind (an existing file, a symlink to one, a dangling
  symlink, a FIFO, a directory, a missing directory, ~nosuchuser, names too long, NUL-free
  random text): the cli guarantees, and a symlink's target is never written.

- expr: random expressions from a small grammar of allowed ops (methods, torch functions,
  operators, indexing, slices with any step, literals of any size) over names bound to tensors
  of random shapes (some shape-only): the cli guarantees, exit 0, 1 or 2.

fuzz/run.py runs each target in a process whose address space is limited
(resource.RLIMIT_AS): memory that grows without bound is a MemoryError, a finding.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

SLOW_SECONDS = 10.0

COMMANDS = ["unsqueeze", "view", "weighted", "weighted-sum", "linear", "demo"]
OPTIONS = [
    "--dim", "-d", "--shape", "-s", "--transpose", "--weights", "-w", "--batch", "--random",
    "--models", "--classes", "--out-features", "-o", "--weight", "-W", "--bias", "-b",
    "--no-bias", "--format", "-f", "--json", "-q", "--quiet", "--dtype", "--seed",
    "--max-elements", "--max-values", "--help", "--", "rich", "plain", "json", "float64",
    "int32", "bool", "bfloat16", "--version",
]  # fmt: skip
TOKENS = [
    "[", "]", "(", ")", ",", " ", "-", "+", ".", "e", "0", "1", "2", "3", "7", "12", "2.5",
    "1e3", "1e999", "-1", "9223372036854775807", "9223372036854775808", "nan", "inf", "NaN",
    "Infinity", "True", "False", "true", "false", "null", "None", "'a'", "1j", "_", "0x1f",
    "zeros", "ones", "arange", "eye", "rand", "randn", "shape", "torch.", "@", "__import__",
    "lambda", "x", ":", "*", "**", "{", "}", "\\", "\n", "\t", "é", "\udcff",
    "@/dev/null", "@/dev/zero", "@/etc", "@/nonexistent", "x.json", "@examples/x.json",
    "@examples/weights.json", "@examples/linear_weight.json",
]  # fmt: skip


class Finding(AssertionError):
    """An input that breaks a guarantee."""


# --- the parser --------------------------------------------------------------------------------


def check_parser(text: str) -> None:
    import torch

    from tensorshape_cli import settings
    from tensorshape_cli.errors import InputError
    from tensorshape_cli.inputs import MAX_DEPTH, StdinReader, load_tensor

    s = settings.Settings(seed=0)
    with settings.use(s):
        try:
            tensor = load_tensor(text, "x", StdinReader(lambda: text))
        except InputError as e:
            message = str(e)
            if not message.strip() or "\n" in message:
                raise Finding(f"InputError is not one line: {message!r}") from None
            expected = torch_reads(text)
            if expected is not None:
                raise Finding(f"refused {text[:80]!r}, which torch.tensor reads: {message}") from None
            return
    if not isinstance(tensor, torch.Tensor):
        raise Finding(f"not a tensor: {type(tensor)}")
    if tensor.dim() > MAX_DEPTH + 1:
        raise Finding(f"{tensor.dim()} dimensions")
    if tensor.device.type != "meta" and tensor.numel() > s.max_elements:
        raise Finding(f"{tensor.numel()} elements, over the limit")
    if _CONSTRUCTOR.match(text) or text.strip() == "-" or text.strip().startswith("@"):
        return  # the property tests compare constructors with torch
    expected = torch_reads(text)
    if expected is None:
        raise Finding(f"accepted {text[:80]!r}, which is not a literal torch.tensor reads")
    same = expected.shape == tensor.shape and expected.dtype == tensor.dtype
    if not same or not torch.equal(torch.nan_to_num(expected), torch.nan_to_num(tensor)):
        raise Finding(f"{text[:80]!r}: got {tensor!r}, torch.tensor gives {expected!r}")


_CONSTRUCTOR = re.compile(r"^\s*([A-Za-z_]\w*\s*\.\s*)*(tensor|zeros|ones|arange|eye|rand|randn|shape)\s*\(")
_NAMES = {"nan": math.nan, "NaN": math.nan, "inf": math.inf, "Infinity": math.inf}
_NAMES |= {"True": True, "False": False, "true": True, "false": False}


class _Names(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _NAMES:
            return ast.copy_location(ast.Constant(_NAMES[node.id]), node)
        return node


def torch_reads(text: str) -> Any:
    """torch.tensor of what the text means (json.loads, else ast.literal_eval with nan, inf,
    true and false as names), within tshape's limits; None if it is no such literal."""
    import torch

    from tensorshape_cli.inputs import MAX_DEPTH, MAX_PY_LITERAL_CHARS
    from tensorshape_cli.settings import DEFAULT_MAX_ELEMENTS

    text = text.strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        if len(text) > MAX_PY_LITERAL_CHARS:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(_Names().visit(ast.parse(text, mode="eval")))
        except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
            return None
    if not _numbers(value, 0):
        return None
    try:
        tensor = torch.tensor(value)
    except Exception:
        return None
    return tensor if tensor.numel() <= DEFAULT_MAX_ELEMENTS and tensor.dim() <= MAX_DEPTH else None


def _numbers(value: Any, depth: int) -> bool:
    if depth > 40:
        return False
    if isinstance(value, (list, tuple)):
        return all(_numbers(v, depth + 1) for v in value)
    return type(value) in (int, float, bool)


# --- the command line ------------------------------------------------------------------------------


@contextlib.contextmanager
def _process_streams(stdin: bytes) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """sys.stdin/stdout/stderr as a real process has them: UTF-8, strict for stdout."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    streams = (
        io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
        io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True),
    )
    sys.stdin, sys.stdout, sys.stderr = streams
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        for stream in streams:
            with contextlib.suppress(ValueError):
                stream.flush()
            stream.detach()  # or closing the wrapper would close the BytesIO under it


def check_cli(argv: list[str], stdin: bytes = b"", *, lines_ok: bool = False) -> str:
    from tensorshape_cli.cli import invoke

    argv = [a.replace("\x00", "") for a in argv]  # a real argv cannot hold NUL
    os.environ.pop("TSHAPE_DEBUG", None)
    os.environ.pop("TSHAPE_FORMAT", None)
    os.environ["COLUMNS"] = "100"
    start = time.monotonic()
    with _process_streams(stdin) as (out_bytes, err_bytes):
        code = invoke(list(argv))
    elapsed = time.monotonic() - start
    out = out_bytes.getvalue().decode("utf-8")
    err = err_bytes.getvalue().decode("utf-8")
    where = f"tshape {' '.join(repr(a) for a in argv)} (stdin {stdin[:40]!r})"
    if code not in (0, 1, 2):
        raise Finding(f"{where}: exit {code}: {err.strip()[:300]}")
    if "Traceback" in out + err:
        raise Finding(f"{where}: a traceback")
    if elapsed > SLOW_SECONDS:
        raise Finding(f"{where}: took {elapsed:.1f} s")
    if lines_ok:  # tshape run: a line per failed command line, then the summary
        bad = [line for line in err.splitlines() if not re.match(r"^(stdin:\d+: )?tshape", line)]
        if bad:
            raise Finding(f"{where}: stderr lines that are not tshape messages: {bad[:3]!r}")
    elif code == 2 and argv:
        lines = err.splitlines()
        if out or len(lines) != 1 or not lines[0].startswith("tshape"):
            raise Finding(f"{where}: exit 2 should be one line on stderr; got {err!r}, stdout {out[:80]!r}")
    if code in (0, 1) and "--json" in argv and "--help" not in argv and "-q" not in argv:
        for line in out.splitlines():
            if line.strip() and line.lstrip().startswith("{"):
                _strict_json(line, where)
    return out


# --- tshape run: batch files ------------------------------------------------------------------

RUN_LINES = [
    'unsqueeze "[1, 2, 3]" --dim 0', 'view "arange(12)" --shape 3,-1', 'view "arange(12)" --shape 5,3',
    "weighted", "inspect examples/model.pt", 'cat "[nan, 1.0]" "[2.0]"', 'matmul "ones(2, 3)" "ones(3, 4)"',
    'unsqueeze "[1, 2]"', "run x", "frobnicate", 'unsqueeze "[1, 2', "unsqueeze x.npy", "# comment", "",
    'unsqueeze "[1]" --export out.svg', "unsqueeze 1 --install-completion", "tshape squeeze 'zeros(2, 1)'",
    "unsqueeze - -d 0", "unsqueeze @/dev/zero", "sum examples/x.npy", "stack '[1]' '[2]' \\",
]  # fmt: skip
RUN_PIECES = ["'", '"', "\\", "#", " ", "\t", "\r", "\0", "x" * 1000, "é", "--json", "-q", "\n"]


def check_run(text: str, fmt: str) -> None:
    """A batch file on standard input: the cli guarantees for `run`, and with -q no more
    stdout lines than command lines."""
    out = check_cli(
        ["run", "-", *([fmt] if fmt else [])], text.encode("utf-8", "surrogatepass"), lines_ok=True
    )
    lines = len(io.StringIO(text, newline=None).readlines())  # as the reader splits: \n, \r, \r\n
    if fmt == "-q" and len(out.split("\n")) - 1 > lines:
        raise Finding(f"run -q: {len(out.splitlines())} stdout lines for {lines} lines: {text[:200]!r}")


# --- tensor files with mutated bytes -------------------------------------------------------------


def seed_files() -> dict[str, bytes]:
    """One valid file of each kind, whose bytes the files target mutates."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch
    from safetensors.torch import save_file

    seeds: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        w = torch.arange(12.0).reshape(3, 4)
        torch.save(
            {"fc.weight": w, "fc.bias": torch.ones(3), "nested": {"v": w.t()}, "epoch": 3}, f"{tmp}/m.pt"
        )
        np.save(f"{tmp}/x.npy", np.asfortranarray(np.arange(6, dtype="<i4").reshape(2, 3)))
        save_file({"w": w, "b": torch.zeros(2, dtype=torch.int64)}, f"{tmp}/m.safetensors")
        for name in ("m.pt", "x.npy", "m.safetensors"):
            seeds[name.rsplit(".", 1)[1]] = Path(tmp, name).read_bytes()
    return seeds


def mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """(kind, position, value) edits: 0 flips a byte, 1 cuts the file, 2 inserts a byte,
    3 writes a large little-endian number (a length, an offset) at the position."""
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] ^= value & 0xFF or 1
        elif kind == 1:
            del buf[pos:]
        elif kind == 2:
            buf.insert(pos, value & 0xFF)
        else:
            buf[pos : pos + 8] = (value % 2**64).to_bytes(8, "little")
    return bytes(buf)


def check_file(kind: str, data: bytes, key: str, command: list[str]) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, f"f.{kind}")
        path.write_bytes(data)
        check_cli(["inspect", str(path)])
        check_cli([command[0], f"{path}:{key}" if key else str(path), *command[1:]])


FILE_KEYS = ["", "fc.weight", "fc.bias", "nested.v", "epoch", "w", "b", "nope"]
FILE_COMMANDS = [
    ["unsqueeze", "-d", "0"], ["sum"], ["view", "--shape", "-1", "--json"], ["flatten", "-q"],
    ["unsqueeze", "--meta", "-d", "0"], ["mean", "--dtype", "float32"],
]  # fmt: skip


# --- --export paths ---------------------------------------------------------------------------------

EXPORT_KINDS = [
    "new",
    "existing",
    "symlink",
    "dangling",
    "fifo",
    "dir",
    "missing_dir",
    "nosuchuser",
    "long",
    "text",
]


def check_export(kind: str, text: str, suffix: str) -> None:
    import os
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        victim = base / "victim.txt"
        victim.write_text("untouched")
        path = base / f"out{suffix}"
        if kind == "existing":
            path.write_text("old")
        elif kind == "symlink":
            path.symlink_to(victim)
        elif kind == "dangling":
            path.symlink_to(base / "nowhere")
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "dir":
            path.mkdir()
        elif kind == "missing_dir":
            path = base / "no" / f"out{suffix}"
        elif kind == "nosuchuser":
            path = Path(f"~nosuchuser/out{suffix}")
        elif kind == "long":
            path = base / ("a" * (200 + len(text) * 10) + suffix)
        else:
            path = base / (text.replace("/", "_").replace("\x00", "") + suffix)
        check_cli(["unsqueeze", "[1, 2]", "-d", "0", "-q", "--export", str(path)])
        if victim.read_text() != "untouched" or (base / "nowhere").exists():
            raise Finding(f"--export {kind} {path}: wrote through a symlink")


def _strict_json(line: str, where: str) -> Any:
    def no_constant(name: str) -> Any:
        raise Finding(f"{where}: JSON holds {name}")

    try:
        return json.loads(line, parse_constant=no_constant)
    except ValueError as e:
        raise Finding(f"{where}: output is not JSON: {e}") from None


# --- building inputs for atheris ---------------------------------------------------------------


def text_from(fdp: Any) -> str:
    """A TENSOR-like text: tokens that reach deep into the parser, or raw characters."""
    kind = fdp.ConsumeIntInRange(0, 3)
    if kind == 0:
        return str(fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64)))
    if kind == 1:
        value = _nested(fdp, depth=0)
        return json.dumps(value) if fdp.ConsumeBool() else str(value)
    return "".join(fdp.PickValueInList(TOKENS) for _ in range(fdp.ConsumeIntInRange(0, 30)))


def _nested(fdp: Any, depth: int) -> Any:
    if depth > 4 or fdp.ConsumeIntInRange(0, 3) == 0:
        kind = fdp.ConsumeIntInRange(0, 3)
        if kind == 0:
            return fdp.ConsumeIntInRange(-(2**64), 2**64)
        if kind == 1:
            return fdp.ConsumeFloat()
        if kind == 2:
            return fdp.ConsumeBool()
        return fdp.ConsumeIntInRange(-9, 9)
    return [_nested(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]


def argv_from(fdp: Any) -> tuple[list[str], bytes]:
    argv = [fdp.PickValueInList(COMMANDS)] if fdp.ConsumeIntInRange(0, 15) else []
    for _ in range(fdp.ConsumeIntInRange(0, 7)):
        kind = fdp.ConsumeIntInRange(0, 4)
        if kind in (0, 1):
            argv.append(fdp.PickValueInList(OPTIONS))
        elif kind == 2:
            argv.append(text_from(fdp))
        elif kind == 3:
            argv.append(str(fdp.ConsumeIntInRange(-(2**70), 2**70)))
        else:
            sizes = [str(fdp.ConsumeIntInRange(-2, 6)) for _ in range(fdp.ConsumeIntInRange(0, 4))]
            argv.append(",".join(sizes))
    stdin = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)) if fdp.ConsumeBool() else b"[[1, 2], [3, 4]]"
    return argv, stdin


# --- expr: expressions from a small grammar ------------------------------------------------------

EXPR_METHODS = [
    "sum", "mean", "view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "flatten",
    "expand", "matmul", "contiguous", "float", "int", "size", "dim", "softmax", "max", "t",
]  # fmt: skip
EXPR_FUNCTIONS = ["torch.cat", "torch.stack", "torch.matmul", "torch.zeros", "torch.ones", "torch.arange",
                  "torch.einsum", "torch.sum", "F.softmax", "torch.broadcast_to"]  # fmt: skip
EXPR_NUMBERS = ["0", "1", "2", "-1", "3", "1e400", "-1e400", "2.5", "9" * 401, "2**63", "10**21", "True"]
EXPR_OPERATORS = ["+", "-", "*", "/", "@", "**", "//", "%", "<", "==", "&"]


def check_expr(expression: str, shapes: list[str]) -> None:
    """One expression over x, y (and s, shape-only) bound to the given tensors."""
    bindings = [f"{n}={v}" for n, v in zip("xys", shapes, strict=False)]
    used = [b for b in bindings if re.search(rf"(?<![\w.]){b[0]}\b", expression)]
    argv = ["expr", "--max-elements", "1000000", "--", expression]
    for b in used:
        argv[1:1] = ["-t", b]
    check_cli(argv)


# --- building inputs for hypothesis --------------------------------------------------------------


def more_strategies() -> dict[str, Any]:
    """The run, files and export targets' inputs as hypothesis strategies (one tuple of
    arguments each, for check_run, check_file and check_export)."""
    from hypothesis import strategies as st

    seeds = seed_files()
    texts, _ = strategies()
    line = st.one_of(
        st.sampled_from(RUN_LINES),
        st.lists(st.one_of(st.sampled_from(RUN_LINES), st.sampled_from(RUN_PIECES), texts), max_size=6).map(
            " ".join
        ),
    )
    run = st.tuples(
        st.lists(line, max_size=8).map("\n".join), st.sampled_from(["", "-q", "--json", "--fail-fast"])
    )
    edit = st.tuples(st.integers(0, 3), st.integers(0, 2**16), st.integers(0, 2**64))
    files = st.tuples(
        st.sampled_from(sorted(seeds)),
        st.lists(edit, max_size=4),
        st.sampled_from(FILE_KEYS),
        st.sampled_from(FILE_COMMANDS),
    ).map(lambda c: (c[0], mutate(seeds[c[0]], c[1]), c[2], c[3]))
    export = st.tuples(
        st.sampled_from(EXPORT_KINDS),
        st.text(max_size=20),
        st.sampled_from([".svg", ".html", ".htm", ".txt", ""]),
    )
    return {"run": run, "files": files, "export": export, "expr": expr_cases()}


def expr_cases() -> Any:
    """(expression, [x, y, s]) from the grammar: names, numbers, tuples, calls, operators, indexing."""
    from hypothesis import strategies as st

    leaf = st.one_of(st.sampled_from(["x", "y", "s", "x.shape", "x.T"]), st.sampled_from(EXPR_NUMBERS))

    def grow(inner: Any) -> Any:
        args = st.lists(inner, max_size=3).map(", ".join)
        return st.one_of(
            st.tuples(inner, st.sampled_from(EXPR_METHODS), args).map(lambda c: f"({c[0]}).{c[1]}({c[2]})"),
            st.tuples(st.sampled_from(EXPR_FUNCTIONS), args).map(lambda c: f"{c[0]}({c[1]})"),
            st.tuples(st.sampled_from(EXPR_FUNCTIONS), args).map(
                lambda c: f"{c[0]}(({c[1]}{',' if c[1] else ''}))"  # a tuple of operands
            ),
            st.tuples(inner, st.sampled_from(EXPR_OPERATORS), inner).map(lambda c: f"({c[0]} {c[1]} {c[2]})"),
            st.tuples(inner, st.lists(st.sampled_from(["", "0", "1", "-1", "None", "..."]), max_size=3)).map(
                lambda c: f"({c[0]})[{':'.join(c[1]) or '::0'}]"
            ),
            st.tuples(inner, st.sampled_from(["dim=0", "dim=-1", "keepdim=True", "dim=9"])).map(
                lambda c: f"({c[0]}).sum({c[1]})"
            ),
        )

    expression = st.recursive(leaf, grow, max_leaves=6)
    sizes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(lambda xs: ", ".join(map(str, xs)))
    tensor = st.one_of(sizes.map(lambda s: f"ones({s})"), st.just("arange(1, 25)"))
    shapes = st.tuples(tensor, tensor, sizes.map(lambda s: f"shape({s})")).map(list)
    return st.tuples(expression, shapes)


def strategies() -> tuple[Any, Any]:
    """(texts, command lines) as hypothesis strategies."""
    from hypothesis import strategies as st

    numbers = st.one_of(
        st.integers(-9, 9),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
    )

    def lists_of(inner: Any) -> Any:
        return st.lists(inner, max_size=4)

    nested = st.recursive(numbers, lists_of, max_leaves=16)
    texts = st.one_of(
        st.text(max_size=64),
        st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
        nested.map(json.dumps),
        nested.map(str),
    )
    sizes = st.lists(st.integers(-2, 6), max_size=4).map(lambda xs: ",".join(map(str, xs)))
    word = st.one_of(st.sampled_from(OPTIONS), texts, st.integers(-(2**70), 2**70).map(str), sizes)
    argv = st.tuples(st.sampled_from(COMMANDS), st.lists(word, max_size=7)).map(lambda cw: [cw[0], *cw[1]])
    stdin = st.one_of(st.just(b"[[1, 2], [3, 4]]"), st.binary(max_size=64))
    return texts, st.tuples(argv, stdin)

"""Limits, checked before anything large is allocated: elements, nesting, constructor sizes,
file and stream sizes, integers beyond int64, long literals, empty tensors, nan and inf.

(test_inputs.py covers the element cap of literals and constructors, 100,000 nested brackets,
integers beyond int64 in literals, `[]`/`[[]]` and nan/inf literals; this module the rest.)
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from pathlib import Path

import pytest
import torch
from conftest import assert_one_line, assert_tensor, numbers_in, run_tshape

from tensorshape_cli import inputs
from tensorshape_cli.errors import InputError


def refused(*args: str, input: str | bytes | None = None, within: float = 3.0) -> str:
    """Exit 2, one line on stderr, nothing on stdout, quickly; returns the line."""
    start = time.perf_counter()
    r = run_tshape(*args, input=input)
    elapsed = time.perf_counter() - start
    assert r.code == 2, (r.code, r.stdout[:300], r.stderr)
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert elapsed < within, f"took {elapsed:.1f} s"
    return r.stderr


# --- constructor sizes -----------------------------------------------------------------------


def test_zeros_of_a_hundred_billion_is_refused_before_allocating():
    line = refused("unsqueeze", "zeros(100000000000)", "--dim", "0")
    assert {"100000000000", "10000000"} <= numbers_in(line)
    assert "shape(" in line  # the way to explain the shape alone


def test_shape_only_constructor_of_a_hundred_billion_is_explained():
    # a meta tensor: shape, dtype and stride, no storage
    expected = torch.empty(100000000000, device="meta").unsqueeze(0)
    r = run_tshape("unsqueeze", "shape(100000000000)", "--dim", "0", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected, values=False)
    assert r.doc["result"]["values"] is None
    assert run_tshape("unsqueeze", "shape(100000000000)", "--dim", "0", "-q").stdout == "1 100000000000\n"


@pytest.mark.parametrize(
    "spec",
    [
        "zeros(9223372036854775808)",
        "ones(" + "9" * 5000 + ")",
        "arange(-1e308, 1e308)",
        "arange(0, 1, 1e-300)",
        "eye(100000000000)",
        "randn(100000, 100000)",
    ],
)
def test_constructors_beyond_any_limit_are_refused_quickly(spec):
    refused("unsqueeze", spec)


def test_shape_beyond_int64_is_refused_by_torch_as_input():
    line = refused("unsqueeze", "shape(9223372036854775807, 9223372036854775807)")
    assert line.startswith("tshape: x")


def test_constructor_with_a_million_sizes_is_refused_before_splitting_them():
    spec = "zeros(" + "1," * 1_000_000 + "1)"
    line = refused("unsqueeze", spec)
    assert "32" in numbers_in(line)


def test_thirty_two_dimensions_are_read_and_thirty_three_are_not():
    ok = run_tshape("unsqueeze", "zeros(" + ", ".join(["1"] * 32) + ")", "--dim", "0", "-q")
    assert ok.code == 0
    assert ok.stdout.split() == [str(s) for s in torch.zeros([1] * 32).unsqueeze(0).shape]
    refused("unsqueeze", "zeros(" + ", ".join(["1"] * 33) + ")")
    literal = "[" * 32 + "1" + "]" * 32
    assert run_tshape("unsqueeze", literal, "--dim", "0", "-q").code == 0
    refused("unsqueeze", "[" * 33 + "1" + "]" * 33)
    refused("view", "[1]", "--shape", ",".join(["1"] * 33))


# --- what an op would allocate --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        # inputs within the limit that broadcast to 27 billion elements
        ["weighted", "ones(1, 3000, 1)", "-w", "ones(3000, 3000)"],
        ["weighted", "-w", "ones(3, 2)", "--batch", "100000000000"],
        ["weighted", "--random", "--models", "100000", "--classes", "100000"],
        ["linear", "[[1.0, 2.0, 3.0]]", "--out-features", "1000000000000"],
        ["linear", "ones(3000, 1)", "-W", "ones(3000, 1)", "--no-bias"],  # y is (3000, 3000)
    ],
)
def test_op_results_over_the_limit_are_refused_before_allocating(args):
    line = refused(*args, "--max-elements", "1000000")
    assert "--max-elements" in line


def test_op_results_within_a_raised_limit_are_computed():
    x, w = torch.ones(1, 30, 1), torch.ones(30, 30)
    r = run_tshape("weighted", "ones(1, 30, 1)", "-w", "ones(30, 30)", "--json", "--max-elements", "27000")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], torch.sum(x * w.view(30, 1, -1), dim=0))
    assert run_tshape("weighted", "ones(1, 30, 1)", "-w", "ones(30, 30)", "--max-elements", "26999").code == 2


# --- files and streams ------------------------------------------------------------------------------


def test_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(inputs.MAX_FILE_BYTES + 1)  # sparse: no disk is used
    line = refused("unsqueeze", f"@{path}")
    assert str(inputs.MAX_FILE_BYTES) in numbers_in(line)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null", "/dev/tty"])
def test_devices_are_refused_by_name_without_reading(device):
    # a device is no file of tensors: refused at once as what it is (never read, never "empty")
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    try:
        os.close(os.open(device, os.O_RDONLY | os.O_NONBLOCK))
    except OSError:
        pytest.skip(f"{device} cannot be opened here")
    line = refused("unsqueeze", f"@{device}")
    assert device in line and "character device" in line, line


class _Endless(io.RawIOBase):
    """A stream that never ends, like `yes 1, | tshape unsqueeze -`; counts what was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = b"1, " * (len(buffer) // 3)
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_an_endless_stream_stops_at_the_limit(monkeypatch):
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", 5 * inputs.READ_CHUNK)
    stream = _Endless()
    with pytest.raises(InputError, match=r"more than the 5,242,880 bytes"):
        inputs.read_limited(io.BufferedReader(stream), "x", "standard input")
    assert stream.read_bytes <= 7 * inputs.READ_CHUNK


def test_stdin_over_the_limit(monkeypatch):
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", 1000)
    line = refused("unsqueeze", "-", input="[" + "1, " * 500 + "1]")
    assert "standard input" in line
    assert "1000" in numbers_in(line)


def test_file_with_a_nul_is_binary(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"[1, 2]\x00")
    line = refused("unsqueeze", f"@{path}")
    assert "binary" in line
    assert "6" in numbers_in(line)  # the byte where it starts


# --- long literals --------------------------------------------------------------------------------


def test_a_long_json_literal_is_read():
    values = torch.randint(-100, 100, (200_000,), generator=torch.Generator().manual_seed(0))
    r = run_tshape("unsqueeze", json.dumps(values.tolist()), "--dim", "0", "--json", "--max-values", "0")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["inputs"]["x"], values, values=False)
    assert r.doc["inputs"]["x"]["summary"]["max"] == values.max().item()


def test_a_long_literal_over_the_element_limit_is_refused_before_parsing(monkeypatch):
    parsed = []
    monkeypatch.setattr(inputs.json, "loads", lambda *a, **k: parsed.append(1))
    monkeypatch.setattr(inputs.ast, "parse", lambda *a, **k: parsed.append(1))
    literal = "[" + "1, " * 50_000 + "1]"
    line = refused("unsqueeze", literal, "--max-elements", "50000")
    assert {"50001", "50000"} <= numbers_in(line)
    assert parsed == []


def test_ten_million_numbers_are_refused_in_a_moment():
    literal = "[" + "1," * 10_000_000 + "1]"
    refused("unsqueeze", literal, within=2.0)


def test_a_long_python_style_literal_is_refused_with_a_way_out():
    literal = "(" + "1, " * (inputs.MAX_PY_LITERAL_CHARS // 3 + 1) + ")"
    line = refused("unsqueeze", literal)
    assert "JSON" in line
    assert str(inputs.MAX_PY_LITERAL_CHARS) in numbers_in(line)
    # the same numbers as JSON are read
    as_json = "[" + "1, " * (inputs.MAX_PY_LITERAL_CHARS // 3) + "1]"
    assert run_tshape("unsqueeze", as_json, "--dim", "0", "-q").code == 0


def test_a_python_style_literal_at_the_limit_is_read_in_time():
    n = inputs.MAX_PY_LITERAL_CHARS // 4 - 1
    literal = "(" + "-1, " * n + ")"
    assert len(literal) <= inputs.MAX_PY_LITERAL_CHARS
    start = time.perf_counter()
    r = run_tshape("unsqueeze", literal, "--dim", "0", "-q")
    assert r.code == 0, r.stderr
    assert r.stdout.split() == ["1", str(n)]
    assert time.perf_counter() - start < 10


def test_an_integer_of_thousands_of_digits_is_one_sentence():
    for literal in ("[" + "1" * 5000 + "]", "(" + "1" * 5000 + ",)"):
        line = refused("unsqueeze", literal)
        assert "64-bit" in line
        assert len(line) < 200


def test_a_text_too_long_for_a_file_name_is_a_sentence():
    line = refused("unsqueeze", "a" * 5000)
    assert "cannot read" in line
    assert len(line) < 400


# --- integers beyond int64 in options -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["unsqueeze", "[1]", "--dim", str(2**64)],
        ["unsqueeze", "[1]", "--dim", str(-(2**70))],
        ["view", "[1, 2]", "--shape", str(2**64)],
        ["view", "[[1, 2]]", "--transpose", f"0,{2**64}", "--shape", "2"],
    ],
)
def test_options_beyond_int64_are_explained_as_torch_refuses_them(args):
    x = torch.tensor([1])
    with pytest.raises((RuntimeError, IndexError, TypeError, ValueError, OverflowError)):
        x.unsqueeze(2**64)  # torch's own refusal
    r = run_tshape(*args, "--json")
    assert r.code == 1, r.stderr
    assert r.doc["error"]["message"]
    assert r.doc["result"] is None


def test_seed_outside_torchs_range_is_a_usage_error():
    for seed in (2**64, -(2**63) - 1):
        with pytest.raises((RuntimeError, ValueError)):
            torch.manual_seed(seed)
        r = run_tshape("unsqueeze", "rand(2)", "--seed", str(seed))
        assert r.code == 2
        assert_one_line(r.stderr)
    for seed in (2**64 - 1, -(2**63)):
        r = run_tshape("unsqueeze", "rand(2)", "--seed", str(seed), "--json")
        assert r.code == 0, r.stderr
        torch.manual_seed(seed)
        assert_tensor(r.doc["inputs"]["x"], torch.rand(2))


# --- empty tensors, nan and inf through every command ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "compute"),
    [
        (["unsqueeze", "[]", "--dim", "0"], lambda: torch.tensor([]).unsqueeze(0)),
        (["unsqueeze", "[[]]", "--dim", "-1"], lambda: torch.tensor([[]]).unsqueeze(-1)),
        (["view", "[]", "--shape", "0,5"], lambda: torch.tensor([]).view(0, 5)),
        (["view", "[[]]", "--shape", "-1"], lambda: torch.tensor([[]]).view(-1)),
        (
            ["weighted", "zeros(3, 0, 2)", "-w", "ones(3, 2)"],
            lambda: torch.sum(torch.zeros(3, 0, 2) * torch.ones(3, 2).view(3, 1, -1), dim=0),
        ),
        (
            ["linear", "[[]]", "--no-bias"],
            lambda: torch.nn.functional.linear(torch.tensor([[]]), torch.empty(2, 0)),
        ),
        (["linear", "zeros(0, 3)", "-W", "[[1.0, 2.0, 3.0]]", "-b", "[1.0]"], lambda: torch.zeros(0, 1)),
    ],
)
def test_empty_tensors(args, compute):
    expected = compute()
    r = run_tshape(*args, "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], expected)
    assert r.stderr == ""  # not even torch's warning about initialising zero elements


def test_empty_tensor_that_torch_cannot_view():
    x = torch.tensor([[]])
    with pytest.raises(RuntimeError):
        x.view(-1, 0)
    r = run_tshape("view", "[[]]", "--shape", "-1,0", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "view_cannot_infer"


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("[nan, inf, -inf]", [NAN, INF, -INF]),
        ("[NaN, Infinity, -Infinity]", [NAN, INF, -INF]),
        ("(-nan, +inf, -inf)", [NAN, INF, -INF]),
        ("[1e999, -1e999, 1]", [INF, -INF, 1.0]),
        ("inf", INF),
    ],
)
def test_nan_and_inf_literals_as_torch_accepts_them(literal, value):
    r = run_tshape("unsqueeze", literal, "--dim", "0", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["inputs"]["x"], torch.tensor(value))


def test_nan_and_inf_through_weighted_and_linear():
    x = torch.tensor([[[math.nan, 1.0]], [[math.inf, 2.0]]])
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    r = run_tshape("weighted", json.dumps(x.tolist()), "-w", json.dumps(w.tolist()), "--json")
    assert r.code == 0, r.stderr  # nan == nan and inf == inf in the hand checks
    assert_tensor(r.doc["result"], torch.sum(x * w.view(2, 1, -1), dim=0))
    xl = torch.tensor([[math.inf, 1.0, -math.inf]])
    wl = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    r = run_tshape("linear", "[[inf, 1, -inf]]", "-W", json.dumps(wl.tolist()), "--no-bias", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], torch.nn.functional.linear(xl, wl))
    assert math.isnan(torch.nn.functional.linear(xl, wl)[0, 0])  # inf + -inf, as torch computes


# --- output that stays bounded ----------------------------------------------------------------------


def test_many_small_dimensions_are_summarised_not_printed_in_full():
    # (2,) * 14: 16,384 values and no dimension long enough to elide, so torch's print shows all
    shape = [2] * 14
    spec = f"arange({2**14})"
    r = run_tshape("view", spec, "--shape", ",".join(map(str, shape)), "-f", "plain")
    assert r.code == 0, r.stderr
    y = torch.arange(2**14).view(shape)
    assert f"{y.numel():,} values, too many to show" in r.stdout
    assert f"max {y.max().item()}" in r.stdout
    assert len(r.stdout) < 20_000


@pytest.mark.parametrize("fmt", ["rich", "plain"])
def test_twelve_dimensions_of_two_render_in_time(fmt):
    # rich laid out 512 nested panels for this (minutes); now at most a dozen
    start = time.perf_counter()
    r = run_tshape("unsqueeze", "rand(" + ", ".join(["2"] * 12) + ")", "--dim", "0", "-f", fmt)
    assert r.code == 0, r.stderr
    assert time.perf_counter() - start < 10
    assert r.stdout.count("[0, 0, 0, 0, 0, 0, 0, 0") <= 30


# --- the results of matmul, cat and stack, and all of a command's inputs together ---------------


def test_results_over_the_limit_are_refused_before_they_are_made():
    for args in (
        ["matmul", "ones(25000, 1)", "ones(1, 25000)"],
        ["cat", "ones(3000000)", "ones(3000000)", "ones(3000000)", "ones(3000000)"],
        ["stack", "ones(6000000)", "ones(6000000)"],
    ):
        r = run_tshape(*args)
        assert r.code == 2 and r.stdout == ""
        assert_one_line(r.stderr)
        assert "would have shape" in r.stderr, r.stderr
    # the same shapes alone are explained
    r = run_tshape("matmul", "shape(25000, 1)", "shape(1, 25000)", "-q")
    assert r.code == 0 and r.stdout.split() == ["25000", "25000"]


def _limited(args: list[str], megabytes: int = 1500):
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit,
    )


@pytest.mark.parametrize("command", ["cat", "broadcast"])
def test_the_inputs_of_one_command_are_bounded_together(command):
    # 60 × 10 M float32 is 2.4 GB: under a 1.5 GB address space it fits only if refused early
    from tensorshape_cli.runner import TOTAL_INPUTS_FACTOR
    from tensorshape_cli.settings import DEFAULT_MAX_ELEMENTS

    proc = _limited([command, *["ones(10000000)"] * 60])
    assert proc.returncode == 2, proc.stderr[-300:]
    assert proc.stderr.count("\n") == 1
    limit = f"{TOTAL_INPUTS_FACTOR * DEFAULT_MAX_ELEMENTS:,}"
    assert "together" in proc.stderr and limit in proc.stderr


def test_nan_in_cat_is_unchanged():
    r = run_tshape("cat", "[nan, 1.0]", "[2.0]", "--json")
    assert r.code == 0, r.stderr
    y = torch.cat([torch.tensor([math.nan, 1.0]), torch.tensor([2.0])])
    assert [c["ok"] for c in r.doc["checks"]] == [True] * len(r.doc["checks"])
    assert r.doc["result"]["shape"] == list(y.shape)
    # a piece that differs is still ✗ (the check can fail)
    from tensorshape_cli.ops.cat import same_values

    assert same_values("p", y[:2], "a", torch.tensor([math.nan, 1.0]))[1]
    assert not same_values("p", y[:2], "a", torch.tensor([math.nan, 5.0]))[1]
    assert not same_values("p", y[:2], "a", torch.tensor([0.0, 1.0]))[1]


def test_arange_beyond_any_size_under_meta_is_a_sentence():
    line = refused("unsqueeze", "arange(-1e308, 1e308)", "--meta")
    assert "arange" in line


def test_a_long_expression_does_not_keep_every_intermediate_alive():
    # 30 terms of 10 M float32: 1.2 GB if every partial sum were kept; under a 2 GB address
    # space it completes only if what no later step needs is freed
    import json

    expression = " + ".join(["x"] * 30)
    args = ["expr", expression, "-t", "x=ones(10000000)", "--max-elements", "40000000", "--json"]
    proc = _limited(args, megabytes=2048)
    assert proc.returncode == 0, proc.stderr[-300:]
    want = sum([torch.ones(10)] * 30)  # the same sum on ten elements: every element alike
    result = json.loads(proc.stdout)["result"]
    assert result["shape"] == [10000000]
    assert result["summary"]["min"] == result["summary"]["max"] == float(want[0])


def test_the_summary_memo_is_bounded_by_max_elements():
    from tensorshape_cli import describe, settings

    with settings.use(settings.Settings(max_elements=1000)):
        memo = settings.memo()
        kept = [torch.full((400,), float(i)) for i in range(5)]
        for i, x in enumerate(kept):
            assert describe.summary(x)["max"] == float(x.max())
            assert sum(v.numel() for v, _ in memo.summaries.values()) <= 1000, i
        # a tensor let go is summarised again, from its own elements
        assert describe.summary(kept[0])["max"] == float(kept[0].max())

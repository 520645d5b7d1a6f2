"""The command line as a whole: help, version, output formats, quiet, elision, exit codes, demo.

Most tests run in-process (the `tshape` fixture); a few run the console script in a
subprocess to see the real exit code and stderr (each pays torch's import).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import typer
from conftest import (
    CLEAN_ENV,
    assert_one_line,
    assert_schema,
    assert_tensor,
    parse_literal,
    plain_summary,
    run_tshape,
    step_tensors,
    torch_layout,
)
from typer.testing import CliRunner

from tensorshape_cli import __version__
from tensorshape_cli.cli import app
from tensorshape_cli.options import Common

# The commands that explain an operation (not `serve`, a group that manages the warm server).
COMMANDS = sorted(
    name
    for name, command in typer.main.get_command(app).commands.items()  # type: ignore[attr-defined]
    if not hasattr(command, "commands")
)
COMMON_OPTIONS = ["--format", "--json", "--quiet", "--dtype", "--seed", "--max-elements", "--max-values"]
TSHAPE_SCRIPT = Path(sys.executable).parent / "tshape"


# --- help and version -------------------------------------------------------------------------


def test_every_expected_command_exists():
    assert {"unsqueeze", "view", "weighted", "weighted-sum", "linear", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_of_every_command(tshape, command, flag):
    r = tshape(command, flag)
    assert r.code == 0
    assert r.stderr == ""
    assert r.stdout.startswith(f"Usage: tshape {command} ")
    for option in COMMON_OPTIONS:
        assert option in r.stdout, option
    # a description, not only the usage line and options
    description = r.stdout.split("\n\n")[1].strip()
    assert len(description) > 10


def test_top_level_help_lists_every_command(tshape):
    r = tshape("--help")
    assert r.code == 0
    assert r.stdout.startswith("Usage: tshape ")
    for command in COMMANDS:
        assert re.search(rf"^\s+{re.escape(command)}\s+\S", r.stdout, re.MULTILINE), command
    for word in ("zeros", "arange", "@", "standard input"):
        assert word in r.stdout


ROOT = Path(__file__).resolve().parent.parent
SHARED_OPTIONS = {"--" + f.name.replace("_", "-") for f in dataclasses.fields(Common)}


def help_examples(help_text: str) -> list[str]:
    """The command lines under "Examples:" in a --help."""
    lines = help_text.split("Examples:", 1)[1].splitlines()[1:] if "Examples:" in help_text else []
    examples = []
    for line in lines:
        if not line.strip().startswith("tshape "):
            break
        examples.append(line.strip())
    return examples


HELP_EXAMPLES = [
    (command, example)
    for command in COMMANDS
    for example in help_examples(run_tshape(command, "--help").stdout)
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shows_two_or_three_examples(tshape, command):
    examples = help_examples(tshape(command, "--help").stdout)
    assert 2 <= len(examples) <= 3, examples
    assert all(shlex.split(e)[1] == command for e in examples), examples


@pytest.mark.parametrize(("command", "example"), HELP_EXAMPLES, ids=[e for _, e in HELP_EXAMPLES])
def test_every_example_in_the_help_runs_as_pasted(tshape, command, example, monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name files under examples/
    expected = re.search(r"#\s*exit (\d+)", example)
    argv = shlex.split(example, comments=True)
    assert argv[:2] == ["tshape", command]
    r = tshape(*argv[1:], "-f", "plain")
    assert r.code == (int(expected.group(1)) if expected else 0), r.stderr
    if r.code == 0:
        assert r.stderr == ""


def _help_options(help_text: str) -> list[str]:
    """The long options of a --help, in the order it lists them."""
    options = help_text.split("Options:", 1)[1]
    return re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", options, re.MULTILINE)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_commands_own_options_come_before_the_shared_ones(tshape, command):
    listed = [o for o in _help_options(tshape(command, "--help").stdout) if o != "--help"]
    own = [i for i, o in enumerate(listed) if o not in SHARED_OPTIONS]
    shared = [i for i, o in enumerate(listed) if o in SHARED_OPTIONS]
    assert set(SHARED_OPTIONS) <= set(listed)
    assert not own or max(own) < min(shared), listed


def test_the_seed_range_is_checked_but_not_shown(tshape):
    for command in COMMANDS:
        assert not re.search(r"\d{10}", tshape(command, "--help").stdout), command
    r = tshape("unsqueeze", "[1]", "--dim", "0", "-q", "--seed", str(2**64))
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "--seed" in r.stderr
    assert tshape("unsqueeze", "[1]", "--dim", "0", "-q", "--seed", str(2**64 - 1)).code == 0
    assert tshape("unsqueeze", "[1]", "--dim", "0", "-q", "--seed", str(-(2**63))).code == 0
    assert tshape("unsqueeze", "[1]", "--dim", "0", "-q", "--seed", str(-(2**63) - 1)).code == 2


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(tshape, flag):
    r = tshape(flag)
    assert r.code == 0
    assert r.stdout == f"tshape {__version__}\n"
    assert r.stderr == ""


def test_no_arguments_shows_usage_without_an_error_line(tshape):
    r = tshape()
    assert r.code == 2
    assert "Usage: tshape" in r.stdout + r.stderr
    # the help is the answer: not wrapped in an error message, and stderr stays one line at most
    assert "error: Usage" not in r.stderr
    assert len(r.stderr.splitlines()) <= 1, r.stderr


# --- output formats ---------------------------------------------------------------------------


def test_json_flag_is_format_json(tshape):
    a = tshape("view", "arange(1, 13)", "-s", "3,-1", "--json")
    b = tshape("view", "arange(1, 13)", "-s", "3,-1", "--format", "json")
    c = tshape("view", "arange(1, 13)", "-s", "3,-1", "-f", "json")
    assert a.code == b.code == c.code == 0
    assert a.stdout == b.stdout == c.stdout
    assert a.doc["result"]["shape"] == list(torch.arange(12).view(3, -1).shape)


def test_default_format_without_a_terminal_is_plain(tshape):
    default = tshape("weighted")
    plain = tshape("weighted", "-f", "plain")
    assert default.code == plain.code == 0
    assert default.stdout == plain.stdout
    assert "\x1b[" not in default.stdout


def test_rich_format(tshape):
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    w = torch.arange(1, 7, dtype=torch.float32).view(3, 2)
    expected = torch.sum(x * w.view(3, 1, -1), dim=0)
    r = tshape("weighted", "-f", "rich")
    assert r.code == 0
    assert r.stderr == ""
    for value in expected.flatten().tolist():
        assert f"{value:.0f}." in r.stdout
    assert "batch=0, class=0" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no escape codes


def test_rich_format_reports_errors(tshape):
    r = tshape("view", "arange(1, 13)", "-s", "5,3", "-f", "rich")
    assert r.code == 1
    assert "15" in r.stdout
    assert "12" in r.stdout


def _colour_codes(text: str) -> list[str]:
    colours = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 38 or 40 <= int(p) <= 48 or 90 <= int(p) <= 107):
                colours.append(p)
    return colours


def test_no_color_is_honoured(tshape):
    coloured = tshape("unsqueeze", "[1, 2]", "--dim", "0", "-f", "rich", env={"FORCE_COLOR": "1"})
    assert coloured.code == 0
    assert _colour_codes(coloured.stdout), "FORCE_COLOR should give colours"
    plain = tshape(
        "unsqueeze", "[1, 2]", "--dim", "0", "-f", "rich", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert plain.code == 0
    assert _colour_codes(plain.stdout) == []


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        (["unsqueeze", "[1, 2, 3]", "--dim", "0"], torch.tensor([1, 2, 3]).unsqueeze(0).shape),
        (["unsqueeze", "[1, 2, 3]", "--dim", "-1"], torch.tensor([1, 2, 3]).unsqueeze(-1).shape),
        (["view", "arange(1, 13)", "-s", "2,-1,3"], torch.arange(1, 13).view(2, -1, 3).shape),
        (["weighted"], torch.Size([2, 2])),
        (
            ["linear", "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]", "-o", "5"],
            torch.nn.Linear(3, 5)(torch.ones(3, 3)).shape,
        ),
    ],
)
def test_quiet_prints_the_result_shape(tshape, args, shape):
    for flag in ("-q", "--quiet"):
        r = tshape(*args, flag)
        assert r.code == 0
        assert r.stderr == ""
        assert r.stdout == " ".join(map(str, shape)) + "\n"


def test_quiet_one_three(tshape):
    assert tshape("unsqueeze", "[1, 2, 3]", "--dim", "0", "-q").stdout == "1 3\n"


# --- JSON schema ------------------------------------------------------------------------------------

SCHEMA_CASES = [
    ["unsqueeze", "[1, 2, 3]", "--dim", "0"],
    ["unsqueeze", "[1, 2, 3]", "--dim", "-2"],
    ["unsqueeze", "[[1, 2], [3, 4]]"],
    ["unsqueeze", "[1, 2, 3]", "--dim", "7"],
    ["view", "arange(1, 13)", "-s", "3,-1"],
    ["view", "arange(1, 13)", "-s", "5,3"],
    ["view", "[[1, 2], [3, 4]]", "--transpose", "0,1", "-s", "4"],
    ["weighted"],
    ["weighted", "ones(4, 2, 2)", "-w", "ones(3, 2)"],
    ["linear"],
    ["linear", "[[1, 2, 3, 4]]", "-W", "[[1, 0, 0], [0, 1, 0]]"],
    ["demo"],
]


@pytest.mark.parametrize("args", SCHEMA_CASES, ids=[" ".join(a) for a in SCHEMA_CASES])
def test_json_schema_version_1(tshape, args):
    r = tshape(*args, "--json")
    assert r.code in (0, 1)
    assert r.docs
    for doc in r.docs:
        assert_schema(doc)
    errors = [doc["error"] for doc in r.docs if doc["error"] is not None]
    assert (r.code == 1) == bool(errors)


def test_json_schema_when_values_are_elided(tshape):
    r = tshape("unsqueeze", "arange(2000)", "--dim", "0", "--json")
    assert r.code == 0
    assert r.doc["result"]["values"] is None
    assert_schema(r.doc)


def test_json_is_one_line_per_explanation(tshape):
    r = tshape("unsqueeze", "[[1, 2], [3, 4]]", "--json")
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["op"] == "unsqueeze"


def test_json_has_no_nan_constants(tshape):
    expected = torch.tensor([float("nan"), float("inf"), -float("inf")]).unsqueeze(0)
    r = tshape("unsqueeze", "[nan, inf, -inf]", "--dim", "0", "--json")
    assert r.code == 0
    doc = r.doc  # parsed strictly: NaN / Infinity constants would raise
    assert_tensor(doc["result"], expected)


def test_json_exact_for_unsqueeze(tshape):
    x = torch.tensor([1, 2, 3])
    y = x.unsqueeze(0)
    doc = tshape("unsqueeze", "[1, 2, 3]", "--dim", "0", "--json").doc
    assert doc["schema_version"] == 1
    assert doc["op"] == "unsqueeze"
    assert doc["call"] == "torch.unsqueeze(x, 0)"
    assert doc["inputs"] == {
        "x": {
            "shape": [3],
            "dtype": "int64",
            "stride": list(x.stride()),
            "contiguous": True,
            "values": x.tolist(),
        }
    }
    assert doc["result"] == {
        "shape": list(y.shape),
        "dtype": "int64",
        "stride": list(y.stride()),
        "contiguous": True,
        "values": y.tolist(),
    }
    assert doc["error"] is None


# --- elision -------------------------------------------------------------------------------------


def test_large_tensor_values_are_elided_in_json(tshape):
    x = torch.arange(2000)
    r = tshape("unsqueeze", "arange(2000)", "--dim", "0", "--json")
    assert r.code == 0
    doc = r.doc
    assert_tensor(doc["inputs"]["x"], x, values=False)
    assert_tensor(doc["result"], x.unsqueeze(0), values=False)
    assert doc["inputs"]["x"]["values"] is None
    assert doc["result"]["values"] is None
    assert len(r.stdout) < 20_000


def test_large_tensor_values_are_elided_in_plain(tshape):
    x = torch.arange(2000)
    r = tshape("unsqueeze", "arange(2000)", "--dim", "0", "-f", "plain")
    assert r.code == 0
    assert "..." in r.stdout
    assert len(r.stdout.splitlines()) < 60
    assert torch_layout(x) in r.stdout  # torch's own elided print: first 3, ..., last 3
    assert "1999" in r.stdout
    assert "1000" not in r.stdout


def test_large_matrix_is_elided_in_plain(tshape):
    y = torch.arange(2000).view(40, 50)
    r = tshape("view", "arange(2000)", "-s", "40,-1", "-f", "plain")
    assert r.code == 0
    assert torch_layout(y) in r.stdout
    assert len(r.stdout.splitlines()) < 60


@pytest.mark.parametrize(("limit", "shown"), [(20, True), (19, False), (0, False), (1000, True)])
def test_max_values(tshape, limit, shown):
    x = torch.arange(20)
    r = tshape("unsqueeze", "arange(20)", "--dim", "0", "--max-values", str(limit), "--json")
    assert r.code == 0
    doc = r.doc
    if shown:
        assert_tensor(doc["result"], x.unsqueeze(0))
    else:
        assert doc["result"]["values"] is None
        assert_tensor(doc["result"], x.unsqueeze(0), values=False)
    plain = tshape("unsqueeze", "arange(20)", "--dim", "0", "--max-values", str(limit), "-f", "plain")
    assert ("..." in plain.stdout) is not shown
    assert ("10, 11" in plain.stdout) is shown


def test_max_values_shows_more(tshape):
    x = torch.arange(2000)
    r = tshape("unsqueeze", "arange(2000)", "--dim", "0", "--max-values", "2000", "--json")
    assert_tensor(r.doc["result"], x.unsqueeze(0))


def test_negative_max_values_is_a_usage_error(tshape):
    r = tshape("unsqueeze", "[1]", "--max-values", "-1")
    assert r.code == 2
    assert_one_line(r.stderr)


# --- exit codes and stderr --------------------------------------------------------------------

EXIT_2 = [
    ["bogus"],
    ["unsqueeze"],
    ["unsqueeze", "[1]", "--dim", "x"],
    ["unsqueeze", "[1]", "--nope"],
    ["unsqueeze", "[1]", "-f", "xml"],
    ["unsqueeze", "[1]", "--dtype", "float8"],
    ["unsqueeze", "[1]", "--max-elements", "0"],
    ["view", "[1]"],
    ["view", "[1]", "-s", "x"],
    ["weighted", "--batch", "0"],
    ["weighted", "--models", "0", "--random"],
    ["unsqueeze", "[[1, 2], [3]]"],
    ["unsqueeze", "[1,,2]"],
    ["unsqueeze", "@/nonexistent/dir/x.json"],
    ["unsqueeze", "zeroes(2)"],
    ["unsqueeze", "[9223372036854775808]"],
    ["unsqueeze", "[" * 100_000],
    ["unsqueeze", "zeros(100000, 100000)"],
    ["unsqueeze", "-"],
    ["linear", "[[1, 2, 3]]", "-W", "[[1, 0, 0], [0, 1, 0]]", "-o", "3"],
    ["linear", "[[1, 2, 3]]", "-b", "[1, 2]", "--no-bias"],
    ["weighted", "-", "-w", "-"],
]


@pytest.mark.parametrize("args", EXIT_2, ids=[" ".join(a)[:40] for a in EXIT_2])
@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_exit_2_is_one_line_on_stderr(tshape, args, fmt):
    # the format goes first, so that a bad --format later on the line is the one used
    r = tshape(*args[:1], "-f", fmt, *args[1:])
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert r.stderr.startswith("tshape")


EXIT_1 = [
    ["unsqueeze", "[1, 2, 3]", "--dim", "2"],
    ["view", "arange(1, 13)", "-s", "5,3"],
    ["view", "arange(1, 13)", "-s", "-1,-1"],
    ["view", "[[1, 2], [3, 4]]", "--transpose", "0,1", "-s", "4"],
    ["weighted", "ones(4, 2, 2)", "-w", "ones(3, 2)"],
    ["linear", "[[1, 2, 3, 4]]", "-W", "[[1, 0, 0], [0, 1, 0]]"],
]


@pytest.mark.parametrize("args", EXIT_1, ids=[" ".join(a)[:40] for a in EXIT_1])
def test_exit_1_explains_why_with_a_hint(tshape, args):
    r = tshape(*args, "--json")
    assert r.code == 1
    assert r.stderr == ""
    error = r.doc["error"]
    assert error["message"]
    assert error["hint"]
    plain = tshape(*args, "-f", "plain")
    assert plain.code == 1
    assert plain.stderr == ""
    assert error["message"] in plain.stdout
    assert error["hint"] in plain.stdout


EXIT_0 = [
    ["unsqueeze", "[1, 2, 3]", "--dim", "0"],
    ["unsqueeze", "[1, 2, 3]"],
    ["view", "arange(1, 13)", "-s", "3,-1"],
    ["weighted"],
    ["linear"],
    ["demo"],
]


@pytest.mark.parametrize("args", EXIT_0, ids=[" ".join(a) for a in EXIT_0])
@pytest.mark.parametrize("fmt", ["json", "plain", "rich"])
def test_exit_0(tshape, args, fmt):
    r = tshape(*args, "-f", fmt)
    assert r.code == 0
    assert r.stderr == ""
    assert r.stdout.strip()


@pytest.mark.parametrize("message", ["boom", "first line\nsecond line\nthird"])
def test_a_bug_is_one_line_and_no_traceback(tshape, monkeypatch, message):
    import tensorshape_cli.ops.unsqueeze as unsqueeze_op

    def broken(*args, **kwargs):
        raise ValueError(message)

    monkeypatch.setattr(unsqueeze_op, "explain", broken)
    r = tshape("unsqueeze", "[1, 2, 3]", "--dim", "0")
    assert r.code not in (0, 1, 2)
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "ValueError" in r.stderr


def test_interrupt_exits_130(tshape, monkeypatch):
    import tensorshape_cli.ops.unsqueeze as unsqueeze_op

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(unsqueeze_op, "explain", interrupted)
    r = tshape("unsqueeze", "[1, 2, 3]", "--dim", "0")
    assert r.code == 130


def test_cli_runner_on_app_agrees_with_invoke():
    # CliRunner with standalone_mode=False returns what the command returned: the exit code
    runner = CliRunner()
    for args in (EXIT_0[0], EXIT_1[0], ["unsqueeze", "[[1, 2], [3]]", "-q"]):
        direct = run_tshape(*args)
        result = runner.invoke(app, args, standalone_mode=False, env=CLEAN_ENV)
        assert result.exception is None
        assert result.return_value == direct.code
        assert result.stdout == direct.stdout


# --- demo ------------------------------------------------------------------------------------------


def test_demo_json(tshape):
    r = tshape("demo", "--json")
    assert r.code == 0
    assert r.stderr == ""
    docs = r.docs
    assert len(docs) >= 4
    assert {"unsqueeze", "view", "weighted", "linear"} <= {d["op"] for d in docs}
    for doc in docs:
        assert_schema(doc)
        assert doc["error"] is None
        assert all(c["ok"] for c in doc["checks"])
        x = torch.tensor(doc["inputs"]["x"]["values"])
        if doc["op"] == "unsqueeze":
            n = x.dim()
            tour = step_tensors(doc)[1:]
            assert len(tour) == len(doc["outputs"]) == n + 1  # each position once
            for info, output, d in zip(tour, doc["outputs"], range(n + 1), strict=True):
                assert_tensor(info, x.unsqueeze(d))
                assert_tensor(output, x.unsqueeze(d - n - 1))
        elif doc["op"] == "view":
            shape = [int(s) for s in re.search(r"view\(([^)]*)\)", doc["call"]).group(1).split(",")]
            assert_tensor(doc["result"], x.view(*shape))
        elif doc["op"] == "weighted":
            w = torch.tensor(doc["inputs"]["weights"]["values"])
            assert_tensor(doc["result"], torch.sum(x * w.view(w.shape[0], 1, -1), dim=0))
            assert doc["result"]["values"] == [[61, 88], [79, 112]]
    linear = [d for d in docs if d["op"] == "linear"]
    assert linear[0]["result"]["values"][0][0] == pytest.approx(1.2)


def test_demo_plain(tshape):
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    w = torch.arange(1, 7, dtype=torch.float32).view(3, 2)
    r = tshape("demo", "-f", "plain")
    assert r.code == 0
    assert r.stderr == ""
    n_parts = len(tshape("demo", "--json").docs)
    assert len([line for line in r.stdout.splitlines() if line.startswith("$ tshape ")]) == n_parts
    assert torch_layout(torch.sum(x * w.view(3, 1, -1), dim=0)) in r.stdout
    assert torch_layout(torch.tensor([1, 2, 3]).unsqueeze(0)) in r.stdout


def test_demo_commands_reproduce_its_parts(tshape):
    """Each `$ tshape ...` line the demo prints gives the same explanation when run."""
    import shlex

    plain = tshape("demo", "-f", "plain").stdout
    commands = [line[2:] for line in plain.splitlines() if line.startswith("$ tshape ")]
    docs = tshape("demo", "--json").docs
    assert len(commands) == len(docs)
    for command, doc in zip(commands, docs, strict=True):
        args = shlex.split(command)[1:]
        r = tshape(*args, "--json")
        assert r.code == 0, command
        assert r.doc["result"] == doc["result"], command


# --- the console script in a subprocess (slow: each imports torch) ----------------------------


def run_script(args: list[str], input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k not in CLEAN_ENV}
    proc = subprocess.run(args, input=input, capture_output=True, text=True, timeout=60, env=env)
    assert "Traceback" not in proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


def script() -> list[str]:
    if TSHAPE_SCRIPT.exists():
        return [str(TSHAPE_SCRIPT)]
    return [sys.executable, "-m", "tensorshape_cli"]


def test_script_stdin_and_quiet():
    proc = run_script([*script(), "unsqueeze", "-", "--dim", "0", "-q"], input="[1, 2, 3]\n")
    assert proc.returncode == 0
    assert proc.stdout == " ".join(map(str, torch.tensor([1, 2, 3]).unsqueeze(0).shape)) + "\n"
    assert proc.stderr == ""


def test_module_invalid_op_exits_1_with_json():
    proc = run_script(
        [sys.executable, "-m", "tensorshape_cli", "view", "arange(1, 13)", "-s", "5,3", "--json"]
    )
    assert proc.returncode == 1
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["result"] is None
    assert "15" in doc["error"]["message"]


def test_script_bad_input_exits_2_with_one_line():
    literal = "[[1, 2], [3]]"
    with pytest.raises(ValueError):
        torch.tensor(parse_literal(literal))
    proc = run_script([*script(), "unsqueeze", literal])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line(proc.stderr)
    assert "row 1 has 1 element" in proc.stderr


def test_script_usage_errors_exit_2_with_one_line():
    # no torch import on these paths
    for args in (["unsqueeze"], ["bogus"], ["view", "[1]"]):
        proc = run_script([*script(), *args])
        assert proc.returncode == 2, args
        assert proc.stdout == ""
        assert_one_line(proc.stderr)


def test_plain_summary_helper_matches_torch():
    # the helper the plain-format tests rely on
    assert plain_summary(torch.zeros(3)) == "shape (3,) · float32 · stride (1,)"

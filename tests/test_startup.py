"""Start-up: importing the CLI, --help, --version and completion never import torch (~1.7 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TSHAPE_SCRIPT = Path(sys.executable).parent / "tshape"


def python(code: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_importing_the_cli_does_not_import_torch():
    proc = python(
        "import sys\n"
        "import tensorshape_cli.cli\n"
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_help_version_of_every_command_do_not_import_torch():
    proc = python(
        "import contextlib, io, sys\n"
        "import typer\n"
        "from tensorshape_cli.cli import app, invoke\n"
        "names = sorted(typer.main.get_command(app).commands)\n"
        "lines = [['--help'], ['-h'], ['--version'], *([n, '--help'] for n in names)]\n"
        "for argv in lines:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        code = invoke(argv)\n"
        "    assert code == 0, (argv, code)\n"
        "    assert out.getvalue().strip(), argv\n"
        "print(len(lines), 'torch' in sys.modules)\n"
    )
    assert proc.returncode == 0, proc.stderr
    count, imported = proc.stdout.split()
    assert int(count) >= 9
    assert imported == "False"


def imported_modules(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Run the console script with -X importtime and return (exit code, stdout, modules imported)."""
    command = [str(TSHAPE_SCRIPT)] if TSHAPE_SCRIPT.exists() else [sys.executable, "-m", "tensorshape_cli"]
    full_env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", **(env or {})}
    proc = subprocess.run(command + args, capture_output=True, text=True, timeout=60, env=full_env)
    assert "Traceback" not in proc.stderr
    modules = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", proc.stderr, re.MULTILINE))
    assert modules, "no import timings: PYTHONPROFILEIMPORTTIME had no effect"
    return proc.returncode, proc.stdout, {m.strip() for m in modules}


def test_tshape_help_does_not_import_torch():
    code, out, modules = imported_modules(["--help"])
    assert code == 0
    assert out.startswith("Usage: tshape")
    assert "tensorshape_cli.cli" in modules
    assert "torch" not in modules


def test_command_help_does_not_import_torch():
    code, out, modules = imported_modules(["weighted", "--help"])
    assert code == 0
    assert "Usage: tshape weighted" in out
    assert "torch" not in modules


def test_completion_does_not_import_torch():
    code, out, modules = imported_modules(
        [], env={"_TSHAPE_COMPLETE": "complete_bash", "COMP_WORDS": "tshape un", "COMP_CWORD": "1"}
    )
    assert code == 0
    assert "unsqueeze" in out.split()
    assert "torch" not in modules


def test_an_explained_operation_does_import_torch():
    # the check above would pass vacuously if the timing output did not list torch at all
    code, out, modules = imported_modules(["unsqueeze", "[1, 2, 3]", "--dim", "0", "-q"])
    assert code == 0
    assert out == "1 3\n"
    assert "torch" in modules


def test_no_command_pays_for_pydantic():
    # Typer 0.28 on converts values through pydantic (0.1-0.17 s); tshape converts its own
    # (compat), so neither --help nor an explained operation imports it, whatever the Typer.
    for args in (["--help"], ["view", "--help"], ["unsqueeze", "[1, 2, 3]", "--dim", "0", "-q"]):
        code, _, modules = imported_modules(args)
        assert code == 0
        assert "typer" in modules  # the timings do list Typer's imports
        assert not {m for m in modules if m.split(".")[0] in ("pydantic", "pydantic_core")}, args


@pytest.mark.parametrize(
    "args",
    [
        ["matmul", "[[1.0, 2.0]]", "[[3.0], [4.0]]", "-q"],
        ["expr", "x @ w.T + b", "-t", "x=[[0.5, 0.6]]", "-t", "w=[[1.0, 0.0]]", "-t", "b=[0.1]", "-q"],
        ["cat", "zeros(2, 3)", "ones(2, 3)", "-q"],
        ["linear", "shape(64, 512)", "-o", "10", "-q"],
    ],
    ids=["matmul", "expr-matmul", "cat", "linear-shape-only"],
)
def test_size_checks_do_not_pay_for_sympy_or_dynamo(args):
    # Sizing a result on meta copies runs torch's meta kernels, which import sympy and
    # torch._dynamo (0.2-2 s) unless torchmeta's stand-ins are active around the check.
    code, _, modules = imported_modules(args, {"TSHAPE_NO_SERVER": "1"})
    assert code == 0
    assert "torch" in modules
    assert not {m for m in modules if m.split(".")[0] == "sympy" or m.startswith("torch._dynamo")}, args

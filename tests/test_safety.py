"""tshape never runs the text it is given: no eval/exec in the package, only AST parsing,
and code-like TENSOR text is refused quickly without any of it being run."""

from __future__ import annotations

import ast
import builtins
import time
from pathlib import Path

import pytest
from conftest import assert_one_line, run_tshape

import tensorshape_cli

PACKAGE = Path(tensorshape_cli.__file__).resolve().parent
RUNS_CODE = {"eval", "exec", "compile", "__import__", "execfile", "breakpoint"}
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "subprocess", "pty"}


def _keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def unsafe_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every place in the source that could run or unpickle data: eval, exec, compile,
    __import__, os.system, pickle & co, torch.load without weights_only=True, numpy.load
    without allow_pickle=False."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where}: from {node.module} import")
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            owner = (
                func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            )
            if isinstance(func, ast.Name) and name in RUNS_CODE:
                found.append(f"{where}: {name}()")
            elif owner == "builtins" and name in RUNS_CODE:
                found.append(f"{where}: builtins.{name}()")
            elif owner == "os" and name in {"system", "popen", "execv", "execvp", "spawnv"}:
                found.append(f"{where}: os.{name}()")
            elif owner == "torch" and name == "load" and _keyword(node, "weights_only") is not True:
                found.append(f"{where}: torch.load without weights_only=True")
            elif owner in ("np", "numpy") and name == "load" and _keyword(node, "allow_pickle") is not False:
                found.append(f"{where}: numpy.load without allow_pickle=False")
    return found


def test_the_package_never_runs_or_unpickles_data():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found = [use for f in files for use in unsafe_uses(f.read_text(encoding="utf-8"), str(f))]
    # The one process tshape starts: `serve start` launches its own warm server, the same
    # interpreter with a fixed command line (no text of the user's in it).
    launcher = str(PACKAGE / "serve" / "control.py")
    assert [use.split(": ", 1)[1] for use in found if use.startswith(launcher + ":")] == ["import subprocess"]
    assert [use for use in found if not use.startswith(launcher + ":")] == []


@pytest.mark.parametrize(
    "source",
    [
        "eval(text)",
        "exec(text)",
        "x = compile(text, 'f', 'eval')",
        "__import__(name)",
        "import builtins\nbuiltins.eval(text)",
        "import os\nos.system(text)",
        "import pickle",
        "from pickle import loads",
        "import subprocess",
        "torch.load(path)",
        "torch.load(path, weights_only=False)",
        "np.load(path)",
        "numpy.load(path, allow_pickle=True)",
    ],
)
def test_the_scan_finds_each_kind_of_unsafe_use(source):
    # the scan above can fail: each of these is flagged
    assert unsafe_uses(source)


def test_the_scan_lets_safe_uses_pass():
    safe = "ast.parse(text, mode='eval')\ntorch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)"
    assert unsafe_uses(safe) == []


# --- code-like TENSOR text ----------------------------------------------------------------------

ESCAPES = [
    "__import__('os').system('touch {marker}')",
    "[__import__('os').system('touch {marker}')]",
    "[open('{marker}', 'w')]",
    "().__class__.__bases__[0].__subclasses__()",
    "[].__class__.__mro__[1].__subclasses__()",
    "[x.__class__ for x in (1,)]",
    "[x for x in range(10**12)]",
    "(lambda: __import__('os'))()",
    "[lambda: 1]",
    "{{1, 2}}",
    "{{'a': 1}}",
    "[1, 2][0]",
    "[1] * 10**12",
    "2**10**10",
    "[2**10**10]",
    "[9**9**9**9]",
    "[1 if True else 0]",
    "[(yield)]",
    "[await x]",
    "[b'1', '2']",
    "[f'{{1}}']",
    "[...]",
    "[None]",
    "[1j]",
    "globals()",
    "[print(1)]",
    "[getattr(1, '__class__')]",
    "exec('1')",
]


def _guard_builtins(monkeypatch, text: str) -> list[str]:
    """Record every eval/exec/compile of this text to code (not to an AST) in `ran`.

    Typer evaluates type annotations with eval(); that is tshape's own source, not the text.
    """
    ran: list[str] = []
    real = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}

    def guarded(name):
        def call(source, *args, **kwargs):
            flags = args[2] if name == "compile" and len(args) > 2 else kwargs.get("flags", 0)
            to_ast = name == "compile" and flags & ast.PyCF_ONLY_AST
            if isinstance(source, str) and text.strip() in source and not to_ast:
                ran.append(f"{name}({source!r})")
            return real[name](source, *args, **kwargs)

        return call

    for name in real:
        monkeypatch.setattr(builtins, name, guarded(name))
    return ran


@pytest.mark.parametrize("template", ESCAPES)
def test_code_is_refused_quickly_and_never_run(template, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    text = template.format(marker=marker)
    ran = _guard_builtins(monkeypatch, text)
    start = time.perf_counter()
    r = run_tshape("unsqueeze", text, "--dim", "0")
    assert time.perf_counter() - start < 2
    assert r.code == 2, (text, r.stdout[:200])
    assert_one_line(r.stderr)
    assert ran == []
    assert not marker.exists()


def test_the_guard_sees_text_that_is_run(monkeypatch):
    # the guard above can fail: evaluating the text is recorded
    ran = _guard_builtins(monkeypatch, "[1, 2]")
    eval("[1, 2]")
    ast.parse("[1, 2]", mode="eval")  # an AST is not code: not recorded
    assert ran == ["eval('[1, 2]')"]


# --- output that cannot be written --------------------------------------------------------------


def _tshape_process(args, **kwargs):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", *args], timeout=120, stdin=subprocess.DEVNULL, **kwargs
    )


def test_stdout_on_a_full_disk_is_exit_2_with_a_sentence():
    import os
    import subprocess

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = _tshape_process(["demo", "-f", "plain"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "No space left" in proc.stderr


def test_stderr_on_a_full_disk_keeps_the_exit_code():
    import os
    import subprocess

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = _tshape_process(["unsqueeze", "[[1, 2], [3]]"], stdout=subprocess.DEVNULL, stderr=full)
    assert proc.returncode == 2
    # a bad command line and an unknown command are usage errors too, whatever stderr is
    for argv in (["view", "[1]"], ["bogus"]):
        with open("/dev/full", "w") as full:
            proc = _tshape_process(argv, stdout=subprocess.DEVNULL, stderr=full)
        assert proc.returncode == 2, argv


def test_an_ascii_stdout_gets_escapes_not_a_crash():
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = _tshape_process(["unsqueeze", "[1, 2]", "-d", "0", "-f", "plain"], capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert b"\\xb7" in proc.stdout  # the middle dot, escaped

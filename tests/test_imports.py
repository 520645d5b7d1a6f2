"""The package's import graph: every module imports alone in a fresh interpreter, without
torch; the imports run at module level have no cycle; and the readers of TENSOR text
(inputs.py) and of tensor files (tensorfiles.py) depend one way only (inputs → tensorfiles,
both on files.py), not even through an import inside a function."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tensorshape_cli

PACKAGE = Path(tensorshape_cli.__file__).parent

# For each module, in one fresh interpreter: forget every module of the package, import that
# one alone, and record which of the package's modules (and whether torch) it brought in.
CLOSURES = r"""
import importlib, json, pkgutil, sys
import tensorshape_cli
names = sorted(m.name for m in pkgutil.walk_packages(tensorshape_cli.__path__, "tensorshape_cli.")
               if not m.name.endswith("__main__"))
out = {}
for name in names:
    for key in [k for k in sys.modules if k == "tensorshape_cli" or k.startswith("tensorshape_cli.")]:
        del sys.modules[key]
    importlib.import_module(name)
    out[name] = sorted(k for k in sys.modules if k.startswith("tensorshape_cli.") and k != name)
    out[name] += ["torch"] if "torch" in sys.modules else []
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def closures() -> dict[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CLOSURES], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return {name: set(found) for name, found in json.loads(done.stdout).items()}


def test_every_module_imports_alone_without_torch(closures):
    assert len(closures) > 50  # the whole package was walked
    assert {name for name, found in closures.items() if "torch" in found} == set()


def test_no_module_level_import_cycle():
    """The graph of imports run when a module is imported (not those inside functions or
    under TYPE_CHECKING) has no cycle. A module's own packages are left out: Python runs
    their __init__ first whatever the module says."""
    graph = {name: _module_level_imports(name, path) for name, path in _modules().items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path being walked, 2 done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                walk(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _module_level_imports(name: str, path: Path) -> set[str]:
    modules = _modules()
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, not when imported
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                subs = {f"{child.module}.{alias.name}" for alias in child.names} & modules.keys()
                names.update(subs)  # `from pkg import mod` imports mod...
                if len(subs) < len(child.names):  # ...and pkg itself for anything else
                    names.add(child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    own_packages = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
    return (names & modules.keys()) - own_packages - {name}


def test_inputs_and_tensorfiles_depend_one_way(closures):
    assert "tensorshape_cli.inputs" not in closures["tensorshape_cli.tensorfiles"]
    assert not {"tensorshape_cli.inputs", "tensorshape_cli.tensorfiles"} & closures["tensorshape_cli.files"]
    # nor lazily: no import of inputs anywhere in tensorfiles.py or files.py, functions included
    for module in ("tensorfiles", "files"):
        assert "tensorshape_cli.inputs" not in _imported(PACKAGE / f"{module}.py"), module
    assert "tensorshape_cli.tensorfiles" not in _imported(PACKAGE / "files.py")


def _imported(path: Path) -> set[str]:
    """Every module an import statement of this file names, at any depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names

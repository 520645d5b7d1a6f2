"""%load_ext tensorshape_cli, %tshape and %%tshape, in a real kernel executing a notebook."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import torch
from torch import nn

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

KERNEL = "tshape-test"

CELLS = [
    "%load_ext tensorshape_cli",
    "import torch\nfrom torch import nn\nx = torch.arange(12.0)",
    "%tshape view x --shape 3,-1 --json",
    "%tshape view x --shape 5,-1 -q",
    "%%tshape\nm = nn.Linear(4, 2)\ny = m(torch.ones(3, 4)).relu()",
    "%%tshape --depth 0\nbad = nn.Sequential(nn.Linear(4, 2), nn.Linear(3, 1))\nbad(torch.ones(5, 4))",
    "%%tshape --deep\nz = x + 1",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The notebook run by a kernel of this very Python (a kernel spec made for the test)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "share" / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    kernel = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = nbclient.NotebookClient(
        nb, km=kernel, timeout=300, allow_errors=True, resources={"metadata": {"path": str(root)}}
    )
    try:
        client.execute()
    except RuntimeError as e:  # nbclient's "Kernel died before replying" and the like
        pytest.skip(f"no Jupyter kernel could start here: {e}")
    return [cell["outputs"] for cell in nb.cells]


def stream(outputs: list[dict[str, Any]], name: str) -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == name)


def html(outputs: list[dict[str, Any]]) -> str:
    return "".join(o["data"].get("text/html", "") for o in outputs if o["output_type"] == "display_data")


def test_the_extension_loads(executed):
    assert not [o for o in executed[0] if o["output_type"] == "error"]


def test_line_magic_runs_a_command_on_a_notebook_tensor(executed):
    doc = json.loads(stream(executed[2], "stdout"))
    x = torch.arange(12.0)
    assert doc["op"] == "view"
    assert doc["result"]["shape"] == list(x.view(3, -1).shape)
    assert doc["inputs"]["x"]["values"] == x.tolist()


def test_line_magic_reports_an_invalid_operation_in_one_line(executed):
    err = stream(executed[3], "stderr")
    assert err.startswith("tshape: ") and len(err.strip().splitlines()) == 1
    assert stream(executed[3], "stdout") == ""


def test_cell_magic_traces_the_cell(executed):
    shown = html(executed[4])
    assert shown.startswith("<pre")
    y = nn.Linear(4, 2)(torch.ones(3, 4)).relu()
    assert "F.linear" in shown and "Tensor.relu" in shown
    assert f"{y.shape[0]}, {y.shape[1]}" in shown
    assert not [o for o in executed[4] if o["output_type"] == "error"]


def test_cell_magic_shows_the_error_and_explains_it(executed):
    errors = [o for o in executed[5] if o["output_type"] == "error"]
    with pytest.raises(RuntimeError) as raised:
        nn.Sequential(nn.Linear(4, 2), nn.Linear(3, 1))(torch.ones(5, 4))
    assert errors and errors[0]["ename"] == "RuntimeError"
    assert errors[0]["evalue"] == str(raised.value)
    shown = html(executed[5])
    assert "in_features" in shown and "F.linear" in shown


def test_cell_magic_refuses_unknown_arguments(executed):
    err = stream(executed[6], "stderr")
    assert err.startswith("tshape: ") and "--depth" in err
    assert html(executed[6]) == ""  # the cell did not run: nothing traced

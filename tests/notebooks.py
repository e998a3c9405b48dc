"""Running a notebook in a Jupyter kernel of this very interpreter, for the notebook tests."""

import json
import sys
from pathlib import Path

import pytest


def execute(notebook, tmp_path_factory: pytest.TempPathFactory, timeout: int = 600):
    """Execute ``notebook`` in place in a temporary working directory; errors stay in the
    outputs (``allow_errors``) for the tests to report."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # A kernelspec named like the notebook's ("python3") that runs this very interpreter:
    # JUPYTER_PATH is searched before the user's and the system's kernelspecs, so a stray
    # ~/.local "python3" kernel for another Python cannot be picked up instead.
    jupyter_dir: Path = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_dir / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (initlab test)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    workdir = tmp_path_factory.mktemp("notebook-cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter_dir))
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        client = nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=timeout,
            allow_errors=True,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
    return notebook


def errors(notebook) -> list[str]:
    return [
        f"cell {i}: {o['ename']}: {o['evalue']}"
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o["output_type"] == "error"
    ]

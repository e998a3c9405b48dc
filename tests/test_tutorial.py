"""The tutorial notebook examples/initialization.ipynb runs clean from top to bottom."""

import re
from pathlib import Path

import pytest

from tests.notebooks import errors, execute

pytestmark = pytest.mark.slow

TUTORIAL = Path(__file__).resolve().parents[1] / "examples" / "initialization.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    return execute(notebook, tmp_path_factory)


def text(cell) -> str:
    return "".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "")
        for o in cell.get("outputs", [])
    )


def test_runs_without_errors(executed):
    assert errors(executed) == []


def test_every_code_cell_produced_its_output(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
    assert figures >= 5  # comparison, histograms, 2 variance plots, the sweep


def test_the_lesson_shows_in_the_outputs(executed):
    outputs = "\n".join(text(c) for c in executed.cells if c.cell_type == "code")
    assert "zeros: distinct units per layer [1, 1, 1]" in outputs
    assert "output saturated 100%" in outputs
    assert re.search(r"relu +xavier_normal: layer 20 / layer 1 variance measured", outputs)

"""What the terminal shows around reports: the report command's summary, the diagnose and
compare tables at 80 columns (no number cut, headings as written), and a sweep whose runs
overflow staying quiet on the console while storing them as diverged."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from initlab import compare
from initlab.cli.tables import DIAGNOSIS_COLUMNS, diagnosis_table, results_table
from initlab.experiments import parse_spec
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore
from initlab.report.data import plus_minus

NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?(e[-+]\d+)?%?$")
OVERFLOW = {
    # Five ReLU layers at scale 10: the cost stays finite (the output saturates) while the
    # trained hidden activations overflow; at scale 1 the same network trains.
    "sweep": {"seeds": 1, "iterations": 30, "record_every": 10},
    "model": {"depth": 5, "width": 8},
    "init": [{"name": "random", "scale": [10.0, 1.0]}],
    "train": {"learning_rate": 0.05},
}


def render(renderable, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.fixture(scope="module")
def comparison():
    return compare(["zeros", "random", "he"], iterations=200, record_every=100)


def test_diagnosis_headings_are_written_as_they_are(comparison):
    text = render(diagnosis_table(comparison.runs[1], None), width=200)
    for heading in DIAGNOSIS_COLUMNS:
        assert heading in text  # E[z²] was rich markup and showed as "E"


@pytest.mark.parametrize("width", [80, 120, 200])
def test_diagnosis_tables_never_cut_a_number(comparison, width):
    for run in comparison.runs:
        table = diagnosis_table(run, None)
        text = render(table, width)
        assert "…" not in text
        assert max(len(line) for line in text.splitlines()) <= width
        for row in table.rows:
            for cell in row:
                if NUMBER.match(cell):
                    assert re.search(rf"(?<![\d.]){re.escape(cell)}(?![\d.])", text), cell
    table = diagnosis_table(comparison.runs[1], None)
    whole = 1 + sum(w + 3 for w in table.widths())  # borders and padding: about 125 cells
    assert (len(table.parts(width)) == 1) == (whole <= width)
    assert len(table.parts(80)) == 2


def test_the_compare_table_reads_at_80_columns(comparison):
    text = render(results_table(comparison), 80)
    assert "…" not in text
    for run in comparison.runs:
        for number in (f"{run.result.final_cost:.6g}", f"{run.train_accuracy:.4g}"):
            assert number in text  # whole, on one line


def test_rounding_noise_shows_as_zero():
    assert plus_minus(0.5, 3.4e-16, "0.500") == " ± 0"
    assert plus_minus(0.0, 2e-17, "0") == " ± 0"
    assert plus_minus(0.993, 0.00028, "0.993") == " ± 0.00028"  # small but real: kept
    assert plus_minus(0.265, 0.0183, "0.265") == " ± 0.018"
    assert plus_minus(0.265, float("nan"), "0.265") == ""


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory) -> Path:
    spec = tmp_path_factory.mktemp("spec") / "overflow.toml"
    import tomli_w

    spec.write_text(tomli_w.dumps(OVERFLOW), encoding="utf-8")
    return spec


@pytest.mark.parametrize("workers", [1, 2])
def test_an_overflowing_sweep_is_quiet_and_stores_the_run_as_diverged(overflowing, workers):
    store = overflowing.with_name(f"w{workers}.db")
    done = subprocess.run(
        [sys.executable, "-m", "initlab.cli", "sweep", str(overflowing), "--store", str(store),
         "--workers", str(workers)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr + done.stdout
    status = {
        r.config["init"]["scale"]: r.status for r in ResultStore(store, read_only=True).rows()
    }
    assert status == {10.0: "diverged", 1.0: "completed"}


def test_the_report_command_prints_the_best_configuration_per_scheme(tmp_path):
    store = ResultStore(tmp_path / "runs.db")
    run_sweep(parse_spec({**OVERFLOW, "init": [*OVERFLOW["init"], {"name": "he"}]}), store)
    env = {**os.environ, "COLUMNS": "80"}
    run = [sys.executable, "-m", "initlab.cli", "report", str(store.path)]
    done = subprocess.run(run, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "Best configuration per scheme" in done.stdout
    assert re.search(r"│ random +│ random scale=1 \(best of 2\)", done.stdout)
    assert re.search(r"│ he +│ he \(best of 1\)", done.stdout)
    assert done.stdout.rstrip().endswith(f"Report: {store.path.with_suffix('.html')}")
    quiet = subprocess.run([*run, "--quiet"], capture_output=True, text=True, check=False)
    assert quiet.stdout == f"Report: {store.path.with_suffix('.html')}\n"

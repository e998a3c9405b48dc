"""The command line, driven in-process through typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

import initlab
from initlab import activations, datasets, initializers, optim
from initlab._io import to_json_safe
from initlab.cli import app, parse_layers
from initlab.compare import compare

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Wide enough that rich never wraps a table cell, so substrings can be checked.
runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})

# A linear network with a large step diverges within a few iterations (ReLU networks die
# instead: their cost stays finite).
DIVERGING = ["--init", "random", "--activation", "linear", "--lr", "10", "--iterations", "200"]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def strict_json(text: str) -> Any:
    """Parse JSON, rejecting the NaN/Infinity extensions Python's json accepts by default."""

    def reject(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def squash(text: str) -> str:
    """Help text with rich's panel borders and line breaks collapsed to single spaces."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


# --- help and version ------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = squash(result.stdout)
    assert "compare" in text
    assert "list" in text
    assert "--version" in text
    assert "initialization" in text


def test_no_arguments_shows_help() -> None:
    result = invoke()
    assert "compare" in result.output
    assert "Usage" in result.output


def test_compare_help_describes_the_notebook_defaults() -> None:
    result = invoke("compare", "--help")
    assert result.exit_code == 0
    text = squash(result.stdout)
    for expected in [
        "course notebook",
        "[2, 10, 5, 1]",
        "15,000 iterations",
        "learning rate 0.01",
        "zeros, random, he",
        "--init",
        "--iterations",
        "--learning-rate",
        "--lr",
        "--seed",
        "notebook",
        "--layers",
        "2,10,5,1",
        "--activation",
        "relu",
        "--out",
        "initlab-out",
        "--no-plots",
        "--checkpoints",
        "--record-every",
        "--json",
    ]:
        assert expected in text, expected
    assert "--figures WHICH comparison: comparison.png" in text
    assert "all: also cost_<init>.png and boundary_<init>.png per run" in text


# Start-up: a command loads what it uses. pydantic (Typer's option checks) only for a
# command's own options, never for --help alone; scikit-learn, SciPy, matplotlib and Numba
# only when a command trains, predicts or draws.
STARTUP_CODE = """
import sys
from initlab.cli import main
sys.argv[0] = "initlab"
try:
    main()
except SystemExit:
    pass
heavy = {"scipy", "sklearn", "matplotlib", "numba", "pandas", "pydantic"}
print(sorted(heavy & {name.split(".")[0] for name in sys.modules}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["list"], ["compare", "--help"], ["--version"]])
def test_startup_loads_no_heavy_library(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STARTUP_CODE, *args], capture_output=True, text=True, timeout=120
    )
    assert done.stdout  # the command ran
    assert done.stderr.splitlines()[-1] == "[]", done.stderr


def test_list_help() -> None:
    result = invoke("list", "--help")
    assert result.exit_code == 0
    text = squash(result.stdout)
    for kind in ("initializer", "activation", "optimizer", "dataset"):
        assert kind in text, kind


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"initlab {initlab.__version__}"


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "initlab"
    if not script.exists():
        pytest.skip("the initlab console script is not installed in this environment")
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "compare" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_first_run_announces_the_compile_and_the_next_does_not(tmp_path: Path) -> None:
    pytest.importorskip("numba")
    # A fresh Numba cache: the compiled engine must compile, and the CLI says so plainly.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "initlab.cli", "compare", "--init", "he",
               "--iterations", "20", "--no-plots", "--out", str(tmp_path)]  # fmt: skip
    runs = [subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
            for _ in range(2)]  # fmt: skip
    first, second = (run.stderr for run in runs)
    assert [run.returncode for run in runs] == [0, 0], first + second
    assert "Compiling the fast engine (relu hidden layers, sigmoid head, gd, float64)" in first
    assert "once per machine" in first
    assert re.search(r"Compiled in \d+\.\d s", first), first
    assert "Compil" not in second, second


def test_compare_in_float32_agrees_with_float64() -> None:
    # The notebook's runs in single precision: final costs within 1e-3 relative, accuracies
    # equal. Measured: He 1.8e-5 (AVX2) and 2.2e-5 (AVX-512); ×10 random 5.3e-5 and 1.8e-4.
    # float32's rounding depends on the SIMD width the sums are split over, and the ×10 run,
    # far from its minimum for thousands of iterations, amplifies it most.
    runs = {}
    for dtype in ("float64", "float32"):
        result = invoke("compare", "--init", "he", "--init", "random", "--dtype", dtype, "--json")
        assert result.exit_code == 0, result.output
        runs[dtype] = {r["init"]: r for r in json.loads(result.stdout)["runs"]}
    for init, single in runs["float32"].items():
        double = runs["float64"][init]
        assert single["final_cost"] != double["final_cost"]  # it did train in float32
        assert single["final_cost"] == pytest.approx(double["final_cost"], rel=1e-3)
        assert single["train_accuracy"] == double["train_accuracy"]
        assert single["test_accuracy"] == double["test_accuracy"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dtype", "float16"],
            "Argument `dtype` must be one of 'float64', 'float32'. Received: dtype='float16'",
        ),
        (
            ["--dtype", "float32", "--engine", "reference"],
            "The reference loop trains in float64 only",
        ),
    ],
)
def test_compare_rejects_a_bad_dtype_before_training(args: list[str], message: str) -> None:
    result = invoke("compare", "--no-plots", *args)
    assert result.exit_code == 2
    assert message in squash(result.output)


# --- compare: output -------------------------------------------------------------------


def test_compare_prints_a_table_without_plots(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    # On a fresh machine the first run announces its compile on stderr (tested above); the
    # run checked here finds the engine compiled.
    invoke("compare", "--iterations", "300", "--no-plots", "--out", str(out))
    result = invoke("compare", "--iterations", "300", "--no-plots", "--out", str(out))
    assert result.exit_code == 0, result.output
    for header in ["init", "status", "final cost", "train acc", "test acc", "why"]:
        assert header in result.stdout
    for name in ["zeros", "random", "he"]:
        assert name in result.stdout
    assert result.stdout.count("completed") == 3
    assert "symmetry not broken" in result.stdout
    assert "Figures" not in result.stdout
    assert not out.exists()
    assert result.stderr == ""  # stderr is not a terminal: no spinner


def test_compare_writes_valid_pngs_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "figures"
    result = invoke(
        "compare", "--iterations", "200", "--init", "he", "--init", "zeros", "--out", str(out),
        "--figures", "all",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = {
        "comparison.png",
        "cost_he.png",
        "boundary_he.png",
        "cost_zeros.png",
        "boundary_zeros.png",
    }
    assert {p.name for p in out.iterdir()} == expected  # no temporary files left behind
    for name in expected:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert data.endswith(b"IEND\xaeB`\x82"), name  # complete, not truncated
        assert str(out / name) in result.stdout


def test_compare_draws_the_comparison_figure_only_by_default(tmp_path: Path) -> None:
    # The per-run figures repeat the comparison's panels: drawn on request (--figures all).
    result = invoke("compare", "--iterations", "100", "--init", "he", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["comparison.png"]
    assert (tmp_path / "comparison.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"Figures: {tmp_path / 'comparison.png'}" in result.stdout


@pytest.mark.parametrize(
    "args", [["--figures", "none"], ["--no-plots"], ["--figures", "all", "--no-plots"]]
)
def test_compare_draws_no_figure_on_request(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "figures"
    result = invoke("compare", "--iterations", "50", "--init", "he", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert not out.exists()
    assert "Figures" not in result.stdout


@pytest.mark.parametrize(
    ("command", "allowed"),
    [("compare", "'comparison', 'all', 'none'"), ("diagnose", "'summary', 'all', 'none'")],
)
def test_an_unknown_figures_choice_is_refused_before_training(
    tmp_path: Path, command: str, allowed: str
) -> None:
    result = invoke(command, "--figures", "some", "--out", str(tmp_path / "figures"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Argument `figures` must be one of {allowed}. Received: figures='some'\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "figures").exists()


def test_compare_same_init_twice_gets_distinct_files(tmp_path: Path) -> None:
    result = invoke(
        "compare", "--iterations", "100", "--init", "he", "--init", "he", "--out", str(tmp_path),
        "--figures", "all",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cost_he.png").exists()
    assert (tmp_path / "cost_he_2.png").exists()


def test_compare_json_is_the_only_stdout(tmp_path: Path) -> None:
    result = invoke("compare", "--iterations", "300", "--json", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    assert payload == strict_json(json.dumps(compare(iterations=300).to_dict()))
    assert [run["init"] for run in payload["runs"]] == ["zeros", "random", "he"]
    assert result.stderr == ""
    assert (tmp_path / "comparison.png").exists()  # figures still written, silently


def test_compare_options_reach_the_library() -> None:
    result = invoke(
        "compare",
        "--json",
        "--no-plots",
        "--init",
        "glorot_uniform",
        "--layers",
        "2, 8,1",
        "--activation",
        "tanh",
        "--learning-rate",
        "0.05",
        "--iterations",
        "250",
        "--seed",
        "7",
        "--record-every",
        "50",
    )
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    expected = compare(
        ["glorot_uniform"],
        layer_sizes=[2, 8, 1],
        activation="tanh",
        learning_rate=0.05,
        iterations=250,
        seed=7,
        record_every=50,
    )
    assert payload == strict_json(json.dumps(expected.to_dict()))
    assert payload["seed"] == 7
    assert payload["layer_sizes"] == [2, 8, 1]
    assert payload["runs"][0]["checkpoints"]["iterations"] == [0, 50, 100, 150, 200]


def test_issue_example_command_compares_he_glorot_lsuv_on_moons(tmp_path: Path) -> None:
    # The issue's command, with fewer iterations to keep the suite fast.
    result = invoke(
        "compare", "--init", "he_normal", "--init", "glorot_uniform", "--init", "lsuv",
        "--layers", "2,64,64,64,1", "--activation", "tanh", "--dataset", "moons",
        "--iterations", "300", "--json", "--out", str(tmp_path), "--figures", "all",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    assert payload["dataset"] == "moons"
    assert payload["layer_sizes"] == [2, 64, 64, 64, 1]
    assert [run["init"] for run in payload["runs"]] == ["he_normal", "glorot_uniform", "lsuv"]
    for run in payload["runs"]:
        assert run["status"] == "completed"
        assert run["train_accuracy"] > 0.8
    assert (tmp_path / "boundary_lsuv.png").read_bytes().startswith(PNG_SIGNATURE)


def test_compare_multiclass_optimizer_and_user_csv(tmp_path: Path) -> None:
    spiral = invoke(
        "compare", "--dataset", "spiral", "--init", "he", "--optimizer", "adam",
        "--batch-size", "32", "--lr", "0.01", "--iterations", "400", "--seed", "0",
        "--json", "--no-plots",
    )  # fmt: skip
    assert spiral.exit_code == 0, spiral.output
    payload = strict_json(spiral.stdout)
    assert payload["layer_sizes"] == [2, 10, 5, 3]
    assert payload["output"] == "softmax"
    assert payload["optimizer"] == "adam"
    assert payload["runs"][0]["train_accuracy"] > 1 / 3

    csv = tmp_path / "points.csv"
    rows = ["x1,x2,label"] + [
        f"{i / 10},{(i % 7) / 10},{'yes' if i % 2 else 'no'}" for i in range(40)
    ]
    csv.write_text("\n".join(rows) + "\n")
    own = invoke("compare", "--dataset", str(csv), "--init", "he", "--iterations", "50",
                 "--json", "--no-plots")  # fmt: skip
    assert own.exit_code == 0, own.output
    assert strict_json(own.stdout)["layer_sizes"] == [2, 10, 5, 1]


def test_compare_checkpoints_prints_every_cost_in_full() -> None:
    result = invoke(
        "compare", "--iterations", "300", "--record-every", "100", "--no-plots", "--checkpoints"
    )
    assert result.exit_code == 0, result.output
    reference = compare(iterations=300, record_every=100)
    lines = result.stdout.splitlines()
    for index, iteration in enumerate([0, 100, 200]):
        costs = [repr(run.result.history.costs[index]) for run in reference.runs]
        rows = [line for line in lines if re.search(rf"│\s*{iteration}\s*│", line)]
        assert len(rows) == 1, (iteration, rows)
        cells = [cell.strip() for cell in rows[0].strip("│ ").split("│")]
        assert cells == [str(iteration), *costs]


def test_compare_reports_divergence_in_the_table() -> None:
    result = invoke("compare", *DIVERGING, "--no-plots")
    assert result.exit_code == 0, result.output
    match = re.search(r"diverged at iteration (\d+)", result.stdout)
    assert match is not None, result.stdout
    assert 0 < int(match.group(1)) < 200


def test_compare_json_of_a_diverged_run_is_valid(tmp_path: Path) -> None:
    result = invoke("compare", *DIVERGING, "--json", "--out", str(tmp_path), "--figures", "all")
    assert result.exit_code == 0, result.output
    (run,) = strict_json(result.stdout)["runs"]
    assert run["status"] == "diverged"
    assert isinstance(run["diverged_at"], int)
    assert run["final_cost"] is None
    assert run["train_accuracy"] is None
    assert run["test_accuracy"] is None
    assert run["checkpoints"]["costs"][-1] is None
    assert (tmp_path / "boundary_random.png").read_bytes().startswith(PNG_SIGNATURE)


def test_compare_checkpoints_of_a_diverged_run() -> None:
    result = invoke("compare", *DIVERGING, "--init", "he", "--no-plots", "--checkpoints")
    assert result.exit_code == 0, result.output
    assert "nan" in result.stdout


# --- compare: errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--init", "bogus"], "'bogus'"),
        (["--init", "he", "--init", "nope"], "'nope'"),
        (["--layers", "2,x,1"], "'x'"),
        (["--layers", ""], "''"),
        (["--layers", "3,10,1"], "layer_sizes[0]=3"),
        (["--layers", "2,10,0,1"], "[2, 10, 0, 1]"),
        (["--layers", "2"], "layer_sizes=[2]"),
        (["--lr", "0"], "learning_rate=0.0"),
        (["--learning-rate", "-1"], "learning_rate=-1.0"),
        (["--lr", "inf"], "learning_rate=inf"),
        (["--iterations", "0"], "iterations=0"),
        (["--iterations", "-5"], "iterations=-5"),
        (["--record-every", "0"], "record_every=0"),
        (["--seed", "abc"], "seed='abc'"),
        (["--seed", "-1"], "seed=-1"),
        (["--activation", "bogus"], "'bogus'"),
        (["--dataset", "moonz"], "Unknown dataset 'moonz'"),
        (["--dataset", "missing.csv"], "missing.csv"),
        (["--optimizer", "rmsprop"], "Unknown optimizer 'rmsprop'"),
        (["--batch-size", "0"], "batch_size=0"),
        (["--l2", "-1"], "l2=-1.0"),
        (["--dataset", "spiral", "--layers", "2,8,1"], "3 classes; use 3 output units"),
        (["--activation", "relu,tanh,relu"], "3 activations for 2 hidden layers"),
    ],
)
def test_compare_errors_exit_2_with_the_bad_value(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "figures"
    result = invoke("compare", "--iterations", "50", *args, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not out.exists()  # nothing is written when training fails


def test_compare_error_in_json_mode_keeps_stdout_empty() -> None:
    result = invoke("compare", "--json", "--init", "bogus")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Known initializers" in result.stderr


def test_compare_unwritable_out_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = invoke("compare", "--iterations", "50", "--init", "he", "--out", str(blocker))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write the figures")
    assert "Traceback" not in result.output


def test_parse_layers() -> None:
    assert parse_layers("2,10,5,1") == [2, 10, 5, 1]
    assert parse_layers(" 2 , 3 ,1 ") == [2, 3, 1]
    with pytest.raises(ValueError, match=r"'1\.5' in '2,1\.5,1' is not an integer"):
        parse_layers("2,1.5,1")


def test_to_json_safe_makes_strict_json() -> None:
    value = {
        "a": [1.0, math.nan, (math.inf, np.float64(-np.inf))],
        "b": np.int64(3),
        "c": np.array([0.5, np.nan]),
        "d": "x",
        "e": None,
    }
    assert to_json_safe(value) == {
        "a": [1.0, None, [None, None]],
        "b": 3,
        "c": [0.5, None],
        "d": "x",
        "e": None,
    }
    json.dumps(to_json_safe(value), allow_nan=False)


# --- list ------------------------------------------------------------------------------


def test_list_names_everything_registered() -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    registries = (
        initializers.INITIALIZERS,
        activations.ACTIVATIONS,
        optim.OPTIMIZERS,
        datasets.DATASETS,
    )
    for registry in registries:
        for entry in registry:
            assert entry.name in result.stdout
            assert entry.description in result.stdout
            for alias in entry.aliases:
                assert alias in result.stdout
    for title in ["Initializers", "Activations", "Optimizers", "Datasets"]:
        assert title in result.stdout


# --- the notebook, in full -------------------------------------------------------------


@pytest.mark.slow
def test_default_compare_reproduces_the_notebook() -> None:
    result = invoke("compare", "--json", "--no-plots")
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    assert payload["layer_sizes"] == [2, 10, 5, 1]
    assert payload["seed"] == "notebook"
    runs = {run["init"]: run for run in payload["runs"]}
    assert list(runs) == ["zeros", "random", "he"]
    assert (runs["zeros"]["train_accuracy"], runs["zeros"]["test_accuracy"]) == (0.5, 0.5)
    assert (runs["random"]["train_accuracy"], runs["random"]["test_accuracy"]) == (0.83, 0.86)
    assert (runs["he"]["train_accuracy"], runs["he"]["test_accuracy"]) == (
        0.9933333333333333,
        0.96,
    )
    he = runs["he"]["checkpoints"]
    assert he["iterations"] == list(range(0, 15_000, 1000))
    assert math.isclose(he["costs"][0], 0.8830537463419761, rel_tol=1e-9)
    assert math.isclose(he["costs"][14], 0.07357895962677362, rel_tol=1e-9)
    assert all(run["status"] == "completed" for run in runs.values())


# --- diagnose and theory ---------------------------------------------------------------


def test_diagnose_writes_records_and_figures(tmp_path: Path) -> None:
    result = invoke("diagnose", "--iterations", "400", "--every", "100", "--out", str(tmp_path),
                    "--figures", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = squash(result.stdout)
    assert "zeros: per-layer statistics" in text
    assert "symmetry not broken" in text
    assert "output saturated at start" in text
    assert "healthy at start" in text
    rows = list(csv.DictReader(io.StringIO((tmp_path / "records.csv").read_text())))
    # 3 runs × 5 recorded iterations (0, 100, 200, 300, end) × 3 layers.
    assert len(rows) == 3 * 5 * 3
    assert {row["run"] for row in rows} == {"zeros", "random", "he"}
    records = strict_json((tmp_path / "records.json").read_text())
    assert records[0]["z_hist"]["counts"]
    for name in ("variance.png", "histograms_he.png", "gradients_he.png", "boundaries_he.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE), name


def test_diagnose_draws_the_summary_figures_by_default(tmp_path: Path) -> None:
    # The figures that show why (variance, histograms, gradients); boundaries on request.
    result = invoke("diagnose", "--init", "he", "--iterations", "100", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = ["records.csv", "records.json", "histograms_he.png", "gradients_he.png",
             "variance.png"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert "Files: " + ", ".join(str(tmp_path / name) for name in names) in result.stdout
    for name in names[2:]:
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE), name


@pytest.mark.parametrize(
    "args", [["--figures", "none"], ["--no-plots"], ["--figures", "all", "--no-plots"]]
)
def test_diagnose_draws_no_figure_on_request(tmp_path: Path, args: list[str]) -> None:
    result = invoke("diagnose", "--init", "he", "--iterations", "50", "--out", str(tmp_path), *args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.csv", "records.json"]


def test_diagnose_help_lists_its_figures() -> None:
    text = squash(invoke("diagnose", "--help").stdout)
    assert "--figures WHICH summary: variance.png" in text
    assert "all: also boundaries_<init>.png" in text


def test_diagnose_json_has_findings_theory_and_records() -> None:
    result = invoke("diagnose", "--init", "he", "--init", "lsuv", "--iterations", "50",
                    "--json", "--no-plots")  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    assert payload["runs"][0]["findings"][0]["kind"] == "healthy"
    assert payload["theory"]["he"]["q"][0] > 0
    assert payload["theory"]["lsuv"] is None  # data-dependent: no prediction
    assert {row["run"] for row in payload["records"]} == {"he", "lsuv"}


def test_theory_prints_the_phase_and_the_critical_point(tmp_path: Path) -> None:
    result = invoke("theory", "--activation", "relu", "--init", "he", "--init", "xavier_normal",
                    "--depth", "30", "--out", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "critical σ_w² = 2" in result.stdout
    he_row = next(line for line in result.stdout.splitlines() if "│ he " in line)
    assert "critical" in he_row
    xavier_row = next(line for line in result.stdout.splitlines() if "xavier_normal" in line)
    assert "ordered" in xavier_row
    assert (tmp_path / "theory.png").read_bytes().startswith(PNG_SIGNATURE)

    payload = strict_json(invoke("theory", "--activation", "tanh", "--init", "he", "--depth",
                                 "10", "--json", "--no-plots").stdout)  # fmt: skip
    assert payload["critical_sigma_w2"] == pytest.approx(1.0)
    assert payload["predictions"]["he"]["phase"] == "chaotic"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["theory", "--activation", "swish"], "Unknown activation 'swish'"),
        (["theory", "--init", "lsuv"], "data-independent"),
        (["theory", "--depth", "0"], "depth=0"),
        (["diagnose", "--every", "0", "--iterations", "10"], "diagnose_every=0"),
    ],
)
def test_diagnose_and_theory_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(*args, "--no-plots", "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr


# --- sweep and report ------------------------------------------------------------------

TINY_SPEC = """
[sweep]
name = "tiny"
seeds = 2
iterations = 40

[model]
depth = [1, 2]
width = 4

[[init]]
name = "he"

[[init]]
name = "random"
scale = 1.0
"""


def test_sweep_trains_stores_and_resumes(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    assert invoke("sweep", str(spec), "--dry-run").stdout.strip() == "tiny: 8 runs, valid"
    first = invoke("sweep", str(spec), "--workers", "1")
    assert first.exit_code == 0, first.output
    assert "8 runs trained, 0 already in the store, 8 stored in" in first.stdout
    assert (tmp_path / "tiny.db").exists()
    again = invoke("sweep", str(spec), "--store", str(tmp_path / "tiny.db"))
    assert "0 runs trained, 8 already in the store" in again.stdout


def test_sweep_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nwidht = 3\n")
    result = invoke("sweep", str(bad))
    assert result.exit_code == 2
    assert "bad.toml:2: unknown key 'widht'" in result.stderr
    assert not (tmp_path / "bad.db").exists()
    good = tmp_path / "good.toml"
    good.write_text(TINY_SPEC)
    result = invoke("sweep", str(good), "--cluster", "localhost:8786")
    assert result.exit_code == 2
    assert "tcp://HOST:PORT" in result.stderr
    missing = invoke("report", str(tmp_path / "nothing.db"))
    assert missing.exit_code == 2
    assert "No result store at" in missing.stderr
    assert not (tmp_path / "nothing.db").exists()


def test_engines_agree_through_the_cli() -> None:
    # zeros and He only: the ×10 run is chaotic (ulp differences between engines grow; over
    # the full 15,000 iterations all engines still end at the notebook's 0.83 / 0.86).
    payloads = [
        strict_json(
            invoke("compare", "--engine", engine, "--init", "zeros", "--init", "he",
                   "--iterations", "300", "--json", "--no-plots").stdout
        )
        for engine in ("reference", "numpy", "auto")
    ]  # fmt: skip
    accuracies = [[(r["train_accuracy"], r["test_accuracy"]) for r in p["runs"]] for p in payloads]
    assert accuracies[0] == accuracies[1] == accuracies[2]
    he = [p["runs"][1]["final_cost"] for p in payloads]
    assert he[1] == pytest.approx(he[0], rel=1e-12)
    assert he[2] == pytest.approx(he[0], rel=1e-12)
    bad = invoke("compare", "--engine", "bogus", "--no-plots")
    assert bad.exit_code == 2
    assert "Received: 'bogus'" in bad.stderr

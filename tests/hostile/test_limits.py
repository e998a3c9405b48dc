"""Limits before allocation (issue 13): requests too large for memory are refused, before
anything is allocated, with a message naming the estimate, the limit and how to raise it.

The CLI cases run under the suite's 2 GiB address-space limit (``conftest.run_cli``): each
request below needs terabytes, so a regression that allocates fails fast with
``MemoryError`` (a traceback) instead of exhausting the machine. The library cases run in
this process; their requests are refused by arithmetic on the arguments alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from initlab import limits
from initlab.cli.common import EXIT_USAGE

from .conftest import assert_clean_error, run_cli

HOW = "(INITLAB_MAX_MEMORY, or --max-memory)"
"""How to raise the limit: every refusal says it."""


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["compare", "--layers", "2,100000000,1"], ["--layers:", "100,000,000 units"]),
        (["diagnose", "--layers", "2,100000000,1"], ["--layers:", "100,000,000 units"]),
        (
            ["compare", "--iterations", "100000000000000", "--record-every", "1"],
            ["--iterations, --record-every:", "100,000,000,000,001 recorded costs"],
        ),
        (
            ["diagnose", "--iterations", "10000000", "--every", "1"],
            ["--iterations, --every:", "10,000,001"],
        ),
        (["theory", "--depth", "100000000"], ["--depth:", "100,000,001 layers"]),
    ],
    ids=["compare-layers", "diagnose-layers", "compare-history", "diagnose-records", "theory"],
)
def test_cli_refuses_what_does_not_fit(
    args: list[str], fragments: list[str], tmp_path: Path, snapshot
) -> None:
    before = snapshot(tmp_path)
    run = run_cli(*args, "--no-plots", "--out", tmp_path / "out", cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, *fragments, "the limit is", HOW)
    before.assert_unchanged()


def test_max_memory_option_lowers_the_limit(tmp_path: Path) -> None:
    # The notebook's three runs need about 0.4 MiB; a 64 KiB limit refuses them, naming it.
    run = run_cli("compare", "--max-memory", "64K", "--no-plots", cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, "the limit is 64.0 KiB", HOW)


def test_environment_variable_sets_the_limit(tmp_path: Path) -> None:
    run = run_cli("theory", "--depth", "10000", "--no-plots", cwd=tmp_path,
                  env={limits.ENV_MAX_MEMORY: "1M"})  # fmt: skip
    assert_clean_error(run, EXIT_USAGE, "--depth:", "10,001 layers", "the limit is 1.0 MiB")


def test_max_memory_option_rejects_a_bad_size(tmp_path: Path) -> None:
    run = run_cli("theory", "--max-memory", "lots", cwd=tmp_path)
    assert run.returncode == EXIT_USAGE, str(run)
    assert "'lots'" in run.output
    assert "8G" in run.output
    assert "Traceback" not in run.output


def test_a_bad_environment_value_is_named(tmp_path: Path) -> None:
    run = run_cli("theory", "--no-plots", cwd=tmp_path, env={limits.ENV_MAX_MEMORY: "-3"})
    assert_clean_error(run, EXIT_USAGE, "INITLAB_MAX_MEMORY", "'-3'")


def test_a_huge_generated_data_set_is_refused_in_a_spec(tmp_path: Path, snapshot) -> None:
    spec = tmp_path / "big.toml"
    spec.write_text('[data]\ndataset = "moons"\n[data.options]\nn_train = 10000000000\n')
    before = snapshot(tmp_path)
    run = run_cli("sweep", spec, cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, "big.toml:4:", "10,000,000,100 points", HOW)
    before.assert_unchanged()  # no store created


# --- the library ------------------------------------------------------------------------


def test_compare_refuses_before_drawing_weights() -> None:
    from initlab.compare import compare

    with pytest.raises(limits.LimitError, match=r"100,000,000 units.*INITLAB_MAX_MEMORY"):
        compare(["he"], layer_sizes=[2, 100_000_000, 1], iterations=10)


def test_train_refuses_a_history_that_does_not_fit() -> None:
    from initlab import MLP, circles, init_params, train

    data, mlp = circles(), MLP([2, 3, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    with pytest.raises(limits.LimitError, match="recorded costs") as caught:
        train(mlp, params, data.X_train, data.y_train, iterations=10**15, record_every=1)
    assert caught.value.cause == ("iterations", "record_every")


def test_train_batch_refuses_checkpoints_that_do_not_fit() -> None:
    from initlab import MLP, circles, init_params
    from initlab.engine import train_batch

    data, mlp = circles(), MLP([2, 3, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    with pytest.raises(limits.LimitError, match="records per run, every 1 iteration"):
        train_batch(mlp, [params], data.X_train, data.y_train, iterations=10**13,
                    record_every=10**13, checkpoint_every=1, engine="numpy")  # fmt: skip


def test_estimator_refuses_before_allocating() -> None:
    from initlab import MLPClassifier, circles

    data = circles()
    model = MLPClassifier(hidden_layer_sizes=(100_000_000, 100_000_000), max_iter=10)
    with pytest.raises(limits.LimitError, match="weights and biases"):
        model.fit(data.X_train, data.y_train)


def test_theory_refuses_a_depth_that_does_not_fit() -> None:
    from initlab import theory

    with pytest.raises(limits.LimitError, match="1,000,000,000 layers"):
        theory.propagate("relu", 2.0, depth=10**9)


def test_generated_data_set_is_refused_before_generating() -> None:
    from initlab import datasets

    with pytest.raises(limits.LimitError, match=r"'moons' with 10,000,000,100 points"):
        datasets.load("moons", n_train=10**10)


def test_a_data_file_is_refused_from_its_size(tmp_path: Path, monkeypatch) -> None:
    file = tmp_path / "data.csv"
    file.write_text("x,y,label\n" + "1,2,0\n3,4,1\n" * 1000)
    monkeypatch.setenv(limits.ENV_MAX_MEMORY, "64K")  # 12 kB of CSV × 20 > 64 KiB
    from initlab import datasets

    with pytest.raises(limits.LimitError, match=r"data\.csv"):
        datasets.load(file.as_posix())


def test_the_limit_leaves_ordinary_runs_alone() -> None:
    # The notebook's comparison and a 1,024-run batch of it need far less than 1 GiB: the
    # estimates are upper bounds "within a small factor", not refusals of normal work.
    notebook = limits.training_estimate([2, 10, 5, 1], 300, models=3, iterations=15_000,
                                        record_every=1000, diagnose_every=15_000)  # fmt: skip
    sweep = limits.training_estimate([2, 64, 64, 1], 300, models=1024, parallel=16,
                                     iterations=10_000, record_every=100,
                                     diagnose_every=10_000)  # fmt: skip
    assert limits.check(notebook, limit=2**30) is notebook
    assert limits.check(sweep, limit=2**30) is sweep


def test_default_limit_is_half_the_machine() -> None:
    memory = limits.physical_memory()
    assert memory is not None
    assert memory > 0
    assert limits.default_max_memory() == int(memory * limits.DEFAULT_FRACTION)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4096", 4096), ("512M", 512 * 2**20), ("8g", 8 * 2**30), ("1.5 GiB", 3 * 2**29),
     ("2TB", 2 * 2**40)],
)  # fmt: skip
def test_parse_size(text: str, size: int) -> None:
    assert limits.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1G", "8X", "1e9", "G"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="memory size") as caught:
        limits.parse_size(text)
    assert repr(text) in str(caught.value)

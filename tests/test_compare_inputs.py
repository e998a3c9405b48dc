"""``compare`` and ``initlab compare`` on regression data and with L1."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from initlab import MLP, circles, train
from initlab.compare import compare
from initlab.datasets import plane
from initlab.engine import EngineFallbackWarning
from initlab.experiments.config import initial_params
from initlab.network import r2
from initlab.rng import NOTEBOOK


def test_compare_on_a_regression_set_trains_identity_heads_scored_by_r2() -> None:
    c = compare(["zeros", "he"], dataset="plane", iterations=1500, learning_rate=0.05,
                activation="tanh")  # fmt: skip
    assert c.mlp.output == "identity"
    assert c.mlp.layer_sizes == (2, 10, 5, 1)
    data = plane()
    for run in c.runs:
        assert run.train_accuracy == pytest.approx(
            r2(c.mlp, run.result.params, data.X_train, data.y_train), rel=1e-12
        )
    zeros, he = c.runs
    assert abs(zeros.train_accuracy) < 0.05  # a constant prediction: R² ≈ 0
    assert he.train_accuracy > 0.95
    assert "symmetry" in zeros.why


def test_compare_with_l1_is_train_with_l1() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)  # the compiled engine trains L1
        c = compare(["he"], iterations=800, learning_rate=0.1, l1=0.5, record_every=100)
    data, mlp = circles(), MLP([2, 10, 5, 1])
    reference = train(mlp, initial_params(mlp, "he", NOTEBOOK, data), data.X_train,
                      data.y_train, iterations=800, learning_rate=0.1, l1=0.5,
                      record_every=100)  # fmt: skip
    # an engine's arithmetic against the reference loop: rounding only
    np.testing.assert_allclose(c.runs[0].result.history.costs, reference.history.costs, rtol=1e-10)


def test_the_cli_compares_on_regression_data_and_says_r2() -> None:
    command = [sys.executable, "-m", "initlab.cli", "compare", "--dataset", "plane", "--iterations",
               "300", "--activation", "tanh", "--init", "he", "--l1", "0.01", "--no-plots"]  # fmt: skip
    table = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    assert "train R²" in table.stdout
    assert "test R²" in table.stdout
    out = subprocess.run([*command, "--json"], capture_output=True, text=True, check=True,
                         timeout=300)  # fmt: skip
    result = json.loads(out.stdout)
    assert result["runs"][0]["test_accuracy"] > 0.5
    assert "Traceback" not in table.stderr + out.stderr

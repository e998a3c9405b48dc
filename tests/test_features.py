"""Input features (TensorFlow Playground's x₁², x₁x₂, sin x₁, …): the formulas, their names,
and a spec's ``[data] features`` reproducing the library's run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from initlab import MLP, circles, init_params, train
from initlab.datasets import PLAYGROUND_FEATURES, expand, with_features
from initlab.datasets.features import canonical, check_features
from initlab.experiments import SpecError, load_spec, parse_spec
from initlab.experiments.config import RunConfig, build, to_toml
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore
from initlab.rng import init_rng


def test_each_feature_is_its_formula() -> None:
    X = np.random.default_rng(0).normal(size=(50, 2))
    x1, x2 = X[:, 0], X[:, 1]
    got = expand(X, PLAYGROUND_FEATURES)
    wanted = np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)])
    np.testing.assert_array_equal(got, wanted)  # the same operations: exactly equal
    # any number of inputs, any order
    X3 = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(
        expand(X3, ["sin(x3)", "x2*x3", "x1"]),
        np.column_stack([np.sin(X3[:, 2]), X3[:, 1] * X3[:, 2], X3[:, 0]]),
    )


@pytest.mark.parametrize(
    ("alias", "name"),
    [("x1²", "x1^2"), ("X1**2", "x1^2"), ("x1x2", "x1*x2"), ("sin x2", "sin(x2)"),
     ("sin_x1", "sin(x1)"), (" x2 ", "x2")],
)  # fmt: skip
def test_aliases_have_one_canonical_name(alias: str, name: str) -> None:
    assert canonical(alias) == name


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["x1", "cos(x1)"], r"Unknown feature 'cos\(x1\)': give x<i>, x<i>\^2"),
        (["x1", "x3"], r"Feature 'x3' reads x3, but the data has 2 inputs \(x1…x2\)"),
        (["x1", "x1^2", "x1²"], r"Feature 'x1\^2' is given twice"),
        ([], r"at least one feature"),
        ("x1", r"a list of names"),
        (["x0"], r"Unknown feature 'x0'"),
    ],
)
def test_bad_features_are_named(names: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_features(names, 2)  # type: ignore[arg-type]


def test_a_network_on_features_trains_as_on_any_input() -> None:
    data = with_features(circles(), ["x1^2", "x2^2"])
    assert data.X_train.shape == (300, 2)
    np.testing.assert_array_equal(data.X_test, expand(circles().X_test, ["x1^2", "x2^2"]))
    mlp = MLP([2, 1])  # x1² + x2² = r²: circles are linearly separable in these features
    params = init_params(mlp, np.random.default_rng(0), "zeros")
    result = train(mlp, params, data.X_train, data.y_train, iterations=3000, learning_rate=1.0)
    assert result.accuracy(data.X_test, data.y_test) >= 0.9


SPEC = """
[sweep]
name = "features"
seeds = [4]
iterations = 200
record_every = 50

[data]
dataset = "circles"
features = {features}

[model]
depth = 1
width = 4
activation = "tanh"

[[init]]
name = "he"

[train]
learning_rate = 0.1
"""


def test_a_sweep_with_features_reproduces_the_library_run(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC.format(features='[["x1", "x2"], ["x1", "x2", "x1^2", "x1x2"]]'))
    spec = load_spec(spec_path)
    assert spec.count() == 2
    store = ResultStore(tmp_path / "runs.db")
    run_sweep(spec, store)
    rows = {tuple(row.config.get("features", ())): row for row in store.rows()}
    assert set(rows) == {("x1", "x2"), ("x1", "x2", "x1^2", "x1*x2")}
    # the library, by hand: the same data, network, stream and training
    data = with_features(circles(), ["x1", "x2", "x1^2", "x1*x2"])
    mlp = MLP([4, 4, 1], "tanh")
    params = init_params(mlp, init_rng(4), "he", X=data.X_train)
    result = train(mlp, params, data.X_train, data.y_train, iterations=200, learning_rate=0.1,
                   record_every=50)  # fmt: skip
    stored = rows[("x1", "x2", "x1^2", "x1*x2")]
    # the sweep trains on the compiled engine: equal to rounding (see tests/test_engine.py)
    assert stored.final_cost == pytest.approx(result.final_cost, rel=1e-12)
    # an exported run is a spec that runs to the same configuration
    config = RunConfig.from_row(stored.config)
    again = parse_spec(tomllib.loads(to_toml([config]))).runs()
    assert again == [config]
    assert build(config).mlp.layer_sizes == (4, 4, 1)


def test_a_feature_the_data_lacks_fails_at_the_dry_run_with_its_line(tmp_path: Path) -> None:
    from initlab.experiments.check import check_spec

    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC.format(features='["x1", "x3"]'))
    with pytest.raises(SpecError, match=r"spec.toml:\d+: .*features = \['x1', 'x3'\].*reads x3"):
        check_spec(load_spec(spec_path))
    spec_path.write_text(SPEC.format(features='["x1", "tan(x1)"]'))
    with pytest.raises(SpecError, match=r"\[data\] features.*Unknown feature 'tan\(x1\)'"):
        load_spec(spec_path)

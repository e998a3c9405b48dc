"""Regression data sets (TF Playground's plane and six bumps) and regression runs in sweeps."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from initlab import MLP, init_params, train
from initlab.datasets import Dataset, gaussians, load, plane
from initlab.datasets.generators import REGRESSION_BUMPS
from initlab.experiments import parse_spec
from initlab.experiments.config import RunConfig, build, to_toml
from initlab.experiments.runner import baseline_cost, run_sweep
from initlab.experiments.store import ResultStore
from initlab.network import r2
from initlab.rng import init_rng


def test_plane_is_its_formula_and_noise_moves_the_point_the_target_is_read_at() -> None:
    clean = plane(noise=0.0, seed=3)
    assert clean.is_regression
    assert (clean.n_targets, clean.n_outputs, clean.n_classes) == (1, 1, 0)
    np.testing.assert_allclose(clean.y_train, clean.X_train.sum(axis=1) / 10.0, rtol=1e-15)
    assert np.abs(clean.X_train).max() <= 6.0
    noisy = plane(noise=0.5, seed=3)
    np.testing.assert_array_equal(noisy.X_train, clean.X_train)  # the points stay …
    residual = noisy.y_train - clean.y_train  # … the target moves by at most 2·0.5·6 / 10
    assert 0.0 < np.abs(residual).max() <= 0.6


def test_gaussians_takes_the_largest_bump_in_magnitude() -> None:
    d = gaussians(n_train=2000, noise=0.0, seed=1)
    for x, y in zip(d.X_train[:200], d.y_train[:200], strict=True):
        values = [
            s * max(0.0, 1.0 - float(np.hypot(*(x - c))) / 2.0)
            for *c, s in REGRESSION_BUMPS.tolist()
        ]
        assert y == pytest.approx(max(values, key=abs), abs=1e-15)
    assert d.y_train.min() < -0.9
    assert d.y_train.max() > 0.9  # every sign of bump is reached
    assert (d.y_train == 0).mean() > 0.2  # and the flat ground between them


def test_a_regression_dataset_checks_its_targets() -> None:
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"y_test must hold one target .*\(2,\)"):
        Dataset("d", X, np.zeros(3), X, np.zeros(2), task="regression")
    with pytest.raises(ValueError, match=r"task.*Received: 'ranking'"):
        Dataset("d", X, np.zeros(3), X, np.zeros(3), task="ranking")


def test_baseline_is_the_cost_of_predicting_the_mean() -> None:
    y = np.random.default_rng(0).normal(size=(50, 2))
    mlp = MLP([1, 2], output="identity")
    params = init_params(mlp, np.random.default_rng(0), "zeros")
    params[0].b[:, 0] = y.mean(axis=0)  # the best constant prediction
    from initlab.network import loss

    assert baseline_cost(y, regression=True) == pytest.approx(
        loss(mlp, params, np.zeros((50, 1)), y), rel=1e-12
    )


SPEC = """
[sweep]
name = "regression"
seeds = [0, 1]
iterations = 400
record_every = 100

[data]
dataset = ["plane", "gaussians"]
options = { noise = 0.1 }

[model]
depth = 2
width = 8
activation = "tanh"

[[init]]
name = "he"

[train]
learning_rate = 0.05
"""


def test_a_regression_sweep_trains_identity_heads_and_scores_r2(tmp_path) -> None:
    store = ResultStore(tmp_path / "r.db")
    run_sweep(parse_spec(tomllib.loads(SPEC)), store)
    rows = store.rows()
    assert len(rows) == 4
    for row in rows:
        config = RunConfig.from_row(row.config)
        built = build(config)
        assert built.mlp.output == "identity"
        assert built.mlp.layer_sizes == (2, 8, 8, 1)
        # the library, by hand, from the same stream
        data = load(config.dataset, noise=0.1, seed=0)
        params = init_params(built.mlp, init_rng(config.seed), "he", X=data.X_train)
        result = train(built.mlp, params, data.X_train, data.y_train, iterations=400,
                       learning_rate=0.05, record_every=100)  # fmt: skip
        # engines agree with the reference loop to rounding (tests/test_engine.py)
        assert row.final_cost == pytest.approx(result.final_cost, rel=1e-10)
        assert row.test_accuracy == pytest.approx(
            r2(built.mlp, result.params, data.X_test, data.y_test), rel=1e-8
        )
        assert row.baseline_cost == pytest.approx(baseline_cost(data.y_train, True), rel=1e-12)
    plane_rows = [r for r in rows if r.config["dataset"] == "plane"]
    assert min(r.train_accuracy for r in plane_rows) > 0.8  # R² of a smooth plane: easy
    # an exported regression run is a spec that runs to the same configuration
    config = RunConfig.from_row(rows[0].config)
    assert parse_spec(tomllib.loads(to_toml([config]))).runs() == [config]


def test_csv_and_npz_read_regression_targets(tmp_path) -> None:
    from initlab.datasets import from_csv, from_npz

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [0.5, -1.5] + 0.25
    path = tmp_path / "r.csv"
    path.write_text(
        "a,b,price\n" + "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), y.tolist()))
    )
    d = from_csv(path, label_column="price", task="regression", test_fraction=0.25)
    assert d.is_regression
    assert (len(d.y_train), len(d.y_test)) == (30, 10)
    # every row kept exactly, in some order (repr round-trips floats)
    got = np.vstack([np.c_[d.X_train, d.y_train], np.c_[d.X_test, d.y_test]])
    np.testing.assert_array_equal(got[np.lexsort(got.T)], np.c_[X, y][np.lexsort(np.c_[X, y].T)])
    np.savez(tmp_path / "r.npz", X=X, y=y)
    n = from_npz(tmp_path / "r.npz", task="regression")
    assert n.is_regression
    assert n.y_train.dtype == np.float64
    # text targets are named, not silently turned into classes
    path.write_text("a,b,price\n1,2,3.5\n3,4,cheap\n5,6,7\n")
    with pytest.raises(ValueError, match=r"regression target must be a number: .*row 2.*'cheap'"):
        from_csv(path, label_column="price", task="regression")
    with pytest.raises(ValueError, match=r"task.*Received: task='regress'"):
        from_csv(path, task="regress")


def test_every_registered_set_declares_its_task_as_it_builds() -> None:
    from initlab.datasets import DATASETS
    from initlab.datasets.registry import task_of

    for name in DATASETS.names():
        assert task_of(name) == load(name, n_train=4, n_test=2).task, name

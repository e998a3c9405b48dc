"""The report's explorer for runs on input features (drawn over the raw plane) and for
regression runs (predictions on a colour scale)."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import numpy as np
import pytest

from initlab.datasets import expand, load, with_features
from initlab.experiments import parse_spec
from initlab.experiments.config import RunConfig, build_mlp
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore
from initlab.network import predict
from initlab.report.data import load as load_sweep
from initlab.report.data import open_store
from initlab.report.explore import BOUNDARY_CELLS, LEVELS, PAD, explorer_data

SPEC = """
[sweep]
name = "inputs"
seeds = 1
iterations = 200
[data]
dataset = "{dataset}"
features = {features}
[model]
depth = 1
width = 4
activation = "tanh"
[[init]]
name = "he"
[train]
learning_rate = 0.3
"""


def _explorer(tmp_path: Path, dataset: str, features: str) -> tuple[dict, list]:
    store = ResultStore(tmp_path / f"{dataset}.db")
    run_sweep(parse_spec(tomllib.loads(SPEC.format(dataset=dataset, features=features))), store)
    rows = store.rows()
    return explorer_data(load_sweep(open_store(tmp_path / f"{dataset}.db"))), rows


def _grid(data) -> np.ndarray:
    X = data.X_train
    xs = np.linspace(X[:, 0].min() - PAD, X[:, 0].max() + PAD, BOUNDARY_CELLS)
    ys = np.linspace(X[:, 1].min() - PAD, X[:, 1].max() + PAD, BOUNDARY_CELLS)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def _cells(entry: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(entry["cells"]), dtype=np.uint8)


def test_runs_on_features_are_drawn_over_the_raw_plane(tmp_path: Path) -> None:
    data, rows = _explorer(tmp_path, "circles", '[["x1", "x2"], ["x1^2", "x2^2", "x1*x2"]]')
    assert len(data["data"]) == 1  # one plane, whatever the features
    labels = [c["label"] for c in data["configs"]]
    assert any("x1^2" in label for label in labels)
    raw = load("circles")
    assert data["data"][0]["x"] == np.round(raw.X_train[:, 0], 3).tolist()
    by_features = {tuple(r.config["features"]): r for r in rows}
    for config in data["configs"]:
        row = next(r for f, r in by_features.items() if config["label"].endswith(",".join(f)))
        run = RunConfig.from_row(row.config)
        mlp = build_mlp(run, with_features(raw, run.features))
        wanted = predict(mlp, row.params, expand(_grid(raw), run.features))
        np.testing.assert_array_equal(_cells(data["boundaries"][config["boundary"]]), wanted)


def test_regression_runs_are_drawn_on_a_colour_scale(tmp_path: Path) -> None:
    data, (row,) = _explorer(tmp_path, "gaussians", '["x1", "x2"]')
    entry = data["data"][0]
    assert len(entry["colors"]) == LEVELS
    y = load("gaussians").y_train
    assert entry["range"] == pytest.approx([y.min(), y.max()], rel=1e-3)  # 4 significant digits
    assert set(entry["label"]) <= set(range(LEVELS))
    assert entry["label"][int(np.argmax(y))] == LEVELS - 1
    run = RunConfig.from_row(row.config)
    raw = load("gaussians")
    values = predict(build_mlp(run, raw), row.params, _grid(raw))
    steps = np.clip(np.rint((values - y.min()) / (y.max() - y.min()) * (LEVELS - 1)), 0, LEVELS - 1)
    np.testing.assert_array_equal(_cells(data["boundaries"][0]), steps.astype(np.uint8))
    assert len(np.unique(steps)) > 3  # a surface, not one class

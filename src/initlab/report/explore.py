"""The data behind the report's explorer: every configuration's cost curve and decision
boundary, compact enough to embed for thousands of configurations.

The page draws what the reader picks (``report.js``) from one JSON object that
:func:`explorer_data` builds:

- ``configs[i]`` (row ``i`` of the summary table): its label, diverged and total seeds, its
  constant-prediction loss, its mean cost curve over seeds with the lowest and highest seed
  (``it`` names one of the shared iteration grids, so a sweep's thousand curves store their
  iterations once) and the index of its decision boundary (``null`` without one, ``why``
  saying why);
- ``grids``: the distinct iteration grids;
- ``data``: each 2-D data set once (its raw inputs: a run on input features such as x₁² is
  drawn over the same plane, each grid point expanded to the run's features), its training
  points (to :data:`POINT_DIGITS` decimals) and one colour per class; for a regression set,
  each point's target as one of :data:`LEVELS` steps of a colour scale over the targets'
  range, the scale's colours and range;
- ``boundaries``: for the first seed of each configuration, the class the trained network
  gives to each cell of a :data:`BOUNDARY_CELLS` × :data:`BOUNDARY_CELLS` grid over its data
  set's range padded by 1 (as :func:`initlab.plots.plot_decision_boundary` pads it), or for
  regression its prediction's step of the colour scale, one byte per cell, base64.

Costs keep :data:`COST_DIGITS` significant digits: a curve is read on a log scale, where the
fourth digit is already below a pixel. A thousand configurations of 31 recorded iterations
make about 4 MB (measured in ``tests/test_report_browser.py``'s report of 1,040).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.datasets import Dataset, expand, with_features
from initlab.experiments.config import build_mlp
from initlab.network import predict
from initlab.report.data import Sweep, data_ident, dataset_of, run_config, runs_of

if TYPE_CHECKING:
    import pandas as pd

    from initlab.experiments.store import RunRow

BOUNDARY_CELLS = 40
"""Cells per side of a decision-boundary grid: 1,600 labels (2.1 kB in base64) per
configuration; the page smooths them when it scales the grid up."""

COST_DIGITS = 4
"""Significant digits kept of each cost."""

POINT_DIGITS = 3
"""Decimals kept of each data point's coordinates."""

PAD = 1.0
"""The margin around the data of a boundary grid, as in the report's former figures."""

LEVELS = 32
"""Steps of the colour scale a regression set's targets and predictions are drawn in."""

REGRESSION_CMAP = "RdBu_r"
"""The diverging colour scale of regression values (blue low, red high)."""


def explorer_data(sweep: Sweep) -> dict[str, Any]:
    """The JSON-ready object the page's explorer draws from (see the module docstring)."""
    grids: dict[tuple[int, ...], int] = {}
    datasets: dict[str, int] = {}
    data_out: list[dict[str, Any]] = []
    cache: dict[str, Dataset | str] = {}
    configs: list[dict[str, Any]] = []
    boundaries: list[dict[str, Any]] = []
    for _, config in sweep.configs.iterrows():
        runs = runs_of(sweep, config)
        entry = _config_entry(sweep, config, runs, grids)
        first = min(runs, key=lambda r: r.config["seed"])
        data = dataset_of(first, cache)
        if isinstance(data, str):
            entry["why"] = data
        elif data.n_features != 2:
            entry["why"] = f"{data.name} has {data.n_features} features"
        else:
            ident = data_ident(first)
            if ident not in datasets:
                datasets[ident] = len(data_out)
                data_out.append(_data_entry(data))
            entry["boundary"] = len(boundaries)
            boundaries.append(_boundary_entry(first, data, datasets[ident]))
        configs.append(entry)
    return {
        "configs": configs,
        "grids": [list(g) for g in grids],
        "data": data_out,
        "boundaries": boundaries,
        "cells": BOUNDARY_CELLS,
    }


def round_sig(number: float, digits: int = COST_DIGITS) -> float | None:
    """``number`` to ``digits`` significant digits; ``None`` (JSON ``null``) when not finite."""
    if not math.isfinite(number):
        return None
    return float(f"{number:.{digits}g}")


def _config_entry(
    sweep: Sweep, config: pd.Series, runs: Sequence[RunRow], grids: dict[tuple[int, ...], int]
) -> dict[str, Any]:
    """One configuration's label, seeds, baseline and mean/min/max cost curve."""
    costs: dict[int, list[float]] = {}
    for run in runs:
        for it, cost in zip(run.curve["iterations"], run.curve["costs"]):
            if cost is not None and math.isfinite(cost) and cost > 0:
                costs.setdefault(int(it), []).append(float(cost))
    its = tuple(sorted(costs))
    grid = grids.setdefault(its, len(grids))
    base = next((r.baseline_cost for r in runs if r.baseline_cost), None)
    return {
        "label": sweep.label(config),
        "n": len(runs),
        "diverged": sum(r.status == "diverged" for r in runs),
        "base": round_sig(base) if base is not None else None,
        "it": grid,
        "mean": [round_sig(sum(costs[i]) / len(costs[i])) for i in its],
        "lo": [round_sig(min(costs[i])) for i in its],
        "hi": [round_sig(max(costs[i])) for i in its],
        "boundary": None,
    }


def _extent(data: Dataset) -> list[float]:
    """``[x0, x1, y0, y1]``: the training data's range padded by :data:`PAD`."""
    X = data.X_train
    return [
        round(float(X[:, 0].min()) - PAD, POINT_DIGITS),
        round(float(X[:, 0].max()) + PAD, POINT_DIGITS),
        round(float(X[:, 1].min()) - PAD, POINT_DIGITS),
        round(float(X[:, 1].max()) + PAD, POINT_DIGITS),
    ]


def _data_entry(data: Dataset) -> dict[str, Any]:
    """A 2-D data set's name, extent, training points, labels and class colours."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from initlab.plots import CMAP

    entry: dict[str, Any] = {
        "name": data.name,
        "extent": _extent(data),
        "x": np.round(data.X_train[:, 0], POINT_DIGITS).tolist(),
        "y": np.round(data.X_train[:, 1], POINT_DIGITS).tolist(),
    }
    if data.is_regression:
        low, high = _value_range(data)
        entry["label"] = _levels(_first_target(data.y_train), low, high).tolist()
        entry["colors"] = [
            to_hex(colormaps[REGRESSION_CMAP](i / (LEVELS - 1))) for i in range(LEVELS)
        ]
        entry["range"] = [round_sig(low), round_sig(high)]
        return entry
    k = max(data.n_classes, 2)
    entry["label"] = np.asarray(data.y_train).astype(int).tolist()
    entry["colors"] = [to_hex(colormaps[CMAP](i / (k - 1))) for i in range(k)]
    return entry


def _first_target(y: np.ndarray) -> np.ndarray:
    """The first target of each sample (the one drawn, for several)."""
    return np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0]


def _value_range(data: Dataset) -> tuple[float, float]:
    """The range of the colour scale: the training targets' (never empty)."""
    y = _first_target(data.y_train)
    low, high = float(y.min()), float(y.max())
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def _levels(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` as steps ``0..LEVELS−1`` of the scale over ``[low, high]`` (clipped; NaN
    to the middle)."""
    with np.errstate(invalid="ignore"):
        scaled = np.nan_to_num((values - low) / (high - low), nan=0.5)
    steps: np.ndarray = np.clip(np.rint(scaled * (LEVELS - 1)), 0, LEVELS - 1).astype(np.uint8)
    return steps


def _boundary_entry(run: RunRow, data: Dataset, data_index: int) -> dict[str, Any]:
    """The classes of the run's trained network over its data set's grid (row 0 at the
    bottom), or the iteration where it diverged."""
    entry: dict[str, Any] = {"data": data_index, "seed": run.config["seed"]}
    if run.params is None:
        entry["diverged_at"] = run.diverged_at
        return entry
    x0, x1, y0, y1 = _extent(data)
    n = BOUNDARY_CELLS
    xs = np.linspace(x0, x1, n)
    ys = np.linspace(y0, y1, n)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    config = run_config(run.config)
    inputs = expand(grid, config.features) if config.features else grid
    mlp = build_mlp(config, with_features(data, config.features) if config.features else data)
    with np.errstate(over="ignore", invalid="ignore"):
        labels = predict(mlp, run.params, inputs)
    if data.is_regression:
        labels = _levels(_first_target(labels), *_value_range(data))
    entry["cells"] = base64.b64encode(labels.astype(np.uint8).tobytes()).decode("ascii")
    entry["accuracy"] = run.train_accuracy
    return entry

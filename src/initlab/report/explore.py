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
- ``data``: each 2-D data set once, its training points (to :data:`POINT_DIGITS` decimals)
  and one colour per class;
- ``boundaries``: for the first seed of each configuration, the class the trained network
  gives to each cell of a :data:`BOUNDARY_CELLS` × :data:`BOUNDARY_CELLS` grid over its data
  set's range padded by 1 (as :func:`initlab.plots.plot_decision_boundary` pads it), one byte
  per cell, base64.

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

from initlab.datasets import Dataset
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

    k = max(data.n_classes, 2)
    return {
        "name": data.name,
        "extent": _extent(data),
        "x": np.round(data.X_train[:, 0], POINT_DIGITS).tolist(),
        "y": np.round(data.X_train[:, 1], POINT_DIGITS).tolist(),
        "label": np.asarray(data.y_train).astype(int).tolist(),
        "colors": [to_hex(colormaps[CMAP](i / (k - 1))) for i in range(k)],
    }


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
    with np.errstate(over="ignore", invalid="ignore"):
        labels = predict(build_mlp(run_config(run.config), data), run.params, grid)
    entry["cells"] = base64.b64encode(labels.astype(np.uint8).tobytes()).decode("ascii")
    entry["accuracy"] = run.train_accuracy
    return entry

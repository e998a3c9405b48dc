"""Measuring a run in the playground: its metrics, per-layer records and the boundary grid.

Sessions use these to fill their curves and initial records; frames use them to draw.
Metrics are computed for a stack of parameter sets at once (:func:`stacked_metrics`): a
session's long step gets every curve point of a run in one batched NumPy pass, and the
current state's metrics are the same function on a stack of one, so a curve point is the
same number however training was stepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab.datasets import Dataset
from initlab.datasets.features import expand
from initlab.diagnostics import Recorder, Records
from initlab.engine.resumable import ResumableRun
from initlab.network import (
    MLP,
    Params,
    cost_columns,
    flatten_params,
    forward_columns,
    unflatten_params,
)


def layer_records(trainer: ResumableRun) -> tuple[Records, list[np.ndarray]]:
    """Per-layer records of the trainer's current parameters on the whole training set, and
    the gradient of every weight matrix."""
    recorder = Recorder(every=1)
    with np.errstate(all="ignore"):
        cache, grads = trainer.full_pass()
        recorder.record(trainer.iteration, trainer.mlp, trainer.params, cache, trainer.targets,
                        grads)  # fmt: skip
    return recorder.records, [g.W for g in grads]


BLOCK_BYTES = 4 << 20
"""The activations (``Z`` and ``A`` of every layer, float64) of one forward pass of a stack
are kept to about 4 MiB, near the cache: for the notebook's network on 300 points, 54
parameter sets a pass. 1,500 sets in one pass took twice as long as in blocks of 32–256
(measured on a 2-core machine: 62–68 ms against 30–34 ms)."""


def stacked_metrics(
    mlp: MLP, flat: NDArray[np.float64], data: Dataset, l2: float, l1: float = 0.0
) -> NDArray[np.float64]:
    """Train cost, test cost, train score, test score (columns) of each row of ``flat``, a
    stack of flat parameter sets ``(S, P)`` (:func:`~initlab.network.unflatten_params`).

    One forward pass per split for a block of sets at a time (``W`` of ``(S, n_out, n_in)``;
    blocks sized by :data:`BLOCK_BYTES`); the cost is the training loss (cross-entropy from
    the logits, or half the squared error of a regression head, + the L2 and L1 terms), the
    score the accuracy of the head's labels against ``y``, or for a regression network R²
    (:func:`r2_columns`, scikit-learn's ``score``); NaN where the cost is not finite or the
    split is empty. Each row's numbers depend on that row alone, not on the stack around it.
    """
    out = np.full((flat.shape[0], 4), np.nan)
    splits = ((data.X_train.T, data.y_train), (data.X_test.T, data.y_test))
    per_set = 16 * sum(mlp.layer_sizes[1:]) * max(len(data.y_train), len(data.y_test))
    block = max(1, BLOCK_BYTES // per_set)
    with np.errstate(all="ignore"):
        for first in range(0, flat.shape[0], block):
            stack = unflatten_params(mlp, flat[first : first + block])
            rows = out[first : first + block]
            for column, (A0, y) in enumerate(splits):
                if len(y):
                    rows[:, column], rows[:, 2 + column] = _cost_and_score(
                        mlp, stack, A0, y, l2, l1
                    )
    return out


def _cost_and_score(
    mlp: MLP, stack: Params, A0: NDArray[np.float64], y: NDArray[Any], l2: float, l1: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per model of ``stack``: the cost on ``(A0, y)`` and the accuracy or R² (NaN where the
    cost is not finite)."""
    logits = forward_columns(mlp, stack, A0).logits
    Y = mlp.head.encode(y)
    cost = cost_columns(mlp, stack, logits, Y, l2, l1)
    if mlp.is_regression:
        score = r2_columns(Y, logits)
    else:
        P = mlp.head.activate(logits)
        K, m = P.shape[-2:]
        labels = mlp.head.labels(np.moveaxis(P, -2, 0).reshape(K, -1)).reshape(-1, m)
        score = np.mean(labels == np.asarray(y).reshape(1, -1), axis=1)
    return cost, np.where(np.isfinite(cost), score, np.nan)


def r2_columns(Y: NDArray[np.float64], P: NDArray[np.float64]) -> NDArray[np.float64]:
    """R² of each model's predictions ``P`` ``(S, k, m)`` of the targets ``Y`` ``(k, m)`` (one
    column per example): R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² per output, averaged over the ``k``
    outputs, as :func:`initlab.network.r2` (scikit-learn's ``r2_score``); NaN where a target
    is constant or a prediction is not finite.

    >>> Y = np.array([[0.0, 1.0, 2.0]])
    >>> r2_columns(Y, np.stack([Y, Y + 1.0])).tolist()
    [1.0, -0.5]
    """
    residual = np.sum((Y - P) ** 2, axis=-1)
    total = np.sum((Y - Y.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    with np.errstate(all="ignore"):
        scores = 1.0 - residual / total
    mean: NDArray[np.float64] = np.mean(scores, axis=-1)
    return np.where(np.all(np.isfinite(scores), axis=-1), mean, np.nan)


def metrics(trainer: ResumableRun, data: Dataset) -> tuple[float, float, float, float]:
    """Train cost, test cost, train score, test score of the current parameters (the score:
    accuracy, or R² for a regression network)."""
    flat = flatten_params(trainer.params)[None]
    train_cost, test_cost, train_score, test_score = stacked_metrics(
        trainer.mlp, flat, data, trainer.l2, trainer.l1
    )[0]
    return float(train_cost), float(test_cost), float(train_score), float(test_score)


def boundary_grid(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Cell centres of a ``size × size`` grid over ``extent``, row 0 at the top (y max),
    as a ``(2, size²)`` feature-major array."""
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / size, (ymax - ymin) / size
    xs = xmin + dx * (np.arange(size) + 0.5)
    ys = ymax - dy * (np.arange(size) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.vstack([gx.ravel(), gy.ravel()])


def grid_inputs(
    extent: tuple[float, float, float, float], size: int, features: Sequence[str] = ()
) -> np.ndarray:
    """The network's inputs at the cells of :func:`boundary_grid`: the raw plane expanded to
    ``features`` (:func:`~initlab.datasets.features.expand`, one row per feature) where given,
    as the data was, so that the grid is drawn over the raw inputs ``(x₁, x₂)``."""
    grid = boundary_grid(extent, size)
    return expand(grid.T, features).T.copy() if features else grid

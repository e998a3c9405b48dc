"""Measuring a run in the playground: its metrics, per-layer records and the boundary grid.

Sessions use these to fill their curves and initial records; frames use them to draw.
Metrics are computed for a stack of parameter sets at once (:func:`stacked_metrics`): a
session's long step gets every curve point of a run in one batched NumPy pass, and the
current state's metrics are the same function on a stack of one, so a curve point is the
same number however training was stepped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from initlab.datasets import Dataset
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
    mlp: MLP, flat: NDArray[np.float64], data: Dataset, l2: float
) -> NDArray[np.float64]:
    """Train cost, test cost, train accuracy, test accuracy (columns) of each row of ``flat``,
    a stack of flat parameter sets ``(S, P)`` (:func:`~initlab.network.unflatten_params`).

    One forward pass per split for a block of sets at a time (``W`` of ``(S, n_out, n_in)``;
    blocks sized by :data:`BLOCK_BYTES`); the cost is the training loss (cross-entropy from
    the logits + L2 term), the accuracy the head's labels against ``y``, NaN where the cost is
    not finite or the split is empty. Each row's numbers depend on that row alone, not on
    the stack around it.
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
                    rows[:, column], rows[:, 2 + column] = _cost_and_accuracy(mlp, stack, A0, y, l2)
    return out


def _cost_and_accuracy(
    mlp: MLP, stack: Params, A0: NDArray[np.float64], y: NDArray[np.integer], l2: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per model of ``stack``: the cost on ``(A0, y)`` and the accuracy (NaN where the cost
    is not finite)."""
    logits = forward_columns(mlp, stack, A0).logits
    cost = cost_columns(mlp, stack, logits, mlp.head.encode(y), l2)
    P = mlp.head.activate(logits)
    K, m = P.shape[-2:]
    labels = mlp.head.labels(np.moveaxis(P, -2, 0).reshape(K, -1)).reshape(-1, m)
    accuracy = np.mean(labels == np.asarray(y).reshape(1, -1), axis=1)
    return cost, np.where(np.isfinite(cost), accuracy, np.nan)


def metrics(trainer: ResumableRun, data: Dataset) -> tuple[float, float, float, float]:
    """Train cost, test cost, train accuracy, test accuracy of the current parameters."""
    flat = flatten_params(trainer.params)[None]
    train_cost, test_cost, train_acc, test_acc = stacked_metrics(trainer.mlp, flat, data,
                                                                 trainer.l2)[0]  # fmt: skip
    return float(train_cost), float(test_cost), float(train_acc), float(test_acc)


def boundary_grid(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Cell centres of a ``size × size`` grid over ``extent``, row 0 at the top (y max),
    as a ``(2, size²)`` feature-major array."""
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / size, (ymax - ymin) / size
    xs = xmin + dx * (np.arange(size) + 0.5)
    ys = ymax - dy * (np.arange(size) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.vstack([gx.ravel(), gy.ravel()])

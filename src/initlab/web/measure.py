"""Measuring a run in the playground: its metrics, per-layer records and the boundary grid.

Sessions use these to fill their curves and initial records; frames use them to draw.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.datasets import Dataset
from initlab.diagnostics import Recorder, Records
from initlab.network import forward_columns, l2_penalty
from initlab.train import Trainer


def layer_records(trainer: Trainer) -> tuple[Records, list[np.ndarray]]:
    """Per-layer records of the trainer's current parameters on the whole training set, and
    the gradient of every weight matrix."""
    recorder = Recorder(every=1)
    with np.errstate(all="ignore"):
        cache, grads = trainer.full_pass()
        recorder.record(trainer.iteration, trainer.mlp, trainer.params, cache, trainer.targets,
                        grads)  # fmt: skip
    return recorder.records, [g.W for g in grads]


def metrics(trainer: Trainer, data: Dataset) -> tuple[float, float, float, float]:
    """Train cost, test cost, train accuracy, test accuracy of the current parameters."""
    mlp, params, l2 = trainer.mlp, trainer.params, trainer.l2
    out = []
    with np.errstate(all="ignore"):
        for X, y in ((data.X_train, data.y_train), (data.X_test, data.y_test)):
            if len(y) == 0:
                out.append((math.nan, math.nan))
                continue
            logits = forward_columns(mlp, params, X.T).logits
            Y = mlp.head.encode(y)
            cost = mlp.head.loss(logits, Y) + l2_penalty(params, l2, Y.shape[1])
            labels = mlp.head.labels(mlp.head.activate(logits)) if math.isfinite(cost) else None
            acc = float(np.mean(labels == y)) if labels is not None else math.nan
            out.append((float(cost), acc))
    (train_cost, train_acc), (test_cost, test_acc) = out
    return train_cost, test_cost, train_acc, test_acc


def boundary_grid(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Cell centres of a ``size × size`` grid over ``extent``, row 0 at the top (y max),
    as a ``(2, size²)`` feature-major array."""
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / size, (ymax - ymin) / size
    xs = xmin + dx * (np.arange(size) + 0.5)
    ys = ymax - dy * (np.arange(size) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.vstack([gx.ravel(), gy.ravel()])

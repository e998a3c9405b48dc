"""Per-layer records of runs trained on an engine, computed after training from the
parameter snapshots the engine kept (``checkpoint_every``): one forward and backward pass per
snapshot, recorded as :class:`~initlab.diagnostics.Recorder` records during training. Both
names are re-exported by :mod:`initlab.engine`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from initlab.diagnostics import HISTOGRAM_BINS, Recorder, Records
from initlab.network import MLP, Layer, Params, backward_columns, forward_columns
from initlab.train import TrainResult


def records_from_snapshots(
    mlp: MLP,
    snapshots: dict[int, Params],
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    l2: float = 0.0,
    *,
    learning_rate: float | None = None,
    end: int | None = None,
    bins: int = HISTOGRAM_BINS,
    l1: float = 0.0,
) -> Records:
    """Per-layer records from parameter snapshots, as a :class:`~initlab.diagnostics.Recorder`
    would have taken them during training: one forward and backward pass on ``(X, y)`` per
    snapshot, recorded with :meth:`Recorder.record <initlab.diagnostics.Recorder.record>`.
    The snapshots are kept in the returned ``Records``.

    learning_rate
        For plain full-batch gradient descent only, whose step is exactly
        ``−learning_rate·∇``: then the update ratios ‖ΔW‖/‖W‖ are computed (equal to the
        reference's); otherwise (``None``) they are NaN.
    end
        The iteration of the snapshot taken at the end of training, which no step followed
        (no update ratio): ``result.iterations_run`` for a completed run, ``None`` for a
        diverged one (all of whose snapshots were followed by a step).

    >>> from initlab import MLP, circles, init_params
    >>> data, mlp = circles(), MLP([2, 10, 5, 1])
    >>> params = init_params(mlp, np.random.default_rng(0), "he")
    >>> from initlab.engine import train_batch
    >>> (run,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=200,
    ...                      checkpoint_every=100, engine="numpy")
    >>> records = records_from_snapshots(mlp, run.records.snapshots, data.X_train,
    ...                                  data.y_train, learning_rate=run.learning_rate,
    ...                                  end=run.iterations_run)
    >>> records.iterations
    [0, 100, 200]
    """
    X_arr, y_valid = mlp.check_data(X, y)
    A0, Y = X_arr.T, mlp.head.encode(y_valid)
    recorder = Recorder(every=1, bins=bins)
    recorder.records = Records(snapshots=dict(snapshots))
    for iteration in sorted(snapshots):
        params = snapshots[iteration]
        with np.errstate(over="ignore", invalid="ignore"):
            cache = forward_columns(mlp, params, A0)
            grads = backward_columns(mlp, params, cache, Y, l2, l1)
        updated = None
        if learning_rate is not None and iteration != end:
            updated = [
                Layer(layer.W - learning_rate * grad.W, layer.b - learning_rate * grad.b)
                for layer, grad in zip(params, grads)
            ]
        recorder.record(iteration, mlp, params, cache, Y, grads, updated)
    return recorder.records


def attach_records(
    mlp: MLP,
    results: Sequence[TrainResult],
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    *,
    l2: float = 0.0,
    plain_gd: bool = False,
    keep_snapshots: bool = False,
    l1: float = 0.0,
) -> None:
    """Replace each result's snapshot-only ``records`` by full per-layer records
    (:func:`records_from_snapshots`), in place. ``plain_gd``: the runs took full-batch
    gradient-descent steps, so update ratios can be computed from each result's learning
    rate. Snapshots are dropped unless ``keep_snapshots``."""
    for result in results:
        snapshots = result.records.snapshots if result.records else {}
        result.records = records_from_snapshots(
            mlp, snapshots, X, y, l2,
            learning_rate=result.learning_rate if plain_gd else None,
            end=None if result.diverged else result.iterations_run, l1=l1,
        )  # fmt: skip
        if not keep_snapshots:
            result.records.snapshots.clear()

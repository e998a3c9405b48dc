"""The epoch loop of :class:`initlab.MLPClassifier` and :class:`initlab.MLPRegressor`:
scikit-learn's stopping rules on initlab's resumable trainers.

scikit-learn trains an MLP epoch by epoch and, after each, records the loss, scores the
validation set (``early_stopping``) and decides whether to stop (``tol``,
``n_iter_no_change``). :func:`train_epochs` makes the same decisions on a
:func:`~initlab.engine.resumable.resumable_trainer` — the compiled engine or the reference
loop — without paying an engine call per epoch: it trains several epochs per call, with the
parameters snapshotted at each epoch's end, and judges the epochs afterwards in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from initlab.engine.resumable import ResumableRun, run_with_snapshots
from initlab.network import MLP, Params, forward, unflatten_params
from initlab.rng import NOTEBOOK, Seed, streams

Array = NDArray[np.float64]

SEED_HIGH = int(np.iinfo(np.int32).max)
"""The validation split's seed is drawn uniformly from [0, SEED_HIGH)."""

ITERATIONS_PER_CALL = 64
"""Where a decision follows every epoch (a stopping rule, ``verbose``), the engine is still
called for whole epochs of at least this many iterations at a time, and the epochs are
judged afterwards from per-epoch parameter snapshots: each call costs about a millisecond of
set-up, which would otherwise dominate short epochs (15,000 full-batch epochs: the course)."""

SNAPSHOT_BYTES = 64 * 2**20
"""The per-epoch parameter snapshots of one engine call stay under this (64 MiB)."""


def logits(mlp: MLP, params: Params, X: Array) -> Array:
    """The output layer's pre-activations, one column per example."""
    with np.errstate(over="ignore", invalid="ignore"):  # only a diverged fit overflows
        return forward(mlp, params, X).logits


def encoded_predictions(mlp: MLP, params: Params, X: Array) -> NDArray[np.intp]:
    """The predicted class indices of the rows of ``X`` (:func:`class_indices`)."""
    return class_indices(logits(mlp, params, X))


def class_indices(Z: Array) -> NDArray[np.intp]:
    """The class indices the logits ``Z`` ``(K, m)`` predict: logit > 0 for a sigmoid unit,
    else the largest logit."""
    index: NDArray[np.intp] = (Z[0] > 0).astype(np.intp) if len(Z) == 1 else Z.argmax(axis=0)
    return index


def r2_or_nan(y: ArrayLike, predicted: Array, sample_weight: ArrayLike | None = None) -> float:
    """scikit-learn's R² (``r2_score``, uniform over the outputs), or NaN where a prediction
    is not finite (a diverged fit), as scikit-learn's MLPRegressor scores its validation set.

    R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²; a constant target scores 1 if predicted exactly, else 0
    (scikit-learn's ``force_finite``), where :func:`initlab.network.r2` gives NaN.
    """
    if not np.all(np.isfinite(predicted)):
        return math.nan
    from sklearn.metrics import r2_score  # loaded on first use: the estimators load it anyway

    return float(r2_score(y, predicted, sample_weight=sample_weight))


@dataclass
class Stopping:
    """scikit-learn's convergence rule (``BaseMultilayerPerceptron``'s
    ``_update_no_improvement_count``), fed one epoch at a time.

    On the training loss L: an epoch is *stale* when L > best − tol; on the validation
    accuracy S (``on_validation``): when S < best + tol. ``stale`` counts consecutive stale
    epochs, and training stops once it exceeds ``patience`` (``n_iter_no_change``): after
    ``patience + 1`` epochs without improvement, as scikit-learn does. ``tol=None`` never
    stops (the best validation epoch is still tracked).
    """

    tol: float | None
    patience: int
    on_validation: bool
    best_loss: float = math.inf
    best_score: float = -math.inf
    stale: int = 0

    def update(self, loss: float, score: float | None) -> tuple[bool, bool]:
        """Count one epoch; returns (its validation score is a new best, stop now)."""
        tol = self.tol or 0.0
        new_best = False
        if score is not None:
            self.stale = self.stale + 1 if score < self.best_score + tol else 0
            new_best = score > self.best_score
            self.best_score = max(self.best_score, score)
        else:
            self.stale = self.stale + 1 if loss > self.best_loss - tol else 0
            self.best_loss = min(self.best_loss, loss)
        return new_best, self.tol is not None and self.stale > self.patience

    def message(self) -> str:
        """scikit-learn's line on stopping."""
        what = "Validation score" if self.on_validation else "Training loss"
        return (
            f"{what} did not improve more than tol={self.tol:f} for {self.patience} "
            "consecutive epochs. Stopping."
        )


@dataclass(frozen=True)
class Validation:
    """The held-out set of ``early_stopping``; its score is the accuracy for a classifier,
    R² for a regression network (:func:`r2_or_nan`), as in scikit-learn."""

    X: Array
    y: NDArray[Any]
    """Encoded labels, or regression targets ``(n,)`` / ``(n, k)``."""

    def score(self, mlp: MLP, params: Params) -> float:
        if mlp.is_regression:
            Z = logits(mlp, params, self.X)
            return r2_or_nan(self.y, Z[0] if self.y.ndim == 1 else Z.T)
        return float(np.mean(encoded_predictions(mlp, params, self.X) == self.y))


@dataclass(frozen=True)
class Plan:
    max_iter: int
    per_epoch: int
    """Iterations (updates) per epoch: ⌈n / batch size⌉, 1 for a full batch."""
    diagnose_every: int | None
    verbose: bool


@dataclass
class Epochs:
    """What the epoch loop produced (see the estimators' attributes)."""

    mlp: MLP
    params: Params
    snapshots: dict[int, Params]
    """Parameters for the records, by epoch: 0, every ``diagnose_every``, the end."""
    n_iter: int = 0
    losses: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    converged: bool = False
    diverged_at: int | None = None


def train_epochs(
    trainer: ResumableRun, plan: Plan, rule: Stopping, validation: Validation | None
) -> Epochs:
    """Train up to ``plan.max_iter`` epochs, judging each by ``rule`` as scikit-learn does.

    The engine trains several whole epochs per call (:func:`epochs_per_call`), recording the
    whole-set cost at each epoch's start and, where an epoch may be judged the last or the
    best, the parameters at each epoch's end; the epochs are then judged in order. So the fit
    is the one an epoch-at-a-time loop gives (``run(a); run(b)`` is ``run(a + b)`` bit for
    bit): a stop keeps the parameters of the epoch it came after, and the epochs the last
    call trained beyond it are discarded.
    """
    judged = rule.tol is not None or validation is not None
    every = plan.per_epoch if judged else plan.per_epoch * (plan.diagnose_every or 0)
    n_params = sum(layer.W.size + layer.b.size for layer in trainer.initial)
    block = epochs_per_call(plan, judged, n_params)
    out = Epochs(trainer.mlp, params=[], snapshots={0: [layer.copy() for layer in trainer.initial]})
    stop = False
    while out.n_iter < plan.max_iter and not stop and not trainer.diverged:
        epochs = min(block, plan.max_iter - out.n_iter)
        for loss, params in _run_epochs(trainer, epochs * plan.per_epoch, plan.per_epoch, every):
            stop = _judge(out, loss, params, plan, rule, validation)
            if stop:
                break
    if trainer.diverged and not stop:
        out.losses.append(trainer.history.costs[-1])
        out.diverged_at = out.n_iter
    if not stop and (validation is None or not out.params or out.diverged_at is not None):
        out.params = [layer.copy() for layer in trainer.params]
    if out.diverged_at is None:
        out.snapshots[out.n_iter] = out.params
    return out


def _run_epochs(
    trainer: ResumableRun, iterations: int, per_epoch: int, every: int
) -> list[tuple[float, Params | None]]:
    """Train ``iterations`` more (whole epochs) in one call; for each epoch completed, its
    starting cost and, where a snapshot was taken, its final parameters (views)."""
    start, seen = trainer.iteration, len(trainer.history.costs)
    at: dict[int, int] = {}
    if every:
        snaps = run_with_snapshots(trainer, iterations, every)
        at = {iteration: q for q, iteration in enumerate(snaps.iterations)}
    else:
        trainer.run(iterations)
    costs = trainer.history.costs[seen:]
    done = (trainer.iteration - start) // per_epoch  # a diverged call stops mid-way
    ends = (start + (k + 1) * per_epoch for k in range(done))
    return [
        (costs[k], unflatten_params(trainer.mlp, snaps.flat[at[end]]) if end in at else None)
        for k, end in enumerate(ends)
    ]


def _judge(
    out: Epochs,
    loss: float,
    params: Params | None,
    plan: Plan,
    rule: Stopping,
    validation: Validation | None,
) -> bool:
    """Account for one finished epoch in ``out`` (loss, score, kept parameters, records,
    ``verbose``'s lines); returns whether training stops after it."""
    out.n_iter += 1
    out.losses.append(loss)
    score = None
    if validation is not None and params is not None:
        score = validation.score(out.mlp, params)
        out.scores.append(score)
    if plan.verbose:
        print_epoch(out.n_iter, loss, score)
    new_best, stop = rule.update(loss, score)
    if params is not None and (new_best or (stop and validation is None)):
        out.params = [layer.copy() for layer in params]
    if params is not None and plan.diagnose_every and out.n_iter % plan.diagnose_every == 0:
        out.snapshots[out.n_iter] = [layer.copy() for layer in params]
    if stop:
        out.converged = True
        if plan.verbose:
            print(rule.message(), flush=True)
    return stop


def epochs_per_call(plan: Plan, judged: bool, n_params: int) -> int:
    """Epochs per engine call: all of them where nothing is decided between epochs, else
    enough for :data:`ITERATIONS_PER_CALL` iterations, within :data:`SNAPSHOT_BYTES` of
    per-epoch snapshots."""
    if not judged and not plan.verbose:
        return plan.max_iter
    epochs = -(-ITERATIONS_PER_CALL // plan.per_epoch)
    if judged:
        epochs = min(epochs, max(1, SNAPSHOT_BYTES // (8 * n_params)))
    return epochs


def print_epoch(epoch: int, loss: float, score: float | None) -> None:
    """``verbose``'s lines, scikit-learn's words: the one place the estimator prints."""
    print(f"Iteration {epoch}, loss = {loss:.8f}", flush=True)
    if score is not None:
        print(f"Validation score: {score:f}", flush=True)


def hold_out(
    X: Array, y: NDArray[Any], fraction: float, seed: Seed, *, stratify: bool
) -> tuple[Array, NDArray[Any], Validation]:
    """``early_stopping``'s split: ``fraction`` held out, shuffled by the ``data`` stream of
    ``seed`` (seed 0's for ``"notebook"``); stratified by the labels for a classifier, not
    for regression targets (as scikit-learn splits)."""
    from sklearn.model_selection import train_test_split

    split_seed = int(streams(0 if seed == NOTEBOOK else seed).data.integers(SEED_HIGH))
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=fraction, stratify=y if stratify else None, random_state=split_seed
    )
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small: increase `validation_fraction` or the size of "
            f"the data set. Received: validation_fraction={fraction!r} of {len(y)} examples"
        )
    return X_fit, y_fit, Validation(X_val, y_val)

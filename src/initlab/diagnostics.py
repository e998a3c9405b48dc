"""Measurements that explain a run: symmetry, output saturation, and a one-line verdict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from initlab import losses
from initlab.network import MLP, Params, forward
from initlab.train import TrainResult

SATURATION_LOGIT = 36.7
"""|z| beyond which float64 rounds σ(z) to exactly 1 (and 1 − σ(z) to 0): log(1 − p) = −inf."""


def distinct_units(W: NDArray[np.float64], b: NDArray[np.float64], tol: float = 1e-12) -> int:
    """How many units of a layer differ: rows ``[W_i, b_i]`` equal within ``tol`` count once.

    Units with identical incoming weights compute the same function and receive the same
    gradient, so they stay identical forever: a layer of n such units acts as one.
    """
    rows = np.hstack([W, b])
    representatives: list[NDArray[np.float64]] = []
    for row in rows:
        if not any(np.max(np.abs(row - r)) <= tol for r in representatives):
            representatives.append(row)
    return len(representatives)


@dataclass(frozen=True)
class OutputSaturation:
    """Saturation of the output sigmoid on a data set."""

    fraction_saturated: float
    """Fraction of examples with |z_L| > :data:`SATURATION_LOGIT`."""
    fraction_infinite_naive_loss: float
    """Fraction whose loss, computed from probabilities as the course does, is ``inf``."""


def output_saturation(
    mlp: MLP, params: Params, X: NDArray[np.float64], y: NDArray[np.integer]
) -> OutputSaturation:
    """How saturated the output is on ``(X, y)``.

    Sigmoid head: |z| > :data:`SATURATION_LOGIT`. Softmax head: a logit gap larger than that
    (the top class's probability rounds to exactly 1).
    """
    with np.errstate(over="ignore", under="ignore"):
        cache = forward(mlp, params, X)
    Z, P = cache.logits, cache.A[-1]
    y = np.asarray(y).reshape(-1)
    if mlp.head.n_outputs == 1:
        saturated = np.abs(Z.reshape(-1)) > SATURATION_LOGIT
        infinite = losses.naive_bce_is_infinite(P.reshape(-1), y)
    else:
        top2 = np.sort(Z, axis=0)[-2:]
        saturated = top2[1] - top2[0] > SATURATION_LOGIT
        infinite = P[y, np.arange(y.size)] == 0.0
    return OutputSaturation(
        fraction_saturated=float(np.mean(saturated)),
        fraction_infinite_naive_loss=float(np.mean(infinite)),
    )


def verdict(result: TrainResult, X: NDArray[np.float64], y: NDArray[np.integer]) -> str:
    """A one-line diagnosis of a run: symmetry, saturation at start, divergence, or healthy."""
    if result.diverged:
        return f"diverged: cost became {result.history.costs[-1]} at iteration {result.diverged_at}"
    hidden = [
        (distinct_units(layer.W, layer.b), layer.W.shape[0]) for layer in result.initial_params[:-1]
    ]
    if hidden and all(n == 1 and width > 1 for n, width in hidden):
        return "symmetry not broken: every hidden layer acts as a single unit"
    sat = output_saturation(result.mlp, result.initial_params, X, y)
    if sat.fraction_saturated > 0:
        return (
            f"output saturated at start: {sat.fraction_saturated:.0%} of examples have "
            f"|z| > {SATURATION_LOGIT:g}, {sat.fraction_infinite_naive_loss:.0%} give log(0); "
            "training is slow"
        )
    return "healthy: symmetry broken, output not saturated"

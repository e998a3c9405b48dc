"""The training loop: full-batch gradient descent with a cost history and divergence check."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from initlab import losses
from initlab.datasets import check_xy
from initlab.network import MLP, Params, backward_columns, forward_columns
from initlab.network import accuracy as _accuracy
from initlab.network import loss as _loss
from initlab.network import predict as _predict
from initlab.network import predict_proba as _predict_proba
from initlab.optim import GradientDescent

Status = Literal["completed", "diverged"]


@dataclass
class History:
    """Cost before the update of every ``record_every``-th iteration (the course prints these)."""

    iterations: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)

    def append(self, iteration: int, cost: float) -> None:
        self.iterations.append(iteration)
        self.costs.append(cost)


@dataclass
class TrainResult:
    """What a training run returns: the parameters before and after, the history, the status.

    ``status`` is ``"diverged"`` when the cost became NaN or infinite; training then stopped
    at ``diverged_at`` and ``params`` are the last (non-finite) ones.
    """

    mlp: MLP
    initial_params: Params
    params: Params
    history: History
    learning_rate: float
    iterations: int
    iterations_run: int
    status: Status
    final_cost: float
    diverged_at: int | None = None

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.int64]:
        return _predict(self.mlp, self.params, X)

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return _predict_proba(self.mlp, self.params, X)

    def accuracy(self, X: NDArray[np.float64], y: NDArray[np.integer]) -> float:
        return _accuracy(self.mlp, self.params, X, y)


def check_iterations(iterations: int, name: str = "iterations") -> int:
    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, int | np.integer)
        or iterations < 1
    ):
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={iterations!r}"
        )
    return int(iterations)


def train(
    mlp: MLP,
    params: Params,
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    *,
    learning_rate: float = 0.01,
    iterations: int = 15_000,
    record_every: int = 1000,
) -> TrainResult:
    """Train ``mlp`` from ``params`` on ``(X, y)`` by full-batch gradient descent.

    Each iteration runs the forward pass, the cost, the backward pass and the update, in the
    course's order; the cost is recorded every ``record_every`` iterations, starting at 0.
    ``params`` is not modified. A non-finite cost stops training and is reported as
    ``status="diverged"`` with the iteration, never as an exception or a silent NaN.
    """
    optimizer = GradientDescent(learning_rate)
    iterations = check_iterations(iterations)
    record_every = check_iterations(record_every, "record_every")
    X, y_int = check_xy(X, y, n_features=mlp.n_features)
    if len(params) != mlp.n_layers:
        raise ValueError(f"Got parameters for {len(params)} layers; the network has {mlp.n_layers}")

    initial = [layer.copy() for layer in params]
    params = [layer.copy() for layer in params]
    A0 = X.T
    Y = y_int.astype(np.float64).reshape(1, -1)
    history = History()
    status: Status = "completed"
    diverged_at = None
    i = 0
    # Overflow and inf − inf can only come from a diverging run, which the finite-cost check
    # below catches and reports; NumPy's warnings would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(iterations):
            cache = forward_columns(mlp, params, A0)
            cost = losses.bce_logits(cache.logits, Y)
            if not math.isfinite(cost):
                status, diverged_at = "diverged", i
                history.append(i, cost)
                break
            if i % record_every == 0:
                history.append(i, cost)
            optimizer.step(params, backward_columns(mlp, params, cache, Y))
        else:
            i = iterations
        final_cost = _loss(mlp, params, X, y_int)
    return TrainResult(
        mlp=mlp,
        initial_params=initial,
        params=params,
        history=history,
        learning_rate=optimizer.learning_rate,
        iterations=iterations,
        iterations_run=i,
        status=status,
        final_cost=final_cost,
        diverged_at=diverged_at,
    )

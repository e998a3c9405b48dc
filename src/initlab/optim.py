"""Optimizers: update rules applied to a network's per-layer parameters in place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from initlab.network import Params


def check_learning_rate(learning_rate: float) -> float:
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, int | float)
        or not math.isfinite(learning_rate)
        or learning_rate <= 0
    ):
        raise ValueError(
            "Argument `learning_rate` must be a positive finite float. "
            f"Received: learning_rate={learning_rate!r}"
        )
    return float(learning_rate)


@dataclass
class GradientDescent:
    """Full-batch gradient descent, the course's update: W ← W − α·dW, b ← b − α·db."""

    learning_rate: float = 0.01

    def __post_init__(self) -> None:
        self.learning_rate = check_learning_rate(self.learning_rate)

    def step(self, params: Params, grads: Params) -> None:
        lr = self.learning_rate
        for layer, grad in zip(params, grads):
            layer.W -= lr * grad.W
            layer.b -= lr * grad.b

"""Output heads and their cross-entropy losses, computed stably from the logits.

Binary (one output unit): p = σ(z), and the loss −y·log p − (1−y)·log(1−p) is computed as
softplus(z) − y·z = log(1 + e^z) − y·z, finite for every finite z. The course computes it
from p instead, so a saturated sigmoid (p rounded to exactly 0 or 1) gives ``log(0) = −inf``
and a reported cost of ``inf``.

Multi-class (K ≥ 2 output units): p = softmax(z), loss −log p_y = logsumexp(z) − z_y.

For both, the gradient of the mean loss with respect to the logits is (p − y) / m, with y
one-hot for softmax; it is written ``1/m * (p − y)`` as the course writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from initlab.activations import sigmoid

Array = NDArray[np.float64]


def bce_logits(logits: Array, Y: Array) -> float:
    """Mean binary cross-entropy from logits: mean of softplus(z) − y·z."""
    return float(np.mean(np.logaddexp(0.0, logits) - Y * logits))


def softmax(Z: Array) -> Array:
    """Column-wise softmax of feature-major logits ``Z`` of shape ``(K, m)``, max-shifted."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    out: Array = E / E.sum(axis=0, keepdims=True)
    return out


def ce_logits(logits: Array, Y: Array) -> float:
    """Mean categorical cross-entropy from logits ``(K, m)`` and one-hot ``Y``: logsumexp − z_y."""
    return float(np.mean(special.logsumexp(logits, axis=0) - np.sum(Y * logits, axis=0)))


def logits_grad(P: Array, Y: Array, m: int) -> Array:
    """d(mean loss)/dz = (p − y) / m, for the sigmoid and the softmax head alike."""
    return 1.0 / m * (P - Y)


def naive_bce_is_infinite(P: Array, Y: NDArray[Any]) -> NDArray[np.bool_]:
    """Examples whose loss computed from probabilities would be ``inf``: p rounded to the
    wrong end (p == 0 with y = 1, or p == 1 with y = 0)."""
    infinite: NDArray[np.bool_] = ((P == 0.0) & (Y == 1)) | ((P == 1.0) & (Y == 0))
    return infinite


@dataclass(frozen=True)
class Head:
    """The output layer's activation and loss for ``n_outputs`` units.

    One unit: sigmoid + binary cross-entropy, labels 0/1. K ≥ 2 units: softmax +
    categorical cross-entropy, labels 0..K−1.
    """

    n_outputs: int

    @property
    def name(self) -> str:
        return "sigmoid" if self.n_outputs == 1 else "softmax"

    @property
    def n_classes(self) -> int:
        return max(2, self.n_outputs)

    def activate(self, Z: Array) -> Array:
        return sigmoid(Z) if self.n_outputs == 1 else softmax(Z)

    def encode(self, y: NDArray[np.integer]) -> Array:
        """Labels → targets, feature-major: ``(1, m)`` 0/1 or one-hot ``(K, m)``."""
        y = np.asarray(y).reshape(-1)
        if self.n_outputs == 1:
            return y.astype(np.float64).reshape(1, -1)
        Y = np.zeros((self.n_outputs, y.size))
        Y[y, np.arange(y.size)] = 1.0
        return Y

    def loss(self, Z: Array, Y: Array) -> float:
        return bce_logits(Z, Y) if self.n_outputs == 1 else ce_logits(Z, Y)

    def labels(self, P: Array) -> NDArray[np.int64]:
        """Predicted labels from probabilities: p > 0.5 (as the course), or the arg-max."""
        if self.n_outputs == 1:
            return (P.reshape(-1) > 0.5).astype(np.int64)
        labels: NDArray[np.int64] = np.argmax(P, axis=0).astype(np.int64)
        return labels

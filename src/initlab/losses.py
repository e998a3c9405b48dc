"""Output heads and their cross-entropy losses, computed stably from the logits.

Binary (one output unit): p = σ(z), and the loss −y·log p − (1−y)·log(1−p) is computed as
softplus(z) − y·z = log(1 + e^z) − y·z, finite for every finite z. The course computes it
from p instead, so a saturated sigmoid (p rounded to exactly 0 or 1) gives ``log(0) = −inf``
and a reported cost of ``inf``.

Multi-class (K ≥ 2 output units): p = softmax(z), loss −log p_y = logsumexp(z) − z_y.

For both, the gradient of the mean loss with respect to the logits is (p − y) / m, with y
one-hot for softmax; it is written ``1/m * (p − y)`` as the course writes it.

Classes lie on axis −2 and examples on axis −1, so every function here also takes a stack of
``M`` models' logits ``(M, K, m)``: the ``*_per_model`` losses return one value per model
(0-d for a single model), and the float losses are those values for one model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab.activations import sigmoid

Array = NDArray[np.float64]


def bce_logits_per_model(logits: Array, Y: Array) -> Array:
    """Mean binary cross-entropy from logits ``(1, m)``: mean of softplus(z) − y·z.

    Over the last two axes, so a stack of models' logits ``(M, 1, m)`` gives ``(M,)``.
    """
    loss: Array = np.mean(np.logaddexp(0.0, logits) - Y * logits, axis=(-2, -1))
    return loss


def bce_logits(logits: Array, Y: Array) -> float:
    """Mean binary cross-entropy from logits: mean of softplus(z) − y·z."""
    return float(bce_logits_per_model(logits, Y))


def softmax(Z: Array) -> Array:
    """Column-wise softmax of feature-major logits ``Z`` of shape ``(K, m)``, max-shifted.

    Over axis −2, the classes, so it also takes a stack of models' logits ``(M, K, m)``.
    """
    E = np.exp(Z - Z.max(axis=-2, keepdims=True))
    out: Array = E / E.sum(axis=-2, keepdims=True)
    return out


def ce_logits_per_model(logits: Array, Y: Array) -> Array:
    """Mean categorical cross-entropy from logits ``(K, m)`` and one-hot ``Y``: logsumexp − z_y.

    Classes on axis −2 and examples on axis −1, so logits ``(M, K, m)`` give ``(M,)``.
    """
    from scipy import special  # loaded on first use: importing the losses stays light

    per_example = special.logsumexp(logits, axis=-2) - np.sum(Y * logits, axis=-2)
    loss: Array = np.mean(per_example, axis=-1)
    return loss


def ce_logits(logits: Array, Y: Array) -> float:
    """Mean categorical cross-entropy from logits ``(K, m)`` and one-hot ``Y``: logsumexp − z_y."""
    return float(ce_logits_per_model(logits, Y))


def logits_grad(P: Array, Y: Array, m: int) -> Array:
    """d(mean loss)/dz = (p − y) / m, for the sigmoid and the softmax head alike."""
    return 1.0 / m * (P - Y)


def naive_bce_is_infinite(P: Array, Y: NDArray[Any]) -> NDArray[np.bool_]:
    """Examples whose loss computed from probabilities would be ``inf``: p rounded to the
    wrong end (p == 0 with y = 1, or p == 1 with y = 0)."""
    infinite: NDArray[np.bool_] = ((P == 0.0) & (Y == 1)) | ((P == 1.0) & (Y == 0))
    return infinite


def output_size(n_classes: int) -> int:
    """Output units for ``n_classes`` classes: one sigmoid unit for two, else one softmax unit
    per class (the inverse of :attr:`Head.n_classes`).

    >>> output_size(2), output_size(3)
    (1, 3)
    """
    return 1 if n_classes == 2 else n_classes


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

    def loss_per_model(self, Z: Array, Y: Array) -> Array:
        """The mean loss of logits ``Z``: 0-d for one model, ``(M,)`` for a stack ``(M, K, m)``."""
        return bce_logits_per_model(Z, Y) if self.n_outputs == 1 else ce_logits_per_model(Z, Y)

    def loss(self, Z: Array, Y: Array) -> float:
        return float(self.loss_per_model(Z, Y))

    def labels(self, P: Array) -> NDArray[np.int64]:
        """Predicted labels from probabilities: p > 0.5 (as the course), or the arg-max."""
        if self.n_outputs == 1:
            return (P.reshape(-1) > 0.5).astype(np.int64)
        labels: NDArray[np.int64] = np.argmax(P, axis=0).astype(np.int64)
        return labels

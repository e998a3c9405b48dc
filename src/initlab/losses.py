"""Output heads and their losses: cross-entropy computed stably from the logits, and the
squared error of regression.

Binary (one output unit): p = σ(z), and the loss −y·log p − (1−y)·log(1−p) is computed as
softplus(z) − y·z = log(1 + e^z) − y·z, finite for every finite z. The course computes it
from p instead, so a saturated sigmoid (p rounded to exactly 0 or 1) gives ``log(0) = −inf``
and a reported cost of ``inf``.

Multi-class (K ≥ 2 output units): p = softmax(z), loss −log p_y = logsumexp(z) − z_y.

Regression (``"identity"`` head, any number of outputs K): ŷ = z, and the loss is half the
squared error summed over the outputs, averaged over the examples,
(1 / 2m)·Σ_examples Σ_k (ŷ_k − y_k)² — scikit-learn's ``squared_error`` for one output.

For all three, the gradient of the mean loss with respect to the logits is (p − y) / m (p = ŷ
for regression), with y one-hot for softmax; it is written ``1/m * (p − y)`` as the course
writes it.

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


def squared_error_per_model(outputs: Array, Y: Array) -> Array:
    """Half the squared error, summed over the outputs (axis −2) and averaged over the
    examples (axis −1): (1 / 2m)·Σ (ŷ − y)². A stack ``(M, K, m)`` gives ``(M,)``."""
    diff = outputs - Y
    loss: Array = 0.5 * np.mean(np.sum(diff * diff, axis=-2), axis=-1)
    return loss


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
    """d(mean loss)/dz = (p − y) / m, for the sigmoid, softmax and identity heads alike."""
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


HEADS = ("sigmoid", "softmax", "identity")
"""The output layers: ``"sigmoid"`` (one unit, binary), ``"softmax"`` (K ≥ 2 units, K
classes) and ``"identity"`` (any number of units, regression)."""


def default_head(n_outputs: int) -> str:
    """The classification head for ``n_outputs`` units: sigmoid for one, softmax for more."""
    return "sigmoid" if n_outputs == 1 else "softmax"


@dataclass(frozen=True)
class Head:
    """The output layer's activation and loss for ``n_outputs`` units.

    ``"sigmoid"`` (one unit): binary cross-entropy, labels 0/1. ``"softmax"`` (K ≥ 2 units):
    categorical cross-entropy, labels 0..K−1. ``"identity"``: regression, ŷ = z, half the
    mean squared error, real targets (one per output unit). ``name=None`` picks the
    classification head for the size (:func:`default_head`).

    >>> Head(1).name, Head(3).name, Head(2, "identity").is_regression
    ('sigmoid', 'softmax', True)
    """

    n_outputs: int
    name: str = ""

    def __post_init__(self) -> None:
        name = self.name or default_head(self.n_outputs)
        if name not in HEADS:
            raise ValueError(f"Argument `output` must be one of {list(HEADS)}. Received: {name!r}")
        if name == "sigmoid" and self.n_outputs != 1:
            raise ValueError(
                f"The sigmoid head has one output unit; got {self.n_outputs}. Use 'softmax' "
                "for K classes, or 'identity' for regression"
            )
        if name == "softmax" and self.n_outputs < 2:
            raise ValueError(
                "The softmax head needs at least two output units (one per class); got 1. Use "
                "'sigmoid' for two classes"
            )
        object.__setattr__(self, "name", name)

    @property
    def is_regression(self) -> bool:
        return self.name == "identity"

    @property
    def n_classes(self) -> int:
        """Classes the head tells apart (0 for regression)."""
        return 0 if self.is_regression else max(2, self.n_outputs)

    def activate(self, Z: Array) -> Array:
        if self.name == "sigmoid":
            return sigmoid(Z)
        return softmax(Z) if self.name == "softmax" else Z

    def encode(self, y: NDArray[Any]) -> Array:
        """Labels or targets → the head's targets, feature-major: ``(1, m)`` 0/1, one-hot
        ``(K, m)``, or for regression the targets ``(m,)``/``(m, K)`` transposed to ``(K, m)``."""
        y = np.asarray(y)
        if self.is_regression:
            return np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1).T
        y = y.reshape(-1)
        if self.n_outputs == 1:
            return y.astype(np.float64).reshape(1, -1)
        Y = np.zeros((self.n_outputs, y.size))
        Y[y.astype(np.int64), np.arange(y.size)] = 1.0
        return Y

    def loss_per_model(self, Z: Array, Y: Array) -> Array:
        """The mean loss of logits ``Z``: 0-d for one model, ``(M,)`` for a stack ``(M, K, m)``."""
        if self.name == "sigmoid":
            return bce_logits_per_model(Z, Y)
        if self.name == "softmax":
            return ce_logits_per_model(Z, Y)
        return squared_error_per_model(Z, Y)

    def loss(self, Z: Array, Y: Array) -> float:
        return float(self.loss_per_model(Z, Y))

    def labels(self, P: Array) -> NDArray[Any]:
        """Predictions from the head's outputs ``(K, m)``: labels p > 0.5 (as the course) or
        the arg-max; for regression the outputs themselves, ``(m,)`` or ``(m, K)``."""
        if self.is_regression:
            out: NDArray[np.float64] = P.reshape(-1) if self.n_outputs == 1 else P.T
            return out
        if self.n_outputs == 1:
            return (P.reshape(-1) > 0.5).astype(np.int64)
        labels: NDArray[np.int64] = np.argmax(P, axis=0).astype(np.int64)
        return labels

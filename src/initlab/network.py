"""A fully connected network of any depth: spec, parameters, forward and backward passes.

Notation follows the course. Layer ``l`` has weights ``W[l]`` of shape ``(n[l], n[l-1])``
(initlab's layout: see :mod:`initlab.initializers`) and bias ``b[l]`` of shape ``(n[l], 1)``::

    Z[l] = W[l] · A[l-1] + b[l]        A[l] = φ_l(Z[l])        A[0] = Xᵀ

Inside this module activations are *feature-major*: one column per example, as in the
course's equations. That keeps the arithmetic identical to the notebook's, operation for
operation, which is what lets the chaotic ×10 run be reproduced. Every public function takes
and returns samples in rows.

The column functions (:func:`forward_columns`, :func:`backward_columns`,
:func:`cost_columns`, :func:`l2_penalty_per_model`) are written once for one model or a
stack of ``M`` models: with ``W[l]`` of shape ``(M, n[l], n[l-1])`` and ``b[l]`` of
``(M, n[l], 1)``, every activation gains the leading axis ``(M, n[l], m)`` (the input ``A[0]``
may stay a shared ``(n[0], m)``), because the math only transposes the last two axes and
reduces over the last ones. For a single model it is the notebook's arithmetic exactly
(``swapaxes(A, -1, -2)`` is ``A.T``); :mod:`initlab.engine.batched` trains stacks with it.

The output layer is a sigmoid unit (binary) or a softmax (K classes), trained with
cross-entropy computed from the logits ``Z[L]`` so that saturated outputs give a large finite
loss, never ``log(0)``; or, for regression, the identity with half the squared error. The
gradient at the output is ``(A[L] − Y) / m`` for all three: see :mod:`initlab.losses`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab import activations, losses
from initlab._validate import check_xy

Array = NDArray[np.float64]


@dataclass(frozen=True, init=False)
class MLP:
    """Architecture of a multi-layer perceptron: depth is data.

    Parameters
    ----------
    layer_sizes
        ``[n_features, hidden_1, ..., hidden_k, n_outputs]``; the course's network is
        ``[2, 10, 5, 1]``. By default one output unit is a sigmoid + binary cross-entropy
        (labels 0/1) and K ≥ 2 output units a softmax + cross-entropy (labels 0..K−1).
    activation
        Hidden-layer activation: one name for all hidden layers, or one per hidden layer.
    output
        The output layer (:data:`initlab.losses.HEADS`): ``None`` (default) for the
        classification head above, or ``"identity"`` for regression — real targets, one per
        output unit, half the mean squared error.

    >>> MLP([2, 10, 5, 1]).hidden_activations
    ('relu', 'relu')
    >>> MLP([2, 8, 3], "tanh").output
    'softmax'
    >>> MLP([1, 16, 1], output="identity").is_regression
    True
    """

    layer_sizes: tuple[int, ...]
    activation: str | tuple[str, ...]
    output_layer: str

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str | Sequence[str] = "relu",
        output: str | None = None,
    ):
        sizes = tuple(layer_sizes)
        if len(sizes) < 2:
            raise ValueError(
                "Argument `layer_sizes` needs at least an input and an output size, e.g. "
                f"[2, 10, 5, 1]. Received: layer_sizes={list(sizes)!r}"
            )
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
                raise ValueError(
                    "Argument `layer_sizes` must hold positive integers. "
                    f"Received: layer_sizes={list(sizes)!r}"
                )
        n_hidden = len(sizes) - 2
        stored: str | tuple[str, ...]
        if isinstance(activation, str):
            stored = activations.ACTIVATIONS.canonical(activation)
            acts = (stored,) * n_hidden
        else:
            acts = stored = tuple(activations.ACTIVATIONS.canonical(a) for a in activation)
            if len(acts) != n_hidden:
                raise ValueError(
                    f"Got {len(acts)} activations for {n_hidden} hidden layers: "
                    f"activation={list(acts)!r}; give one name, or one per hidden layer"
                )
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in sizes))
        object.__setattr__(self, "activation", stored)
        object.__setattr__(self, "_acts", acts)
        object.__setattr__(self, "_fns", tuple(activations.get(a) for a in acts))
        head = losses.Head(int(sizes[-1]), output or "")
        object.__setattr__(self, "output_layer", head.name)
        object.__setattr__(self, "_head", head)

    @property
    def hidden_activations(self) -> tuple[str, ...]:
        acts: tuple[str, ...] = self._acts  # type: ignore[attr-defined]
        return acts

    @property
    def activation_fns(self) -> tuple[activations.Activation, ...]:
        """The :class:`~initlab.activations.Activation` of every hidden layer, resolved once."""
        fns: tuple[activations.Activation, ...] = self._fns  # type: ignore[attr-defined]
        return fns

    @property
    def head(self) -> losses.Head:
        """The output layer's activation and loss."""
        head: losses.Head = self._head  # type: ignore[attr-defined]
        return head

    @property
    def output(self) -> str:
        """``"sigmoid"`` (one output unit), ``"softmax"`` or ``"identity"`` (regression)."""
        return self.head.name

    @property
    def is_regression(self) -> bool:
        """Whether the output layer is the identity (regression, squared error)."""
        return self.head.is_regression

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """The activation of every layer, the output's included."""
        return (*self.hidden_activations, self.output)

    @property
    def n_layers(self) -> int:
        """Number of weight layers L (the course's network has 3)."""
        return len(self.layer_sizes) - 1

    @property
    def n_features(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_classes(self) -> int:
        """Classes the network tells apart; 0 for regression."""
        return self.head.n_classes

    def check_data(self, X: object, y: object) -> tuple[Array, NDArray[Any]]:
        """``X`` as float64 rows and ``y`` as the head wants it: int64 labels ``0..K−1``, or
        float64 regression targets; errors name what does not fit the network."""
        if self.is_regression:
            return check_xy(X, y, n_features=self.n_features, outputs=self.layer_sizes[-1])
        return check_xy(X, y, n_features=self.n_features, n_classes=self.n_classes)

    def weight_shapes(self) -> list[tuple[int, int]]:
        return [(n_out, n_in) for n_in, n_out in zip(self.layer_sizes, self.layer_sizes[1:])]


@dataclass
class Layer:
    """One layer's parameters: ``W`` of shape ``(fan_out, fan_in)``, ``b`` of ``(fan_out, 1)``.

    A stack of ``M`` models' layers has ``W`` of ``(M, fan_out, fan_in)`` and ``b`` of
    ``(M, fan_out, 1)``.
    """

    W: Array
    b: Array

    def copy(self) -> Layer:
        return Layer(self.W.copy(), self.b.copy())


Params = list[Layer]


def flatten_params(params: Params) -> NDArray[np.float64]:
    """One model's layers as flat parameters: ``W[l]`` row-major, then ``b[l]``, layer by
    layer (the compiled engines' layout; the inverse of :func:`unflatten_params`)."""
    return np.concatenate([np.concatenate([layer.W.ravel(), layer.b.ravel()]) for layer in params])


def unflatten_params(mlp: MLP, flat: NDArray[Any]) -> Params:
    """The layers of flat parameters ``flat`` (see :func:`flatten_params`), as views: ``flat``
    of ``(P,)`` gives one model's, ``(S, P)`` a stack of ``S`` (``W`` of ``(S, n_out, n_in)``,
    what :func:`forward_columns` takes)."""
    lead, params, start = flat.shape[:-1], [], 0
    for n_out, n_in in mlp.weight_shapes():
        W = flat[..., start : start + n_out * n_in].reshape(*lead, n_out, n_in)
        b = flat[..., start + n_out * n_in : start + n_out * (n_in + 1)].reshape(*lead, n_out, 1)
        params.append(Layer(W, b))
        start += n_out * (n_in + 1)
    return params


@dataclass
class Cache:
    """Pre-activations ``Z[l]`` and activations ``A[l]``, feature-major; ``A[0]`` is the input."""

    Z: list[Array]
    A: list[Array]

    @property
    def logits(self) -> Array:
        return self.Z[-1]


def _transpose(A: Array) -> Array:
    """``A.T`` of one matrix, or of every matrix of a stack (the last two axes swapped)."""
    return np.swapaxes(A, -1, -2)


def forward_columns(mlp: MLP, params: Params, A0: Array) -> Cache:
    """Forward pass on feature-major input ``A0`` of shape ``(n_features, m)``.

    For a stack of models (``W`` of ``(M, n_out, n_in)``), ``A0`` is ``(n_features, m)``
    shared by all, or ``(M, n_features, m)``; every ``Z[l]`` and ``A[l]`` is then
    ``(M, n[l], m)``.
    """
    Z: list[Array] = []
    A = [A0]
    for layer, act in zip(params, mlp.activation_fns):
        z = layer.W @ A[-1] + layer.b
        Z.append(z)
        A.append(act.forward(z))
    z = params[-1].W @ A[-1] + params[-1].b
    Z.append(z)
    A.append(mlp.head.activate(z))
    return Cache(Z, A)


def backward_columns(
    mlp: MLP, params: Params, cache: Cache, Y: Array, l2: float = 0.0, l1: float = 0.0
) -> Params:
    """Gradients of the mean loss (+ L2 and L1 penalties) w.r.t. every ``W[l]`` and ``b[l]``.

    Output layer (sigmoid or softmax + cross-entropy, or identity + squared error):
    dZ[L] = (A[L] − Y) / m. Then, going down, dW[l] = dZ[l] · A[l-1]ᵀ (+ (λ/m)·W[l])
    (+ (λ₁/m)·sign(W[l])), db[l] = Σ_examples dZ[l],
    dZ[l-1] = (W[l]ᵀ · dZ[l]) ⊙ φ′(Z[l-1]). For a stack of models (see
    :func:`forward_columns`) the gradients are stacked likewise; ``Y`` may be shared.
    """
    m = Y.shape[-1]
    dZ = losses.logits_grad(cache.A[-1], Y, m)
    grads: Params = []
    for k in range(mlp.n_layers - 1, -1, -1):
        A_prev = cache.A[k]
        dW = dZ @ _transpose(A_prev)
        if l2:
            dW = dW + (l2 / m) * params[k].W
        if l1:
            dW = dW + (l1 / m) * np.sign(params[k].W)
        grads.append(Layer(dW, np.sum(dZ, axis=-1, keepdims=True)))
        if k > 0:
            act = mlp.activation_fns[k - 1]
            dZ = (_transpose(params[k].W) @ dZ) * act.derivative(cache.Z[k - 1], A_prev)
    grads.reverse()
    return grads


def l2_penalty_per_model(params: Params, l2: float, m: int) -> Array | float:
    """:func:`l2_penalty` of one model (a float) or of each model of a stack, ``(M,)``.

    ``0.0`` when ``l2`` is zero.
    """
    if not l2:
        return 0.0
    total: Array | float = 0.0
    for layer in params:
        squares = np.sum(layer.W * layer.W, axis=(-2, -1))
        # One model: each layer's sum as a Python float, so float32 weights add up in float64
        # (as l2_penalty always has: the engines' final costs); a stack adds in its dtype.
        total = total + (float(squares) if squares.ndim == 0 else squares)
    return l2 / (2 * m) * total


def l2_penalty(params: Params, l2: float, m: int) -> float:
    """The course's L2 term (λ / 2m)·Σ_l ‖W[l]‖², biases excluded."""
    return float(l2_penalty_per_model(params, l2, m))


def l1_penalty_per_model(params: Params, l1: float, m: int) -> Array | float:
    """The L1 term (λ₁ / m)·Σ_l Σ|W[l]|, biases excluded, of one model (a float, each
    layer's sum added in float64) or of each model of a stack, ``(M,)``; ``0.0`` when ``l1``
    is zero."""
    if not l1:
        return 0.0
    total: Array | float = 0.0
    for layer in params:
        sums = np.sum(np.abs(layer.W), axis=(-2, -1))
        total = total + (float(sums) if sums.ndim == 0 else sums)
    return l1 / m * total


def penalty_per_model(params: Params, m: int, l2: float = 0.0, l1: float = 0.0) -> Array | float:
    """The L2 term plus the L1 term (each ``0.0`` when its strength is zero)."""
    return l2_penalty_per_model(params, l2, m) + l1_penalty_per_model(params, l1, m)


def penalty(params: Params, m: int, l2: float = 0.0, l1: float = 0.0) -> float:
    """:func:`penalty_per_model` of one model, as a float."""
    return float(penalty_per_model(params, m, l2, l1))


def cost_columns(
    mlp: MLP, params: Params, logits: Array, Y: Array, l2: float = 0.0, l1: float = 0.0
) -> Array:
    """Mean loss from ``logits`` plus the L2 and L1 terms, per model: 0-d for one model,
    ``(M,)`` for a stack (see :func:`forward_columns`). ``float()`` of it for one model is
    ``head.loss(logits, Y) + penalty(params, m, l2, l1)``, bit for bit."""
    m = Y.shape[-1]
    cost: Array = mlp.head.loss_per_model(logits, Y) + penalty_per_model(params, m, l2, l1)
    return cost


def forward(mlp: MLP, params: Params, X: Array) -> Cache:
    """Forward pass on ``X`` of shape ``(n_samples, n_features)``; the cache is feature-major."""
    return forward_columns(mlp, params, np.asarray(X, dtype=np.float64).T)


def loss(
    mlp: MLP,
    params: Params,
    X: Array,
    y: NDArray[np.integer] | Array,
    l2: float = 0.0,
    l1: float = 0.0,
) -> float:
    """Mean loss of the network on ``(X, y)`` (cross-entropy from the logits, or half the
    squared error), plus the L2 and L1 terms."""
    logits = forward(mlp, params, X).logits
    Y = mlp.head.encode(np.asarray(y))
    return mlp.head.loss(logits, Y) + penalty(params, Y.shape[1], l2, l1)


def gradients(
    mlp: MLP,
    params: Params,
    X: Array,
    y: NDArray[np.integer] | Array,
    l2: float = 0.0,
    l1: float = 0.0,
) -> Params:
    """Gradients of :func:`loss` with respect to every layer's ``W`` and ``b``."""
    cache = forward(mlp, params, X)
    Y = mlp.head.encode(np.asarray(y))
    return backward_columns(mlp, params, cache, Y, l2, l1)


def predict_proba(mlp: MLP, params: Params, X: Array) -> Array:
    """Class probabilities for every row of ``X``.

    Binary networks return P(y = 1 | x), shape ``(n_samples,)``; softmax networks return
    shape ``(n_samples, K)``.
    """
    P = forward(mlp, params, X).A[-1]
    return P.reshape(-1) if mlp.head.n_outputs == 1 else P.T


def predict(mlp: MLP, params: Params, X: Array) -> NDArray[Any]:
    """Class labels: 1 where P(y = 1 | x) > 0.5 (as the course thresholds), or the arg-max;
    for regression the outputs, ``(n_samples,)`` for one, ``(n_samples, K)`` for more."""
    return mlp.head.labels(forward(mlp, params, X).A[-1])


def accuracy(mlp: MLP, params: Params, X: Array, y: NDArray[np.integer]) -> float:
    """Fraction of rows of ``X`` whose predicted label equals ``y``."""
    if mlp.is_regression:
        raise ValueError("accuracy is for classifiers; a regression network is scored by r2")
    return float(np.mean(predict(mlp, params, X) == np.asarray(y).reshape(-1)))


def r2(mlp: MLP, params: Params, X: Array, y: Array) -> float:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged uniformly over
    the outputs (scikit-learn's ``r2_score``); NaN where a target is constant or a prediction
    is not finite."""
    Y = np.asarray(y, dtype=np.float64).reshape(np.shape(y)[0], -1)
    P = np.asarray(predict(mlp, params, X), dtype=np.float64).reshape(Y.shape)
    with np.errstate(all="ignore"):
        residual = np.sum((Y - P) ** 2, axis=0)
        total = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
        scores = 1.0 - residual / total
    if not np.all(np.isfinite(scores)):
        return math.nan
    return float(np.mean(scores))

"""Drop-in replacement for the course notebook's helper module ``init_utils``.

Same names, signatures and arithmetic as the original, operation for operation, so that the
notebook run with ``from initlab.compat.init_utils import ...`` prints the same costs,
accuracies and matrices (including the ``inf`` cost of the ×10 run: :func:`compute_loss` takes
the log of saturated probabilities, and that is part of the lesson).

This module deliberately keeps the course's conventions, which the rest of initlab does not:

- **Column layout.** Examples are columns: ``X`` has shape ``(n_features, m)`` and ``Y`` shape
  ``(1, m)``. Everywhere else initlab puts samples in rows.
- **Global random state.** :func:`load_dataset` calls ``np.random.seed(1)`` and
  ``np.random.seed(2)`` as the original did, so NumPy's global state afterwards is exactly the
  original's. It is the one place in initlab that touches the global state; the data equal
  :func:`initlab.datasets.circles`, which draws the same numbers from private generators.
- **Output as a side effect.** :func:`predict` prints ``Accuracy: ...``, :func:`load_dataset`
  scatter-plots the training set and :func:`plot_decision_boundary` calls ``plt.show()``. It
  is the one place in initlab that prints or shows figures outside the CLI and report layers.
- **Three layers, hand-named.** :func:`forward_propagation` and :func:`backward_propagation`
  are the course's fixed LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID network with its 12-tuple
  cache; the core (:mod:`initlab.network`) handles any depth.

Differences from the original, none visible in the notebook's outputs: the original's
``np.int`` (removed in NumPy 1.24, so the original crashes today) is ``np.int64``; ``predict``
thresholds with one vectorised comparison instead of a Python loop (same result); ``sigmoid``
is :func:`initlab.activations.sigmoid`, the same formula, which does not report the harmless
overflow of ``exp`` for ``z < −709`` (the notebook never reaches it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import matplotlib.pyplot as plt
import numpy as np
import sklearn.datasets
from numpy.typing import ArrayLike, NDArray

from initlab import activations
from initlab.rng import NOTEBOOK_TEST_DATA_SEED, NOTEBOOK_TRAIN_DATA_SEED

Array: TypeAlias = NDArray[np.float64]
Parameters: TypeAlias = dict[str, Array]
"""``{"W1": W1, "b1": b1, ..., "WL": WL, "bL": bL}``; ``Wl`` is ``(n[l], n[l-1])``, ``bl``
``(n[l], 1)``."""
Cache: TypeAlias = tuple[
    Array, Array, Array, Array, Array, Array, Array, Array, Array, Array, Array, Array
]
"""``(z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)``, as the course stores it."""

__all__ = [
    "backward_propagation",
    "compute_loss",
    "forward_propagation",
    "load_dataset",
    "plot_decision_boundary",
    "predict",
    "predict_dec",
    "relu",
    "sigmoid",
    "update_parameters",
]


def sigmoid(x: ArrayLike) -> Array:
    """Logistic sigmoid σ(x) = 1 / (1 + e^{−x}), elementwise.

    >>> sigmoid(np.array([0.0])).tolist()
    [0.5]
    """
    return activations.sigmoid(np.asarray(x, dtype=np.float64))


def relu(x: ArrayLike) -> Array:
    """ReLU max(0, x), elementwise.

    >>> relu(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return activations.relu(np.asarray(x, dtype=np.float64))


def forward_propagation(X: Array, parameters: Parameters) -> tuple[Array, Cache]:
    """LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID on ``X`` of shape ``(n_x, m)``.

    ``z[l] = W[l] · a[l-1] + b[l]``, ``a[l] = relu(z[l])`` for l = 1, 2 and
    ``a3 = σ(z3)``. Returns ``a3`` of shape ``(1, m)`` and the cache
    ``(z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)``.
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    z1 = W1 @ X + b1
    a1 = relu(z1)
    z2 = W2 @ a1 + b2
    a2 = relu(z2)
    z3 = W3 @ a2 + b3
    a3 = sigmoid(z3)

    cache: Cache = (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)
    return a3, cache


def backward_propagation(X: Array, Y: NDArray[Any], cache: Cache) -> dict[str, Array]:
    """Gradients of :func:`compute_loss` through the three-layer network.

    ``dz3 = (a3 − Y) / m`` (sigmoid and cross-entropy together), then for each layer
    ``dW = dz · a_prevᵀ``, ``db = Σ_examples dz``, ``da_prev = Wᵀ · dz`` and through a ReLU
    ``dz = da ⊙ [a > 0]``. Returns ``dz3, dW3, db3, da2, dz2, dW2, db2, da1, dz1, dW1, db1``.
    """
    m = X.shape[1]
    _z1, a1, _W1, _b1, _z2, a2, W2, _b2, _z3, a3, W3, _b3 = cache

    dz3 = 1.0 / m * (a3 - Y)
    dW3 = dz3 @ a2.T
    db3 = np.sum(dz3, axis=1, keepdims=True)

    da2 = W3.T @ dz3
    dz2 = da2 * (a2 > 0)
    dW2 = dz2 @ a1.T
    db2 = np.sum(dz2, axis=1, keepdims=True)

    da1 = W2.T @ dz2
    dz1 = da1 * (a1 > 0)
    dW1 = dz1 @ X.T
    db1 = np.sum(dz1, axis=1, keepdims=True)

    return {
        "dz3": dz3,
        "dW3": dW3,
        "db3": db3,
        "da2": da2,
        "dz2": dz2,
        "dW2": dW2,
        "db2": db2,
        "da1": da1,
        "dz1": dz1,
        "dW1": dW1,
        "db1": db1,
    }


def update_parameters(
    parameters: Parameters, grads: dict[str, Array], learning_rate: float
) -> Parameters:
    """One gradient-descent step, ``W[l] ← W[l] − α·dW[l]`` and ``b[l] ← b[l] − α·db[l]``.

    Works for any number of layers ``"W1"`` … ``"WL"``. Like the original it stores the new
    arrays in ``parameters`` itself and returns that same dictionary.
    """
    L = len(parameters) // 2
    for k in range(1, L + 1):
        parameters[f"W{k}"] = parameters[f"W{k}"] - learning_rate * grads[f"dW{k}"]
        parameters[f"b{k}"] = parameters[f"b{k}"] - learning_rate * grads[f"db{k}"]
    return parameters


def compute_loss(a3: Array, Y: NDArray[Any]) -> float:
    """Mean cross-entropy ``1/m · Σ [−y·log a3 − (1−y)·log(1−a3)]``, computed from probabilities.

    As in the course, a saturated wrong output (``a3 == 0`` with ``y = 1``, or ``a3 == 1``
    with ``y = 0``) gives ``log 0``: NumPy warns (``RuntimeWarning: divide by zero encountered
    in log``, then ``invalid value encountered in multiply`` for the ``0 · inf`` of the other
    term), ``nansum`` drops the NaN and the loss is ``inf``. :mod:`initlab.losses` computes it
    stably from the logits instead.
    """
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    loss: np.float64 = 1.0 / m * np.nansum(logprobs)
    return loss


def predict(X: Array, y: NDArray[Any], parameters: Parameters) -> NDArray[np.int64]:
    """Labels ``1`` where ``a3 > 0.5``, else ``0``, as an int array of shape ``(1, m)``.

    Prints ``Accuracy: <mean of p == y>`` exactly as the course did.
    """
    a3, _ = forward_propagation(X, parameters)
    p = (a3 > 0.5).astype(np.int64)
    print("Accuracy: " + str(np.mean(p[0, :] == y[0, :])))
    return p


def predict_dec(parameters: Parameters, X: Array) -> NDArray[np.bool_]:
    """Boolean predictions ``a3 > 0.5`` of shape ``(1, m)``, for :func:`plot_decision_boundary`."""
    a3, _ = forward_propagation(X, parameters)
    predictions: NDArray[np.bool_] = a3 > 0.5
    return predictions


def load_dataset() -> tuple[Array, NDArray[np.int64], Array, NDArray[np.int64]]:
    """The course's circles: ``train_X (2, 300)``, ``train_Y (1, 300)``, ``test_X (2, 100)``,
    ``test_Y (1, 100)``.

    Exactly the original recipe: ``np.random.seed(1)``, ``make_circles(n_samples=300,
    noise=.05)``, ``np.random.seed(2)``, ``make_circles(n_samples=100, noise=.05)``, leaving the
    global random state where the original left it; then a scatter plot of the training set on
    the current axes. The arrays equal :func:`initlab.datasets.circles` transposed.
    """
    # The legacy global seeding is the point here: see the module docstring.
    np.random.seed(NOTEBOOK_TRAIN_DATA_SEED)
    train_X, train_Y = sklearn.datasets.make_circles(n_samples=300, noise=0.05)
    np.random.seed(NOTEBOOK_TEST_DATA_SEED)
    test_X, test_Y = sklearn.datasets.make_circles(n_samples=100, noise=0.05)
    # Visualize the data
    plt.scatter(train_X[:, 0], train_X[:, 1], c=train_Y, s=40, cmap="Spectral")
    return (
        np.asarray(train_X.T, dtype=np.float64),
        np.asarray(train_Y, dtype=np.int64).reshape((1, -1)),
        np.asarray(test_X.T, dtype=np.float64),
        np.asarray(test_Y, dtype=np.int64).reshape((1, -1)),
    )


def plot_decision_boundary(model: Callable[[Array], ArrayLike], X: Array, y: ArrayLike) -> None:
    """Filled contours of ``model`` over the plane, with the points ``X`` coloured by ``y``.

    ``model`` takes grid points in rows, shape ``(n, 2)``. The grid has step 0.01 and extends
    1 beyond the range of ``X`` (shape ``(2, m)``); ``y`` may be ``(1, m)`` or ``(m,)``.
    Ends with ``plt.show()``, as the original did.
    """
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    h = 0.01
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Z = np.asarray(model(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    plt.contourf(xx, yy, Z, cmap="Spectral")
    plt.ylabel("x2")
    plt.xlabel("x1")
    plt.scatter(X[0, :], X[1, :], c=np.ravel(y), cmap="Spectral")
    plt.show()

"""Activation functions φ and their derivatives φ′, in one registry.

Each activation maps pre-activations ``z`` to activations ``a = φ(z)``; its ``derivative``
takes both ``z`` and ``a`` (whichever is cheaper to use) and returns φ′(z), or anything that
broadcasts and multiplies like it (ReLU returns the boolean mask ``z > 0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from initlab._registry import Registry

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]


def relu(z: Array) -> Array:
    """ReLU: φ(z) = max(0, z)."""
    return np.maximum(0, z)


def relu_derivative(z: Array, a: Array) -> Array:
    """φ′(z) = 1 if z > 0 else 0, as a boolean mask: it multiplies like 0/1 without a float copy."""
    mask: Array = z > 0  # type: ignore[assignment]
    return mask


def sigmoid(z: Array) -> Array:
    """Logistic sigmoid: φ(z) = 1 / (1 + e^{−z}).

    Written exactly as the course writes it, so results match its arithmetic bit for bit.
    For z < −709, e^{−z} overflows to ``inf`` and φ(z) correctly becomes 0.0; that overflow
    is expected and not reported.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def tanh(z: Array) -> Array:
    """Hyperbolic tangent: φ(z) = tanh z."""
    return np.tanh(z)


def linear(z: Array) -> Array:
    """Identity: φ(z) = z."""
    return z


ACTIVATIONS: Registry[Activation] = Registry("activation")
ACTIVATIONS.register(
    "relu",
    Activation("relu", relu, relu_derivative),
    "max(0, z); He et al. 2015 derive the √2 gain for it",
)
ACTIVATIONS.register(
    "sigmoid",
    Activation("sigmoid", sigmoid, lambda z, a: a * (1.0 - a)),
    "1/(1+e^-z); saturates for |z| ≫ 1",
    aliases=("logistic",),
)
ACTIVATIONS.register(
    "tanh",
    Activation("tanh", tanh, lambda z, a: 1.0 - a * a),
    "tanh z; zero-centred, saturates for |z| ≫ 1",
)
ACTIVATIONS.register(
    "linear",
    Activation("linear", linear, lambda z, a: np.ones_like(z)),
    "identity z",
    aliases=("identity",),
)


def get(name: str) -> Activation:
    """Look up an activation by name; unknown names fail with the list of known ones."""
    return ACTIVATIONS.get(name)

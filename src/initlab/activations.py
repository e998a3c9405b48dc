"""Activation functions φ and their derivatives φ′, in one registry.

Each activation maps pre-activations ``z`` to activations ``a = φ(z)``; its ``derivative``
takes both ``z`` and ``a`` (whichever is cheaper to use) and returns φ′(z), or anything that
broadcasts and multiplies like it (ReLU returns the boolean mask ``z > 0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from initlab._registry import Registry

Array = NDArray[np.float64]

LEAKY_RELU_SLOPE = 0.01
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
"""SELU's α and λ (Klambauer et al., "Self-Normalizing Neural Networks", NeurIPS 2017)."""


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


def leaky_relu(z: Array, slope: float = LEAKY_RELU_SLOPE) -> Array:
    """Leaky ReLU: φ(z) = z if z > 0 else slope·z (Maas et al. 2013), slope 0.01 as in PyTorch."""
    return np.where(z > 0, z, slope * z)


def elu(z: Array, alpha: float = 1.0) -> Array:
    """ELU: φ(z) = z if z > 0 else α(e^z − 1) (Clevert et al. 2016)."""
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def selu(z: Array) -> Array:
    """SELU: φ(z) = λ·(z if z > 0 else α(e^z − 1)), α ≈ 1.6733, λ ≈ 1.0507 (Klambauer 2017)."""
    return SELU_SCALE * elu(z, SELU_ALPHA)


def gelu(z: Array) -> Array:
    """GELU, exact: φ(z) = z·Φ(z), Φ the standard normal CDF (Hendrycks & Gimpel 2016)."""
    return z * normal_cdf(z)


def normal_cdf(z: Array) -> Array:
    """Φ(z) = (1 + erf(z/√2)) / 2."""
    from scipy import special  # loaded on first use: listing the activations stays light

    cdf: Array = 0.5 * (1.0 + special.erf(z / math.sqrt(2.0)))
    return cdf


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


# Derivatives as named functions (not lambdas), so networks pickle into worker processes.


def _leaky_relu_derivative(z: Array, a: Array) -> Array:
    return np.where(z > 0, 1.0, LEAKY_RELU_SLOPE)


def _elu_derivative(z: Array, a: Array) -> Array:
    return np.where(z > 0, 1.0, a + 1.0)


def _selu_derivative(z: Array, a: Array) -> Array:
    return np.where(z > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA)


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1.0 - a * a


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1.0 - a)


def _linear_derivative(z: Array, a: Array) -> Array:
    return np.ones_like(z)


def _gelu_derivative(z: Array, a: Array) -> Array:
    """φ′(z) = Φ(z) + z·N(z; 0, 1)."""
    return normal_cdf(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


ACTIVATIONS: Registry[Activation] = Registry("activation")
for _act, _description, _aliases in [
    (Activation("relu", relu, relu_derivative), "max(0, z)", ()),
    (
        Activation("leaky_relu", leaky_relu, _leaky_relu_derivative),
        "z if z > 0 else 0.01·z",
        (),
    ),
    (
        Activation("elu", elu, _elu_derivative),
        "z if z > 0 else e^z − 1",
        (),
    ),
    (
        Activation("selu", selu, _selu_derivative),
        "λ·elu_α(z), self-normalising (α≈1.673, λ≈1.051)",
        (),
    ),
    (Activation("gelu", gelu, _gelu_derivative), "z·Φ(z), exact (erf) form", ()),
    (Activation("tanh", tanh, _tanh_derivative), "tanh z; zero-centred, saturates", ()),
    (
        Activation("sigmoid", sigmoid, _sigmoid_derivative),
        "1/(1+e^-z); saturates for |z| ≫ 1",
        ("logistic",),
    ),
    (Activation("linear", linear, _linear_derivative), "identity z", ("identity",)),
]:
    ACTIVATIONS.register(_act.name, _act, _description, aliases=_aliases)


def get(name: str) -> Activation:
    """Look up an activation by name; unknown names fail with the list of known ones."""
    return ACTIVATIONS.get(name)

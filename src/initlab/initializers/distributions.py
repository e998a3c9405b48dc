"""Fan-independent distributions: normal, uniform, the two truncated normals and constants.

Each draws the same law whatever the layer's fans (PyTorch's ``normal_``, ``uniform_``,
``trunc_normal_``, ``constant_``; Keras' ``RandomNormal``, ``RandomUniform``,
``TruncatedNormal``, ``Constant``) and states the exact mean and second moment of one entry in
``moments(shape)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_real
from initlab.initializers.schemes import (
    TRUNCATED_NORMAL_STD,
    Check,
    _check_positive,
    _check_shape,
    _Scheme,
    truncated_standard_normal,
)
from initlab.rng import RandomSource, standard_normal

__all__ = [
    "Constant",
    "Normal",
    "TruncNormal",
    "TruncatedNormal",
    "Uniform",
    "normal",
    "ones",
    "random",
    "random_normal",
    "random_uniform",
    "zeros",
]


@dataclass(frozen=True)
class Normal(_Scheme):
    """N(mean, std²), independent of the layer's fans (``torch.nn.init.normal_``).

    ``random(10)`` is the course's ×10; :func:`normal` takes PyTorch's argument order.
    """

    name: ClassVar[str] = "normal"
    checks: ClassVar[dict[str, Check]] = {"std": _check_positive, "mean": check_real}
    std: float = 1.0
    mean: float = 0.0

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        w = standard_normal(rng, shape) * self.std
        return w + self.mean if self.mean else w

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """E[w] = mean, E[w²] = std² + mean²."""
        _check_shape(shape)
        return self.mean, self.std**2 + self.mean**2


def normal(mean: float = 0.0, std: float = 1.0) -> Normal:
    """N(mean, std²), PyTorch's ``normal_`` with its defaults."""
    return Normal(std=std, mean=mean)


def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Normal:
    """Keras ``RandomNormal``: N(mean, stddev²) with Keras' default stddev 0.05."""
    return Normal(std=stddev, mean=mean)


def random(scale: float = 10.0) -> Normal:
    """N(0, scale²): the course's "large random" initialization, ``randn(...) * 10``."""
    return Normal(std=_check_positive("scale", scale))


@dataclass(frozen=True)
class Uniform(_Scheme):
    """U(a, b), PyTorch's ``uniform_``: mean (a + b)/2, variance (b − a)²/12."""

    name: ClassVar[str] = "uniform"
    checks: ClassVar[dict[str, Check]] = {"a": check_real, "b": check_real}
    a: float = 0.0
    b: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_a_below_b(self.a, self.b)

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        return np.asarray(rng.uniform(self.a, self.b, size=shape), dtype=np.float64)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """E[w] = (a + b)/2, E[w²] = (b − a)²/12 + E[w]²."""
        _check_shape(shape)
        mean = (self.a + self.b) / 2
        return mean, (self.b - self.a) ** 2 / 12 + mean**2


def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Uniform:
    """Keras ``RandomUniform``: U(minval, maxval) with Keras' defaults ±0.05."""
    return Uniform(minval, maxval)


@dataclass(frozen=True)
class TruncNormal(_Scheme):
    """``torch.nn.init.trunc_normal_``: N(mean, std²) conditioned on the ABSOLUTE range [a, b].

    No variance correction: the variance is that of the truncated normal, std² only when
    [a, b] is wide. Sampled as PyTorch does, by the inverse CDF: u ~ U(Φ(α), Φ(β)),
    w = mean + std·Φ⁻¹(u), α = (a − mean)/std, β = (b − mean)/std. Keras' relative cut
    (mean ± 2·stddev) is :class:`TruncatedNormal`.
    """

    name: ClassVar[str] = "trunc_normal"
    checks: ClassVar[dict[str, Check]] = {
        "mean": check_real,
        "std": _check_positive,
        "a": check_real,
        "b": check_real,
    }
    mean: float = 0.0
    std: float = 1.0
    a: float = -2.0
    b: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_a_below_b(self.a, self.b)

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        from scipy.special import ndtr, ndtri  # loaded on first use: listing stays light

        lo, hi = (self.a - self.mean) / self.std, (self.b - self.mean) / self.std
        # Invert in the lower tail, where Φ keeps its relative precision: if the range lies
        # above the mean, draw −z from [−β, −α] instead.
        flip = lo > 0
        if flip:
            lo, hi = -hi, -lo
        u = np.asarray(rng.uniform(ndtr(lo), ndtr(hi), size=shape), dtype=np.float64)
        z = np.clip(ndtri(u), lo, hi)
        w: NDArray[np.float64] = self.mean + self.std * (-z if flip else z)
        return np.clip(w, self.a, self.b)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """The truncated normal's mean m and variance v (``scipy.stats.truncnorm``): (m, v + m²).

        >>> TruncNormal(std=0.02).moments((4, 3))  # cut at ±100σ: nothing is cut
        (0.0, 0.0004)
        """
        from scipy import stats  # slow to import, and only this method needs it

        _check_shape(shape)
        alpha, beta = (self.a - self.mean) / self.std, (self.b - self.mean) / self.std
        m, v = stats.truncnorm.stats(alpha, beta, loc=self.mean, scale=self.std, moments="mv")
        return float(m), float(v) + float(m) ** 2


@dataclass(frozen=True)
class TruncatedNormal(_Scheme):
    """Keras ``TruncatedNormal``: N(mean, stddev²) cut at mean ± 2·stddev, not corrected.

    The variance is therefore (0.87962566…·stddev)², as in Keras. Fan-scaled truncated
    normals (``he_normal``) are corrected instead: see :class:`VarianceScaling`.
    """

    name: ClassVar[str] = "truncated_normal"
    checks: ClassVar[dict[str, Check]] = {"mean": check_real, "stddev": _check_positive}
    mean: float = 0.0
    stddev: float = 0.05

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        return self.mean + self.stddev * truncated_standard_normal(rng, shape)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """E[w] = mean (a symmetric cut), E[w²] = (0.8796…·stddev)² + mean²."""
        _check_shape(shape)
        return self.mean, (TRUNCATED_NORMAL_STD * self.stddev) ** 2 + self.mean**2


@dataclass(frozen=True)
class Constant(_Scheme):
    """Every entry equal to ``value``; draws nothing from ``rng``."""

    name: ClassVar[str] = "constant"
    checks: ClassVar[dict[str, Check]] = {"value": check_real}
    value: float = 0.0

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        return np.full(shape, self.value)

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """E[w] = value, E[w²] = value²."""
        _check_shape(shape)
        return self.value, self.value**2


def _check_a_below_b(a: float, b: float) -> None:
    if not a < b:
        raise ValueError(f"Argument `a` must be less than `b`. Received: a={a!r}, b={b!r}")


def zeros() -> Constant:
    """All zeros. Every hidden unit then computes the same function: symmetry is never broken."""
    return Constant(0.0)


def ones() -> Constant:
    """All ones (``torch.nn.init.ones_``, Keras ``Ones``)."""
    return Constant(1.0)

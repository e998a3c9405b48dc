"""Weight initializers: fans, one general ``variance_scaling`` and the named schemes.

Layout, stated once
-------------------
A dense weight matrix has shape ``(fan_out, fan_in)``: one row per output unit, holding
that unit's incoming weights. This is PyTorch's ``nn.Linear.weight`` layout and the course's
``W[l]`` of shape ``(n[l], n[l-1])``; Keras and JAX store the transpose ``(fan_in, fan_out)``.
For higher-rank shapes ``(fan_out, fan_in, *receptive_field)`` both fans are multiplied by
the receptive-field size, as in PyTorch.

An initializer is a callable ``init(rng, shape, dtype=np.float64) -> ndarray``. Public
names are small factories that return one (``he()``), so choosing a scheme and sampling from
it are separate steps, and every initializer serialises with :func:`get_config`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import DTypeLike, NDArray

from initlab._registry import Registry
from initlab.rng import RandomSource, standard_normal

if TYPE_CHECKING:
    from initlab.network import MLP, Params

Mode = Literal["fan_in", "fan_out", "fan_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
MODES: tuple[Mode, ...] = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS: tuple[Distribution, ...] = ("truncated_normal", "normal", "uniform")

TRUNCATED_NORMAL_STD = 0.87962566103423978
"""Standard deviation of a standard normal truncated to [−2, 2]; dividing by it makes the
truncated draw's variance exact (Keras, JAX)."""


@runtime_checkable
class Initializer(Protocol):
    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]: ...


@runtime_checkable
class DataDependentInitializer(Protocol):
    """An initializer that needs the network and a batch of inputs (e.g. LSUV).

    ``init_network(mlp, rng, X)`` returns every layer's parameters; ``X`` holds samples in rows.
    """

    def init_network(self, mlp: MLP, rng: RandomSource, X: NDArray[np.float64]) -> Params: ...


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, laid out ``(fan_out, fan_in, ...)``.

    >>> compute_fans((10, 2))
    (2, 10)
    >>> compute_fans((16, 3, 5, 5))  # a conv kernel: 3·25 in, 16·25 out
    (75, 400)
    """
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _check_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(shape)
    if not all(isinstance(d, int | np.integer) and d >= 0 for d in shape):
        raise ValueError(f"Argument `shape` must hold non-negative integers. Received: {shape!r}")
    return tuple(int(d) for d in shape)


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"Argument `{name}` must be a positive float. Received: {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value!r}")
    return float(value)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"Argument `{name}` must be one of {', '.join(map(repr, allowed))}. "
            f"Received: {name}={value!r}"
        )


def truncated_standard_normal(
    rng: RandomSource, shape: tuple[int, ...], bound: float = 2.0
) -> NDArray[np.float64]:
    """Standard-normal draws conditioned on ``|z| ≤ bound``, by rejection (≈95% accepted at 2)."""
    out = standard_normal(rng, shape).reshape(-1)
    bad = np.flatnonzero(np.abs(out) > bound)
    while bad.size:
        out[bad] = standard_normal(rng, (bad.size,))
        bad = bad[np.abs(out[bad]) > bound]
    return out.reshape(shape)


@dataclass(frozen=True)
class VarianceScaling:
    """Draw weights with variance ``scale / n``, ``n`` set by ``mode``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2``. The distribution is

    - ``"normal"``: N(0, σ²) with σ = √(scale / n);
    - ``"truncated_normal"``: N(0, 1) cut at ±2, times σ / 0.87962566103423978, so the
      variance after truncation is exactly σ² (Keras, JAX);
    - ``"uniform"``: U(−ℓ, ℓ) with ℓ = √(3·scale / n).

    Glorot (2010), He (2015) and LeCun (1998) are specialisations: see :func:`he`.
    """

    name: ClassVar[str] = "variance_scaling"
    scale: float = 1.0
    mode: Mode = "fan_in"
    distribution: Distribution = "truncated_normal"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _check_positive("scale", self.scale))
        _check_choice("mode", self.mode, MODES)
        _check_choice("distribution", self.distribution, DISTRIBUTIONS)

    def variance(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, float(n))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        shape = _check_shape(shape)
        variance = self.variance(shape)
        if self.distribution == "normal":
            w = standard_normal(rng, shape) * math.sqrt(variance)
        elif self.distribution == "truncated_normal":
            w = truncated_standard_normal(rng, shape) * (math.sqrt(variance) / TRUNCATED_NORMAL_STD)
        else:
            limit = math.sqrt(3.0 * variance)
            w = np.asarray(rng.uniform(-limit, limit, size=shape), dtype=np.float64)
        return w.astype(dtype, copy=False)


@dataclass(frozen=True)
class Normal:
    """N(mean, std²), independent of the layer's fans. ``random(10)`` is the course's ×10."""

    name: ClassVar[str] = "normal"
    std: float = 1.0
    mean: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "std", _check_positive("std", self.std))
        object.__setattr__(self, "mean", float(self.mean))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w = standard_normal(rng, _check_shape(shape)) * self.std
        if self.mean:
            w = w + self.mean
        return w.astype(dtype, copy=False)


@dataclass(frozen=True)
class Constant:
    """Every entry equal to ``value``; draws nothing from ``rng``."""

    name: ClassVar[str] = "constant"
    value: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"Argument `value` must be finite. Received: value={self.value!r}")
        object.__setattr__(self, "value", float(self.value))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        return np.full(_check_shape(shape), self.value, dtype=dtype)


# --- named schemes ---------------------------------------------------------------------


def zeros() -> Constant:
    """All zeros. Every hidden unit then computes the same function: symmetry is never broken."""
    return Constant(0.0)


def random(scale: float = 10.0) -> Normal:
    """N(0, scale²): the course's "large random" initialization, ``randn(...) * 10``."""
    return Normal(std=scale)


def he(scale: float = 2.0) -> VarianceScaling:
    """He (Kaiming) normal as the course writes it: ``randn(...) * sqrt(2 / fan_in)``.

    Var[W] = 2 / fan_in keeps the variance of ReLU activations constant across layers
    (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015). Plain, untruncated
    normal, as in ``torch.nn.init.kaiming_normal_``.
    """
    return VarianceScaling(scale, "fan_in", "normal")


def glorot_normal() -> VarianceScaling:
    """Glorot/Xavier normal, Var[W] = 2 / (fan_in + fan_out), truncated as in Keras
    (Glorot & Bengio, AISTATS 2010)."""
    return VarianceScaling(1.0, "fan_avg", "truncated_normal")


def glorot_uniform() -> VarianceScaling:
    """Glorot/Xavier uniform, U(±√(6 / (fan_in + fan_out))) (Glorot & Bengio, AISTATS 2010)."""
    return VarianceScaling(1.0, "fan_avg", "uniform")


def lecun_normal() -> VarianceScaling:
    """LeCun normal, Var[W] = 1 / fan_in, truncated as in Keras (LeCun et al. 1998)."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal")


# --- registry and configs --------------------------------------------------------------

INITIALIZERS: Registry[Callable[..., Initializer]] = Registry("initializer")
INITIALIZERS.register("zeros", zeros, "all weights 0 (fails to break symmetry)")
INITIALIZERS.register("random", random, "N(0, scale²), scale=10: the course's large random init")
INITIALIZERS.register("he", he, "N(0, 2/fan_in): the course's He init")
INITIALIZERS.register("glorot_normal", glorot_normal, "truncated N, var 2/(fan_in+fan_out)",
                      aliases=("xavier_normal",))  # fmt: skip
INITIALIZERS.register("glorot_uniform", glorot_uniform, "U(±√(6/(fan_in+fan_out)))",
                      aliases=("xavier_uniform", "xavier", "glorot"))  # fmt: skip
INITIALIZERS.register("lecun_normal", lecun_normal, "truncated N, var 1/fan_in")
INITIALIZERS.register("variance_scaling", VarianceScaling, "var scale/n, n from mode")
INITIALIZERS.register("normal", Normal, "N(mean, std²)")
INITIALIZERS.register("constant", Constant, "every weight = value")

Identifier = str | dict[str, Any] | Initializer | DataDependentInitializer


def get(identifier: Identifier) -> Initializer | DataDependentInitializer:
    """Resolve a name, a config ``{"name": ..., **args}`` or a callable to an initializer.

    >>> get("he")
    VarianceScaling(scale=2.0, mode='fan_in', distribution='normal')
    >>> get({"name": "random", "scale": 0.01})
    Normal(std=0.01, mean=0.0)
    """
    if isinstance(identifier, str):
        return INITIALIZERS.get(identifier)()
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name is None:
            raise ValueError(f"An initializer config needs a 'name' key. Received: {identifier!r}")
        factory = INITIALIZERS.get(name)
        try:
            return factory(**config)
        except TypeError as exc:
            raise ValueError(f"Bad arguments for initializer {name!r}: {exc}") from None
    if callable(identifier):
        return identifier
    raise TypeError(
        f"An initializer must be a name, a config dict or a callable. Received: {identifier!r}"
    )


def get_config(init: Initializer | DataDependentInitializer) -> dict[str, Any]:
    """A small JSON-able config that :func:`get` turns back into an equal initializer.

    >>> get(get_config(he())) == he()
    True
    """
    name = getattr(init, "name", None)
    try:
        fields = dataclasses.fields(init)  # type: ignore[arg-type]
    except TypeError:
        fields = None
    if not isinstance(name, str) or fields is None or isinstance(init, type):
        raise TypeError(f"Cannot serialise initializer {init!r}: it is not a registered scheme")
    return {"name": name, **{f.name: getattr(init, f.name) for f in fields}}

"""Weight initializers: fans, gains, one general ``variance_scaling`` and the named schemes.

Layout, stated once
-------------------
A dense weight matrix has shape ``(fan_out, fan_in)``: one row per output unit, holding
that unit's incoming weights. This is PyTorch's ``nn.Linear.weight`` layout and the course's
``W[l]`` of shape ``(n[l], n[l-1])``; Keras and JAX store the transpose ``(fan_in, fan_out)``.
For higher-rank shapes ``(fan_out, fan_in, *receptive_field)`` both fans are multiplied by
the receptive-field size, as in PyTorch.

An initializer is a callable ``init(rng, shape, dtype=np.float64) -> ndarray``. Public
names are small factories that return one (``he_normal()``), so choosing a scheme and
sampling from it are separate steps, and every initializer serialises with
:func:`get_config`. Data-dependent schemes (LSUV, :mod:`initlab.lsuv`) instead implement
``init_network(mlp, rng, X)``.

Truncated or plain: Keras and PyTorch use the same names for different draws
-------------------------------------------------------------------------------
====================  =======================================  ===============================
initlab name          distribution                             follows
====================  =======================================  ===============================
``he_normal``         N(0, 1) cut at ±2, × σ/0.87962566…       Keras ``HeNormal`` (JAX, Flax)
``glorot_normal``     (truncated, variance exactly σ²)         Keras ``GlorotNormal``
``lecun_normal``                                               Keras ``LecunNormal``
``kaiming_normal``    plain N(0, σ²), σ = gain/√fan            ``torch.nn.init.kaiming_normal_``
``xavier_normal``     plain N(0, σ²), σ = gain·√(2/(in+out))   ``torch.nn.init.xavier_normal_``
``he``                plain N(0, 2/fan_in)                     the course's He
``truncated_normal``  N(mean, σ²) cut at mean ± 2σ, no         Keras ``TruncatedNormal``
                      correction: variance ≈ (0.88σ)²
``trunc_normal``      N(mean, σ²) cut at absolute [a, b]       ``torch.nn.init.trunc_normal_``
====================  =======================================  ===============================

The Keras truncated normals divide by 0.87962566103423978, the standard deviation of a
standard normal truncated to [−2, 2], so the weights' variance equals the formula exactly;
the PyTorch normals are not truncated at all. Both are kept, each under its own name.

Custom and third-party initializers
-----------------------------------
:func:`register_initializer` adds a function or a factory to the registry. Installed
packages can also declare initializers in the entry-point group ``initlab.initializers``;
they are loaded on the first lookup of an unknown name, or when the names are listed.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import DTypeLike, NDArray
from scipy.special import ndtr, ndtri

from initlab._registry import Entry, Registry
from initlab.network import MLP, Layer, Params
from initlab.rng import RandomSource, standard_normal

if TYPE_CHECKING:
    from initlab.lsuv import LSUV

Mode = Literal["fan_in", "fan_out", "fan_avg"]
TorchMode = Literal["fan_in", "fan_out"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
MODES: tuple[Mode, ...] = ("fan_in", "fan_out", "fan_avg")
TORCH_MODES: tuple[TorchMode, ...] = ("fan_in", "fan_out")
DISTRIBUTIONS: tuple[Distribution, ...] = ("truncated_normal", "normal", "uniform")

TRUNCATED_NORMAL_STD = 0.87962566103423978
"""Standard deviation of a standard normal truncated to [−2, 2]; dividing by it makes the
truncated draw's variance exact (Keras, JAX)."""

ENTRY_POINT_GROUP = "initlab.initializers"
"""Entry-point group in which installed packages declare initializers."""


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


# --- fans, gains and argument checks ---------------------------------------------------


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, laid out ``(fan_out, fan_in, ...)``.

    Equals PyTorch's ``_calculate_fan_in_and_fan_out`` on ``shape``, and Keras'
    ``compute_fans`` on the transposed shape ``shape[::-1]``.

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


LINEAR_NONLINEARITIES = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
NONLINEARITIES = (*LINEAR_NONLINEARITIES, "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' scale through ``nonlinearity`` (PyTorch's table).

    ===========================  ==========================
    nonlinearity                 gain
    ===========================  ==========================
    linear, identity, conv*,     1
    sigmoid
    tanh                         5/3
    relu                         √2
    leaky_relu                   √(2 / (1 + slope²)), slope = ``param`` (default 0.01)
    selu                         3/4
    ===========================  ==========================

    ReLU's √2 is He et al. (2015); SELU's 3/4 is PyTorch's choice for self-normalising nets.

    >>> calculate_gain("tanh")
    1.6666666666666667
    >>> calculate_gain("leaky_relu", 0.2) == (2 / 1.04) ** 0.5
    True
    """
    _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity in LINEAR_NONLINEARITIES:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _check_finite("param", param)
        return math.sqrt(2.0 / (1 + slope**2))
    return 3.0 / 4  # selu


def _check_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(shape)
    if not all(isinstance(d, int | np.integer) and d >= 0 for d in shape):
        raise ValueError(f"Argument `shape` must hold non-negative integers. Received: {shape!r}")
    return tuple(int(d) for d in shape)


def _check_rank(name: str, shape: tuple[int, ...], ranks: tuple[int, ...]) -> tuple[int, ...]:
    shape = _check_shape(shape)
    if len(shape) not in ranks:
        allowed = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(
            f"Initializer {name!r} needs a {allowed} weight shape. "
            f"Received: shape={shape!r} ({len(shape)}-D)"
        )
    return shape


def _is_real(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def _check_finite(name: str, value: float) -> float:
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be a finite float. Received: {name}={value!r}")
    return float(value)


def _check_positive(name: str, value: float) -> float:
    if not _is_real(value) or not value > 0:
        raise ValueError(f"Argument `{name}` must be a positive float. Received: {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value!r}")
    return float(value)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"Argument `{name}` must be an integer ≥ {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"Argument `{name}` must be one of {', '.join(map(repr, allowed))}. "
            f"Received: {name}={value!r}"
        )


def _draw(
    rng: RandomSource, shape: tuple[int, ...], std: float, distribution: Distribution
) -> NDArray[np.float64]:
    """Zero-mean draws with standard deviation ``std`` from one of the three distributions."""
    if distribution == "normal":
        return standard_normal(rng, shape) * std
    if distribution == "truncated_normal":
        return truncated_standard_normal(rng, shape) * (std / TRUNCATED_NORMAL_STD)
    limit = math.sqrt(3.0) * std
    return np.asarray(rng.uniform(-limit, limit, size=shape), dtype=np.float64)


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


# --- fan-scaled schemes ----------------------------------------------------------------


@dataclass(frozen=True)
class VarianceScaling:
    """Draw weights with variance ``scale / n``, ``n`` set by ``mode``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2``. The distribution is

    - ``"normal"``: N(0, σ²) with σ = √(scale / n);
    - ``"truncated_normal"``: N(0, 1) cut at ±2, times σ / 0.87962566103423978, so the
      variance after truncation is exactly σ² (Keras, JAX);
    - ``"uniform"``: U(−ℓ, ℓ) with ℓ = √(3·scale / n).

    Glorot (2010), He (2015) and LeCun (1998) are specialisations: see :func:`he_normal`.

    >>> w = VarianceScaling(2.0, "fan_in", "uniform")(np.random.default_rng(0), (64, 32))
    >>> bool(abs(w).max() <= (3 * 2.0 / 32) ** 0.5)
    True
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
        # For "normal" this is exactly the notebook's He: randn(...) * sqrt(2 / fan_in).
        w = _draw(rng, shape, math.sqrt(self.variance(shape)), self.distribution)
        return w.astype(dtype, copy=False)


class _GainScaled:
    """PyTorch's fan-scaled schemes: zero-mean draws of standard deviation ``self.std(shape)``.

    They are :class:`VarianceScaling` with ``scale = gain²``, but keep PyTorch's arguments
    (``gain``, ``a``, ``nonlinearity``) in their configs.
    """

    distribution: ClassVar[Distribution]

    def std(self, shape: tuple[int, ...]) -> float:
        raise NotImplementedError

    def bound(self, shape: tuple[int, ...]) -> float:
        """The uniform distribution's half-width ℓ = √3·σ."""
        return math.sqrt(3.0) * self.std(shape)

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        shape = _check_shape(shape)
        if math.prod(shape) == 0:
            return np.zeros(shape, dtype)
        return _draw(rng, shape, self.std(shape), self.distribution).astype(dtype, copy=False)


def he(scale: float = 2.0) -> VarianceScaling:
    """He (Kaiming) normal as the course writes it: ``randn(...) * sqrt(2 / fan_in)``.

    Var[W] = 2 / fan_in keeps the variance of ReLU activations constant across layers
    (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015). Plain, untruncated
    normal; unlike Keras' ``HeNormal`` (:func:`he_normal`), which is truncated.
    """
    return VarianceScaling(scale, "fan_in", "normal")


def _he_scale(negative_slope: float) -> float:
    slope = _check_finite("negative_slope", negative_slope)
    return 2.0 / (1.0 + slope**2)


def he_normal(mode: Mode = "fan_in", negative_slope: float = 0.0) -> VarianceScaling:
    """Keras ``HeNormal``: truncated normal, Var[W] = 2 / (fan_in·(1 + slope²)).

    The draw is N(0, 1) cut at ±2, rescaled so the variance is exact. ``negative_slope`` is
    a leaky ReLU's slope (0: ReLU); ``mode`` picks the fan, as in PyTorch's Kaiming init
    (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015). For PyTorch's plain
    normal see :class:`KaimingNormal`.
    """
    return VarianceScaling(_he_scale(negative_slope), mode, "truncated_normal")


def he_uniform(mode: Mode = "fan_in", negative_slope: float = 0.0) -> VarianceScaling:
    """Keras ``HeUniform``: U(±ℓ), ℓ = √(6 / (fan_in·(1 + slope²))) (He et al. 2015)."""
    return VarianceScaling(_he_scale(negative_slope), mode, "uniform")


def glorot_normal() -> VarianceScaling:
    """Keras ``GlorotNormal``: truncated normal, Var[W] = 2 / (fan_in + fan_out).

    Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS 2010. PyTorch's plain-normal version is :class:`XavierNormal`.
    """
    return VarianceScaling(1.0, "fan_avg", "truncated_normal")


def glorot_uniform() -> VarianceScaling:
    """Keras ``GlorotUniform``: U(±√(6 / (fan_in + fan_out))) (Glorot & Bengio, AISTATS 2010)."""
    return VarianceScaling(1.0, "fan_avg", "uniform")


def lecun_normal() -> VarianceScaling:
    """Keras ``LecunNormal``: truncated normal, Var[W] = 1 / fan_in.

    LeCun, Bottou, Orr & Müller, "Efficient BackProp", 1998; the init SELU networks need
    (Klambauer et al. 2017).
    """
    return VarianceScaling(1.0, "fan_in", "truncated_normal")


def lecun_uniform() -> VarianceScaling:
    """Keras ``LecunUniform``: U(±√(3 / fan_in)) (LeCun et al., "Efficient BackProp", 1998)."""
    return VarianceScaling(1.0, "fan_in", "uniform")


def _gain(gain: float | None, activation: str | None, param: float | None) -> float:
    if activation is None:
        return 1.0 if gain is None else _check_positive("gain", gain)
    if gain is not None:
        raise ValueError(
            "Give `gain` or `activation`, not both. "
            f"Received: gain={gain!r}, activation={activation!r}"
        )
    return calculate_gain(activation, param)


@dataclass(frozen=True)
class XavierNormal(_GainScaled):
    """``torch.nn.init.xavier_normal_``: plain N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)).

    Glorot & Bengio, AISTATS 2010. Not truncated; Keras' truncated version is
    :func:`glorot_normal`. Build it with :func:`xavier_normal` to give an activation name.
    """

    name: ClassVar[str] = "xavier_normal"
    distribution: ClassVar[Distribution] = "normal"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", _check_positive("gain", self.gain))

    def std(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        return self.gain * math.sqrt(2.0 / (fan_in + fan_out))


@dataclass(frozen=True)
class XavierUniform(_GainScaled):
    """``torch.nn.init.xavier_uniform_``: U(±ℓ), ℓ = gain·√(6 / (fan_in + fan_out)).

    Glorot & Bengio, AISTATS 2010. With gain 1 it is Keras' :func:`glorot_uniform`.
    """

    name: ClassVar[str] = "xavier_uniform"
    distribution: ClassVar[Distribution] = "uniform"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", _check_positive("gain", self.gain))

    def std(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        return self.gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_normal(
    gain: float | None = None, activation: str | None = None, param: float | None = None
) -> XavierNormal:
    """PyTorch's Xavier normal, with ``gain`` or ``gain = calculate_gain(activation, param)``.

    >>> xavier_normal(activation="tanh")
    XavierNormal(gain=1.6666666666666667)
    """
    return XavierNormal(_gain(gain, activation, param))


def xavier_uniform(
    gain: float | None = None, activation: str | None = None, param: float | None = None
) -> XavierUniform:
    """PyTorch's Xavier uniform, with ``gain`` or ``gain = calculate_gain(activation, param)``."""
    return XavierUniform(_gain(gain, activation, param))


@dataclass(frozen=True)
class _Kaiming(_GainScaled):
    """PyTorch's Kaiming arguments: σ = gain / √fan, gain = calculate_gain(nonlinearity, a)."""

    a: float = 0.0
    mode: TorchMode = "fan_in"
    nonlinearity: str = "leaky_relu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _check_finite("a", self.a))
        _check_choice("mode", self.mode, TORCH_MODES)
        calculate_gain(self.nonlinearity, self.a)

    def std(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        fan = fan_in if self.mode == "fan_in" else fan_out
        return calculate_gain(self.nonlinearity, self.a) / math.sqrt(fan)


@dataclass(frozen=True)
class KaimingNormal(_Kaiming):
    """``torch.nn.init.kaiming_normal_``: plain N(0, σ²), σ = gain / √fan.

    ``gain = calculate_gain(nonlinearity, a)`` (``a``: the leaky ReLU's negative slope, used
    only with ``"leaky_relu"``); ``fan`` is ``fan_in`` (preserves the forward pass' variance)
    or ``fan_out`` (the backward pass'). The defaults give σ = √(2 / fan_in). He, Zhang, Ren &
    Sun, "Delving Deep into Rectifiers", ICCV 2015. Keras' truncated version: :func:`he_normal`.
    """

    name: ClassVar[str] = "kaiming_normal"
    distribution: ClassVar[Distribution] = "normal"


@dataclass(frozen=True)
class KaimingUniform(_Kaiming):
    """``torch.nn.init.kaiming_uniform_``: U(±ℓ), ℓ = gain·√(3 / fan).

    Same arguments as :class:`KaimingNormal` (He et al., ICCV 2015), so the same σ.
    """

    name: ClassVar[str] = "kaiming_uniform"
    distribution: ClassVar[Distribution] = "uniform"


# --- fan-independent distributions -----------------------------------------------------


@dataclass(frozen=True)
class Normal:
    """N(mean, std²), independent of the layer's fans (``torch.nn.init.normal_``).

    ``random(10)`` is the course's ×10; :func:`normal` takes PyTorch's argument order.
    """

    name: ClassVar[str] = "normal"
    std: float = 1.0
    mean: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "std", _check_positive("std", self.std))
        object.__setattr__(self, "mean", _check_finite("mean", self.mean))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w = standard_normal(rng, _check_shape(shape)) * self.std
        if self.mean:
            w = w + self.mean
        return w.astype(dtype, copy=False)


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
class Uniform:
    """U(a, b), PyTorch's ``uniform_``: mean (a + b)/2, variance (b − a)²/12."""

    name: ClassVar[str] = "uniform"
    a: float = 0.0
    b: float = 1.0

    def __post_init__(self) -> None:
        a, b = _check_finite("a", self.a), _check_finite("b", self.b)
        if not a < b:
            raise ValueError(f"Argument `a` must be less than `b`. Received: a={a!r}, b={b!r}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w = np.asarray(rng.uniform(self.a, self.b, size=_check_shape(shape)), dtype=np.float64)
        return w.astype(dtype, copy=False)


def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Uniform:
    """Keras ``RandomUniform``: U(minval, maxval) with Keras' defaults ±0.05."""
    return Uniform(minval, maxval)


@dataclass(frozen=True)
class TruncNormal:
    """``torch.nn.init.trunc_normal_``: N(mean, std²) conditioned on the ABSOLUTE range [a, b].

    No variance correction: the variance is that of the truncated normal, std² only when
    [a, b] is wide. Sampled as PyTorch does, by the inverse CDF: u ~ U(Φ(α), Φ(β)),
    w = mean + std·Φ⁻¹(u), α = (a − mean)/std, β = (b − mean)/std. Keras' relative cut
    (mean ± 2·stddev) is :class:`TruncatedNormal`.
    """

    name: ClassVar[str] = "trunc_normal"
    mean: float = 0.0
    std: float = 1.0
    a: float = -2.0
    b: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _check_finite("mean", self.mean))
        object.__setattr__(self, "std", _check_positive("std", self.std))
        a, b = _check_finite("a", self.a), _check_finite("b", self.b)
        if not a < b:
            raise ValueError(f"Argument `a` must be less than `b`. Received: a={a!r}, b={b!r}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        shape = _check_shape(shape)
        lo, hi = (self.a - self.mean) / self.std, (self.b - self.mean) / self.std
        # Invert in the lower tail, where Φ keeps its relative precision: if the range lies
        # above the mean, draw −z from [−β, −α] instead.
        flip = lo > 0
        if flip:
            lo, hi = -hi, -lo
        u = np.asarray(rng.uniform(ndtr(lo), ndtr(hi), size=shape), dtype=np.float64)
        z = np.clip(ndtri(u), lo, hi)
        w: NDArray[np.float64] = self.mean + self.std * (-z if flip else z)
        return np.clip(w, self.a, self.b).astype(dtype, copy=False)


@dataclass(frozen=True)
class TruncatedNormal:
    """Keras ``TruncatedNormal``: N(mean, stddev²) cut at mean ± 2·stddev, not corrected.

    The variance is therefore (0.87962566…·stddev)², as in Keras. Fan-scaled truncated
    normals (``he_normal``) are corrected instead: see :class:`VarianceScaling`.
    """

    name: ClassVar[str] = "truncated_normal"
    mean: float = 0.0
    stddev: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _check_finite("mean", self.mean))
        object.__setattr__(self, "stddev", _check_positive("stddev", self.stddev))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w = self.mean + self.stddev * truncated_standard_normal(rng, _check_shape(shape))
        return w.astype(dtype, copy=False)


@dataclass(frozen=True)
class Constant:
    """Every entry equal to ``value``; draws nothing from ``rng``."""

    name: ClassVar[str] = "constant"
    value: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _check_finite("value", self.value))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        return np.full(_check_shape(shape), self.value, dtype=dtype)


def zeros() -> Constant:
    """All zeros. Every hidden unit then computes the same function: symmetry is never broken."""
    return Constant(0.0)


def ones() -> Constant:
    """All ones (``torch.nn.init.ones_``, Keras ``Ones``)."""
    return Constant(1.0)


# --- structured schemes ----------------------------------------------------------------


@dataclass(frozen=True)
class Orthogonal:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland & Ganguli, ICLR 2014).

    The algorithm of ``torch.nn.init.orthogonal_`` and Keras ``Orthogonal``: flatten the
    shape to ``rows = shape[0]`` × ``cols = prod(shape[1:])``, take the QR decomposition of an
    N(0, 1) matrix in the tall orientation (max × min), multiply Q's columns by the signs of
    diag(R) (so Q is Haar-distributed), and transpose back when rows < cols. The result has
    orthonormal rows (W Wᵀ = gain²·I) when rows ≤ cols, orthonormal columns otherwise.
    """

    name: ClassVar[str] = "orthogonal"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", _check_positive("gain", self.gain))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        shape = _check_shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "Initializer 'orthogonal' needs a weight shape of rank ≥ 2. "
                f"Received: shape={shape!r}"
            )
        if math.prod(shape) == 0:
            return np.zeros(shape, dtype)
        rows, cols = shape[0], math.prod(shape[1:])
        q, r = np.linalg.qr(standard_normal(rng, (max(rows, cols), min(rows, cols))))
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype, copy=False)


@dataclass(frozen=True)
class Identity:
    """``gain`` on the diagonal, 0 elsewhere: W = gain·I (any 2-D shape; ``eye_``, Keras
    ``Identity``). Draws nothing from ``rng``; identity RNNs (Le, Jaitly & Hinton 2015)."""

    name: ClassVar[str] = "identity"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", _check_positive("gain", self.gain))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        rows, cols = _check_rank(self.name, shape, (2,))
        return (self.gain * np.eye(rows, cols)).astype(dtype, copy=False)


@dataclass(frozen=True)
class Dirac:
    """``torch.nn.init.dirac_``: a conv kernel that passes its input through unchanged.

    For a (out, in, *kernel) weight of rank 3, 4 or 5 split into ``groups`` along ``out``,
    W[g·(out/groups) + d, d, centre] = 1 for d < min(out/groups, in), else 0, so the first
    channels of every group copy the input (Zagoruyko & Komodakis, "DiracNets", 2017).
    """

    name: ClassVar[str] = "dirac"
    groups: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", _check_int("groups", self.groups, 1))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        shape = _check_rank(self.name, shape, (3, 4, 5))
        if shape[0] % self.groups:
            raise ValueError(
                f"Initializer 'dirac': the output channels shape[0]={shape[0]} must be "
                f"divisible by groups={self.groups}. Received: shape={shape!r}"
            )
        w = np.zeros(shape, dtype=dtype)
        per_group = shape[0] // self.groups
        centre = tuple(s // 2 for s in shape[2:])
        for g in range(self.groups):
            for d in range(min(per_group, shape[1])):
                w[(g * per_group + d, d, *centre)] = 1
        return w


@dataclass(frozen=True)
class Sparse:
    """``torch.nn.init.sparse_``: N(0, std²) with ⌈sparsity·rows⌉ zeros in every column.

    The zeros' rows are chosen at random, independently for each column (Martens, "Deep
    learning via Hessian-free optimization", ICML 2010). 2-D weights only.
    """

    name: ClassVar[str] = "sparse"
    sparsity: float
    std: float = 0.01

    def __post_init__(self) -> None:
        s = self.sparsity
        if not _is_real(s) or not 0 <= s < 1:
            raise ValueError(
                f"Argument `sparsity` must be a float in [0, 1). Received: sparsity={s!r}"
            )
        object.__setattr__(self, "sparsity", float(s))
        object.__setattr__(self, "std", _check_positive("std", self.std))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        rows, cols = _check_rank(self.name, shape, (2,))
        w = standard_normal(rng, (rows, cols)) * self.std
        n_zeros = math.ceil(self.sparsity * rows)
        if n_zeros and cols:
            # A random permutation of the rows of each column: argsort of uniform keys.
            order = np.argsort(np.asarray(rng.uniform(0.0, 1.0, size=(rows, cols))), axis=0)
            np.put_along_axis(w, order[:n_zeros], 0.0, axis=0)
        return w.astype(dtype, copy=False)


@dataclass(frozen=True)
class ZerO:
    """ZerO: deterministic zeros-and-ones initialization (Zhao, Schäfer & Anandkumar, 2022).

    Algorithm 1 of "ZerO Initialization: Initializing Neural Networks with only Zeros and
    Ones" (TMLR 2022), for W of shape (P, Q) = (fan_out, fan_in):

    - P = Q: W = I;
    - P < Q: W = I* (partial identity: propagate the first P inputs);
    - P > Q: W = c·I*·H_m·I* = c·H_m[:P, :Q], with H_m the 2^m × 2^m Sylvester Hadamard
      matrix (H_0 = 1, H_m = [[H, H], [H, −H]]), m = ⌈log₂ P⌉ and c = 2^{−(m−1)/2}.

    c follows the paper; the authors' code normalises by 2^{−m/2} instead. 2-D weights only;
    draws nothing from ``rng``.
    """

    name: ClassVar[str] = "zero_init"

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        P, Q = _check_rank(self.name, shape, (2,))
        if P <= Q:
            return np.eye(P, Q, dtype=dtype)
        m = (P - 1).bit_length()  # ⌈log₂ P⌉
        # Sylvester's H_m[i, j] = (−1)^popcount(i & j), computed only for the rows and
        # columns kept, without building the 2^m × 2^m matrix.
        bits = np.bitwise_and.outer(np.arange(P), np.arange(Q))
        parity = np.zeros((P, Q), dtype=np.int64)
        while bits.any():
            parity ^= bits & 1
            bits >>= 1
        w: NDArray[np.float64] = 2.0 ** (-(m - 1) / 2) * (1 - 2 * parity)
        return w.astype(dtype, copy=False)


def lsuv(tol: float = 0.1, max_iter: int = 10, base: str | dict[str, Any] = "orthogonal") -> LSUV:
    """LSUV, layer-sequential unit variance (Mishkin & Matas, ICLR 2016): :mod:`initlab.lsuv`."""
    from initlab.lsuv import LSUV  # imported here: lsuv imports network, which imports us

    return LSUV(tol=tol, max_iter=max_iter, base=base)


# --- custom initializers and plugins ---------------------------------------------------


@dataclass(frozen=True)
class CustomInitializer:
    """An initializer registered by :func:`register_initializer` or a plugin.

    Serialises as ``{"name": name, **args}``; two are equal when built from the same
    registered callable with the same arguments.
    """

    name: str
    source: Callable[..., Any] = field(repr=False)
    init: Any = field(compare=False, repr=False)
    args: dict[str, Any] = field(default_factory=dict, hash=False)

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w: NDArray[Any] = self.init(rng, shape, dtype)
        return w

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.args}


@dataclass(frozen=True)
class CustomDataDependentInitializer(CustomInitializer):
    """A registered data-dependent initializer: forwards ``init_network``."""

    def init_network(self, mlp: MLP, rng: RandomSource, X: NDArray[np.float64]) -> Params:
        params: Params = self.init.init_network(mlp, rng, X)
        return params


class CustomFactory:
    """What :func:`register_initializer` stores in the registry.

    Called with the config's arguments, it returns a :class:`CustomInitializer`: ``fn``
    itself (``factory=False``, no arguments) or ``fn(**args)`` (``factory=True``).
    """

    def __init__(self, name: str, fn: Callable[..., Any], factory: bool) -> None:
        self.name, self.fn, self.factory = name, fn, factory

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.fn) if self.factory else inspect.Signature()

    def __call__(self, **args: Any) -> CustomInitializer:
        init = self.fn(**args) if self.factory else self.fn
        if isinstance(init, DataDependentInitializer):
            return CustomDataDependentInitializer(self.name, self.fn, init, dict(args))
        if not callable(init):
            raise TypeError(
                f"Initializer factory {self.name!r} returned {init!r}, which is not an "
                "initializer: expected a callable fn(rng, shape, dtype) or an object with "
                "init_network(mlp, rng, X)"
            )
        return CustomInitializer(self.name, self.fn, init, dict(args))

    def __repr__(self) -> str:
        return f"CustomFactory({self.name!r}, {self.fn!r}, factory={self.factory})"


def _takes_rng_and_shape(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is called as ``fn(rng, shape[, dtype])``: exactly two required
    positional parameters (classes and keyword-argument factories are not)."""
    if isinstance(fn, type):
        return False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params if p.kind in positional and p.default is p.empty]
    return len(required) == 2


class InitializerPluginError(ValueError):
    """An entry point in ``initlab.initializers`` failed to load; the message names it."""


class InitializerPluginWarning(UserWarning):
    """A plugin was skipped: it failed to load, or its name is already taken."""


Factory = Callable[..., Initializer | DataDependentInitializer]


class InitializerRegistry(Registry[Factory]):
    """The initializer registry, plus plugins from the entry-point group ``group``.

    Plugins are loaded once, lazily: on the first lookup of a name not yet registered, or
    when the names are listed. A plugin that fails to load is skipped with an
    :class:`InitializerPluginWarning`; looking its name up raises
    :class:`InitializerPluginError`, naming the entry point and the cause.
    """

    def __init__(self, kind: str, group: str = ENTRY_POINT_GROUP) -> None:
        super().__init__(kind)
        self.group = group
        self._plugins_loaded = False
        self._broken: dict[str, str] = {}

    def load_plugins(self, *, reload: bool = False) -> None:
        """Register every entry point of ``group`` not registered yet (once, unless ``reload``)."""
        if self._plugins_loaded and not reload:
            return
        self._plugins_loaded = True
        problems = []
        for ep in importlib.metadata.entry_points(group=self.group):
            key = ep.name.lower()
            where = f"entry point '{ep.name} = {ep.value}' in group {self.group!r}"
            if ep.dist is not None:
                where += f" (distribution {ep.dist.name} {ep.dist.version})"
            if super().__contains__(key):
                if not isinstance(self.entry(key).value, CustomFactory):
                    problems.append(f"Skipped initializer plugin {where}: {key!r} is built in")
                continue
            try:
                obj = ep.load()
                if not super().__contains__(key):  # it may register itself on import
                    factory = not _takes_rng_and_shape(obj)
                    doc = (inspect.getdoc(obj) or "").partition("\n")[0]
                    self.register(key, CustomFactory(key, obj, factory), f"plugin: {doc}")
            except Exception as exc:
                message = (
                    f"Initializer plugin {ep.name!r} failed to load from {where}: "
                    f"{type(exc).__name__}: {exc}"
                )
                self._broken[key] = message
                problems.append(message)
        for problem in problems:
            warnings.warn(problem, InitializerPluginWarning, stacklevel=3)

    def canonical(self, name: str) -> str:
        if isinstance(name, str) and not super().__contains__(name):
            self.load_plugins()
            if name.lower() in self._broken:
                raise InitializerPluginError(self._broken[name.lower()])
        return super().canonical(name)

    def names(self) -> list[str]:
        self.load_plugins()
        return super().names()

    def __iter__(self) -> Iterator[Entry[Factory]]:
        self.load_plugins()
        return super().__iter__()

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and not super().__contains__(name):
            self.load_plugins()
        return super().__contains__(name)


def _builtin_registry() -> InitializerRegistry:
    """A fresh registry holding initlab's own schemes (plugins load on first use)."""
    r = InitializerRegistry("initializer")
    # The course's three.
    r.register("zeros", zeros, "all weights 0 (fails to break symmetry)")
    r.register("random", random, "N(0, scale²), scale=10: the course's large random init")
    r.register("he", he, "plain N(0, 2/fan_in): the course's He init")
    # The general form and its Keras specialisations (truncated normals, variance exact).
    r.register("variance_scaling", VarianceScaling, "var scale/n, n from mode (Keras, JAX)")
    r.register("he_normal", he_normal, "Keras: truncated N, var 2/(fan·(1+slope²))")
    r.register("he_uniform", he_uniform, "Keras: U(±√(6/(fan·(1+slope²))))")
    r.register("glorot_normal", glorot_normal, "Keras: truncated N, var 2/(fan_in+fan_out)")
    r.register("glorot_uniform", glorot_uniform, "Keras: U(±√(6/(fan_in+fan_out)))")
    r.register("lecun_normal", lecun_normal, "Keras: truncated N, var 1/fan_in")
    r.register("lecun_uniform", lecun_uniform, "Keras: U(±√(3/fan_in))")
    # PyTorch's (plain normals, gains).
    r.register("xavier_normal", xavier_normal, "torch: N(0, gain²·2/(fan_in+fan_out))")
    r.register("xavier_uniform", xavier_uniform, "torch: U(±gain·√(6/(fan_in+fan_out)))")
    r.register("kaiming_normal", KaimingNormal, "torch: N(0, gain²/fan)")
    r.register("kaiming_uniform", KaimingUniform, "torch: U(±gain·√(3/fan))")
    # Fan-independent distributions.
    r.register("constant", Constant, "every weight = value")
    r.register("ones", ones, "all weights 1")
    r.register("normal", normal, "N(mean, std²), torch defaults 0, 1")
    r.register("random_normal", random_normal, "Keras: N(mean, stddev²), stddev=0.05")
    r.register("uniform", Uniform, "U(a, b), torch defaults 0, 1")
    r.register("random_uniform", random_uniform, "Keras: U(minval, maxval), ±0.05")
    r.register("trunc_normal", TruncNormal, "torch: N(mean, std²) cut at absolute [a, b]")
    r.register("truncated_normal", TruncatedNormal, "Keras: N(mean, stddev²) cut at ±2 stddev")
    # Structured.
    r.register("orthogonal", Orthogonal, "gain × (semi-)orthogonal (Saxe et al. 2014)")
    r.register("identity", Identity, "gain × I, 2-D", aliases=("eye",))
    r.register("dirac", Dirac, "conv identity (torch dirac_), 3-5-D")
    r.register("sparse", Sparse, "N(0, std²), ⌈sparsity·rows⌉ zeros per column (torch)")
    r.register("zero_init", ZerO, "ZerO: identity / Hadamard, deterministic (Zhao et al. 2022)")
    # Data-dependent.
    r.register("lsuv", lsuv, "layer-sequential unit variance, needs a batch (Mishkin 2016)")
    return r


INITIALIZERS: InitializerRegistry = _builtin_registry()


def register_initializer(
    name: str,
    fn: Callable[..., Any] | None = None,
    *,
    description: str = "",
    aliases: tuple[str, ...] = (),
    factory: bool = False,
    overwrite: bool = False,
) -> Any:
    """Register a custom initializer under ``name``; usable as a function or a decorator.

    Without ``factory``, ``fn(rng, shape, dtype=np.float64)`` is the initializer itself
    (or an object with ``init_network(mlp, rng, X)``); ``get(name)`` returns it wrapped so that
    ``get_config`` gives ``{"name": name}``. With ``factory=True``, ``fn(**kwargs)`` returns an
    initializer and ``get({"name": name, **kwargs})`` builds one, serialising back to that
    config. Returns ``fn``.

    >>> @register_initializer("halves", description="every weight 0.5")
    ... def halves(rng, shape, dtype=np.float64):
    ...     return np.full(shape, 0.5, dtype)
    >>> get_config(get("halves"))
    {'name': 'halves'}
    >>> INITIALIZERS.unregister("halves")
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Argument `name` must be a non-empty string. Received: name={name!r}")

    def add(f: Any) -> Any:
        if not callable(f) and not isinstance(f, DataDependentInitializer):
            raise TypeError(f"Argument `fn` must be callable. Received: fn={f!r}")
        doc = description or (inspect.getdoc(f) or "").partition("\n")[0]
        key = name.lower()
        INITIALIZERS.register(
            key, CustomFactory(key, f, factory), doc, aliases=aliases, overwrite=overwrite
        )
        return f

    return add if fn is None else add(fn)


# --- identifiers and configs -----------------------------------------------------------

Identifier = str | dict[str, Any] | Initializer | DataDependentInitializer


def _build(name: str, args: dict[str, Any]) -> Initializer | DataDependentInitializer:
    factory = INITIALIZERS.get(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(**args)
    try:
        signature.bind(**args)
    except TypeError as exc:
        takes = ", ".join(p.name for p in signature.parameters.values()) or "no arguments"
        raise ValueError(
            f"Bad arguments for initializer {name!r}: {exc}. It takes: {takes}"
        ) from None
    return factory(**args)


def get(identifier: Identifier) -> Initializer | DataDependentInitializer:
    """Resolve a name, a config ``{"name": ..., **args}`` or an initializer object.

    >>> get("he")
    VarianceScaling(scale=2.0, mode='fan_in', distribution='normal')
    >>> get({"name": "random", "scale": 0.01})
    Normal(std=0.01, mean=0.0)
    >>> get({"name": "kaiming_uniform", "nonlinearity": "relu"})
    KaimingUniform(a=0.0, mode='fan_in', nonlinearity='relu')
    """
    if isinstance(identifier, str):
        return _build(identifier, {})
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(
                "An initializer config needs a 'name' key holding a string. "
                f"Received: {identifier!r}"
            )
        return _build(name, config)
    if callable(identifier) or isinstance(identifier, DataDependentInitializer):
        return identifier
    raise TypeError(
        f"An initializer must be a name, a config dict or a callable. Received: {identifier!r}"
    )


def get_config(init: Initializer | DataDependentInitializer) -> dict[str, Any]:
    """A small JSON-able config that :func:`get` turns back into an equal initializer.

    Specialisations serialise as their general form (``he_normal()`` as a
    ``variance_scaling`` config); an object with its own ``get_config()`` method uses it.

    >>> get(get_config(he())) == he()
    True
    >>> get_config(xavier_uniform(activation="relu"))
    {'name': 'xavier_uniform', 'gain': 1.4142135623730951}
    """
    method = getattr(init, "get_config", None)
    if callable(method) and not isinstance(init, type):
        config = method()
        if not isinstance(config, dict) or not isinstance(config.get("name"), str):
            raise TypeError(f"{init!r}.get_config() must return a dict with a 'name' string")
        return dict(config)
    name = getattr(init, "name", None)
    try:
        fields = dataclasses.fields(init)  # type: ignore[arg-type]
    except TypeError:
        fields = None
    if not isinstance(name, str) or fields is None or isinstance(init, type):
        raise TypeError(f"Cannot serialise initializer {init!r}: it is not a registered scheme")
    return {"name": name, **{f.name: getattr(init, f.name) for f in fields}}


def init_params(
    mlp: MLP,
    rng: RandomSource,
    weight_init: Identifier = "he",
    bias_init: Identifier = "zeros",
    X: NDArray[np.float64] | None = None,
) -> Params:
    """Initialize every layer in order, drawing from one generator.

    Weights of layer 1 are drawn first, then layer 2, … — the order of the course's
    ``initialize_parameters_*`` loops, so ``rng=notebook_init_rng()`` reproduces them exactly.
    A data-dependent ``weight_init`` (LSUV) also needs a batch ``X`` (samples in rows) and
    sets the biases itself.
    """
    w_init, b_init = get(weight_init), get(bias_init)
    if isinstance(w_init, DataDependentInitializer):
        if X is None:
            raise ValueError(
                f"Initializer {getattr(w_init, 'name', w_init)!r} is data-dependent: "
                "pass a batch of inputs X"
            )
        return w_init.init_network(mlp, rng, np.asarray(X, dtype=np.float64))
    if isinstance(b_init, DataDependentInitializer):
        raise ValueError("A bias initializer cannot be data-dependent")
    params = []
    for n_out, n_in in mlp.weight_shapes():
        W = np.asarray(w_init(rng, (n_out, n_in)), dtype=np.float64)
        b = np.asarray(b_init(rng, (n_out, 1)), dtype=np.float64)
        params.append(Layer(W, b))
    return params

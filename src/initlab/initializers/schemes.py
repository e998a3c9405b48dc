"""The catalogue's base: the initializer protocols, fans, gains and the fan-scaled schemes.

Every scheme here is a frozen dataclass called as ``init(rng, shape, dtype)`` that also
answers ``moments(shape)``: the mean and the second moment E[w²] of one entry of its draws,
exactly, so that :mod:`initlab.theory` reads σ_w² off the scheme that draws the weights.
:class:`VarianceScaling` is the general form; Glorot, He and LeCun are one-line
specialisations of it, and PyTorch's Xavier and Kaiming keep their own arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import DTypeLike, NDArray

from initlab._validate import check_choice, check_real, invalid, is_int
from initlab.rng import RandomSource, standard_normal

if TYPE_CHECKING:
    from initlab.network import MLP, Params

__all__ = [
    "DISTRIBUTIONS",
    "DISTRIBUTION_ALIASES",
    "LINEAR_NONLINEARITIES",
    "MODES",
    "NONLINEARITIES",
    "TORCH_MODES",
    "TRUNCATED_NORMAL_STD",
    "DataDependentInitializer",
    "Distribution",
    "HasMoments",
    "Initializer",
    "KaimingNormal",
    "KaimingUniform",
    "Mode",
    "TorchMode",
    "VarianceScaling",
    "XavierNormal",
    "XavierUniform",
    "calculate_gain",
    "compute_fans",
    "glorot_normal",
    "glorot_uniform",
    "he",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "truncated_standard_normal",
    "xavier_normal",
    "xavier_uniform",
]

Mode = Literal["fan_in", "fan_out", "fan_avg"]
TorchMode = Literal["fan_in", "fan_out"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
MODES: tuple[Mode, ...] = ("fan_in", "fan_out", "fan_avg")
TORCH_MODES: tuple[TorchMode, ...] = ("fan_in", "fan_out")
DISTRIBUTIONS: tuple[Distribution, ...] = ("truncated_normal", "untruncated_normal", "uniform")
""":class:`VarianceScaling`'s distributions, named as in Keras 3."""
DISTRIBUTION_ALIASES: dict[str, Distribution] = {"normal": "truncated_normal"}
"""Names Keras 3 accepts for a distribution and stores as another: its ``"normal"`` means the
*truncated* normal (a Keras 1 name kept for compatibility), so initlab's does too."""

TRUNCATED_NORMAL_STD = 0.87962566103423978
"""Standard deviation of a standard normal truncated to [−2, 2]; dividing by it makes the
truncated draw's variance exact (Keras, JAX)."""


@runtime_checkable
class Initializer(Protocol):
    """A data-independent initializer: ``init(rng, shape, dtype)`` returns the weights."""

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]: ...


@runtime_checkable
class DataDependentInitializer(Protocol):
    """An initializer that needs the network and a batch of inputs (e.g. LSUV).

    ``init_network(mlp, rng, X)`` returns every layer's parameters; ``X`` holds samples in rows.
    """

    def init_network(self, mlp: MLP, rng: RandomSource, X: NDArray[np.float64]) -> Params: ...


@runtime_checkable
class HasMoments(Protocol):
    """A scheme that knows the moments of its draws: mean-field theory uses them exactly.

    ``moments(shape)`` returns ``(E[w], E[w²])`` of one entry of a weight of ``shape`` (mean
    over the entries for structured schemes). Every built-in data-independent scheme has it; a
    custom or plugin scheme that declares it gets the same exact theory
    (:func:`initlab.theory.sigma_w2_of`), and one that does not is measured instead.
    """

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]: ...


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
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity in LINEAR_NONLINEARITIES:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_real("param", param)
        return math.sqrt(2.0 / (1 + slope**2))
    return 3.0 / 4  # selu


def _check_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(shape)
    if not all(is_int(d) and d >= 0 for d in shape):
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


def _check_positive(name: str, value: object) -> float:
    """A positive float; +inf is refused as not finite (two messages, one per fault)."""
    positive = check_real(
        name, value, low=0.0, low_open=True, finite=False, must="a positive float"
    )
    if not math.isfinite(positive):
        raise invalid(name, "finite", value)
    return positive


def _check_distribution(name: str, value: object) -> Distribution:
    """One of :data:`DISTRIBUTIONS`, as Keras 3 reads it: case-insensitive, ``"normal"`` an
    alias of ``"truncated_normal"`` (stored under that name, so configs say what is drawn)."""
    key = value.lower() if isinstance(value, str) else value
    if isinstance(key, str) and key in DISTRIBUTION_ALIASES:
        return DISTRIBUTION_ALIASES[key]
    if isinstance(key, str) and key in DISTRIBUTIONS:
        return key
    allowed = ", ".join(map(repr, DISTRIBUTIONS))
    raise invalid(name, f"one of {allowed} (or 'normal': Keras' 'truncated_normal')", value)


def _draw(
    rng: RandomSource, shape: tuple[int, ...], std: float, distribution: Distribution
) -> NDArray[np.float64]:
    """Zero-mean draws with standard deviation ``std`` from one of the three distributions."""
    if distribution == "untruncated_normal":
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


Check = Callable[[str, Any], Any]
"""An argument check, ``check(name, value)``: the value to store, or "Argument `name` must
be … Received: name=…"."""


class _Scheme:
    """The built-in data-independent schemes' shared steps (they are frozen dataclasses).

    When built, each field named in ``checks`` is checked, in order, and stored as its check
    returns it (an ``int`` scale as a ``float``). Called as ``init(rng, shape, dtype)``, a
    scheme checks the shape, draws the weights in float64 with :meth:`_sample` and casts them
    to ``dtype``.
    """

    checks: ClassVar[dict[str, Check]] = {}

    def __post_init__(self) -> None:
        for arg, check in self.checks.items():
            object.__setattr__(self, arg, check(arg, getattr(self, arg)))

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        return self._sample(rng, _check_shape(shape)).astype(dtype, copy=False)

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        """The weights, in float64, for a ``shape`` already checked."""
        raise NotImplementedError


# --- fan-scaled schemes ----------------------------------------------------------------


@dataclass(frozen=True)
class VarianceScaling(_Scheme):
    """Keras 3's ``VarianceScaling``: weights with variance ``scale / n``, ``n`` set by ``mode``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (at least 1). With
    σ = √(scale / n), the distribution is, under Keras 3's names and with Keras 3's meaning:

    - ``"truncated_normal"`` (the default), and ``"normal"``, Keras' alias for it: N(0, 1)
      cut at ±2, times σ / 0.87962566103423978 (the standard deviation of that cut normal),
      so the variance after truncation is exactly σ² and no weight exceeds 2.27·σ;
    - ``"untruncated_normal"``: plain N(0, σ²);
    - ``"uniform"``: U(−ℓ, ℓ) with ℓ = √3·σ = √(3·scale / n).

    Names are read case-insensitively and ``"normal"`` is stored as ``"truncated_normal"``, as
    Keras does. (initlab's ``"normal"`` once drew the plain normal: a config written with it
    now draws the truncated one, of the same variance; ``"untruncated_normal"`` is the old draw.)
    Glorot (2010), He (2015) and LeCun (1998) are specialisations: see :func:`he_normal`.

    >>> w = VarianceScaling(2.0, "fan_in", "uniform")(np.random.default_rng(0), (64, 32))
    >>> bool(abs(w).max() <= (3 * 2.0 / 32) ** 0.5)
    True
    >>> VarianceScaling(distribution="normal").distribution
    'truncated_normal'
    """

    name: ClassVar[str] = "variance_scaling"
    checks: ClassVar[dict[str, Check]] = {
        "scale": _check_positive,
        "mode": partial(check_choice, allowed=MODES),
        "distribution": _check_distribution,
    }
    scale: float = 1.0
    mode: Mode = "fan_in"
    distribution: Distribution = "truncated_normal"

    def variance(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, float(n))

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Zero mean, E[w²] = ``variance(shape)`` (the truncated normal's is corrected).

        >>> VarianceScaling(2.0).moments((100, 50))
        (0.0, 0.04)
        """
        return 0.0, self.variance(_check_shape(shape))

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        # For "untruncated_normal" this is exactly the notebook's He: randn(...) * sqrt(2/fan_in).
        return _draw(rng, shape, math.sqrt(self.variance(shape)), self.distribution)


class _GainScaled(_Scheme):
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

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Zero mean, E[w²] = ``std(shape)²``."""
        return 0.0, self.std(_check_shape(shape)) ** 2

    def _sample(self, rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
        if math.prod(shape) == 0:
            return np.zeros(shape)
        return _draw(rng, shape, self.std(shape), self.distribution)


def he(scale: float = 2.0) -> VarianceScaling:
    """He (Kaiming) normal as the course writes it: ``randn(...) * sqrt(2 / fan_in)``.

    Var[W] = 2 / fan_in keeps the variance of ReLU activations constant across layers
    (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015). Plain, untruncated
    normal (``distribution="untruncated_normal"``); unlike Keras' ``HeNormal``
    (:func:`he_normal`), which is truncated.
    """
    return VarianceScaling(scale, "fan_in", "untruncated_normal")


def _he_scale(negative_slope: float) -> float:
    slope = check_real("negative_slope", negative_slope)
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
class _Xavier(_GainScaled):
    """PyTorch's Xavier argument: σ = gain·√(2 / (fan_in + fan_out))."""

    checks: ClassVar[dict[str, Check]] = {"gain": _check_positive}
    gain: float = 1.0

    def std(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        return self.gain * math.sqrt(2.0 / (fan_in + fan_out))


@dataclass(frozen=True)
class XavierNormal(_Xavier):
    """``torch.nn.init.xavier_normal_``: plain N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)).

    Glorot & Bengio, AISTATS 2010. Not truncated; Keras' truncated version is
    :func:`glorot_normal`. Build it with :func:`xavier_normal` to give an activation name.
    """

    name: ClassVar[str] = "xavier_normal"
    distribution: ClassVar[Distribution] = "untruncated_normal"


@dataclass(frozen=True)
class XavierUniform(_Xavier):
    """``torch.nn.init.xavier_uniform_``: U(±ℓ), ℓ = gain·√(6 / (fan_in + fan_out)).

    Glorot & Bengio, AISTATS 2010. With gain 1 it is Keras' :func:`glorot_uniform`.
    """

    name: ClassVar[str] = "xavier_uniform"
    distribution: ClassVar[Distribution] = "uniform"


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

    checks: ClassVar[dict[str, Check]] = {
        "a": check_real,
        "mode": partial(check_choice, allowed=TORCH_MODES),
    }
    a: float = 0.0
    mode: TorchMode = "fan_in"
    nonlinearity: str = "leaky_relu"

    def __post_init__(self) -> None:
        super().__post_init__()
        calculate_gain(self.nonlinearity, self.a)  # checks the nonlinearity

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
    distribution: ClassVar[Distribution] = "untruncated_normal"


@dataclass(frozen=True)
class KaimingUniform(_Kaiming):
    """``torch.nn.init.kaiming_uniform_``: U(±ℓ), ℓ = gain·√(3 / fan).

    Same arguments as :class:`KaimingNormal` (He et al., ICCV 2015), so the same σ.
    """

    name: ClassVar[str] = "kaiming_uniform"
    distribution: ClassVar[Distribution] = "uniform"

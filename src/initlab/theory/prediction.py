"""Predictions for a network: σ_w² read off its initializers, and every layer's q, activation
mean and variance, and χ (:func:`predict`, :func:`predict_from_data`, :class:`Prediction`).

Applies :mod:`~initlab.theory.depth`'s propagation to an :class:`~initlab.network.MLP`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from initlab import initializers, limits
from initlab._io import to_json_safe
from initlab._validate import check_real
from initlab.network import MLP
from initlab.theory.depth import _propagate
from initlab.theory.gaussian import Array, _affine, _moments, _resolve

__all__ = [
    "FLOAT_MAX",
    "MC_ENTRIES",
    "MC_SEED",
    "PER_LAYER",
    "Prediction",
    "TheoryWarning",
    "predict",
    "predict_from_data",
    "sigma_w2_of",
]

MC_ENTRIES = 200_000
"""Minimum number of weight entries drawn by :func:`sigma_w2_of`'s Monte-Carlo fallback."""
MC_SEED = 20_160_531
"""Seed of the fallback's private generator: the same initializer always gives the same σ_w²."""
FLOAT_MAX = sys.float_info.max
"""The largest float64 (≈1.8e308): moments beyond it are reported as inf, with a note."""


class TheoryWarning(UserWarning):
    """The initializer breaks an assumption of the theory; the prediction may be far off."""


# --- initializers ------------------------------------------------------------------------


def _init_name(init: object) -> str:
    name = getattr(init, "name", None)
    return name if isinstance(name, str) else repr(init)


def _states_moments(init: Any) -> bool:
    """Whether :func:`_entry_moments` takes ``init``'s moments from the scheme (or refuses a
    data-dependent one) instead of measuring them on a draw."""
    return isinstance(init, initializers.HasMoments | initializers.DataDependentInitializer)


def _entry_moments(init: Any, shape: tuple[int, ...]) -> tuple[float, float]:
    """(E[W], E[W²]) of one entry of ``init``'s draws of ``shape``: the scheme's own
    ``moments(shape)`` (:class:`~initlab.initializers.HasMoments`), else measured. A second
    moment beyond float64 is inf (the mean, which only serves a warning, is then 0)."""
    if isinstance(init, initializers.DataDependentInitializer):
        raise ValueError(
            f"Initializer {_init_name(init)!r} is data-dependent (it sets the weights from a "
            "batch of inputs): mean-field theory needs a data-independent initializer. Measure "
            "such a network instead (initlab.network.forward)"
        )
    shape = tuple(shape)
    size = math.prod(shape)
    if len(shape) < 1 or size == 0:
        raise ValueError(f"Argument `shape` must be a non-empty weight shape. Received: {shape!r}")
    if isinstance(init, initializers.HasMoments):
        try:
            return init.moments(shape)
        except OverflowError:  # a parameter squared beyond float64 (scale=1e308)
            return 0.0, math.inf
    # A scheme that does not state its moments: measure it, with a private fixed generator.
    rng = np.random.default_rng(MC_SEED)
    total = total_sq = 0.0
    draws = max(1, math.ceil(MC_ENTRIES / size))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(draws):
            w = np.asarray(init(rng, shape), dtype=np.float64)
            total += float(w.sum())
            total_sq += float(np.sum(w * w))
    return total / (draws * size), total_sq / (draws * size)


def sigma_w2_of(init: initializers.Identifier, shape: tuple[int, ...]) -> float:
    """σ_w² = fan_in·E[W²] of one layer of ``shape`` = (fan_out, fan_in) drawn by ``init``.

    ``init`` is a name, a config or an initializer. E[W²] is the second moment, mean included,
    as the scheme states it in ``moments(shape)`` (:class:`~initlab.initializers.HasMoments`),
    exactly:

    ========================  ======================================================
    initializer               E[W²]
    ========================  ======================================================
    variance_scaling and its  ``init.variance(shape)``, zero mean
    he / glorot / lecun
    xavier_* / kaiming_*      ``init.std(shape)²``, zero mean
    normal                    std² + mean²
    uniform U(a, b)           (b − a)²/12 + ((a + b)/2)²
    constant                  value²
    truncated_normal (Keras)  (0.8796…·stddev)² + mean²
    trunc_normal (PyTorch)    the truncated normal's variance + mean²
    orthogonal                gain² / max(fan_out, fan_in): orthonormal rows (fan_out ≤
                              fan_in) give σ_w² = gain², else gain²·fan_in / fan_out
    identity                  gain²·min(fan_out, fan_in) / (fan_out·fan_in): same σ_w²
    dirac                     the fraction of entries that are 1
    sparse                    std² × the fraction of rows not zeroed
    zero_init                 1/fan_in (partial identity), or c² (scaled Hadamard)
    ========================  ======================================================

    A custom or plugin scheme that declares ``moments`` gets the same exact treatment. One
    that does not is measured: drawn repeatedly, from a private generator seeded with
    :data:`MC_SEED`, until at least 2·10⁵ entries are pooled; for i.i.d. entries the relative
    standard error is √((κ − 1)/N) ≲ 0.3% (kurtosis κ ≤ 3). Data-dependent schemes (LSUV)
    raise ValueError: the theory needs weights that do not depend on the data.

    >>> sigma_w2_of("he", (100, 50))
    2.0
    >>> sigma_w2_of({"name": "random", "scale": 10.0}, (10, 2))  # 100·fan_in
    200.0
    >>> sigma_w2_of("orthogonal", (20, 10))  # tall: gain²·fan_in/fan_out
    0.5
    """
    shape = tuple(shape)
    fan_in, _ = initializers.compute_fans(shape)
    return fan_in * _entry_moments(initializers.get(init), shape)[1]


# --- predictions for a network -----------------------------------------------------------


def _frozen(values: Sequence[float] | Array) -> Array:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Prediction:
    """Mean-field predictions for every layer of an MLP at initialization.

    Arrays run over the hidden layers and then the output layer (length L = ``mlp.n_layers``),
    except ``chi1`` (one per hidden layer). For the output layer, whose activation is the loss'
    sigmoid or softmax, ``act_mean`` and ``act_var`` describe the pre-activation z^L ~ N(0, q^L).
    """

    layer_sizes: tuple[int, ...]
    layer_activations: tuple[str, ...]
    """Every layer's activation, the output's last."""
    q0: float
    """The input's second moment per feature."""
    sigma_w2: Array
    """σ_w² = fan_in·E[W²] of every layer."""
    sigma_b2: Array
    """σ_b² = E[b²] of every layer."""
    q: Array
    """q^l: the second moment of layer l's pre-activations, pooled over units and examples."""
    act_mean: Array
    """E[φ(z)] over units (0 for the output pre-activation)."""
    act_var: Array
    """Var[φ(z)] = E[φ²] − E[φ]² (q^L for the output pre-activation)."""
    chi1: Array
    """χ at hidden layer l: σ_w²_{l+1}·E[φ_l′(√q^l z)²], the per-unit gain of a small
    perturbation from z^l to z^{l+1}; its product over layers is the network's gain."""
    notes: tuple[str, ...] = ()
    """Why some values are inf or 0 although the input was finite: a scheme's moments or the
    data's mean square beyond the float64 range (``scale=1e308``). Empty when all is exact."""

    def _repr_html_(self) -> str:
        from initlab._html import table

        chi = [float(c) for c in self.chi1] + [None]  # none for the output layer
        rows = [
            (layer + 1, act, float(self.sigma_w2[layer]), float(self.q[layer]),
             float(self.act_var[layer]), chi[layer])
            for layer, act in enumerate(self.layer_activations)
        ]  # fmt: skip
        return table(["layer", "activation", "σ_w²", "q", "Var φ(z)", "χ"], rows,
                     f"mean-field prediction, q⁰ = {self.q0:g}")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: lists of floats; ±inf and NaN as ``None`` (see :mod:`initlab._io`:
        a signal that exploded reads as ``null`` beside the finite ones before it)."""
        out: dict[str, Any] = {
            "layer_sizes": list(self.layer_sizes),
            "layer_activations": list(self.layer_activations),
            "q0": self.q0,
        }
        for name in PER_LAYER:
            out[name] = getattr(self, name)
        out["notes"] = list(self.notes)
        return to_json_safe(out)  # type: ignore[no-any-return]


PER_LAYER = ("sigma_w2", "sigma_b2", "q", "act_mean", "act_var", "chi1")
"""The :class:`Prediction` fields that hold one value per layer, in order."""


def _per_layer_inits(init: Any, n_layers: int) -> list[Any]:
    if isinstance(init, list | tuple):
        if len(init) != n_layers:
            raise ValueError(
                f"Got {len(init)} initializers for {n_layers} layers: give one, or one per "
                f"layer. Received: init={init!r}"
            )
        return [initializers.get(i) for i in init]
    return [initializers.get(init)] * n_layers


def predict(
    mlp: MLP,
    init: initializers.Identifier | Sequence[initializers.Identifier] = "he",
    q0: float = 1.0,
    bias_init: initializers.Identifier = "zeros",
) -> Prediction:
    """Predict every layer's pre-activation second moment, activation mean and variance, and χ.

    σ_w² of each layer comes from :func:`sigma_w2_of` on its shape, σ_b² = E[b²] from the
    bias initializer on shape (fan_out, 1) (as :func:`initlab.initializers.init_params` draws it);
    q¹ … q^L from :func:`propagate`. ``init`` may be one identifier or one per layer.

    The theory assumes i.i.d. zero-mean weights (Haar-orthogonal ones behave alike at large
    width) and the same q⁰ for every example: with varying norms q⁰ is their mean, which is
    exact for ReLU-like networks and a good approximation otherwise. A :class:`TheoryWarning`
    is issued for weights whose mean is not small next to their spread (uniform(0, 1),
    constants, identity): their units share a common component, or are not Gaussian, and the
    predicted variances can be far off.

    >>> p = predict(MLP([2, 10, 5, 1]), "he", q0=1.0)
    >>> p.sigma_w2, p.q
    (array([2., 2., 2.]), array([2., 2., 2.]))
    >>> p.chi1
    array([1., 1.])
    """
    n_layers = mlp.n_layers
    limits.check(limits.theory_estimate(n_layers))
    shapes = mlp.weight_shapes()
    inits = _per_layer_inits(init, n_layers)
    measured = [math.prod(s) for i, s in zip(inits, shapes) if not _states_moments(i)]
    limits.check(limits.theory_estimate(n_layers, max(measured, default=0)))
    bias = initializers.get(bias_init)
    sw: list[float] = []
    sb: list[float] = []
    for layer, (w_init, shape) in enumerate(zip(inits, shapes), start=1):
        mean, second = _entry_moments(w_init, shape)
        fan_in = shape[1]
        sw.append(fan_in * second)
        spread = second - mean * mean
        if fan_in * mean * mean > 0.01 * max(spread, 0.0):
            warnings.warn(
                f"Layer {layer}: initializer {_init_name(w_init)!r} has weight mean {mean:.3g}, "
                f"large next to its standard deviation {math.sqrt(max(spread, 0.0)):.3g} "
                f"for fan_in={fan_in}; mean-field theory assumes zero-mean independent "
                "weights, so the predicted variances may be far off",
                TheoryWarning,
                stacklevel=2,
            )
        sb.append(_entry_moments(bias, (shape[0], 1))[1])
    acts = [_resolve(a) for a in mlp.hidden_activations]
    q = _propagate(acts, sw, sb, check_real("q0", q0, low=0.0))
    act_mean, act_var, chi = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for k, act in enumerate(acts):
            m, m2, d2 = (float(v) for v in _moments(act, np.asarray(q[k])))
            act_mean.append(m)
            act_var.append(max(m2 - m * m, 0.0) if math.isfinite(m2) else m2)
            chi.append(float(_affine(sw[k + 1], np.asarray(d2), 0.0)))
    act_mean.append(0.0)
    act_var.append(float(q[-1]))
    per_layer: tuple[Sequence[float] | Array, ...] = (sw, sb, q, act_mean, act_var, chi)
    return Prediction(
        mlp.layer_sizes,
        mlp.layer_activations,
        float(q0),
        **{name: _frozen(values) for name, values in zip(PER_LAYER, per_layer, strict=True)},
        notes=_overflow_notes(inits, bias, sw, sb, q),
    )


def _overflow_notes(
    inits: Sequence[Any], bias: Any, sw: Sequence[float], sb: Sequence[float], q: Array
) -> tuple[str, ...]:
    """Why a prediction holds inf: each layer whose σ_w² or σ_b² is beyond float64, else the
    first layer whose q grew past it."""
    notes = []
    for layer, (w_init, w2, b2) in enumerate(zip(inits, sw, sb), start=1):
        for what, init, value in (("σ_w²", w_init, w2), ("σ_b²", bias, b2)):
            if math.isinf(value):
                notes.append(
                    f"layer {layer}: {what} of {_init_name(init)!r} exceeds the float64 range "
                    f"(> {FLOAT_MAX:.3g}), so q{layer} and the layers after it are inf "
                    "(or σ_b² where the signal before is exactly 0)"
                )
    exploded = np.flatnonzero(np.isinf(q))
    if not notes and exploded.size:
        layer = int(exploded[0]) + 1
        notes.append(
            f"q{layer} exceeds the float64 range (> {FLOAT_MAX:.3g}): the signal explodes "
            f"by layer {layer}, and every later q is inf"
        )
    return tuple(notes)


def predict_from_data(
    mlp: MLP,
    init: initializers.Identifier | Sequence[initializers.Identifier],
    X: ArrayLike,
    bias_init: initializers.Identifier = "zeros",
) -> Prediction:
    """:func:`predict` with q⁰ = mean over the rows of ``X`` of ‖x‖² / n_features.

    ``X`` holds samples in rows, shape (n_samples, n_features).

    >>> X = np.array([[1.0, 1.0], [3.0, -1.0]])  # q⁰ = (2/2 + 10/2) / 2 = 3
    >>> predict_from_data(MLP([2, 4, 1]), "he", X).q
    array([6., 6.])
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != mlp.n_features or arr.shape[0] == 0:
        raise ValueError(
            f"Argument `X` must have shape (n_samples, {mlp.n_features}), samples in rows. "
            f"Received: X.shape={arr.shape!r}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("Argument `X` must be finite. Received: X with inf or nan entries")
    with np.errstate(over="ignore"):
        q0 = float(np.mean(arr * arr))
    if q0 <= FLOAT_MAX:
        return predict(mlp, init, q0=q0, bias_init=bias_init)
    prediction = predict(mlp, init, q0=FLOAT_MAX, bias_init=bias_init)
    note = (
        f"q0, the mean square of X, exceeds the float64 range (> {FLOAT_MAX:.3g}); "
        f"it is taken as {FLOAT_MAX:.3g}"
    )
    return dataclasses.replace(prediction, notes=(note, *prediction.notes))

"""Depth: q¹ … q^L layer by layer, the fixed point q*, χ₁, the phase and the critical σ_w².

Built on :mod:`~initlab.theory.gaussian`'s moments; scipy is imported only inside the root
finders, so importing :mod:`initlab.theory` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from initlab import activations, limits
from initlab._validate import check_int, check_real
from initlab.theory.gaussian import (
    ActivationLike,
    Array,
    _affine,
    _check_q,
    _mean_sq,
    _moments,
    _resolve,
    _scalar_or_array,
    _slopes,
)

__all__ = ["Phase", "chi1", "critical_sigma_w2", "fixed_point", "phase", "propagate"]

Phase = Literal["ordered", "critical", "chaotic"]

_TINY = 1e-150  # below this a shrinking q is reported as 0
_HUGE = 1e150  # above this a growing q is reported as inf


def _length(name: str, value: object) -> int | None:
    if isinstance(value, str | activations.Activation) or not isinstance(
        value, Sequence | np.ndarray
    ):
        return None
    return len(value)


def _per_layer(name: str, value: float | Sequence[float] | Array, depth: int) -> list[float]:
    if _length(name, value) is None:
        return [check_real(name, value, low=0.0)] * depth
    values = list(value)  # type: ignore[arg-type]
    if len(values) != depth:
        raise ValueError(
            f"Argument `{name}` has {len(values)} entries for depth={depth}: give one number, "
            f"or one per layer. Received: {name}={values!r}"
        )
    return [check_real(f"{name}[{i}]", v, low=0.0) for i, v in enumerate(values)]


def _activations(
    activation: ActivationLike | Sequence[ActivationLike], depth: int
) -> list[activations.Activation]:
    """Activations applied to layers 1 … depth−1 (a depth-th one, the last layer's, is unused)."""
    if isinstance(activation, str | activations.Activation):
        return [_resolve(activation)] * (depth - 1)
    acts = [_resolve(a) for a in activation]
    if len(acts) not in (depth - 1, depth):
        raise ValueError(
            f"Argument `activation` has {len(acts)} entries for depth={depth}: give one name, "
            f"or one per layer (depth − 1 = {depth - 1}, or {depth} with the last unused). "
            f"Received: activation={[a.name for a in acts]!r}"
        )
    return acts[: depth - 1]


def propagate(
    activation: ActivationLike | Sequence[ActivationLike],
    sigma_w2: float | Sequence[float],
    sigma_b2: float | Sequence[float] = 0.0,
    depth: int | None = None,
    q0: float = 1.0,
) -> Array:
    """Pre-activation second moments q¹ … q^depth of a deep network, layer by layer.

    q¹ = σ_w²₁·q⁰ + σ_b²₁ (the input enters without activation), then
    q^l = σ_w²_l·E_z[φ_{l−1}(√q^{l−1} z)²] + σ_b²_l (Poole et al. 2016, eq. 3).

    Parameters
    ----------
    activation
        φ for every layer, or one per layer: entry l − 1 is applied to layer l's
        pre-activations (``mlp.hidden_activations`` for an MLP); depth − 1 entries, or depth
        with the last unused.
    sigma_w2, sigma_b2
        σ_w² = fan_in·E[W²] and σ_b² = E[b²]: one number, or one per layer.
    depth
        Number of weight layers; taken from the per-layer sequences when not given.
    q0
        The input's second moment per feature, mean over examples of ‖x‖² / n_features.

    Returns
    -------
    ndarray of shape (depth,)
        q¹ … q^depth. A q that overflows is inf, one that underflows 0; neither warns.

    >>> propagate("relu", sigma_w2=1.0, depth=4, q0=1.0)  # Glorot on ReLU: halves every layer
    array([1.   , 0.5  , 0.25 , 0.125])
    >>> propagate("relu", [2.0, 2.0, 2.0], q0=3.0)  # He: constant
    array([6., 6., 6.])
    """
    lengths = {
        n: k
        for n, v in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2))
        if (k := _length(n, v)) is not None
    }
    if depth is None:
        if lengths:
            depth = next(iter(lengths.values()))
        elif not isinstance(activation, str | activations.Activation):
            depth = len(activation) + 1
        else:
            raise ValueError(
                "Argument `depth` is needed when `activation`, `sigma_w2` and `sigma_b2` are "
                "all single values"
            )
    depth = check_int("depth", depth, 1)
    limits.check(limits.theory_estimate(depth))
    sw = _per_layer("sigma_w2", sigma_w2, depth)
    sb = _per_layer("sigma_b2", sigma_b2, depth)
    acts = _activations(activation, depth)
    return _propagate(acts, sw, sb, check_real("q0", q0, low=0.0))


def _propagate(
    acts: Sequence[activations.Activation], sw: Sequence[float], sb: Sequence[float], q0: float
) -> Array:
    """q¹ … q^L for checked arguments; σ_w² or σ_b² may be inf (beyond float64, see
    :func:`_affine`), which :func:`predict` meets when a scheme's moments overflow."""
    q = np.empty(len(sw))
    q[0] = _affine(sw[0], np.asarray(q0), sb[0])
    for k in range(1, len(sw)):
        q[k] = _affine(sw[k], np.asarray(_mean_sq(acts[k - 1], q[k - 1])), sb[k])
    return q


def _root(g: Callable[[float], float], lo: float, hi: float) -> float:
    """A root of g in [lo, hi] (g changes sign), searched in log q when lo > 0."""
    from scipy import optimize  # loaded where it is needed: importing theory stays light

    if lo > 0:
        t = optimize.brentq(lambda t: g(math.exp(t)), math.log(lo), math.log(hi), xtol=1e-15)
        return math.exp(t)
    return float(optimize.brentq(g, lo, hi, xtol=1e-300))


def fixed_point(
    activation: ActivationLike, sigma_w2: float, sigma_b2: float = 0.0, q_init: float = 1.0
) -> float:
    """The fixed point q* = σ_w²·E_z[φ(√q* z)²] + σ_b² reached by iterating the map from q_init.

    The map is increasing in q for every registered activation, so its iterates move
    monotonically to the nearest fixed point in their direction: that one is returned. It is
    found by bracketing (q doubling, then squaring its step) and Brent's method in log q rather
    than by iterating, which near criticality would take thousands of layers. Returns 0.0 when
    the iterates fall below 10⁻¹⁵⁰ with no fixed point above 0 (e.g. tanh with σ_w² < 1,
    σ_b² = 0), and inf when they grow past 10¹⁵⁰ (e.g. ReLU with σ_w² > 2).

    For ReLU, leaky ReLU and linear the map is linear, q ↦ g·q + σ_b² with g = σ_w²·c
    (c = 1/2, (1 + α²)/2, 1): q* = σ_b² / (1 − g) when g < 1; inf when g > 1 (0.0 if q_init and
    σ_b² are both 0). At g = 1 (He's σ_w² = 2 for ReLU, within 10⁻¹² relative) every q is a
    fixed point when σ_b² = 0, and q_init itself is returned; with σ_b² > 0, q grows by σ_b²
    per layer and inf is returned.

    >>> fixed_point("relu", 1.0, 0.5)  # 0.5 / (1 − 1/2)
    1.0
    >>> fixed_point("relu", 2.0, 0.0, q_init=3.0)  # critical: every q is fixed
    3.0
    >>> round(fixed_point("tanh", 1.5, 0.1), 6)
    0.520216
    >>> fixed_point("tanh", 0.9)  # ordered, no bias: the signal dies
    0.0
    """
    act = _resolve(activation)
    sw = check_real("sigma_w2", sigma_w2, low=0.0)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    q = check_real("q_init", q_init, low=0.0)
    slopes = _slopes(act)
    if slopes is not None:
        g = sw * (slopes[0] ** 2 + slopes[1] ** 2) / 2
        if math.isclose(g, 1.0, rel_tol=1e-12):
            return q if sb == 0 else math.inf
        if g < 1:
            return sb / (1 - g)
        return 0.0 if q == 0 and sb == 0 else math.inf

    def v(x: float) -> float:
        return float(_affine(sw, np.asarray(_mean_sq(act, x)), sb))

    def excess(x: float) -> float:  # V(x)/x − 1, and V(0) at 0: the sign of V(x) − x
        return v(x) if x == 0 else v(x) / x - 1

    e = excess(q)
    if e == 0:
        return q
    step = 2.0
    if e > 0:  # climbing to the smallest fixed point above q
        lo, hi = q, max(2 * q, _TINY) if q > 0 else v(0.0)
        while excess(hi) > 0:
            if hi >= _HUGE:
                return math.inf
            lo, hi, step = hi, min(hi * step, _HUGE), step * step
        return _root(excess, lo, hi)
    hi = q  # descending to the largest fixed point below q
    lo = q / step
    while excess(lo) < 0:
        if lo <= _TINY:
            if excess(0.0) > 0:
                return _root(excess, 0.0, lo)
            return 0.0
        step = step * step
        hi, lo = lo, max(lo / step, _TINY)
    return _root(excess, lo, hi)


def chi1(
    activation: ActivationLike,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    q: ArrayLike | None = None,
) -> float | Array:
    """χ₁ = σ_w²·E_z[φ′(√q z)²]: how much a layer multiplies the squared size of perturbations.

    Evaluated at the fixed point q* of :func:`fixed_point` (from q_init = 1) unless ``q`` is
    given. It is the mean squared singular value of the layer-to-layer Jacobian
    ∂z^{l+1}/∂z^l = W·diag(φ′(z^l)), so the mean square of small perturbations, and of gradients
    going back, is multiplied by χ₁ per layer: χ₁ < 1 ordered, > 1 chaotic, = 1 critical
    (Schoenholz et al. 2017, eq. 5; Poole et al. 2016).

    >>> chi1("relu", 2.0)  # He et al.: critical
    1.0
    >>> round(chi1("tanh", 1.5, 0.1), 6)  # ordered: below the critical 1.986 at σ_b² = 0.1
    0.877513
    """
    act = _resolve(activation)
    sw = check_real("sigma_w2", sigma_w2, low=0.0)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    q_arr = _check_q("q", fixed_point(act, sw, sb) if q is None else q)
    with np.errstate(over="ignore"):
        return _scalar_or_array(_affine(sw, _moments(act, q_arr)[2], 0.0))


def phase(
    activation: ActivationLike, sigma_w2: float, sigma_b2: float = 0.0, tol: float = 1e-6
) -> Phase:
    """``"ordered"`` (χ₁ < 1 − tol), ``"chaotic"`` (χ₁ > 1 + tol) or ``"critical"``.

    χ₁ is :func:`chi1` at the fixed point (Schoenholz et al. 2017, Fig. 1). Ordered networks
    forget their input and their gradients vanish with depth; chaotic ones scramble it and
    their gradients explode.

    >>> [phase("tanh", s) for s in (0.5, 1.0, 2.0)]
    ['ordered', 'critical', 'chaotic']
    """
    t = check_real("tol", tol, low=0.0)
    c = float(chi1(activation, sigma_w2, sigma_b2))
    if c < 1 - t:
        return "ordered"
    if c > 1 + t:
        return "chaotic"
    return "critical"


def critical_sigma_w2(activation: ActivationLike, sigma_b2: float = 0.0) -> float:
    """The σ_w² at which χ₁ = 1: the edge of chaos for bias variance σ_b².

    Exact for the homogeneous activations, whatever σ_b²: 2 for ReLU (He et al. 2015),
    2 / (1 + α²) for leaky ReLU, 1 for linear (χ₁ = σ_w² there). For the others, χ₁ (at the
    fixed point reached from q = 1) is scanned over σ_w² = 2⁻⁴ … 2²⁴ in quarter octaves for
    its first crossing of 1, which Brent's method then pins down.

    - tanh: 1 at σ_b² = 0, rising steeply, as 1 + 2·(3σ_b²/4)^{1/3} for small σ_b² (1.018 at
      10⁻⁶), then slowly: 1.76 at σ_b² = 0.05, 2.84 at 0.5 (Schoenholz et al. 2017, Fig. 1).
    - sigmoid: φ′ ≤ 1/4 and E[φ²] ≥ 1/4 keep χ₁ small until σ_w² is large: about 103 at
      σ_b² = 0 (q* ≈ 46 there).
    - ELU: 1 at σ_b² = 0 (φ′(0) = 1); SELU: 2 / (λ²(1 + α²)) ≈ 0.477 at σ_b² = 0, so SELU's
      own σ_w² = 1 (LeCun normal) is slightly chaotic, χ₁ ≈ 1.07.
    - GELU with σ_b² below about 0.2 has no critical point: GELU ≈ z/2 near 0 and ≈ ReLU far out, so
      as σ_w² grows the fixed point jumps from near 0 (χ₁ ≈ σ_w²/4) to inf (χ₁ = σ_w²/2).

    Raises ValueError when χ₁ never reaches 1 in that range, or jumps over 1 instead of
    crossing it (no σ_w² then has χ₁ = 1).

    >>> critical_sigma_w2("relu")
    2.0
    >>> round(critical_sigma_w2("tanh", 1e-6), 3)
    1.018
    """
    act = _resolve(activation)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    slopes = _slopes(act)
    if slopes is not None:
        return 2.0 / (slopes[0] ** 2 + slopes[1] ** 2)

    def gap(sw: float) -> float:
        return float(chi1(act, sw, sb)) - 1.0

    grid = 2.0 ** np.arange(-4.0, 24.25, 0.25)
    if gap(grid[0]) >= 0:
        raise ValueError(
            f"χ₁ ≥ 1 already at σ_w² = {grid[0]} for activation {act.name!r} with "
            f"sigma_b2={sigma_b2!r}: no ordered phase to leave"
        )
    for k in range(1, grid.size):
        if gap(grid[k]) >= 0:
            lo, hi = grid[k - 1], grid[k]
            break
    else:
        raise ValueError(
            f"χ₁ stays below 1 for σ_w² up to {grid[-1]:g} for activation {act.name!r} with "
            f"sigma_b2={sigma_b2!r}: no critical point found"
        )
    from scipy import optimize

    root = float(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))
    near = [gap(root * (1 + d)) for d in (-1e-9, 0.0, 1e-9)]
    if min(abs(g) for g in near) > 1e-6:
        below, above = (fixed_point(act, root * (1 + d), sb) for d in (-1e-9, 1e-9))
        raise ValueError(
            f"χ₁ jumps over 1 at σ_w² ≈ {root:.9g} for activation {act.name!r} with "
            f"sigma_b2={sigma_b2!r}, from {near[0] + 1:.6g} to {near[2] + 1:.6g}, as the fixed "
            f"point reached from q = 1 jumps from {below:.6g} to {above:.6g}: "
            "no σ_w² has χ₁ = 1"
        )
    return root

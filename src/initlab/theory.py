"""Mean-field signal propagation: what an initialization does to a deep network, predicted.

At initialization, a layer's weights are drawn i.i.d. with zero mean and second moment
E[W²] = σ_w² / fan_in, its biases with variance σ_b² (neural-tangents' vocabulary). In a wide
network each pre-activation of layer l is then, over the random weights, a Gaussian
N(0, q^l) whose variance (second moment) obeys the *variance map*::

    q¹  = σ_w²·q⁰ + σ_b²,                        q⁰ = mean over examples of ‖x‖² / n_features
    q^l = σ_w²·E_z[φ(√q^{l−1}·z)²] + σ_b²,       z ~ N(0, 1)

(Poole et al. 2016, eq. 3). Iterated, the map settles at a fixed point q*. The squared size of
a small perturbation of the input, and of a gradient on the way back, is multiplied at every
layer by

    χ₁ = σ_w²·E_z[φ′(√q*·z)²]

(Schoenholz et al. 2017, eq. 5). χ₁ < 1 is the *ordered* phase: signals and gradients vanish
exponentially with depth. χ₁ > 1 is the *chaotic* phase: they explode. χ₁ = 1 is *critical*,
the edge of chaos, where information travels deepest. He et al.'s σ_w² = 2 for ReLU is the
special case E[relu(√q z)²] = q/2: the map is q ↦ q, and χ₁ = 1 exactly.

Expectations over z ~ N(0, 1) are exact for ReLU, leaky ReLU and linear (closed forms) and
computed by Gaussian quadrature for the others: see :func:`gaussian_expectation`.

:func:`sigma_w2_of` reads σ_w² off an initializer, and :func:`predict` runs the theory on an
:class:`~initlab.network.MLP`: the per-layer numbers a measured forward pass should show.

References
----------
Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli, "Exponential expressivity in deep neural
networks through transient chaos", NeurIPS 2016.
Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, "Deep Information Propagation", ICLR 2017.
He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015.
Novak et al., "Neural Tangents: Fast and Easy Infinite Neural Networks in Python", ICLR 2020
(the σ_w², σ_b² notation).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from initlab import activations, initializers, limits
from initlab._io import to_json_safe
from initlab._validate import check_choice, check_int, check_real, invalid
from initlab.network import MLP

Array = NDArray[np.float64]
ActivationLike = str | activations.Activation
Method = Literal["split", "hermite"]
Phase = Literal["ordered", "critical", "chaotic"]

METHODS: tuple[Method, ...] = ("split", "hermite")

HERMITE_NODES = 100
"""Default node count of the plain Gauss–Hermite rule (``method="hermite"``)."""

SPLIT_EDGES = (0.0, *(3.0 * 4.0**-k for k in range(14, 0, -1)), 3.0, 6.0, 9.0, 12.0)
SPLIT_NODES = 16
"""The default rule (``method="split"``): each half-line z ∈ [0, 12] cut into 18 panels at
3·4⁻ᵏ (k = 14 … 1) and 3, 6, 9, 12, with 16 Gauss–Legendre nodes on each: 576 evaluations."""

MC_ENTRIES = 200_000
"""Minimum number of weight entries drawn by :func:`sigma_w2_of`'s Monte-Carlo fallback."""
MC_SEED = 20_160_531
"""Seed of the fallback's private generator: the same initializer always gives the same σ_w²."""

_TINY = 1e-150  # below this a shrinking q is reported as 0
_HUGE = 1e150  # above this a growing q is reported as inf
_AT_ZERO = 1e-300  # f(±_AT_ZERO): the one-sided limits of f at 0
_FAR = 1e300  # stands in for ±inf where f(±inf) is nan (gelu at −inf)
FLOAT_MAX = sys.float_info.max
"""The largest float64 (≈1.8e308): moments beyond it are reported as inf, with a note."""


class TheoryWarning(UserWarning):
    """The initializer breaks an assumption of the theory; the prediction may be far off."""


class Moments(NamedTuple):
    """Gaussian moments of an activation at pre-activation variance q, z ~ N(0, 1)."""

    mean: float | Array
    """E[φ(√q z)]."""
    mean_sq: float | Array
    """E[φ(√q z)²]."""
    deriv_sq: float | Array
    """E[φ′(√q z)²]."""


# --- argument checks ---------------------------------------------------------------------


def _check_q(name: str, q: ArrayLike) -> Array:
    """Second moments: floats ≥ 0 (inf allowed), any shape."""
    if isinstance(q, bool | str | bytes):
        raise invalid(name, "a float ≥ 0", q)
    arr = np.asarray(q, dtype=np.float64)
    bad = np.isnan(arr) | (arr < 0)
    if bad.any():
        if arr.ndim == 0:
            raise invalid(name, "≥ 0 (it is a second moment)", q)
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, index))
        raise ValueError(
            f"Argument `{name}` must hold values ≥ 0 (second moments). "
            f"Received: {name}[{where}]={float(arr[index])!r}"
        )
    return arr


def _scalar_or_array(out: Array) -> float | Array:
    return float(out) if out.ndim == 0 else out


# --- Gaussian expectations ---------------------------------------------------------------


@lru_cache(maxsize=16)
def _rule(method: Method, n: int) -> tuple[Array, Array]:
    """Nodes x and weights w with Σ w·g(x) ≈ ∫ g(z)·N(z; 0, 1) dz (``split``: over z ≥ 0)."""
    if method == "hermite":
        x, w = np.polynomial.hermite_e.hermegauss(n)  # weight e^{−z²/2}, Σw = √(2π)
        w = w / math.sqrt(2.0 * math.pi)
    else:
        t, v = np.polynomial.legendre.leggauss(n)
        edges = np.array(SPLIT_EDGES)
        lo, hi = edges[:-1, None], edges[1:, None]
        x = ((lo + hi) / 2 + (hi - lo) / 2 * t).ravel()
        w = ((hi - lo) / 2 * v).ravel() * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def _limits(f: Callable[[Array], Any], at: float) -> Array:
    """(f(at) + f(−at)) / 2 along the last axis: the q → 0⁺ or q → ∞ limit of E[f(√q z)]."""
    with np.errstate(all="ignore"):
        ends = np.array([at, -at])
        y = np.asarray(f(ends), dtype=np.float64)
        if at == math.inf and np.isnan(y).any():  # e.g. gelu(−inf) = −inf·0
            y = np.where(np.isnan(y), np.asarray(f(np.array([_FAR, -_FAR])), np.float64), y)
        out: Array = np.mean(np.broadcast_to(y, (*y.shape[:-1], 2)), axis=-1)
    return out


def _expect(f: Callable[[Array], Any], q: Array, method: Method, n: int) -> Array:
    """E[f(√q z)] for every entry of q; f may add leading axes: the result has shape
    ``f_axes + q.shape``."""
    x, w = _rule(method, n)
    positive = np.isfinite(q) & (q > 0)
    s = np.sqrt(np.where(positive, q, 1.0))
    with np.errstate(all="ignore"):
        u = s[..., None] * x
        y = np.asarray(f(u), dtype=np.float64)
        if method == "split":
            y = y + np.asarray(f(-u), dtype=np.float64)
        y = np.broadcast_to(y, (*y.shape[: y.ndim - u.ndim], *u.shape))
        out: Array = y @ w
    if not positive.all():
        lead = out.shape[: out.ndim - q.ndim]
        at_zero = _limits(f, _AT_ZERO).reshape(lead + (1,) * q.ndim)
        at_inf = _limits(f, math.inf).reshape(lead + (1,) * q.ndim)
        out = np.where(positive, out, np.where(q == 0, at_zero, at_inf))
    return out


def gaussian_expectation(
    f: Callable[[Array], Any], q: ArrayLike, n: int | None = None, method: Method = "split"
) -> float | Array:
    """E[f(√q·z)], z ~ N(0, 1), by Gaussian quadrature; vectorised over ``q``.

    ``f`` must act elementwise on an array. Two rules:

    ``"split"`` (default)
        The integral split at z = 0, each half-line [0, 12] cut into 18 panels (at 3·4⁻ᵏ,
        k = 14 … 1, then 3, 6, 9, 12) and integrated by ``n`` (default 16) Gauss–Legendre
        nodes per panel. Splitting at the origin makes kinks and jumps at 0 (ReLU, ELU, SELU′)
        harmless, and the panels graded towards 0 resolve f(√q z) at large q, where its
        features shrink to |z| ~ 1/√q. Relative error ≲ 10⁻¹² for φ, φ² and φ′² of every
        registered activation, q from 10⁻⁶ to 10¹² (checked against adaptive quadrature).
    ``"hermite"``
        Plain Gauss–Hermite: Σᵢ wᵢ·f(√q xᵢ) / √(2π) with ``numpy.polynomial.hermite_e.hermegauss``
        (weight e^{−z²/2}), ``n`` (default 100) nodes. Exact for polynomials of degree < 2n and
        fast-converging for smooth f at q ≲ 1, but only algebraically convergent across a kink
        (E[relu(z)]: error 0.4% with 100 nodes, O(1/n)), and it fails at large q: for tanh at
        q = 100, E[φ′²] is off by 40% even with 300 nodes. At most 300 nodes (beyond that
        ``hermegauss``' weights overflow).

    q = 0 gives the limit q → 0⁺, (f(0⁺) + f(0⁻)) / 2: f(0) where f is continuous. q = inf gives
    the limit (f(+∞) + f(−∞)) / 2. Tails beyond |z| = 12 (probability 4·10⁻³³) are dropped, so
    f must not grow faster than a polynomial. Overflow inside f is not reported: it gives inf.

    >>> round(gaussian_expectation(lambda u: np.tanh(u) ** 2, 1.0), 9)
    0.39429449
    >>> gaussian_expectation(lambda u: u**2, [0.0, 2.0, 3.0])
    array([0., 2., 3.])
    >>> relu, exact = (lambda u: np.maximum(u, 0.0)), 1 / np.sqrt(2 * np.pi)  # E[relu(z)]
    >>> float(abs(gaussian_expectation(relu, 1.0) - exact)) < 1e-15
    True
    >>> round(float(gaussian_expectation(relu, 1.0, method="hermite") - exact), 6)  # the kink
    0.001647
    """
    if not callable(f):
        raise TypeError(f"Argument `f` must be callable. Received: f={f!r}")
    check_choice("method", method, METHODS)
    default = SPLIT_NODES if method == "split" else HERMITE_NODES
    nodes = default if n is None else check_int("n", n, 1)
    if method == "hermite" and nodes > 300:
        raise ValueError(f"Argument `n` must be ≤ 300 for method='hermite'. Received: n={n!r}")
    out = _expect(f, _check_q("q", q), method, nodes)
    if out.shape != np.shape(q):
        raise ValueError(
            f"Argument `f` must act elementwise: E[f] has shape {out.shape} for q of shape "
            f"{np.shape(q)}"
        )
    return _scalar_or_array(out)


# --- activations -------------------------------------------------------------------------

# Positively homogeneous activations, φ(z) = a·z for z > 0 and b·z for z < 0: with
# c = (a² + b²)/2, E[φ] = (a − b)·√(q/2π), E[φ²] = c·q and E[φ′²] = c, exactly.
_SLOPES: dict[str, tuple[float, float]] = {
    "linear": (1.0, 1.0),
    "relu": (1.0, 0.0),
    "leaky_relu": (1.0, activations.LEAKY_RELU_SLOPE),
}


def _resolve(activation: ActivationLike) -> activations.Activation:
    """An :class:`~initlab.activations.Activation`; unknown names list the known ones."""
    if isinstance(activation, activations.Activation):
        return activation
    return activations.get(activation)


def _slopes(act: activations.Activation) -> tuple[float, float] | None:
    """(a, b) when ``act`` is one of the registered homogeneous activations."""
    slopes = _SLOPES.get(act.name)
    if slopes is None or activations.ACTIVATIONS.get(act.name) is not act:
        return None
    return slopes


def _moments(act: activations.Activation, q: Array) -> tuple[Array, Array, Array]:
    slopes = _slopes(act)
    if slopes is not None:
        a, b = slopes
        c = (a * a + b * b) / 2
        mean = (a - b) * np.sqrt(q / (2 * math.pi)) if a != b else np.zeros_like(q)
        return mean, c * q, np.full_like(q, c)

    def phi_phi2_dphi2(u: Array) -> Array:
        phi = np.asarray(act.forward(u), dtype=np.float64)
        dphi = np.asarray(act.derivative(u, phi), dtype=np.float64)
        return np.stack([phi, phi * phi, dphi * dphi])

    mean, mean_sq, deriv_sq = _expect(phi_phi2_dphi2, q, "split", SPLIT_NODES)
    return mean, mean_sq, deriv_sq


def moments(activation: ActivationLike, q: ArrayLike) -> Moments:
    """E[φ(√q z)], E[φ(√q z)²] and E[φ′(√q z)²] for z ~ N(0, 1); vectorised over ``q``.

    Closed forms for the positively homogeneous activations, φ(z) = z (z > 0), α·z (z < 0):

    ===========  ===================  ================  ===========
    activation   E[φ]                 E[φ²]             E[φ′²]
    ===========  ===================  ================  ===========
    relu         √(q/2π)              q/2               1/2
    leaky_relu   (1 − α)·√(q/2π)      (1 + α²)·q/2      (1 + α²)/2
    linear       0                    q                 1
    ===========  ===================  ================  ===========

    with α = :data:`initlab.activations.LEAKY_RELU_SLOPE`; every other activation by
    :func:`gaussian_expectation`. At q = 0 the values are the limits q → 0⁺ (ReLU: E[φ′²] = 1/2
    although φ′(0) = 0), at q = inf the limits q → ∞.

    >>> moments("relu", 2.0)
    Moments(mean=0.5641895835477563, mean_sq=1.0, deriv_sq=0.5)
    >>> [round(v, 6) for v in moments("tanh", 1.0)]
    [0.0, 0.394294, 0.464403]
    """
    act = _resolve(activation)
    q_arr = _check_q("q", q)
    with np.errstate(over="ignore"):
        mean, mean_sq, deriv_sq = _moments(act, q_arr)
    return Moments(*(_scalar_or_array(m) for m in (mean, mean_sq, deriv_sq)))


def _affine(sigma_w2: float, m: Array, sigma_b2: float) -> Array:
    """σ_w²·m + σ_b², with σ_w² = 0 giving σ_b² even where m is inf; overflow gives inf.

    σ_w² = inf stands for a value beyond float64 (a scheme's E[W²] that overflowed): inf
    where m > 0, σ_b² where m = 0, never the NaN of inf·0."""
    if sigma_w2 == 0:
        return np.full_like(m, sigma_b2)
    if math.isinf(sigma_w2):
        return np.where(m > 0, math.inf, sigma_b2)
    with np.errstate(over="ignore"):
        out: Array = sigma_w2 * m + sigma_b2
    return out


def _mean_sq(act: activations.Activation, q: float) -> float:
    with np.errstate(over="ignore"):
        return float(_moments(act, np.asarray(q, dtype=np.float64))[1])


def variance_map(
    activation: ActivationLike, q: ArrayLike, sigma_w2: float, sigma_b2: float = 0.0
) -> float | Array:
    """One step of the variance map: q ↦ σ_w²·E_z[φ(√q z)²] + σ_b², z ~ N(0, 1).

    The second moment of the next layer's pre-activations, given this layer's ``q``
    (Poole et al. 2016, eq. 3). Vectorised over ``q``; q = inf gives the limit (inf for
    unbounded φ), and a result too large for a float is inf.

    >>> variance_map("relu", 3.0, sigma_w2=2.0)  # He: σ_w² = 2 keeps q
    3.0
    >>> round(variance_map("tanh", 1.0, sigma_w2=1.5, sigma_b2=0.1), 6)
    0.691442
    """
    sw = check_real("sigma_w2", sigma_w2, low=0.0)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    act = _resolve(activation)
    q_arr = _check_q("q", q)
    with np.errstate(over="ignore"):
        return _scalar_or_array(_affine(sw, _moments(act, q_arr)[1], sb))


# --- depth: propagation, fixed point, χ₁ -------------------------------------------------


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

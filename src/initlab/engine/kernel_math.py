"""The compiled kernel's building blocks: sums over examples, ``exp``, the hidden activations
and their derivatives, and the cost, each a small Numba function that
:mod:`initlab.engine.kernel` calls from its forward pass, backward pass and training loop.

**Compiled for what a run uses.** An optional argument that is ``None`` is pruned by Numba
before typing (its branch is never compiled): :func:`_activate` and
:func:`_times_derivative` take one such flag per activation, ``None`` for those the network
does not use (``on``, built by :func:`activation_flags`, in the order of
:data:`ACTIVATION_CODES`), and :func:`_loss` one flag per head (``heads``, built by
:func:`head_flags`: ``True`` for the run's head, ``None`` for the other two). A run of the
notebook's network compiles the ReLU and sigmoid branches only; a regression run compiles
neither the sigmoid's nor the softmax's code.

(Numba prunes a branch on ``flag is None`` or ``flag is not None`` only where the flag is
``None``: a ``True`` flag is an ordinary boolean to it. So each head's code is guarded by its
own flag, which the other heads' runs set to ``None``.)

None of these functions is cached on disk: only the kernel's entry point is (see
:mod:`initlab.engine.kernel`), whose cache key covers this module's source too.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numba.extending
import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(
    fastmath: set[str] | None = None, entry: bool = False, cache: bool = False
) -> Callable[[_F], _F]:
    """``numba.njit``, typed for mypy (Numba's decorators are not annotated).

    ``error_model="numpy"``: x/0 is ±inf or NaN, as in NumPy, not a ZeroDivisionError (and
    the check would keep loops from vectorizing). Only an ``entry`` is called from Python:
    it alone has a CPython wrapper, releases the GIL and is cached on disk (``cache=True``:
    beside its module in ``__pycache__``, or in Numba's user-wide cache if that is read-only,
    so compiling is paid once per machine and Numba version); the others are compiled into
    it, or, with ``cache``, cached on disk too and linked into each entry that calls them
    (such a function must tie its cache to the sources it calls, as
    :func:`initlab.engine.kernel._entry` does: Numba checks its own file only).
    """
    options: dict[str, Any] = {"error_model": "numpy", "no_cfunc_wrapper": True}
    if entry:
        options.update(cache=True, nogil=True)
    else:
        options["no_cpython_wrapper"] = True
        options["cache"] = cache
    if fastmath:
        options["fastmath"] = fastmath
    return cast(Callable[[_F], _F], numba.njit(**options))


def sources_stamp(*paths: str) -> str:
    """SHA-256 of the source files at ``paths``, in order: what a compiled function closes
    over to tie its disk cache to the sources it is compiled from (Numba checks the file of
    the function itself only; see :func:`initlab.engine.kernel._entry`)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                digest.update(handle.read())
        except OSError:  # no sources (a frozen install): Numba caches nothing then anyway
            digest.update(path.encode())
    return digest.hexdigest()


# Hidden activations (initlab.activations), as codes the kernel switches on.
RELU, LEAKY_RELU, ELU, SELU, GELU, TANH, SIGMOID, LINEAR = range(8)
ACTIVATION_CODES = {
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "selu": SELU,
    "gelu": GELU,
    "tanh": TANH,
    "sigmoid": SIGMOID,
    "linear": LINEAR,
}


def activation_flags(names: list[str]) -> tuple[bool | None, ...]:
    """One flag per activation code: ``True`` for those in ``names``, else ``None``."""
    return tuple(True if name in names else None for name in ACTIVATION_CODES)


HEADS = ("sigmoid", "softmax", "identity")
"""The output heads (:data:`initlab.losses.HEADS`), in the order of the ``heads`` flags."""


def head_flags(head: str) -> tuple[bool | None, bool | None, bool | None]:
    """The flags ``(sigmoid, softmax, identity)``: ``True`` for ``head``, ``None`` for the
    others (see the module's docstring)."""
    if head not in HEADS:
        raise ValueError(f"Argument `head` must be one of {list(HEADS)}. Received: {head!r}")
    sigmoid, softmax, identity = (True if name == head else None for name in HEADS)
    return sigmoid, softmax, identity


# Indices into the constants array ``c``. It has the parameters' dtype, so that float32
# models compute in float32 (a Python float literal would promote every product to float64).
(
    C_ZERO,
    C_ONE,
    C_HALF,
    C_SLOPE,
    C_SELU_SCALE,
    C_SELU_ALPHA,
    C_SELU_SA,
    C_SQRT2,
    C_SQRT2PI,
    C_L2,
    C_BETA,
    C_BETA1,
    C_1MB1,
    C_BETA2,
    C_1MB2,
    C_EPS,
    C_L1,
) = range(17)
N_CONSTANTS = 17

LOG2 = math.log(2.0)

SQUARES_ROOM = 1e300
"""The most a sum of squared residuals may reach before the divergence check computes the
regression cost, in float64 (see :func:`identity_bound`)."""
SQUARES_ROOM_32 = 1e37
"""The same in float32 (its largest number is 3.4e38)."""


def identity_bound(n: int, outputs: int, dtype: np.dtype[Any]) -> float:
    """B = √(R / (n·K)), R = :data:`SQUARES_ROOM` (float64) or :data:`SQUARES_ROOM_32`
    (float32): while every residual ŷ − y of ``n`` examples and ``K`` outputs is below B in
    magnitude, half their mean squared error is finite (see
    :func:`initlab.engine.kernel.train_model`). The kernel computes it so too."""
    room = SQUARES_ROOM_32 if np.dtype(dtype).itemsize == 4 else SQUARES_ROOM
    return math.sqrt(room / (n * outputs))


# Sums may be reassociated (SIMD lanes) and multiply-adds fused; nothing else is relaxed.
_SUMS = {"reassoc", "contract"}


# --- sums over examples --------------------------------------------------------------------


@_jit(fastmath=_SUMS)
def _dot(x: Any, i: int, y: Any, j: int, mb: int) -> Any:
    """Σ_k x[i, k]·y[j, k] over the first ``mb ≥ 1`` examples."""
    total = x[i, 0] * y[j, 0]
    for k in range(1, mb):
        total += x[i, k] * y[j, k]
    return total


@_jit(fastmath=_SUMS)
def _dot2x2(x: Any, i: int, y: Any, j: int, mb: int) -> Any:
    """The four sums Σ_k x[i+a, k]·y[j+b, k], a, b ∈ {0, 1}, over the first ``mb`` examples."""
    s00 = x[i, 0] * y[j, 0]
    s01 = x[i, 0] * y[j + 1, 0]
    s10 = x[i + 1, 0] * y[j, 0]
    s11 = x[i + 1, 0] * y[j + 1, 0]
    for k in range(1, mb):
        x0, x1, y0, y1 = x[i, k], x[i + 1, k], y[j, k], y[j + 1, k]
        s00 += x0 * y0
        s01 += x0 * y1
        s10 += x1 * y0
        s11 += x1 * y1
    return s00, s01, s10, s11


@_jit(fastmath=_SUMS)
def _sum(x: Any, i: int, mb: int) -> Any:
    """Σ_k x[i, k] over the first ``mb ≥ 1`` examples."""
    total = x[i, 0]
    for k in range(1, mb):
        total += x[i, k]
    return total


# --- exp ---------------------------------------------------------------------------------------


def _bitcast_int64_to_float64(typingctx: Any, bits: Any) -> Any:
    """Numba intrinsic: the float64 whose IEEE-754 bits are the int64 ``bits``."""
    if bits != numba.types.int64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(numba.types.float64))

    return numba.types.float64(numba.types.int64), codegen


_as_float = cast(Callable[[Any], float], numba.extending.intrinsic(_bitcast_int64_to_float64))

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm's): k·LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_E = [1.0 / math.factorial(i) for i in range(14)]
_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = _E[2:]


@_jit(fastmath={"contract"})
def _exp(x: Any) -> float:
    """e^x in float64, within an ulp, in straight-line code that vectorizes (the C library's
    ``exp`` is a call per element): x = k·ln 2 + r, |r| ≤ ln 2 / 2; e^r by its Taylor
    polynomial to r¹³ (truncation < 1e-17); times 2^k built from its bits, in two factors so
    that neither overflows and a subnormal result is rounded once. ±inf and NaN as ``exp``.

    Measured against the correctly rounded value: ≤ 0.77 ulp (NumPy's own SIMD ``exp`` and
    the C library's differ from each other by an ulp in 5 % of arguments).
    """
    x = float(x)
    x = x if not x < -746.0 else -746.0  # e^x rounds to 0 below, to inf above; NaN stays
    x = x if not x > 710.0 else 710.0
    kf = np.floor((x if x == x else 0.0) * _INV_LN2 + 0.5)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    q = _E13
    q = q * r + _E12
    q = q * r + _E11
    q = q * r + _E10
    q = q * r + _E9
    q = q * r + _E8
    q = q * r + _E7
    q = q * r + _E6
    q = q * r + _E5
    q = q * r + _E4
    q = q * r + _E3
    q = q * r + _E2
    q = q * r + 1.0
    q = q * r + 1.0
    k = np.int64(kf)
    half = k >> 1
    return float((q * _as_float((half + 1023) << 52)) * _as_float((k - half + 1023) << 52))


# --- activations -----------------------------------------------------------------------------


@_jit()
def _activate(
    code: int, Z: Any, A: Any, r: int, mb: int, bias: Any, c: Any,
    relu: Any, leaky_relu: Any, elu: Any, selu: Any,
    gelu: Any, tanh: Any, sigmoid: Any, linear: Any,
) -> None:  # fmt: skip
    """``Z[r] += bias``, then ``A[r] = φ(Z[r])`` as :mod:`initlab.activations` computes it
    (NaN stays NaN, as in NumPy), in one pass. The flags after ``c``: see the module."""
    zero, one = c[C_ZERO], c[C_ONE]
    if relu is not None and code == RELU:  # np.maximum(0, z)
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = zero if z <= zero else z
    elif leaky_relu is not None and code == LEAKY_RELU:
        slope = c[C_SLOPE]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z if z > zero else slope * z
    elif elu is not None and code == ELU:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z if z > zero else one * math.expm1(z)
    elif selu is not None and code == SELU:
        scale, alpha = c[C_SELU_SCALE], c[C_SELU_ALPHA]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = scale * (z if z > zero else alpha * math.expm1(z))
    elif gelu is not None and code == GELU:
        half, sqrt2 = c[C_HALF], c[C_SQRT2]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z * (half * (one + math.erf(z / sqrt2)))
    elif tanh is not None and code == TANH:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = math.tanh(z)
    elif sigmoid is not None and code == SIGMOID:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = one / (one + _exp(-z))
    elif linear is not None and code == LINEAR:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z


@_jit()
def _times_derivative(
    code: int, D: Any, j: int, Z: Any, A: Any, r: int, mb: int, c: Any,
    relu: Any, leaky_relu: Any, elu: Any, selu: Any,
    gelu: Any, tanh: Any, sigmoid: Any, linear: Any,
) -> None:  # fmt: skip
    """``D[j] *= φ′(Z[r])``, φ′ written as :mod:`initlab.activations` writes it (from z or
    a = φ(z)). The flags after ``c``: see the module."""
    zero, one = c[C_ZERO], c[C_ONE]
    if relu is not None and code == RELU:  # times the mask z > 0: 0·inf is NaN, as in NumPy
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else zero)
    elif leaky_relu is not None and code == LEAKY_RELU:
        slope = c[C_SLOPE]
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else slope)
    elif elu is not None and code == ELU:
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else A[r, k] + one)
    elif selu is not None and code == SELU:
        scale, sa = c[C_SELU_SCALE], c[C_SELU_SA]
        for k in range(mb):
            D[j, k] = D[j, k] * (scale if Z[r, k] > zero else A[r, k] + sa)
    elif gelu is not None and code == GELU:
        half, sqrt2, sqrt2pi = c[C_HALF], c[C_SQRT2], c[C_SQRT2PI]
        for k in range(mb):
            z = Z[r, k]
            cdf = half * (one + math.erf(z / sqrt2))
            D[j, k] = D[j, k] * (cdf + z * _exp(-half * z * z) / sqrt2pi)
    elif tanh is not None and code == TANH:
        for k in range(mb):
            D[j, k] = D[j, k] * (one - A[r, k] * A[r, k])
    elif sigmoid is not None and code == SIGMOID:
        for k in range(mb):
            D[j, k] = D[j, k] * (A[r, k] * (one - A[r, k]))
    elif linear is not None and code == LINEAR:
        for k in range(mb):
            D[j, k] = D[j, k] * one


# --- the cost --------------------------------------------------------------------------------


@_jit()
def _pairwise_block(x: Any, lo: int, n: int, zero: Any) -> float:
    """NumPy's pairwise sum of a run of at most 128 numbers: eight running sums, then the
    rest in order (fewer than 8: in order, from ``zero``). The sums are in the type of ``x``
    and ``zero``, as NumPy sums an array in its dtype."""
    if n < 8:
        total = zero
        for k in range(lo, lo + n):
            total += x[k]
        return float(total)
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    k = lo + 8
    end = lo + n - n % 8
    while k < end:
        r0 += x[k]
        r1 += x[k + 1]
        r2 += x[k + 2]
        r3 += x[k + 3]
        r4 += x[k + 4]
        r5 += x[k + 5]
        r6 += x[k + 6]
        r7 += x[k + 7]
        k += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < lo + n:
        total += x[k]
        k += 1
    return float(total)


@_jit()
def _pairwise(x: Any, n: int, nodes: Any, values: Any, zero: Any) -> float:
    """Σ x[:n] as ``np.sum`` sums a contiguous array — runs of more than 128 split in two
    halves (the first a multiple of 8 long), each summed so — so that the mean cost matches
    ``np.mean`` to the bit. Iterative (Numba's cache mishandles recursion): ``nodes`` (64, 3)
    and ``values`` (64,) are the stacks of a post-order walk of the halving tree. ``x``,
    ``values`` and ``zero`` share a type: the one the sums are made in."""
    top, count = 0, 0
    nodes[0, 0], nodes[0, 1], nodes[0, 2] = 0, n, 0
    while top >= 0:
        lo, size, split = nodes[top, 0], nodes[top, 1], nodes[top, 2]
        top -= 1
        if size <= 128:
            values[count] = _pairwise_block(x, lo, size, zero)
            count += 1
        elif split:  # both halves summed: combine them, left + right
            values[count - 2] = values[count - 2] + values[count - 1]
            count -= 1
        else:
            half = size // 2
            half -= half % 8
            nodes[top + 1, 0], nodes[top + 1, 1], nodes[top + 1, 2] = lo, size, 1
            nodes[top + 2, 0], nodes[top + 2, 1], nodes[top + 2, 2] = lo + half, size - half, 0
            nodes[top + 3, 0], nodes[top + 3, 1], nodes[top + 3, 2] = lo, half, 0
            top += 3
    return float(values[0])


@_jit()
def _squared_error(
    Z: Any, Y: Any, out: int, mb: int, terms: Any, nodes: Any, values: Any, c: Any
) -> float:
    """Half the squared error of the identity head, (1 / 2m)·Σ_examples Σ_k (ŷ_k − y_k)²
    with ŷ = z the rows of ``Z`` from ``out``, computed in the dtype of ``Z`` as
    :func:`initlab.losses.squared_error_per_model` computes it on arrays of that dtype:
    d = z − y, Σ_k d·d over the outputs in order (``np.sum`` along axis −2), ``np.mean``'s
    pairwise sum over the examples, divided by m (NumPy divides the dtype's sum by an
    integer in float64 and rounds back: the same as dividing in the dtype), then times ½.
    ``terms`` and ``values`` are scratch in the dtype. No multiply-add is fused here (no
    ``fastmath``): NumPy squares, then adds."""
    K = Y.shape[0]
    for k in range(mb):
        d = Z[out, k] - Y[0, k]
        total = d * d
        for r in range(1, K):
            d = Z[out + r, k] - Y[r, k]
            total = total + d * d
        terms[k] = total
    terms[0] = _pairwise(terms, mb, nodes, values, c[C_ZERO]) / mb  # rounded to the dtype
    return float(c[C_HALF] * terms[0])


def cost_scratch(n: int, dtype: Any) -> tuple[Any, ...]:
    """:func:`_loss`'s scratch for ``n`` examples: the cross-entropy's terms and partial sums
    (float64), the pairwise walk's stack, the squared error's terms and partial sums (in the
    run's ``dtype``). Allocated once per model (or block), in Python or in the kernel."""
    return (
        np.empty(n), np.empty(64), np.empty((64, 3), np.int64), np.empty(n, dtype),
        np.empty(64, dtype),
    )  # fmt: skip


@_jit()
def _loss(
    Z: Any, Y: Any, out: int, mb: int, scratch: Any, c: Any,
    sigmoid: Any, softmax: Any, identity: Any,
) -> float:  # fmt: skip
    """The head's mean loss from its logits (the rows of ``Z`` from ``out``), as
    :mod:`initlab.losses` computes it, for the head whose flag is not ``None``: the
    cross-entropy in float64 (sigmoid: softplus(z) − y·z with NumPy's ``logaddexp(0, z)``;
    softmax: SciPy's logsumexp(z) − z_y), then ``np.mean``'s pairwise sum; or half the
    squared error, in the dtype (:func:`_squared_error`). ``scratch``: see
    :func:`cost_scratch`."""
    terms, values, nodes, squares, partial = scratch
    if identity is not None:
        return _squared_error(Z, Y, out, mb, squares, nodes, partial, c)
    K = Y.shape[0]
    if sigmoid is not None:
        for k in range(mb):
            z = float(Z[out, k])
            if z == 0.0:
                softplus = LOG2
            elif z < 0.0:
                softplus = math.log1p(math.exp(z))
            elif z > 0.0:
                softplus = z + math.log1p(math.exp(-z))
            else:
                softplus = z  # NaN
            terms[k] = softplus - float(Y[0, k]) * z
        return _pairwise(terms, mb, nodes, values, 0.0) / mb
    if softmax is not None:
        for k in range(mb):
            top = float(Z[out, k])
            arg = 0
            for r in range(1, K):
                z = float(Z[out + r, k])
                if z > top:
                    top, arg = z, r
            rest = 0.0
            zy = 0.0
            for r in range(K):
                z = float(Z[out + r, k])
                if r != arg:
                    rest += math.exp(z - top)
                zy += float(Y[r, k]) * z
            terms[k] = (math.log1p(rest) + top) - zy
        return _pairwise(terms, mb, nodes, values, 0.0) / mb
    return math.nan  # not reached: one head's flag is set


@_jit()
def _l2_sum(p: Any, sizes: Any) -> float:
    """Σ_l ‖W[l]‖² (biases excluded), in float64."""
    total = 0.0
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        part = 0.0
        for q in range(w, w + nout * nin):
            part += float(p[q]) * float(p[q])
        total += part
        w += nout * nin + nout
    return total


@_jit()
def _l1_sum(p: Any, sizes: Any) -> float:
    """Σ_l Σ|W[l]| (biases excluded), in float64, each layer's sum added to the total as
    :func:`initlab.network.l1_penalty_per_model` adds them (the layer's sum in order here,
    NumPy's pairwise there: rounding)."""
    total = 0.0
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        part = 0.0
        for q in range(w, w + nout * nin):
            part += abs(float(p[q]))
        total += part
        w += nout * nin + nout
    return total


@_jit()
def _sign(x: Any, c: Any) -> Any:
    """``np.sign(x)`` in the dtype of ``c``: 1, −1, 0 (for ±0: NumPy's sign of −0.0 is
    +0.0) or NaN (NaN propagates, as the gradient of a diverging run needs)."""
    zero, one = c[C_ZERO], c[C_ONE]
    if x > zero:
        return one
    if x < zero:
        return -one
    if x == zero:
        return zero
    return x

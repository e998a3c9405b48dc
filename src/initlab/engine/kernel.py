"""The compiled engine: a Numba kernel that trains one network from start to end.

Importing this module imports Numba; :mod:`initlab.engine` imports it only when the compiled
engine is used, and runs :func:`train_model` for many models at once on a pool of threads
(the kernel releases the GIL). The arrays are prepared by :mod:`initlab.engine`:

- ``p`` ``(P,)``: one model's parameters, layer by layer, ``W[l]`` row-major
  ``(n[l], n[l-1])`` then ``b[l]`` ``(n[l],)``; trained in place.
- ``X`` ``(n[0], n)`` and ``Y`` ``(n[L], n)``: the data and targets, feature-major (one
  column per example), C-contiguous.
- Work arrays, allocated once per model: ``Z`` and ``A`` with one row per unit of every
  layer, ``D`` and ``Dn`` (dZ of a layer and of the one below). Iteration by iteration only
  the first ``mb`` columns are used, ``mb`` the size of the batch. Every inner loop runs along
  a row, over contiguous examples, and compiles to SIMD instructions.

The arithmetic is :func:`initlab.network.backward_columns`, :mod:`initlab.losses`,
:mod:`initlab.activations` and :mod:`initlab.optim` operation for operation: the same
formulas, in the same order, with NaN propagating as in NumPy, so a run diverges at the same
iteration; costs are averaged with NumPy's pairwise summation. What differs is rounding:

- sums over examples (``dZ·Aᵀ``, ``Σ dZ``) are accumulated in SIMD lanes, in an order of the
  compiler's choosing (:func:`_dot` and :func:`_sum` allow reassociation), and
  multiply-adds may be fused: NumPy hands the same sums to BLAS, which blocks them its own
  way, with FMAs too. No other ``fastmath`` liberty is taken (none about NaN or infinity);
- ``exp`` is :func:`_exp`, which vectorizes, and ``expm1``, ``tanh``, ``erf`` the C
  library's; NumPy's and SciPy's are their own: all within an ulp or so.

On a well-conditioned run these differences stay at the rounding level (the notebook's He
run: ~1e-15 relative after 15,000 iterations; see tests/test_engine.py); on a chaotic run
they grow, as they do between two machines running the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numba.extending
import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(
    fastmath: set[str] | None = None, nogil: bool = False, entry: bool = False
) -> Callable[[_F], _F]:
    """``numba.njit``, typed for mypy (Numba's decorators are not annotated).

    ``cache=True`` writes the machine code to ``__pycache__`` beside this file (or to Numba's
    user-wide cache if that is read-only), so compiling is paid once per machine, Numba
    version and dtype, not once per process. ``error_model="numpy"``: x/0 is ±inf or NaN, as
    in NumPy, not a ZeroDivisionError (and the check would keep loops from vectorizing).
    """
    options: dict[str, Any] = {"cache": True, "nogil": nogil, "error_model": "numpy"}
    if not entry:
        options["no_cpython_wrapper"] = True
        options["no_cfunc_wrapper"] = True
    if fastmath:
        options["fastmath"] = fastmath
    return cast(Callable[[_F], _F], numba.njit(**options))


def threads() -> int:
    """Threads to train models on: ``NUMBA_NUM_THREADS`` (default: the usable CPUs)."""
    return int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))


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
GD, MOMENTUM, ADAM = range(3)
OPTIMIZER_CODES = {"gd": GD, "momentum": MOMENTUM, "adam": ADAM}

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
) = range(16)
N_CONSTANTS = 16

# Indices into the integer settings array ``s``.
S_OPTIMIZER, S_NESTEROV, S_ITERATIONS, S_RECORD_EVERY, S_CHECKPOINT_EVERY, S_BATCH = range(6)
N_SETTINGS = 6

LOG2 = math.log(2.0)

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


# --- forward -------------------------------------------------------------------------------


@_jit()
def _activate(code: int, Z: Any, A: Any, r: int, mb: int, bias: Any, c: Any) -> None:
    """``Z[r] += bias``, then ``A[r] = φ(Z[r])`` as :mod:`initlab.activations` computes it
    (NaN stays NaN, as in NumPy), in one pass."""
    zero, one = c[C_ZERO], c[C_ONE]
    if code == RELU:  # np.maximum(0, z)
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = zero if z <= zero else z
    elif code == LEAKY_RELU:
        slope = c[C_SLOPE]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z if z > zero else slope * z
    elif code == ELU:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z if z > zero else one * math.expm1(z)
    elif code == SELU:
        scale, alpha = c[C_SELU_SCALE], c[C_SELU_ALPHA]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = scale * (z if z > zero else alpha * math.expm1(z))
    elif code == GELU:
        half, sqrt2 = c[C_HALF], c[C_SQRT2]
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z * (half * (one + math.erf(z / sqrt2)))
    elif code == TANH:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = math.tanh(z)
    elif code == SIGMOID:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = one / (one + _exp(-z))
    else:
        for k in range(mb):
            z = Z[r, k] + bias
            Z[r, k] = z
            A[r, k] = z


@_jit(fastmath={"contract"})
def _forward(
    p: Any, sizes: Any, acts: Any, x: Any, Z: Any, A: Any, mb: int, c: Any, tmp: Any, bound: float
) -> bool:
    """Forward pass on the first ``mb`` examples (columns) of ``x``: ``Z[l] = W[l]·A[l-1] +
    b[l]``, ``A[l] = φ(Z[l])``, and the head's probabilities in the output rows of ``A``.

    Each row of ``W[l]·A[l-1]`` is summed over the inputs in order, three per pass, then the
    bias is added: the reference's ``W @ A + b`` (multiply-adds may be fused, as BLAS does).
    Returns whether every logit is below ``bound`` in magnitude: then the cost is finite.
    """
    L = sizes.size - 1
    K = sizes[L]
    one = c[C_ONE]
    small = True
    src = x
    src_row = 0
    row = 0
    w = 0
    for layer in range(L):
        nin, nout = sizes[layer], sizes[layer + 1]
        b = w + nout * nin
        for i in range(nout):
            r = row + i
            wi = w + i * nin
            w0 = p[wi]
            for k in range(mb):
                Z[r, k] = w0 * src[src_row, k]
            j = 1
            while j + 3 <= nin:
                w1, w2, w3 = p[wi + j], p[wi + j + 1], p[wi + j + 2]
                j1 = src_row + j
                for k in range(mb):
                    z = (Z[r, k] + w1 * src[j1, k]) + w2 * src[j1 + 1, k]
                    Z[r, k] = z + w3 * src[j1 + 2, k]
                j += 3
            while j < nin:
                w1 = p[wi + j]
                j1 = src_row + j
                for k in range(mb):
                    Z[r, k] = Z[r, k] + w1 * src[j1, k]
                j += 1
            if layer < L - 1:
                _activate(acts[layer], Z, A, r, mb, p[b + i], c)
            elif K == 1:  # the sigmoid head
                bias = p[b + i]
                for k in range(mb):
                    z = Z[r, k] + bias
                    Z[r, k] = z
                    A[r, k] = one / (one + _exp(-z))
                    small = small and abs(z) < bound
            else:
                bias = p[b + i]
                for k in range(mb):
                    Z[r, k] = Z[r, k] + bias
        w = b + nout
        src, src_row = A, row
        row += nout
    if K == 1:
        return small

    # The softmax head, column-wise and max-shifted: tmp[0] = Z.max(axis=0) (NaN
    # propagating), tmp[1] = Σ exp.
    out = row - K
    for k in range(mb):
        tmp[0, k] = Z[out, k]
        tmp[1, k] = c[C_ZERO]
    for r in range(out + 1, row):
        for k in range(mb):
            if Z[r, k] > tmp[0, k] or Z[r, k] != Z[r, k]:
                tmp[0, k] = Z[r, k]
    for r in range(out, row):
        for k in range(mb):
            A[r, k] = _exp(Z[r, k] - tmp[0, k])
            tmp[1, k] = tmp[1, k] + A[r, k]
            small = small and abs(Z[r, k]) < bound
    for r in range(out, row):
        for k in range(mb):
            A[r, k] = A[r, k] / tmp[1, k]
    return small


@_jit()
def _pairwise_block(x: Any, lo: int, n: int) -> float:
    """NumPy's pairwise sum of a run of at most 128 numbers: eight running sums, then the
    rest in order (fewer than 8: in order)."""
    if n < 8:
        total = 0.0
        for k in range(lo, lo + n):
            total += x[k]
        return total
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
def _pairwise(x: Any, n: int, nodes: Any, values: Any) -> float:
    """Σ x[:n] as ``np.sum`` sums a contiguous array — runs of more than 128 split in two
    halves (the first a multiple of 8 long), each summed so — so that the mean cost matches
    ``np.mean`` to the bit. Iterative (Numba's cache mishandles recursion): ``nodes`` (64, 3)
    and ``values`` (64,) are the stacks of a post-order walk of the halving tree."""
    top, count = 0, 0
    nodes[0, 0], nodes[0, 1], nodes[0, 2] = 0, n, 0
    while top >= 0:
        lo, size, split = nodes[top, 0], nodes[top, 1], nodes[top, 2]
        top -= 1
        if size <= 128:
            values[count] = _pairwise_block(x, lo, size)
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
def _loss(Z: Any, Y: Any, out: int, mb: int, terms: Any, nodes: Any, values: Any) -> float:
    """Mean cross-entropy from the logits (the rows of ``Z`` from ``out``), in float64, as
    :mod:`initlab.losses` computes it: softplus(z) − y·z with NumPy's ``logaddexp(0, z)``, or
    SciPy's logsumexp(z) − z_y; then ``np.mean``'s pairwise sum (the rest: scratch)."""
    K = Y.shape[0]
    if K == 1:
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
    else:
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
    return _pairwise(terms, mb, nodes, values) / mb


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


# --- backward and update -------------------------------------------------------------------


@_jit()
def _times_derivative(code: int, D: Any, j: int, Z: Any, A: Any, r: int, mb: int, c: Any) -> None:
    """``D[j] *= φ′(Z[r])``, φ′ written as :mod:`initlab.activations` writes it (from z or
    a = φ(z))."""
    zero, one = c[C_ZERO], c[C_ONE]
    if code == RELU:  # times the mask z > 0: 0·inf is NaN, as with NumPy's boolean product
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else zero)
    elif code == LEAKY_RELU:
        slope = c[C_SLOPE]
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else slope)
    elif code == ELU:
        for k in range(mb):
            D[j, k] = D[j, k] * (one if Z[r, k] > zero else A[r, k] + one)
    elif code == SELU:
        scale, sa = c[C_SELU_SCALE], c[C_SELU_SA]
        for k in range(mb):
            D[j, k] = D[j, k] * (scale if Z[r, k] > zero else A[r, k] + sa)
    elif code == GELU:
        half, sqrt2, sqrt2pi = c[C_HALF], c[C_SQRT2], c[C_SQRT2PI]
        for k in range(mb):
            z = Z[r, k]
            cdf = half * (one + math.erf(z / sqrt2))
            D[j, k] = D[j, k] * (cdf + z * _exp(-half * z * z) / sqrt2pi)
    elif code == TANH:
        for k in range(mb):
            D[j, k] = D[j, k] * (one - A[r, k] * A[r, k])
    elif code == SIGMOID:
        for k in range(mb):
            D[j, k] = D[j, k] * (A[r, k] * (one - A[r, k]))
    else:
        for k in range(mb):
            D[j, k] = D[j, k] * one


@_jit(fastmath={"contract"})
def _backward(
    p: Any,
    sizes: Any,
    acts: Any,
    x: Any,
    y: Any,
    Z: Any,
    A: Any,
    mb: int,
    g: Any,
    D: Any,
    Dn: Any,
    c: Any,
    scale: Any,
) -> None:
    """Gradients into ``g`` (laid out as ``p``), as ``backward_columns``:
    ``dZ[L] = 1/m·(P − Y)``, ``dW = dZ·A[l-1]ᵀ (+ λ/m·W)``, ``db = Σ_examples dZ``,
    ``dZ[l-1] = (W[l]ᵀ·dZ) ⊙ φ′(Z[l-1])``. ``scale`` is ``[1/m, λ/m]`` in the dtype."""
    L = sizes.size - 1
    inv_m, l2_m = scale[0], scale[1]
    rows = 0  # first row of the current layer in Z and A
    w = 0  # first parameter of the current layer in p
    for layer in range(L - 1):
        rows += sizes[layer + 1]
        w += sizes[layer + 1] * (sizes[layer] + 1)
    for r in range(sizes[L]):
        for k in range(mb):
            D[r, k] = inv_m * (A[rows + r, k] - y[r, k])
    for layer in range(L - 1, -1, -1):
        nin, nout = sizes[layer], sizes[layer + 1]
        b = w + nout * nin
        prev_rows = rows - nin
        if layer == 0:
            prev, prev_rows = x, 0
        else:
            prev = A
        for i in range(0, nout, 2):  # dW in 2×2 blocks (each row loaded once for two sums)
            for j in range(0, nin, 2):
                if i + 1 < nout and j + 1 < nin:
                    d00, d01, d10, d11 = _dot2x2(D, i, prev, prev_rows + j, mb)
                    g[w + i * nin + j] = d00
                    g[w + i * nin + j + 1] = d01
                    g[w + (i + 1) * nin + j] = d10
                    g[w + (i + 1) * nin + j + 1] = d11
                else:
                    for ii in range(i, i + 2 if i + 1 < nout else nout):
                        for jj in range(j, j + 2 if j + 1 < nin else nin):
                            g[w + ii * nin + jj] = _dot(D, ii, prev, prev_rows + jj, mb)
        if l2_m != c[C_ZERO]:
            for q in range(w, b):
                g[q] = g[q] + l2_m * p[q]
        for i in range(nout):
            g[b + i] = _sum(D, i, mb)
        if layer == 0:
            break
        # dZ[l-1] = Wᵀ·dZ, each row summed over the layer's units in order, then ⊙ φ′.
        for j in range(nin):
            w0 = p[w + j]
            for k in range(mb):
                Dn[j, k] = w0 * D[0, k]
            i = 1
            while i + 3 <= nout:
                w1, w2, w3 = p[w + i * nin + j], p[w + (i + 1) * nin + j], p[w + (i + 2) * nin + j]
                for k in range(mb):
                    Dn[j, k] = ((Dn[j, k] + w1 * D[i, k]) + w2 * D[i + 1, k]) + w3 * D[i + 2, k]
                i += 3
            while i < nout:
                w1 = p[w + i * nin + j]
                for k in range(mb):
                    Dn[j, k] = Dn[j, k] + w1 * D[i, k]
                i += 1
            _times_derivative(acts[layer - 1], Dn, j, Z, A, prev_rows + j, mb, c)
        D, Dn = Dn, D
        rows = prev_rows
        w -= nin * (sizes[layer - 1] + 1)


@_jit()
def _step(
    kind: int, nesterov: bool, p: Any, g: Any, v: Any, s: Any, lr: Any, t: int, c: Any, tmp: Any
) -> None:
    """One update of :mod:`initlab.optim` (``tmp``: two scratch values in the dtype)."""
    if kind == GD:
        for q in range(p.size):
            p[q] = p[q] - lr * g[q]
    elif kind == MOMENTUM:
        beta = c[C_BETA]
        for q in range(p.size):
            v[q] = v[q] * beta
            v[q] = v[q] + g[q]
            if nesterov:
                p[q] = p[q] - lr * (g[q] + beta * v[q])
            else:
                p[q] = p[q] - lr * v[q]
    else:
        # Bias corrections as Python computes 1 - beta**t (C's pow), in the dtype.
        tmp[0] = 1.0 - math.pow(float(c[C_BETA1]), float(t))
        tmp[1] = 1.0 - math.pow(float(c[C_BETA2]), float(t))
        c1, c2 = tmp[0], tmp[1]
        beta1, beta2, omb1, omb2, eps = c[C_BETA1], c[C_BETA2], c[C_1MB1], c[C_1MB2], c[C_EPS]
        for q in range(p.size):
            v[q] = v[q] * beta1
            v[q] = v[q] + omb1 * g[q]
            s[q] = s[q] * beta2
            s[q] = s[q] + omb2 * g[q] * g[q]
            p[q] = p[q] - lr * (v[q] / c1) / (math.sqrt(s[q] / c2) + eps)


# --- training ------------------------------------------------------------------------------


@_jit(nogil=True, entry=True)
def train_model(
    p: Any,
    lr: Any,
    X: Any,
    Y: Any,
    sizes: Any,
    acts: Any,
    c: Any,
    s: Any,
    order: Any,
    costs: Any,
    status: Any,
    snaps: Any,
) -> None:
    """Train one model in place: ``p`` its parameters, ``lr`` its learning rate.

    The loop is :func:`initlab.train.train`'s: forward, cost, divergence check, record,
    backward, update. ``order`` holds the concatenated per-epoch permutations when ``s``
    asks for mini-batches. Outputs: ``costs[r]``, the full-data cost at iteration
    ``r·record_every``; ``status = [iterations_run, diverged]``; ``snaps[q]``, the parameters
    at iteration ``q·checkpoint_every`` (before its update) and, last, at the end.

    The cost itself is computed only where it is recorded or might not be finite: while
    every logit is below ``1e300 / n`` in magnitude the mean loss cannot overflow, so the
    divergence check needs no ``log``.
    """
    L = sizes.size - 1
    n0, K = sizes[0], sizes[L]
    n = X.shape[1]
    units = 0
    width = 0
    for layer in range(1, L + 1):
        units += sizes[layer]
        width = width if width > sizes[layer] else sizes[layer]
    kind, nesterov = s[S_OPTIMIZER], s[S_NESTEROV] != 0
    iterations, record_every = s[S_ITERATIONS], s[S_RECORD_EVERY]
    every, batch = s[S_CHECKPOINT_EVERY], s[S_BATCH]
    full = batch == 0
    per_epoch = 1 if full else (n + batch - 1) // batch
    l2 = float(c[C_L2])
    bound = 1e300 / n

    # Every work array, allocated once.
    Z = np.empty((units, n), p.dtype)
    A = np.empty((units, n), p.dtype)
    D = np.empty((width, n), p.dtype)
    Dn = np.empty((width, n), p.dtype)
    g = np.empty(p.size, p.dtype)
    v = np.empty(p.size, p.dtype)
    sq = np.empty(p.size, p.dtype)
    for q in range(p.size):
        v[q] = sq[q] = c[C_ZERO]
    xb = np.empty((n0, 0 if full else batch), p.dtype)
    yb = np.empty((K, 0 if full else batch), p.dtype)
    tmp = np.empty((2, n), p.dtype)
    terms = np.empty(n)
    nodes = np.empty((64, 3), np.int64)
    values = np.empty(64)
    scale = np.empty(2, p.dtype)
    corrections = np.empty(2, p.dtype)

    diverged = 0
    it = 0
    snap = 0
    while it < iterations:
        if full:
            x, y, mb = X, Y, n
        else:
            start = (it % per_epoch) * batch
            mb = batch if start + batch <= n else n - start
            first = (it // per_epoch) * n + start
            for j in range(n0):
                for k in range(mb):
                    xb[j, k] = X[j, order[first + k]]
            for r in range(K):
                for k in range(mb):
                    yb[r, k] = Y[r, order[first + k]]
            x, y = xb, yb
        small = _forward(p, sizes, acts, x, Z, A, mb, c, tmp, bound)
        penalty = l2 / (2 * mb) * _l2_sum(p, sizes) if l2 != 0.0 else 0.0
        recording = it % record_every == 0
        if recording or not small or not penalty < 1e300:
            cost = _loss(Z, y, units - K, mb, terms, nodes, values) + penalty
            if not math.isfinite(cost):
                diverged = 1
                break
            if recording and full:
                costs[it // record_every] = cost
        if every > 0 and it % every == 0:
            for q in range(p.size):
                snaps[snap, q] = p[q]
            snap += 1
        scale[0] = 1.0 / mb
        scale[1] = l2 / mb
        _backward(p, sizes, acts, x, y, Z, A, mb, g, D, Dn, c, scale)
        if recording and not full:  # the full-data cost, before this iteration's update
            _forward(p, sizes, acts, X, Z, A, n, c, tmp, bound)
            penalty = l2 / (2 * n) * _l2_sum(p, sizes) if l2 != 0.0 else 0.0
            costs[it // record_every] = _loss(Z, Y, units - K, n, terms, nodes, values) + penalty
        _step(kind, nesterov, p, g, v, sq, lr, it + 1, c, corrections)
        it += 1
    if every > 0 and not diverged:
        for q in range(p.size):
            snaps[snap, q] = p[q]
    status[0] = it
    status[1] = diverged

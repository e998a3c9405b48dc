"""The compiled engine: a Numba kernel that trains one network from start to end.

Importing this module imports Numba; :mod:`initlab.engine.compiled` imports it only when the
compiled engine is used, and runs :func:`train_model` for many models at once on a pool of
threads (the kernel releases the GIL). The forward pass, backward pass, update and training
loop are here; their building blocks (sums, ``exp``, activations, the cost) are in
:mod:`initlab.engine.kernel_math`. The arrays are prepared by
:mod:`initlab.engine.compiled`:

- ``p`` ``(P,)``: one model's parameters, layer by layer, ``W[l]`` row-major
  ``(n[l], n[l-1])`` then ``b[l]`` ``(n[l],)``; trained in place.
- ``X`` ``(n[0], n)`` and ``Y`` ``(n[L], n)``: the data and targets (0/1, one-hot, or
  real for regression), feature-major (one column per example), C-contiguous.
- Work arrays, allocated once per model: ``Z`` and ``A`` with one row per unit of every
  layer, ``D`` and ``Dn`` (dZ of a layer and of the one below). Iteration by iteration only
  the first ``mb`` columns are used, ``mb`` the size of the batch. Every inner loop runs along
  a row, over contiguous examples, and compiles to SIMD instructions.

**Compiled for what a run uses**: optional arguments that are ``None`` are pruned before
typing, so only the code a run needs is compiled (see :mod:`initlab.engine.kernel_math`):
the velocity ``v`` and Adam's ``sq`` (``None`` for plain gradient descent), the mini-batch
``order`` (``None`` for full batch), the ``l2`` and ``l1`` flags (a run without L1
compiles no L1 code), and the flags of the activations (``on``) and of the heads
(``heads``: sigmoid, softmax, identity). Each combination, and each dtype, is compiled on
first use and cached on disk.

The arithmetic is :func:`initlab.network.backward_columns`, :mod:`initlab.losses`,
:mod:`initlab.activations` and :mod:`initlab.optim` operation for operation: the same
formulas, in the same order, with NaN propagating as in NumPy, so a run diverges at the same
iteration; costs are averaged with NumPy's pairwise summation (the cross-entropy in float64,
the regression head's squared error in the run's dtype, as NumPy computes each). What
differs is rounding:

- sums over examples (``dZ·Aᵀ``, ``Σ dZ``) are accumulated in SIMD lanes, in an order of the
  compiler's choosing (``_dot`` and ``_sum`` allow reassociation), and
  multiply-adds may be fused: NumPy hands the same sums to BLAS, which blocks them its own
  way, with FMAs too. No other ``fastmath`` liberty is taken (none about NaN or infinity);
- ``exp`` is ``_exp``, which vectorizes, and ``expm1``, ``tanh``, ``erf`` the C
  library's; NumPy's and SciPy's are their own: all within an ulp or so.

On a well-conditioned run these differences stay at the rounding level (the notebook's He
run: ~1e-15 relative after 15,000 iterations; see tests/test_engine.py); on a chaotic run
they grow, as they do between two machines running the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from initlab.engine import kernel_math
from initlab.engine.kernel_math import (
    ACTIVATION_CODES,
    C_1MB1,
    C_1MB2,
    C_BETA,
    C_BETA1,
    C_BETA2,
    C_EPS,
    C_L1,
    C_L2,
    C_ONE,
    C_ZERO,
    SQUARES_ROOM,
    SQUARES_ROOM_32,
    _activate,
    _dot,
    _dot2x2,
    _exp,
    _jit,
    _l1_sum,
    _l2_sum,
    _loss,
    _sign,
    _sum,
    _times_derivative,
)

__all__ = ["ACTIVATION_CODES", "N_SETTINGS", "train_model"]

# Indices into the integer settings array ``s``.
S_ITERATIONS, S_RECORD_EVERY, S_CHECKPOINT_EVERY, S_BATCH, S_NESTEROV, S_START = range(6)
N_SETTINGS = 6


# --- forward -------------------------------------------------------------------------------


@_jit(fastmath={"contract"})
def _forward(
    p: Any, sizes: Any, acts: Any, x: Any, y: Any, Z: Any, A: Any, mb: int, c: Any,
    tmp: Any, bound: float, on: Any, sigmoid: Any, softmax: Any, identity: Any,
) -> bool:  # fmt: skip
    """Forward pass on the first ``mb`` examples (columns) of ``x`` (targets ``y``): ``Z[l] =
    W[l]·A[l-1] + b[l]``, ``A[l] = φ(Z[l])``, and the outputs of the head whose flag is not
    ``None`` in the output rows of ``A``: the sigmoid's or the softmax's probabilities, or
    (identity, regression) ŷ = z.

    Each row of ``W[l]·A[l-1]`` is summed over the inputs in order, three per pass, then the
    bias is added: the reference's ``W @ A + b`` (multiply-adds may be fused, as BLAS does).
    Returns whether every logit (regression: every residual ŷ − y) is below ``bound`` in
    magnitude: then the cost is finite (see :func:`train_model`).
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
                _activate(acts[layer], Z, A, r, mb, p[b + i], c, *on)
            elif sigmoid is not None:
                bias = p[b + i]
                for k in range(mb):
                    z = Z[r, k] + bias
                    Z[r, k] = z
                    A[r, k] = one / (one + _exp(-z))
                    small = small and abs(z) < bound
            elif identity is not None:  # ŷ = z; the bound is on the residual ŷ − y
                bias = p[b + i]
                for k in range(mb):
                    z = Z[r, k] + bias
                    Z[r, k] = z
                    A[r, k] = z
                    small = small and abs(z - y[i, k]) < bound
            elif softmax is not None:  # the logits (the probabilities below)
                bias = p[b + i]
                for k in range(mb):
                    Z[r, k] = Z[r, k] + bias
        w = b + nout
        src, src_row = A, row
        row += nout
    if softmax is None:
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


# --- backward and update -------------------------------------------------------------------


@_jit(fastmath={"contract"})
def _backward(
    p: Any, sizes: Any, acts: Any, x: Any, y: Any, Z: Any, A: Any, mb: int, g: Any, D: Any,
    Dn: Any, c: Any, scale: Any, on: Any, l2: Any, l1: Any,
) -> None:  # fmt: skip
    """Gradients into ``g`` (laid out as ``p``), as ``backward_columns``:
    ``dZ[L] = 1/m·(P − Y)``, ``dW = dZ·A[l-1]ᵀ (+ λ/m·W`` unless ``l2`` is ``None)`` ``(+
    λ₁/m·sign(W)`` unless ``l1`` is ``None``; added after the L2 term, as there),
    ``db = Σ_examples dZ``, ``dZ[l-1] = (W[l]ᵀ·dZ) ⊙ φ′(Z[l-1])``. ``scale`` is
    ``[1/m, λ/m, λ₁/m]`` in the dtype."""
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
        if l2 is not None and l2_m != c[C_ZERO]:
            for q in range(w, b):
                g[q] = g[q] + l2_m * p[q]
        if l1 is not None:  # λ₁/m·sign(W) is exact: fusing its multiply-add changes nothing
            l1_m = scale[2]
            for q in range(w, b):
                g[q] = g[q] + l1_m * _sign(p[q], c)
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
            _times_derivative(acts[layer - 1], Dn, j, Z, A, prev_rows + j, mb, c, *on)
        D, Dn = Dn, D
        rows = prev_rows
        w -= nin * (sizes[layer - 1] + 1)


@_jit()
def _step(
    p: Any, g: Any, v: Any, s: Any, nesterov: bool, lr: Any, t: int, c: Any, tmp: Any
) -> None:
    """One update of :mod:`initlab.optim`: gradient descent if the velocity ``v`` is
    ``None``, momentum if Adam's ``s`` is, else Adam (``tmp``: two scratch values in the
    dtype)."""
    if v is None:
        for q in range(p.size):
            p[q] = p[q] - lr * g[q]
    elif s is None:
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


@_jit()
def _bound(n: int, K: int, p: Any, sigmoid: Any, softmax: Any, identity: Any) -> float:
    """The divergence check's bound (see :func:`train_model`): on the logits, 1e300 / n; for
    the identity head, on the residuals, :func:`kernel_math.identity_bound`."""
    if identity is not None:
        return math.sqrt((SQUARES_ROOM_32 if p.itemsize == 4 else SQUARES_ROOM) / (n * K))
    return 1e300 / n


def _entry(sources: str) -> Callable[..., None]:
    """:func:`train_model`, compiled with its cache tied to ``sources``.

    Numba checks a cached function against its own source file only: a change to
    :mod:`~initlab.engine.kernel_math` alone would leave the cached machine code (which has
    the old building blocks compiled in) looking valid. The cache key of a closure also
    covers the values it closes over, so :func:`train_model` closes over a hash of both
    source files (used in a branch that is pruned before compiling, so it costs nothing).
    """

    @_jit(entry=True)
    def train_model(
        p: Any, lr: Any, X: Any, Y: Any, sizes: Any, acts: Any, c: Any, s: Any,
        costs: Any, status: Any, snaps: Any, v: Any, sq: Any, order: Any,
        on: Any, heads: Any, l2: Any, l1: Any,
    ) -> None:  # fmt: skip
        """Train one model in place: ``p`` its parameters, ``lr`` its learning rate.

        The loop is :func:`initlab.train.train`'s: forward, cost, divergence check, record,
        backward, update. ``order`` holds the concatenated per-epoch permutations of a
        mini-batch run (``None``: full batch); ``v`` and ``sq`` the optimizer's state
        (``None`` where it has none), updated in place.

        **Resumable**: the call trains iterations ``t0 … t0 + s[S_ITERATIONS] − 1``, ``t0 =
        s[S_START]``, as the same iterations of one call from 0 would: ``p``, ``v`` and
        ``sq`` are the state after ``t0`` iterations, Adam's step count is the global
        ``it + 1``, and ``order`` starts with the permutation of epoch ``t0 // per_epoch``
        (the epochs this call reaches, concatenated). Every index below is global.

        Outputs: ``costs[r]``, the full-data cost at the ``r``-th multiple of
        ``record_every`` from ``t0`` on; ``status = [iteration reached, diverged]`` (on
        divergence: the iteration whose cost was not finite); ``snaps[q]``, the parameters
        at the ``q``-th multiple of ``checkpoint_every`` from ``t0`` on (before its update)
        and, last, at the end.

        The cost itself is computed only where it is recorded or might not be finite (the
        penalty, the L2 plus the L1 term, aside: checked on its own, as the sum the cost
        adds; below 1e300 it cannot make a finite loss overflow, and a penalty that
        overflowed or is NaN fails the test):

        - cross-entropy: while every logit is below ``1e300 / n`` in magnitude the mean loss
          cannot overflow, so the divergence check needs no ``log``;
        - squared error (the identity head, ``K`` outputs; computed in the dtype, as NumPy
          computes it on the dtype's arrays): while every residual d = ŷ − y (the very
          subtraction the cost makes) has |d| < B = √(R / (n·K)), R = 1e300 in float64 and
          1e37 in float32 (:func:`kernel_math.identity_bound`), each rounded d·d is at most
          B²·(1 + u) (rounding is monotone; u the unit roundoff), so the sum over the
          ``mb ≤ n`` examples and ``K`` outputs is at most R·(1 + u)^N, N < K + 60 the
          roundings on a path of the sequential and pairwise sums: far below the dtype's
          largest number (1.8e308, 3.4e38), finite, and so is half its mean. A NaN or
          infinite residual fails the test. So the cost is computed at every iteration where
          it might not be finite, and a divergence is found at the iteration the reference
          finds it (from this kernel's logits).
        """
        if sources == "":  # never (a hash): see _entry
            return
        L = sizes.size - 1
        n0, K = sizes[0], sizes[L]
        n = X.shape[1]
        units = 0
        width = 0
        for layer in range(1, L + 1):
            units += sizes[layer]
            width = width if width > sizes[layer] else sizes[layer]
        nesterov = s[S_NESTEROV] != 0
        t0, record_every = s[S_START], s[S_RECORD_EVERY]
        end = t0 + s[S_ITERATIONS]
        every, batch = s[S_CHECKPOINT_EVERY], s[S_BATCH]
        per_epoch = 1 if order is None else (n + batch - 1) // batch
        first_record = (t0 + record_every - 1) // record_every  # costs[0]'s multiple
        first_epoch = t0 // per_epoch  # order's first permutation
        lam, lam1 = float(c[C_L2]), float(c[C_L1])
        bound = _bound(n, K, p, *heads)

        # Every work array, allocated once.
        Z = np.empty((units, n), p.dtype)
        A = np.empty((units, n), p.dtype)
        D = np.empty((width, n), p.dtype)
        Dn = np.empty((width, n), p.dtype)
        g = np.empty(p.size, p.dtype)
        xb = np.empty((n0, batch), p.dtype)
        yb = np.empty((K, batch), p.dtype)
        tmp = np.empty((2, n), p.dtype)
        scratch = (  # kernel_math.cost_scratch(n, p.dtype)
            np.empty(n), np.empty(64), np.empty((64, 3), np.int64), np.empty(n, p.dtype),
            np.empty(64, p.dtype),
        )  # fmt: skip
        scale = np.empty(3, p.dtype)
        corrections = np.empty(2, p.dtype)

        diverged = 0
        it = t0
        snap = 0
        while it < end:
            if order is None:
                x, y, mb = X, Y, n
            else:
                start = (it % per_epoch) * batch
                mb = batch if start + batch <= n else n - start
                first = (it // per_epoch - first_epoch) * n + start
                for j in range(n0):
                    for k in range(mb):
                        xb[j, k] = X[j, order[first + k]]
                for r in range(K):
                    for k in range(mb):
                        yb[r, k] = Y[r, order[first + k]]
                x, y = xb, yb
            small = _forward(p, sizes, acts, x, y, Z, A, mb, c, tmp, bound, on, *heads)
            penalty = 0.0
            if l2 is not None:
                penalty = lam / (2 * mb) * _l2_sum(p, sizes)
            if l1 is not None:  # network.penalty: the L2 term + the L1 term
                penalty = penalty + lam1 / mb * _l1_sum(p, sizes)
            recording = it % record_every == 0
            if recording or not small or not penalty < 1e300:
                cost = _loss(Z, y, units - K, mb, scratch, c, *heads) + penalty
                if not math.isfinite(cost):
                    diverged = 1
                    break
                if order is None and recording:
                    costs[it // record_every - first_record] = cost
            if every > 0 and it % every == 0:
                for q in range(p.size):
                    snaps[snap, q] = p[q]
                snap += 1
            scale[0] = 1.0 / mb
            scale[1] = lam / mb
            if l1 is not None:
                scale[2] = lam1 / mb
            _backward(p, sizes, acts, x, y, Z, A, mb, g, D, Dn, c, scale, on, l2, l1)
            if order is not None and recording:  # the full-data cost, before the update
                _forward(p, sizes, acts, X, Y, Z, A, n, c, tmp, bound, on, *heads)
                penalty = 0.0
                if l2 is not None:
                    penalty = lam / (2 * n) * _l2_sum(p, sizes)
                if l1 is not None:
                    penalty = penalty + lam1 / n * _l1_sum(p, sizes)
                cost = _loss(Z, Y, units - K, n, scratch, c, *heads)
                costs[it // record_every - first_record] = cost + penalty
            _step(p, g, v, sq, nesterov, lr, it + 1, c, corrections)
            it += 1
        if every > 0 and not diverged:
            for q in range(p.size):
                snaps[snap, q] = p[q]
        status[0] = it
        status[1] = diverged

    return train_model


train_model = _entry(kernel_math.sources_stamp(__file__, kernel_math.__file__))

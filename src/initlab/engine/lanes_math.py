"""The lanes engine's training loop: everything but the per-example pass, which is generated.

:mod:`initlab.engine.lanes` trains a *block* of ``V`` models of one network at once, one
model per SIMD lane. A block's state is one flat array ``S`` laid out ``[row, lane]`` (lane
innermost, ``S[row·V + lane]``):

- rows ``[0, P)``: the parameters, in the order of the per-model kernel's ``p``
  (:mod:`initlab.engine.kernel`): layer by layer, ``W`` row-major, then ``b``;
- rows ``[P, 2P)``: the gradient, summed over the examples by the generated pass;
- row ``2P`` (``lanes_source.ok_row``): 1 while every logit of the iteration (for the
  identity head: every residual ŷ − y) stayed below the bound ``m[M_BOUND]`` in magnitude,
  else 0 (the cheap divergence check, the per-model kernel's);
- then the current trip's inputs (each example's ``x``, ``y`` (one per output) and
  weight), and the
  generated pass's scratch (values crossing from one of its loops to the next).

The generated pass (:mod:`initlab.engine.lanes_source`: one per network, dtype and lane
count) sums one iteration's gradient over every example into those rows; the functions here
run the iterations around it (the generated module's entry calls them, see below): the cost
and divergence check, snapshots, L2 and L1, the update, and the outputs. All of that is
per-iteration work (the pass is per example), so it is written for clarity, not for SIMD.

The arithmetic is the per-model kernel's, operation for operation (see
:mod:`initlab.engine.kernel`): a lane's recorded cost is computed from the logits the
generated pass wrote for it that iteration (:func:`_lane_loss`), with ``kernel_math._loss`` (NumPy's
pairwise mean); the updates are ``kernel._step``'s. A model stops at the first iteration
whose cost is not finite, with its parameters before that iteration's update, as
:func:`initlab.train.train` does; the other lanes go on. Every lane computes alike: a
model's result does not depend on the block, the lane or the thread it was trained in.

In spread mode (``s[S_SPREAD]``, :func:`initlab.engine.lanes.spreads`) a block holds one
model in every lane, each lane with its share of the examples: :func:`_gather` adds up the
lanes' gradient sums after the pass, and everything after it runs as for a block of models
(lane 0 is the model).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numba
import numba.extending
import numpy as np

from initlab.engine import kernel_math
from initlab.engine.kernel_math import (
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
    _exp,
    _jit,
    _loss,
    _sign,
    cost_scratch,
)


def _align_frame_intrinsic(typingctx: Any) -> Any:
    """Numba intrinsic: a 64-byte-aligned slot on the stack, kept (its address goes to an
    empty ``asm`` statement), so that the function's stack frame is aligned to 64 bytes.

    Why: the generated pass keeps more values than there are vector registers, and LLVM
    spills the rest to the stack with unaligned moves; with the frame only 16-byte aligned
    (where the caller's stack happened to end), a 64-byte spill slot straddles two cache
    lines in 3 processes out of 4, and the pass ran 20-35 % slower in those (measured by
    shifting the stack with the environment's size, address randomization off).
    """
    cgutils: Any = numba.core.cgutils
    ir = cgutils.ir  # llvmlite's

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, ir.ArrayType(ir.DoubleType(), 8))
        slot.align = 64
        keep = ir.FunctionType(ir.VoidType(), [slot.type])
        builder.asm(keep, "", "r", [slot], side_effect=True)
        return context.get_dummy_value()

    return numba.types.none(), codegen


_align_frame = numba.extending.intrinsic(_align_frame_intrinsic)


def _select_intrinsic(typingctx: Any, condition: Any, if_true: Any, if_false: Any) -> Any:
    """Numba intrinsic: ``if_true if condition else if_false`` as one LLVM ``select``."""
    if condition != numba.types.boolean or if_true != if_false:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.select(*args)

    return if_true(condition, if_true, if_false), codegen


_select = numba.extending.intrinsic(_select_intrinsic)

__all__ = [
    "_after_pass", "_align_frame", "_exp", "_finish", "_jit", "_next_iteration", "_select",
    "workspace",
]  # fmt: skip

# Indices into the integer settings array ``s`` (``S_SPREAD``: 1 in spread mode, see
# :func:`_gather`) and the dtype array ``m``.
S_ITERATIONS, S_RECORD_EVERY, S_CHECKPOINT_EVERY, S_NESTEROV, S_SPREAD = range(5)
N_SETTINGS = 5
M_BOUND, M_L2_M, M_L1_M = range(3)
N_NUMBERS = 3


# --- one lane's cost -------------------------------------------------------------------------


@_jit()
def _lane_l2_sum(S: Any, lane: int, V: int, sizes: Any) -> float:
    """Σ_l ‖W[l]‖² of one lane, in float64, summed as :func:`kernel_math._l2_sum` sums."""
    total = 0.0
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        part = 0.0
        for q in range(w, w + nout * nin):
            value = float(S[q * V + lane])
            part += value * value
        total += part
        w += nout * nin + nout
    return total


@_jit()
def _lane_l1_sum(S: Any, lane: int, V: int, sizes: Any) -> float:
    """Σ_l Σ|W[l]| of one lane, in float64, summed as :func:`kernel_math._l1_sum` sums."""
    total = 0.0
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        part = 0.0
        for q in range(w, w + nout * nin):
            part += abs(float(S[q * V + lane]))
        total += part
        w += nout * nin + nout
    return total


@_jit()
def _lane_loss(
    Lg: Any, lane: int, V: int, Y: Any, Z: Any, c: Any, heads: Any, scratch: Any, spread: bool
) -> float:  # fmt: skip
    """The mean loss of one lane's model on all examples (the L2 term aside), from the logits
    the generated pass wrote to ``Lg`` this iteration (see ``lanes_source.pass_source``): copied
    into the rows of ``Z``, example by example, and :func:`kernel_math._loss` on them, for the
    head of the ``heads`` flags (the sigmoid's cross-entropy or the identity's squared
    error). Example ``j`` is slot ``j`` of the lane (one model per lane) or, in spread mode,
    slot ``j // V`` of lane ``j % V``."""
    K, n = Y.shape
    for i in range(K):
        for j in range(n):
            if spread:
                Z[i, j] = Lg[((j // V) * K + i) * V + j % V]
            else:
                Z[i, j] = Lg[(j * K + i) * V + lane]
    return _loss(Z, Y, 0, n, scratch, c, *heads)


# --- the update ------------------------------------------------------------------------------


@_jit(fastmath={"contract"})
def _add_l2(S: Any, P: int, V: int, sizes: Any, l2_m: Any) -> None:
    """``g += λ/m·W`` for the weights (not the biases) of every lane, as ``backward_columns``
    (``P`` parameters: the gradient's first row)."""
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        for q in range(w * V, (w + nout * nin) * V):
            S[P * V + q] = S[P * V + q] + l2_m * S[q]
        w += nout * nin + nout


@_jit()
def _add_l1(S: Any, P: int, V: int, sizes: Any, l1_m: Any, c: Any) -> None:
    """``g += λ₁/m·sign(W)`` for the weights of every lane, after the L2 term, as
    ``backward_columns`` (``np.sign``: 0 at W = 0, NaN propagating)."""
    w = 0
    for layer in range(sizes.size - 1):
        nin, nout = sizes[layer], sizes[layer + 1]
        for q in range(w * V, (w + nout * nin) * V):
            S[P * V + q] = S[P * V + q] + l1_m * _sign(S[q], c)
        w += nout * nin + nout


@_jit()
def _update(
    S: Any, P: int, lr: Any, vel: Any, sq: Any, nesterov: bool, t: int, c: Any, tmp: Any
) -> None:
    """One step of :mod:`initlab.optim` on every lane, lane ``j`` with learning rate
    ``lr[j]``: gradient descent if the velocity ``vel`` is ``None``, momentum if Adam's
    ``sq`` is, else Adam; the formulas of :func:`initlab.engine.kernel._step`, in its order
    (no fused multiply-adds: ``p − lr·g`` as NumPy computes it)."""
    V = lr.size
    G = P * V
    if vel is None:
        for q in range(P):
            for j in range(V):
                i = q * V + j
                S[i] = S[i] - lr[j] * S[G + i]
    elif sq is None:
        beta = c[C_BETA]
        for q in range(P):
            for j in range(V):
                i = q * V + j
                vel[i] = vel[i] * beta
                vel[i] = vel[i] + S[G + i]
                if nesterov:
                    S[i] = S[i] - lr[j] * (S[G + i] + beta * vel[i])
                else:
                    S[i] = S[i] - lr[j] * vel[i]
    else:
        tmp[0] = 1.0 - math.pow(float(c[C_BETA1]), float(t))
        tmp[1] = 1.0 - math.pow(float(c[C_BETA2]), float(t))
        c1, c2 = tmp[0], tmp[1]
        beta1, beta2, omb1, omb2, eps = c[C_BETA1], c[C_BETA2], c[C_1MB1], c[C_1MB2], c[C_EPS]
        for q in range(P):
            for j in range(V):
                i = q * V + j
                g = S[G + i]
                vel[i] = vel[i] * beta1
                vel[i] = vel[i] + omb1 * g
                sq[i] = sq[i] * beta2
                sq[i] = sq[i] + omb2 * g * g
                S[i] = S[i] - lr[j] * (vel[i] / c1) / (math.sqrt(sq[i] / c2) + eps)


@_jit()
def _retire(S: Any, P: int, lane: int, lr: Any, vel: Any, sq: Any, zero: Any) -> None:
    """Take a finished lane out of the arithmetic: parameters, learning rate and optimizer
    state zero, so that it computes finite numbers (an all-zero network) and never moves."""
    V = lr.size
    lr[lane] = zero
    for q in range(P):
        S[q * V + lane] = zero
        if vel is not None:
            vel[q * V + lane] = zero
        if sq is not None:
            sq[q * V + lane] = zero


@_jit()
def _copy_lane(S: Any, V: int, lane: int, out: Any) -> None:
    """``out[q] = S[q·V + lane]`` for the ``out.size`` parameters."""
    for q in range(out.size):
        out[q] = S[q * V + lane]


# --- the training loop -----------------------------------------------------------------------
#
# The generated module's entry runs the loop, calling the generated pass between these (a
# function passed as an argument would keep Numba from caching the entry):
#
#     while _next_iteration(S, lr, s, c, work):
#         _pass(S, XL, c, m)  # see lanes_source
#         _after_pass(S, lr, X, Y, sizes, acts, c, m, s, theta, costs, status, snaps, vel, sq,
#                     on, heads, l2, l1, work)
#     _finish(S, lr, theta, status, snaps, s, work)
#
# Lane ``j`` is model ``j`` of ``theta``; the lanes from ``theta.shape[0]`` on are padding
# (zero, learning rate zero, never reported). ``work`` (:func:`workspace`): the models'
# ``done`` flags, the counters ``[iteration, snapshot, live models]`` and one lane's cost
# arrays. ``on``, ``heads``, ``l2`` and ``l1`` are the per-model kernel's flags
# (:mod:`initlab.engine.kernel`): a run without L1 compiles no L1 code.

IT, SNAP, LIVE = range(3)


def workspace(
    models: int, sizes: Any, n: int, dtype: Any, slots: int, lanes: int
) -> tuple[Any, ...]:  # fmt: skip
    """The loop's state for a block of ``models`` models on ``n`` examples, allocated in
    Python (a few arrays, no compile): the ``done`` flags, the counters, one lane's
    parameters (their count is ``P``), the cost's rows ``Z`` (one per output unit), the
    logits ``Lg`` of ``slots`` example slots in each of ``lanes`` lanes, the cost's scratch
    and the update's."""
    counters = np.zeros(3, np.int64)
    counters[LIVE] = models
    K = int(sizes[-1])
    P = int(sum(nout * (nin + 1) for nin, nout in itertools.pairwise(sizes)))
    return (
        np.zeros(models, np.bool_), counters, np.empty(P, dtype), np.empty((K, n), dtype),
        np.zeros(slots * K * lanes, dtype), cost_scratch(n, dtype), np.empty(2, dtype),
    )  # fmt: skip


@_jit()
def _next_iteration(S: Any, lr: Any, s: Any, c: Any, work: Any) -> bool:
    """Whether to run another iteration (some model is live and iterations remain); if so,
    the gradient rows cleared and every lane's ``ok`` flag set."""
    counters = work[1]
    if counters[IT] >= s[S_ITERATIONS] or counters[LIVE] == 0:
        return False
    V = lr.size
    P = work[2].size
    for q in range(P * V, 2 * P * V):
        S[q] = c[C_ZERO]
    for lane in range(V):
        S[2 * P * V + lane] = c[C_ONE]  # row ok_row(P)
    return True


@_jit()
def _gather(S: Any, P: int, V: int, zero: Any) -> None:
    """Spread mode (``s[S_SPREAD]``: one model, its examples spread over the lanes): each
    gradient row's ``V`` partial sums added up, lane 0 first, lane after lane, and the total
    written back to every lane, so that every lane updates alike and the lanes keep equal
    parameters; lane 0's ``ok`` flag cleared if any lane's was."""
    for q in range(P, 2 * P):
        total = S[q * V]
        for v in range(1, V):
            total += S[q * V + v]
        for v in range(V):
            S[q * V + v] = total
    for v in range(1, V):
        if S[2 * P * V + v] == zero:
            S[2 * P * V] = zero


def _after_pass_cached(sources: str) -> Callable[..., None]:
    """:func:`_after_pass`, cached on disk with its cache tied to ``sources`` (a hash of this
    module's and :mod:`initlab.engine.kernel_math`'s files), as
    :func:`initlab.engine.kernel._entry` ties the kernel's: it is the same function for every
    network, so the generated module of a second network links it from the cache instead of
    compiling it again (about 1.6 s of its compile)."""

    @_jit(cache=True)
    def _after_pass(
        S: Any, lr: Any, X: Any, Y: Any, sizes: Any, acts: Any, c: Any, m: Any, s: Any,
        theta: Any, costs: Any, status: Any, snaps: Any, vel: Any, sq: Any, on: Any, heads: Any,
        l2: Any, l1: Any, work: Any,
    ) -> None:  # fmt: skip
        """The rest of an iteration once the generated pass has summed the gradients: per live
        model, the cost where it is recorded (``it % record_every == 0``) or might not be finite
        (``ok`` flag cleared, or the penalty, L2 + L1 terms, not below 1e300); a model whose cost
        is not finite stops (its parameters, before this iteration's update, to ``theta``;
        ``status`` ``[it, 1]``; its lane retired); then snapshots, L2, L1 and the update of
        every lane."""
        if sources == "":  # never (a hash): ties the disk cache to the sources
            return
        done, counters, _, Z, Lg, scratch, corrections = work
        V = lr.size
        models, P = theta.shape
        if s[S_SPREAD] != 0:
            _gather(S, P, V, c[C_ZERO])
        n = X.shape[1]
        it, record_every, every = counters[IT], s[S_RECORD_EVERY], s[S_CHECKPOINT_EVERY]
        lam, lam1 = float(c[C_L2]), float(c[C_L1])
        zero = c[C_ZERO]
        recording = it % record_every == 0
        for lane in range(models):
            if done[lane]:
                continue
            penalty = 0.0
            if l2 is not None:
                penalty = lam / (2 * n) * _lane_l2_sum(S, lane, V, sizes)
            if l1 is not None:
                penalty = penalty + lam1 / n * _lane_l1_sum(S, lane, V, sizes)
            if recording or S[2 * P * V + lane] == zero or not penalty < 1e300:
                cost = _lane_loss(Lg, lane, V, Y, Z, c, heads, scratch, s[S_SPREAD] != 0)
                cost += penalty
                if not math.isfinite(cost):
                    _copy_lane(S, V, lane, theta[lane])
                    status[lane, 0] = it
                    status[lane, 1] = 1
                    done[lane] = True
                    counters[LIVE] -= 1
                    _retire(S, P, lane, lr, vel, sq, zero)
                    continue
                if recording:
                    costs[lane, it // record_every] = cost
        if counters[LIVE] == 0:
            return
        if every > 0 and it % every == 0:
            for lane in range(models):
                if not done[lane]:
                    _copy_lane(S, V, lane, snaps[lane, counters[SNAP]])
            counters[SNAP] += 1
        if l2 is not None:
            _add_l2(S, P, V, sizes, m[M_L2_M])
        if l1 is not None:
            _add_l1(S, P, V, sizes, m[M_L1_M], c)
        _update(S, P, lr, vel, sq, s[S_NESTEROV] != 0, it + 1, c, corrections)
        counters[IT] += 1

    return _after_pass


_after_pass = _after_pass_cached(kernel_math.sources_stamp(__file__, kernel_math.__file__))


@_jit()
def _finish(S: Any, lr: Any, theta: Any, status: Any, snaps: Any, s: Any, work: Any) -> None:
    """The live models' parameters to ``theta`` (and a last snapshot), ``status``
    ``[iterations, 0]``."""
    done, counters = work[0], work[1]
    V = lr.size
    for lane in range(theta.shape[0]):
        if not done[lane]:
            _copy_lane(S, V, lane, theta[lane])
            status[lane, 0] = counters[IT]
            status[lane, 1] = 0
            if s[S_CHECKPOINT_EVERY] > 0:
                _copy_lane(S, V, lane, snaps[lane, counters[SNAP]])

"""The lanes engine's blocks on the Python side: their arrays, their inputs and their chunks.

:mod:`initlab.engine.lanes` decides what the lanes engine trains and compiles it; this module
lays out a block's state and arguments (:class:`_Blocks`, see
:mod:`initlab.engine.lanes_math` for the layout), writes the inputs each trip of the
generated pass reads, one example per lane (:func:`lane_inputs`) or a model's examples
spread over the lanes (:func:`spread_inputs`), and trains blocks chunk by chunk
(:func:`train_in_chunks`). It imports NumPy only; Numba is imported by the functions that
need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab.engine import compiled
from initlab.engine.compiled import Schedule
from initlab.engine.lanes_source import ok_row
from initlab.network import MLP
from initlab.progress import ProgressHook

__all__ = ["ALIGNMENT", "aligned_zeros", "lane_inputs", "spread_inputs", "train_in_chunks"]


ALIGNMENT = 64
"""Bytes: a block's state starts on a cache line, so that each row (one 512-bit vector) is
one cache line. Unaligned, every vector load and store of a row straddles two lines: the
engine ran 20-30 % slower in processes whose NumPy allocation happened to be unaligned."""


def aligned_zeros(size: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """A zeroed 1-D array whose data starts at a multiple of :data:`ALIGNMENT` bytes."""
    extra = ALIGNMENT // dtype.itemsize
    buffer = np.zeros(size + extra, dtype)
    start = (-buffer.ctypes.data % ALIGNMENT) // dtype.itemsize
    return buffer[start : start + size]


def lane_inputs(X: NDArray[Any], Y: NDArray[Any], lanes: int, examples: int) -> NDArray[Any]:
    """What the lanes read, trip by trip: row ``k`` holds trip ``k``'s ``examples``
    examples, each ``[x_0 … x_{n0−1}, y_0 … y_{K−1}, w]`` (``K`` rows of targets ``Y``)
    with ``w = 1/m``, for each of the ``lanes`` lanes (the same numbers: every lane reads
    every example, in order). Where the examples do not fill the last trip, it repeats the
    last one with ``w = 0`` (it adds exact zeros).
    """
    n0, n = X.shape
    K = Y.shape[0]
    trips = -(-n // examples)
    index = np.minimum(np.arange(trips * examples), n - 1).reshape(trips, examples)
    XL = aligned_zeros(trips * examples * (n0 + K + 1) * lanes, X.dtype)
    XL = XL.reshape(trips, examples, n0 + K + 1, lanes)
    XL[:, :, :n0, :] = np.moveaxis(X[:, index], 0, 2)[..., None]
    XL[:, :, n0 : n0 + K, :] = np.moveaxis(Y[:, index], 0, 2)[..., None]
    XL[:, :, n0 + K, :] = np.where(np.arange(trips * examples) < n, 1.0 / n, 0.0).reshape(
        trips, examples, 1
    )
    return XL.reshape(trips, -1)


def spread_inputs(X: NDArray[Any], Y: NDArray[Any], lanes: int, examples: int) -> NDArray[Any]:
    """:func:`lane_inputs` for spread mode (:func:`spreads`): lane ``v`` of trip ``k`` reads
    example ``(k·E + e)·V + v`` in slot ``e`` (``E`` = ``examples``, ``V`` = ``lanes``), so
    the lanes share the examples; slots past the last example repeat it with ``w = 0``."""
    n0, n = X.shape
    K = Y.shape[0]
    trips = -(-n // (examples * lanes))
    slots = np.arange(trips * examples * lanes)
    index = np.minimum(slots, n - 1)
    XL = aligned_zeros(trips * examples * (n0 + K + 1) * lanes, X.dtype)
    XL = XL.reshape(trips, examples, n0 + K + 1, lanes)
    XL[:, :, :n0, :] = X[:, index].reshape(n0, trips, examples, lanes).transpose(1, 2, 0, 3)
    XL[:, :, n0 : n0 + K, :] = Y[:, index].reshape(K, trips, examples, lanes).transpose(1, 2, 0, 3)
    XL[:, :, n0 + K, :] = np.where(slots < n, 1.0 / n, 0.0).reshape(trips, examples, lanes)
    return XL.reshape(trips, -1)


@dataclass(frozen=True)
class _Blocks:
    """The arguments every block's kernel call shares (see ``lanes_math``)."""

    lanes: int
    rows: int
    X: NDArray[Any]
    Y: NDArray[Any]
    sizes: NDArray[np.int64]
    acts: NDArray[np.int64]
    c: NDArray[Any]
    m: NDArray[Any]
    s: NDArray[np.int64]
    on: tuple[bool | None, ...]
    heads: tuple[bool | None, bool | None, bool | None]
    l2: bool | None
    velocity: bool
    adam: bool
    l1: bool | None = None
    spread: bool = False
    """Spread mode (:func:`spreads`): one model per block, in every lane."""

    def arguments(
        self, theta: NDArray[Any], rates: NDArray[Any], outputs: tuple[NDArray[Any], ...],
        XL: NDArray[Any],
    ) -> tuple[Any, ...]:  # fmt: skip
        """The kernel's arguments for one block: the models ``theta`` (rows; trained in
        place) with their learning rates and output rows, one per lane, the rest of the
        lanes padding (zero, learning rate zero); in spread mode, the one model of ``theta``
        in every lane. The settings ``s`` are the block's own copy."""
        from initlab.engine.lanes_math import workspace

        models, P = theta.shape
        V, dtype = self.lanes, theta.dtype
        assert (ok_row(P) + 1) * V + XL.shape[1] <= self.rows * V, "inputs past the scratch"
        S = aligned_zeros(self.rows * V, dtype)
        lr = np.zeros(V, dtype)
        if self.spread:
            S[: P * V].reshape(P, V)[:] = theta.T
            lr[:] = rates
        else:
            S[: P * V].reshape(P, V)[:, :models] = theta.T
            lr[:models] = rates
        vel = aligned_zeros(P * V, dtype) if self.velocity else None
        sq = aligned_zeros(P * V, dtype) if self.adam else None
        K = self.Y.shape[0]
        slots = XL.shape[0] * XL.shape[1] // ((self.X.shape[0] + K + 1) * V)
        work = workspace(models, self.sizes.tolist(), self.X.shape[1], dtype, slots, V)
        return (
            S, lr, self.X, self.Y, XL, self.sizes, self.acts, self.c, self.m, self.s.copy(),
            theta, *outputs, vel, sq, self.on, self.heads, self.l2, self.l1, work,
        )  # fmt: skip


def _blocks(
    mlp: MLP, X: NDArray[Any], Y: NDArray[Any], schedule: Schedule, lanes: int, rows: int,
    spread: bool = False,
) -> _Blocks:  # fmt: skip
    from initlab.engine import kernel_math
    from initlab.engine import lanes_math as lm

    dtype, n, optimizer = X.dtype, X.shape[1], schedule.optimizer
    c = np.array(compiled._constants(optimizer, schedule.l2, schedule.l1), dtype)
    with np.errstate(over="ignore"):  # float32: the bound is the largest float32
        bound = min(1e300 / n, float(np.finfo(dtype).max))
    if mlp.is_regression:  # on the residuals, as the per-model kernel's
        bound = kernel_math.identity_bound(n, Y.shape[0], dtype)
    m = np.zeros(lm.N_NUMBERS, dtype)
    m[[lm.M_BOUND, lm.M_L2_M, lm.M_L1_M]] = [
        bound, float(c[kernel_math.C_L2]) / n, float(c[kernel_math.C_L1]) / n,
    ]  # fmt: skip
    s = np.zeros(lm.N_SETTINGS, np.int64)
    s[lm.S_ITERATIONS], s[lm.S_RECORD_EVERY] = schedule.iterations, schedule.record_every
    s[lm.S_CHECKPOINT_EVERY] = schedule.checkpoint_every
    s[lm.S_NESTEROV] = int(getattr(optimizer, "nesterov", False))
    s[lm.S_SPREAD] = int(spread)
    hidden = list(mlp.hidden_activations)
    return _Blocks(
        lanes=lanes,
        rows=rows,
        X=X,
        Y=Y,
        sizes=np.array(mlp.layer_sizes, np.int64),
        acts=np.array([kernel_math.ACTIVATION_CODES[a] for a in hidden], np.int64),
        c=c,
        m=m,
        s=s,
        on=kernel_math.activation_flags(hidden),
        heads=kernel_math.head_flags(mlp.output),
        l2=True if c[kernel_math.C_L2] != 0 else None,
        velocity=optimizer.name in ("momentum", "adam"),
        adam=optimizer.name == "adam",
        l1=True if c[kernel_math.C_L1] != 0 else None,
        spread=spread,
    )


_SETTINGS, _SNAPS, _WORK = 9, 13, -1
"""Where a block's call (``_Blocks.arguments``) has its settings, snapshots and workspace."""


def train_in_chunks(
    entry: Any, calls: Sequence[Callable[[], tuple[Any, ...]]], blocks: list[slice], models: int,
    iterations: int, every: int, threads: int, progress: ProgressHook | None, balance: bool,
) -> None:  # fmt: skip
    """Train each block in chunks (:func:`initlab.progress.next_chunk`) on ``threads``
    threads (:func:`initlab.progress.share_threads`): a chunk runs the block's loop up to the
    iteration in its settings' ``S_ITERATIONS``, and the next goes on from the state the
    block keeps (``S``, optimizer state, counters), made by ``calls[b]()`` at its first
    chunk and let go at its last; ``progress`` hears each model's iterations (a model that
    diverged: all of them).

    ``balance``: the threads take the block with the most iterations left, so that blocks
    that do not divide evenly among them end together. Otherwise each thread keeps to the
    first blocks not done, so that only about one block per thread holds its state at a
    time (a sweep's many blocks, with a progress hook)."""
    from initlab.engine.lanes_math import LIVE, S_ITERATIONS, SNAP
    from initlab.progress import Reporter
    from initlab.progress import train_in_chunks as chunked

    reporter = Reporter(progress, models, iterations) if progress is not None else None
    state: list[tuple[Any, ...] | None] = [None] * len(blocks)
    done = [0] * models

    def train_chunk(b: int, t: int, t1: int) -> bool:
        call = state[b] or calls[b]()
        state[b] = call
        settings, snaps, (stopped, counters) = call[_SETTINGS], call[_SNAPS], call[_WORK][:2]
        settings[S_ITERATIONS] = t1
        entry(*call)
        lo = blocks[b].start
        ended = counters[LIVE] == 0 or t1 == iterations
        for lane in range(blocks[b].stop - lo):
            done[lo + lane] = iterations if ended or stopped[lane] else t1
        if ended:
            state[b] = None
        elif every:  # the chunk's closing snapshot: the next chunk writes that row, if due
            snaps[:, counters[SNAP]] = 0
        return bool(ended)

    poll = (lambda: reporter.update(done)) if reporter is not None else (lambda: None)
    chunked(train_chunk, len(blocks), 0, iterations, threads, poll,
            reporting=reporter is not None, balance=balance)  # fmt: skip
    if reporter is not None:
        reporter.finish()

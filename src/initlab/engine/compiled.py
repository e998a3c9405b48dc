"""The compiled engine's Python side: the kernel's arrays, its compilation and its threads.

:func:`train_compiled` lays out one batch for :func:`initlab.engine.kernel.train_model`,
compiles the kernel for what the batch uses (see :mod:`initlab.engine.kernel`) unless that is
cached on disk, then trains the models on ``NUMBA_NUM_THREADS`` threads.
:func:`is_compiled` says, cheaply, whether a run will have to compile, and
:func:`compile_notices` lets a caller hear when a compilation starts and ends: the library
itself prints nothing. This module imports NumPy only; Numba is imported when a function
here needs it. A command line announces a compilation so::

    def announce(notice: CompileNotice) -> None:
        if notice.stage == "start":
            print(f"Compiling the fast engine, once per machine (about {notice.seconds:.0f} s)")

    with compile_notices(announce):
        results = train_batch(mlp, inits, X, y)
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from initlab import activations
from initlab.network import MLP

__all__ = ["COMPILE_SECONDS", "CompileNotice", "compile_notices", "is_compiled"]

COMPILE_SECONDS = 3.5
"""About how long compiling the kernel for one network and training takes: 3.3–3.6 s
measured on a shared 2-core machine for the notebook's network (5.5 s before the kernel was
compiled for what a run uses; ``benchmarks/bench_compile.py``). Each further hidden
activation, the softmax head, Adam or mini-batches add a little."""


@dataclass(frozen=True)
class CompileNotice:
    """A compilation of the compiled engine starting or ending.

    stage
        ``"start"`` (``seconds``: about how long it will take, :data:`COMPILE_SECONDS`) or
        ``"end"`` (``seconds``: how long it took).
    what
        What is compiled, in words: ``"relu hidden layers, sigmoid head, gd, float64"``.
    """

    stage: Literal["start", "end"]
    what: str
    seconds: float


_listeners: contextvars.ContextVar[tuple[Callable[[CompileNotice], None], ...]] = (
    contextvars.ContextVar("initlab_compile_listeners", default=())
)


@contextlib.contextmanager
def compile_notices(callback: Callable[[CompileNotice], None]) -> Iterator[None]:
    """Call ``callback`` with a :class:`CompileNotice` when a compilation of the compiled
    engine starts and when it ends, within this block (in this thread or task). The
    compilation runs in the thread that called :func:`~initlab.engine.train_batch`, before
    training starts; loading a compiled kernel from the disk cache sends no notice."""
    token = _listeners.set((*_listeners.get(), callback))
    try:
        yield
    finally:
        _listeners.reset(token)


def _notify(notice: CompileNotice) -> None:
    for callback in _listeners.get():
        callback(notice)


def threads() -> int:
    """Threads to train models on: ``NUMBA_NUM_THREADS`` (default: the usable CPUs)."""
    import numba

    return int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))


# --- the kernel's arguments ----------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """The kernel's arguments for every model of a batch, but the per-model ones."""

    sizes: NDArray[np.int64]
    acts: NDArray[np.int64]
    constants: NDArray[Any]
    settings: NDArray[np.int64]
    X: NDArray[Any]
    Y: NDArray[Any]
    order: NDArray[np.int64] | None
    on: tuple[bool | None, ...]
    heads: tuple[bool | None, bool | None, bool | None]
    """``(sigmoid, softmax, identity)``: ``True`` for the network's head, ``None`` for the
    others (``kernel_math.head_flags``; the kernel compiles the branches of that head only)."""
    l2: bool | None
    velocity: bool
    adam: bool
    velocities: NDArray[Any] | None = None
    """The models' optimizer state (rows), as :class:`Schedule` has it."""
    squares: NDArray[Any] | None = None
    l1: bool | None = None
    """``True`` for a run with L1, else ``None``: the kernel compiles the L1 term only then."""

    def arguments(
        self,
        p: NDArray[Any],
        lr: Any,
        costs: Any,
        status: Any,
        snaps: Any,
        k: int = 0,
        chunk: tuple[int, int] | None = None,
    ) -> tuple[Any, ...]:
        """The kernel's arguments for model ``k``: its parameters ``p`` (trained in place),
        learning rate and output rows, and its optimizer state: row ``k`` of the schedule's
        (updated in place), else fresh zeros (or ``None`` where the optimizer has none).

        ``chunk=(t0, t1)``: the arguments of iterations ``t0 … t1 − 1`` only, of the run
        that starts at the settings' start ``s`` (the kernel resumes at ``t0``, see
        :func:`~initlab.engine.kernel.train_model`): the settings with that start and
        count; the cost and snapshot rows from the first multiple of their spacing at or
        after ``t0`` (``⌈t0/r⌉ − ⌈s/r⌉`` rows on); ``order`` from the permutation of epoch
        ``t0 // per_epoch``. The optimizer state must then be the batch's (kept between
        chunks), not fresh zeros."""
        dtype = self.constants.dtype
        v = sq = None
        if self.velocity:
            v = self.velocities[k] if self.velocities is not None else np.zeros(p.size, dtype)
        if self.adam:
            sq = self.squares[k] if self.squares is not None else np.zeros(p.size, dtype)
        settings, order = self.settings, self.order
        if chunk is not None:
            from initlab.engine import kernel

            t0, t1 = chunk
            start = int(settings[kernel.S_START])
            settings = settings.copy()
            settings[kernel.S_START], settings[kernel.S_ITERATIONS] = t0, t1 - t0
            costs = costs[_multiples(start, t0, int(settings[kernel.S_RECORD_EVERY])) :]
            every = int(settings[kernel.S_CHECKPOINT_EVERY])
            if every:
                snaps = snaps[_multiples(start, t0, every) :]
            if order is not None:
                n = self.X.shape[1]
                per_epoch = -(-n // int(settings[kernel.S_BATCH]))
                order = order[(t0 // per_epoch - start // per_epoch) * n :]
        return (
            p, lr, self.X, self.Y, self.sizes, self.acts, self.constants, settings,
            costs, status, snaps, v, sq, order, self.on, self.heads, self.l2, self.l1,
        )  # fmt: skip


@dataclass(frozen=True)
class Schedule:
    """How the kernel trains: the optimizer, L2 and L1 (``l1``, last: 0 for none), the
    iteration counts and, for mini-batch runs, the batch size and the concatenated epoch
    permutations (``order``).

    A run resumes at iteration ``start`` (default 0: a fresh run): the models' parameters
    are then those after ``start`` iterations, ``velocity`` and ``squares`` their optimizer
    state (momentum's velocity or Adam's first moments, Adam's second moments: one row per
    model, C-contiguous, in the dtype, updated in place; ``None``: fresh zeros), and
    ``order`` starts with the permutation of epoch ``start // per_epoch``. Records and
    snapshots are taken at the multiples of their spacing in ``[start, start +
    iterations)``, as one run from 0 takes them."""

    optimizer: Any
    l2: float
    iterations: int
    record_every: int
    checkpoint_every: int
    """0: no snapshots."""
    batch_size: int | None = None
    order: NDArray[np.int64] | None = None
    start: int = 0
    velocity: NDArray[Any] | None = None
    squares: NDArray[Any] | None = None
    l1: float = 0.0

    @property
    def records(self) -> int:
        """How many costs the kernel records: multiples of ``record_every`` in the range."""
        return _multiples(self.start, self.start + self.iterations, self.record_every)

    @property
    def snapshots(self) -> int:
        """How many snapshots the kernel can take: one per multiple of ``checkpoint_every``
        in the range, and one at the end (0 without checkpoints)."""
        if not self.checkpoint_every:
            return 0
        return _multiples(self.start, self.start + self.iterations, self.checkpoint_every) + 1


def _multiples(start: int, end: int, every: int) -> int:
    """How many multiples of ``every`` lie in ``[start, end)``: ⌈end/every⌉ − ⌈start/every⌉."""
    return max(0, -(-end // every) + (start // -every))


def _batch(mlp: MLP, X: NDArray[Any], Y: NDArray[Any], schedule: Schedule) -> _Batch:
    """The batch's arguments; ``X`` and ``Y`` are the kernel's, in the run's dtype."""
    from initlab.engine import kernel, kernel_math

    optimizer, l2, order = schedule.optimizer, schedule.l2, schedule.order
    iterations, record_every = schedule.iterations, schedule.record_every
    checkpoint_every, batch_size = schedule.checkpoint_every, schedule.batch_size
    dtype = X.dtype
    constants = np.array(_constants(optimizer, l2, schedule.l1), dtype=dtype)
    settings = np.zeros(kernel.N_SETTINGS, dtype=np.int64)
    settings[kernel.S_ITERATIONS] = iterations
    settings[kernel.S_RECORD_EVERY] = record_every
    settings[kernel.S_CHECKPOINT_EVERY] = checkpoint_every
    settings[kernel.S_BATCH] = batch_size or 0
    settings[kernel.S_NESTEROV] = int(getattr(optimizer, "nesterov", False))
    settings[kernel.S_START] = schedule.start
    codes = kernel_math.ACTIVATION_CODES
    return _Batch(
        sizes=np.array(mlp.layer_sizes, dtype=np.int64),
        acts=np.array([codes[a] for a in mlp.hidden_activations], np.int64),
        constants=constants,
        settings=settings,
        X=X,
        Y=Y,
        order=order,
        on=kernel_math.activation_flags(list(mlp.hidden_activations)),
        heads=kernel_math.head_flags(mlp.output),
        l2=True if constants[kernel_math.C_L2] != 0 else None,
        velocity=optimizer.name in ("momentum", "adam"),
        adam=optimizer.name == "adam",
        velocities=schedule.velocity,
        squares=schedule.squares,
        l1=True if constants[kernel_math.C_L1] != 0 else None,
    )


def _constants(optimizer: Any, l2: float, l1: float = 0.0) -> list[float]:
    """The kernel's constants array (see ``kernel_math.C_*``), in the order of its indices."""
    beta1 = getattr(optimizer, "beta1", 0.0)
    beta2 = getattr(optimizer, "beta2", 0.0)
    return [
        0.0,
        1.0,
        0.5,
        activations.LEAKY_RELU_SLOPE,
        activations.SELU_SCALE,
        activations.SELU_ALPHA,
        activations.SELU_SCALE * activations.SELU_ALPHA,
        math.sqrt(2.0),
        math.sqrt(2.0 * math.pi),
        l2,
        getattr(optimizer, "beta", 0.0),
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        getattr(optimizer, "eps", 0.0),
        l1,
    ]


def _describe(mlp: MLP, optimizer: Any, batch: _Batch) -> str:
    hidden = sorted(set(mlp.hidden_activations))
    parts = [f"{'/'.join(hidden)} hidden layers"] if hidden else []
    parts.append(f"{mlp.output} head")
    parts.append(optimizer.name + regularisation(bool(batch.l2), bool(batch.l1)))
    if batch.order is not None:
        parts.append("mini-batches")
    return ", ".join([*parts, batch.X.dtype.name])


def regularisation(l2: bool, l1: bool) -> str:
    """``" with L2"``, ``" with L1"``, ``" with L2 and L1"`` or ``""``, for a notice."""
    terms = [name for name, used in (("L2", l2), ("L1", l1)) if used]
    return f" with {' and '.join(terms)}" if terms else ""


def _signature(arguments: tuple[Any, ...]) -> tuple[Any, ...]:
    """The Numba types of ``arguments``: what the kernel is compiled and cached for."""
    import numba

    typeof = cast(Callable[[Any], Any], numba.typeof)
    return tuple(typeof(argument) for argument in arguments)


# --- compiling -------------------------------------------------------------------------------


def _on_disk(entry: Any, signature: Any) -> bool:
    """Whether Numba's disk cache holds ``entry`` compiled for ``signature`` on this machine
    (its index, read without loading anything). Reads Numba internals that have been stable
    for years; if they change, the answer is ``False`` (a compilation may then be announced
    that turns out to be a load)."""
    try:
        cache = entry._cache
        key = cache._index_key(signature, entry.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # an unknown Numba layout: assume a compile
        return False


def is_compiled(
    mlp: MLP, *, optimizer: Any, l2: float, minibatch: bool, dtype: np.dtype[Any],
    l1: float = 0.0,
) -> bool:  # fmt: skip
    """Whether the kernel for this network and training is compiled already, in this
    process or in the disk cache (see :func:`initlab.engine.needs_compile`)."""
    from initlab.engine import kernel

    X = np.zeros((mlp.n_features, 1), dtype)
    Y = np.zeros((mlp.layer_sizes[-1], 1), dtype)
    order = np.zeros(1, np.int64) if minibatch else None
    schedule = Schedule(optimizer, l2, 1, 1, 0, 1 if minibatch else None, order, l1=l1)
    batch = _batch(mlp, X, Y, schedule)
    p = np.zeros(1, dtype)
    arguments = batch.arguments(
        p, p[0], np.zeros(1), np.zeros(2, np.int64), np.zeros((1, 1), dtype)
    )
    signature = _signature(arguments)
    entry: Any = kernel.train_model
    return signature in entry.overloads or _on_disk(entry, signature)


def _compile(entry: Any, signature: Any, what: str, seconds: float = COMPILE_SECONDS) -> None:
    """Compile (or load from the disk cache) ``entry`` for ``signature`` in this thread,
    with notices around a compilation (``seconds``: about how long it takes)."""
    if signature in entry.overloads:
        return
    if _on_disk(entry, signature):
        entry.compile(signature)
        return
    _notify(CompileNotice("start", what, seconds))
    start = time.perf_counter()
    entry.compile(signature)
    _notify(CompileNotice("end", what, time.perf_counter() - start))


# --- training --------------------------------------------------------------------------------


def train_compiled(
    mlp: MLP,
    theta: NDArray[Any],
    learning_rates: Sequence[float],
    X: NDArray[Any],
    Y: NDArray[Any],
    schedule: Schedule,
    progress: Callable[[Sequence[int], int], None] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[Any]]:
    """Train the models whose flat parameters are the rows of ``theta``, in place.

    ``X`` and ``Y`` are feature-major, C-contiguous, in the dtype of ``theta``; ``order``
    the concatenated epoch permutations of a mini-batch run (``None`` for full batch);
    ``checkpoint_every=0`` takes no snapshots; a schedule with a ``start`` resumes there (see
    :class:`Schedule`). Returns the kernel's outputs, one row per model: the recorded costs,
    ``[iteration reached, diverged]`` and the snapshots. (:func:`initlab.engine.train_batch`
    hands a batch of many models that :func:`initlab.engine.lanes.covers` to
    :func:`initlab.engine.lanes.train_lanes` instead, with the same contract.)

    ``progress``: a :data:`~initlab.progress.ProgressHook`, told the iterations each model
    has done (of ``schedule.iterations``). Each model is then trained in chunks of about
    :data:`~initlab.progress.CHUNK_SECONDS` (:func:`~initlab.progress.next_chunk`), each
    kernel call resuming where the last stopped, with the same outputs to the bit as one
    call; the threads only count, and this thread calls the hook. Without it each model is
    trained in one call.
    """
    from initlab.engine import kernel

    M, P = theta.shape
    batch = _batch(mlp, X, Y, schedule)
    lrs = np.array(learning_rates, dtype=theta.dtype)
    costs = np.full((M, schedule.records), np.nan)
    status = np.zeros((M, 2), dtype=np.int64)
    snaps = np.zeros((M, schedule.snapshots, P), dtype=theta.dtype)

    entry: Any = kernel.train_model
    signature = _signature(batch.arguments(theta[0], lrs[0], costs[0], status[0], snaps[0]))
    _compile(entry, signature, _describe(mlp, schedule.optimizer, batch))

    def train_one(k: int) -> None:
        entry(*batch.arguments(theta[k], lrs[k], costs[k], status[k], snaps[k], k))

    count = min(M, threads())
    # Runs that do not divide evenly among the threads (the notebook's 3 on 2 cores) share
    # them chunk by chunk, so they end together: 1.5 rounds of work instead of 2.
    balance = progress is None and count > 1 and M % count != 0 and 4 * count > M
    if progress is not None or balance:
        import dataclasses

        from initlab.progress import Reporter, train_in_chunks

        reporter = Reporter(progress, M, schedule.iterations) if progress is not None else None
        if batch.velocity and batch.velocities is None:  # each model's state, kept by chunks
            zeros = np.zeros((M, P), theta.dtype)
            squares = np.zeros((M, P), theta.dtype) if batch.adam else None
            batch = dataclasses.replace(batch, velocities=zeros, squares=squares)
        start, every = schedule.start, schedule.checkpoint_every
        end = start + schedule.iterations
        done = [0] * M  # iterations done by model k: written by the thread training it only

        def train_chunk(k: int, t: int, t1: int) -> bool:
            entry(*batch.arguments(theta[k], lrs[k], costs[k], status[k], snaps[k], k, (t, t1)))
            if status[k, 1] or t1 == end:  # diverged, or done
                done[k] = end - start
                return True
            if every:  # the chunk's closing snapshot: the next chunk takes that row, if due
                snaps[k, _multiples(start, t1, every)] = 0
            done[k] = t1 - start
            return False

        poll = (lambda: reporter.update(done)) if reporter is not None else (lambda: None)
        train_in_chunks(train_chunk, M, start, end, count, poll, reporting=reporter is not None)
        if reporter is not None:
            reporter.finish()
    elif count == 1:
        for k in range(M):
            train_one(k)
    else:
        with ThreadPoolExecutor(count, thread_name_prefix="initlab-engine") as pool:
            list(pool.map(train_one, range(M)))
    return costs, status, snaps

"""The lanes engine: many models of one network trained at once, one model per SIMD lane.

The per-model kernel (:mod:`initlab.engine.kernel`) vectorizes along the examples; for a
batch of many models of one small network (a sweep: hundreds of initializations of the
notebook's [2, 10, 5, 1] network), this engine vectorizes along the *models* instead. A
*block* of ``V`` models (8 in float64, 16 in float32: one 512-bit vector) is trained
together: its parameters, gradient sums and scratch live in one flat array laid out
``[row, lane]`` (lane innermost; see :mod:`initlab.engine.lanes_math`), and every example's
forward and backward pass is written as scalar code, one statement per weight, inside a loop
over the ``V`` lanes that LLVM turns into vector instructions (``vfmadd…pd zmm``): the
activations, deltas and masks of an example stay in registers, and no value ever crosses
lanes. Blocks run on ``NUMBA_NUM_THREADS`` threads, as models do in the per-model kernel.
Every lane computes alike, so a model's result does not depend on the block, lane or thread
it is trained in, nor on how a sweep was cut into batches (see :func:`for_every_batch`).

**Generated per network.** That scalar code is written for the network's layer sizes and
activations (:mod:`initlab.engine.lanes_source`, which says why loops would not do). The
module is written once into a cache directory (beside Numba's cache:
``NUMBA_CACHE_DIR/initlab_lanes`` if that is set, else ``~/.cache/initlab/lanes``), named by
the hash of its text, and imported from there, so that Numba caches its machine code on disk
as for any module: the first run of a network, dtype and training variant on a machine
compiles (about 7 s for the notebook's network on 2 cores, announced through
:func:`~initlab.engine.compile_notices`), later processes load it. The text includes a hash
of the engine's sources, so a change to them writes a new file. ELU, SELU, GELU and tanh
call the C library (``expm1``, ``erf``, ``tanh``), which does not vectorize: their layers are
computed in a loop of their own between vector loops (the values crossing go through the
block's scratch rows), at about the per-model kernel's speed.

**Covered** (:func:`covers`): full-batch training with the sigmoid head (two classes) or the
identity head (regression, any number of outputs), every built-in hidden activation,
gradient descent, momentum (Nesterov too) and Adam, L2, L1, per-model learning rates,
float64 and float32, snapshots; batches of at least
:data:`MIN_MODELS` models (any within :func:`for_every_batch`: sweeps) of at most
:data:`MAX_PARAMETERS` parameters, from iteration 0.
Otherwise the per-model kernel trains the batch. The arithmetic is the per-model kernel's
(same formulas, order and NaN behaviour; see :mod:`initlab.engine.kernel`), but for the
order of the sums over examples: here each weight's gradient is summed example after
example.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab.engine import compiled, lanes_source
from initlab.engine.compiled import Schedule
from initlab.engine.lanes_source import module_source, n_params, ok_row
from initlab.network import MLP

__all__ = ["LANES", "MAX_PARAMETERS", "MIN_MODELS", "covers", "for_every_batch", "train_lanes"]

LANES = {np.dtype(np.float64): 8, np.dtype(np.float32): 16}
"""Models per block: one 512-bit vector of each dtype."""

EXAMPLES_PER_STEP = {np.dtype(np.float64): 3, np.dtype(np.float32): 2}
"""Examples per trip through the lane loop: each gradient row is read and written once per
trip, and the compile grows with the statements. Measured on one core, notebook network,
float64 (8 lanes): 1 example 24 GFLOP/s, 2: 32, 3: 37, 4: 35, compiled (cold) in 5.5 s for
2 and 7.0 s for 3; float32 (16 lanes): 2: 61, 3: 63, so 2 there."""

MIN_MODELS = 7
"""Fewest models for which the lanes engine is chosen (see :func:`for_every_batch` for the
exception). A block costs the same however few of its lanes hold a model, and runs about
2.3x the per-model kernel's speed per model (one core, notebook network, float64), so the
kernel, a model per thread on 2 cores, is faster up to 6 models (measured for 3: the kernel
0.29 s, the lanes 0.45 s; ``benchmarks/bench_engine.py``). (Spreading a few models'
examples over the lanes made small batches faster than the kernel too, but summed them in
an order that depended on the batch and the threads, so it is not done.)"""

_every_batch: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "initlab_lanes_every_batch", default=False
)


@contextlib.contextmanager
def for_every_batch() -> Iterator[None]:
    """Within this block (in this thread or task), the lanes engine trains every batch it
    covers, however few its models, not only from :data:`MIN_MODELS` on.

    The two compiled engines sum the gradients in different orders, so the last digits of a
    run depend on the engine; every lane computes alike, so on the lanes engine they do not
    depend on the batch. A sweep, whose runs may be cut into batches of any size (its
    ``max_batch``, its workers, what a resumed sweep has left), trains inside this block, so
    that its numbers do not depend on its batching.
    """
    token = _every_batch.set(True)
    try:
        yield
    finally:
        _every_batch.reset(token)


MAX_PARAMETERS = 200
"""Most parameters per model: the generated code has a few statements per parameter, and its
compile grows with them (measured, cold cache, 2 cores: 7 s for the notebook's 91
parameters in float64; 18 s, on loaded cores, for [2, 16, 16, 1]'s 337); larger networks
train on the per-model kernel."""

OPTIMIZERS = ("gd", "momentum", "adam")


def covers(mlp: MLP, schedule: Schedule, models: int) -> bool:
    """Whether :func:`train_lanes` trains this batch (see the module's docstring): full
    batch, the sigmoid or the identity head (regression, any number of outputs; not the
    softmax), built-in activations, gd/momentum/adam, at least
    :data:`MIN_MODELS` models (any number within :func:`for_every_batch`) of at most
    :data:`MAX_PARAMETERS` parameters, a fresh run (``Schedule.start`` 0, no optimizer
    state given)."""
    from initlab.engine import kernel_math

    fresh = (
        getattr(schedule, "start", 0) == 0
        and getattr(schedule, "velocity", None) is None
        and getattr(schedule, "squares", None) is None
    )
    return (
        fresh
        and schedule.order is None
        and mlp.output in lanes_source.HEADS
        and all(name in kernel_math.ACTIVATION_CODES for name in mlp.hidden_activations)
        and getattr(schedule.optimizer, "name", None) in OPTIMIZERS
        and (models >= MIN_MODELS or _every_batch.get())
        and n_params(mlp.layer_sizes) <= MAX_PARAMETERS
    )


@functools.cache
def _sources_stamp() -> str:
    """SHA-256 of the sources the generated module compiles in (this module's, which writes
    it, and the training loop's and building blocks')."""
    from initlab.engine import kernel_math, lanes_math, lanes_source

    digest = hashlib.sha256()
    for path in (__file__, lanes_source.__file__, lanes_math.__file__, kernel_math.__file__):
        try:
            digest.update(Path(path).read_bytes())
        except OSError:  # no sources (a frozen install): Numba caches nothing then anyway
            digest.update(str(path).encode())
    return digest.hexdigest()


def _generated_dirs() -> list[Path]:
    """Where generated modules are written: beside Numba's cache if ``NUMBA_CACHE_DIR`` is
    set, else in the user's cache directory; a temporary directory if neither is writable."""
    import numba

    numba_cache = getattr(numba.config, "CACHE_DIR", "")
    if numba_cache:
        first = Path(numba_cache) / "initlab_lanes"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        first = Path(cache) / "initlab" / "lanes"
    return [first, Path(tempfile.gettempdir()) / "initlab-lanes"]


_modules: dict[str, ModuleType] = {}


def _module(source: str) -> ModuleType:
    """The generated module of ``source``: imported once per process from its file, which is
    written once per machine (named by the source's hash, so never rewritten: Numba's cache
    of it stays valid)."""
    name = "initlab_lanes_" + hashlib.sha256(source.encode()).hexdigest()[:24]
    if name in _modules:
        return _modules[name]
    error: OSError | None = None
    for directory in _generated_dirs():
        path = directory / f"{name}.py"
        try:
            if not path.exists():
                directory.mkdir(parents=True, exist_ok=True)
                temporary = directory / f".{name}.{os.getpid()}.tmp"
                temporary.write_text(source, encoding="utf-8")
                os.replace(temporary, path)  # atomic: a concurrent writer writes the same text
            break
        except OSError as exc:
            error = exc
    else:
        raise OSError(f"Cannot write the lanes engine's generated module: {error}")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Numba's cache finds the module's globals by its name
    spec.loader.exec_module(module)
    _modules[name] = module
    return module


def _describe(
    mlp: MLP, optimizer: Any, l2: bool, dtype: np.dtype[Any], lanes: int, l1: bool = False
) -> str:
    hidden = sorted(set(mlp.hidden_activations))
    parts = [f"{'/'.join(hidden)} hidden layers"] if hidden else []
    parts += [f"{mlp.output} head", optimizer.name + compiled.regularisation(l2, l1), dtype.name]
    return ", ".join(parts) + f"; {lanes} models per SIMD lane block"


# --- training --------------------------------------------------------------------------------


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

    def arguments(
        self, theta: NDArray[Any], rates: NDArray[Any], outputs: tuple[NDArray[Any], ...],
        XL: NDArray[Any],
    ) -> tuple[Any, ...]:  # fmt: skip
        """The kernel's arguments for one block: the models ``theta`` (rows; trained in
        place) with their learning rates and output rows, one per lane, the rest of the
        lanes padding (zero, learning rate zero)."""
        from initlab.engine.lanes_math import workspace

        models, P = theta.shape
        V, dtype = self.lanes, theta.dtype
        assert (ok_row(P) + 1) * V + XL.shape[1] <= self.rows * V, "inputs past the scratch"
        S = aligned_zeros(self.rows * V, dtype)
        S[: P * V].reshape(P, V)[:, :models] = theta.T
        lr = np.zeros(V, dtype)
        lr[:models] = rates
        vel = aligned_zeros(P * V, dtype) if self.velocity else None
        sq = aligned_zeros(P * V, dtype) if self.adam else None
        work = workspace(models, self.sizes.tolist(), self.X.shape[1], dtype)
        return (
            S, lr, self.X, self.Y, XL, self.sizes, self.acts, self.c, self.m, self.s, theta,
            *outputs, vel, sq, self.on, self.heads, self.l2, self.l1, work,
        )  # fmt: skip


def _blocks(
    mlp: MLP, X: NDArray[Any], Y: NDArray[Any], schedule: Schedule, lanes: int, rows: int
) -> _Blocks:
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
    )


@functools.cache
def _kernel(
    sizes: tuple[int, ...], activations: tuple[str, ...], head: str, dtype: np.dtype[Any],
    lanes: int, examples: int,
) -> Any:  # fmt: skip
    """The generated module's ``train_block`` for this network and head, dtype, lanes per
    block and examples per trip, and the rows of its blocks' state (once per process:
    writing the source takes milliseconds)."""
    stamp = _sources_stamp()
    source, rows = module_source(sizes, activations, lanes, examples, dtype.name, stamp, head)
    return _module(source).train_block, rows


def is_compiled(mlp: MLP, schedule: Schedule, dtype: np.dtype[Any]) -> bool:
    """Whether :func:`train_lanes` of this network (its head too), training variant and
    dtype is compiled already, in this process or in Numba's disk cache, found without
    writing or compiling anything (see :func:`initlab.engine.needs_compile`): its generated
    module must exist on disk and Numba's index must hold its signature."""
    V, E = LANES[dtype], EXAMPLES_PER_STEP[dtype]
    stamp = _sources_stamp()
    source, rows = module_source(tuple(mlp.layer_sizes), tuple(mlp.hidden_activations), V, E,
                                 dtype.name, stamp, mlp.output)  # fmt: skip
    name = "initlab_lanes_" + hashlib.sha256(source.encode()).hexdigest()[:24]
    if name not in _modules and not any((d / f"{name}.py").exists() for d in _generated_dirs()):
        return False
    entry = _module(source).train_block  # found on disk: imported, not written
    X = np.zeros((mlp.n_features, 1), dtype)
    Y = np.zeros((mlp.layer_sizes[-1], 1), dtype)
    P = n_params(mlp.layer_sizes)
    theta = np.zeros((1, P), dtype)
    outputs = (np.zeros((1, 1)), np.zeros((1, 2), np.int64), np.zeros((1, 1, P), dtype))
    shared = _blocks(mlp, X, Y, schedule, V, rows)
    arguments = shared.arguments(theta, np.zeros(1, dtype), outputs, lane_inputs(X, Y, V, E))
    signature = compiled._signature(arguments)
    return signature in entry.overloads or compiled._on_disk(entry, signature)


def train_lanes(
    mlp: MLP,
    theta: NDArray[Any],
    learning_rates: Sequence[float],
    X: NDArray[Any],
    Y: NDArray[Any],
    schedule: Schedule,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[Any]]:
    """:func:`initlab.engine.compiled.train_compiled` on the lanes engine, for a batch it
    :func:`covers`: the models whose flat parameters are the rows of ``theta`` are trained
    in place, in blocks of :data:`LANES` models (the last one padded with idle lanes) on
    ``NUMBA_NUM_THREADS`` threads; returns the recorded costs (NaN where not reached),
    ``[iterations_run, diverged]`` and the snapshots, one row per model."""
    M, P = theta.shape
    iterations, every = schedule.iterations, schedule.checkpoint_every
    V, E = LANES[theta.dtype], EXAMPLES_PER_STEP[theta.dtype]
    network = (tuple(mlp.layer_sizes), tuple(mlp.hidden_activations), mlp.output)
    entry, rows = _kernel(*network, theta.dtype, V, E)
    shared = _blocks(mlp, X, Y, schedule, V, rows)
    rates = np.array(learning_rates, theta.dtype)
    costs = np.full((M, -(-iterations // schedule.record_every)), np.nan)
    status = np.zeros((M, 2), np.int64)
    snaps = np.zeros((M, -(-iterations // every) + 1 if every else 0, P), theta.dtype)
    blocks = [slice(lo, min(lo + V, M)) for lo in range(0, M, V)]
    XL = lane_inputs(X, Y, V, E)

    def arguments(block: slice) -> tuple[Any, ...]:
        outputs = (costs[block], status[block], snaps[block])
        return shared.arguments(theta[block], rates[block], outputs, XL)

    signature = compiled._signature(arguments(blocks[0]))
    what = _describe(mlp, schedule.optimizer, bool(shared.l2), theta.dtype, V, bool(shared.l1))
    compiled._compile(entry, signature, what)

    def train_block(block: slice) -> None:
        entry(*arguments(block))

    count = min(len(blocks), compiled.threads())
    if count == 1:
        for block in blocks:
            train_block(block)
    else:
        with ThreadPoolExecutor(count, thread_name_prefix="initlab-lanes") as pool:
            list(pool.map(train_block, blocks))
    return costs, status, snaps

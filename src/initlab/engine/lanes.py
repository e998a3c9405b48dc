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

**Spread mode** (:func:`spreads`): a batch of a few models (the notebook's three runs) would
leave most lanes idle; each of its models gets a block of its own instead, its examples
spread over the lanes, every lane summing its share of the gradient; after each pass the
lanes' sums are added up and every lane takes the total, so the lanes stay one model. One
model so trains about 1.9 times as fast as on the per-model kernel (one core, notebook
network, float64: 5.2 µs per iteration against 9.5).

**Chunks.** With a progress hook, or when the blocks do not divide evenly among the threads
(3 spread models on 2), each block is trained in chunks of iterations, each call going on
from the state the block keeps, so the threads can be shared and the hook told, with the
same numbers to the bit as one call.

**Generated per network.** That scalar code is written for the network's layer sizes and
activations (:mod:`initlab.engine.lanes_source`, which says why loops would not do). The
module is written once into a cache directory (beside Numba's cache:
``NUMBA_CACHE_DIR/initlab_lanes`` if that is set, else ``~/.cache/initlab/lanes``), named by
the hash of its text, and imported from there, so that Numba caches its machine code on disk
as for any module: the first run of a network, dtype and training variant on a machine
compiles (about 5 s for the notebook's network on 2 cores, about 3 s for each further
network, whose module links the shared training loop from the cache; announced through
:func:`~initlab.engine.compile_notices`), later processes load it. The text includes a hash
of the engine's sources, so a change to them writes a new file. ELU, SELU, GELU and tanh
call the C library (``expm1``, ``erf``, ``tanh``), which does not vectorize: their layers are
computed in a loop of their own between vector loops (the values crossing go through the
block's scratch rows), at about the per-model kernel's speed.

**Covered** (:func:`covers`): full-batch training with the sigmoid head (two classes) or the
identity head (regression, any number of outputs), every built-in hidden activation,
gradient descent, momentum (Nesterov too) and Adam, L2, L1, per-model learning rates,
float64 and float32, snapshots; batches of at least
:data:`MIN_MODELS` models (any within :func:`for_every_batch`: sweeps), or of fewer with
enough work to spread (:data:`SPREAD_WORK`), of at most :data:`MAX_PARAMETERS` parameters,
from iteration 0. Otherwise the per-model kernel trains the batch. The arithmetic is the
per-model kernel's (same formulas, order and NaN behaviour; see
:mod:`initlab.engine.kernel`), but for the order of the sums over examples: here each
weight's gradient is summed example after example (in spread mode: each lane's share
example after example, then the lanes in order).
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
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab.engine import compiled, lanes_source
from initlab.engine.compiled import Schedule
from initlab.engine.lanes_blocks import (
    _blocks,
    lane_inputs,
    spread_inputs,
    train_in_chunks,
)
from initlab.engine.lanes_source import module_source, n_params
from initlab.network import MLP
from initlab.progress import ProgressHook

__all__ = [
    "LANES", "MAX_PARAMETERS", "MIN_MODELS", "SPREAD_WORK", "covers", "disabled",
    "for_every_batch", "spreads", "train_lanes",
]  # fmt: skip

LANES = {np.dtype(np.float64): 8, np.dtype(np.float32): 16}
"""Models per block: one 512-bit vector of each dtype."""

EXAMPLES_PER_STEP = {np.dtype(np.float64): 3, np.dtype(np.float32): 2}
"""Examples per trip through the lane loop: each gradient row is read and written once per
trip, and the compile grows with the statements. Measured on one core, notebook network,
float64 (8 lanes): 1 example 24 GFLOP/s, 2: 32, 3: 37, 4: 35, compiled (cold) in 5.5 s for
2 and 7.0 s for 3; float32 (16 lanes): 2: 61, 3: 63, so 2 there."""

MIN_MODELS = 7
"""Fewest models put one per lane (see :func:`for_every_batch` for the exception). A block
costs the same however few of its lanes hold a model, so fewer models are spread
(:func:`spreads`) or trained on the per-model kernel: measured for the notebook's 3 runs
on 2 cores, one block with 3 lanes used 0.45 s, the kernel 0.23 s, spread 0.15 s
(``benchmarks/bench_engine.py``)."""

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


_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "initlab_lanes_disabled", default=False
)


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within this block (in this thread or task), the lanes engine trains no batch: the
    per-model kernel trains every batch the compiled engine takes. For comparing the two
    engines (tests, ``benchmarks/bench_engine.py``); :func:`for_every_batch` inside it has
    no effect."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


MAX_PARAMETERS = 200
"""Most parameters per model: the generated code has a few statements per parameter, and its
compile grows with them (measured, cold cache, 2 cores: 7 s for the notebook's 91
parameters in float64; 18 s, on loaded cores, for [2, 16, 16, 1]'s 337); larger networks
train on the per-model kernel."""

OPTIMIZERS = ("gd", "momentum", "adam")

COMPILE_SECONDS = 5.0
"""About how long compiling the generated module of the notebook's network takes on 2 cores,
float64, gradient descent (``benchmarks/bench_compile.py``, spread mode; one model per lane
takes about a second more): what a compile notice announces."""


SPREAD_EXAMPLES = {np.dtype(np.float64): 2, np.dtype(np.float32): 2}
"""Examples per trip of a lane in spread mode (:func:`spreads`). Measured on one core,
notebook network, float64, one model over 8 lanes: 1 example 6.8 µs per iteration, 2: 5.2,
3: 5.1 (the per-model kernel: 9.5); 2 compiles about 0.5 s faster than 3."""

SPREAD_WORK = 3e8
"""Least work (models × iterations × examples × parameters) for which a batch of fewer than
:data:`MIN_MODELS` models is spread (:func:`spreads`): the per-model kernel would train it for
about 0.1 s of one core or more. The notebook's comparison is 3 × 15,000 × 300 × 91 =
1.2e9. Below this the kernel trains it: it is compiled once for every network size, where
the lanes engine compiles once per network (about 5 s), which a short run would not repay."""


def covers(mlp: MLP, schedule: Schedule, models: int, examples: int | None = None) -> bool:
    """Whether :func:`train_lanes` trains this batch of ``models`` models on ``examples``
    examples (see the module's docstring): full batch, the sigmoid or the identity head
    (regression, any number of outputs; not the softmax), built-in activations,
    gd/momentum/adam, at most :data:`MAX_PARAMETERS` parameters, a fresh run
    (``Schedule.start`` 0, no optimizer state given); and at least :data:`MIN_MODELS`
    models (any number within :func:`for_every_batch`), or fewer that :func:`spreads`
    (``examples`` must then be given)."""
    from initlab.engine import kernel_math

    fresh = (
        getattr(schedule, "start", 0) == 0
        and getattr(schedule, "velocity", None) is None
        and getattr(schedule, "squares", None) is None
    )
    return (
        not _disabled.get()
        and fresh
        and schedule.order is None
        and mlp.output in lanes_source.HEADS
        and all(name in kernel_math.ACTIVATION_CODES for name in mlp.hidden_activations)
        and getattr(schedule.optimizer, "name", None) in OPTIMIZERS
        and n_params(mlp.layer_sizes) <= MAX_PARAMETERS
        and (models >= MIN_MODELS or _every_batch.get() or spreads(mlp, schedule, models, examples))
    )


def spreads(mlp: MLP, schedule: Schedule, models: int, examples: int | None) -> bool:
    """Whether a batch of ``models`` models is trained in *spread mode*, each model alone in
    a block with its examples spread over the lanes (lane ``v`` of trip ``k`` takes examples
    ``(k·E + e)·V + v``, ``e < E`` = :data:`SPREAD_EXAMPLES`): fewer than :data:`MIN_MODELS`
    models, outside :func:`for_every_batch` and :func:`disabled`, and at least
    :data:`SPREAD_WORK` of work.

    Each lane sums its share of the gradient; after the pass the ``V`` partial sums are added
    up in lane order and every lane takes the total (``lanes_math._gather``), so every lane
    updates alike. A model's numbers so depend on nothing but the model, its data and the
    dtype (not on the batch or the threads), and differ from the kernel's and from one lane
    per model only in the order of the sums over examples (rounding)."""
    if models >= MIN_MODELS or _every_batch.get() or _disabled.get() or examples is None:
        return False
    work = models * schedule.iterations * examples * n_params(mlp.layer_sizes)
    return work >= SPREAD_WORK


@functools.cache
def _sources_stamp() -> str:
    """SHA-256 of the sources the generated module compiles in (this module's, which writes
    it, and the training loop's and building blocks')."""
    from initlab.engine import kernel_math, lanes_math, lanes_source

    return kernel_math.sources_stamp(
        __file__, lanes_source.__file__, lanes_math.__file__, kernel_math.__file__
    )


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
    mlp: MLP, optimizer: Any, l2: bool, dtype: np.dtype[Any], lanes: int, l1: bool = False,
    spread: bool = False,
) -> str:  # fmt: skip
    hidden = sorted(set(mlp.hidden_activations))
    parts = [f"{'/'.join(hidden)} hidden layers"] if hidden else []
    parts += [f"{mlp.output} head", optimizer.name + compiled.regularisation(l2, l1), dtype.name]
    if spread:
        return ", ".join(parts) + f"; each model's examples over {lanes} SIMD lanes"
    return ", ".join(parts) + f"; {lanes} models per SIMD lane block"


# --- training --------------------------------------------------------------------------------


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


def _layout(
    mlp: MLP, schedule: Schedule, dtype: np.dtype[Any], models: int, examples: int | None
) -> tuple[int, int, bool]:
    """Lanes per block, examples per trip and spread mode, for a batch :func:`covers`."""
    spread = spreads(mlp, schedule, models, examples)
    table = SPREAD_EXAMPLES if spread else EXAMPLES_PER_STEP
    return LANES[dtype], table[dtype], spread


def is_compiled(
    mlp: MLP, schedule: Schedule, dtype: np.dtype[Any], models: int = MIN_MODELS,
    examples: int | None = None,
) -> bool:  # fmt: skip
    """Whether :func:`train_lanes` of this network (its head too), training variant and
    dtype, for ``models`` models on ``examples`` examples (which decide spread mode, see
    :func:`spreads`), is compiled already, in this process or in Numba's disk cache, found
    without writing or compiling anything (see :func:`initlab.engine.needs_compile`): its
    generated module must exist on disk and Numba's index must hold its signature."""
    V, E, spread = _layout(mlp, schedule, dtype, models, examples)
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
    shared = _blocks(mlp, X, Y, schedule, V, rows, spread)
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
    progress: ProgressHook | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[Any]]:
    """:func:`initlab.engine.compiled.train_compiled` on the lanes engine, for a batch it
    :func:`covers`: the models whose flat parameters are the rows of ``theta`` are trained
    in place, in blocks of :data:`LANES` models (the last one padded with idle lanes), or
    one model per block in spread mode (:func:`spreads`), on ``NUMBA_NUM_THREADS`` threads;
    returns the recorded costs (NaN where not reached), ``[iterations_run, diverged]`` and
    the snapshots, one row per model.

    ``progress``: a :data:`~initlab.progress.ProgressHook`; the blocks are then trained in
    chunks of iterations, as the per-model kernel's models are (see
    :func:`~initlab.engine.compiled.train_compiled`), each call going on from the block's
    state where the last stopped: the same numbers to the bit as one call. So are blocks that
    do not divide evenly among the threads (3 spread models on 2), so that they end
    together."""
    M, P = theta.shape
    iterations, every = schedule.iterations, schedule.checkpoint_every
    V, E, spread = _layout(mlp, schedule, theta.dtype, M, X.shape[1])
    network = (tuple(mlp.layer_sizes), tuple(mlp.hidden_activations), mlp.output)
    entry, rows = _kernel(*network, theta.dtype, V, E)
    shared = _blocks(mlp, X, Y, schedule, V, rows, spread)
    rates = np.array(learning_rates, theta.dtype)
    costs = np.full((M, -(-iterations // schedule.record_every)), np.nan)
    status = np.zeros((M, 2), np.int64)
    snaps = np.zeros((M, -(-iterations // every) + 1 if every else 0, P), theta.dtype)
    per_block = 1 if spread else V
    blocks = [slice(lo, min(lo + per_block, M)) for lo in range(0, M, per_block)]
    XL = (spread_inputs if spread else lane_inputs)(X, Y, V, E)

    def arguments(block: slice) -> tuple[Any, ...]:
        outputs = (costs[block], status[block], snaps[block])
        return shared.arguments(theta[block], rates[block], outputs, XL)

    signature = compiled._signature(arguments(blocks[0]))
    what = _describe(mlp, schedule.optimizer, bool(shared.l2), theta.dtype, V, bool(shared.l1),
                     spread)  # fmt: skip
    compiled._compile(entry, signature, what, COMPILE_SECONDS)
    count = min(len(blocks), compiled.threads())
    balance = count > 1 and len(blocks) % count != 0 and 4 * count > len(blocks)
    if progress is not None or balance:
        calls = [partial(arguments, block) for block in blocks]
        train_in_chunks(entry, calls, blocks, M, iterations, every, count, progress, balance)
    elif count == 1:
        for block in blocks:
            entry(*arguments(block))
    else:
        with ThreadPoolExecutor(count, thread_name_prefix="initlab-lanes") as pool:
            list(pool.map(lambda block: entry(*arguments(block)), blocks))
    return costs, status, snaps

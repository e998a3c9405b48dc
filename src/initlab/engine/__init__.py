"""Train many networks of one architecture at once: a compiled engine and a batched NumPy one.

:func:`train_batch` takes one :class:`~initlab.network.MLP`, a list of initial parameters
(one per model) and the data, and returns one :class:`~initlab.train.TrainResult` per model:
the same objects :func:`~initlab.train.train` returns, so callers can switch between them.
:func:`~initlab.train.train` stays the readable reference; both engines reproduce it.

Engines:

``"numba"``
    :mod:`initlab.engine.kernel`: a compiled kernel trains each model from start to end, its
    work arrays allocated once; models run in parallel on ``NUMBA_NUM_THREADS`` threads (all
    cores by default). Covers every built-in hidden activation, the sigmoid, softmax and
    identity (regression) heads, ``"gd"``, ``"momentum"`` (Nesterov too) and ``"adam"``, L2
    and L1, per-model learning rates, full-batch and mini-batch training (``train()``'s batch
    order, drawn up front), float64 and float32. The kernel is compiled for what a run uses
    (its hidden activations, head, optimizer, L2 or not, L1 or not, mini-batches or not,
    dtype): the first such run on a machine
    compiles it (about 3.5 s for the notebook's network on a 2-core machine) and caches the
    machine code on disk; later processes load it in a fraction of a second.
    (Threads rather than ``numba.prange``: a ``parallel=True`` wrapper re-optimizes the whole
    kernel once more and added about 10 s per dtype to the compile, for no gain over a pool
    that hands out one model at a time, which also balances models that stop early.)

    A batch of at least 7 models (:data:`~initlab.engine.lanes.MIN_MODELS`; any number in a
    sweep, :func:`~initlab.engine.lanes.for_every_batch`) of a network of at most 200
    parameters with the sigmoid or identity head, trained full batch from iteration 0, goes to
    :mod:`initlab.engine.lanes` instead: one model per SIMD lane, 8 per block in float64 and
    16 in float32, each example's forward and backward pass written out for the network as
    scalar code that the compiler turns into vector instructions (generated and cached per
    network, dtype and training variant: about 5 s of compile for the notebook's network on
    2 cores). Every hidden activation, gd/momentum/Adam, L2, L1, per-model learning rates,
    snapshots and both dtypes; about 2.5 times the per-model kernel's speed in float64 and
    4.5 times in float32 (``benchmarks/bench_engine.py``). A smaller batch with enough work
    to repay that compile (:data:`~initlab.engine.lanes.SPREAD_WORK`: the notebook's
    comparison, a long single run) goes there too, in *spread mode*: each model alone in a
    block, its examples spread over the lanes (:func:`~initlab.engine.lanes.spreads`), about
    1.9 times the per-model kernel's speed. Shorter small runs stay on the per-model kernel,
    compiled once for every network size.
``"numpy"``
    :mod:`initlab.engine.batched`: all models stacked along a leading axis and trained with
    broadcasting ``np.matmul``. Covers everything ``train()`` covers, custom activations and
    optimizers included.
``"auto"`` (default)
    ``"numba"`` where Numba can be imported and the kernel covers the run, else ``"numpy"``
    with an :class:`EngineFallbackWarning` saying why, in one line.

Compiling: :func:`needs_compile` says, without compiling, whether a run will compile the
kernel (no: Numba missing, run not covered, or compiled already in this process or in the
disk cache); inside ``with compile_notices(callback):`` the callback hears a
:class:`CompileNotice` when a compilation starts (with its expected seconds) and when it ends
(with the seconds it took), so a command line can announce it. The library prints nothing.

Both engines train with BLAS held to one thread (:func:`initlab.train.one_blas_thread`) and
give the threads back after: the matrices are small, and BLAS threads only fight over the
cores.

All models of a batch share ``X``, ``y`` and the training settings (one
:class:`~initlab.settings.TrainSettings`: optimizer, ``l2``, the mini-batch order of
``train(..., seed=seed)``, …); each has its own initial parameters and may have its own
learning rate. A model whose cost becomes NaN or infinite stops there and is reported as
diverged, exactly as ``train()`` reports it; the others go on.

With ``checkpoint_every=k`` each result's ``records`` is a
:class:`~initlab.diagnostics.Records` holding parameter snapshots at iterations 0, k, 2k, …
(before that iteration's update) and at the end; :func:`records_from_snapshots` turns them
into the per-layer rows a :class:`~initlab.diagnostics.Recorder` would have taken, so
diagnostics cost nothing inside the training loop.

Resumable runs: :class:`initlab.engine.resumable.EngineTrainer` is
:class:`~initlab.train.Trainer` on the compiled kernel, which resumes at any iteration with
the run's state passed in (flat parameters, optimizer arrays, mini-batch position): ``run(a);
run(b)`` equals ``train_batch(..., iterations=a + b, engine="numba")`` bit for bit, and
``export_state()`` lets a new object continue. ``resumable_trainer(..., engine="auto")``
falls back to ``Trainer``. The playground trains with it.

>>> from initlab import MLP, circles, init_params
>>> from initlab.rng import streams
>>> data, mlp = circles(), MLP([2, 10, 5, 1])
>>> inits = [init_params(mlp, streams(s).init, "he") for s in range(4)]
>>> results = train_batch(mlp, inits, data.X_train, data.y_train, iterations=200,
...                       record_every=100, engine="numpy")
>>> [r.history.iterations for r in results][0]
[0, 100]
>>> all(r.status == "completed" for r in results)
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal, Unpack

import numpy as np
from numpy.typing import DTypeLike, NDArray

from initlab import activations, limits, optim
from initlab._validate import python_scalar
from initlab.diagnostics import Records
from initlab.engine.batched import Outcome, train_stacked
from initlab.engine.compiled import (
    CompileNotice,
    Schedule,
    compile_notices,
    is_compiled,
    train_compiled,
)
from initlab.engine.records import attach_records, records_from_snapshots
from initlab.network import (
    MLP,
    Layer,
    Params,
    flatten_params,
    forward_columns,
    penalty,
    unflatten_params,
)
from initlab.progress import ProgressHook, reporting
from initlab.settings import (
    BatchKeywords,
    TrainKeywords,
    TrainSettings,
    check_iterations,
    settings_from,
)
from initlab.train import History, TrainResult, minibatches, one_blas_thread

__all__ = [
    "ENGINES",
    "CompileNotice",
    "EngineFallbackWarning",
    "attach_records",
    "compile_notices",
    "needs_compile",
    "records_from_snapshots",
    "train_batch",
]

Engine = Literal["auto", "numba", "numpy"]
ENGINES: tuple[Engine, ...] = ("auto", "numba", "numpy")
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

MAX_ORDER = 1 << 24
"""Mini-batch indices (iterations × batch size, about) the compiled engine draws up front at
most (128 MiB); longer mini-batch runs use the NumPy engine, which draws them as it goes."""


class EngineFallbackWarning(UserWarning):
    """``engine="auto"`` could not use the compiled engine and used the NumPy one."""


@dataclass(frozen=True)
class _Run:
    """A validated :func:`train_batch` call."""

    mlp: MLP
    params_list: list[Params]
    A0: NDArray[np.float64]
    Y: NDArray[np.float64]
    settings: TrainSettings
    learning_rates: list[float]
    """One per model: these, not ``settings.learning_rate``, are the models' step sizes."""
    iterations: int
    dtype: np.dtype[Any]
    checkpoint_every: int | None

    @property
    def n(self) -> int:
        return int(self.A0.shape[1])

    @property
    def batch_size(self) -> int | None:
        """``None``: full batch (also when the batch size is at least the number of examples)."""
        size = self.settings.batch_size
        return None if size is None or size >= self.n else size

    @property
    def per_epoch(self) -> int:
        return 1 if self.batch_size is None else -(-self.n // self.batch_size)

    def batch_index(self, order: NDArray[np.int64], iteration: int) -> NDArray[np.int64]:
        """The examples of mini-batch ``iteration`` in the concatenated epoch ``order``."""
        assert self.batch_size is not None
        start = (iteration % self.per_epoch) * self.batch_size
        first = (iteration // self.per_epoch) * self.n + start
        return order[first : first + min(self.batch_size, self.n - start)]

    def order(self) -> NDArray[np.int64]:
        """``train()``'s mini-batch order for ``seed``: one permutation per epoch, as many
        epochs as the iterations use, concatenated."""
        epochs = -(-self.iterations // self.per_epoch)
        rng = self.settings.batch_rng()
        return np.concatenate([rng.permutation(self.n) for _ in range(epochs)]).astype(np.int64)


def train_batch(
    mlp: MLP,
    params_list: Sequence[Params],
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    *,
    iterations: int = 15_000,
    settings: TrainSettings | None = None,
    learning_rate: float | Sequence[float] | None = None,
    dtype: DTypeLike = np.float64,
    engine: Engine = "auto",
    checkpoint_every: int | None = None,
    progress: ProgressHook | None = None,
    **keywords: Unpack[BatchKeywords],
) -> list[TrainResult]:
    """Train one model per entry of ``params_list``, all at once; one ``TrainResult`` each.

    Every argument means what it means to :func:`~initlab.train.train`, which each result
    reproduces (to rounding: see :mod:`initlab.engine.kernel`), and ``params_list`` is not
    modified: the training arguments come as ``settings=TrainSettings(...)`` or as keywords,
    not both. In addition:

    learning_rate
        One float for every model (a training keyword, as the others), or a sequence of one
        per model, which may also come with ``settings`` and then replaces
        ``settings.learning_rate``.
    dtype
        ``np.float64`` (default) or ``np.float32``: the arithmetic of the training loop.
        Results are float64 either way (float32 values, exactly).
    engine
        ``"auto"``, ``"numba"`` (an error if Numba is missing or does not cover the run) or
        ``"numpy"``; see :mod:`initlab.engine`.
    checkpoint_every
        Keep parameter snapshots at iterations 0, k, 2k, … and at the end in each result's
        ``records.snapshots`` (see :func:`records_from_snapshots`).
    progress
        ``progress(done, total)``: the iterations each model has done (:mod:`initlab.progress`).
    """
    if engine not in ENGINES:
        raise ValueError(f"Argument `engine` must be one of {list(ENGINES)}. Received: {engine!r}")
    rates = learning_rate if isinstance(learning_rate, Sequence | np.ndarray) else None
    given: dict[str, Any] = dict(keywords)
    if learning_rate is not None and rates is None:
        given["learning_rate"] = learning_rate
    settings = settings_from(settings, given)
    run = _validate(mlp, params_list, X, y, settings, rates, iterations, dtype, checkpoint_every)
    use_numba = engine != "numpy" and _compiled_engine(run, required=engine == "numba")
    _check_memory(run, use_numba)
    with one_blas_thread():
        outcomes = _train_numba(run, progress) if use_numba else _train_numpy(run, progress)
        return [_result(run, k, outcome) for k, outcome in enumerate(outcomes)]


def _validate(
    mlp: MLP,
    params_list: Sequence[Params],
    X: Any,
    y: Any,
    settings: TrainSettings,
    learning_rates: Sequence[float] | NDArray[Any] | None,
    iterations: int,
    dtype: DTypeLike,
    checkpoint_every: int | None,
) -> _Run:
    """The checked call; ``learning_rates``: one per model, or ``None`` for the settings'."""
    params_list = list(params_list)
    if not params_list:
        raise ValueError("Give at least one model's parameters. Received: params_list=[]")
    for k, params in enumerate(params_list):
        if len(params) != mlp.n_layers or any(
            layer.W.shape != shape or layer.b.shape != (shape[0], 1)
            for layer, shape in zip(params, mlp.weight_shapes())
        ):
            raise ValueError(
                f"Model {k}'s parameter shapes {[layer.W.shape for layer in params]} do not "
                f"match the network's weight shapes {mlp.weight_shapes()}"
            )
    if learning_rates is not None:
        rates = [optim.check_learning_rate(python_scalar(v)) for v in learning_rates]
        if len(rates) != len(params_list):
            raise ValueError(
                f"Got {len(rates)} learning rates for {len(params_list)} models; give one "
                "float, or one per model"
            )
    else:
        rates = [settings.learning_rate] * len(params_list)
    iterations = check_iterations(iterations)
    if checkpoint_every is not None:
        checkpoint_every = check_iterations(checkpoint_every, "checkpoint_every")
    dt = _check_dtype(dtype)
    settings.batch_rng()  # the engines need an integer seed ("notebook" has no batch stream)
    X_arr, y_valid = mlp.check_data(X, y)
    A0, Y = X_arr.T, mlp.head.encode(y_valid)  # A0 as train() has it: a transposed view
    return _Run(mlp, params_list, A0, Y, settings, rates, iterations, dt, checkpoint_every)


def _check_memory(run: _Run, use_numba: bool) -> None:
    """Refuse a run whose training would not fit in memory (:mod:`initlab.limits`): the
    compiled engine holds one model's work arrays per thread, the NumPy one all models'."""
    from initlab.engine.compiled import threads

    limits.check(limits.training_estimate(
        run.mlp.layer_sizes, run.n, models=len(run.params_list),
        parallel=threads() if use_numba else None, iterations=run.iterations,
        record_every=run.settings.record_every, diagnose_every=run.checkpoint_every,
        optimizer=run.settings.optimizer.name, itemsize=run.dtype.itemsize,
    ))  # fmt: skip


def _check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        dt: np.dtype[Any] | None = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in DTYPES:
        raise ValueError(f"Argument `dtype` must be np.float64 or np.float32. Received: {dtype!r}")
    return dt


# --- choosing the engine ---------------------------------------------------------------------


def _compiled_engine(run: _Run, required: bool) -> bool:
    """Whether the compiled engine covers ``run``; if not, raise (``required``) or warn."""
    try:
        import numba  # noqa: F401  # the compiled engine's one requirement

        from initlab.engine import kernel
    except ImportError as exc:
        if required:
            raise ImportError(
                "engine='numba' needs Numba: pip install 'initlab[fast]' "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        warnings.warn(
            "Numba is not available here, so initlab trains with its NumPy engine "
            "(slower, same results)",
            EngineFallbackWarning,
            stacklevel=3,
        )
        return False
    missing = _not_covered(run.mlp, run.settings.optimizer, kernel.ACTIVATION_CODES)
    drawn = -(-run.iterations // run.per_epoch) * run.n
    if missing is None and run.batch_size is not None and drawn > MAX_ORDER:
        missing = f"mini-batch runs drawing more than {MAX_ORDER:,} indices"
    if missing is None:
        return True
    if required:
        raise ValueError(
            f"engine='numba' does not cover {missing}; use engine='numpy' or engine='auto'"
        )
    warnings.warn(
        f"The compiled engine does not cover {missing}; training with the NumPy engine",
        EngineFallbackWarning,
        stacklevel=3,
    )
    return False


def _not_covered(mlp: MLP, optimizer: Any, compiled_activations: dict[str, int]) -> str | None:
    """What of ``mlp`` and ``optimizer`` the compiled engine lacks, in words, or ``None``
    (every head is covered: sigmoid, softmax and identity)."""
    for name, fn in zip(mlp.hidden_activations, mlp.activation_fns):
        if name not in compiled_activations or fn is not activations.ACTIVATIONS.get(name):
            return f"the activation {name!r} (it has {', '.join(compiled_activations)})"
    if type(optimizer) not in (optim.GradientDescent, optim.Momentum, optim.Adam):
        return f"the optimizer {optimizer!r} (it has gd, momentum, adam)"
    return None


def needs_compile(
    mlp: MLP,
    *,
    dtype: DTypeLike = np.float64,
    settings: TrainSettings | None = None,
    n_examples: int | None = None,
    models: int = 1,
    iterations: int = 15_000,
    **keywords: Unpack[TrainKeywords],
) -> bool:
    """Whether :func:`train_batch` (``engine="auto"`` or ``"numba"``) on ``mlp`` with these
    training settings will compile the kernel first, found without compiling anything;
    ``models``: the batch's size, which, with ``iterations`` and ``n_examples`` (the work),
    decides whether the lanes engine trains it (:func:`initlab.engine.lanes.covers`), whose
    compiled code is then the one looked for.

    ``False`` where Numba cannot be imported or the kernel does not cover the run (the
    NumPy engine trains it; nothing compiles), and where the kernel is compiled for this
    network (its head too), optimizer, L2 or not, L1 or not, mini-batches or not and dtype
    already, in this process or in Numba's disk cache. The settings come as
    ``settings=TrainSettings(...)`` or as training keywords, as for :func:`train_batch`;
    ``n_examples``, if given, tells a ``batch_size`` that covers the whole data (full
    batch) from a real mini-batch one.

    >>> from initlab import MLP
    >>> isinstance(needs_compile(MLP([2, 10, 5, 1]), learning_rate=0.01), bool)
    True
    """
    settings = settings_from(settings, keywords)
    dt = _check_dtype(dtype)
    try:
        import numba  # noqa: F401

        from initlab.engine import kernel
    except ImportError:
        return False
    if _not_covered(mlp, settings.optimizer, kernel.ACTIVATION_CODES) is not None:
        return False
    size = settings.batch_size
    minibatch = size is not None and (n_examples is None or size < n_examples)
    if not minibatch:
        from initlab.engine import lanes

        schedule = Schedule(settings.optimizer, settings.l2, iterations, 1, 0, l1=settings.l1)
        if lanes.covers(mlp, schedule, models, n_examples):
            return not lanes.is_compiled(mlp, schedule, dt, models, n_examples)
    return not is_compiled(mlp, optimizer=settings.optimizer, l2=settings.l2,
                           minibatch=minibatch, dtype=dt, l1=settings.l1)  # fmt: skip


# --- the engines -----------------------------------------------------------------------------


def _train_numpy(run: _Run, progress: ProgressHook | None = None) -> list[Outcome]:
    batches: Iterator[NDArray[np.intp]] | None = None
    if run.batch_size is not None:
        batches = minibatches(run.n, run.batch_size, run.settings.batch_rng())
    with reporting(progress, len(run.params_list), run.iterations) as reporter:
        if reporter is not None:  # counts the examples taken; full batch: all, as a view
            batches = reporter.counting(batches or repeat(slice(None)))  # type: ignore[arg-type]
        return train_stacked(
            run.mlp,
            run.params_list,
            run.A0,
            run.Y,
            run.learning_rates,
            optimizer=run.settings.optimizer,
            iterations=run.iterations,
            record_every=run.settings.record_every,
            batches=batches,
            l2=run.settings.l2,
            checkpoint_every=run.checkpoint_every,
            dtype=run.dtype,
            l1=run.settings.l1,
        )


def _train_numba(run: _Run, progress: ProgressHook | None = None) -> list[Outcome]:
    mlp, dtype = run.mlp, run.dtype
    theta = np.stack([flatten_params(params) for params in run.params_list]).astype(dtype)
    X = np.array(run.A0, dtype=dtype, order="C")
    Y = np.array(run.Y, dtype=dtype, order="C")
    every = run.checkpoint_every or 0
    order = run.order() if run.batch_size is not None else None
    schedule = Schedule(run.settings.optimizer, run.settings.l2, run.iterations,
                        run.settings.record_every, every, run.batch_size, order,
                        l1=run.settings.l1)  # fmt: skip
    from initlab.engine import lanes  # Numba's; lanes imports compiled, not the other way

    train = lanes.train_lanes if lanes.covers(mlp, schedule, len(theta), run.n) else train_compiled
    costs, status, snaps = train(mlp, theta, run.learning_rates, X, Y, schedule, progress)

    outcomes = []
    for k in range(len(run.params_list)):
        ran, diverged = int(status[k, 0]), bool(status[k, 1])
        params = _unflatten(mlp, theta[k])
        snapshots = {}
        if every:
            taken = -(-ran // every) + (0 if diverged else 1)
            points = [*range(0, ran, every), ran][:taken]
            snapshots = {i: _unflatten(mlp, snaps[k, q]) for q, i in enumerate(points)}
        diverged_cost = None
        if diverged:  # the reference's value for it, inf or NaN, from the same parameters
            A0, Y_batch = X, Y
            if order is not None:
                index = run.batch_index(order, ran)
                A0, Y_batch = X[:, index], Y[:, index]
            diverged_cost = _cost(mlp, params, A0, Y_batch, run.settings.l2, run.settings.l1)
            if math.isfinite(diverged_cost):  # finite in float64 only: keep it non-finite
                diverged_cost = math.inf
        recorded = costs[k, : -(-ran // run.settings.record_every)].tolist()
        outcomes.append(Outcome(params, recorded, ran, diverged, diverged_cost, snapshots))
    return outcomes


def _unflatten(mlp: MLP, flat: NDArray[Any]) -> Params:
    """One model's layers from its flat row, as float64 copies."""
    return [Layer(layer.W.astype(np.float64), layer.b.astype(np.float64))
            for layer in unflatten_params(mlp, flat)]  # fmt: skip


# --- results ---------------------------------------------------------------------------------


def _cost(
    mlp: MLP, params: Params, A0: NDArray[Any], Y: NDArray[Any], l2: float, l1: float = 0.0
) -> float:
    """``train()``'s cost, in the dtype of ``A0``: the head's loss from the logits
    (cross-entropy, or half the squared error) + L2 and L1 terms."""
    if A0.dtype != np.float64:
        params = [Layer(layer.W.astype(A0.dtype), layer.b.astype(A0.dtype)) for layer in params]
    with np.errstate(over="ignore", invalid="ignore"):
        logits = forward_columns(mlp, params, A0).logits
        return float(mlp.head.loss(logits, Y) + penalty(params, Y.shape[1], l2, l1))


def _result(run: _Run, k: int, outcome: Outcome) -> TrainResult:
    history = History()
    for r, cost in enumerate(outcome.costs):
        history.append(r * run.settings.record_every, float(cost))
    if outcome.diverged:
        assert outcome.diverged_cost is not None
        history.append(outcome.iterations_run, outcome.diverged_cost)
    A0, Y = run.A0, run.Y
    if run.dtype != np.float64:
        A0, Y = A0.astype(run.dtype), Y.astype(run.dtype)
    final_cost = _cost(run.mlp, outcome.params, A0, Y, run.settings.l2, run.settings.l1)
    params = [
        Layer(layer.W.astype(np.float64), layer.b.astype(np.float64)) for layer in outcome.params
    ]
    snapshots = {
        i: [Layer(layer.W.astype(np.float64), layer.b.astype(np.float64)) for layer in snap]
        for i, snap in outcome.snapshots.items()
    }
    return TrainResult(
        mlp=run.mlp,
        initial_params=[layer.copy() for layer in run.params_list[k]],
        params=params,
        history=history,
        learning_rate=run.learning_rates[k],
        iterations=run.iterations,
        iterations_run=outcome.iterations_run,
        status="diverged" if outcome.diverged else "completed",
        final_cost=final_cost,
        diverged_at=outcome.iterations_run if outcome.diverged else None,
        records=Records(snapshots=snapshots) if run.checkpoint_every is not None else None,
    )

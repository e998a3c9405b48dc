"""A resumable run on the compiled engine: :class:`EngineTrainer`, the engine's
:class:`~initlab.train.Trainer`.

``EngineTrainer(...).run(n)`` trains ``n`` more iterations with the compiled kernel
(:mod:`initlab.engine.kernel`), picking up where the previous call stopped: the kernel
resumes at any iteration with the run's state passed in — the flat parameters, the
optimizer's arrays (momentum's velocity, Adam's two moments; Adam's step count is the
iteration) and the mini-batch position (the permutations of the epochs a call reaches,
drawn from the generator of :func:`~initlab.train.minibatches`, which continues where the
previous call left it). So ``run(a); run(b)`` is bit for bit one ``run(a + b)`` and
:func:`~initlab.engine.train_batch` ``(..., iterations=a + b, engine="numba")``, and agrees
with :func:`~initlab.train.train` to rounding (see :mod:`initlab.engine.kernel`).

:meth:`EngineTrainer.export_state` gives that state as an :class:`EngineState` (a frozen
dataclass of arrays and numbers), from which ``EngineTrainer(..., state=state)`` continues the
run in a new object, bit for bit. :func:`resumable_trainer` picks the engine: an
``EngineTrainer`` where Numba is installed and the kernel covers the run, else the reference
``Trainer`` with an :class:`~initlab.engine.EngineFallbackWarning` (``engine="auto"``).

>>> import numpy as np
>>> from initlab import MLP, circles, init_params, train
>>> data, mlp = circles(), MLP([2, 10, 5, 1])
>>> params = init_params(mlp, np.random.default_rng(0), "he")
>>> t = EngineTrainer(mlp, params, data.X_train, data.y_train, learning_rate=0.1)
>>> t.run(100), t.run(100), t.iteration
('completed', 'completed', 200)
>>> again = EngineTrainer(mlp, params, data.X_train, data.y_train, learning_rate=0.1,
...                       state=t.export_state())
>>> _ = again.run(50), t.run(50)
>>> bool(np.array_equal(again.params[0].W, t.params[0].W))
True
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal, Unpack

import numpy as np
from numpy.typing import DTypeLike, NDArray

from initlab.engine import (
    MAX_ORDER,
    EngineFallbackWarning,
    _check_dtype,
    _cost,
    _not_covered,
)
from initlab.engine.compiled import Schedule, train_compiled
from initlab.network import (
    MLP,
    Cache,
    Params,
    backward_columns,
    flatten_params,
    forward_columns,
    unflatten_params,
)
from initlab.settings import TrainKeywords, TrainSettings, check_iterations, settings_from
from initlab.train import History, SettingsView, Status, Trainer, TrainResult

__all__ = [
    "EngineState",
    "EngineTrainer",
    "ResumableRun",
    "Snapshots",
    "resumable_trainer",
    "run_with_snapshots",
]

ResumableEngine = Literal["auto", "numba", "reference"]
RESUMABLE_ENGINES: tuple[ResumableEngine, ...] = ("auto", "numba", "reference")


@dataclass(frozen=True)
class EngineState:
    """An :class:`EngineTrainer`'s whole state: enough for a new one to continue the run.

    iteration
        Iterations trained so far (on divergence: the iteration whose cost was not finite).
    theta
        The flat parameters, layer by layer ``W`` (row-major) then ``b``, in the run's dtype.
    velocity, squares
        The optimizer's state, laid out as ``theta``: momentum's velocity or Adam's first
        moments, and Adam's second moments (``None`` where the optimizer has none).
    batch_rng
        The mini-batch generator's ``bit_generator.state`` before it drew the permutation of
        the current epoch (``iteration // batches per epoch``); ``None`` for full batch.
    status, diverged_at, history
        As :class:`~initlab.train.Trainer` has them; ``history`` as ``(iteration, cost)``.

    The arrays are read-only copies.
    """

    iteration: int
    theta: NDArray[Any]
    velocity: NDArray[Any] | None
    squares: NDArray[Any] | None
    batch_rng: dict[str, Any] | None
    status: Status
    diverged_at: int | None
    history: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Snapshots:
    """Parameters along the last :meth:`EngineTrainer.run`: ``flat[q]`` at ``iterations[q]``
    (multiples of the spacing asked for, then the iteration reached, last)."""

    iterations: list[int]
    flat: NDArray[np.float64]
    """``(len(iterations), P)`` flat parameters (see :func:`layers`), float64."""


class EngineTrainer(SettingsView):
    """A training run on the compiled engine that advances on request: :class:`Trainer`'s
    interface (``run``, ``params``, ``iteration``, ``status``, ``history``, ``full_pass``,
    ``cost``, ``result``, …) and arithmetic to rounding, resumable bit for bit.

    The training arguments are :func:`~initlab.train.train`'s (``settings=`` or keywords);
    ``dtype`` is the kernel's (float64, or float32); ``state`` continues an exported run
    (``params`` are then its initial parameters, for :meth:`result`). Raises where the
    kernel cannot train the run (Numba missing, an activation or optimizer it lacks): see
    :func:`resumable_trainer` for the choice with a fallback.
    """

    def __init__(
        self,
        mlp: MLP,
        params: Params,
        X: NDArray[np.float64],
        y: NDArray[np.integer],
        *,
        settings: TrainSettings | None = None,
        dtype: DTypeLike = np.float64,
        state: EngineState | None = None,
        **keywords: Unpack[TrainKeywords],
    ) -> None:
        self.settings = settings_from(settings, keywords)
        """The validated training arguments."""
        problem = _why_not_compiled(mlp, self.settings.optimizer)
        if problem is not None:
            raise problem[0]
        X, y_valid = mlp.check_data(X, y)
        if len(params) != mlp.n_layers or any(
            layer.W.shape != shape or layer.b.shape != (shape[0], 1)
            for layer, shape in zip(params, mlp.weight_shapes())
        ):
            raise ValueError(
                f"The parameters' shapes {[layer.W.shape for layer in params]} do not match "
                f"the network's weight shapes {mlp.weight_shapes()}"
            )
        self.mlp, self.X, self.y = mlp, X, y_valid
        self.dtype = _check_dtype(dtype)
        self.initial = [layer.copy() for layer in params]
        self.targets = mlp.head.encode(y_valid)
        """The training labels as the head's targets, one column per example."""
        self._A0 = X.T
        self._X = np.array(X.T, dtype=self.dtype, order="C")
        self._Y = np.array(self.targets, dtype=self.dtype, order="C")
        n, size = X.shape[0], self.settings.batch_size
        self._batch_size = None if size is None or size >= n else size
        self._per_epoch = 1 if self._batch_size is None else -(-n // self._batch_size)
        name = self.settings.optimizer.name
        self._theta = flatten_params(params).astype(self.dtype)
        zeros = np.zeros((1, self._theta.size), self.dtype)
        self._velocity = zeros.copy() if name in ("momentum", "adam") else None
        self._squares = zeros.copy() if name == "adam" else None
        self._rng = self.settings.batch_rng() if self._batch_size is not None else None
        self._epochs: list[tuple[dict[str, Any], NDArray[np.int64]]] = []
        """The drawn epochs still needed: (generator state before, permutation)."""
        self._first_epoch = 0
        self._params: Params | None = None
        self.history = History()
        self.iteration = 0
        """Iterations trained so far (the index of the next one)."""
        self.status: Status = "completed"
        self.diverged_at: int | None = None
        self.snapshots = Snapshots([0], self._theta[None].astype(np.float64))
        """The parameters along the last :meth:`run` (see its ``snapshot_every``)."""
        if state is not None:
            self._restore(state)

    # -- Trainer's interface ------------------------------------------------------------------

    @property
    def params(self) -> Params:
        """The current parameters, float64 (views of the state for a float64 run: read them,
        copy to keep them)."""
        if self._params is None:
            self._params = unflatten_params(self.mlp, self._theta.astype(np.float64, copy=False))
        return self._params

    def run(self, iterations: int, *, snapshot_every: int = 0) -> Status:
        """Train ``iterations`` more iterations (none once diverged); returns the status.

        With ``snapshot_every=k``, :attr:`snapshots` then holds the parameters at every
        multiple of ``k`` from the iteration this call started at (included) to the one it
        reached (excluded), and at the one reached. Long mini-batch calls are split so
        that no kernel call draws more than :data:`~initlab.engine.MAX_ORDER` indices."""
        iterations = check_iterations(iterations)
        if snapshot_every:
            snapshot_every = check_iterations(snapshot_every, "snapshot_every")
        start, kept = self.iteration, []
        if not self.diverged:
            end = start + iterations
            while self.iteration < end and not self.diverged:
                chunk = min(end - self.iteration, self._chunk())
                kept.append(self._train(chunk, snapshot_every))
        taken = list(_multiples(start, self.iteration, snapshot_every))
        flat = np.concatenate([*kept, self._theta[None]]).astype(np.float64)
        self.snapshots = Snapshots([*taken, self.iteration], flat)
        return self.status

    def full_pass(self) -> tuple[Cache, Params]:
        """Forward and backward pass of the current parameters on the whole training set."""
        with np.errstate(over="ignore", invalid="ignore"):
            cache = forward_columns(self.mlp, self.params, self._A0)
            grads = backward_columns(self.mlp, self.params, cache, self.targets, self.l2, self.l1)
            return cache, grads

    def cost(self) -> float:
        """The training cost (the head's loss + L2 and L1 terms) of the current parameters,
        in the run's dtype (as :func:`~initlab.engine.train_batch` reports it)."""
        A0 = self._A0 if self.dtype == np.float64 else self._X
        Y = self.targets if self.dtype == np.float64 else self._Y
        return _cost(self.mlp, self.params, A0, Y, self.l2, self.l1)

    def result(self, iterations: int | None = None) -> TrainResult:
        """The run so far as a :class:`~initlab.train.TrainResult`."""
        return TrainResult(
            mlp=self.mlp,
            initial_params=[layer.copy() for layer in self.initial],
            params=[layer.copy() for layer in self.params],
            history=History(list(self.history.iterations), list(self.history.costs)),
            learning_rate=self.learning_rate,
            iterations=self.iteration if iterations is None else iterations,
            iterations_run=self.iteration,
            status=self.status,
            final_cost=self.cost(),
            diverged_at=self.diverged_at,
        )

    # -- the state ------------------------------------------------------------------------------

    def export_state(self) -> EngineState:
        """The run's state, from which ``EngineTrainer(..., state=...)`` continues it."""
        rng_state = None
        if self._rng is not None:
            self._draw_through(self.iteration // self._per_epoch)
            rng_state = self._epochs[self.iteration // self._per_epoch - self._first_epoch][0]
        return EngineState(
            iteration=self.iteration,
            theta=_frozen(self._theta),
            velocity=None if self._velocity is None else _frozen(self._velocity[0]),
            squares=None if self._squares is None else _frozen(self._squares[0]),
            batch_rng=rng_state,
            status=self.status,
            diverged_at=self.diverged_at,
            history=tuple(zip(self.history.iterations, self.history.costs)),
        )

    def _restore(self, state: EngineState) -> None:
        def check(name: str, value: NDArray[Any] | None, wanted: bool) -> None:
            if (value is not None) != wanted or (
                value is not None
                and (value.shape != self._theta.shape or value.dtype != self.dtype)
            ):
                shape = None if value is None else (value.shape, str(value.dtype))
                expected = (self._theta.shape, str(self.dtype)) if wanted else None
                raise ValueError(
                    f"The state's {name} does not fit this run ({self.optimizer.name}, "
                    f"{self._theta.size} parameters, {self.dtype}): expected {expected}. "
                    f"Received: {name}={shape}"
                )

        check("theta", state.theta, True)
        check("velocity", state.velocity, self._velocity is not None)
        check("squares", state.squares, self._squares is not None)
        if (state.batch_rng is None) != (self._rng is None) or state.iteration < 0:
            raise ValueError(
                "The state does not fit this run's batches: "
                f"{'full' if self._rng is None else 'mini'}-batch. Received: iteration="
                f"{state.iteration}, batch_rng={'None' if state.batch_rng is None else '…'}"
            )
        self._theta = state.theta.copy()
        if self._velocity is not None and state.velocity is not None:
            self._velocity = state.velocity[None].copy()
        if self._squares is not None and state.squares is not None:
            self._squares = state.squares[None].copy()
        if self._rng is not None and state.batch_rng is not None:
            self._rng.bit_generator.state = state.batch_rng
            self._first_epoch = state.iteration // self._per_epoch
        self.iteration = state.iteration
        self.status, self.diverged_at = state.status, state.diverged_at
        self.history = History([i for i, _ in state.history], [c for _, c in state.history])
        self._params = None
        self.snapshots = Snapshots([self.iteration], self._theta[None].astype(np.float64))

    # -- training -------------------------------------------------------------------------------

    def _chunk(self) -> int:
        """The most iterations one kernel call trains: all, but for long mini-batch runs."""
        if self._batch_size is None:
            return 2**62
        n = int(self._X.shape[1])
        return max(1, MAX_ORDER // n - 1) * self._per_epoch

    def _train(self, iterations: int, every: int) -> NDArray[Any]:
        """One kernel call from :attr:`iteration`; returns its snapshots before the end."""
        start = self.iteration
        order = None
        if self._batch_size is not None:
            order = self._order(start, start + iterations)
        s = self.settings
        schedule = Schedule(s.optimizer, s.l2, iterations, s.record_every, every,
                            self._batch_size, order, start, self._velocity,
                            self._squares, s.l1)  # fmt: skip
        theta = self._theta[None]
        costs, status, snaps = train_compiled(
            self.mlp, theta, [s.learning_rate], self._X, self._Y, schedule
        )
        reached, diverged = int(status[0, 0]), bool(status[0, 1])
        self._params = None
        self.iteration = reached
        for i, cost in zip(_multiples(start, reached, s.record_every), costs[0]):
            self.history.append(i, float(cost))
        if diverged:
            self.status, self.diverged_at = "diverged", reached
            self.history.append(reached, self._diverged_cost(reached, order, start))
        return snaps[0, : len(_multiples(start, reached, every))]

    def _diverged_cost(self, iteration: int, order: NDArray[Any] | None, start: int) -> float:
        """The cost at the iteration that diverged (inf or NaN), from the same parameters on
        the same batch, in the run's dtype, as :func:`~initlab.engine.train_batch` reports
        it (kept non-finite where float32 overflowed but float64 would not)."""
        X, Y = self._X, self._Y
        if order is not None and self._batch_size is not None:
            n = X.shape[1]
            offset = (iteration % self._per_epoch) * self._batch_size
            first = (iteration // self._per_epoch - start // self._per_epoch) * n + offset
            index = order[first : first + min(self._batch_size, n - offset)]
            X, Y = X[:, index], Y[:, index]
        cost = _cost(self.mlp, self.params, X, Y, self.l2, self.l1)
        return cost if not math.isfinite(cost) else math.inf

    def _order(self, start: int, end: int) -> NDArray[np.int64]:
        """The permutations of the epochs of iterations ``start … end − 1``, concatenated:
        drawn in order from the batch generator, kept until a call no longer needs them."""
        first, last = start // self._per_epoch, (end - 1) // self._per_epoch
        drop = first - self._first_epoch
        if drop > 0:
            del self._epochs[:drop]
            self._first_epoch = first
        self._draw_through(last)
        needed = self._epochs[first - self._first_epoch : last - self._first_epoch + 1]
        return np.concatenate([permutation for _, permutation in needed])

    def _draw_through(self, epoch: int) -> None:
        """Draw the permutations of every epoch up to ``epoch`` not drawn yet."""
        assert self._rng is not None
        n = self._X.shape[1]
        while self._first_epoch + len(self._epochs) <= epoch:
            before = dict(self._rng.bit_generator.state)
            self._epochs.append((before, self._rng.permutation(n).astype(np.int64)))


ResumableRun = Trainer | EngineTrainer
"""What :func:`resumable_trainer` returns: both have ``Trainer``'s interface."""


def run_with_snapshots(trainer: ResumableRun, iterations: int, every: int) -> Snapshots:
    """Train ``iterations`` more and return the parameters at every multiple of ``every``
    from the iteration it started at (included) to the one reached (excluded), and at the
    one reached (:attr:`EngineTrainer.snapshots`). An :class:`EngineTrainer` takes them in
    one kernel call; the reference :class:`~initlab.train.Trainer` stops at each multiple."""
    if isinstance(trainer, EngineTrainer):
        trainer.run(iterations, snapshot_every=every)
        return trainer.snapshots
    taken, flat = [], []
    end = trainer.iteration + iterations
    while True:
        at = trainer.iteration
        if at >= end or trainer.diverged:
            break
        if at % every == 0:
            taken.append(at)
            flat.append(flatten_params(trainer.params))
        trainer.run(min(end, (at // every + 1) * every) - at)
    return Snapshots([*taken, trainer.iteration], np.stack([*flat, flatten_params(trainer.params)]))


def _multiples(start: int, end: int, every: int) -> range:
    """The multiples of ``every`` in ``[start, end)`` (none for ``every=0``)."""
    return range(-(-start // every) * every, end, every) if every else range(0)


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def _why_not_compiled(mlp: MLP, optimizer: Any) -> tuple[Exception, str] | None:
    """``None`` where the compiled kernel can train this run; else the error
    :class:`EngineTrainer` raises and the one-line note of ``engine="auto"``'s fallback."""
    try:
        import numba  # noqa: F401  # the compiled engine's one requirement

        from initlab.engine import kernel
    except ImportError as exc:
        return ImportError(f"EngineTrainer needs Numba ({type(exc).__name__}: {exc})"), (
            "Numba is not available here, so initlab trains with its reference loop "
            "(slower, same results)"
        )
    missing = _not_covered(mlp, optimizer, kernel.ACTIVATION_CODES)
    if missing is None:
        return None
    return ValueError(
        f"The compiled engine does not cover {missing}; use resumable_trainer(..., "
        "engine='auto') or initlab.train.Trainer"
    ), f"The compiled engine does not cover {missing}; training with the reference loop"


def resumable_trainer(
    mlp: MLP,
    params: Params,
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    *,
    settings: TrainSettings | None = None,
    engine: ResumableEngine = "auto",
    **keywords: Unpack[TrainKeywords],
) -> ResumableRun:
    """A resumable run of :func:`~initlab.train.train`: an :class:`EngineTrainer` where the
    compiled engine covers it (``engine="auto"`` or ``"numba"``, the latter an error where it
    does not), else — or with ``engine="reference"`` — the reference
    :class:`~initlab.train.Trainer`, ``"auto"`` warning with an
    :class:`~initlab.engine.EngineFallbackWarning` saying why, in one line. Both take
    ``run(n)`` steps with ``train``'s arithmetic (the engine to rounding)."""
    if engine not in RESUMABLE_ENGINES:
        raise ValueError(
            f"Argument `engine` must be one of {list(RESUMABLE_ENGINES)}. Received: {engine!r}"
        )
    settings = settings_from(settings, keywords)
    problem = None if engine == "reference" else _why_not_compiled(mlp, settings.optimizer)
    if engine != "reference" and problem is None:
        return EngineTrainer(mlp, params, X, y, settings=settings)
    if problem is not None:
        if engine == "numba":
            raise problem[0]
        warnings.warn(problem[1], EngineFallbackWarning, stacklevel=2)
    return Trainer(mlp, params, X, y, settings=settings)

"""The training loop: gradient descent (full-batch or mini-batch, any optimizer) with a cost
history and a divergence check."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Unpack

import numpy as np
from numpy.typing import NDArray

from initlab import limits, optim
from initlab.diagnostics import Recorder, Records
from initlab.network import MLP, Cache, Params, backward_columns, forward_columns, penalty
from initlab.network import accuracy as _accuracy
from initlab.network import loss as _loss
from initlab.network import predict as _predict
from initlab.network import predict_proba as _predict_proba
from initlab.settings import TrainKeywords, TrainSettings, settings_from

# Re-exported: callers import these checks from here too.
from initlab.settings import check_iterations as check_iterations
from initlab.settings import check_l2 as check_l2

Status = Literal["completed", "diverged"]


@dataclass
class History:
    """Cost before the update of every ``record_every``-th iteration (the course prints these)."""

    iterations: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from initlab._html import table

        return table(["iteration", "cost"], list(zip(self.iterations, self.costs)))

    def append(self, iteration: int, cost: float) -> None:
        self.iterations.append(iteration)
        self.costs.append(cost)


@dataclass(repr=False)
class TrainResult:
    """What a training run returns: the parameters before and after, the history, the status.

    ``status`` is ``"diverged"`` when the cost became NaN or infinite; training then stopped
    at ``diverged_at`` and ``params`` are the last (non-finite) ones.
    """

    mlp: MLP
    initial_params: Params
    params: Params
    history: History
    learning_rate: float
    iterations: int
    iterations_run: int
    status: Status
    final_cost: float
    diverged_at: int | None = None
    records: Records | None = None

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def __repr__(self) -> str:
        at = f" at iteration {self.diverged_at}" if self.diverged else ""
        return (
            f"TrainResult({list(self.mlp.layer_sizes)}, {self.status}{at}, "
            f"{self.iterations_run:,} iterations, final cost {self.final_cost:.6g})"
        )

    def _repr_html_(self) -> str:
        from initlab._html import table

        caption = (
            f"{list(self.mlp.layer_sizes)} · {self.status}"
            + (f" at iteration {self.diverged_at}" if self.diverged else "")
            + f" · final cost {self.final_cost:.6g}"
        )
        return table(["iteration", "cost"], list(zip(self.history.iterations,
                                                     self.history.costs)), caption)  # fmt: skip

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.int64]:
        return _predict(self.mlp, self.params, X)

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return _predict_proba(self.mlp, self.params, X)

    def accuracy(self, X: NDArray[np.float64], y: NDArray[np.integer]) -> float:
        return _accuracy(self.mlp, self.params, X, y)


class _OneBlasThread:
    """BLAS held to one thread while any training call runs, and given back after the last.

    Training matrices are small (the notebook's are 10 × 300): split over several BLAS
    threads they run slower than on one, and much slower when the threads fight other
    processes for the cores. The limit is process-wide, so concurrent calls (the playground
    steps runs from several threads) share it: the first to enter sets it, the last to leave
    restores what was there. Setting it leaves every result unchanged; only the speed differs.

    A :class:`threadpoolctl.ThreadpoolController` is made at the first call and kept (making
    one scans the loaded libraries, ~100 µs; limiting through a kept one costs ~7 µs); it is
    made again when modules were imported since (SciPy or PyTorch may have brought a BLAS of
    their own: every loaded BLAS is held to one thread). Nothing is set when every BLAS
    already runs one thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controller: Any = None
        self._modules = 0
        """How many modules were imported when the controller was made."""
        self._limiter: Any = None
        self._depth = 0

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                if self._controller is None or len(sys.modules) != self._modules:
                    from threadpoolctl import (  # type: ignore[import-untyped, unused-ignore]
                        ThreadpoolController,
                    )

                    self._controller = ThreadpoolController().select(user_api="blas")
                    self._modules = len(sys.modules)
                libraries = self._controller.lib_controllers
                if any(library.num_threads > 1 for library in libraries):
                    self._limiter = self._controller.limit(limits=1)
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_ONE_BLAS_THREAD = _OneBlasThread()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread for the duration of the block, restored after (see
    :class:`_OneBlasThread`); what :meth:`Trainer.run` trains under.

    >>> import numpy as np
    >>> with one_blas_thread():
    ...     product = np.ones((10, 300)) @ np.ones((300, 5))
    """
    with _ONE_BLAS_THREAD:
        yield


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    """Endless index batches: each epoch is a fresh permutation of ``range(n)`` cut into
    ``batch_size`` pieces, the last one possibly smaller (as the course's mini-batches)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


class SettingsView:
    """The read-only views :class:`Trainer` and the compiled engine's
    :class:`~initlab.engine.resumable.EngineTrainer` share: the run's status and its
    settings' fields."""

    settings: TrainSettings
    status: Status

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def learning_rate(self) -> float:
        return self.settings.learning_rate

    @property
    def optimizer(self) -> optim.Optimizer:
        return self.settings.optimizer

    @property
    def l2(self) -> float:
        return self.settings.l2

    @property
    def l1(self) -> float:
        return self.settings.l1

    @property
    def record_every(self) -> int:
        return self.settings.record_every


class Trainer(SettingsView):
    """A training run that advances on request: :func:`train` in resumable steps.

    ``Trainer(...).run(n)`` trains ``n`` more iterations with exactly :func:`train`'s
    arithmetic, mini-batch order and divergence check, so ``run(a)`` then ``run(b)`` gives the
    same parameters as one ``run(a + b)`` (and as ``train(..., iterations=a + b)``). The
    playground steps its runs this way between frames; ``params`` are the current parameters.
    The training arguments are :func:`train`'s: ``settings=TrainSettings(...)`` or the same
    keywords.

    >>> import numpy as np
    >>> from initlab import MLP, circles, init_params
    >>> data, mlp = circles(), MLP([2, 10, 5, 1])
    >>> params = init_params(mlp, np.random.default_rng(0), "he")
    >>> t = Trainer(mlp, params, data.X_train, data.y_train, learning_rate=0.1)
    >>> t.run(100), t.run(100), t.iteration
    ('completed', 'completed', 200)
    >>> bool(np.array_equal(t.params[0].W, train(mlp, params, data.X_train, data.y_train,
    ...     learning_rate=0.1, iterations=200).params[0].W))
    True
    """

    def __init__(
        self,
        mlp: MLP,
        params: Params,
        X: NDArray[np.float64],
        y: NDArray[np.integer],
        *,
        settings: TrainSettings | None = None,
        recorder: Recorder | None = None,
        **keywords: Unpack[TrainKeywords],
    ) -> None:
        self.settings = settings_from(settings, keywords)
        """The validated training arguments."""
        X, y_valid = mlp.check_data(X, y)
        n = X.shape[0]
        batch_size = self.settings.batch_size
        if len(params) != mlp.n_layers or any(
            layer.W.shape != shape for layer, shape in zip(params, mlp.weight_shapes())
        ):
            raise ValueError(
                f"The parameters' shapes {[layer.W.shape for layer in params]} do not match "
                f"the network's weight shapes {mlp.weight_shapes()}"
            )
        self.mlp, self.X, self.y = mlp, X, y_valid
        self.recorder = recorder
        self._check_memory(0)
        self.initial = [layer.copy() for layer in params]
        self.params = [layer.copy() for layer in params]
        self._state = self.settings.optimizer.init(self.params)
        self._A0 = X.T
        self.targets = mlp.head.encode(y_valid)
        """The training labels as the head's targets, one column per example."""
        full_batch = batch_size is None or batch_size >= n
        self._batches = (
            None if full_batch else minibatches(n, batch_size or n, self.settings.batch_rng())
        )
        self.history = History()
        self.iteration = 0
        """Iterations trained so far (the index of the next one)."""
        self.status: Status = "completed"
        self.diverged_at: int | None = None

    def run(self, iterations: int) -> Status:
        """Train ``iterations`` more iterations (none once diverged); returns the status.

        BLAS runs on one thread meanwhile (:func:`one_blas_thread`), as it was again after."""
        iterations = check_iterations(iterations)
        if self.diverged:
            return self.status
        self._check_memory(self.iteration + iterations)
        mlp, params, head, A0, Y = self.mlp, self.params, self.mlp.head, self._A0, self.targets
        s = self.settings
        opt, lr, l2, l1, record_every = s.optimizer, s.learning_rate, s.l2, s.l1, s.record_every
        batches, recorder, end = self._batches, self.recorder, self.iteration + iterations
        # Overflow and inf − inf can only come from a diverging run, which the finite-cost
        # check below catches and reports; NumPy's warnings would only repeat it.
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
            for i in range(self.iteration, end):
                if batches is None:
                    A_batch, Y_batch = A0, Y
                else:
                    index = next(batches)
                    A_batch, Y_batch = A0[:, index], Y[:, index]
                cache = forward_columns(mlp, params, A_batch)
                cost = head.loss(cache.logits, Y_batch) + penalty(params, Y_batch.shape[1], l2, l1)
                if not math.isfinite(cost):
                    self.status, self.diverged_at = "diverged", i
                    self.history.append(i, cost)
                    break
                if i % record_every == 0:
                    self.history.append(
                        i, cost if batches is None else _loss(mlp, params, self.X, self.y, l2, l1)
                    )
                grads = backward_columns(mlp, params, cache, Y_batch, l2, l1)
                if recorder is not None and recorder.wants(i):
                    before = [layer.copy() for layer in params]
                    opt.step(params, grads, self._state, lr)
                    if batches is not None:  # statistics are on the whole training set
                        cache = forward_columns(mlp, before, A0)
                        grads = backward_columns(mlp, before, cache, Y, l2, l1)
                    recorder.record(i, mlp, before, cache, Y, grads, updated=params)
                else:
                    opt.step(params, grads, self._state, lr)
            else:
                i = end
        self.iteration = i  # on divergence: the iteration whose cost was not finite
        return self.status

    def _check_memory(self, iterations: int) -> None:
        """Refuse, before allocating, a run whose parameters, activations, history and records
        after ``iterations`` iterations would not fit in memory (:mod:`initlab.limits`)."""
        recorder = self.recorder
        limits.check(limits.training_estimate(
            self.mlp.layer_sizes, self.X.shape[0], iterations=iterations,
            record_every=self.settings.record_every,
            diagnose_every=recorder.every if recorder is not None else None,
            snapshots=recorder is not None and recorder.keep_params,
            optimizer=self.settings.optimizer.name,
        ))  # fmt: skip

    def full_pass(self) -> tuple[Cache, Params]:
        """Forward and backward pass of the current parameters on the whole training set."""
        with np.errstate(over="ignore", invalid="ignore"):
            cache = forward_columns(self.mlp, self.params, self._A0)
            grads = backward_columns(self.mlp, self.params, cache, self.targets, self.l2, self.l1)
            return cache, grads

    def cost(self) -> float:
        """The training cost (the head's loss + L2 and L1 terms) of the current parameters."""
        with np.errstate(over="ignore", invalid="ignore"):
            return _loss(self.mlp, self.params, self.X, self.y, self.l2, self.l1)

    def result(self, iterations: int | None = None) -> TrainResult:
        """The run so far as a :class:`TrainResult`; records the final state if recording."""
        final_cost = self.cost()
        if self.recorder is not None and not self.diverged:
            cache, grads = self.full_pass()
            self.recorder.record(self.iteration, self.mlp, self.params, cache, self.targets, grads)
        return TrainResult(
            mlp=self.mlp,
            initial_params=self.initial,
            params=[layer.copy() for layer in self.params],
            history=self.history,
            learning_rate=self.learning_rate,
            iterations=self.iteration if iterations is None else iterations,
            iterations_run=self.iteration,
            status=self.status,
            final_cost=final_cost,
            diverged_at=self.diverged_at,
            records=self.recorder.records if self.recorder is not None else None,
        )


def train(
    mlp: MLP,
    params: Params,
    X: NDArray[np.float64],
    y: NDArray[np.integer],
    *,
    iterations: int = 15_000,
    settings: TrainSettings | None = None,
    recorder: Recorder | None = None,
    **keywords: Unpack[TrainKeywords],
) -> TrainResult:
    """Train ``mlp`` from ``params`` on ``(X, y)``; ``params`` is not modified.

    The training arguments come as one :class:`~initlab.settings.TrainSettings` or as its
    fields as keywords, not both: ``learning_rate=0.01``, ``optimizer="gd"``,
    ``batch_size=None``, ``l2=0.0``, ``seed=0``, ``record_every=1000`` (the defaults).

    Each iteration runs the forward pass, the cost, the backward pass and one optimizer
    update, in the course's order. With ``batch_size=None`` every iteration uses the whole
    training set (the course's full-batch gradient descent); otherwise each iteration uses
    the next mini-batch of a per-epoch shuffle drawn from the ``batch`` stream of ``seed``.

    The recorded cost, every ``record_every`` iterations from 0, is the training cost
    (cross-entropy + L2 term) before that iteration's update, on the whole training set.
    A non-finite cost stops training and is reported as ``status="diverged"`` with the
    iteration, never as an exception or a silent NaN.

    A :class:`~initlab.diagnostics.Recorder` records per-layer statistics on the whole
    training set every ``recorder.every`` iterations and at the end; without one the loop
    does no extra work. (:class:`Trainer` is the same loop, resumable.)
    """
    iterations = check_iterations(iterations)
    settings = settings_from(settings, keywords)
    trainer = Trainer(mlp, params, X, y, settings=settings, recorder=recorder)
    trainer.run(iterations)
    return trainer.result(iterations)

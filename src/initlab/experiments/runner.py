"""Running a sweep: expand the spec, skip what the store has, train the rest in batches.

Runs that share an architecture (data, layer sizes, activation, optimizer, schedule, dtype) are
trained together as one batch — one call of :func:`train_batch_rows`, which a process pool
or a Dask worker can run anywhere (it is a plain function of picklable arguments). Results
stream back into the :class:`~initlab.experiments.store.ResultStore` batch by batch.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from initlab import diagnostics
from initlab._io import finite_or_none
from initlab.datasets import Dataset
from initlab.experiments.config import RunConfig, build, build_data, score
from initlab.experiments.spec import Spec
from initlab.experiments.store import ResultStore, RunRow
from initlab.network import MLP, Params, forward
from initlab.train import TrainResult

MAX_BATCH = 256
"""Runs per batch: large enough to amortise a batch's start, small enough to lose little
when a sweep is killed and to spread over workers."""


def baseline_cost(y: np.ndarray, regression: bool = False) -> float:
    """The cost of the best constant prediction: for labels, the cross-entropy of predicting
    their frequencies (their entropy, nats); for regression targets, half the squared error
    of predicting their mean, ½·Σ_k Var(y_k)."""
    if regression:
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return float(0.5 * np.sum(np.var(targets, axis=0)))
    _, counts = np.unique(y, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def train_batch_rows(configs: Sequence[RunConfig]) -> list[RunRow]:
    """Train runs that share an architecture; one :class:`RunRow` per run, in order.

    Each run is built by :func:`~initlab.experiments.config.build` on the batch's one data
    set, so its network and initial weights are those of any other build of its config."""
    if not configs:
        return []
    first = configs[0]
    if any(c.architecture() != first.architecture() for c in configs):
        raise ValueError("A batch must hold runs of one architecture")
    data = build_data(first)
    base = baseline_cost(data.y_train, data.is_regression)
    # Mini-batch order comes from each run's seed: only runs of one seed share a batch order.
    subsets: dict[int | str | None, list[RunConfig]] = defaultdict(list)
    for config in configs:
        subsets[config.seed if config.settings.batch_size else None].append(config)
    rows: dict[str, RunRow] = {}
    for subset in subsets.values():
        start = time.perf_counter()
        built = [build(c, data) for c in subset]
        mlp = built[0].mlp
        # Overflow in a run's records or scores is that run's divergence, reported in its
        # row (_overflowed), never a RuntimeWarning on the console or in a worker's log.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            results, engine = _train(mlp, [b.initial_params for b in built], data, subset)
            seconds = (time.perf_counter() - start) / len(subset)
            for config, result in zip(subset, results, strict=True):
                result = _overflowed(result, data.X_train)
                rows[config.key] = _row(config, result, data, base, seconds, engine)
    return [rows[c.key] for c in configs]


def _train(
    mlp: MLP, initial: list[Params], data: Dataset, configs: Sequence[RunConfig]
) -> tuple[list[TrainResult], str]:
    """Train one architecture's runs together with the batched engine (compiled where Numba
    is installed), then derive their start and end diagnostics from snapshots."""
    from initlab.engine import EngineFallbackWarning, attach_records, lanes, train_batch

    settings = configs[0].settings
    with warnings.catch_warnings(record=True) as caught, lanes.for_every_batch():
        warnings.simplefilter("always", EngineFallbackWarning)
        results = train_batch(
            mlp, initial, data.X_train, data.y_train, settings=settings,
            learning_rate=[c.settings.learning_rate for c in configs],
            iterations=configs[0].iterations, checkpoint_every=configs[0].iterations,
            dtype=configs[0].dtype,
        )  # fmt: skip
    engine = "numpy" if any(w.category is EngineFallbackWarning for w in caught) else "numba"
    attach_records(mlp, results, data.X_train, data.y_train, l2=settings.l2, l1=settings.l1,
                   plain_gd=settings.plain_gd)  # fmt: skip
    return results, engine


def _overflowed(result: TrainResult, X: np.ndarray) -> TrainResult:
    """``result``, reported as diverged at its last iteration when its cost stayed finite but
    its trained network overflows on the training data (a pre-activation or activation
    infinite or NaN: weights grown past float range in a layer the output saturates away)."""
    if result.diverged:
        return result
    cache = forward(result.mlp, result.params, X)
    if all(np.isfinite(a).all() for a in (*cache.Z, *cache.A)):
        return result
    return dataclasses.replace(result, status="diverged", diverged_at=result.iterations_run)


def _row(
    config: RunConfig,
    result: TrainResult,
    data: Dataset,
    base: float,
    seconds: float,
    engine: str,
) -> RunRow:
    records = result.records or diagnostics.Records()
    findings = diagnostics.diagnose(records, result.diverged_at)
    costs = result.history.costs
    return RunRow(
        key=config.key,
        group=config.group,
        config=config.to_dict(),
        status=result.status,
        iterations_run=result.iterations_run,
        diverged_at=result.diverged_at,
        initial_cost=costs[0] if costs else None,
        final_cost=None if result.diverged else result.final_cost,
        baseline_cost=base,
        train_accuracy=finite_or_none(score(result, data.X_train, data.y_train)),
        test_accuracy=finite_or_none(score(result, data.X_test, data.y_test)),
        curve={"iterations": result.history.iterations, "costs": costs},
        findings=[
            {"kind": f.kind, "message": f.message, "layer": f.layer, "value": f.value}
            for f in findings
        ],
        records=records.to_dicts(histograms=True),
        params=None if result.diverged else result.params,
        seconds=seconds,
        engine=engine,
    )


def plan_batches(runs: Iterable[RunConfig], max_batch: int = MAX_BATCH) -> list[list[RunConfig]]:
    """Group runs by architecture, then cut each group into batches of at most ``max_batch``."""
    groups: dict[tuple[Any, ...], list[RunConfig]] = defaultdict(list)
    for run in runs:
        groups[run.architecture()].append(run)
    batches = []
    for group in groups.values():
        n = math.ceil(len(group) / max_batch)
        size = math.ceil(len(group) / n)  # even batches, so the workers finish together
        batches += [group[i : i + size] for i in range(0, len(group), size)]
    return batches


class Executor(Protocol):
    """Runs ``fn`` on each item, yielding results as they finish (any order)."""

    def map_unordered(
        self, fn: Callable[[list[RunConfig]], list[RunRow]], items: list[list[RunConfig]]
    ) -> Iterator[list[RunRow]]: ...


class SerialExecutor:
    """Everything in this process, one batch after another."""

    def map_unordered(
        self, fn: Callable[[list[RunConfig]], list[RunRow]], items: list[list[RunConfig]]
    ) -> Iterator[list[RunRow]]:
        for item in items:
            yield fn(item)


class ProcessExecutor:
    """A local process pool: one worker per core by default.

    Its workers never outlive the sweep: each dies with its parent process
    (:func:`~initlab.experiments.workers.die_with_parent`: killed even by SIGKILL), ignores
    Ctrl-C (the parent handles it), and the pool's workers are stopped at once when the sweep
    is interrupted (Ctrl-C, SIGTERM, an error), keeping whatever batches had been stored."""

    def __init__(self, workers: int | None = None):
        import os

        self.workers = workers or os.cpu_count() or 1

    def map_unordered(
        self, fn: Callable[[list[RunConfig]], list[RunRow]], items: list[list[RunConfig]]
    ) -> Iterator[list[RunRow]]:
        if self.workers == 1 or len(items) <= 1:
            yield from SerialExecutor().map_unordered(fn, items)
            return
        from concurrent.futures import as_completed

        from initlab.experiments.workers import worker_pool

        with worker_pool(self.workers) as pool:
            futures = [pool.submit(fn, item) for item in items]
            for future in as_completed(futures):
                yield future.result()


@dataclass
class SweepProgress:
    """What a progress callback receives after every finished batch."""

    done: int
    total: int
    skipped: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Runs per second so far (this session's runs only)."""
        return (self.done - self.skipped) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        return (self.total - self.done) / self.rate if self.rate > 0 else math.inf


def run_sweep(
    spec: Spec | Sequence[RunConfig],
    store: ResultStore,
    executor: Executor | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    max_batch: int = MAX_BATCH,
) -> SweepProgress:
    """Train every run of ``spec`` that ``store`` does not have yet; returns the final tally.

    Runs finished by an earlier (or a concurrent) sweep are skipped. Each batch is written to
    the store as soon as it finishes, so an interrupted sweep keeps everything done before.
    """
    runs = spec.runs() if isinstance(spec, Spec) else list(spec)
    done_keys = store.finished_keys()
    todo = [run for run in runs if run.key not in done_keys]
    skipped = len(runs) - len(todo)
    start = time.perf_counter()
    tally = SweepProgress(skipped, len(runs), skipped, 0.0)
    if progress is not None:
        progress(tally)
    for rows in (executor or SerialExecutor()).map_unordered(
        train_batch_rows, plan_batches(todo, max_batch)
    ):
        store.add(rows)
        tally = SweepProgress(tally.done + len(rows), len(runs), skipped,
                              time.perf_counter() - start)  # fmt: skip
        if progress is not None:
            progress(tally)
    return tally

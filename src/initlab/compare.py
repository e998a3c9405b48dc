"""The course's experiment: one network, one data set, several initializations."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab import initializers, limits, optim
from initlab._io import finite_or_none
from initlab._validate import check_choice
from initlab.datasets import Dataset, circles, load
from initlab.diagnostics import Finding, Recorder, Records, diagnose, verdict
from initlab.experiments.config import initial_params, output_for, score, sizes_for
from initlab.losses import output_size
from initlab.network import MLP, Params
from initlab.progress import ProgressHook, Reporter, next_chunk
from initlab.rng import NOTEBOOK, Seed, check_seed
from initlab.settings import TrainSettings, check_iterations
from initlab.train import Trainer, TrainResult, one_blas_thread, train

NOTEBOOK_INITS = ("zeros", "random", "he")
NOTEBOOK_LAYERS = (2, 10, 5, 1)
ENGINES = ("auto", "numba", "numpy", "reference")
DTYPES = ("float64", "float32")


@dataclass(frozen=True, repr=False)
class Run:
    """One initialization's training run and its scores."""

    init: str
    config: dict[str, Any]
    result: TrainResult
    train_accuracy: float
    test_accuracy: float
    why: str
    findings: tuple[Finding, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Run({self.init!r}, {self.result.status}, train {self.train_accuracy:.4g}, "
            f"test {self.test_accuracy:.4g}, why={self.why!r})"
        )


@dataclass(frozen=True, repr=False)
class Comparison:
    dataset: Dataset
    mlp: MLP
    seed: Seed
    runs: tuple[Run, ...]
    optimizer: str = "gd"

    def __repr__(self) -> str:
        runs = ", ".join(
            f"{r.init} {r.train_accuracy:.4g}/{r.test_accuracy:.4g}" for r in self.runs
        )
        return (
            f"Comparison({self.dataset.name}, {list(self.mlp.layer_sizes)}, seed {self.seed}, "
            f"train/test accuracy: {runs})"
        )

    def _repr_html_(self) -> str:
        from initlab._html import table

        act = (
            self.mlp.activation
            if isinstance(self.mlp.activation, str)
            else "/".join(self.mlp.activation)
        )
        caption = f"{self.dataset.name} · {list(self.mlp.layer_sizes)} {act} · seed {self.seed}"
        rows = [
            (r.init, r.result.status, r.result.final_cost, r.train_accuracy, r.test_accuracy,
             r.why)
            for r in self.runs
        ]  # fmt: skip
        return table(["init", "status", "final cost", "train acc", "test acc", "why"], rows,
                     caption)  # fmt: skip

    def to_dict(self, checkpoints: bool = True) -> dict[str, Any]:
        """A JSON-able summary (costs are ``None`` where they were not finite)."""

        return {
            "dataset": self.dataset.name,
            "layer_sizes": list(self.mlp.layer_sizes),
            "activation": self.mlp.activation,
            "output": self.mlp.output,
            "seed": self.seed,
            "optimizer": self.optimizer,
            "runs": [
                {
                    "init": run.init,
                    "config": run.config,
                    "status": run.result.status,
                    "learning_rate": run.result.learning_rate,
                    "iterations": run.result.iterations,
                    "iterations_run": run.result.iterations_run,
                    "diverged_at": run.result.diverged_at,
                    "final_cost": finite_or_none(run.result.final_cost),
                    "train_accuracy": finite_or_none(run.train_accuracy),
                    "test_accuracy": finite_or_none(run.test_accuracy),
                    "why": run.why,
                    "findings": [
                        {
                            "kind": f.kind,
                            "message": f.message,
                            "layer": f.layer,
                            "value": finite_or_none(f.value),
                        }
                        for f in run.findings
                    ],
                    **(
                        {
                            "checkpoints": {
                                "iterations": run.result.history.iterations,
                                "costs": [finite_or_none(c) for c in run.result.history.costs],
                            }
                        }
                        if checkpoints
                        else {}
                    ),
                }
                for run in self.runs
            ],
        }


def compare(
    inits: Sequence[initializers.Identifier] = NOTEBOOK_INITS,
    *,
    dataset: Dataset | str | None = None,
    layer_sizes: Sequence[int] | None = None,
    activation: str | Sequence[str] = "relu",
    learning_rate: float = 0.01,
    iterations: int = 15_000,
    seed: Seed = NOTEBOOK,
    record_every: int = 1000,
    optimizer: str | dict[str, Any] | optim.Optimizer = "gd",
    batch_size: int | None = None,
    l2: float = 0.0,
    diagnose_every: int | None = None,
    keep_params: bool = False,
    engine: str = "auto",
    dtype: str = "float64",
    progress: ProgressHook | None = None,
    l1: float = 0.0,
) -> Comparison:
    """Train one network per initializer on the same data from the same seed.

    The defaults are the course notebook's experiment: circles, ``[2, 10, 5, 1]`` ReLU,
    learning rate 0.01, 15,000 iterations of full-batch gradient descent, zeros vs ×10 random
    vs He, each initialized from a fresh ``RandomState(3)``. With an integer ``seed`` each
    initializer draws from the same fresh ``init`` stream of that seed instead (and mini-batches
    come from its ``batch`` stream; under notebook seeding, from that of seed 0).

    Every run records per-layer diagnostics (:mod:`initlab.diagnostics`) at initialization
    and at the end, and every ``diagnose_every`` iterations if given (with parameter snapshots
    if ``keep_params``); each run's ``why`` is the verdict drawn from them.

    ``engine``: ``"auto"`` (default) trains all runs as one batch with
    :func:`initlab.engine.train_batch` — the compiled Numba kernel where installed, else the
    batched NumPy engine with a notice; diagnostics then come from parameter snapshots.
    ``"numba"`` and ``"numpy"`` force one engine; ``"reference"`` runs the readable
    :func:`initlab.train.train` loop once per initializer, recording during training.

    ``dtype``: ``"float64"`` (default) or ``"float32"``, the engines' training arithmetic
    (the reference loop is float64 only). On the notebook's He run float32's final cost agrees
    with float64's to about 2e-5 relative.

    ``dataset`` is a :class:`Dataset` or a registered name (built with its defaults; for
    input features such as x₁², pass :func:`initlab.datasets.with_features` of one).
    ``layer_sizes`` defaults to ``[n_features, 10, 5,
    n_outputs]``, with one output unit for two classes, K for K classes, and one identity
    unit per target for a regression set (whose runs are then scored by R², not accuracy).
    ``l1`` is the L1 strength, as ``l2`` the L2 one (see :class:`~initlab.settings.TrainSettings`).

    ``progress``: a :data:`~initlab.progress.ProgressHook`, ``progress(done, total)``, told
    about every 0.1 s the iterations each run (one per initializer, in order) has done of
    ``iterations``; the results are the same with or without it (see
    :mod:`initlab.progress` for how each engine counts). The reference loop then trains
    each run in chunks of :class:`~initlab.train.Trainer` steps, one run after the other.

    >>> c = compare(["he"], iterations=1000)
    >>> round(c.runs[0].result.history.costs[0], 6)
    0.883054
    """
    if not inits:
        raise ValueError("Give at least one initializer to compare. Received: inits=[]")
    seed = check_seed(seed)
    data = load(dataset) if isinstance(dataset, str) else dataset or circles()
    mlp = MLP(layer_sizes or sizes_for(data, NOTEBOOK_LAYERS[1:-1]), activation, output_for(data))
    if data.n_features != mlp.n_features:
        raise ValueError(
            f"layer_sizes[0]={mlp.n_features} but dataset {data.name!r} has "
            f"{data.n_features} features; the input layer must match the data"
        )
    if data.is_regression and data.n_targets != mlp.layer_sizes[-1]:
        raise ValueError(
            f"layer_sizes[-1]={mlp.layer_sizes[-1]} but dataset {data.name!r} has "
            f"{data.n_targets} regression target(s); use {data.n_targets} output units"
        )
    if data.n_classes > mlp.n_classes:
        raise ValueError(
            f"layer_sizes[-1]={mlp.layer_sizes[-1]} but dataset {data.name!r} has "
            f"{data.n_classes} classes; use {output_size(data.n_classes)} output units"
        )
    # Validate everything before any training (in the order of the arguments' importance).
    settings = TrainSettings(learning_rate=learning_rate, optimizer=optimizer)
    check_iterations(iterations)
    if diagnose_every is not None:
        check_iterations(diagnose_every, "diagnose_every")
    if engine not in ENGINES:
        raise ValueError(f"Argument `engine` must be one of {list(ENGINES)}. Received: {engine!r}")
    check_choice("dtype", dtype, DTYPES)
    if engine == "reference" and dtype != "float64":
        raise ValueError(
            f"The reference loop trains in float64 only. Received: dtype={dtype!r}; use "
            "engine='auto', 'numba' or 'numpy' for float32"
        )
    resolved = [(init, initializers.get(init)) for init in inits]
    settings = settings.replace(batch_size=batch_size, l2=l2, l1=l1, record_every=record_every,
                                seed=0 if seed == NOTEBOOK else seed)  # fmt: skip
    every = diagnose_every or iterations
    limits.check(limits.training_estimate(
        mlp.layer_sizes, data.X_train.shape[0], models=len(resolved), iterations=iterations,
        record_every=settings.record_every, diagnose_every=every, optimizer=settings.optimizer.name,
        itemsize=np.dtype(dtype).itemsize,
    ))  # fmt: skip
    initial = [initial_params(mlp, init, seed, data) for _, init in resolved]
    if engine == "reference":
        recorders = [Recorder(every=every, keep_params=keep_params) for _ in initial]
        if progress is not None:
            results = _train_told(mlp, initial, recorders, data, iterations, settings, progress)
        else:
            results = [
                train(mlp, params, data.X_train, data.y_train, iterations=iterations,
                      settings=settings, recorder=recorder)
                for params, recorder in zip(initial, recorders)
            ]  # fmt: skip
    else:
        from initlab.engine import attach_records, train_batch

        results = train_batch(
            mlp, initial, data.X_train, data.y_train, iterations=iterations, settings=settings,
            engine=engine,  # type: ignore[arg-type]  # checked against ENGINES above
            checkpoint_every=every, dtype=np.dtype(dtype), progress=progress,
        )  # fmt: skip
        attach_records(
            mlp, results, data.X_train, data.y_train, l2=settings.l2, l1=settings.l1,
            keep_snapshots=keep_params, plain_gd=settings.plain_gd,
        )  # fmt: skip
    runs = []
    for (identifier, init), result in zip(resolved, results, strict=True):
        findings = diagnose(result.records or Records(), result.diverged_at)
        runs.append(
            Run(
                init=_label(identifier),
                config=_config(init),
                result=result,
                train_accuracy=score(result, data.X_train, data.y_train),
                test_accuracy=score(result, data.X_test, data.y_test),
                why=verdict(findings),
                findings=tuple(findings),
            )
        )
    return Comparison(data, mlp, seed, tuple(runs), settings.optimizer.name)


def _train_told(
    mlp: MLP,
    initial: Sequence[Params],
    recorders: Sequence[Recorder],
    data: Dataset,
    iterations: int,
    settings: TrainSettings,
    progress: ProgressHook,
) -> list[TrainResult]:
    """:func:`~initlab.train.train` for each of ``initial`` in turn, each advanced in chunks of
    about 0.1 s (:func:`~initlab.progress.next_chunk`) of a :class:`~initlab.train.Trainer`,
    whose ``run(a); run(b)`` is ``train(a + b)`` to the bit, telling ``progress`` between
    chunks (:class:`~initlab.progress.Reporter`)."""
    reporter = Reporter(progress, len(initial), iterations)
    done = [0] * len(initial)
    results = []
    with one_blas_thread():  # held once for all the chunks
        for k, (params, recorder) in enumerate(zip(initial, recorders)):
            trainer = Trainer(mlp, params, data.X_train, data.y_train, settings=settings,
                              recorder=recorder)  # fmt: skip
            size = next_chunk()
            while trainer.iteration < iterations and not trainer.diverged:
                began = time.perf_counter()
                trainer.run(min(size, iterations - trainer.iteration))
                size = next_chunk(size, time.perf_counter() - began)
                done[k] = iterations if trainer.diverged else trainer.iteration
                reporter.update(done)
            results.append(trainer.result(iterations))
    reporter.finish()
    return results


def _label(identifier: initializers.Identifier) -> str:
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, dict):
        return str(identifier.get("name", "custom"))
    return getattr(identifier, "name", type(identifier).__name__)


def _config(
    init: initializers.Initializer | initializers.DataDependentInitializer,
) -> dict[str, Any]:
    try:
        return initializers.get_config(init)
    except TypeError:
        return {"name": _label(init)}

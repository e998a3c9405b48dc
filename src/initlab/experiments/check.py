"""Checking a sweep before it trains: every check a run makes on its inputs, nothing trained.

:func:`check_spec` is what ``initlab sweep`` runs first, with ``--dry-run`` and without, so a
spec that passes it does not fail on its input later (a dry run that says "valid" means it).
Beyond what :func:`~initlab.experiments.spec.parse_spec` checks on the values alone, it
checks them against each other and against the machine, each once:

1. **The grid**: its number of runs, counted without expanding it, against the memory
   limit (:func:`initlab.limits.runs_estimate`).
2. **Every data set** (dataset × data seed × options), loaded as a run loads it
   (:func:`~initlab.experiments.config.load_data`): a missing file, a text cell in a numeric
   column, a file with one class, a misspelt or out-of-range option fail here, and a data set
   too large for memory is refused before it is generated or read.
3. **Every network** (data set × layer sizes or depth × width × activation), built as a run
   builds it (:func:`~initlab.experiments.config.build_mlp`), with the training data checked
   against it as :func:`~initlab.engine.train_batch` checks it (features, classes), and its
   largest batch's memory (:func:`initlab.limits.training_estimate`) against the limit.
4. **Every initializer on every network**: the initial weights drawn once, as a run draws
   them (:func:`~initlab.experiments.config.initial_params`), so a scheme that cannot fill a
   layer (``dirac`` on a dense one) or a data-dependent one that fails on the data fails here.

Errors are :class:`~initlab.experiments.spec.SpecError`\\ s that start with the spec's
``file:line:`` and the key, then the library's own message.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from initlab import limits
from initlab.datasets import Dataset
from initlab.experiments.config import RunConfig, build_mlp, initial_params, load_data
from initlab.experiments.spec import Spec, SpecError, SpecLimitError, _Locator
from initlab.network import MLP
from initlab.settings import TrainSettings

CAUSE_KEYS = {
    "iterations": ("iterations", "sweep"),
    "record_every": ("record_every", "sweep"),
    "diagnose_every": ("iterations", "sweep"),
}
"""The spec key that sets each argument a :class:`~initlab.limits.LimitError` names (the
network's own keys are found from the spec's [model] table)."""


@dataclass(frozen=True)
class Checked:
    """What :func:`check_spec` found valid: the runs, data sets and networks of the grid."""

    runs: int
    datasets: int
    networks: int


def check_spec(spec: Spec, *, max_batch: int = 256, batches_at_once: int = 1) -> Checked:
    """Check ``spec`` as its runs will use it (see the module's docstring); returns the counts.

    ``max_batch`` is the sweep's batch size and ``batches_at_once`` the batches trained side
    by side (worker processes): the memory check is for that many batches of that many runs.
    """
    where = _Locator(spec.source, spec.origin)
    count = spec.count()
    try:
        limits.check(limits.runs_estimate(count))
    except limits.LimitError as exc:
        raise SpecLimitError(exc.estimate, exc.limit, prefix=where("seeds", "sweep")) from None
    per_network = count // max(1, len(spec.datasets) * spec.axes()["model"]
                               * len(spec.activations))  # fmt: skip
    models = min(max_batch, per_network) * batches_at_once
    networks = 0
    for name, data in _datasets(spec, where):
        for mlp, what in _networks(spec, name, data, where):
            _check_memory(spec, mlp, what, data, models, where)
            _check_inits(spec, mlp, data, where)
            networks += 1
    return Checked(count, len(spec.datasets), networks)


def _datasets(spec: Spec, where: _Locator) -> Iterator[tuple[str, Dataset]]:
    """Every data set of the grid with its name, loaded as its runs load it; errors name
    ``[data]`` (the line of its options where it has any, else of ``dataset``)."""
    options = [where(key, "data.options") for key, _ in spec.data_options]
    options += [where("options", "data"), where("dataset", "data")]
    line = next((found for found in options if found != where.nowhere), where.nowhere)
    for name, features in itertools.product(spec.datasets, spec.features):
        try:
            yield name, load_data(name, spec.data_seed, spec.data_options, features)
        except limits.LimitError as exc:
            raise SpecLimitError(exc.estimate, exc.limit, prefix=line) from None
        except (ValueError, TypeError, OSError) as exc:
            named = f"dataset = {name!r}" + (f", features = {list(features)}" if features else "")
            raise SpecError(f"{line}[data] {named}: {exc}") from None


def _model_key(spec: Spec) -> str:
    return "layer_sizes" if spec.layer_sizes else "width"


def _networks(spec: Spec, name: str, data: Dataset, where: _Locator) -> Iterator[tuple[MLP, str]]:
    """Every network of the grid on ``data`` and its ``[model]`` keys in words, built as a
    run builds it, the data checked against it as the engines check it; errors name
    ``[model]``."""
    shapes: list[tuple[Any, Any, Any]] = (
        [(sizes, None, None) for sizes in spec.layer_sizes]
        if spec.layer_sizes
        else [(None, d, w) for d, w in itertools.product(spec.depths, spec.widths)]
    )
    for (sizes, depth, width), activation in itertools.product(shapes, spec.activations):
        config = RunConfig(name, spec.data_seed, spec.data_options, sizes, depth, width,
                           activation, (("name", "zeros"),), spec.iterations,
                           TrainSettings())  # fmt: skip
        what = f"layer_sizes = {list(sizes)}" if sizes else f"depth = {depth}, width = {width}"
        on = f"[model] {what} on the data set {name!r}"
        try:
            mlp = build_mlp(config, data)
            mlp.check_data(data.X_train, data.y_train)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"{where(_model_key(spec), 'model')}{on}: {exc}") from None
        yield mlp, what


def _check_memory(
    spec: Spec, mlp: MLP, what: str, data: Dataset, models: int, where: _Locator
) -> None:
    """Refuse a network (``what``: its ``[model]`` keys) whose largest batch would not fit in
    memory, naming the key behind the largest part of the estimate: the model's, or
    ``[sweep]`` iterations and record_every."""
    compiled = importlib.util.find_spec("numba") is not None
    optimizers = [TrainSettings(optimizer=o).optimizer.name for o in spec.optimizers]
    estimate = limits.training_estimate(
        mlp.layer_sizes, data.X_train.shape[0], models=models,
        parallel=(os.cpu_count() or 1) if compiled else None, iterations=spec.iterations,
        record_every=spec.record_every, diagnose_every=spec.iterations,
        optimizer=max(optimizers, key=lambda name: limits.OPTIMIZER_SLOTS.get(name, 2)),
        itemsize=8 if "float64" in spec.dtypes else 4,
    )  # fmt: skip
    try:
        limits.check(estimate)
    except limits.LimitError as exc:
        key, section = CAUSE_KEYS.get(exc.cause[0], (_model_key(spec), "model"))
        keys = (
            f"[model] {what}"
            if section == "model"
            else f"[sweep] iterations = {spec.iterations}, record_every = {spec.record_every}"
        )
        prefix = f"{where(key, section)}{keys}: "
        raise SpecLimitError(exc.estimate, exc.limit, prefix=prefix) from None


def _check_inits(spec: Spec, mlp: MLP, data: Dataset, where: _Locator) -> None:
    """Draw every initializer's weights for ``mlp`` once, as its runs draw them."""
    for init in spec.inits:
        config = dict(init)
        try:
            initial_params(mlp, config, spec.seeds[0], data)
        except (ValueError, TypeError) as exc:
            name = config["name"]
            line = where(str(name), "init", value_line=True)
            raise SpecError(
                f"{line}[[init]] {name} on layer sizes {list(mlp.layer_sizes)}: {exc}"
            ) from None

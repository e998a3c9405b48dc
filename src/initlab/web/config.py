"""What a playground session trains: its configuration, the server's limits, and the spec.

A :class:`PlaygroundConfig` is parsed from the page's JSON by :func:`parse_config`, which
checks every field against :class:`Limits` and initlab's registries and fails with a
:class:`ConfigError` naming the field, the value and what is allowed. :func:`to_spec` turns
a configuration into an initlab experiment spec (TOML) that ``initlab sweep`` runs. What the
page's controls offer (``GET /api/options``) is listed by :mod:`initlab.web.choices`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from initlab import _validate, activations, datasets, initializers, optim
from initlab import limits as memory
from initlab.datasets.features import check_features
from initlab.experiments.config import RunConfig, to_toml
from initlab.losses import output_size
from initlab.rng import NOTEBOOK, Seed
from initlab.settings import TrainSettings

UPLOAD_PREFIX = "upload:"


class ConfigError(ValueError):
    """A request the server rejects; the message is shown to the user as it is."""


@dataclass(frozen=True)
class Limits:
    """What one session may ask of the server (``initlab serve`` options change them)."""

    max_hidden_layers: int = 8
    max_width: int = 64
    max_points: int = 2000
    max_runs: int = 4
    max_iterations: int = 50_000
    """Per run: a run stops (status ``finished``) when it reaches this many iterations."""
    max_step: int = 5000
    """Iterations per step request."""
    max_step_flops: float = 2e9
    """Training work per step request: a step is cut to the iterations that fit (at least
    one), so a big network cannot hold the server for long; the frame says how far it got."""
    max_upload_bytes: int = 256 * 1024
    max_uploads: int = 64
    """Uploaded files kept; past this the oldest of the client holding the most is dropped
    (sessions keep their loaded data)."""
    max_uploads_per_client: int = 32
    """Uploaded files kept per client (network address); past this its own oldest is dropped,
    so one client's uploads never push out another's (:mod:`initlab.web.fairness`)."""
    max_request_bytes: int = 64 * 1024
    """Any other request body (a configuration is well under 1 KiB)."""
    max_features: int = 32
    """Features of an uploaded file, and input features a configuration names."""
    max_classes: int = 20
    max_sessions: int = 64
    """Sessions at once; when full, the client holding the most gives way to one holding less."""
    max_sessions_per_client: int = 32
    """Sessions one client (network address) may hold; past this its new ones are refused."""
    idle_seconds: float = 900.0
    grid: int = 100
    """The decision boundary's grid: ``grid × grid`` points."""
    neuron_grid: int = 24
    """The network diagram's per-neuron maps: ``neuron_grid × neuron_grid`` points over the
    boundary's box, each drawn ~30 px wide (:mod:`initlab.web.neurons`). Measured on 2 shared,
    loaded cores with the notebook's [2, 10, 5, 1]: one run's 24 × 24 maps, histograms and
    weights take 0.4–0.6 ms and 17 KB of JSON (a 4-run frame, JSON included, 4.8 → 7.0 ms,
    fastest of 20); 48 × 48 takes 1.6–1.8 ms and 59 KB."""
    max_diagram_neurons: int = 64
    """Frames carry every neuron's map, weights and histogram for networks of at most this
    many hidden and output neurons; a larger network's diagram is a note saying so."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlaygroundConfig:
    """One session's data, network, initializers (one run each) and training settings."""

    dataset: str = "circles"
    noise: float | None = None
    """``None``: the dataset's default noise."""
    points: int = 400
    test_fraction: float = 0.25
    data_seed: Seed = NOTEBOOK
    features: tuple[str, ...] | None = None
    """The network's inputs, computed from the data's raw inputs
    (:mod:`initlab.datasets.features`, canonical names such as ``"x1^2"``); ``None``: the raw
    inputs themselves (``x1, x2`` for the generated sets)."""
    hidden: tuple[int, ...] = (10, 5)
    activation: str = "relu"
    inits: tuple[tuple[tuple[str, Any], ...], ...] = ((("name", "he"),),)
    """Each initializer's config as sorted ``(key, value)`` pairs, ``name`` included."""
    optimizer: str = "gd"
    learning_rate: float = 0.01
    batch_size: int | None = None
    l2: float = 0.0
    l1: float = 0.0
    seed: int = 0

    @property
    def init_configs(self) -> list[dict[str, Any]]:
        return [dict(init) for init in self.inits]

    @property
    def is_upload(self) -> bool:
        return self.dataset.startswith(UPLOAD_PREFIX)

    @property
    def upload_id(self) -> str | None:
        """The upload's id for ``dataset = "upload:<id>"``, else ``None``."""
        return self.dataset.removeprefix(UPLOAD_PREFIX) if self.is_upload else None

    @property
    def n_test(self) -> int:
        return round(self.points * self.test_fraction)

    @property
    def settings(self) -> TrainSettings:
        """The training arguments, validated by :class:`~initlab.settings.TrainSettings`."""
        return TrainSettings(learning_rate=self.learning_rate, optimizer=self.optimizer,
                             batch_size=self.batch_size, l2=self.l2, seed=self.seed,
                             l1=self.l1)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "noise": self.noise,
            "points": self.points,
            "test_fraction": self.test_fraction,
            "data_seed": self.data_seed,
            "features": None if self.features is None else list(self.features),
            "hidden": list(self.hidden),
            "activation": self.activation,
            "inits": self.init_configs,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "l2": self.l2,
            "l1": self.l1,
            "seed": self.seed,
        }


FIELDS = tuple(PlaygroundConfig().to_dict())


def unknown_upload(dataset: str) -> ConfigError:
    return ConfigError(
        f"dataset: upload {dataset!r} is not on this server (it keeps the last uploads for as "
        "long as it runs); upload the CSV file again"
    )


def check_int(name: str, value: object, low: int, high: int, what: str = "") -> int:
    """``value`` if it is an integer in [low, high] (the library's
    :func:`~initlab._validate.check_int` with this server's bounds); otherwise a
    :class:`ConfigError` that names the field, the value and the range."""
    try:
        return _validate.check_int(name, value, low, high)
    except ValueError:
        raise ConfigError(
            f"{name}: {value!r} is not allowed; give an integer from {low} to {high}{what}"
        ) from None


def _float_field(name: str, value: object, low: float, high: float, open_low: bool) -> float:
    try:
        return _validate.check_real(name, value, low=low, high=high, low_open=open_low)
    except ValueError:
        bracket = "(" if open_low else "["
        raise ConfigError(
            f"{name}: {value!r} is not allowed; give a number in {bracket}{low}, {high}]"
        ) from None


def _choice(name: str, value: object, names: list[str]) -> str:
    """One of a registry's ``names``, given in any case."""
    try:
        return _validate.check_choice(name, value.lower() if isinstance(value, str) else value,
                                      names)  # fmt: skip
    except ValueError:
        raise ConfigError(
            f"{name}: {value!r} is not allowed; choose one of {', '.join(names)}"
        ) from None


def _has_notebook_data(dataset: str) -> bool:
    """Whether the data set has the course's notebook data (its seed defaults to it)."""
    seed = inspect.signature(datasets.DATASETS.get(dataset)).parameters.get("seed")
    return seed is not None and bool(seed.default == NOTEBOOK)


def parse_config(
    raw: object, limits: Limits, uploads: Container[str] | None = None
) -> PlaygroundConfig:
    """Validate the page's JSON configuration; missing fields take their defaults.

    ``uploads`` holds the ids of uploaded data sets (``dataset = "upload:<id>"``).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"The configuration must be a JSON object; received {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"Unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}"
        )
    default = PlaygroundConfig()

    def get(key: str) -> Any:
        return raw.get(key, getattr(default, key))

    dataset = get("dataset")
    if isinstance(dataset, str) and dataset.startswith(UPLOAD_PREFIX):
        if uploads is None or dataset.removeprefix(UPLOAD_PREFIX) not in uploads:
            raise unknown_upload(dataset)
    else:
        names = datasets.DATASETS.names()
        dataset = _choice("dataset", dataset, names)
        dataset = datasets.DATASETS.canonical(dataset)
    noise = get("noise")
    if noise is not None:
        noise = _float_field("noise", noise, 0.0, 10.0, open_low=False)
    points = check_int("points", get("points"), 4, limits.max_points)
    test_fraction = _float_field("test_fraction", get("test_fraction"), 0.0, 0.9, open_low=True)
    n_test = round(points * test_fraction)
    if n_test < 1 or points - n_test < 2:
        raise ConfigError(
            f"test_fraction: {test_fraction!r} of {points} points leaves {points - n_test} to "
            f"train and {n_test} to test; each side needs at least one (training two)"
        )
    data_seed = get("data_seed")
    if isinstance(data_seed, str) and data_seed.strip().isdigit():
        data_seed = int(data_seed)
    notebook_ok = not dataset.startswith(UPLOAD_PREFIX) and _has_notebook_data(dataset)
    if not (
        (data_seed == NOTEBOOK and notebook_ok)
        or (_validate.is_int(data_seed) and 0 <= data_seed < 2**32)
    ):
        allowed = "an integer ≥ 0" + (" or 'notebook'" if notebook_ok else "")
        raise ConfigError(f"data_seed: {data_seed!r} is not allowed for {dataset}; give {allowed}")
    features = parse_features(get("features"), limits)

    hidden_raw = get("hidden")
    if isinstance(hidden_raw, str):
        hidden_raw = [h for h in re.split(r"[,\s]+", hidden_raw.strip()) if h]
        try:
            hidden_raw = [int(h) for h in hidden_raw]
        except ValueError:
            raise ConfigError(
                f"hidden: {get('hidden')!r} is not allowed; give widths such as 10,5"
            ) from None
    if not isinstance(hidden_raw, list | tuple):
        raise ConfigError(f"hidden: {hidden_raw!r} is not allowed; give a list of widths")
    if len(hidden_raw) > limits.max_hidden_layers:
        raise ConfigError(
            f"hidden: {len(hidden_raw)} hidden layers is over this server's limit of "
            f"{limits.max_hidden_layers}"
        )
    for width in hidden_raw:
        if not _validate.is_int(width) or not 1 <= width <= limits.max_width:
            raise ConfigError(
                f"hidden: a width of {width!r} is not allowed; each hidden layer needs 1 to "
                f"{limits.max_width} units (this server's limit)"
            )
    activation = _choice("activation", get("activation"), activations.ACTIVATIONS.names())
    activation = activations.ACTIVATIONS.canonical(activation)

    inits_raw = get("inits")
    if isinstance(inits_raw, tuple):
        inits_raw = [dict(i) for i in inits_raw]
    if not isinstance(inits_raw, list) or not 1 <= len(inits_raw) <= limits.max_runs:
        count = len(inits_raw) if isinstance(inits_raw, list) else inits_raw
        raise ConfigError(
            f"inits: {count!r} initializers is not allowed; give 1 to {limits.max_runs} "
            "(one run each)"
        )
    inits = tuple(_parse_init(k, init) for k, init in enumerate(inits_raw))

    optimizer = _choice("optimizer", get("optimizer"), optim.OPTIMIZERS.names())
    optimizer = optim.OPTIMIZERS.canonical(optimizer)
    learning_rate = _float_field("learning_rate", get("learning_rate"), 0.0, 100.0, open_low=True)
    batch_size = get("batch_size")
    if batch_size == 0:
        batch_size = None
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 0, limits.max_points, " (0: full batch)")
    l2 = _float_field("l2", get("l2"), 0.0, 100.0, open_low=False)
    l1 = _float_field("l1", get("l1"), 0.0, 100.0, open_low=False)
    seed = check_int("seed", get("seed"), 0, 2**32 - 1)
    config = PlaygroundConfig(
        dataset=dataset,
        noise=noise,
        points=points,
        test_fraction=test_fraction,
        data_seed=data_seed,
        features=features,
        hidden=tuple(int(h) for h in hidden_raw),
        activation=activation,
        inits=inits,
        optimizer=optimizer,
        learning_rate=learning_rate,
        batch_size=batch_size,
        l2=l2,
        l1=l1,
        seed=seed,
    )
    try:
        config.settings  # noqa: B018  # the library's rules for the training arguments
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return config


def parse_features(raw: object, limits: Limits) -> tuple[str, ...] | None:
    """The ``features`` field: ``None`` (the raw inputs), or a list of feature names (or one
    comma-separated text) as canonical, distinct names
    (:func:`~initlab.datasets.features.check_features`), at most ``limits.max_features``.
    Whether the data has the inputs they read is checked once the data is known
    (:func:`check_inputs`)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [name.strip() for name in raw.split(",") if name.strip()]
    if isinstance(raw, list | tuple) and len(raw) > limits.max_features:
        raise ConfigError(
            f"features: {len(raw)} features is over this server's limit of {limits.max_features}"
        )
    try:
        return check_features(raw)  # type: ignore[arg-type]  # checked there, with its message
    except ValueError as exc:
        raise ConfigError(f"features: {exc}") from None


def check_inputs(config: PlaygroundConfig, n_inputs: int) -> None:
    """A :class:`ConfigError` naming ``features`` if one of them reads an input the data
    (``n_inputs`` raw inputs) lacks."""
    if config.features is None:
        return
    try:
        check_features(config.features, n_inputs)
    except ValueError as exc:
        raise ConfigError(f"features: {exc}") from None


def _parse_init(index: int, raw: object) -> tuple[tuple[str, Any], ...]:
    where = f"inits[{index}]"
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise ConfigError(f"{where}: {raw!r} is not allowed; give {{'name': ..., args…}}")
    name = raw["name"].lower()
    if name not in initializers.INITIALIZERS:
        raise ConfigError(
            f"{where}: initializer {raw['name']!r} is not registered; choose one of "
            f"{', '.join(initializers.INITIALIZERS.names())}"
        )
    name = initializers.INITIALIZERS.canonical(name)
    args = {k: v for k, v in raw.items() if k != "name"}
    for key, value in args.items():
        finite = _validate.is_real(value) and math.isfinite(value)
        if not (value is None or isinstance(value, str) or finite):
            raise ConfigError(
                f"{where}: argument {key}={value!r} of {name!r} is not allowed; "
                "give a finite number or a name"
            )
    try:
        initializers.get({"name": name, **args})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ArithmeticError as exc:  # an argument so large its formula overflows
        given = ", ".join(f"{k}={v!r}" for k, v in args.items())
        raise ConfigError(
            f"{where}: {name!r} cannot be built from {given} ({exc}); give smaller values"
        ) from None
    return (("name", name), *sorted(args.items()))


# --- the memory a session needs --------------------------------------------------------------

FIELD_OF_CAUSE = {"layer_sizes": "hidden", "n_train": "points", "n_test": "points"}
"""The configuration field behind an estimate's argument (:attr:`initlab.limits.Part.cause`)."""


@functools.cache
def dataset_task(name: str) -> str:
    """``"classification"`` or ``"regression"``: what the registered data set ``name``'s targets
    are (:func:`initlab.datasets.registry.task_of`, without building it)."""
    from initlab.datasets.registry import task_of

    return task_of(name)


def generated_shape(config: PlaygroundConfig) -> tuple[int, int, int]:
    """Points, raw inputs and classes of a generated data set, from its generator's defaults
    (the playground sets neither ``n_features`` nor the number of classes); a regression set
    counts as 0 classes."""
    params = inspect.signature(datasets.DATASETS.get(config.dataset)).parameters
    features = params["n_features"].default if "n_features" in params else 2
    if dataset_task(config.dataset) == "regression":
        return config.points, int(features), 0
    classes = next((params[p].default for p in ("centers", "arms") if p in params), 2)
    return config.points, int(features), int(classes)


def session_estimate(
    config: PlaygroundConfig, limits: Limits, shape: tuple[int, int, int], curve_every: int
) -> memory.Estimate:
    """What a session of ``config`` holds at its peak, from its arguments alone (nothing built):
    the runs' parameters and activations (:func:`initlab.limits.network_parts`), the
    parameter snapshots one step keeps (one per ``curve_every`` iterations of the most a step
    trains: ``max_step``, cut to ``max_step_flops``), the data and the boundary grid.

    ``shape`` is the data's points, raw inputs and classes (:func:`generated_shape`, or the
    upload's; 0 classes: one regression target); the network's inputs are its features where
    the configuration names them."""
    points, features, classes = shape
    if config.features is not None:
        features = len(config.features)
    sizes = [features, *config.hidden, output_size(classes) if classes else 1]
    runs, params = len(config.inits), memory.n_parameters(sizes)
    n_train = points - round(points * config.test_fraction)
    batch = min(config.batch_size or n_train, n_train)
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    work = 6 * batch * weights * runs  # a step's flops per iteration, as Session.step counts
    per_step = min(limits.max_step, max(1, int(limits.max_step_flops // work)))
    snapshots = per_step // curve_every + 2
    parts = (
        *memory.network_parts(sizes, n_train, models=runs, optimizer=config.optimizer),
        memory.Part(
            "the parameter snapshots of a step",
            runs * snapshots * params * memory.SNAPSHOT_VALUE_BYTES,
            f"{snapshots:,} snapshots of {params:,} parameters per run, {per_step:,} "
            f"iterations of batch {batch:,}",
            ("layer_sizes",),
        ),
        memory.Part(
            "the data",
            points * (features + 1) * memory.GENERATED_POINT_BYTES,
            f"{points:,} points of {features} features",
            ("n_train",),
        ),
        memory.Part(
            "the decision boundaries",
            runs * limits.grid**2 * (2 + classes) * memory.FLOAT,
            f"a {limits.grid}×{limits.grid} grid per run",
            ("grid",),
        ),
    )
    subject = f"a session of {runs} run{'s' * (runs != 1)} of {sizes} on {n_train:,} points"
    return memory.Estimate(subject, parts)


def check_memory(
    config: PlaygroundConfig, limits: Limits, shape: tuple[int, int, int], curve_every: int
) -> None:
    """A :class:`ConfigError` naming the field, the estimate and the limit if a session of
    ``config`` would need more memory than ``INITLAB_MAX_MEMORY`` allows (before building)."""
    try:
        memory.check(session_estimate(config, limits, shape, curve_every))
    except memory.LimitError as exc:
        fields = dict.fromkeys(FIELD_OF_CAUSE.get(c, c) for c in exc.cause)
        raise ConfigError(f"{', '.join(fields)}: {exc}") from None


# --- the experiment spec -------------------------------------------------------------------


def data_options(config: PlaygroundConfig, task: str = "classification") -> dict[str, Any]:
    """The keyword arguments of :func:`initlab.datasets.load` (besides the seed); ``task`` is
    an upload's (``"regression"``: its label column holds real targets)."""
    if config.is_upload:
        options: dict[str, Any] = {"test_fraction": config.test_fraction}
        if task != "classification":
            options["task"] = task
        return options
    options = {"n_train": config.points - config.n_test, "n_test": config.n_test}
    if config.noise is not None:
        options["noise"] = config.noise
    return options


def run_configs(
    config: PlaygroundConfig,
    layer_sizes: Sequence[int],
    iterations: int,
    record_every: int,
    dataset: str | None = None,
    task: str = "classification",
) -> list[RunConfig]:
    """The configuration's runs, one per initializer, as initlab builds and trains them
    (:func:`initlab.experiments.config.build`): ``layer_sizes`` are the network sized to the
    data (its features), ``dataset`` the name or file the data comes from (default:
    ``config.dataset``), ``task`` an upload's (:func:`data_options`)."""
    settings = config.settings.replace(record_every=record_every)
    options = tuple(sorted(data_options(config, task).items()))
    return [
        RunConfig(dataset or config.dataset, config.data_seed, options, tuple(layer_sizes), None,
                  None, config.activation, tuple(sorted(init)), iterations, settings,
                  features=config.features or ())
        for init in config.inits
    ]  # fmt: skip


def to_spec(
    config: PlaygroundConfig,
    layer_sizes: Sequence[int],
    iterations: int,
    upload_name: str | None = None,
    name: str = "playground",
    upload_task: str = "classification",
    planned: int | None = None,
) -> str:
    """The configuration as an initlab experiment spec: ``initlab sweep`` on it trains the
    same runs (same data and features, network, initial weights and updates) for
    ``iterations``, the iteration reached; before any training (``iterations = 0``) for
    ``planned``, the iterations a session runs to (``Limits.max_iterations``), where given.
    ``upload_task`` is an upload's (its ``[data] options`` say ``task = "regression"`` for
    real targets)."""
    reached = f"at iteration {iterations}"
    if iterations == 0 and planned:
        reached = f"before training; it trains for the session's {planned} iterations"
        iterations = planned
    comments = [
        f"Exported from the initlab playground {reached}.",
        "Run it with:  initlab sweep <this file>",
    ]
    dataset = config.dataset
    if config.is_upload:
        dataset = upload_name or "upload.csv"
        comments.append(f"The data is your uploaded file: save it as {dataset} beside this spec.")
    iterations = max(1, iterations)
    runs = run_configs(config, layer_sizes, iterations, max(1, iterations // 10), dataset,
                       upload_task)  # fmt: skip
    return to_toml(runs, name=name, comments=comments)

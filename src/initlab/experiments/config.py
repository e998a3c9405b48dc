"""A run's configuration and the one builder from it to data, network and initial weights.

A :class:`RunConfig` is one fully specified training run: the data set (name or file, its
options and seed), the network (``layer_sizes``, or ``depth`` hidden layers of ``width``
units sized to the data), the initializer's config, the number of iterations and the
training arguments as one :class:`~initlab.settings.TrainSettings`. :func:`build` turns it
into a :class:`Built`: the data set loaded, the :class:`~initlab.network.MLP` (its output
layer sized by :attr:`Dataset.n_outputs`, the one place of that rule) and the
initial weights, drawn as :func:`~initlab.compare.compare`, a sweep and the playground all draw them
(:func:`initial_params`). :func:`score` is the accuracy every caller reports. A run trains in
float64 unless its ``dtype`` is ``"float32"`` (:data:`DTYPES`).

A configuration round-trips: :meth:`RunConfig.to_dict` is what the result store keeps
(its :attr:`~RunConfig.key` is that dict's hash), :meth:`RunConfig.from_row` reads it back,
and :func:`to_toml` writes a sweep spec that ``initlab sweep`` runs to the same runs.

>>> config = RunConfig("circles", "notebook", (), None, 1, 4, "relu", (("name", "he"),), 100,
...                    TrainSettings(learning_rate=0.1, record_every=50))
>>> built = build(config)
>>> built.mlp.layer_sizes, built.settings.learning_rate
((2, 4, 1), 0.1)
>>> RunConfig.from_row(config.to_dict()) == config
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from initlab import datasets, initializers, optim
from initlab._validate import check_choice
from initlab.datasets import Dataset
from initlab.datasets.features import check_features
from initlab.network import MLP, Params
from initlab.rng import Seed, init_rng
from initlab.settings import TrainSettings, check_iterations

if TYPE_CHECKING:
    from initlab.experiments.store import RunRow
    from initlab.train import TrainResult

DTYPES = ("float64", "float32")
"""The arithmetic a run may train in (:func:`initlab.engine.train_batch`'s ``dtype``), by
name. The default, float64, is left out of :meth:`RunConfig.to_dict` and so out of the run's
key: runs stored before ``dtype`` existed keep their keys."""


def sizes_for(data: Dataset, hidden: Iterable[int]) -> tuple[int, ...]:
    """Layer sizes with ``hidden`` widths between the data's features and its output units
    (:attr:`Dataset.n_outputs`).

    >>> sizes_for(datasets.circles(), (10, 5))
    (2, 10, 5, 1)
    """
    return (data.n_features, *hidden, data.n_outputs)


def output_for(data: Dataset) -> str | None:
    """The output layer a network on ``data`` has: the identity for a regression set, else
    the classification head of its size (``None``)."""
    return "identity" if data.is_regression else None


def score(result: TrainResult, X: Any, y: Any) -> float:
    """The score of a trained run on ``(X, y)``: its accuracy, or R² for a regression
    network (scikit-learn's ``score`` convention); NaN where there is nothing meaningful to
    score (the run diverged, or the set is empty)."""
    if result.diverged or len(y) == 0:
        return float("nan")
    if result.mlp.is_regression:
        from initlab.network import r2

        return r2(result.mlp, result.params, X, y)
    return result.accuracy(X, y)


@dataclass(frozen=True)
class RunConfig:
    """One fully specified training run."""

    dataset: str
    """A registered data set's name, or a ``.csv``/``.npz`` path."""
    data_seed: Seed
    data_options: tuple[tuple[str, Any], ...]
    """The data set's keyword arguments besides its seed, as sorted ``(name, value)`` pairs."""
    layer_sizes: tuple[int, ...] | None
    """``None``: ``[n_features] + [width] * depth + [n_outputs]``, sized to the data."""
    depth: int | None
    width: int | None
    activation: str
    init: tuple[tuple[str, Any], ...]
    """The initializer's config, ``(("name", ...), (arg, value), …)``, sorted."""
    iterations: int
    settings: TrainSettings
    """Learning rate, optimizer, batch size, L2, seed (its ``init`` stream draws the weights,
    its ``batch`` stream orders the mini-batches) and cost recording."""
    dtype: str = "float64"
    """The training arithmetic, one of :data:`DTYPES` (results are float64 either way)."""
    features: tuple[str, ...] = ()
    """The input features computed from the data's raw inputs
    (:mod:`initlab.datasets.features`, canonical names); empty: the raw inputs."""

    def __post_init__(self) -> None:
        if not isinstance(self.settings, TrainSettings):
            raise TypeError(
                f"Argument `settings` must be a TrainSettings. Received: settings={self.settings!r}"
            )
        object.__setattr__(self, "iterations", check_iterations(self.iterations))
        check_choice("dtype", self.dtype, DTYPES)
        if self.features:
            object.__setattr__(self, "features", check_features(self.features))
        if self.layer_sizes is None and (self.depth is None or self.width is None):
            raise ValueError(
                "A run needs layer_sizes, or depth and width. Received: "
                f"layer_sizes=None, depth={self.depth!r}, width={self.width!r}"
            )

    @property
    def seed(self) -> Seed:
        """The run's seed (``settings.seed``)."""
        return self.settings.seed

    @property
    def init_name(self) -> str:
        return str(dict(self.init)["name"])

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data: what a result store keeps, and hashes as the key
        (``dtype`` only where it is not float64, ``l1`` and ``features`` only where given:
        keys of runs stored before they existed are unchanged)."""
        s = self.settings
        d: dict[str, Any] = {
            "dataset": self.dataset,
            "data_seed": self.data_seed,
            "data_options": dict(self.data_options),
            "layer_sizes": list(self.layer_sizes) if self.layer_sizes else None,
            "depth": self.depth,
            "width": self.width,
            "activation": self.activation,
            "init": dict(self.init),
            "learning_rate": s.learning_rate,
            "optimizer": _optimizer_value(s.optimizer),
            "batch_size": s.batch_size,
            "l2": s.l2,
            "iterations": self.iterations,
            "record_every": s.record_every,
            "seed": s.seed,
        }
        if self.dtype != DTYPES[0]:
            d["dtype"] = self.dtype
        if s.l1:
            d["l1"] = s.l1
        if self.features:
            d["features"] = list(self.features)
        return d

    @classmethod
    def from_row(cls, row: RunRow | Mapping[str, Any]) -> RunConfig:
        """The configuration of a stored run (a :class:`~initlab.experiments.store.RunRow`,
        or its ``config`` dict): the inverse of :meth:`to_dict`, with the same :attr:`key`."""
        config: Mapping[str, Any] = row if isinstance(row, Mapping) else row.config
        sizes = config.get("layer_sizes")
        return cls(
            dataset=config["dataset"],
            data_seed=config["data_seed"],
            data_options=tuple(sorted(config.get("data_options", {}).items())),
            layer_sizes=tuple(sizes) if sizes else None,
            depth=config.get("depth"),
            width=config.get("width"),
            activation=config["activation"],
            init=tuple(sorted(config["init"].items())),
            iterations=config["iterations"],
            settings=TrainSettings(
                learning_rate=config["learning_rate"],
                optimizer=config["optimizer"],
                batch_size=config.get("batch_size"),
                l2=config.get("l2", 0.0),
                seed=config["seed"],
                record_every=config["record_every"],
                l1=config.get("l1", 0.0),
            ),
            dtype=config.get("dtype", DTYPES[0]),
            features=tuple(config.get("features", ())),
        )

    @property
    def key(self) -> str:
        """SHA-256 of the canonical JSON of the full config: the run's identity in a store."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def group(self) -> str:
        """The configuration without its seed: runs that differ only by seed share a group."""
        d = self.to_dict()
        del d["seed"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def architecture(self) -> tuple[Any, ...]:
        """What runs must share to be trained as one batch (same network, data, schedule,
        arithmetic)."""
        s = self.settings
        return (
            self.dataset,
            self.data_seed,
            self.data_options,
            self.layer_sizes,
            self.depth,
            self.width,
            self.activation,
            s.optimizer,
            s.batch_size,
            s.l2,
            s.l1,
            self.iterations,
            s.record_every,
            self.dtype,
            self.features,
        )

    def to_toml(self, name: str = "run") -> str:
        """This run as a sweep spec (see :func:`to_toml`)."""
        return to_toml([self], name=name)


def _optimizer_value(optimizer: optim.Optimizer) -> str | dict[str, Any]:
    """The optimizer's name where it has its default hyperparameters, else its config."""
    if optimizer == optim.get(optimizer.name):
        return optimizer.name
    return optim.get_config(optimizer)


# --- building --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Built:
    """What a run trains: its data, its network, its initial weights and its settings."""

    data: Dataset
    mlp: MLP
    initial_params: Params
    settings: TrainSettings

    def __repr__(self) -> str:
        return f"Built({self.data.name}, {list(self.mlp.layer_sizes)}, {self.settings!r})"


def load_data(
    dataset: str,
    seed: Seed,
    options: Iterable[tuple[str, Any]] = (),
    features: Sequence[str] = (),
) -> Dataset:
    """The data set ``dataset`` (a registered name or a ``.csv``/``.npz`` path) built with
    ``seed`` and ``options``, its inputs replaced by ``features`` where given: the same for
    every run that shares them."""
    data = datasets.load(dataset, seed=seed, **dict(options))
    return datasets.with_features(data, features) if features else data


def build_data(config: RunConfig) -> Dataset:
    """The run's data set (:func:`load_data` of its dataset, data seed, options and
    features)."""
    return load_data(config.dataset, config.data_seed, config.data_options, config.features)


def build_mlp(config: RunConfig, data: Dataset) -> MLP:
    """The run's network: ``layer_sizes``, or its hidden widths sized to ``data``."""
    if config.layer_sizes is not None:
        return MLP(config.layer_sizes, config.activation, output_for(data))
    hidden = [config.width or 0] * (config.depth or 0)
    return MLP(sizes_for(data, hidden), config.activation, output_for(data))


def initial_params(mlp: MLP, init: initializers.Identifier, seed: Seed, data: Dataset) -> Params:
    """The initial weights of ``mlp`` drawn by ``init`` from a fresh generator of ``seed``
    (:func:`~initlab.rng.init_rng`: the ``init`` stream, or the notebook's ``RandomState(3)``);
    data-dependent schemes (LSUV) see the training set. Every initializer compared under one
    seed starts from the same stream."""
    return initializers.init_params(mlp, init_rng(seed), init, X=data.X_train)


def build(config: RunConfig, data: Dataset | None = None) -> Built:
    """Data, network, initial weights and training settings of ``config``; ``data``, where
    given, is used instead of loading the run's data set again (runs of one batch share it)."""
    data = build_data(config) if data is None else data
    mlp = build_mlp(config, data)
    params = initial_params(mlp, dict(config.init), config.seed, data)
    return Built(data, mlp, params, config.settings)


# --- writing specs ---------------------------------------------------------------------


def spec_dict(configs: Sequence[RunConfig], name: str = "run") -> dict[str, Any]:
    """The sweep spec (as :func:`~initlab.experiments.spec.parse_spec` reads it) whose runs
    are ``configs``: runs that differ only in their initializer, one ``[[init]]`` each."""
    if not configs:
        raise ValueError("Give at least one run to write as a spec. Received: configs=[]")
    first = configs[0]
    for other in configs[1:]:
        if other.replace(init=first.init) != first:
            raise ValueError(
                "A spec written from runs holds runs that differ only in their initializer; "
                f"{other.to_dict()} differs from {first.to_dict()} in more"
            )
    s = first.settings
    optimizer = _optimizer_value(s.optimizer)
    if not isinstance(optimizer, str):
        raise ValueError(
            f"A spec names its optimizer, with its default arguments. Received: {optimizer!r}"
        )
    data: dict[str, Any] = {"dataset": first.dataset, "seed": first.data_seed}
    if first.features:
        data["features"] = list(first.features)
    if first.data_options:
        data["options"] = dict(first.data_options)
    model: dict[str, Any] = (
        {"layer_sizes": list(first.layer_sizes)}
        if first.layer_sizes is not None
        else {"depth": first.depth, "width": first.width}
    )
    train: dict[str, Any] = {"learning_rate": s.learning_rate, "optimizer": optimizer}
    if s.batch_size is not None:
        train["batch_size"] = s.batch_size
    if s.l2:
        train["l2"] = s.l2
    if s.l1:
        train["l1"] = s.l1
    if first.dtype != DTYPES[0]:
        train["dtype"] = first.dtype
    return {
        "sweep": {
            "name": name,
            "seeds": [s.seed],
            "iterations": first.iterations,
            "record_every": s.record_every,
        },
        "data": data,
        "model": {**model, "activation": first.activation},
        "init": [_init_table(c.init) for c in configs],
        "train": train,
    }


def _init_table(init: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """An initializer's ``[[init]]`` table: scalar arguments only, as in a spec (where a list
    is an axis); TOML has no null, and an argument given as ``None`` takes its default."""
    table = {}
    for key, value in init:
        if value is None:
            continue
        if not isinstance(value, str | int | float):
            raise ValueError(
                f"A spec's [[init]] arguments are numbers or names (a list there is an axis). "
                f"Received: {key}={value!r}"
            )
        table[key] = value
    return table


def to_toml(configs: Sequence[RunConfig], name: str = "run", comments: Iterable[str] = ()) -> str:
    """:func:`spec_dict` as TOML text, after ``comments`` (one ``#`` line each): a spec that
    ``initlab sweep`` runs to exactly ``configs``.

    >>> config = RunConfig("moons", 0, (), (2, 8, 1), None, None, "tanh", (("name", "he"),),
    ...                    200, TrainSettings(record_every=20))
    >>> print(to_toml([config], name="one"))  # doctest: +ELLIPSIS
    [sweep]
    name = "one"
    seeds = [
        0,
    ]
    iterations = 200
    record_every = 20
    <BLANKLINE>
    [data]
    dataset = "moons"
    seed = 0
    ...
    """
    import tomli_w

    spec = spec_dict(configs, name)
    # Section by section, so that the tables read in the spec's order with one [[init]]
    # table per initializer (tomli_w would write a short array of tables inline, first).
    chunks = [tomli_w.dumps({section: spec[section]}) for section in ("sweep", "data", "model")]
    chunks += ["[[init]]\n" + tomli_w.dumps(table) for table in spec["init"]]
    chunks.append(tomli_w.dumps({"train": spec["train"]}))
    header = "".join(f"# {line}\n" for line in comments)
    return header + ("\n" if header else "") + "\n".join(chunks)

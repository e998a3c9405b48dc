"""Experiment specs: a grid of runs, written as TOML or built in Python.

A spec names the axes of a sweep; every list is an axis and the runs are their Cartesian
product, times the seeds::

    [sweep]
    name = "scale-by-depth"
    seeds = 5                       # or a list: [0, 1, 2]
    iterations = 2000
    record_every = 100

    [data]
    dataset = "circles"             # or a list of names; options go in [data.options]
    seed = "notebook"               # the data's own seed (the same data for every run)
    features = ["x1", "x2", "x1^2"] # input features (optional; a list of lists is an axis)

    [model]
    depth = [1, 2, 4]               # hidden layers …
    width = 10                      # … of this width; or layer_sizes = [[2, 10, 5, 1]]
    activation = "relu"

    [[init]]                        # one table per scheme; list-valued arguments are axes
    name = "random"
    scale = { logspace = [-2, 1, 7] }   # 7 scales from 10^-2 to 10^1

    [[init]]
    name = "he"

    [train]
    learning_rate = [0.01, 0.1]
    optimizer = "gd"
    l1 = 0.0                        # L1 strength (λ₁/m)·Σ|W|, as l2 an axis when a list
    dtype = "float64"               # or "float32": the training arithmetic (default float64)

:func:`load_spec` validates everything before any training: unknown keys, wrong types, empty
grids and bad values (a negative scale) fail with the file's line and key, added to the
message of the library's own check of that value. Each expanded
:class:`~initlab.experiments.config.RunConfig` has a stable
:attr:`~initlab.experiments.config.RunConfig.key` (a hash of its full config), which the
result store uses to skip finished runs; :func:`~initlab.experiments.config.to_toml` writes
runs back as a spec.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from initlab import activations, datasets, initializers, limits, optim
from initlab._validate import check_choice, check_int, invalid, is_int, is_real
from initlab.datasets.features import check_features
from initlab.experiments.config import DTYPES, RunConfig
from initlab.network import MLP
from initlab.rng import Seed, check_seed
from initlab.settings import TrainSettings, check_iterations, check_l2


class SpecError(ValueError):
    """A spec that cannot run; the message names the line (for files), the key, the value
    and what is allowed."""


class SpecLimitError(SpecError, limits.LimitError):
    """A spec whose grid, data or batches would not fit in memory: a :class:`SpecError` (its
    message starts with the line and key) and a :class:`~initlab.limits.LimitError`."""


SECTIONS: dict[str, tuple[str, ...]] = {
    "sweep": ("name", "seeds", "iterations", "record_every"),
    "data": ("dataset", "seed", "options", "features"),
    "model": ("layer_sizes", "depth", "width", "activation"),
    "train": ("learning_rate", "optimizer", "batch_size", "l2", "l1", "dtype"),
}
RANGE_KEYS = ("logspace", "linspace", "values")


@dataclass(frozen=True)
class Spec:
    """A validated sweep: its axes, and :meth:`runs` to expand them."""

    name: str
    seeds: tuple[int, ...]
    iterations: int
    record_every: int
    datasets: tuple[str, ...]
    data_seed: Seed
    data_options: tuple[tuple[str, Any], ...]
    layer_sizes: tuple[tuple[int, ...], ...] = ()
    depths: tuple[int, ...] = ()
    widths: tuple[int, ...] = ()
    activations: tuple[str, ...] = ("relu",)
    inits: tuple[tuple[tuple[str, Any], ...], ...] = ()
    learning_rates: tuple[float, ...] = (0.01,)
    optimizers: tuple[str, ...] = ("gd",)
    batch_sizes: tuple[int | None, ...] = (None,)
    l2s: tuple[float, ...] = (0.0,)
    l1s: tuple[float, ...] = (0.0,)
    dtypes: tuple[str, ...] = (DTYPES[0],)
    features: tuple[tuple[str, ...], ...] = ((),)
    """Input feature sets (:mod:`initlab.datasets.features`); ``()`` is the raw inputs."""
    source: str | None = field(default=None, compare=False)
    origin: str = field(default="spec", compare=False)
    """Where the spec came from (its file), for messages."""

    def axes(self) -> dict[str, int]:
        """The number of values of every axis, by name (``"model"``: the networks)."""
        shapes = len(self.layer_sizes) or len(self.depths) * len(self.widths)
        return {
            "dataset": len(self.datasets), "model": shapes, "activation": len(self.activations),
            "init": len(self.inits), "learning_rate": len(self.learning_rates),
            "optimizer": len(self.optimizers), "batch_size": len(self.batch_sizes),
            "l2": len(self.l2s), "l1": len(self.l1s), "dtype": len(self.dtypes),
            "features": len(self.features),
            "seeds": len(self.seeds),
        }  # fmt: skip

    def count(self) -> int:
        """The number of runs, counted without expanding them: the product of the axes."""
        return math.prod(self.axes().values())

    def runs(self) -> list[RunConfig]:
        """Every run of the grid, in a stable order; a grid too large to plan in memory is
        refused first (:func:`initlab.limits.runs_estimate`)."""
        limits.check(limits.runs_estimate(self.count(), _axes_text(self.axes())))
        shapes: list[tuple[tuple[int, ...] | None, int | None, int | None]]
        if self.layer_sizes:
            shapes = [(sizes, None, None) for sizes in self.layer_sizes]
        else:
            shapes = [(None, d, w) for d, w in itertools.product(self.depths, self.widths)]
        out = []
        for (
            (dataset, features), (sizes, depth, width), act, init, lr, opt, bs, (l2, l1), dtype,
            seed,
        ) in itertools.product(
            itertools.product(self.datasets, self.features), shapes, self.activations,
            self.inits, self.learning_rates, self.optimizers, self.batch_sizes,
            itertools.product(self.l2s, self.l1s), self.dtypes, self.seeds,
        ):  # fmt: skip
            settings = TrainSettings(learning_rate=lr, optimizer=opt, batch_size=bs, l2=l2,
                                     seed=seed, record_every=self.record_every,
                                     l1=l1)  # fmt: skip
            config = RunConfig(dataset, self.data_seed, self.data_options, sizes, depth, width,
                               act, init, self.iterations, settings, dtype,
                               features)  # fmt: skip
            out.append(config)
        return out


# --- loading and validation ------------------------------------------------------------


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML spec; errors name the line, the key and the allowed values."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"Cannot read the spec {str(file)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{file}: not a TOML spec (byte {exc.start} is not UTF-8 text: {exc.reason})"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{file}: not valid TOML: {exc}") from None
    return parse_spec(raw, source=text, origin=str(file))


def parse_spec(raw: Mapping[str, Any], source: str | None = None, origin: str = "spec") -> Spec:
    """Validate a spec given as a dict (the same structure as the TOML file).

    Values are checked by the library's own checks (:mod:`initlab._validate`, the
    registries, :class:`~initlab.network.MLP`, :class:`~initlab.settings.TrainSettings`'
    rules, :func:`initlab.initializers.get`); an error adds the line and the key to the
    library's message.
    """
    where = _Locator(source, origin)
    allowed_sections = (*SECTIONS, "init")
    for section in raw:
        if section not in allowed_sections:
            raise SpecError(
                f"{where(section)}unknown section [{section}]; allowed: "
                f"{', '.join('[' + s + ']' for s in allowed_sections)}"
            )
    for section, keys in SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, Mapping):
            raise SpecError(f"{where(section)}[{section}] must be a table")
        for key in table:
            if key not in keys:
                raise SpecError(
                    f"{where(key, section)}unknown key {key!r} in [{section}]; allowed: "
                    f"{', '.join(keys)}"
                )

    tables = {name: raw.get(name, {}) for name in SECTIONS}
    sweep, data, model = tables["sweep"], tables["data"], tables["model"]
    _check_count(tables, raw.get("init", [{"name": "he"}]), where)

    def fail(section: str, key: str, value: Any, exc: Exception, allowed: str | None) -> SpecError:
        """The library's message after the line and key; or, where the spec has its own
        documented wording for a rule, ``key = value is not allowed; allowed``."""
        if allowed is not None:
            return SpecError(
                f"{where(key, section)}[{section}] {key} = {value!r} is not allowed; {allowed}"
            )
        return SpecError(f"{where(key, section)}[{section}] {key}: {exc}")

    def axis(section: str, key: str, default: Any) -> list[Any]:
        value = tables[section].get(key, default)
        values = _expand(value, f"{where(key, section)}[{section}] {key}")
        if not values:
            raise SpecError(f"{where(key, section)}[{section}] {key} is an empty grid")
        return values

    def checked(
        values: list[Any],
        section: str,
        key: str,
        check: Callable[[Any], Any],
        allowed: str | None = None,
    ) -> list[Any]:
        """Every value as the library's ``check`` returns it (canonical names, ints, floats)."""
        out = []
        for v in values:
            try:
                out.append(check(v))
            except (ValueError, TypeError) as exc:
                raise fail(section, key, v, exc, allowed) from None
        return out

    def grid(section: str, key: str, default: Any, check: Callable[[Any], Any],
             allowed: str | None = None) -> list[Any]:  # fmt: skip
        """Every value of the grid ``[section] key``, checked by the library's ``check``."""
        return checked(axis(section, key, default), section, key, check, allowed)

    def scalar(section: str, key: str, default: Any, check: Callable[[Any], Any],
               allowed: str | None = None) -> Any:  # fmt: skip
        return checked([tables[section].get(key, default)], section, key, check, allowed)[0]

    seeds_value = sweep.get("seeds", 1)
    if is_int(seeds_value) and seeds_value > 0:
        seeds = list(range(seeds_value))
    else:
        seeds = grid(
            "sweep",
            "seeds",
            1,
            lambda v: check_int("seeds", v, 0, must="a count ≥ 1 or a list of integers ≥ 0"),
        )
    iterations = scalar("sweep", "iterations", 1000, check_iterations, "give a positive integer")
    record_every = scalar(
        "sweep",
        "record_every",
        max(1, iterations // 10),
        lambda v: check_iterations(v, "record_every"),
    )

    names = grid(
        "data",
        "dataset",
        "circles",
        _dataset_name,
        f"known datasets: {', '.join(datasets.DATASETS.names())}, or a .csv/.npz path",
    )
    data_seed = checked(
        [data.get("seed", "notebook" if names == ["circles"] else 0)], "data", "seed", check_seed
    )[0]
    features_value = data.get("features", [])
    nested_features = isinstance(features_value, list) and any(
        isinstance(v, list) for v in features_value
    )
    feature_sets = checked(
        features_value if nested_features else [features_value],
        "data",
        "features",
        lambda v: check_features(v) if v else (),
    )
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        raise SpecError(f"{where('options', 'data')}[data] options must be a table of arguments")

    if "layer_sizes" in model and ("depth" in model or "width" in model):
        raise SpecError(
            f"{where('layer_sizes', 'model')}[model] give layer_sizes, or depth and width, not both"
        )
    layer_sizes: list[tuple[int, ...]] = []
    depths: list[int] = []
    widths: list[int] = []
    if "layer_sizes" in model:
        value = model["layer_sizes"]
        nested = isinstance(value, list) and value and isinstance(value[0], list)
        sizes_grid = value if nested else [value]
        layer_sizes = checked(sizes_grid, "model", "layer_sizes", _layer_sizes)
    else:
        depths = grid(
            "model",
            "depth",
            2,
            lambda v: check_int("depth", v, 0, must="an integer ≥ 0 (hidden layers)"),
        )
        widths = grid(
            "model", "width", 10, lambda v: check_int("width", v, 1), "give positive integers"
        )
    acts = grid("model", "activation", "relu", activations.ACTIVATIONS.canonical)

    inits = _inits(raw.get("init", [{"name": "he"}]), where)

    lrs = grid("train", "learning_rate", 0.01, optim.check_learning_rate, "give positive numbers")
    opts = grid(
        "train",
        "optimizer",
        "gd",
        optim.OPTIMIZERS.canonical,
        f"known optimizers: {', '.join(optim.OPTIMIZERS.names())}",
    )
    batch_sizes = grid(
        "train",
        "batch_size",
        0,
        lambda v: check_int("batch_size", v, 0, must="an integer ≥ 1, or 0 for full batch"),
    )
    l2s = grid("train", "l2", 0.0, check_l2)
    l1s = grid("train", "l1", 0.0, lambda v: check_l2(v, "l1"))
    dtypes = grid("train", "dtype", DTYPES[0], lambda v: check_choice("dtype", v, DTYPES))

    return Spec(
        name=str(sweep.get("name", "sweep")),
        seeds=tuple(seeds),
        iterations=iterations,
        record_every=record_every,
        datasets=tuple(names),
        data_seed=data_seed,
        data_options=tuple(sorted(options.items())),
        layer_sizes=tuple(layer_sizes),
        depths=tuple(depths),
        widths=tuple(widths),
        activations=tuple(acts),
        inits=tuple(inits),
        learning_rates=tuple(lrs),
        optimizers=tuple(opts),
        batch_sizes=tuple(b or None for b in batch_sizes),
        l2s=tuple(l2s),
        l1s=tuple(l1s),
        dtypes=tuple(dtypes),
        features=tuple(feature_sets),
        source=source,
        origin=origin,
    )


# --- counting runs without expanding them -------------------------------------------------

AXES: dict[str, tuple[str, str]] = {
    "dataset": ("data", "dataset"), "activation": ("model", "activation"),
    "learning_rate": ("train", "learning_rate"), "optimizer": ("train", "optimizer"),
    "batch_size": ("train", "batch_size"), "l2": ("train", "l2"), "l1": ("train", "l1"),
    "dtype": ("train", "dtype"),
}  # fmt: skip
"""The plain axes: name → (section, key)."""


def _axis_length(value: Any) -> int:
    """The number of values :func:`_expand` would make of ``value``, without making them
    (a malformed range counts as one: :func:`_expand` refuses it later, naming it)."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, Mapping) and len(value) == 1:
        kind, args = next(iter(value.items()))
        if kind == "values":
            return _axis_length(args)
        if kind in RANGE_KEYS and isinstance(args, list) and len(args) == 3 and is_int(args[2]):
            return max(int(args[2]), 1)
    return 1


def _raw_axes(tables: Mapping[str, Any], inits: Any) -> dict[str, tuple[int, str, str | None]]:
    """Every axis of a raw spec: name → (values, the key that sets it, its section)."""
    sweep, model = tables["sweep"], tables["model"]
    seeds = sweep.get("seeds", 1)
    axes: dict[str, tuple[int, str, str | None]] = {
        name: (_axis_length(tables[section].get(key)), key, section)
        for name, (section, key) in AXES.items()
    }
    axes["seeds"] = (seeds if is_int(seeds) and seeds > 0 else _axis_length(seeds), "seeds",
                     "sweep")  # fmt: skip
    features = tables["data"].get("features")
    nested_features = isinstance(features, list) and any(isinstance(v, list) for v in features)
    axes["features"] = (len(features) if nested_features else 1, "features", "data")
    if "layer_sizes" in model:
        sizes = model["layer_sizes"]
        nested = isinstance(sizes, list) and sizes and isinstance(sizes[0], list)
        axes["model"] = (len(sizes) if nested else 1, "layer_sizes", "model")
    else:
        shapes = _axis_length(model.get("depth")) * _axis_length(model.get("width"))
        axes["model"] = (shapes, "depth" if "depth" in model else "width", "model")
    schemes = [t for t in (inits if isinstance(inits, list) else [inits]) if isinstance(t, Mapping)]
    lengths = [(_axis_length(v), k) for t in schemes for k, v in t.items() if k != "name"]
    configs = sum(math.prod(_axis_length(v) for k, v in t.items() if k != "name") for t in schemes)
    longest = max(lengths, default=(1, ""))
    axes["init"] = (max(configs, 1), *((longest[1], "init") if longest[0] > 1 else ("init", None)))
    return axes


def _axes_text(counts: Mapping[str, int]) -> str:
    """``"seeds 1,000 × init 7"``: the axes with more than one value."""
    return " × ".join(f"{name} {n:,}" for name, n in counts.items() if n > 1)


def _check_count(tables: Mapping[str, Any], inits: Any, where: _Locator) -> None:
    """Refuse a grid with more runs than fit in memory before expanding any axis, naming its
    largest axis' line."""
    axes = _raw_axes(tables, inits)
    counts = {name: n for name, (n, _, _) in axes.items()}
    try:
        limits.check(limits.runs_estimate(math.prod(counts.values()), _axes_text(counts)))
    except limits.LimitError as exc:
        _, key, section = axes[max(counts, key=lambda name: counts[name])]
        line = where(key, section) if section else where(key)
        raise SpecLimitError(exc.estimate, exc.limit, prefix=line) from None


def _dataset_name(value: object) -> str:
    """A data set :func:`initlab.datasets.load` builds: a registered name or a data file."""
    if not isinstance(value, str):
        raise invalid("dataset", "a data set's name or a .csv/.npz path", value)
    if not value.endswith((".csv", ".npz")):
        datasets.DATASETS.canonical(value)
    return value


def _layer_sizes(value: object) -> tuple[int, ...]:
    """One network's layer sizes, as :class:`~initlab.network.MLP` accepts them."""
    if not isinstance(value, list):
        raise invalid(
            "layer_sizes", "a list of ≥ 2 positive integers, or a list of such lists", value
        )
    return MLP(value).layer_sizes


def _expand(value: Any, label: str) -> list[Any]:
    """A scalar → [scalar]; a list → itself; ``{logspace = [a, b, n]}`` → 10^linspace(a, b, n);
    ``{linspace = [a, b, n]}``; ``{values = [...]}``."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in RANGE_KEYS:
            raise SpecError(
                f"{label}: a range is one of {{logspace = [a, b, n]}}, "
                f"{{linspace = [a, b, n]}}, {{values = [...]}}. Received: {dict(value)!r}"
            )
        kind, args = next(iter(value.items()))
        if kind == "values":
            return _expand(args, label)
        if not (
            isinstance(args, list)
            and len(args) == 3
            and all(is_real(a) for a in args)
            and is_int(args[2])
            and args[2] >= 1
        ):
            raise SpecError(
                f"{label}: {kind} takes [start, stop, count] with count ≥ 1. Received: {args!r}"
            )
        points = np.linspace(args[0], args[1], args[2])
        grid = 10.0**points if kind == "logspace" else points
        return [float(v) for v in grid]
    return [value]


def _inits(value: Any, where: _Locator) -> list[tuple[tuple[str, Any], ...]]:
    tables = value if isinstance(value, list) else [value]
    if not tables:
        raise SpecError(f"{where('init')}[[init]] is an empty grid: give at least one scheme")
    out = []
    for table in tables:
        if not isinstance(table, Mapping) or "name" not in table:
            raise SpecError(
                f"{where('init')}every [[init]] table needs a name. Received: {table!r}"
            )
        name = table["name"]
        if not isinstance(name, str) or name not in initializers.INITIALIZERS:
            raise SpecError(
                f"{where(str(name), None, value_line=True)}[[init]] name = {name!r} "
                f"is not allowed; known initializers: "
                f"{', '.join(initializers.INITIALIZERS.names())}"
            )
        args = {
            k: _expand(v, f"{where(k, 'init')}[[init]] {name}.{k}")
            for k, v in table.items()
            if k != "name"
        }
        for k, values in args.items():
            if not values:
                raise SpecError(f"{where(k, 'init')}[[init]] {name}.{k} is an empty grid")
        for combo in itertools.product(*args.values()) if args else [()]:
            config = {"name": initializers.INITIALIZERS.canonical(name), **dict(zip(args, combo))}
            try:
                scheme = initializers.get(config)
            except (ValueError, TypeError) as exc:
                line = where(next(iter(args)) if args else name, "init", value_line=not args)
                raise SpecError(f"{line}[[init]] {name}: {exc}") from None
            if isinstance(config.get("distribution"), str):
                # The name of what is drawn, not its alias: "normal" now means Keras'
                # truncated normal, so its runs must not share keys with a store's older
                # "normal" (plain normal) runs.
                config["distribution"] = getattr(scheme, "distribution", config["distribution"])
            out.append(tuple(sorted(config.items())))
    return out


class _Locator:
    """Finds the line of a key in the spec's TOML source, for error messages."""

    def __init__(self, source: str | None, origin: str):
        self.lines = source.splitlines() if source is not None else []
        self.origin = origin
        self.nowhere = f"{origin}: " if self.lines else ""
        """What a key that is not found gets: the file alone."""

    def __call__(self, key: str, section: str | None = None, value_line: bool = False) -> str:
        if not self.lines:
            return ""
        current = None
        header = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?")
        for number, line in enumerate(self.lines, start=1):
            stripped = line.split("#", 1)[0]
            m = header.match(stripped)
            if m:
                current = m.group(1)
                if key == current and section is None:
                    return f"{self.origin}:{number}: "
                continue
            if section is not None and current != section:
                continue
            if value_line and key in stripped:
                return f"{self.origin}:{number}: "
            if re.match(rf"^\s*{re.escape(key)}\s*=", stripped):
                return f"{self.origin}:{number}: "
        return f"{self.origin}: "

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

:func:`load_spec` validates everything before any training: unknown keys, wrong types, empty
grids and bad values (a negative scale) fail with the file's line and the allowed values.
Each expanded :class:`RunConfig` has a stable :attr:`~RunConfig.key` (a hash of its full
config), which the result store uses to skip finished runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from initlab import activations, datasets, initializers, optim


class SpecError(ValueError):
    """A spec that cannot run; the message names the line (for files), the key, the value
    and what is allowed."""


SECTIONS: dict[str, tuple[str, ...]] = {
    "sweep": ("name", "seeds", "iterations", "record_every"),
    "data": ("dataset", "seed", "options"),
    "model": ("layer_sizes", "depth", "width", "activation"),
    "train": ("learning_rate", "optimizer", "batch_size", "l2"),
}
RANGE_KEYS = ("logspace", "linspace", "values")


@dataclass(frozen=True)
class RunConfig:
    """One fully specified training run."""

    dataset: str
    data_seed: int | str
    data_options: tuple[tuple[str, Any], ...]
    layer_sizes: tuple[int, ...] | None
    """``None``: ``[n_features] + [width] * depth + [n_outputs]``, sized to the data."""
    depth: int | None
    width: int | None
    activation: str
    init: tuple[tuple[str, Any], ...]
    """The initializer's config, ``(("name", ...), (arg, value), …)``, sorted."""
    learning_rate: float
    optimizer: str
    batch_size: int | None
    l2: float
    iterations: int
    record_every: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "data_seed": self.data_seed,
            "data_options": dict(self.data_options),
            "layer_sizes": list(self.layer_sizes) if self.layer_sizes else None,
            "depth": self.depth,
            "width": self.width,
            "activation": self.activation,
            "init": dict(self.init),
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "l2": self.l2,
            "iterations": self.iterations,
            "record_every": self.record_every,
            "seed": self.seed,
        }

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

    @property
    def init_name(self) -> str:
        return str(dict(self.init)["name"])

    def architecture(self) -> tuple[Any, ...]:
        """What runs must share to be trained as one batch (same network, data, schedule)."""
        return (
            self.dataset,
            self.data_seed,
            self.data_options,
            self.layer_sizes,
            self.depth,
            self.width,
            self.activation,
            self.optimizer,
            self.batch_size,
            self.l2,
            self.iterations,
            self.record_every,
        )


@dataclass(frozen=True)
class Spec:
    """A validated sweep: its axes, and :meth:`runs` to expand them."""

    name: str
    seeds: tuple[int, ...]
    iterations: int
    record_every: int
    datasets: tuple[str, ...]
    data_seed: int | str
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
    source: str | None = field(default=None, compare=False)

    def runs(self) -> list[RunConfig]:
        """Every run of the grid, in a stable order."""
        shapes: list[tuple[tuple[int, ...] | None, int | None, int | None]]
        if self.layer_sizes:
            shapes = [(sizes, None, None) for sizes in self.layer_sizes]
        else:
            shapes = [(None, d, w) for d, w in itertools.product(self.depths, self.widths)]
        out = []
        for dataset, (sizes, depth, width), act, init, lr, opt, bs, l2, seed in itertools.product(
            self.datasets,
            shapes,
            self.activations,
            self.inits,
            self.learning_rates,
            self.optimizers,
            self.batch_sizes,
            self.l2s,
            self.seeds,
        ):
            out.append(
                RunConfig(
                    dataset,
                    self.data_seed,
                    self.data_options,
                    sizes,
                    depth,
                    width,
                    act,
                    init,
                    lr,
                    opt,
                    bs,
                    l2,
                    self.iterations,
                    self.record_every,
                    seed,
                )
            )
        return out


# --- loading and validation ------------------------------------------------------------


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML spec; errors name the line, the key and the allowed values."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"Cannot read the spec {str(file)!r}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{file}: not valid TOML: {exc}") from None
    return parse_spec(raw, source=text, origin=str(file))


def parse_spec(raw: Mapping[str, Any], source: str | None = None, origin: str = "spec") -> Spec:
    """Validate a spec given as a dict (the same structure as the TOML file)."""
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
    sweep, data = raw.get("sweep", {}), raw.get("data", {})
    model, train = raw.get("model", {}), raw.get("train", {})

    def axis(table: Mapping[str, Any], section: str, key: str, default: Any) -> list[Any]:
        value = table.get(key, default)
        values = _expand(value, f"{where(key, section)}[{section}] {key}")
        if not values:
            raise SpecError(f"{where(key, section)}[{section}] {key} is an empty grid")
        return values

    def checked(values: list[Any], section: str, key: str, check: Any, allowed: str) -> list[Any]:
        for v in values:
            if not check(v):
                raise SpecError(
                    f"{where(key, section)}[{section}] {key} = {v!r} is not allowed; {allowed}"
                )
        return values

    def positive_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    seeds_value = sweep.get("seeds", 1)
    if positive_int(seeds_value):
        seeds = list(range(seeds_value))
    else:
        seeds = checked(
            axis(sweep, "sweep", "seeds", 1),
            "sweep",
            "seeds",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "give a count ≥ 1 or a list of integers ≥ 0",
        )
    iterations = _scalar(
        sweep, "iterations", 1000, positive_int, "a positive integer", where, "sweep"
    )
    record_every = _scalar(
        sweep,
        "record_every",
        max(1, iterations // 10),
        positive_int,
        "a positive integer",
        where,
        "sweep",
    )

    names = checked(
        axis(data, "data", "dataset", "circles"),
        "data",
        "dataset",
        lambda v: isinstance(v, str) and (v in datasets.DATASETS or v.endswith((".csv", ".npz"))),
        f"known datasets: {', '.join(datasets.DATASETS.names())}, or a .csv/.npz path",
    )
    data_seed = data.get("seed", "notebook" if names == ["circles"] else 0)
    if not (data_seed == "notebook" or (isinstance(data_seed, int) and data_seed >= 0)):
        raise SpecError(
            f"{where('seed', 'data')}[data] seed = {data_seed!r} is not allowed; "
            "give an integer ≥ 0 or 'notebook'"
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
        grid = value if value and isinstance(value[0], list) else [value]
        for sizes in grid:
            if not (
                isinstance(sizes, list) and len(sizes) >= 2 and all(positive_int(s) for s in sizes)
            ):
                raise SpecError(
                    f"{where('layer_sizes', 'model')}[model] layer_sizes = {sizes!r} "
                    "is not allowed; give a list of ≥ 2 positive integers, or a list "
                    "of such lists"
                )
            layer_sizes.append(tuple(sizes))
    else:
        depths = checked(
            axis(model, "model", "depth", 2),
            "model",
            "depth",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "give integers ≥ 0 (hidden layers)",
        )
        widths = checked(
            axis(model, "model", "width", 10),
            "model",
            "width",
            positive_int,
            "give positive integers",
        )
    acts = checked(
        axis(model, "model", "activation", "relu"),
        "model",
        "activation",
        lambda v: isinstance(v, str) and v in activations.ACTIVATIONS,
        f"known activations: {', '.join(activations.ACTIVATIONS.names())}",
    )

    inits = _inits(raw.get("init", [{"name": "he"}]), where)

    lrs = checked(
        axis(train, "train", "learning_rate", 0.01),
        "train",
        "learning_rate",
        lambda v: number(v) and v > 0,
        "give positive numbers",
    )
    opts = checked(
        axis(train, "train", "optimizer", "gd"),
        "train",
        "optimizer",
        lambda v: isinstance(v, str) and v in optim.OPTIMIZERS,
        f"known optimizers: {', '.join(optim.OPTIMIZERS.names())}",
    )
    batch_sizes = checked(
        axis(train, "train", "batch_size", 0),
        "train",
        "batch_size",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "give integers ≥ 1, or 0 for full batch",
    )
    l2s = checked(
        axis(train, "train", "l2", 0.0),
        "train",
        "l2",
        lambda v: number(v) and v >= 0,
        "give numbers ≥ 0",
    )

    return Spec(
        name=str(sweep.get("name", "sweep")),
        seeds=tuple(int(s) for s in seeds),
        iterations=iterations,
        record_every=record_every,
        datasets=tuple(names),
        data_seed=data_seed,
        data_options=tuple(sorted(options.items())),
        layer_sizes=tuple(layer_sizes),
        depths=tuple(depths),
        widths=tuple(widths),
        activations=tuple(activations.ACTIVATIONS.canonical(a) for a in acts),
        inits=tuple(inits),
        learning_rates=tuple(float(v) for v in lrs),
        optimizers=tuple(optim.OPTIMIZERS.canonical(o) for o in opts),
        batch_sizes=tuple(int(b) or None for b in batch_sizes),
        l2s=tuple(float(v) for v in l2s),
        source=source,
    )


def _scalar(
    table: Mapping[str, Any],
    key: str,
    default: Any,
    check: Any,
    allowed: str,
    where: _Locator,
    section: str,
) -> Any:
    value = table.get(key, default)
    if not check(value):
        raise SpecError(
            f"{where(key, section)}[{section}] {key} = {value!r} is not allowed; give {allowed}"
        )
    return value


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
            and all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
            and isinstance(args[2], int)
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
                initializers.get(config)
            except (ValueError, TypeError) as exc:
                line = where(next(iter(args)) if args else name, "init", value_line=not args)
                raise SpecError(f"{line}[[init]] {name}: {exc}") from None
            out.append(tuple(sorted(config.items())))
    return out


class _Locator:
    """Finds the line of a key in the spec's TOML source, for error messages."""

    def __init__(self, source: str | None, origin: str):
        self.lines = source.splitlines() if source is not None else []
        self.origin = origin

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

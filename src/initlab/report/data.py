"""The report's data model: what it reads from a result store and how it summarises it.

:func:`load` turns a :class:`~initlab.experiments.store.ResultStore` into a :class:`Sweep`
(the runs, and their configurations summarized over seeds by
:func:`initlab.experiments.stats.summarize`), and the functions below select from it what the
sections show: the lines of a scheme, the facets of a figure, the configurations of the grids,
the cells of a phase diagram, the data sets of the decision boundaries. Nothing here draws or
writes HTML; the values are written for people by :func:`value` and :func:`sig`, which the
figures and the HTML share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab._validate import is_real
from initlab.datasets import Dataset
from initlab.experiments import stats
from initlab.experiments.config import RunConfig, build_data
from initlab.experiments.store import ResultStore, RunRow

if TYPE_CHECKING:
    import pandas as pd

MAX_CONFIGS = 12
"""Configurations whose cost curves and decision boundaries the page shows when it opens
(evenly spread over the summary table); the reader picks others."""

MAX_PANELS = 12
"""Small multiples per figure (values of the axes that are neither the scheme nor the scale)."""

SCALE_ARGS = ("scale", "std", "stddev", "gain", "sigma_w", "sigma")
"""Preferred names of an initializer's scale argument; any other numeric argument that varies
serves when none of these does."""


@dataclass(frozen=True)
class Sweep:
    """What the sections read: the runs, and their configurations summarized over seeds."""

    path: Path
    frame: pd.DataFrame
    """One row per run (:meth:`ResultStore.to_dataframe`)."""
    runs: dict[str, RunRow]
    configs: pd.DataFrame
    """:func:`stats.summarize` of ``frame``, sorted; ``_keys`` lists each row's runs."""
    keys: list[str]
    """The configuration columns (:func:`stats.config_columns`)."""
    varying: list[str]
    """Configuration columns that take more than one value."""
    scale: dict[str, str]
    """Scheme → the numeric init argument it varies (its scale axis)."""

    @property
    def facets(self) -> list[str]:
        """Varying columns other than the initializer and its arguments."""
        return [c for c in self.varying if c != "init" and not c.startswith("init.")]

    def label(self, config: pd.Series, columns: Sequence[str] | None = None) -> str:
        """``random scale=0.1, depth=2``: the scheme, then the varying values that apply."""
        parts = [str(config["init"])]
        for column in columns if columns is not None else self.varying:
            item = config[column]
            if column == "init" or missing(item):
                continue
            name = column.removeprefix("init.")
            parts.append(f"{name}={value(item)}")
        return parts[0] + (" " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def open_store(path: Path) -> ResultStore:
    """The store at ``path``, opened read-only: a report never creates or changes a file."""
    if not path.exists():
        raise FileNotFoundError(
            f"No result store at {str(path)!r}: the file does not exist. "
            "Run a sweep into it first (initlab sweep SPEC --store FILE)."
        )
    return ResultStore(path, read_only=True)


def load(store: ResultStore) -> Sweep:
    """The :class:`Sweep` of ``store``; ``ValueError`` when it has no runs."""
    rows = store.rows()
    if not rows:
        raise ValueError(
            f"The store {str(store.path)!r} has no runs, so there is nothing to report. "
            "Run a sweep into it first (initlab sweep SPEC --store FILE)."
        )
    frame = store.to_dataframe()
    keys = stats.config_columns(frame)
    varying = [c for c in keys if frame[c].nunique(dropna=False) > 1]
    configs = stats.summarize(frame, by=keys)
    members: dict[tuple[Any, ...], list[str]] = {}
    for values, part in frame.groupby(keys, dropna=False, sort=False):
        members[norm(values if isinstance(values, tuple) else (values,))] = list(part["key"])
    configs["_keys"] = [members[norm(tuple(r[c] for c in keys))] for _, r in configs.iterrows()]
    order = (
        [c for c in ("dataset", "init") if c in keys]
        + [c for c in varying if c not in ("dataset", "init") and not c.startswith("init.")]
        + [c for c in varying if c.startswith("init.")]
    )
    configs = configs.sort_values(
        order, key=_sortable, na_position="last", kind="stable"
    ).reset_index(drop=True)
    return Sweep(
        path=store.path,
        frame=frame,
        runs={row.key: row for row in rows},
        configs=configs,
        keys=keys,
        varying=varying,
        scale=_scale_axes(frame),
    )


def _scale_axes(frame: pd.DataFrame) -> dict[str, str]:
    out = {}
    args = [c for c in frame.columns if c.startswith("init.")]
    for scheme, part in frame.groupby("init", sort=True):
        numeric = [
            c
            for c in args
            if part[c].dropna().nunique() > 1 and all(is_real(v) for v in part[c].dropna())
        ]
        if numeric:
            ranked = sorted(
                numeric,
                key=lambda c: SCALE_ARGS.index(c[5:]) if c[5:] in SCALE_ARGS else len(SCALE_ARGS),
            )
            out[str(scheme)] = ranked[0]
    return out


def missing(item: Any) -> bool:
    return item is None or (isinstance(item, float | np.floating) and math.isnan(item))


def norm(values: Iterable[Any]) -> tuple[Any, ...]:
    """Comparable keys: NaN and None alike, 2 and 2.0 alike."""
    return tuple(None if missing(v) else float(v) if is_real(v) else str(v) for v in values)


def _sortable(column: pd.Series) -> pd.Series:
    import pandas as pd

    return column if pd.api.types.is_numeric_dtype(column) else column.astype(str)


def runs_of(sweep: Sweep, config: pd.Series) -> list[RunRow]:
    """The stored runs (seeds) of one row of ``sweep.configs``."""
    return [sweep.runs[key] for key in config["_keys"]]


def run_config(config: dict[str, Any]) -> RunConfig:
    """The stored config dict (:meth:`RunConfig.to_dict`) as a :class:`RunConfig` again."""
    return RunConfig.from_row(config)


def _pick(n: int, k: int) -> list[int]:
    """Up to ``k`` indices of ``range(n)``, evenly spread, first and last included."""
    if n <= k:
        return list(range(n))
    return [int(i) for i in np.unique(np.linspace(0, n - 1, k).round().astype(int))]


# --- values for people -----------------------------------------------------------------


def value(item: Any) -> str:
    """A config value for people: ``0.0562``, ``2``, ``relu``; ``—`` when it does not apply."""
    if missing(item):
        return "—"
    if is_real(item):
        number = float(item)
        return str(int(number)) if number.is_integer() and abs(number) < 1e6 else f"{number:.3g}"
    return str(item)


def sig(number: float, digits: int = 3) -> str:
    """``digits`` significant digits, without an exponent from 0.001 to a million: ``521``,
    ``6.76``, ``0.00022``; ``—`` for NaN."""
    if not math.isfinite(number):
        return "—"
    if number == 0 or not 1e-3 <= abs(number) < 1e6:
        return f"{number:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(number))))
    return f"{number:.{decimals}f}"


def last_digit(text: str) -> float:
    """The value of the last digit written in ``text`` (a number as :func:`sig` writes it):
    ``0.001`` for ``"0.265"``, ``1`` for ``"521"``, ``1e-06`` for ``"2.5e-05"``."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


NOISE = 1e-9
"""A confidence half-width below this fraction of its mean (or of the mean's last digit
written, for a mean of 0) is rounding noise: seeds that all gave the same value leave one of
about 1e-16 relative, from the floating-point sums; seeds that differ leave far more."""


def plus_minus(mean: float, ci: float, mean_text: str, digits: int = 2) -> str:
    """`` ± 0.018``: the confidence half-width ``ci`` of ``mean`` (written ``mean_text``) to
    ``digits`` significant digits; `` ± 0`` when it is rounding noise (below :data:`NOISE`
    of the mean, such as 3.4e-16 when every seed gave 0.5); empty when there is no interval.

    >>> plus_minus(0.5, 3.4e-16, "0.500"), plus_minus(0.265, 0.0183, "0.265")
    (' ± 0', ' ± 0.018')
    """
    if not math.isfinite(ci):
        return ""
    scale = max(abs(mean), last_digit(mean_text)) if math.isfinite(mean) else 0.0
    if abs(ci) <= NOISE * scale:
        return " ± 0"
    return f" ± {sig(ci, digits)}"


def distinct(column: pd.Series) -> list[Any]:
    """The column's values once each, numbers before text, missing last."""
    values = {norm([v])[0] for v in column}
    present = sorted((v for v in values if v is not None), key=lambda v: (isinstance(v, str), v))
    return present + ([None] if None in values else [])


# --- lines, facets and grids -----------------------------------------------------------


def lines(sweep: Sweep) -> dict[tuple[Any, ...], pd.DataFrame]:
    """The configurations of each line: one per scheme and value of its other init args."""
    import pandas as pd

    args = [c for c in sweep.varying if c.startswith("init.")]
    out: dict[tuple[Any, ...], list[pd.Series]] = {}
    for _, config in sweep.configs.iterrows():
        scale = sweep.scale.get(str(config["init"]))
        ident = (config["init"], *(norm([config[a]])[0] for a in args if a != scale))
        out.setdefault(ident, []).append(config)
    return {ident: pd.DataFrame(rows) for ident, rows in out.items()}


def facet_values(sweep: Sweep, facets: Sequence[str]) -> list[tuple[Any, ...]]:
    """The distinct values of the ``facets`` columns, in the summary table's order."""
    seen = {
        norm(r[f] for f in facets): tuple(r[f] for f in facets) for _, r in sweep.configs.iterrows()
    }
    return list(seen.values())


def in_facet(part: pd.DataFrame, facets: Sequence[str], values: tuple[Any, ...]) -> pd.DataFrame:
    """The rows of ``part`` whose ``facets`` columns hold ``values``."""
    if not facets:
        return part
    mask = [norm(r[f] for f in facets) == norm(values) for _, r in part.iterrows()]
    return part[mask]


def facet_title(facets: Sequence[str], values: tuple[Any, ...], short: bool = False) -> str:
    """``depth 2, width 8``; ``short``: the dataset by its name alone (``moons, depth 2``)."""
    return ", ".join(
        value(v) if short and f == "dataset" else f"{f} {value(v)}" for f, v in zip(facets, values)
    )


def chosen(sweep: Sweep) -> list[int]:
    """The rows of ``sweep.configs`` whose curves and boundaries the page shows at first."""
    return _pick(len(sweep.configs), MAX_CONFIGS)


@dataclass(frozen=True)
class Best:
    """A group's best configuration: the group, the configuration's label and summary row,
    and how many configurations the group has."""

    group: str
    label: str
    config: pd.Series
    size: int


def best_per_group(sweep: Sweep) -> list[Best]:
    """The best configuration of each scheme (of each data set and scheme, when the sweep
    has several data sets), with the group's name and its number of configurations.

    Best: the largest fraction of seeds trained, then the highest mean test accuracy, then
    the lowest mean final loss (missing values rank last)."""
    groups = ["dataset", "init"] if "dataset" in sweep.varying else ["init"]
    ranked = sweep.configs.assign(
        _trained=-sweep.configs["trained"].fillna(-1.0),
        _test=-sweep.configs["test_accuracy_mean"].fillna(-1.0),
        _loss=sweep.configs["final_cost_mean"].fillna(math.inf),
    ).sort_values(["_trained", "_test", "_loss"], kind="stable")
    out = []
    for ident, part in ranked.groupby(groups, sort=True, dropna=False):
        values = ident if isinstance(ident, tuple) else (ident,)
        group = " · ".join(value(v) for v in values)
        out.append(Best(group, sweep.label(part.iloc[0]), part.iloc[0], len(part)))
    return out


def phase_axis(sweep: Sweep) -> str | None:
    """The phase diagram's vertical axis: depth, else width, else the layer sizes."""
    return next((c for c in ("depth", "width", "layer_sizes") if c in sweep.varying), None)


@dataclass
class Cells:
    """A phase diagram's cells: mean final loss, its ratio to the constant-prediction loss,
    diverged seeds and seeds (n = 0: not in the sweep)."""

    loss: np.ndarray
    ratio: np.ndarray
    diverged: np.ndarray
    n: np.ndarray


def phase_cells(
    sweep: Sweep, part: pd.DataFrame, axis: str, scale: str, grid: tuple[list[Any], list[Any]]
) -> Cells:
    """The cells of ``part`` on the ``grid`` of (``axis`` values, ``scale`` values)."""
    ys, xs = grid
    shape = (len(ys), len(xs))
    cells = Cells(
        np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, int), np.zeros(shape, int)
    )
    for _, config in part.iterrows():
        i, j = ys.index(norm([config[axis]])[0]), xs.index(norm([config[scale]])[0])
        runs = runs_of(sweep, config)
        base = [r.baseline_cost for r in runs if r.baseline_cost]
        cells.loss[i, j] = config["final_cost_mean"]
        cells.ratio[i, j] = config["final_cost_mean"] / base[0] if base else np.nan
        cells.diverged[i, j] = sum(r.status == "diverged" for r in runs)
        cells.n[i, j] = config["n"]
    return cells


# --- data sets -----------------------------------------------------------------------


def data_ident(run: RunRow) -> str:
    """What identifies a run's data set: its name, data seed and options."""
    config = run_config(run.config)
    return repr((config.dataset, config.data_seed, config.data_options))


def dataset_of(run: RunRow, cache: dict[str, Dataset | str]) -> Dataset | str:
    """The run's data set with its raw inputs (before any input features: the plane its
    points and boundaries are drawn over), rebuilt from its config (cached); the reason as
    text if it can't."""
    ident = data_ident(run)
    if ident not in cache:
        config = run_config(run.config)
        try:
            cache[ident] = build_data(config.replace(features=()))
        except (OSError, ValueError) as exc:
            cache[ident] = f"{config.dataset} could not be loaded ({exc})"
    return cache[ident]

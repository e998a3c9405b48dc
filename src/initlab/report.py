"""One self-contained HTML report of a result store: tables and figures, viewable offline.

The report reads a :class:`~initlab.experiments.store.ResultStore` and never trains: every
number comes from the stored runs or from :func:`initlab.experiments.stats.summarize` over
them. Its sections, each written only when the sweep's data supports it (a short note says
why otherwise):

1. the sweep: runs, configurations, seeds, datasets, what varies and what is fixed, the
   initlab versions and engines that produced the runs, the compute time;
2. one row per configuration: fraction of seeds trained, final loss and train/test accuracy
   as mean ± the 95 % confidence half-width;
3. accuracy against the initializer's scale argument, with 95 % bands, one line per scheme;
4. the phase diagram: mean final loss over depth (or width) × scale, per scheme;
5. cost curves (mean over seeds, min–max band) of up to :data:`MAX_CONFIGS` configurations;
6. decision boundaries of the same configurations' first seed, from the stored parameters;
7. the most common diagnostic findings per configuration.

Figures are PNGs embedded as ``data:`` URIs and the CSS is inline: the file needs no network,
no fonts and no scripts. :func:`write_report` writes it atomically (a temporary file, then
:func:`os.replace`), so a reader never sees half a report.

>>> import tempfile, os
>>> from initlab.experiments.store import ResultStore
>>> empty = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
>>> build_report(empty)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: The store ... has no runs, so there is nothing to report. ...
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import secrets
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogFormatter

import initlab
from initlab import plots
from initlab.datasets import Dataset
from initlab.experiments import stats
from initlab.experiments.runner import build_data, build_mlp
from initlab.experiments.spec import RunConfig
from initlab.experiments.store import ResultStore, RunRow
from initlab.network import predict

if TYPE_CHECKING:
    import pandas as pd

MAX_CONFIGS = 12
"""Configurations drawn in the cost-curve and decision-boundary grids (chosen evenly)."""

MAX_PANELS = 12
"""Small multiples per figure (values of the axes that are neither the scheme nor the scale)."""

DPI = 90
CURVE_CLIP = 100.0
"""Cost curves are drawn up to this multiple of the constant-prediction loss."""
SCALE_ARGS = ("scale", "std", "stddev", "gain", "sigma_w", "sigma")
"""Preferred names of an initializer's scale argument; any other numeric argument that varies
serves when none of these does."""

PHASE_CMAP = colormaps["RdBu_r"].with_extremes(bad="#dddddd")
PHASE_CLIP = 10.0
"""The phase diagram colours final loss ÷ constant-prediction loss, saturating at this ratio
and its inverse (white: learned nothing; blue: lower; red: higher)."""


# --- public API ------------------------------------------------------------------------


def build_report(store: ResultStore | str | Path) -> str:
    """The HTML text of the report of ``store`` (a store, or the path of an existing one).

    Raises ``FileNotFoundError`` for a path where there is no store and ``ValueError`` for
    a store without runs.
    """
    sweep = _load(store if isinstance(store, ResultStore) else _open(Path(store)))
    sections = [
        _header(sweep),
        _summary_section(sweep),
        _accuracy_section(sweep),
        _phase_section(sweep),
        _curves_section(sweep),
        _boundaries_section(sweep),
        _findings_section(sweep),
    ]
    title = f"initlab report: {sweep.path.name}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def write_report(store_path: str | Path, out_path: str | Path | None = None) -> Path:
    """Write the report of the store at ``store_path`` to ``out_path`` (default: the store's
    path with the suffix ``.html``) and return that path.

    The file is written whole or not at all: to a temporary file in the same folder, then
    renamed over ``out_path``. Nothing is written when the store is missing or empty.
    """
    source = Path(store_path)
    store = _open(source)
    out = Path(out_path) if out_path is not None else source.with_suffix(".html")
    if out.resolve() == source.resolve():
        raise ValueError(f"The report {str(out)!r} would overwrite the store; give another path")
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot write the report to {str(out)!r}: the folder {str(out.parent)!r} "
            "does not exist"
        )
    _write_atomic(out, build_report(store))
    return out


def _open(path: Path) -> ResultStore:
    """The store at ``path``; never creates one (opening a missing SQLite file would)."""
    if not path.exists():
        raise FileNotFoundError(
            f"No result store at {str(path)!r}: the file does not exist. "
            "Run a sweep into it first (initlab sweep SPEC --store FILE)."
        )
    return ResultStore(path)


def _write_atomic(out: Path, text: str) -> None:
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        # os.open honours the umask, unlike tempfile's 0600 files.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- the data --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sweep:
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
            value = config[column]
            if column == "init" or _missing(value):
                continue
            name = column.removeprefix("init.")
            parts.append(f"{name}={_value(value)}")
        return parts[0] + (" " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def _load(store: ResultStore) -> _Sweep:
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
        members[_norm(values if isinstance(values, tuple) else (values,))] = list(part["key"])
    configs["_keys"] = [members[_norm(tuple(r[c] for c in keys))] for _, r in configs.iterrows()]
    order = (
        [c for c in ("dataset", "init") if c in keys]
        + [c for c in varying if c not in ("dataset", "init") and not c.startswith("init.")]
        + [c for c in varying if c.startswith("init.")]
    )
    configs = configs.sort_values(
        order, key=_sortable, na_position="last", kind="stable"
    ).reset_index(drop=True)
    return _Sweep(
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
            if part[c].dropna().nunique() > 1 and all(_is_number(v) for v in part[c].dropna())
        ]
        if numeric:
            ranked = sorted(
                numeric,
                key=lambda c: SCALE_ARGS.index(c[5:]) if c[5:] in SCALE_ARGS else len(SCALE_ARGS),
            )
            out[str(scheme)] = ranked[0]
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _norm(values: Iterable[Any]) -> tuple[Any, ...]:
    """Comparable keys: NaN and None alike, 2 and 2.0 alike."""
    return tuple(None if _missing(v) else float(v) if _is_number(v) else str(v) for v in values)


def _sortable(column: pd.Series) -> pd.Series:
    import pandas as pd

    return column if pd.api.types.is_numeric_dtype(column) else column.astype(str)


def _runs(sweep: _Sweep, config: pd.Series) -> list[RunRow]:
    return [sweep.runs[key] for key in config["_keys"]]


def _run_config(config: dict[str, Any]) -> RunConfig:
    """The stored config dict (:meth:`RunConfig.to_dict`) as a :class:`RunConfig` again."""
    sizes = config.get("layer_sizes")
    return RunConfig(
        dataset=config["dataset"],
        data_seed=config["data_seed"],
        data_options=tuple(sorted(config.get("data_options", {}).items())),
        layer_sizes=tuple(sizes) if sizes else None,
        depth=config.get("depth"),
        width=config.get("width"),
        activation=config["activation"],
        init=tuple(sorted(config["init"].items())),
        learning_rate=config["learning_rate"],
        optimizer=config["optimizer"],
        batch_size=config.get("batch_size"),
        l2=config.get("l2", 0.0),
        iterations=config["iterations"],
        record_every=config["record_every"],
        seed=config["seed"],
    )


def _pick(n: int, k: int) -> list[int]:
    """Up to ``k`` indices of ``range(n)``, evenly spread, first and last included."""
    if n <= k:
        return list(range(n))
    return [int(i) for i in np.unique(np.linspace(0, n - 1, k).round().astype(int))]


# --- formatting ------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _value(value: Any) -> str:
    """A config value for people: ``0.0562``, ``2``, ``relu``; ``—`` when it does not apply."""
    if _missing(value):
        return "—"
    if _is_number(value):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e6 else f"{number:.3g}"
    return str(value)


def _sig(value: float, digits: int = 3) -> str:
    """``digits`` significant digits, without an exponent from 0.001 to a million: ``521``,
    ``6.76``, ``0.00022``; ``—`` for NaN."""
    if not math.isfinite(value):
        return "—"
    if value == 0 or not 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def _mean_ci(mean: float, ci: float, accuracy: bool) -> str:
    """``0.265 ± 0.18``: the mean (accuracies with 3 decimals), the CI to 2 digits."""
    if not math.isfinite(mean):
        return "—"
    text = f"{mean:.3f}" if accuracy else _sig(mean)
    return text + (f" ± {_sig(ci, 2)}" if math.isfinite(ci) else "")


def _seconds(total: float) -> str:
    if total < 60:
        return f"{_sig(total, 2)} s"
    if total < 3600:
        return f"{int(total // 60)} min {round(total % 60)} s"
    return f"{int(total // 3600)} h {round(total % 3600 / 60)} min"


def _listing(values: Sequence[Any], limit: int = 8) -> str:
    texts = [_value(v) for v in values]
    if len(texts) <= limit:
        return ", ".join(texts)
    return f"{len(texts)} values: {', '.join(texts[:3])}, …, {texts[-1]}"


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _figure(fig: Figure, alt: str, caption: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _grid(
    n: int, columns: int, size: tuple[float, float], sharey: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels, ``columns`` wide; unused panels hidden."""
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    axes = list(fig.subplots(rows, cols, squeeze=False, sharey=sharey).flat)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


# --- 1. the sweep ----------------------------------------------------------------------


def _header(sweep: _Sweep) -> str:
    frame, runs = sweep.frame, list(sweep.runs.values())
    status = Counter(frame["status"])
    per_config = sorted(set(sweep.configs["n"]))
    seeds = sorted(set(frame["seed"]))
    fixed = [c for c in sweep.keys if c not in sweep.varying]
    start, end = (datetime.fromtimestamp(f(r.created_at for r in runs), UTC) for f in (min, max))
    facts = [
        ("Store", str(sweep.path)),
        ("Runs", f"{len(frame)} ({', '.join(f'{k} {v}' for k, v in sorted(status.items()))})"),
        ("Configurations", str(len(sweep.configs))),
        ("Seeds", f"{_listing(seeds)} ({'/'.join(map(str, per_config))} per configuration)"),
        ("Datasets", ", ".join(sorted(set(frame["dataset"].astype(str))))),
        (
            "Varying",
            "; ".join(f"{c}: {_listing(_distinct(frame[c]))}" for c in sweep.varying) or "nothing",
        ),
        ("Fixed", "; ".join(f"{c} {_value(frame[c].iloc[0])}" for c in fixed) or "nothing"),
        ("initlab versions", ", ".join(sorted(set(frame["initlab_version"].astype(str))))),
        ("Engines", ", ".join(sorted(set(frame["engine"].astype(str))))),
        ("Compute", f"{_seconds(float(frame['seconds'].sum()))} in total (training time)"),
        ("Stored", f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"),
    ]
    items = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    nav = " · ".join(f'<a href="#{i}">{t}</a>' for i, t in NAV)
    return (
        f"<header>\n<h1>{_e('Sweep report: ' + sweep.path.name)}</h1>\n<dl>\n{items}\n</dl>\n"
        f'<nav>{nav}</nav>\n<p class="note">Written by initlab {_e(initlab.__version__)} '
        "from the stored runs; nothing was re-trained.</p>\n</header>"
    )


def _distinct(column: pd.Series) -> list[Any]:
    values = {_norm([v])[0] for v in column}
    present = sorted((v for v in values if v is not None), key=lambda v: (isinstance(v, str), v))
    return present + ([None] if None in values else [])


NAV = (
    ("summary", "Summary"),
    ("accuracy", "Accuracy vs scale"),
    ("phase", "Phase diagram"),
    ("curves", "Cost curves"),
    ("boundaries", "Decision boundaries"),
    ("findings", "Findings"),
)


# --- 2. the summary table --------------------------------------------------------------


def _summary_section(sweep: _Sweep) -> str:
    columns = ["init", *(c for c in sweep.varying if c != "init")]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns) + (
        "<th>n</th><th>trained</th><th>final loss</th><th>train accuracy</th><th>test accuracy</th>"
    )
    body = []
    for _, config in sweep.configs.iterrows():
        n = int(config["n"])
        diverged = sum(run.status == "diverged" for run in _runs(sweep, config))
        cells = [f"<td>{_e(_value(config[c]))}</td>" for c in columns]
        cells.append(f'<td class="num" data-column="n">{n}</td>')
        cells.append(
            f'<td class="num" data-column="trained" data-value="{config["trained"]!r}">'
            f"{round(config['trained'] * n)}/{n}"
            + (f' <span class="bad">({diverged} diverged)</span>' if diverged else "")
            + "</td>"
        )
        for metric in stats.METRICS:
            mean, ci = float(config[f"{metric}_mean"]), float(config[f"{metric}_ci95"])
            text = _mean_ci(mean, ci, accuracy=metric.endswith("accuracy"))
            cells.append(
                f'<td class="num" data-column="{metric}" data-mean="{mean!r}" '
                f'data-ci95="{ci!r}">{_e(text)}</td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    threshold = stats.TRAINED_FRACTION_OF_BASELINE
    notes = (
        f"<p>One row per configuration, seeds pooled. A run <em>trained</em> when it did not "
        f"diverge and its final training loss is at most {threshold:g} × the loss of the best "
        "constant prediction (the label entropy, ln 2 for balanced binary data). Values are "
        "mean ± the 95 % confidence half-width t<sub>0.975, n−1</sub> · s / √n (Student's t, "
        "s the sample standard deviation); a single seed has no interval. Diverged runs count "
        "in n and in trained but have no loss or accuracy.</p>"
    )
    table = (
        f'<table class="summary">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )
    return _section("summary", "Summary by configuration", notes + "\n" + table)


# --- 3. accuracy against the scale -----------------------------------------------------


def _lines(sweep: _Sweep) -> dict[tuple[Any, ...], pd.DataFrame]:
    """The configurations of each line: one per scheme and value of its other init args."""
    import pandas as pd

    args = [c for c in sweep.varying if c.startswith("init.")]
    out: dict[tuple[Any, ...], list[pd.Series]] = {}
    for _, config in sweep.configs.iterrows():
        scale = sweep.scale.get(str(config["init"]))
        ident = (config["init"], *(_norm([config[a]])[0] for a in args if a != scale))
        out.setdefault(ident, []).append(config)
    return {ident: pd.DataFrame(rows) for ident, rows in out.items()}


def _line_label(sweep: _Sweep, part: pd.DataFrame) -> str:
    first = part.iloc[0]
    scale = sweep.scale.get(str(first["init"]))
    args = [c for c in sweep.varying if c.startswith("init.") and c != scale]
    label = sweep.label(first, args)
    return label if scale else f"{label} (no scale argument)"


def _facet_values(sweep: _Sweep, facets: Sequence[str]) -> list[tuple[Any, ...]]:
    seen = {
        _norm(r[f] for f in facets): tuple(r[f] for f in facets)
        for _, r in sweep.configs.iterrows()
    }
    return list(seen.values())


def _in_facet(part: pd.DataFrame, facets: Sequence[str], value: tuple[Any, ...]) -> pd.DataFrame:
    if not facets:
        return part
    mask = [_norm(r[f] for f in facets) == _norm(value) for _, r in part.iterrows()]
    return part[mask]


def _facet_title(facets: Sequence[str], value: tuple[Any, ...], short: bool = False) -> str:
    """``depth 2, width 8``; ``short``: the dataset by its name alone (``moons, depth 2``)."""
    return ", ".join(
        _value(v) if short and f == "dataset" else f"{f} {_value(v)}" for f, v in zip(facets, value)
    )


def _accuracy_section(sweep: _Sweep) -> str:
    title = "Accuracy against the initialization scale"
    if not sweep.scale:
        return _section(
            "accuracy",
            title,
            _note(
                "No initializer varies a numeric argument in this sweep, so there is no "
                "scale axis to plot accuracy against."
            ),
        )
    facets = sweep.facets
    values = _facet_values(sweep, facets)
    shown = values[:MAX_PANELS]
    lines = _lines(sweep)
    colors = {ident: colormaps["tab10"](i % 10) for i, ident in enumerate(lines)}
    metrics = (("train_accuracy", "train accuracy"), ("test_accuracy", "test accuracy"))
    fig, axes = _accuracy_grid(len(shown))
    x_all = [float(v) for c in sweep.scale.values() for v in sweep.frame[c].dropna()]
    log_x = all(x > 0 for x in x_all)
    for f, facet in enumerate(shown):
        for m, (metric, name) in enumerate(metrics):
            ax = axes[f][m]
            for ident, part in lines.items():
                _accuracy_line(ax, sweep, _in_facet(part, facets, facet), metric, colors[ident])
            title = f"{name} · {_facet_title(facets, facet, short=True)}" if facets else name
            ax.set_title(title, fontsize="small")
            ax.set_ylim(-0.02, 1.02)
            if log_x:
                ax.set_xscale("log")
            ax.set_xlabel(" / ".join(sorted({c[5:] for c in sweep.scale.values()})))
            ax.grid(True, alpha=0.3)
    scaled = {i: str(i[0]) in sweep.scale for i in lines}
    handles = [
        Line2D(
            [],
            [],
            color=colors[i],
            marker="o" if scaled[i] else "",
            linestyle="-" if scaled[i] else "--",
        )
        for i in lines
    ]
    fig.legend(
        handles,
        [_line_label(sweep, p) for p in lines.values()],
        loc="outside lower center",
        ncols=min(3, len(lines)),
        fontsize="small",
    )
    caption = (
        "Mean over seeds with its 95 % confidence band; schemes without a scale argument "
        "are dashed horizontal lines with their band. A red ✕ marks a scale where every "
        "seed diverged."
    )
    if len(values) > len(shown):
        caption += f" Showing {len(shown)} of {len(values)} panels ({', '.join(facets)})."
    alt = "Train and test accuracy against the initialization scale" + (
        f", by {', '.join(facets)}" if facets else ""
    )
    return _section("accuracy", title, _figure(fig, alt, caption))


def _accuracy_grid(n: int, columns: int = 4) -> tuple[Figure, list[tuple[Axes, Axes]]]:
    """Panels for ``n`` facets, ``columns`` wide: for each row of facets, a row of train
    accuracy above a row of test accuracy. Returns the (train, test) axes of each facet."""
    cols = min(columns, n)
    blocks = math.ceil(n / cols)
    fig = Figure(figsize=(4.0 * cols, 2 * 2.9 * blocks + 0.4), layout="constrained")
    grid = fig.subplots(2 * blocks, cols, squeeze=False, sharey=True)
    pairs = []
    for k in range(blocks * cols):
        block, col = divmod(k, cols)
        train, test = grid[2 * block, col], grid[2 * block + 1, col]
        if k < n:
            pairs.append((train, test))
        else:
            train.set_visible(False)
            test.set_visible(False)
    for row in range(2 * blocks):
        grid[row, 0].set_ylabel("train accuracy" if row % 2 == 0 else "test accuracy")
    return fig, pairs


def _accuracy_line(ax: Axes, sweep: _Sweep, part: pd.DataFrame, metric: str, color: Any) -> None:
    if part.empty:
        return
    scale = sweep.scale.get(str(part.iloc[0]["init"]))
    mean = part[f"{metric}_mean"].to_numpy(dtype=float)
    ci = part[f"{metric}_ci95"].to_numpy(dtype=float)
    if scale is None:
        if math.isfinite(mean[0]):
            ax.axhline(mean[0], color=color, linestyle="--", linewidth=1.5)
            if math.isfinite(ci[0]):
                ax.axhspan(mean[0] - ci[0], mean[0] + ci[0], color=color, alpha=0.12, lw=0)
        return
    x = part[scale].to_numpy(dtype=float)
    order = np.argsort(x)
    x, mean, ci = x[order], mean[order], ci[order]
    ax.plot(x, mean, marker="o", markersize=4, color=color)
    band = np.isfinite(ci)
    ax.fill_between(
        x,
        np.where(band, mean - ci, np.nan),
        np.where(band, mean + ci, np.nan),
        color=color,
        alpha=0.2,
        lw=0,
    )
    lost = ~np.isfinite(mean)
    if lost.any():
        ax.plot(x[lost], np.zeros(int(lost.sum())), "x", color=plots.DIVERGED_COLOR, ms=9, mew=2)


# --- 4. the phase diagram --------------------------------------------------------------


def _phase_axis(sweep: _Sweep) -> str | None:
    return next((c for c in ("depth", "width", "layer_sizes") if c in sweep.varying), None)


def _phase_section(sweep: _Sweep) -> str:
    title = "Phase diagram: where training works"
    axis = _phase_axis(sweep)
    if not sweep.scale or axis is None:
        why = (
            "no initializer varies a numeric (scale) argument"
            if not sweep.scale
            else "neither depth, width nor the layer sizes vary"
        )
        return _section("phase", title, _note(f"No phase diagram: {why} in this sweep."))
    parts = []
    for ident, part in _lines(sweep).items():
        scale = sweep.scale.get(str(ident[0]))
        if scale is not None:
            parts.append(_phase_figure(sweep, part, axis, scale))
    threshold = stats.TRAINED_FRACTION_OF_BASELINE
    intro = (
        f"<p>Mean final training loss (over the seeds that did not diverge) for each {_e(axis)}"
        " × scale, written in the cell. The colour is that loss divided by the loss of the "
        "best constant prediction on the same data, on a log scale: white, 1, learned "
        f"nothing; blue, lower, training works (≤ {threshold:g}: trained); red, higher. It "
        f"saturates at 1/{PHASE_CLIP:g} and {PHASE_CLIP:g}. Hatched grey cells: every seed "
        'diverged; "k/n div.": k of n seeds diverged.</p>'
    )
    return _section("phase", title, intro + "\n" + "\n".join(parts))


def _phase_figure(sweep: _Sweep, part: pd.DataFrame, axis: str, scale: str) -> str:
    facets = [f for f in sweep.facets if f != axis]
    values = _facet_values(sweep, facets)
    shown = values[:MAX_PANELS]
    ys = [v for v in _distinct(part[axis]) if v is not None]
    xs = [v for v in _distinct(part[scale]) if v is not None]
    norm = LogNorm(vmin=1 / PHASE_CLIP, vmax=PHASE_CLIP, clip=True)
    fig, axes = _grid(len(shown), 3, (max(3.5, 0.8 * len(xs) + 1.5), 0.6 * len(ys) + 1.8))
    for ax, facet in zip(axes, shown):
        cells = _phase_cells(sweep, _in_facet(part, facets, facet), axis, scale, (ys, xs))
        ax.imshow(np.ma.masked_invalid(cells.ratio), cmap=PHASE_CMAP, norm=norm, aspect="auto")
        for i, j in np.ndindex(cells.loss.shape):
            _phase_cell(ax, cells, (i, j), norm)
        ax.set_xticks(range(len(xs)), [_value(v) for v in xs], rotation=45, fontsize="small")
        ax.set_yticks(range(len(ys)), [_value(v) for v in ys], fontsize="small")
        ax.set_xlabel(scale.removeprefix("init."))
        ax.set_ylabel(axis)
        if facets:
            ax.set_title(_facet_title(facets, facet, short=True), fontsize="medium")
    bar = fig.colorbar(
        ScalarMappable(norm, PHASE_CMAP),
        ax=axes,
        label="final loss ÷ constant-prediction loss",
        extend="both",
        shrink=0.9,
    )
    trained = stats.TRAINED_FRACTION_OF_BASELINE
    for level, style in ((1.0, "-"), (trained, "--")):
        bar.ax.axhline(level, color="black", linestyle=style, linewidth=1.5)
    bar.ax.minorticks_off()
    bar.set_ticks(
        [1 / PHASE_CLIP, trained, 1.0, PHASE_CLIP],
        labels=[f"{1 / PHASE_CLIP:g}", f"{trained:g} trained", "1 constant", f"{PHASE_CLIP:g}"],
    )
    label = _line_label(sweep, part)
    fig.suptitle(label, fontsize="large")
    caption = f"{label}: mean final loss by {axis} and {scale}."
    if len(values) > len(shown):
        caption += f" Showing {len(shown)} of {len(values)} panels ({', '.join(facets)})."
    return _figure(fig, f"Phase diagram of {label}: {axis} × {scale}", caption)


@dataclass
class _Cells:
    """A phase diagram's cells: mean final loss, its ratio to the constant-prediction loss,
    diverged seeds and seeds (n = 0: not in the sweep)."""

    loss: np.ndarray
    ratio: np.ndarray
    diverged: np.ndarray
    n: np.ndarray


def _phase_cells(
    sweep: _Sweep, part: pd.DataFrame, axis: str, scale: str, grid: tuple[list[Any], list[Any]]
) -> _Cells:
    ys, xs = grid
    shape = (len(ys), len(xs))
    cells = _Cells(
        np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, int), np.zeros(shape, int)
    )
    for _, config in part.iterrows():
        i, j = ys.index(_norm([config[axis]])[0]), xs.index(_norm([config[scale]])[0])
        runs = _runs(sweep, config)
        base = [r.baseline_cost for r in runs if r.baseline_cost]
        cells.loss[i, j] = config["final_cost_mean"]
        cells.ratio[i, j] = config["final_cost_mean"] / base[0] if base else np.nan
        cells.diverged[i, j] = sum(r.status == "diverged" for r in runs)
        cells.n[i, j] = config["n"]
    return cells


def _phase_cell(ax: Axes, cells: _Cells, cell: tuple[int, int], norm: LogNorm) -> None:
    i, j = cell
    loss, ratio = float(cells.loss[cell]), float(cells.ratio[cell])
    diverged, n = int(cells.diverged[cell]), int(cells.n[cell])
    if n == 0:
        ax.text(j, i, "not run", ha="center", va="center", fontsize="x-small", color="gray")
        return
    if not math.isfinite(loss):
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                fill=False,
                hatch="//",
                edgecolor=plots.DIVERGED_COLOR,
                linewidth=0,
            )
        )
        ax.text(
            j,
            i,
            "diverged",
            ha="center",
            va="center",
            fontsize="small",
            color=plots.DIVERGED_COLOR,
            fontweight="bold",
        )
        return
    r, g, b, _ = PHASE_CMAP(norm(ratio)) if math.isfinite(ratio) else (1.0, 1.0, 1.0, 1.0)
    ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.45 else "black"
    text = _sig(loss, 2) + (f"\n{diverged}/{n} div." if diverged else "")
    ax.text(j, i, text, ha="center", va="center", fontsize="small", color=ink)


# --- 5. cost curves --------------------------------------------------------------------


def _chosen(sweep: _Sweep) -> list[pd.Series]:
    return [sweep.configs.iloc[i] for i in _pick(len(sweep.configs), MAX_CONFIGS)]


def _which(sweep: _Sweep, chosen: Sequence[pd.Series]) -> str:
    total = len(sweep.configs)
    if len(chosen) == total:
        return f"all {total} configurations"
    return f"{len(chosen)} of {total} configurations, evenly spread over the summary table's order"


def _curves_section(sweep: _Sweep) -> str:
    chosen = _chosen(sweep)
    base = float(np.median(sweep.frame["baseline_cost"].dropna()))
    fig, axes = _grid(len(chosen), 4, (3.4, 2.8), sharey=True)
    ranges = [_mean_curve(ax, sweep, config) for ax, config in zip(axes, chosen)]
    finite = [r for r in ranges if r is not None]
    if finite:
        # One log range for all panels, cut at CURVE_CLIP × the constant-prediction loss so
        # that a diverging run does not squash the others.
        low = min(min(r[0] for r in finite), base / 3) / 1.2
        top = min(max(max(r[1] for r in finite), base) * 1.5, CURVE_CLIP * base)
        axes[0].set_yscale("log")
        axes[0].set_ylim(low, top)
        axes[0].yaxis.set_major_formatter(_PlainLog(labelOnlyBase=False))
        axes[0].yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False))
        for ax, r in zip(axes, ranges):
            if r is not None and r[1] > top:
                ax.text(
                    0.97,
                    0.95,
                    f"↑ up to {_sig(r[1], 2)}",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize="x-small",
                    color="dimgray",
                )
    caption = (
        f"Cost against iteration for {_which(sweep, chosen)}: the mean over seeds, the band "
        "from the lowest to the highest seed, on one log scale cut at "
        f"{CURVE_CLIP:g} × the constant-prediction loss (dashed). A diverged seed leaves "
        "the mean where its cost stopped being finite."
    )
    alt = "Mean cost curves per configuration"
    return _section("curves", "Cost curves", _figure(fig, alt, caption))


class _PlainLog(LogFormatter):
    """Log-axis labels as plain numbers (``0.3``, ``10``) rather than ``3×10⁻¹``."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def _mean_curve(ax: Axes, sweep: _Sweep, config: pd.Series) -> tuple[float, float] | None:
    """Draw one configuration's mean cost curve and seed band; returns its lowest and
    highest cost (``None`` when no seed recorded a finite cost)."""
    runs = _runs(sweep, config)
    costs: dict[int, list[float]] = {}
    for run in runs:
        for it, cost in zip(run.curve["iterations"], run.curve["costs"]):
            if cost is not None and math.isfinite(cost) and cost > 0:
                costs.setdefault(int(it), []).append(float(cost))
    its = sorted(costs)
    low = [min(costs[i]) for i in its]
    high = [max(costs[i]) for i in its]
    ax.fill_between(its, low, high, alpha=0.25, lw=0)
    ax.plot(its, [sum(costs[i]) / len(costs[i]) for i in its], lw=1.5)
    if not its:
        ax.text(
            0.5,
            0.5,
            "no finite cost recorded",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=plots.DIVERGED_COLOR,
            fontsize="small",
        )
    if runs[0].baseline_cost is not None:
        ax.axhline(runs[0].baseline_cost, color="gray", linestyle="--", linewidth=1)
    diverged = sum(r.status == "diverged" for r in runs)
    title = textwrap.fill(sweep.label(config), 40)
    if diverged:
        title += f"\n{diverged}/{len(runs)} diverged"
    ax.set_title(title, fontsize="small", color=plots.DIVERGED_COLOR if diverged else "black")
    ax.set_xlabel("iteration", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.grid(True, alpha=0.3)
    return (min(low), max(high)) if its else None


# --- 6. decision boundaries ------------------------------------------------------------


def _boundaries_section(sweep: _Sweep) -> str:
    title = "Decision boundaries"
    chosen = _chosen(sweep)
    cache: dict[str, Dataset | str] = {}
    panels, left_out = [], set()
    for config in chosen:
        run = min(_runs(sweep, config), key=lambda r: r.config["seed"])
        data = _data(run, cache)
        if isinstance(data, str):
            left_out.add(data)
        elif data.n_features != 2:
            left_out.add(f"{data.name} has {data.n_features} features")
        else:
            panels.append((config, run, data))
    why = "; ".join(sorted(left_out))
    if not panels:
        return _section(
            "boundaries", title, _note(f"No decision boundaries, as they need 2-D data: {why}.")
        )
    fig, axes = _grid(len(panels), 4, (3.3, 3.3))
    for ax, (config, run, data) in zip(axes, panels):
        _boundary(ax, sweep, config, run, data)
    caption = (
        "The trained network's decision regions on its training data, first seed, for "
        f"{_which(sweep, chosen)} (as in the cost curves), from the stored parameters."
    )
    if len(panels) < len(chosen):
        caption += f" Left out: {len(chosen) - len(panels)} configuration(s) ({why})."
    return _section("boundaries", title, _figure(fig, "Decision boundaries", caption))


def _data(run: RunRow, cache: dict[str, Dataset | str]) -> Dataset | str:
    """The run's data set, rebuilt from its config (cached); the reason as text if it can't."""
    config = _run_config(run.config)
    ident = repr((config.dataset, config.data_seed, config.data_options))
    if ident not in cache:
        try:
            cache[ident] = build_data(config)
        except (OSError, ValueError) as exc:
            cache[ident] = f"{config.dataset} could not be loaded ({exc})"
    return cache[ident]


def _boundary(ax: Axes, sweep: _Sweep, config: pd.Series, run: RunRow, data: Dataset) -> None:
    X, y = data.X_train, data.y_train
    if run.params is None:
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=plots.CMAP, s=10, edgecolors="black", linewidths=0.3)
        # The limits of a boundary panel: the data's range padded by 1, as the grid is.
        ax.set_xlim(float(X[:, 0].min()) - 1.0, float(X[:, 0].max()) + 1.0)
        ax.set_ylim(float(X[:, 1].min()) - 1.0, float(X[:, 1].max()) + 1.0)
        ax.text(
            0.5,
            0.5,
            f"diverged at iteration {run.diverged_at}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=plots.DIVERGED_COLOR,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": plots.DIVERGED_COLOR},
        )
        result = "diverged"
    else:
        mlp = build_mlp(_run_config(run.config), data)
        plots.plot_decision_boundary(
            partial(predict, mlp, run.params), X, y, ax=ax, step=0.02, max_points=40_000
        )
        accuracy = run.train_accuracy
        result = f"train {accuracy:.3f}" if accuracy is not None else "no accuracy"
    ax.set_title(
        f"{textwrap.fill(sweep.label(config), 36)}\nseed {run.config['seed']} · {result}",
        fontsize="small",
    )
    ax.set_aspect("equal")
    ax.tick_params(labelsize="x-small")
    ax.set_xlabel("")
    ax.set_ylabel("")


# --- 7. findings -----------------------------------------------------------------------


def _findings_section(sweep: _Sweep) -> str:
    title = "Diagnostic findings"
    if not any(run.findings for run in sweep.runs.values()):
        return _section("findings", title, _note("The stored runs carry no diagnostic findings."))
    body = []
    for _, config in sweep.configs.iterrows():
        runs = _runs(sweep, config)
        counts: Counter[str] = Counter()
        example: dict[str, str] = {}
        for run in runs:
            for finding in run.findings:
                example.setdefault(finding["kind"], finding["message"])
            counts.update(list(dict.fromkeys(f["kind"] for f in run.findings)))  # once a run
        top = counts.most_common(3)
        kinds = ", ".join(f"{k.replace('_', ' ')} {c}/{len(runs)}" for k, c in top) or "none"
        message = example[top[0][0]] if top else ""
        body.append(
            f"<tr><td>{_e(sweep.label(config))}</td><td>{_e(kinds)}</td><td>{_e(message)}</td></tr>"
        )
    intro = (
        "<p>The three most common findings of each configuration (in how many of its seeds "
        "each appears), and the message of the most common one from the first run that "
        "has it. Findings describe the network at initialization, dead units at the end, and "
        "divergence.</p>"
    )
    table = (
        "<table>\n<thead><tr><th>configuration</th><th>most common findings</th>"
        "<th>example</th></tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )
    return _section("findings", title, intro + "\n" + table)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid #ccc; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
nav { margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }
thead th { background: #f0f0f0; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: #555; font-style: italic; } .bad { color: crimson; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9rem; }
"""

"""The report's figures: each drawn with matplotlib from a :class:`~initlab.report.data.Sweep`
and returned as a :class:`Drawing` (a PNG, its alternative text and its caption).

This is the only module of the report that imports matplotlib; :mod:`initlab.report.html`
imports it when a section has a figure to draw, so ``import initlab.report`` stays light.
Every figure is a :class:`matplotlib.figure.Figure` of its own (never pyplot's global state),
saved at :data:`DPI` without the software tag, so the same store gives the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
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

from initlab import plots
from initlab._layout import plain_text
from initlab.datasets import Dataset
from initlab.experiments import stats
from initlab.experiments.config import build_mlp
from initlab.experiments.store import RunRow
from initlab.network import predict
from initlab.report.data import (
    MAX_PANELS,
    Cells,
    Sweep,
    distinct,
    facet_title,
    facet_values,
    in_facet,
    lines,
    phase_cells,
    run_config,
    runs_of,
    sig,
    value,
)

if TYPE_CHECKING:
    import pandas as pd

DPI = 90
CURVE_CLIP = 100.0
"""Cost curves are drawn up to this multiple of the constant-prediction loss."""

PHASE_CMAP = colormaps["RdBu_r"].with_extremes(bad="#dddddd")
PHASE_CLIP = 10.0
"""The phase diagram colours final loss ÷ constant-prediction loss, saturating at this ratio
and its inverse (white: learned nothing; blue: lower; red: higher)."""


@dataclass(frozen=True)
class Drawing:
    """A drawn figure: the PNG bytes, the alternative text and the caption (plain text)."""

    png: bytes
    alt: str
    caption: str


def _drawing(fig: Figure, alt: str, caption: str) -> Drawing:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return Drawing(buffer.getvalue(), alt, caption)


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


def _line_label(sweep: Sweep, part: pd.DataFrame) -> str:
    first = part.iloc[0]
    scale = sweep.scale.get(str(first["init"]))
    args = [c for c in sweep.varying if c.startswith("init.") and c != scale]
    label = sweep.label(first, args)
    return label if scale else f"{label} (no scale argument)"


def _which(sweep: Sweep, chosen: Sequence[pd.Series]) -> str:
    total = len(sweep.configs)
    if len(chosen) == total:
        return f"all {total} configurations"
    return f"{len(chosen)} of {total} configurations, evenly spread over the summary table's order"


# --- accuracy against the scale --------------------------------------------------------


def accuracy(sweep: Sweep) -> Drawing:
    """Train and test accuracy against each scheme's scale, one panel pair per facet value
    (the sweep must have a scale axis)."""
    facets = sweep.facets
    values = facet_values(sweep, facets)
    shown = values[:MAX_PANELS]
    by_line = lines(sweep)
    colors = {ident: colormaps["tab10"](i % 10) for i, ident in enumerate(by_line)}
    metrics = (("train_accuracy", "train accuracy"), ("test_accuracy", "test accuracy"))
    fig, axes = _accuracy_grid(len(shown))
    x_all = [float(v) for c in sweep.scale.values() for v in sweep.frame[c].dropna()]
    log_x = all(x > 0 for x in x_all)
    for f, facet in enumerate(shown):
        for m, (metric, name) in enumerate(metrics):
            ax = axes[f][m]
            for ident, part in by_line.items():
                _accuracy_line(ax, sweep, in_facet(part, facets, facet), metric, colors[ident])
            title = f"{name} · {facet_title(facets, facet, short=True)}" if facets else name
            ax.set_title(plain_text(title), fontsize="small")
            ax.set_ylim(-0.02, 1.02)
            if log_x:
                ax.set_xscale("log")
            ax.set_xlabel(plain_text(" / ".join(sorted({c[5:] for c in sweep.scale.values()}))))
            ax.grid(True, alpha=0.3)
    scaled = {i: str(i[0]) in sweep.scale for i in by_line}
    handles = [
        Line2D(
            [],
            [],
            color=colors[i],
            marker="o" if scaled[i] else "",
            linestyle="-" if scaled[i] else "--",
        )
        for i in by_line
    ]
    fig.legend(
        handles,
        [plain_text(_line_label(sweep, p)) for p in by_line.values()],
        loc="outside lower center",
        ncols=min(3, len(by_line)),
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
    return _drawing(fig, alt, caption)


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


def _accuracy_line(ax: Axes, sweep: Sweep, part: pd.DataFrame, metric: str, color: Any) -> None:
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


# --- the phase diagram -----------------------------------------------------------------


def phase(sweep: Sweep, part: pd.DataFrame, axis: str, scale: str) -> Drawing:
    """The phase diagram of one line (``part``): mean final loss over ``axis`` × ``scale``,
    one panel per value of the other facets."""
    facets = [f for f in sweep.facets if f != axis]
    values = facet_values(sweep, facets)
    shown = values[:MAX_PANELS]
    ys = [v for v in distinct(part[axis]) if v is not None]
    xs = [v for v in distinct(part[scale]) if v is not None]
    norm = LogNorm(vmin=1 / PHASE_CLIP, vmax=PHASE_CLIP, clip=True)
    fig, axes = _grid(len(shown), 3, (max(3.5, 0.8 * len(xs) + 1.5), 0.6 * len(ys) + 1.8))
    for ax, facet in zip(axes, shown):
        cells = phase_cells(sweep, in_facet(part, facets, facet), axis, scale, (ys, xs))
        ax.imshow(np.ma.masked_invalid(cells.ratio), cmap=PHASE_CMAP, norm=norm, aspect="auto")
        for i, j in np.ndindex(cells.loss.shape):
            _phase_cell(ax, cells, (i, j), norm)
        ax.set_xticks(range(len(xs)), [value(v) for v in xs], rotation=45, fontsize="small")
        ax.set_yticks(range(len(ys)), [value(v) for v in ys], fontsize="small")
        ax.set_xlabel(plain_text(scale.removeprefix("init.")))
        ax.set_ylabel(plain_text(axis))
        if facets:
            ax.set_title(plain_text(facet_title(facets, facet, short=True)), fontsize="medium")
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
    fig.suptitle(plain_text(label), fontsize="large")
    caption = f"{label}: mean final loss by {axis} and {scale}."
    if len(values) > len(shown):
        caption += f" Showing {len(shown)} of {len(values)} panels ({', '.join(facets)})."
    return _drawing(fig, f"Phase diagram of {label}: {axis} × {scale}", caption)


def _phase_cell(ax: Axes, cells: Cells, cell: tuple[int, int], norm: LogNorm) -> None:
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
    text = sig(loss, 2) + (f"\n{diverged}/{n} div." if diverged else "")
    ax.text(j, i, text, ha="center", va="center", fontsize="small", color=ink)


# --- cost curves -----------------------------------------------------------------------


def curves(sweep: Sweep, chosen: Sequence[pd.Series]) -> Drawing:
    """The mean cost curve and seed band of each ``chosen`` configuration, one log scale."""
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
                    f"↑ up to {sig(r[1], 2)}",
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
    return _drawing(fig, "Mean cost curves per configuration", caption)


class _PlainLog(LogFormatter):
    """Log-axis labels as plain numbers (``0.3``, ``10``) rather than ``3×10⁻¹``."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def _mean_curve(ax: Axes, sweep: Sweep, config: pd.Series) -> tuple[float, float] | None:
    """Draw one configuration's mean cost curve and seed band; returns its lowest and
    highest cost (``None`` when no seed recorded a finite cost)."""
    runs = runs_of(sweep, config)
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
    color = plots.DIVERGED_COLOR if diverged else "black"
    ax.set_title(plain_text(title), fontsize="small", color=color)
    ax.set_xlabel("iteration", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.grid(True, alpha=0.3)
    return (min(low), max(high)) if its else None


# --- decision boundaries ---------------------------------------------------------------


def boundaries(
    sweep: Sweep,
    chosen: Sequence[pd.Series],
    panels: Sequence[tuple[pd.Series, RunRow, Dataset]],
    why: str,
) -> Drawing:
    """The decision regions of ``panels`` (:func:`~initlab.report.data.boundary_panels` of
    ``chosen``; ``why`` says why the others are left out), from the stored parameters."""
    fig, axes = _grid(len(panels), 4, (3.3, 3.3))
    for ax, (config, run, data) in zip(axes, panels):
        _boundary(ax, sweep, config, run, data)
    caption = (
        "The trained network's decision regions on its training data, first seed, for "
        f"{_which(sweep, chosen)} (as in the cost curves), from the stored parameters."
    )
    if len(panels) < len(chosen):
        caption += f" Left out: {len(chosen) - len(panels)} configuration(s) ({why})."
    return _drawing(fig, "Decision boundaries", caption)


def _boundary(ax: Axes, sweep: Sweep, config: pd.Series, run: RunRow, data: Dataset) -> None:
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
        mlp = build_mlp(run_config(run.config), data)
        plots.plot_decision_boundary(
            partial(predict, mlp, run.params), X, y, ax=ax, step=0.02, max_points=40_000
        )
        train = run.train_accuracy
        result = f"train {train:.3f}" if train is not None else "no accuracy"
    ax.set_title(
        plain_text(
            f"{textwrap.fill(sweep.label(config), 36)}\nseed {run.config['seed']} · {result}"
        ),
        fontsize="small",
    )
    ax.set_aspect("equal")
    ax.tick_params(labelsize="x-small")
    ax.set_xlabel("")
    ax.set_ylabel("")

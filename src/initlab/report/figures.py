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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from initlab import plots
from initlab._layout import plain_text
from initlab.experiments import stats
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
    sig,
    value,
)

if TYPE_CHECKING:
    import pandas as pd

DPI = 100
PAGE_WIDTH_PX = 1160
"""The width the page gives a figure (its body is 1,200 px wide less the padding): a figure
at most this wide is shown at its own size, so its fonts keep their size in points."""

MAX_WIDTH_IN = PAGE_WIDTH_PX / DPI
"""The widest figure, in inches."""

TITLE_PT = 11.0
"""Panel titles, in points: 15 px on the page (the body text is 16 px)."""

TEXT_PT = 9.0
"""Tick labels, legends and cell values, in points: 12.5 px on the page."""

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
    width = min(size[0], MAX_WIDTH_IN)
    cols = max(1, min(columns, n, int(MAX_WIDTH_IN // width)))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, size[1] * rows), layout="constrained")
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
            ax.set_title(plain_text(title), fontsize=TITLE_PT)
            ax.tick_params(labelsize=TEXT_PT)
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
        fontsize=TEXT_PT,
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


def _accuracy_grid(n: int, columns: int = 3) -> tuple[Figure, list[tuple[Axes, Axes]]]:
    """Panels for ``n`` facets, ``columns`` wide: for each row of facets, a row of train
    accuracy above a row of test accuracy. Returns the (train, test) axes of each facet."""
    cols = min(columns, n)
    blocks = math.ceil(n / cols)
    fig = Figure(figsize=(MAX_WIDTH_IN / 3 * cols, 2 * 2.9 * blocks + 0.5), layout="constrained")
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
    fig, axes = _grid(len(shown), 3, (max(4.0, 0.8 * len(xs) + 2.0), 0.6 * len(ys) + 2.4))
    for ax, facet in zip(axes, shown):
        cells = phase_cells(sweep, in_facet(part, facets, facet), axis, scale, (ys, xs))
        ax.imshow(np.ma.masked_invalid(cells.ratio), cmap=PHASE_CMAP, norm=norm, aspect="auto")
        for i, j in np.ndindex(cells.loss.shape):
            _phase_cell(ax, cells, (i, j), norm)
        ax.set_xticks(range(len(xs)), [value(v) for v in xs], rotation=45, fontsize=TEXT_PT)
        ax.set_yticks(range(len(ys)), [value(v) for v in ys], fontsize=TEXT_PT)
        ax.set_xlabel(plain_text(scale.removeprefix("init.")))
        ax.set_ylabel(plain_text(axis))
        if facets:
            ax.set_title(plain_text(facet_title(facets, facet, short=True)), fontsize=TITLE_PT)
    bar = fig.colorbar(
        ScalarMappable(norm, PHASE_CMAP),
        ax=axes,
        # Two lines: on one, the label is taller than a diagram of one or two rows.
        label="final loss ÷\nconstant-prediction loss",
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
    bar.ax.tick_params(labelsize=TEXT_PT)
    fig.suptitle(plain_text(label), fontsize=TITLE_PT + 2)
    caption = f"{label}: mean final loss by {axis} and {scale}."
    if len(values) > len(shown):
        caption += f" Showing {len(shown)} of {len(values)} panels ({', '.join(facets)})."
    return _drawing(fig, f"Phase diagram of {label}: {axis} × {scale}", caption)


def _phase_cell(ax: Axes, cells: Cells, cell: tuple[int, int], norm: LogNorm) -> None:
    i, j = cell
    loss, ratio = float(cells.loss[cell]), float(cells.ratio[cell])
    diverged, n = int(cells.diverged[cell]), int(cells.n[cell])
    if n == 0:
        ax.text(j, i, "not run", ha="center", va="center", fontsize=TEXT_PT, color="gray")
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
            fontsize=TEXT_PT,
            color=plots.DIVERGED_COLOR,
            fontweight="bold",
        )
        return
    r, g, b, _ = PHASE_CMAP(norm(ratio)) if math.isfinite(ratio) else (1.0, 1.0, 1.0, 1.0)
    ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.45 else "black"
    text = sig(loss, 2) + (f"\n{diverged}/{n} div." if diverged else "")
    ax.text(j, i, text, ha="center", va="center", fontsize=TEXT_PT, color=ink)

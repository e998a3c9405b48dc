"""Figures: cost curves, decision boundaries, the course's side-by-side comparison, and the
diagnostics (activation histograms, gradient norms, variance by depth, boundaries over time).

Every function draws on a :class:`matplotlib.figure.Figure` it creates (or on the ``ax`` it is
given) and never touches pyplot's global state, never calls ``show()`` and never prints, so it
works headless, in threads and in tests. Plot functions take ``ax=None`` and return the axes;
:func:`plot_comparison` returns the whole figure. Saving is the caller's job
(``fig.savefig("comparison.png")``).

The comparison and the diagnostics figures (drawn many at a time by ``initlab diagnose``) are
laid out by fixed margins (:mod:`initlab._layout`), not constrained layout: one draw per save.

Samples are in rows, as everywhere in initlab: ``X`` has shape ``(n_samples, 2)``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from initlab._layout import (
    Margins,
    PlainLogFormatter,
    fit_layout,
    grid_figure,
    plain_text,
    suptitle,
    tick_labels,
    widen_flat_ylim,
)
from initlab._validate import check_choice, check_int, check_real
from initlab.compare import Comparison, Run
from initlab.diagnostics import Records
from initlab.network import MLP, predict
from initlab.train import History, TrainResult

CMAP = "Spectral"
"""The course's colormap: label 0 is red, label 1 is blue."""

MAX_GRID_POINTS = 1_000_000
"""Upper bound on the points a decision-boundary grid evaluates; the step is coarsened beyond."""

DIVERGED_COLOR = "crimson"

LOG_TITLE_Y = 1.0
"""Where a title sits above an axes with a log-scale y axis, in axes coordinates: where
matplotlib would put it. Its automatic placement looks for an offset text (a "1e6" above the y
ticks) to clear, and a log axis never has one; saying ``y=1`` skips that search (it recomputes
the axis' ticks at every layout pass and draw: a fifth of the comparison figure's drawing
time), with the same pixels. See :func:`title_y`."""

PREDICT_BLOCK = 16_384
"""Grid points per call when a trained network labels a decision-boundary grid: blocks this
size stay in the CPU's caches, and label the course's grid (about 175,000 points) several
times faster than one call on the whole grid, with the same labels."""

Predict = Callable[[NDArray[np.float64]], ArrayLike]
"""Maps points ``(n, 2)`` (samples in rows) to ``n`` labels or probabilities of label 1."""


def title_y(ax: Axes) -> float | None:
    """``y`` for ``ax.set_title``: :data:`LOG_TITLE_Y` when the y axis is logarithmic, else
    ``None`` (matplotlib places the title, clearing any offset text)."""
    return LOG_TITLE_Y if ax.get_yscale() == "log" else None


def new_figure(
    figsize: tuple[float, float] = (6.0, 4.5), margins: Margins | None = None
) -> tuple[Figure, Axes]:
    """A fresh, pyplot-free figure with one axes: constrained layout, or ``margins``."""
    fig, axes = grid_figure(figsize, 1, 1, margins)
    ax: Axes = axes[0, 0]
    return fig, ax


def _plain_title_y(ax: Axes) -> float | None:
    """``y`` for ``ax.set_title``: :data:`LOG_TITLE_Y` unless the y axis will show an offset
    text, which matplotlib's placement must clear (see :data:`LOG_TITLE_Y`); same pixels."""
    return LOG_TITLE_Y if ax.get_yscale() == "log" or not tick_labels(ax.yaxis)[1] else None


# --- cost ------------------------------------------------------------------------------


def plot_cost(
    history_or_result: History | TrainResult,
    ax: Axes | None = None,
    label: str | None = None,
    *,
    logy: bool = False,
    **line_kwargs: Any,
) -> Axes:
    """Cost against iteration, from a :class:`~initlab.train.History` or a ``TrainResult``.

    The x axis is in iterations (not the course's "hundreds"). A diverged run, whose last
    recorded cost is NaN or infinite, is drawn up to its last finite cost and marked with a
    red ✕ annotated "diverged at iteration N" at the iteration where the cost stopped being
    finite. ``logy=True`` uses a logarithmic cost axis, which keeps a huge first cost (a
    saturated output at initialization) from flattening the rest of the curve.

    >>> from initlab.train import History
    >>> ax = plot_cost(History([0, 1000], [0.69, 0.3]), label="he")
    >>> ax.get_xlabel()
    'iteration'
    """
    history = (
        history_or_result.history
        if isinstance(history_or_result, TrainResult)
        else history_or_result
    )
    if not isinstance(history, History):
        raise TypeError(
            "plot_cost needs a History or a TrainResult. "
            f"Received: {type(history_or_result).__name__}"
        )
    if not history.costs:
        raise ValueError("The history is empty: there is no recorded cost to plot")
    if ax is None:
        _, ax = new_figure()

    iterations = np.asarray(history.iterations, dtype=np.float64)
    costs = np.asarray(history.costs, dtype=np.float64)
    finite = np.isfinite(costs)
    ax.plot(iterations[finite], costs[finite], label=label and plain_text(label), **line_kwargs)
    if not finite.all():
        at = int(iterations[~finite][0])
        # Stand the mark on the last finite cost (on 1.0 if the very first cost was not finite).
        y = float(costs[finite][-1]) if finite.any() else 1.0
        ax.plot(
            [at],
            [y],
            marker="x",
            markersize=11,
            markeredgewidth=2.5,
            color=DIVERGED_COLOR,
            linestyle="none",
            zorder=3,
        )
        ax.annotate(
            f"diverged at iteration {at}",
            xy=(at, y),
            xytext=(-8, 8),
            textcoords="offset points",
            ha="right",
            color=DIVERGED_COLOR,
            fontsize="small",
        )
        if not finite.any():
            ax.set_ylim(*((0.1, 10.0) if logy else (0.0, 2.0)))
    if logy:
        ax.set_yscale("log")
        # Plain numbers (0.6, 2, 100) read better on a cost axis than 6×10⁻¹.
        ax.yaxis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
    widen_flat_ylim(ax, logy)
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost (log scale)" if logy else "cost")
    ax.grid(True, alpha=0.3)
    if label is not None:
        ax.legend()
    return ax


# --- decision boundary -----------------------------------------------------------------


def _grid_axis(low: float, high: float, step: float) -> NDArray[np.float64]:
    return np.arange(low, high, step, dtype=np.float64)


def decision_grid(
    X: NDArray[np.float64],
    step: float = 0.01,
    pad: float = 1.0,
    max_points: int = MAX_GRID_POINTS,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The course's evaluation grid: ``step`` apart over the data's range padded by ``pad``.

    When that grid would hold more than ``max_points`` points (a wide data range), the step is
    coarsened so that it does not; the grid never holds more than ``max_points``.
    """
    x_min, x_max = float(X[:, 0].min()) - pad, float(X[:, 0].max()) + pad
    y_min, y_max = float(X[:, 1].min()) - pad, float(X[:, 1].max()) + pad
    nx = math.ceil((x_max - x_min) / step)
    ny = math.ceil((y_max - y_min) / step)
    if nx * ny > max_points:
        step *= math.sqrt(nx * ny / max_points)
        while math.ceil((x_max - x_min) / step) * math.ceil((y_max - y_min) / step) > max_points:
            step *= 1.01
    xx, yy = np.meshgrid(_grid_axis(x_min, x_max, step), _grid_axis(y_min, y_max, step))
    return xx, yy


def _check_points(X: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[Any]]:
    X_arr = np.asarray(X, dtype=np.float64)
    if X_arr.ndim != 2:
        raise ValueError(
            "plot_decision_boundary needs X of shape (n_samples, 2), samples in rows. "
            f"Received shape {X_arr.shape}"
        )
    if X_arr.shape[1] != 2:
        raise ValueError(
            "plot_decision_boundary draws 2-D inputs only, but X has "
            f"{X_arr.shape[1]} features (shape {X_arr.shape}); project to 2 features first"
        )
    if X_arr.shape[0] == 0:
        raise ValueError("X has no samples (shape[0] == 0): nothing to draw a boundary around")
    if not np.isfinite(X_arr).all():
        raise ValueError("X contains NaN or infinite values; only finite points can be drawn")
    y_arr = np.asarray(y).reshape(-1)
    if y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y must hold one label per sample: X has {X_arr.shape[0]} samples, "
            f"y has {y_arr.shape[0]}"
        )
    return X_arr, y_arr


def plot_decision_boundary(
    predict: Predict,
    X: ArrayLike,
    y: ArrayLike,
    ax: Axes | None = None,
    step: float = 0.01,
    pad: float = 1.0,
    *,
    cmap: str = CMAP,
    max_points: int = MAX_GRID_POINTS,
    levels: ArrayLike | None = None,
) -> Axes:
    """Filled contour of ``predict`` over a grid around ``X``, with the points colored by ``y``.

    As in the course, ``predict`` is evaluated on a grid ``step`` apart that covers the data's
    range padded by ``pad`` on every side; the grid is coarsened if it would exceed
    ``max_points`` points. ``predict`` maps an ``(n, 2)`` array (samples in rows) to ``n``
    labels or probabilities of label 1. Labels get one band of color each, the color of
    their points (with the Spectral map, 0 is red and 1 blue); probabilities are banded every
    0.1 on the same 0-to-1 scale; other scores use matplotlib's default levels. Grid points
    where ``predict`` returns NaN (a diverged network) are left blank.

    Raises ``ValueError`` for inputs that are not 2-D points, naming the feature count.

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> ax = plot_decision_boundary(lambda P: P[:, 0] > 0.5, X, [0, 1], step=0.1)
    >>> ax.get_xlabel()
    'x1'
    """
    X_arr, y_arr = _check_points(X, y)
    step = check_real("step", step, low=0.0, low_open=True)
    pad = check_real("pad", pad, low=0.0)
    max_points = check_int("max_points", max_points, 4)
    if ax is None:
        _, ax = new_figure()

    xx, yy = decision_grid(X_arr, step, pad, max_points)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    raw = np.asarray(predict(grid))
    if raw.size != grid.shape[0]:
        raise ValueError(
            f"predict must return one value per point: it got {grid.shape[0]} points of shape "
            f"(n, 2) and returned shape {raw.shape}"
        )
    Z = raw.astype(np.float64).reshape(xx.shape)
    finite = np.isfinite(Z)
    y_float = y_arr.astype(np.float64)
    norm: Normalize | None = None
    if finite.any():
        values = Z[finite]
        if levels is None and np.all(values == np.round(values)):
            # Labels: one band centred on each label, so regions take their points' colors.
            low = min(float(values.min()), float(y_float.min()))
            high = max(float(values.max()), float(y_float.max()), low + 1.0)
            norm = Normalize(vmin=low, vmax=high)
            levels = np.arange(low - 0.5, high + 1.0)
        elif levels is None and values.min() >= 0.0 and values.max() <= 1.0:
            norm = Normalize(vmin=0.0, vmax=1.0)  # probabilities of label 1
            levels = np.linspace(0.0, 1.0, 11)
        ax.contourf(
            xx, yy, np.ma.masked_invalid(Z), levels=levels, cmap=cmap, norm=norm, alpha=0.55
        )
    else:
        ax.text(
            0.5,
            0.5,
            "predict returned no finite value",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=DIVERGED_COLOR,
        )
    if norm is None:
        norm = Normalize(vmin=min(float(y_float.min()), 0.0), vmax=max(float(y_float.max()), 1.0))
    ax.scatter(
        X_arr[:, 0],
        X_arr[:, 1],
        c=y_float,
        cmap=cmap,
        norm=norm,
        s=14,
        edgecolors="black",
        linewidths=0.3,
    )
    ax.set_xlim(float(xx.min()), float(xx.max()))
    ax.set_ylim(float(yy.min()), float(yy.max()))
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax


# --- the comparison --------------------------------------------------------------------


def _fmt_accuracy(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def run_title(run: Run, width: int = 38) -> str:
    """``init``, then train/test accuracy (R² for regression), then the wrapped "why"."""
    why, r2 = textwrap.fill(run.why, width=width), "R² " if run.result.mlp.is_regression else ""
    return (
        f"{run.init}\n"
        f"train {r2}{_fmt_accuracy(run.train_accuracy)} · test {_fmt_accuracy(run.test_accuracy)}\n"
        f"{why}"
    )


def blockwise(predict: Predict, block: int = PREDICT_BLOCK) -> Predict:
    """``predict`` applied to ``block`` points at a time, its results concatenated.

    >>> blockwise(lambda P: P[:, 0] > 0, block=2)(np.array([[1.0, 0], [-1, 0], [2, 0]]))
    array([ True, False,  True])
    """

    def blocked(points: NDArray[np.float64]) -> ArrayLike:
        if len(points) <= block:
            return predict(points)
        parts = [np.asarray(predict(points[i : i + block])) for i in range(0, len(points), block)]
        return np.concatenate(parts)

    return blocked


def plot_run_boundary(run: Run, X: ArrayLike, y: ArrayLike, ax: Axes | None = None) -> Axes:
    """The decision boundary of one run's trained network; a diverged run shows its data only."""
    if not run.result.diverged:
        return plot_decision_boundary(blockwise(run.result.predict), X, y, ax=ax)
    X_arr, y_arr = _check_points(X, y)
    if ax is None:
        _, ax = new_figure()
    ax.scatter(
        X_arr[:, 0],
        X_arr[:, 1],
        c=y_arr.astype(np.float64),
        cmap=CMAP,
        norm=Normalize(0.0, 1.0),
        s=14,
        edgecolors="black",
        linewidths=0.3,
    )
    ax.text(
        0.5,
        0.5,
        f"diverged at iteration {run.result.diverged_at}:\nno decision boundary",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=DIVERGED_COLOR,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": DIVERGED_COLOR},
    )
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax


def plot_comparison(comparison: Comparison, *, logy: bool = True) -> Figure:
    """The course's experiment in one figure: one column per initialization.

    Top row: the cost curve (log scale by default, so the ×10 random run's huge first cost
    does not flatten the others). Bottom row: the decision boundary on the training data.
    Each column is titled with the init's name, its train/test accuracy and the one-line
    diagnosis ("why"). Returns the :class:`~matplotlib.figure.Figure`; nothing is shown.
    """
    runs = comparison.runs
    if not runs:
        raise ValueError("The comparison has no runs to plot")
    data = comparison.dataset
    n = len(runs)
    titles = [plain_text(run_title(run)) for run in runs]
    top = COMPARISON_MARGINS.top + TITLE_LINE * max(title.count("\n") + 1 for title in titles)
    fig, axes = grid_figure((4.6 * n, 9.0), 2, n, replace(COMPARISON_MARGINS, top=top))
    for column, (run, title) in enumerate(zip(runs, titles)):
        cost_ax: Axes = axes[0, column]
        boundary_ax: Axes = axes[1, column]
        plot_cost(run.result, ax=cost_ax, logy=logy, marker=".")
        cost_ax.set_title(title, fontsize="medium", y=_plain_title_y(cost_ax))
        plot_run_boundary(run, data.X_train, data.y_train, ax=boundary_ax)
        boundary_ax.set_aspect("equal")
        view = "prediction" if run.result.mlp.is_regression else "decision boundary"
        boundary_title = f"{plain_text(run.init)}: {view} (train set)"
        boundary_ax.set_title(boundary_title, fontsize="medium", y=_plain_title_y(boundary_ax))
    first = runs[0].result
    sizes = ", ".join(str(s) for s in comparison.mlp.layer_sizes)
    activation = comparison.mlp.activation
    act = activation if isinstance(activation, str) else "/".join(activation)
    fixed = fit_layout(fig).get_layout_engine() is None
    fig.suptitle(
        f"{plain_text(data.name)}: [{sizes}] {act}, learning rate {first.learning_rate:g}, "
        f"{first.iterations:,} iterations, seed {comparison.seed}",
        fontsize="large",
        y=1 - 0.05 / fig.get_figheight() if fixed else None,
    )
    return fig


COMPARISON_MARGINS = Margins(left=0.75, right=0.1, bottom=0.47, top=0.4, wgap=0.85, hgap=0.72)
"""The comparison's layout: a large figure title, x1/x2 and cost labels, tick labels of up to
:data:`initlab._layout.PLAIN_LABEL_CHARS` characters, and (``top``) room for the cost axes'
titles but for their lines, which add :data:`TITLE_LINE` each."""

TITLE_LINE = 10 * 1.2 / 72
"""The height, in inches, of one line of a medium-size (10-point) title: 1.2 × 10 points."""


# --- diagnostics -----------------------------------------------------------------------


LOG_AXES_MARGINS = Margins(left=0.85, right=0.15, bottom=0.55, top=0.35)
"""One axes with a title and a log y axis (``10⁻⁵`` tick labels): the gradient norms and the
variance by depth."""

HISTOGRAM_MARGINS = Margins(left=0.75, right=0.25, bottom=0.3, top=0.55, wgap=0.55, hgap=0.5)
"""The histograms' layout: a figure title, and per axes a small title and tick labels of up to
6 characters (counts below a million)."""

BOUNDARY_GRID_MARGINS = Margins(left=0.8, right=0.1, bottom=0.55, top=0.55, wgap=0.8, hgap=0.8)
"""The boundaries' layout: a figure title, and per axes a small title, x1/x2 labels and tick
labels of up to :data:`initlab._layout.PLAIN_LABEL_CHARS` characters."""


MINOR_DECADES = 6
"""Decades a diagnostics log axis spans beyond which it shows no minor ticks."""


def _layer_color(layer: int, n_layers: int) -> Any:
    from matplotlib import colormaps

    return colormaps["viridis"](0.9 * (layer - 1) / max(1, n_layers - 1))


def _finish_log_axes(ax: Axes, values: Sequence[float], xlabel: str, ylabel: str) -> Axes:
    """Finish a diagnostics plot: axis labels, a small legend, a light grid, and a log y-axis
    unless no value is positive (an all-zero network), which keeps it linear; over more than
    :data:`MINOR_DECADES` decades the log axis has no minor ticks (too dense to read)."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if positive:
        ax.set_yscale("log")
        if math.log10(max(positive) / min(positive)) > MINOR_DECADES:
            from matplotlib.ticker import NullLocator

            ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="x-small")
    ax.grid(True, alpha=0.3)
    return ax


def plot_activation_histograms(
    records: Records,
    iterations: Sequence[int] | None = None,
    which: str = "a",
    title: str | None = None,
) -> Figure:
    """Per-layer histograms of activations (``which="a"``) or pre-activations (``"z"``).

    One row per recorded iteration (default: the first and the last, i.e. at initialization
    and after training), one column per layer: the picture of the deeplearning.ai AI Notes on
    initialization, measured.
    """
    check_choice("which", which, ("a", "z"), must="'a' or 'z'")
    recorded = records.iterations
    if not recorded:
        raise ValueError("The records are empty: nothing to plot")
    chosen = list(iterations) if iterations is not None else sorted({recorded[0], recorded[-1]})
    missing = [i for i in chosen if i not in recorded]
    if missing:
        raise ValueError(f"Iterations {missing} were not recorded; recorded: {recorded}")
    n_layers = len(records.at(chosen[0]))
    size = (2.6 * n_layers, 2.3 * len(chosen) + 0.6)
    fig, axes = grid_figure(size, len(chosen), n_layers, HISTOGRAM_MARGINS)
    label = "activation" if which == "a" else "pre-activation"
    for row, iteration in enumerate(chosen):
        for col, rec in enumerate(records.at(iteration)):
            ax: Axes = axes[row, col]
            hist = rec.a_hist if which == "a" else rec.z_hist
            if hist.counts:
                edges = np.asarray(hist.edges)
                ax.stairs(hist.counts, edges, fill=True, color=_layer_color(rec.layer, n_layers))
            ax.tick_params(labelsize="x-small")
            ax.locator_params(nbins=4)  # a few ticks per small panel, each one costly to draw
            std = rec.a_std if which == "a" else rec.z_std
            ax.set_title(f"layer {rec.layer} ({rec.activation}) · std {std:.3g}",
                         fontsize="small", y=_plain_title_y(ax))  # fmt: skip
            if col == 0:
                ax.set_ylabel(f"iteration {iteration:,}", fontsize="small")
    fit_layout(fig, max_chars=6)
    suptitle(fig, title or f"{label} histograms per layer")
    return fig


def plot_gradient_norms(records: Records, ax: Axes | None = None, label: str = "") -> Axes:
    """‖∂L/∂W‖ of every layer over training (log scale)."""
    if ax is None:
        _, ax = new_figure()
    layers = sorted({r.layer for r in records.rows})
    for layer in layers:
        its, norms = records.column("grad_W_norm", layer)
        values = np.asarray(norms, dtype=np.float64)
        ax.plot(its, np.where(values > 0, values, np.nan), marker=".",
                color=_layer_color(layer, len(layers)), label=f"{label}layer {layer}")  # fmt: skip
    return _finish_log_axes(ax, [r.grad_W_norm for r in records.rows], "iteration", "‖∂L/∂W‖")


def plot_variance_by_depth(
    measured: Sequence[float],
    predicted: Sequence[float] | None = None,
    ax: Axes | None = None,
    label: str = "",
    color: Any = None,
) -> Axes:
    """Pre-activation variance by layer: measured (dots) and, if given, the theory (line)."""
    if ax is None:
        _, ax = new_figure()
    layers = np.arange(1, len(measured) + 1)
    line = ax.plot(layers, measured, "o", color=color, label=f"{label} measured".strip())
    if predicted is not None:
        if len(predicted) != len(measured):
            raise ValueError(
                f"Got {len(predicted)} predicted values for {len(measured)} measured layers"
            )
        ax.plot(layers, predicted, "-", color=line[0].get_color(),
                label=f"{label} theory".strip())  # fmt: skip
    values = [*measured, *(predicted if predicted is not None else [])]
    return _finish_log_axes(ax, values, "layer", "pre-activation variance q")


def plot_boundary_grid(
    mlp: MLP,
    records: Records,
    X: ArrayLike,
    y: ArrayLike,
    max_panels: int = 6,
    title: str | None = None,
) -> Figure:
    """Decision boundaries at up to ``max_panels`` recorded iterations, evenly spread.

    Needs parameter snapshots: record with ``Recorder(keep_params=True)``.
    """
    snaps = sorted(records.snapshots)
    if not snaps:
        raise ValueError("No parameter snapshots: record with Recorder(keep_params=True)")
    if len(snaps) > max_panels:
        picks = np.unique(np.linspace(0, len(snaps) - 1, max_panels).round().astype(int))
        snaps = [snaps[i] for i in picks]
    cols = min(3, len(snaps))
    rows = math.ceil(len(snaps) / cols)
    fig, axes = grid_figure((3.6 * cols, 3.6 * rows), rows, cols, BOUNDARY_GRID_MARGINS)
    for ax, iteration in zip(axes.flat, snaps):
        labels = blockwise(partial(predict, mlp, records.snapshots[iteration]))
        plot_decision_boundary(labels, X, y, ax=ax, step=0.02)
        ax.set_aspect("equal")
        ax.set_title(f"iteration {iteration:,}", fontsize="small", y=_plain_title_y(ax))
    for ax in list(axes.flat)[len(snaps) :]:
        ax.set_visible(False)
    fit_layout(fig)
    if title:
        suptitle(fig, title)
    return fig

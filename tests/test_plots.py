"""Figures: cost curves, decision boundaries and the comparison, drawn headless (Agg)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from initlab import plots
from initlab.compare import Comparison, compare
from initlab.plots import (
    MAX_GRID_POINTS,
    blockwise,
    decision_grid,
    new_figure,
    plot_comparison,
    plot_cost,
    plot_decision_boundary,
    plot_run_boundary,
)
from initlab.train import History

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_comparison() -> Comparison:
    return compare(iterations=300, record_every=100)


@pytest.fixture(scope="module")
def diverged_comparison() -> Comparison:
    # A linear network with a large step diverges within a few iterations (ReLU ones die).
    comparison = compare(["random", "he"], activation="linear", learning_rate=10, iterations=200)
    assert all(run.result.diverged for run in comparison.runs)
    return comparison


def pixels(fig: Figure) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def scatter_of(ax: Axes) -> PathCollection:
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 1
    return scatters[0]


# --- plot_cost -------------------------------------------------------------------------


def test_plot_cost_draws_history_in_iterations() -> None:
    history = History([0, 1000, 2000], [0.9, 0.5, 0.2])
    ax = plot_cost(history, label="he")
    assert isinstance(ax, Axes)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1000, 2000])
    np.testing.assert_array_equal(line.get_ydata(), [0.9, 0.5, 0.2])
    assert ax.get_xlabel() == "iteration"
    assert ax.get_yscale() == "linear"
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["he"]


def test_plot_cost_accepts_a_train_result_and_draws_on_the_given_axes(
    small_comparison: Comparison,
) -> None:
    fig, ax = new_figure()
    result = small_comparison.runs[2].result
    returned = plot_cost(result, ax=ax, logy=True)
    assert returned is ax
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is None
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 100, 200])
    assert png_bytes(fig).startswith(PNG_SIGNATURE)


def test_plot_cost_overlays_runs_on_one_axes(small_comparison: Comparison) -> None:
    _, ax = new_figure()
    for run in small_comparison.runs:
        plot_cost(run.result, ax=ax, label=run.init)
    assert len(ax.get_lines()) == 3
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["zeros", "random", "he"]


@pytest.mark.parametrize("logy", [False, True])
def test_plot_cost_gives_a_flat_cost_a_readable_range(logy: bool) -> None:
    # The zeros run's cost is 0.693… up to a few ulps; matplotlib would zoom into the ulps.
    flat = [0.6931471805599453, 0.6931471805599455, 0.6931471805599455]
    ax = plot_cost(History([0, 1000, 2000], flat), logy=logy)
    low, high = ax.get_ylim()
    assert low < 0.5 < 0.7 < high
    assert high - low < 3


def test_plot_cost_marks_a_diverged_history() -> None:
    history = History([0, 1000, 1500], [0.7, 0.5, math.nan])
    ax = plot_cost(history)
    curve, mark = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), [0, 1000])
    assert mark.get_marker() == "x"
    np.testing.assert_array_equal(mark.get_xdata(), [1500])
    np.testing.assert_array_equal(mark.get_ydata(), [0.5])
    assert [t.get_text() for t in ax.texts] == ["diverged at iteration 1500"]


def test_plot_cost_marks_a_diverged_run(diverged_comparison: Comparison) -> None:
    result = diverged_comparison.runs[0].result
    ax = plot_cost(result, logy=True)
    assert ax.texts[0].get_text() == f"diverged at iteration {result.diverged_at}"
    assert png_bytes(ax.figure).startswith(PNG_SIGNATURE)  # type: ignore[arg-type]


def test_plot_cost_handles_divergence_at_the_first_iteration() -> None:
    ax = plot_cost(History([0], [math.inf]), logy=True)
    assert ax.texts[0].get_text() == "diverged at iteration 0"
    assert png_bytes(ax.figure).startswith(PNG_SIGNATURE)  # type: ignore[arg-type]


def test_plot_cost_rejects_empty_and_wrong_inputs() -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_cost(History())
    with pytest.raises(TypeError, match="History or a TrainResult"):
        plot_cost([0.1, 0.2])  # type: ignore[arg-type]


# --- plot_decision_boundary ------------------------------------------------------------


def inside_unit_circle(points: np.ndarray) -> np.ndarray:
    inside: np.ndarray = np.hypot(points[:, 0], points[:, 1]) < 0.5
    return inside.astype(np.int64)


def test_decision_boundary_has_contour_and_colored_points() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(50, 2))
    y = inside_unit_circle(X)
    ax = plot_decision_boundary(inside_unit_circle, X, y)
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1
    np.testing.assert_array_equal(contours[0].levels, [-0.5, 0.5, 1.5])
    assert contours[0].get_cmap().name == "Spectral"
    scatter = scatter_of(ax)
    np.testing.assert_array_equal(scatter.get_offsets(), X)
    np.testing.assert_array_equal(scatter.get_array(), y)
    # The course's grid: the data's range padded by 1 on every side.
    low_x, high_x = ax.get_xlim()
    assert low_x == pytest.approx(X[:, 0].min() - 1)
    assert high_x == pytest.approx(X[:, 0].max() + 1, abs=0.011)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")


def test_decision_boundary_evaluates_the_course_grid_rows_as_samples() -> None:
    X = np.array([[-1.0, -1.0], [1.0, 1.0]])
    seen: list[tuple[int, ...]] = []

    def predict(points: np.ndarray) -> np.ndarray:
        seen.append(points.shape)
        return points[:, 0] > 0

    plot_decision_boundary(predict, X, [0, 1])
    assert seen == [(400 * 400, 2)]  # range 4 per axis at step 0.01


def test_decision_boundary_with_probabilities_uses_finer_levels() -> None:
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    ax = plot_decision_boundary(lambda P: 1 / (1 + np.exp(-P[:, 0])), X, [0, 1], step=0.05)
    (contour,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    np.testing.assert_allclose(np.asarray(contour.levels), np.linspace(0, 1, 11))


def test_decision_boundary_grid_is_bounded() -> None:
    X = np.array([[0.0, 0.0], [5000.0, 5000.0]])  # 500,200² points at step 0.01
    xx, _ = decision_grid(X)
    assert xx.size <= MAX_GRID_POINTS
    assert xx.size > MAX_GRID_POINTS * 0.9
    sizes: list[int] = []

    def predict(points: np.ndarray) -> np.ndarray:
        sizes.append(len(points))
        return np.zeros(len(points))

    plot_decision_boundary(predict, X, [0, 1], max_points=10_000)
    assert 9_000 < sizes[0] <= 10_000


def test_decision_boundary_leaves_nan_predictions_blank() -> None:
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    ax = plot_decision_boundary(lambda P: np.where(P[:, 0] > 0, np.nan, 0.0), X, [0, 1], step=0.05)
    assert any(isinstance(c, ContourSet) for c in ax.collections)
    ax = plot_decision_boundary(lambda P: np.full(len(P), np.nan), X, [0, 1], step=0.05)
    assert not any(isinstance(c, ContourSet) for c in ax.collections)
    assert "no finite value" in ax.texts[0].get_text()
    assert png_bytes(ax.figure).startswith(PNG_SIGNATURE)  # type: ignore[arg-type]


def test_decision_boundary_rejects_other_than_two_features() -> None:
    with pytest.raises(ValueError, match="X has 3 features"):
        plot_decision_boundary(inside_unit_circle, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="X has 1 features"):
        plot_decision_boundary(inside_unit_circle, np.zeros((5, 1)), np.zeros(5))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        plot_decision_boundary(inside_unit_circle, np.zeros(5), np.zeros(5))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": np.zeros(4)}, "X has 5 samples, y has 4"),
        ({"step": 0.0}, "step=0.0"),
        ({"step": math.nan}, "step=nan"),
        ({"pad": -1.0}, "pad=-1.0"),
        ({"X": np.full((5, 2), np.nan)}, "NaN or infinite"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, "no samples"),
        ({"predict": lambda P: np.zeros(3)}, "returned shape"),
    ],
)
def test_decision_boundary_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "predict": inside_unit_circle,
        "X": np.zeros((5, 2)),
        "y": np.zeros(5),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(**args)  # type: ignore[arg-type]


def test_blockwise_predicts_block_by_block_with_the_same_result() -> None:
    sizes: list[int] = []

    def predict(points: np.ndarray) -> np.ndarray:
        sizes.append(len(points))
        return inside_unit_circle(points)

    P = np.random.default_rng(0).uniform(-1, 1, size=(10, 2))
    np.testing.assert_array_equal(blockwise(predict, block=4)(P), inside_unit_circle(P))
    assert sizes == [4, 4, 2]
    sizes.clear()
    np.testing.assert_array_equal(blockwise(predict, block=10)(P), inside_unit_circle(P))
    assert sizes == [10]  # one call when the points fit in one block


def test_run_boundary_draws_the_whole_grid_labels(small_comparison: Comparison) -> None:
    # A trained network labels the grid block by block: the same regions as in one call.
    data = small_comparison.dataset
    for run in small_comparison.runs:
        blocked = plot_run_boundary(run, data.X_train, data.y_train)
        whole = plot_decision_boundary(run.result.predict, data.X_train, data.y_train)
        (a,) = [c for c in blocked.collections if isinstance(c, ContourSet)]
        (b,) = [c for c in whole.collections if isinstance(c, ContourSet)]
        assert len(a.get_paths()) == len(b.get_paths())
        for path_a, path_b in zip(a.get_paths(), b.get_paths()):
            np.testing.assert_array_equal(path_a.vertices, path_b.vertices)


# --- plot_comparison -------------------------------------------------------------------


def test_plot_comparison_one_column_per_run(small_comparison: Comparison) -> None:
    fig = plot_comparison(small_comparison)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 6
    # subplots(2, n) orders axes row by row: three cost axes, then three boundary axes.
    top, bottom = axes[:3], axes[3:]
    for ax, run in zip(top, small_comparison.runs):
        title = ax.get_title()
        assert title.startswith(run.init + "\n")
        assert f"train {run.train_accuracy:.4g}" in title
        assert f"test {run.test_accuracy:.4g}" in title
        assert run.why.split()[0] in title
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == "iteration"
    for ax, run in zip(bottom, small_comparison.runs):
        assert run.init in ax.get_title()
        assert any(isinstance(c, ContourSet) for c in ax.collections)
        assert len(np.asarray(scatter_of(ax).get_offsets())) == len(
            small_comparison.dataset.X_train
        )
    assert "300 iterations" in fig.get_suptitle()
    assert png_bytes(fig).startswith(PNG_SIGNATURE)


def test_plot_comparison_places_cost_titles_where_matplotlib_would(
    small_comparison: Comparison, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The log-scale cost titles are placed at y = 1 up front, which spares matplotlib its
    # search for the place; the figure is the same, pixel for pixel.
    fixed = plot_comparison(small_comparison)
    assert all(ax.title.get_position()[1] == 1.0 for ax in fixed.get_axes()[:3])
    monkeypatch.setattr(plots, "LOG_TITLE_Y", None)
    searched = plot_comparison(small_comparison)
    np.testing.assert_array_equal(pixels(fixed), pixels(searched))


def test_plot_comparison_wraps_the_why_line(small_comparison: Comparison) -> None:
    fig = plot_comparison(small_comparison)
    for ax in fig.get_axes()[:3]:
        assert all(len(line) <= 40 for line in ax.get_title().splitlines())


def test_plot_comparison_of_diverged_runs(diverged_comparison: Comparison) -> None:
    fig = plot_comparison(diverged_comparison)
    axes = fig.get_axes()
    assert len(axes) == 4
    for ax in axes[:2]:
        assert "train n/a" in ax.get_title()
        assert ax.texts[0].get_text().startswith("diverged at iteration")
    for ax in axes[2:]:
        assert not any(isinstance(c, ContourSet) for c in ax.collections)
        assert "no decision boundary" in ax.texts[0].get_text()
    assert png_bytes(fig).startswith(PNG_SIGNATURE)


# --- diagnostics figures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded() -> Comparison:
    return compare(["zeros", "he"], iterations=300, diagnose_every=100, keep_params=True)


def test_activation_histograms_one_panel_per_layer_and_iteration(recorded: Comparison) -> None:
    from matplotlib.patches import StepPatch

    from initlab.plots import plot_activation_histograms

    records = recorded.runs[1].result.records
    fig = plot_activation_histograms(records)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 * 3  # init and end × 3 layers
    assert all(any(isinstance(p, StepPatch) for p in ax.patches) for ax in axes)
    assert "iteration 0" in axes[0].get_ylabel()
    assert "iteration 300" in axes[3].get_ylabel()
    z = plot_activation_histograms(records, iterations=[100], which="z")
    assert len(z.axes) == 3
    with pytest.raises(ValueError, match=r"Iterations \[50\] were not recorded"):
        plot_activation_histograms(records, iterations=[50])
    with pytest.raises(ValueError, match=r"which='b'"):
        plot_activation_histograms(records, which="b")


def test_gradient_norms_one_line_per_layer(recorded: Comparison) -> None:
    from initlab.plots import plot_gradient_norms

    ax = plot_gradient_norms(recorded.runs[1].result.records)
    assert len(ax.get_lines()) == 3
    assert list(ax.get_lines()[0].get_xdata()) == [0, 100, 200, 300]
    assert ax.get_yscale() == "log"


def test_variance_by_depth_overlays_theory() -> None:
    from initlab.plots import plot_variance_by_depth

    ax = plot_variance_by_depth([1.0, 0.5, 0.25], [1.0, 0.5, 0.25], label="glorot")
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="2 predicted values for 3 measured"):
        plot_variance_by_depth([1.0, 0.5, 0.25], [1.0, 0.5])


def test_boundary_grid_needs_snapshots(recorded: Comparison) -> None:
    from initlab.diagnostics import Records
    from initlab.plots import plot_boundary_grid

    data = recorded.dataset
    fig = plot_boundary_grid(recorded.mlp, recorded.runs[1].result.records, data.X_train,
                             data.y_train, max_panels=3)  # fmt: skip
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["iteration 0", "iteration 200", "iteration 300"]
    with pytest.raises(ValueError, match="keep_params=True"):
        plot_boundary_grid(recorded.mlp, Records(), data.X_train, data.y_train)


def test_variance_by_depth_accepts_arrays() -> None:
    from initlab.plots import plot_variance_by_depth

    ax = plot_variance_by_depth(np.array([1.0, 0.5]), np.array([1.0, 0.5]))
    assert ax.get_yscale() == "log"


# --- diagnostics figures: fixed layout -------------------------------------------------


def assert_laid_out(fig: Figure) -> None:
    """Every visible axes, with its title and tick labels, lies inside the canvas and clear of
    the others, and the figure's title clear of them all."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    canvas_box = fig.bbox
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    if fig.get_suptitle():
        boxes.append(fig._suptitle.get_window_extent(renderer))  # type: ignore[attr-defined]
    for i, box in enumerate(boxes):
        assert canvas_box.x0 <= box.x0, (i, box)
        assert box.x1 <= canvas_box.x1, (i, box)
        assert canvas_box.y0 <= box.y0, (i, box)
        assert box.y1 <= canvas_box.y1, (i, box)
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other), (box, other)


def test_diagnostics_figures_are_laid_out_once(recorded: Comparison) -> None:
    # Fixed margins instead of constrained layout: saving draws each figure once.
    from initlab.plots import plot_activation_histograms, plot_boundary_grid

    records = recorded.runs[1].result.records
    data = recorded.dataset
    figures = [
        plot_activation_histograms(records, title="he: activations"),
        plot_activation_histograms(records, which="z"),
        plot_boundary_grid(recorded.mlp, records, data.X_train, data.y_train, title="he"),
        plot_boundary_grid(recorded.mlp, records, data.X_train, data.y_train, max_panels=2),
    ]
    for fig in figures:
        assert fig.get_layout_engine() is None
        assert_laid_out(fig)


def test_diagnostics_titles_sit_where_matplotlib_would(
    recorded: Comparison, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Titles over axes without an offset text are placed at y = 1 up front, sparing matplotlib
    # its search: the same figure, pixel for pixel.
    from initlab.plots import plot_activation_histograms, plot_boundary_grid

    records = recorded.runs[1].result.records
    data = recorded.dataset

    def draw() -> list[Figure]:
        return [
            plot_activation_histograms(records, title="he"),
            plot_boundary_grid(recorded.mlp, records, data.X_train, data.y_train, title="he"),
        ]

    fixed = draw()
    assert all(not ax._autotitlepos for fig in fixed for ax in fig.axes if ax.get_visible())
    monkeypatch.setattr(plots, "LOG_TITLE_Y", None)
    for fig, searched in zip(fixed, draw()):
        np.testing.assert_array_equal(pixels(fig), pixels(searched))


def test_long_tick_labels_get_constrained_layout(recorded: Comparison) -> None:
    # Counts of a million get a "1e6" offset text that the fixed margins have no room for.
    import dataclasses

    from initlab.diagnostics import Histogram, Records
    from initlab.plots import plot_activation_histograms

    rows = recorded.runs[1].result.records.rows
    big = Records([dataclasses.replace(row, a_hist=Histogram(
        [count * 1000 for count in row.a_hist.counts], row.a_hist.low, row.a_hist.high,
    )) for row in rows])  # fmt: skip
    fig = plot_activation_histograms(big)
    assert fig.get_layout_engine() is not None
    assert any(ax._autotitlepos for ax in fig.axes)  # titles clear the offset text
    assert_laid_out(fig)


def test_fit_layout_keeps_short_labels_and_hands_long_ones_over() -> None:
    from initlab._layout import Margins, fit_layout, grid_figure

    margins = Margins(left=0.8, right=0.2, bottom=0.6, top=0.4)
    fig, axes = grid_figure((4.0, 3.0), 1, 1, margins)
    axes[0, 0].plot([0, 14000], [-0.5, 0.75])
    assert fit_layout(fig).get_layout_engine() is None
    fig, axes = grid_figure((4.0, 3.0), 1, 1, margins)
    axes[0, 0].plot([0, 1], [100_000, 100_001])  # an offset text
    assert fit_layout(fig).get_layout_engine() is not None
    fig, axes = grid_figure((4.0, 3.0), 1, 1, margins)
    axes[0, 0].plot([0, 1], [0, 250_000])
    assert fit_layout(fig).get_layout_engine() is not None  # 6 characters
    fig, axes = grid_figure((4.0, 3.0), 1, 1, margins)
    axes[0, 0].plot([0, 1], [0, 250_000])
    assert fit_layout(fig, max_chars=6).get_layout_engine() is None


def test_log_axes_figures_fit_their_margins(recorded: Comparison) -> None:
    from initlab._layout import fit_layout
    from initlab.plots import LOG_AXES_MARGINS, plot_gradient_norms, plot_variance_by_depth

    for run in recorded.runs:  # zeros: a linear axis of zeros; he: a log axis
        fig, ax = new_figure(margins=LOG_AXES_MARGINS)
        plot_gradient_norms(run.result.records, ax=ax)
        ax.set_title(f"{run.init}: gradient norm per layer", fontsize="medium")
        assert fit_layout(fig).get_layout_engine() is None
        assert_laid_out(fig)
    fig, ax = new_figure((6.5, 4.5), LOG_AXES_MARGINS)
    plot_variance_by_depth([1e-5, 1.0, 1e7], [1e-5, 1.0, 1e7], ax=ax, label="random")
    ax.set_title("pre-activation variance at initialization", fontsize="medium", y=1.0)
    assert fit_layout(fig).get_layout_engine() is None
    assert_laid_out(fig)


def test_plot_comparison_is_laid_out_once(
    small_comparison: Comparison, diverged_comparison: Comparison
) -> None:
    # Fixed margins, the top one grown with the longest title: saving draws the figure once.
    for comparison in (small_comparison, diverged_comparison):
        fig = plot_comparison(comparison)
        assert fig.get_layout_engine() is None
        assert_laid_out(fig)


def test_fit_layout_measures_plainly_labelled_log_axes() -> None:
    # plot_cost labels a log axis in plain numbers: 0.0001 is longer than the margins allow.
    from initlab._layout import fit_layout

    fig, ax = new_figure(margins=plots.COMPARISON_MARGINS)
    plot_cost(History([0, 1000], [0.5, 0.01]), ax=ax, logy=True)
    assert fit_layout(fig).get_layout_engine() is None
    fig, ax = new_figure(margins=plots.COMPARISON_MARGINS)
    plot_cost(History([0, 1000], [0.5, 0.00005]), ax=ax, logy=True)
    assert fit_layout(fig).get_layout_engine() is not None

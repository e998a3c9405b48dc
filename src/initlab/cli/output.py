"""The ``initlab`` command line's files on disk: figures (PNG) and diagnostics records.

Every file is written atomically through :mod:`initlab._io`, and every JSON is strict.
matplotlib and :mod:`initlab.plots` are imported only inside the functions that draw.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab._io import dumps, write_atomic, write_atomic_with

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from initlab.compare import Comparison
    from initlab.theory import Prediction


def safe_stem(name: str) -> str:
    """A file-name-safe version of an init's label (``cost_<stem>.png``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "init"


def figure_names(comparison: Comparison) -> list[str]:
    """One stem per run, made unique (``he``, ``he_2``) when an init is compared twice."""
    seen: dict[str, int] = {}
    stems = []
    for run in comparison.runs:
        stem = safe_stem(run.init)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a 100-dpi PNG, atomically; returns ``path``.

    A run interrupted while saving leaves at most a stray ``.*.part`` file, never a
    half-written ``path``.
    """
    write_atomic_with(path, lambda handle: fig.savefig(handle, format="png", dpi=100))
    return path


def write_figures(comparison: Comparison, out: Path, per_run: bool = True) -> list[Path]:
    """``comparison.png``, plus ``cost_<init>.png`` and ``boundary_<init>.png`` per run if
    ``per_run``: the comparison's own panels, one file each."""
    from initlab import plots  # matplotlib is only needed here

    out.mkdir(parents=True, exist_ok=True)
    data = comparison.dataset
    written = [save_figure(plots.plot_comparison(comparison), out / "comparison.png")]
    if not per_run:
        return written
    for run, stem in zip(comparison.runs, figure_names(comparison)):
        fig, ax = plots.new_figure()
        plots.plot_cost(run.result, ax=ax, label=run.init, logy=True, marker=".")
        ax.set_title(plots.run_title(run, width=70), fontsize="medium", y=plots.title_y(ax))
        written.append(save_figure(fig, out / f"cost_{stem}.png"))

        fig, ax = plots.new_figure((6.0, 6.0))
        plots.plot_run_boundary(run, data.X_train, data.y_train, ax=ax)
        ax.set_aspect("equal")
        ax.set_title(plots.run_title(run, width=60), fontsize="medium")
        written.append(save_figure(fig, out / f"boundary_{stem}.png"))
    return written


def write_diagnostics(
    comparison: Comparison,
    predictions: dict[str, Prediction | None],
    out: Path,
    plots: bool = True,
    boundaries: bool = True,
) -> list[Path]:
    """records.csv, records.json and (with ``plots``) the diagnostics figures, into ``out``:
    :func:`write_records`, then :func:`write_diagnostic_figures`."""
    written = write_records(comparison, out)
    if plots:
        written += write_diagnostic_figures(comparison, predictions, out, boundaries)
    return written


def write_records(comparison: Comparison, out: Path) -> list[Path]:
    """records.csv and records.json of every recorded run, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    runs = [run for run in comparison.runs if run.result.records is not None]
    # One table for all runs: every run's CSV has the same header; keep the first.
    texts = [run.result.records.to_csv(run=run.init) for run in runs]  # type: ignore[union-attr]
    csv_text = texts[0] + "".join(text.split("\n", 1)[1] for text in texts[1:]) if texts else ""
    rows = [
        row
        for run in runs
        for row in run.result.records.to_dicts(histograms=True, run=run.init)  # type: ignore[union-attr]
    ]
    return [
        write_atomic(out / "records.csv", csv_text),
        write_atomic(out / "records.json", dumps(rows)),
    ]


def write_diagnostic_figures(
    comparison: Comparison,
    predictions: dict[str, Prediction | None],
    out: Path,
    boundaries: bool = True,
) -> list[Path]:
    """The diagnostics figures, into ``out``: variance.png (measured vs theory by depth), and
    per run histograms_<init>.png, gradients_<init>.png and (with ``boundaries``, for runs
    recorded with parameter snapshots) boundaries_<init>.png."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    runs = [run for run in comparison.runs if run.result.records is not None]
    from initlab import plots as figures
    from initlab._layout import fit_layout

    data = comparison.dataset
    fig, ax = figures.new_figure((6.5, 4.5), figures.LOG_AXES_MARGINS)
    for (run, stem), color in zip(zip(runs, figure_names(comparison)), _colors(len(runs))):
        records = run.result.records
        assert records is not None
        hist = figures.plot_activation_histograms(records, title=f"{run.init}: activations")
        written.append(save_figure(hist, out / f"histograms_{stem}.png"))
        gfig, gax = figures.new_figure(margins=figures.LOG_AXES_MARGINS)
        figures.plot_gradient_norms(records, ax=gax)
        gax.set_title(f"{run.init}: gradient norm per layer", fontsize="medium",
                      y=figures.title_y(gax))  # fmt: skip
        written.append(save_figure(fit_layout(gfig), out / f"gradients_{stem}.png"))
        if boundaries and records.snapshots:
            grid = figures.plot_boundary_grid(comparison.mlp, records, data.X_train,
                                              data.y_train, title=run.init)  # fmt: skip
            written.append(save_figure(grid, out / f"boundaries_{stem}.png"))
        measured = [r.z_second_moment for r in records.at(records.iterations[0])]
        prediction = predictions.get(run.init)
        figures.plot_variance_by_depth(
            [m if m > 0 else math.nan for m in measured],
            list(prediction.q) if prediction is not None else None,
            ax=ax,
            label=run.init,
            color=color,
        )
    ax.set_title("pre-activation variance at initialization", fontsize="medium",
                 y=figures.title_y(ax))  # fmt: skip
    written.append(save_figure(fit_layout(fig), out / "variance.png"))
    return written


def write_theory_figure(
    predictions: dict[str, Prediction], *, activation: str, width: int, q0: float, out: Path
) -> Path:
    """``theory.png`` in ``out``: each initializer's predicted variance q by depth."""
    from initlab import plots

    fig, ax = plots.new_figure()
    for name, p in predictions.items():
        ax.plot(np.arange(1, len(p.q) + 1), p.q, marker=".", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("predicted pre-activation variance q")
    ax.set_title(
        f"{activation}, width {width}, q⁰ = {q0:g}", fontsize="medium", y=plots.title_y(ax)
    )
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    out.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out / "theory.png")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    return [colormaps["tab10"](i % 10) for i in range(n)]

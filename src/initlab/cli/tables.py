"""The ``initlab`` command line's tables: results, checkpoints, diagnoses, theory, registries.

Each function turns library values into a :class:`rich.table.Table`; printing is the
commands' job. Nothing here imports the training code or a plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:
    import pandas as pd

    from initlab._registry import Registry
    from initlab.compare import Comparison, Run
    from initlab.report.data import Best
    from initlab.theory import Prediction


def fmt_cost(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def fmt_accuracy(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "—"


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.0%}"


def status_text(comparison: Comparison, index: int) -> Text:
    result = comparison.runs[index].result
    if result.diverged:
        return Text(f"diverged at iteration {result.diverged_at}", style="bold red")
    return Text(result.status, style="green")


def results_table(comparison: Comparison) -> Table:
    """One row per run; the numbers and names keep their width (never cut or wrapped), the
    status and the explanation wrap into what is left of the console's width."""
    rows = [
        (
            Text(run.init),
            status_text(comparison, index),
            fmt_cost(run.result.final_cost),
            fmt_accuracy(run.train_accuracy),
            fmt_accuracy(run.test_accuracy),
            Text(run.why),
        )
        for index, run in enumerate(comparison.runs)
    ]
    table = Table(title=_experiment_line(comparison), title_justify="left")
    table.add_column("init", style="bold", no_wrap=True, min_width=_widest(rows, 0, "init"))
    table.add_column("status", min_width=len("completed"))
    score = "R²" if comparison.mlp.is_regression else "acc"
    for i, name in ((2, "final cost"), (3, f"train {score}"), (4, f"test {score}")):
        table.add_column(name, justify="right", no_wrap=True, min_width=_widest(rows, i, name))
    table.add_column("why")
    for row in rows:
        table.add_row(*row)
    return table


def _widest(rows: Sequence[Sequence[str | Text]], index: int, header: str) -> int:
    """The terminal cells the widest of a column's texts (and its header) takes."""
    return max([cell_len(header), *(cell_len(str(row[index])) for row in rows)])


def checkpoints_table(comparison: Comparison) -> Table:
    """One row per recorded iteration, one column per init, costs as full ``repr`` floats."""
    every = sorted({i for run in comparison.runs for i in run.result.history.iterations})
    table = Table(title="Cost at every recorded iteration (before that iteration's update)")
    table.add_column("iteration", justify="right", no_wrap=True)
    columns = []
    for run in comparison.runs:
        table.add_column(run.init, justify="right", no_wrap=True)
        history = run.result.history
        columns.append(dict(zip(history.iterations, history.costs)))
    for iteration in every:
        cells = [repr(column[iteration]) if iteration in column else "" for column in columns]
        table.add_row(str(iteration), *cells)
    return table


def _experiment_line(comparison: Comparison) -> str:
    first = comparison.runs[0].result
    activation = comparison.mlp.activation
    act = activation if isinstance(activation, str) else "/".join(activation)
    return (
        f"{comparison.dataset.name} · {list(comparison.mlp.layer_sizes)} {act} · "
        f"lr {first.learning_rate:g} · {first.iterations:,} iterations · seed {comparison.seed}"
        + (f" · {comparison.optimizer}" if comparison.optimizer != "gd" else "")
    )


DIAGNOSIS_COLUMNS = ("when", "layer", "act", "width", "E[z²]", "theory q", "a std", "dead",
                     "saturated", "‖dW‖", "‖ΔW‖/‖W‖", "distinct")  # fmt: skip
"""The per-layer table's headings (plain text: ``[z²]`` is not rich markup here)."""

KEY_COLUMNS = 2
"""Leading columns (when, layer) repeated in each part of a table split to fit."""


def fmt_stat(value: float) -> str:
    """A per-layer statistic to 4 significant digits (``—`` when not finite)."""
    return f"{value:.4g}" if math.isfinite(value) else "—"


def diagnosis_table(run: Run, prediction: Prediction | None) -> FitTable:
    """One row per layer at start and at the end, then the run's findings; split into
    tables that fit the console's width rather than cutting a number."""
    rows: list[tuple[str, ...]] = []
    records = run.result.records
    if records is not None and records.rows:
        start, end = records.iterations[0], records.iterations[-1]
        for when, iteration in (("start", start), ("end", end)):
            for r in records.at(iteration):
                predicted = (
                    fmt_stat(float(prediction.q[r.layer - 1]))
                    if prediction is not None and when == "start"
                    else ""
                )
                rows.append((
                    f"{when} ({iteration:,})" if r.layer == 1 else "",
                    str(r.layer),
                    r.activation,
                    str(r.width),
                    fmt_stat(r.z_second_moment),
                    predicted,
                    fmt_stat(r.a_std),
                    _pct(r.dead_fraction),
                    _pct(r.saturated_fraction),
                    fmt_stat(r.grad_W_norm),
                    fmt_stat(r.update_ratio),
                    str(r.distinct_units),
                ))  # fmt: skip
    return FitTable(
        title=f"{run.init}: per-layer statistics",
        headers=DIAGNOSIS_COLUMNS,
        rows=rows,
        left={"when", "act"},
        caption="\n".join(f"• {f.message}" for f in run.findings),
    )


@dataclass
class FitTable:
    """A table of short cells that never cuts one: printed whole where the console is wide
    enough, else as several tables, each repeating the first :data:`KEY_COLUMNS` columns
    and taking as many of the others as fit (rich alone would shorten cells to ``1.2…``).

    A rich renderable: ``Console.print`` measures the width it is given."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    left: set[str] = field(default_factory=set)
    caption: str = ""

    def widths(self) -> list[int]:
        """Each column's widest text (heading included), in terminal cells."""
        return [
            max([cell_len(h), *(cell_len(row[i]) for row in self.rows)])
            for i, h in enumerate(self.headers)
        ]

    def parts(self, width: int) -> list[list[int]]:
        """The columns of each table printed, for a console ``width`` cells wide."""
        widths = self.widths()
        keys = list(range(min(KEY_COLUMNS, len(widths))))
        used = 1 + sum(widths[i] + 3 for i in keys)  # padding 2 and a border per column
        parts: list[list[int]] = []
        current, taken = list(keys), used
        for i in range(len(keys), len(widths)):
            if taken + widths[i] + 3 > width and len(current) > len(keys):
                parts.append(current)
                current, taken = list(keys), used
            current.append(i)
            taken += widths[i] + 3
        parts.append(current)
        return parts

    def table(self, columns: Sequence[int], title: str, caption: str) -> Table:
        widths = self.widths()
        table = Table(title=title, title_justify="left", caption=caption or None)
        table.caption_justify = "left"
        for i in columns:
            name = self.headers[i]
            justify: JustifyMethod = "left" if name in self.left else "right"
            table.columns.append(
                Column(Text(name), justify=justify, no_wrap=True, min_width=widths[i])
            )
        for row in self.rows:
            table.add_row(*(Text(row[i]) for i in columns))
        return table

    def tables(self, width: int) -> Iterator[Table]:
        parts = self.parts(width)
        for k, columns in enumerate(parts):
            title = self.title + (f" ({k + 1}/{len(parts)})" if len(parts) > 1 else "")
            yield self.table(columns, title, self.caption if k == len(parts) - 1 else "")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.tables(options.max_width)


def theory_table(
    predictions: dict[str, Prediction],
    sigma_w2: dict[str, float],
    chi1: Mapping[str, float],
    phases: Mapping[str, str],
    activation: str,
    critical: float | None,
) -> Table:
    """Per init: the hidden layers' σ_w², χ₁ at the fixed point, the phase, q at a few depths."""
    first = next(iter(predictions.values()))
    n = len(first.q)
    shown = sorted({1, 2, 3, (n - 1) // 2, n - 1, n} & set(range(1, n + 1)))
    crit = "none" if critical is None else f"{critical:.4g}"
    table = Table(
        title=f"Mean-field prediction · {activation} · critical σ_w² = {crit}",
        title_justify="left",
    )
    for name in ("init", "σ_w²", "χ₁(q*)", "phase"):
        table.add_column(name, justify="left" if name in ("init", "phase") else "right")
    for layer in shown:
        table.add_column("q out" if layer == n else f"q{layer}", justify="right")
    for name, p in predictions.items():
        table.add_row(
            Text(name, style="bold"),
            f"{sigma_w2[name]:.4g}",
            f"{chi1[name]:.4g}",
            phases[name],
            *(f"{float(p.q[layer - 1]):.3g}" for layer in shown),
        )
    return table


def registry_table(title: str, registry: Registry[Any]) -> Table:
    """One row per registered name: the name, its aliases and its description."""
    table = Table(title=title, title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("aliases")
    table.add_column("description")
    for entry in registry:
        table.add_row(Text(entry.name), Text(", ".join(entry.aliases)), Text(entry.description))
    return table


def best_table(best: Sequence[Best]) -> Table:
    """The report's summary: per group, its best configuration (most seeds trained, then
    test accuracy, then final loss) with mean ± 95 % half-width over seeds."""
    table = Table(title="Best configuration per scheme", title_justify="left")
    table.add_column("scheme", style="bold", no_wrap=True)
    table.add_column("best configuration")
    for name in ("trained", "test accuracy", "final loss"):
        table.add_column(name, justify="right", no_wrap=True)
    for entry in best:
        config, n = entry.config, int(entry.config["n"])
        table.add_row(
            Text(entry.group),
            Text(f"{entry.label} (best of {entry.size})"),
            f"{round(float(config['trained']) * n)}/{n}",
            _mean_ci(config, "test_accuracy", accuracy=True),
            _mean_ci(config, "final_cost", accuracy=False),
        )
    return table


def _mean_ci(config: pd.Series, metric: str, accuracy: bool) -> str:
    """``0.948 ± 0.014``, as the report writes it (``—`` when no seed has the value)."""
    from initlab.report.data import plus_minus, sig

    mean, ci = float(config[f"{metric}_mean"]), float(config[f"{metric}_ci95"])
    if not math.isfinite(mean):
        return "—"
    text = f"{mean:.3f}" if accuracy else sig(mean)
    return text + plus_minus(mean, ci, text)

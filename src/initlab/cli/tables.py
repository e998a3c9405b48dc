"""The ``initlab`` command line's tables: results, checkpoints, diagnoses, theory, registries.

Each function turns library values into a :class:`rich.table.Table`; printing is the
commands' job. Nothing here imports the training code or a plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from initlab._registry import Registry
    from initlab.compare import Comparison, Run
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
    table = Table(title=_experiment_line(comparison), title_justify="left")
    table.add_column("init", style="bold")
    table.add_column("status")
    table.add_column("final cost", justify="right")
    table.add_column("train acc", justify="right")
    table.add_column("test acc", justify="right")
    table.add_column("why")
    for index, run in enumerate(comparison.runs):
        table.add_row(
            Text(run.init),
            status_text(comparison, index),
            fmt_cost(run.result.final_cost),
            fmt_accuracy(run.train_accuracy),
            fmt_accuracy(run.test_accuracy),
            Text(run.why),
        )
    return table


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


def diagnosis_table(run: Run, prediction: Prediction | None) -> Table:
    """One row per layer at start and at the end, then the run's findings."""
    records = run.result.records
    table = Table(title=f"{run.init}: per-layer statistics", title_justify="left")
    for name in ("when", "layer", "act", "width", "E[z²]", "theory q", "a std", "dead",
                 "saturated", "‖dW‖", "‖ΔW‖/‖W‖", "distinct"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("when", "act") else "right")
    if records is not None and records.rows:
        start, end = records.iterations[0], records.iterations[-1]
        for when, iteration in (("start", start), ("end", end)):
            for r in records.at(iteration):
                predicted = (
                    fmt_cost(float(prediction.q[r.layer - 1]))
                    if prediction is not None and when == "start"
                    else ""
                )
                table.add_row(
                    f"{when} ({iteration:,})" if r.layer == 1 else "",
                    str(r.layer),
                    r.activation,
                    str(r.width),
                    fmt_cost(r.z_second_moment),
                    predicted,
                    fmt_cost(r.a_std),
                    _pct(r.dead_fraction),
                    _pct(r.saturated_fraction),
                    fmt_cost(r.grad_W_norm),
                    fmt_cost(r.update_ratio) if math.isfinite(r.update_ratio) else "—",
                    str(r.distinct_units),
                )
    table.caption = "\n".join(f"• {f.message}" for f in run.findings)
    table.caption_justify = "left"
    return table


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

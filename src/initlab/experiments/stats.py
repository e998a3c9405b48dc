"""Statistics across seeds: mean, standard deviation, a 95 % confidence interval, and the
fraction of seeds that trained.

A run *trained* when it did not diverge and its final training cost is at most half the
cost of the best constant prediction (the label entropy: ln 2 for balanced binary data), i.e.
it learned at least half of what there was to learn beyond the class frequencies. The
threshold is :data:`TRAINED_FRACTION_OF_BASELINE`.

The confidence interval is Student's t interval for the mean: mean ± t₀.₉₇₅,ₙ₋₁ · s / √n,
with s the sample standard deviation (ddof = 1); it is undefined (NaN) for a single seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

if TYPE_CHECKING:
    import pandas as pd

TRAINED_FRACTION_OF_BASELINE = 0.5
METRICS = ("final_cost", "train_accuracy", "test_accuracy")
NOT_CONFIG = {
    "key", "group", "seed", "status", "iterations_run", "diverged_at", "initial_cost",
    "final_cost", "baseline_cost", "train_accuracy", "test_accuracy", "why", "seconds",
    "engine", "initlab_version",
}  # fmt: skip


def trained(frame: pd.DataFrame) -> pd.Series:
    """Per run: completed, and final cost ≤ 0.5 × the constant-prediction cost."""
    limit = TRAINED_FRACTION_OF_BASELINE * frame["baseline_cost"]
    return (frame["status"] == "completed") & (frame["final_cost"] <= limit)


def ci95_halfwidth(std: float, n: int) -> float:
    """t₀.₉₇₅,ₙ₋₁ · s / √n; NaN for n < 2.

    >>> round(ci95_halfwidth(1.0, 10), 4)  # t = 2.2622
    0.7154
    """
    if n < 2 or not np.isfinite(std):
        return float("nan")
    return float(scipy_stats.t.ppf(0.975, n - 1) * std / np.sqrt(n))


def config_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that define a configuration (everything but the seed and the results),
    leaving out those that are empty for every run."""
    return [c for c in frame.columns if c not in NOT_CONFIG and frame[c].notna().any()]


def summarize(frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per configuration (all seeds pooled): ``n``, ``trained`` (fraction), and for
    each metric its mean, std and 95 % CI half-width (``<metric>_ci95``); the CI bounds are
    ``mean ± ci95``. Diverged runs count in ``n`` and ``trained`` but have no metrics."""
    import pandas as pd

    keys = list(by) if by is not None else config_columns(frame)
    work = frame.assign(_trained=trained(frame))
    out = []
    for values, part in work.groupby(keys, dropna=False, sort=True):
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        row["n"] = len(part)
        row["trained"] = float(part["_trained"].mean())
        for metric in METRICS:
            column = part[metric].dropna().astype(float)
            mean = float(column.mean()) if len(column) else float("nan")
            std = float(column.std(ddof=1)) if len(column) > 1 else float("nan")
            row[f"{metric}_mean"] = mean
            row[f"{metric}_std"] = std
            row[f"{metric}_ci95"] = ci95_halfwidth(std, len(column))
        out.append(row)
    return pd.DataFrame(out)

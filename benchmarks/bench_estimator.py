"""initlab.MLPClassifier and MLPRegressor against scikit-learn's, all with their defaults, on
load_digits and load_diabetes.

Each trial fits ``Pipeline(StandardScaler(), MLPClassifier(random_state=t))`` for both
libraries on the same stratified 80/20 split of ``load_digits`` (1,437 training images of
64 pixels, 10 classes), back to back in alternating order, so drift on a shared machine
affects both: the table gives the median fit time of each, the median of the per-trial
ratios (target: initlab within 2× of scikit-learn), the median test accuracies and the
median per-trial difference (target: within 1 point), and the epochs each ran. The first
initlab fit, which loads (or compiles) the Numba kernel, is timed apart and not counted.

Then a ``GridSearchCV`` (3 folds) over initlab's ``init`` in the same pipeline: the mean
cross-validated accuracy of each initializer and the search's time.

Then regression, the same way: ``MLPRegressor(random_state=t)`` of each library on the same
80/20 split of ``load_diabetes`` (353 training patients, 10 features), in
``TransformedTargetRegressor(Pipeline(StandardScaler(), MLPRegressor()),
transformer=StandardScaler())`` — the target (mean 152, std 77) standardized too, as a user
does: on the raw target both libraries' Adam steps are too small to reach it in 200 epochs
(R² ≈ −1.4 for both). The table gives the median fit times, their ratio, the median test R²
and the median per-trial difference (target: within 0.04, see
``tests/test_estimator_regressor.py``).

On a machine shared with other work, pin BLAS to one thread (``OPENBLAS_NUM_THREADS=1``):
scikit-learn's BLAS threads otherwise contend with the other load (measured: its fits went
from 0.55 s to 6-12 s), while initlab limits them during training — a ratio that flatters
initlab.

Both libraries may warn that ``max_iter`` ended a fit before convergence; the warnings are
counted, not shown.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_estimator.py [--trials 7] [--json]
      [--inits glorot_uniform,he,...] [--regression-trials 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from initlab import MLPClassifier, MLPRegressor

INITS = "glorot_uniform,he,lecun_normal,orthogonal,lsuv,zeros"


Factory = Callable[[int], Any]
"""A model for a trial's seed."""

CLASSIFIERS: dict[str, Factory] = {
    "initlab": lambda seed: make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)),
    "sklearn": lambda seed: make_pipeline(StandardScaler(), SklearnMLP(random_state=seed)),
}


def scaled_target(regressor: Any) -> TransformedTargetRegressor:
    """Features and target standardized; predictions in the target's units."""
    return TransformedTargetRegressor(
        make_pipeline(StandardScaler(), regressor), transformer=StandardScaler()
    )


REGRESSORS: dict[str, Factory] = {
    "initlab": lambda seed: scaled_target(MLPRegressor(random_state=seed)),
    "sklearn": lambda seed: scaled_target(SklearnRegressor(random_state=seed)),
}


def fit_once(model: Any, data: tuple[Any, ...]) -> dict[str, Any]:
    """Fit ``model`` on the training part; its time, test score (accuracy or R²), epochs and
    warnings."""
    X_train, X_test, y_train, y_test = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    network = model.regressor_[-1] if hasattr(model, "regressor_") else model[-1]
    return {
        "seconds": seconds,
        "score": float(model.score(X_test, y_test)),
        "epochs": int(network.n_iter_),
        "not_converged": sum(issubclass(w.category, ConvergenceWarning) for w in caught),
    }


def paired_trials(
    models: dict[str, Factory], data: tuple[Any, ...], trials: int
) -> list[dict[str, dict[str, Any]]]:
    rows = []
    for trial in range(trials):
        order = list(models) if trial % 2 == 0 else list(reversed(models))
        rows.append({name: fit_once(models[name](trial), data) for name in order})
    return rows


def summary(rows: list[dict[str, dict[str, Any]]], score: str) -> dict[str, Any]:
    """Medians of each library's time, ``score`` (the name of the test score: "accuracy" or
    "r2") and epochs, and of the per-trial time ratios and score differences."""

    def median(name: str, key: str) -> float:
        return statistics.median(row[name][key] for row in rows)

    out: dict[str, Any] = {
        name: {"seconds": median(name, "seconds"), score: median(name, "score"),
               "epochs": median(name, "epochs")}
        for name in ("initlab", "sklearn")
    }  # fmt: skip
    ratios = [row["initlab"]["seconds"] / row["sklearn"]["seconds"] for row in rows]
    out["time_ratio"] = statistics.median(ratios)
    out["time_ratio_range"] = [min(ratios), max(ratios)]
    out[f"{score}_difference"] = statistics.median(
        row["initlab"]["score"] - row["sklearn"]["score"] for row in rows
    )
    out["not_converged"] = {
        name: sum(row[name]["not_converged"] for row in rows) for name in ("initlab", "sklearn")
    }
    return out


def print_table(result: dict[str, Any], score: str, label: str) -> None:
    print(f"{'':10} {'fit s':>8} {label:>9} {'epochs':>7}")
    for name in ("initlab", "sklearn"):
        r = result[name]
        print(f"{name:10} {r['seconds']:8.3f} {r[score]:9.4f} {r['epochs']:7.0f}")


def grid_over_init(data: tuple[Any, ...], inits: list[str]) -> dict[str, Any]:
    X_train, X_test, y_train, y_test = data
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MLPClassifier(random_state=0)),
        {"mlpclassifier__init": inits},
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    scores = {
        params["mlpclassifier__init"]: float(score)
        for params, score in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"]
        )
    }
    return {
        "seconds": seconds,
        "cv_accuracy": scores,
        "best": search.best_params_["mlpclassifier__init"],
        "best_test_accuracy": float(search.score(X_test, y_test)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--inits", default=INITS)
    parser.add_argument("--regression-trials", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    data = tuple(train_test_split(X, y, test_size=0.2, stratify=y, random_state=0))
    first = fit_once(CLASSIFIERS["initlab"](0), data)
    result = summary(paired_trials(CLASSIFIERS, data, args.trials), "accuracy")
    result["first_initlab_fit_seconds"] = first["seconds"]
    result["grid"] = grid_over_init(data, args.inits.split(","))
    result["trials"] = args.trials
    X, y = load_diabetes(return_X_y=True)
    data = tuple(train_test_split(X, y, test_size=0.2, random_state=0))
    first = fit_once(REGRESSORS["initlab"](0), data)
    regression = summary(paired_trials(REGRESSORS, data, args.regression_trials), "r2")
    regression["first_initlab_fit_seconds"] = first["seconds"]
    regression["trials"] = args.regression_trials
    result["regression"] = regression
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"load_digits, Pipeline(StandardScaler(), MLPClassifier()), {args.trials} paired trials")
    print_table(result, "accuracy", "test acc")
    low, high = result["time_ratio_range"]
    print(
        f"time initlab / sklearn: {result['time_ratio']:.2f} (range {low:.2f}-{high:.2f}; "
        f"target ≤ 2); accuracy difference {100 * result['accuracy_difference']:+.2f} points "
        f"(target within 1); first initlab fit {result['first_initlab_fit_seconds']:.2f} s"
    )
    grid = result["grid"]
    print(f"GridSearchCV over init (3 folds, {grid['seconds']:.1f} s): best {grid['best']}, "
          f"test accuracy {grid['best_test_accuracy']:.4f}")  # fmt: skip
    for init, score in sorted(grid["cv_accuracy"].items(), key=lambda item: -item[1]):
        print(f"  {init:15} {score:.4f}")
    print()
    print("load_diabetes, TransformedTargetRegressor(Pipeline(StandardScaler(), MLPRegressor()), "
          f"StandardScaler()), {args.regression_trials} paired trials")  # fmt: skip
    print_table(regression, "r2", "test R²")
    low, high = regression["time_ratio_range"]
    print(f"time initlab / sklearn: {regression['time_ratio']:.2f} (range {low:.2f}-{high:.2f}; "
          f"target ≤ 2); R² difference {regression['r2_difference']:+.4f} (target within 0.04); "
          f"first initlab fit {regression['first_initlab_fit_seconds']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()

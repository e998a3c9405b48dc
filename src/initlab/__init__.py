"""initlab: a laboratory for neural-network weight initialization.

The public names below load on first use (PEP 562), so ``import initlab`` — and the command
line, which imports it — does not pull in scikit-learn, SciPy's statistics or matplotlib
until a function that needs them is called.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from initlab.compare import Comparison, Run, compare
    from initlab.datasets import Dataset, circles
    from initlab.estimator import MLPClassifier, MLPRegressor
    from initlab.initializers import init_params
    from initlab.network import MLP, Layer
    from initlab.train import History, TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Comparison",
    "Dataset",
    "History",
    "Layer",
    "MLPClassifier",
    "MLPRegressor",
    "Run",
    "TrainResult",
    "__version__",
    "circles",
    "compare",
    "init_params",
    "train",
]

_EXPORTS: dict[str, str] = {
    "Comparison": "initlab.compare",
    "Run": "initlab.compare",
    "compare": "initlab.compare",
    "Dataset": "initlab.datasets",
    "circles": "initlab.datasets",
    "MLPClassifier": "initlab.estimator",
    "MLPRegressor": "initlab.estimator",
    "init_params": "initlab.initializers",
    "MLP": "initlab.network",
    "Layer": "initlab.network",
    "History": "initlab.train",
    "TrainResult": "initlab.train",
    "train": "initlab.train",
}
"""Each public name and the module it comes from."""

_SUBMODULES = frozenset(
    {"activations", "datasets", "diagnostics", "estimator", "initializers", "losses",
     "network", "optim", "rng"}
)  # fmt: skip
"""Submodules that ``import initlab`` used to load, still reachable as ``initlab.<name>``."""


def __getattr__(name: str) -> Any:
    """Import a public name (or a listed submodule) on first use and keep it."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(types.ModuleType):
    """initlab's module type: ``compare`` and ``train`` stay the functions.

    Importing the submodule ``initlab.compare`` (or ``initlab.train``) binds it on the
    package under the same name; the package's ``compare`` and ``train`` are the functions,
    as they were when this package imported them eagerly, so that binding is skipped.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name in ("compare", "train")
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

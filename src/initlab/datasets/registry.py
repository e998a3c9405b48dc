"""The registry of built-in data sets, :data:`DATASETS`, and :func:`load`, which builds one by
name or reads a ``.csv``/``.npz`` path, refusing unknown names and arguments with the list of
known ones."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from initlab import limits
from initlab._registry import Registry

from .base import Dataset
from .files import from_csv, from_npz
from .generators import blobs, circles, flower, gauss, gaussians, moons, plane, spiral, xor

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
DATASETS.register("circles", circles, "two noisy concentric circles (the course's data)")
DATASETS.register("flower", flower, "two-class eight-petal flower (the course's planar data)")
DATASETS.register("moons", moons, "two interleaving half circles (scikit-learn make_moons)")
DATASETS.register("blobs", blobs, "k Gaussian blobs, one class each (scikit-learn make_blobs)")
DATASETS.register("gauss", gauss, "two Gaussian clusters at (±2, ±2) (TF Playground)")
DATASETS.register("xor", xor, "uniform square, label = sign of x·y (TF Playground)")
DATASETS.register("spiral", spiral, "k interleaved spiral arms, one class each (CS231n)")
DATASETS.register("plane", plane, "regression: a tilted plane (x1 + x2) / 10 (TF Playground)")
DATASETS.register("gaussians", gaussians, "regression: six signed bumps (TF Playground)")

REGRESSION_SETS = frozenset({"plane", "gaussians"})
"""The registered data sets whose targets are real numbers (``Dataset.task == "regression"``)."""


def task_of(name: str) -> str:
    """``"classification"`` or ``"regression"``: the task of the registered data set ``name``,
    known without building it.

    >>> task_of("plane"), task_of("moons")
    ('regression', 'classification')
    """
    return "regression" if DATASETS.canonical(name) in REGRESSION_SETS else "classification"


def load(name: str | os.PathLike[str], **kwargs: Any) -> Dataset:
    """Build a registered dataset by name, or read a data file.

    A ``name`` ending in ``.csv`` or ``.npz`` is a path, read by :func:`from_csv` or
    :func:`from_npz` with ``kwargs``. Unknown names fail with the list of known ones; unknown
    arguments with the list of the data set's arguments.

    >>> load("moons", noise=0.2, seed=3).name
    'moons'
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else name
    if isinstance(text, str) and text.lower().endswith((".csv", ".npz")):
        reader = from_csv if text.lower().endswith(".csv") else from_npz
        _check_kwargs(reader, Path(text).name, kwargs)
        limits.check(limits.data_file_estimate(text))
        return reader(text, **kwargs)
    make = DATASETS.get(text)
    _check_kwargs(make, DATASETS.canonical(text), kwargs)
    _check_points(make, DATASETS.canonical(text), kwargs)
    return make(**kwargs)


def _check_points(make: Callable[..., Dataset], label: str, kwargs: dict[str, Any]) -> None:
    """Refuse a generated data set too large for memory (:mod:`initlab.limits`), from its
    ``n_train``, ``n_test`` and ``n_features`` (given, or the defaults); values that are not
    integers are left to the generator's own checks."""
    params = inspect.signature(make).parameters
    sizes = {
        key: kwargs.get(key, params[key].default if key in params else 0)
        for key in ("n_train", "n_test", "n_features")
    }
    if all(isinstance(v, int) and v >= 0 for v in sizes.values()):
        points = sizes["n_train"] + sizes["n_test"]
        limits.check(limits.generated_data_estimate(label, points, sizes["n_features"] or 2))


def _check_kwargs(fn: Callable[..., Any], label: str, kwargs: dict[str, Any]) -> None:
    params = inspect.signature(fn).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        known = ", ".join(p for p in params if p != "path")
        raise ValueError(
            f"Dataset {label!r} has no argument {', '.join(f'`{u}`' for u in unknown)}. "
            f"Its arguments: {known}."
        )

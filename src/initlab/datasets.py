"""Datasets: samples in rows, ``X`` of shape ``(n_samples, n_features)``, ``y`` of ``(n_samples,)``.

``circles()`` with its defaults is the course notebook's data, point for point: 300 training
points from ``make_circles(noise=.05)`` after ``np.random.seed(1)`` and 100 test points after
``np.random.seed(2)``. It passes a private ``RandomState`` to scikit-learn instead of seeding
NumPy's global state; the draws are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn.datasets
from numpy.typing import NDArray

from initlab.rng import NOTEBOOK, NOTEBOOK_TEST_DATA_SEED, NOTEBOOK_TRAIN_DATA_SEED, check_seed

from ._registry import Registry


@dataclass(frozen=True)
class Dataset:
    """A binary classification task split into train and test sets."""

    name: str
    X_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    X_test: NDArray[np.float64]
    y_test: NDArray[np.int64]

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={self.X_train.shape[0]}, "
            f"test={self.X_test.shape[0]}, features={self.n_features})"
        )


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"Argument `{name}` must be an integer ≥ {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def _check_noise(noise: float) -> float:
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < np.inf:
        raise ValueError(f"Argument `noise` must be a float ≥ 0. Received: noise={noise!r}")
    return float(noise)


def circles(
    n_train: int = 300,
    n_test: int = 100,
    noise: float = 0.05,
    factor: float = 0.8,
    seed: int | str = NOTEBOOK,
) -> Dataset:
    """Two noisy concentric circles (scikit-learn's ``make_circles``), labels 0 outer / 1 inner.

    With ``seed="notebook"`` (the default) train and test use the course's seeds 1 and 2;
    an integer seed splits into independent train and test streams instead.

    >>> d = circles()
    >>> d.X_train.shape, d.y_train[:5].tolist()
    ((300, 2), [0, 0, 0, 1, 1])
    """
    n_train = _check_count("n_train", n_train, 2)
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"Argument `factor` must be in (0, 1). Received: factor={factor!r}")
    checked = check_seed(seed)
    if checked == NOTEBOOK:
        train_state = np.random.RandomState(NOTEBOOK_TRAIN_DATA_SEED)
        test_state = np.random.RandomState(NOTEBOOK_TEST_DATA_SEED)
    else:
        train_seq, test_seq = np.random.SeedSequence(checked).spawn(2)
        train_state = np.random.RandomState(np.random.MT19937(train_seq))
        test_state = np.random.RandomState(np.random.MT19937(test_seq))

    def make(n: int, state: np.random.RandomState) -> tuple[NDArray[Any], NDArray[Any]]:
        if n == 0:
            return np.empty((0, 2)), np.empty(0, dtype=np.int64)
        X, y = sklearn.datasets.make_circles(
            n_samples=n, noise=noise, factor=factor, random_state=state
        )
        return X.astype(np.float64), y.astype(np.int64)

    X_train, y_train = make(n_train, train_state)
    X_test, y_test = make(n_test, test_state)
    return Dataset("circles", X_train, y_train, X_test, y_test)


DATASETS: Registry[Any] = Registry("dataset")
DATASETS.register("circles", circles, "two noisy concentric circles (the course's data)")


def load(name: str, **kwargs: Any) -> Dataset:
    """Build a registered dataset by name; unknown names fail with the list of known ones."""
    dataset: Dataset = DATASETS.get(name)(**kwargs)
    return dataset


def check_xy(
    X: object, y: object, *, n_features: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Validate a binary classification set and return it as float64 rows and int64 labels.

    Errors name the problem: a non-2-D ``X``, a feature count that does not match the network,
    NaN or infinite values, a length mismatch, labels other than 0/1.
    """
    try:
        X_arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be numeric: {exc}") from None
    if X_arr.ndim != 2:
        raise ValueError(
            f"X must be 2-D, (n_samples, n_features), samples in rows. Received shape {X_arr.shape}"
        )
    if X_arr.shape[0] == 0:
        raise ValueError("X has no samples (shape[0] == 0)")
    if n_features is not None and X_arr.shape[1] != n_features:
        raise ValueError(
            f"X has {X_arr.shape[1]} features per sample but the network's input layer has "
            f"{n_features} (layer_sizes[0]); make them match"
        )
    bad = ~np.isfinite(X_arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"X contains {int(bad.sum())} NaN or infinite value(s), first at row {row}, "
            f"column {col}: {X_arr[row, col]}; only finite numbers are allowed"
        )
    y_arr = np.asarray(y)
    if y_arr.ndim == 2 and 1 in y_arr.shape:
        y_arr = y_arr.reshape(-1)
    if y_arr.ndim != 1 or y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y must hold one label per sample: X has {X_arr.shape[0]} samples, "
            f"y has shape {y_arr.shape}"
        )
    if y_arr.dtype.kind not in "biuf":
        raise ValueError(f"y must hold numeric labels 0 and 1. Received dtype {y_arr.dtype}")
    labels = np.unique(y_arr)
    if not np.isin(labels, (0, 1)).all():
        bad_labels = [v.item() for v in labels if v not in (0, 1)][:5]
        raise ValueError(
            f"y must be binary, labels 0 and 1 only. Received labels {bad_labels} "
            f"(all labels: {labels[:10].tolist()})"
        )
    return X_arr, y_arr.astype(np.int64)

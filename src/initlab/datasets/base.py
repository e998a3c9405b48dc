"""The :class:`Dataset` record that every generator and file reader returns, with the seed
rule they share: a data set without a notebook mode takes a non-negative integer seed only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_int
from initlab.rng import NOTEBOOK

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
XY = tuple[FloatArray, IntArray]


TASKS = ("classification", "regression")
"""What a data set's targets are: integer class labels, or real numbers."""


@dataclass(frozen=True)
class Dataset:
    """A classification or regression task split into train and test sets.

    Classification (default): ``y_train`` and ``y_test`` hold integer labels
    ``0..n_classes−1``; ``label_names[i]`` is the name of label ``i`` (left empty, it becomes
    ``("0", "1", …)`` up to the largest label, and at least two classes).

    Regression (``task="regression"``): they hold real targets, ``(n,)`` for one target or
    ``(n, k)`` for ``k``; there are no label names, and a network on it has ``n_targets``
    identity output units (:class:`~initlab.network.MLP`'s ``output="identity"``).
    """

    name: str
    X_train: FloatArray
    y_train: NDArray[Any]
    X_test: FloatArray
    y_test: NDArray[Any]
    label_names: tuple[str, ...] = ()
    task: str = "classification"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(
                f"Argument `task` must be one of {list(TASKS)}. Received: {self.task!r}"
            )
        if self.task == "regression":
            if self.label_names:
                raise ValueError(
                    f"A regression set has no label names. Received: {self.label_names}"
                )
            for what in ("y_train", "y_test"):
                y = np.asarray(getattr(self, what), dtype=np.float64)
                if y.ndim not in (1, 2) or y.shape[0] != getattr(self, "X" + what[1:]).shape[0]:
                    raise ValueError(
                        f"{what} must hold one target (or one row of targets) per sample. "
                        f"Received shape {y.shape}"
                    )
                object.__setattr__(self, what, y)
            if self.y_train.shape[1:] != self.y_test.shape[1:]:
                raise ValueError(
                    f"y_train and y_test must hold the same targets per sample. Received shapes "
                    f"{self.y_train.shape} and {self.y_test.shape}"
                )
            return
        top = max((int(y.max()) for y in (self.y_train, self.y_test) if y.size), default=0)
        if not self.label_names:
            object.__setattr__(self, "label_names", numbered(max(2, top + 1)))
        elif top >= len(self.label_names):
            raise ValueError(
                f"Dataset {self.name!r} has label {top} but only {len(self.label_names)} "
                f"label names: {self.label_names}"
            )

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def n_classes(self) -> int:
        """Number of classes ``k``; labels are ``0..k−1``. 0 for a regression set."""
        return len(self.label_names)

    @property
    def n_targets(self) -> int:
        """Real targets per sample of a regression set (1 for ``(n,)``); 0 for classification."""
        if not self.is_regression:
            return 0
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Output units a network on this data has: one sigmoid unit for two classes, one
        softmax unit per class for more, one identity unit per regression target."""
        if self.is_regression:
            return self.n_targets
        return 1 if self.n_classes == 2 else self.n_classes

    def __repr__(self) -> str:
        task = f"targets={self.n_targets}" if self.is_regression else f"classes={self.n_classes}"
        return (
            f"Dataset({self.name!r}, train={self.X_train.shape[0]}, "
            f"test={self.X_test.shape[0]}, features={self.n_features}, {task})"
        )


def numbered(k: int) -> tuple[str, ...]:
    """The default label names ``("0", "1", …, str(k − 1))``."""
    return tuple(str(i) for i in range(k))


def int_seed(seed: object, dataset: str) -> int:
    """A seed for a data set without a notebook mode: a non-negative integer only."""
    if isinstance(seed, str) and seed == NOTEBOOK:
        raise ValueError(
            f"Argument `seed` must be a non-negative integer: {dataset} has no notebook data "
            "('notebook' exists for circles and flower only). Received: seed='notebook'"
        )
    return check_int("seed", seed, 0, must="a non-negative integer")

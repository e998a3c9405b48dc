"""The :class:`Dataset` record that every generator and file reader returns, with the seed
rule they share: a data set without a notebook mode takes a non-negative integer seed only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_int
from initlab.rng import NOTEBOOK

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
XY = tuple[FloatArray, IntArray]


@dataclass(frozen=True)
class Dataset:
    """A classification task split into train and test sets.

    ``y_train`` and ``y_test`` hold integer labels ``0..n_classes−1``; ``label_names[i]`` is
    the name of label ``i`` (left empty, it becomes ``("0", "1", …)`` up to the largest label,
    and at least two classes).
    """

    name: str
    X_train: FloatArray
    y_train: IntArray
    X_test: FloatArray
    y_test: IntArray
    label_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
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
    def n_classes(self) -> int:
        """Number of classes ``k``; labels are ``0..k−1``."""
        return len(self.label_names)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={self.X_train.shape[0]}, "
            f"test={self.X_test.shape[0]}, features={self.n_features}, classes={self.n_classes})"
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

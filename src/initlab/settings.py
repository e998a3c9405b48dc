"""One validated object for how a network is trained: :class:`TrainSettings`.

:func:`~initlab.train.train`, :class:`~initlab.train.Trainer`,
:func:`~initlab.engine.train_batch`, :func:`~initlab.compare.compare`, a sweep's run
configuration, the playground and :class:`~initlab.MLPClassifier` all take or build one, so
the training arguments are checked in one place with one set of messages.

>>> TrainSettings(learning_rate=0.1, optimizer="adam", batch_size=64).optimizer.name
'adam'
>>> TrainSettings(l2=-1.0)
Traceback (most recent call last):
ValueError: Argument `l2` must be a finite float ≥ 0. Received: l2=-1.0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab import optim
from initlab._validate import check_int, check_real
from initlab.rng import Seed, check_seed

OptimizerLike = str | dict[str, Any] | optim.Optimizer


def _scalar(value: Any) -> Any:
    """NumPy scalars (from a grid built with ``np.logspace``…) as Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def check_iterations(iterations: object, name: str = "iterations") -> int:
    """A count of iterations (or any positive integer setting): an integer ≥ 1."""
    return check_int(name, iterations, 1, must="a positive integer")


def check_l2(l2: object) -> float:
    """The L2 strength λ: a finite float ≥ 0."""
    return check_real("l2", l2, low=0.0, must="a finite float ≥ 0")


@dataclass(frozen=True)
class TrainSettings:
    """How to train: learning rate, optimizer, batch size, L2, seed and cost recording.

    Parameters
    ----------
    learning_rate
        The step size α > 0.
    optimizer
        A name (``"gd"``, ``"momentum"``, ``"adam"``), a config ``{"name": ..., **args}`` or
        an optimizer object; stored resolved (see :mod:`initlab.optim`).
    batch_size
        ``None``: every iteration uses the whole training set (the course's full-batch
        gradient descent); otherwise the mini-batch size, an integer ≥ 1.
    l2
        The course's L2 strength λ ≥ 0: the cost gains (λ / 2m)·Σ‖W‖².
    seed
        The seed whose ``batch`` stream shuffles the mini-batches (``"notebook"`` allowed
        where the caller maps it to a stream).
    record_every
        The cost is recorded before every ``record_every``-th update, from iteration 0.
    """

    learning_rate: float = 0.01
    optimizer: optim.Optimizer = field(default_factory=optim.GradientDescent)
    batch_size: int | None = None
    l2: float = 0.0
    seed: Seed = 0
    record_every: int = 1000

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "learning_rate", optim.check_learning_rate(_scalar(self.learning_rate)))
        set_(self, "optimizer", optim.get(self.optimizer))
        if self.batch_size is not None:
            set_(self, "batch_size", check_iterations(_scalar(self.batch_size), "batch_size"))
        set_(self, "l2", check_l2(_scalar(self.l2)))
        set_(self, "seed", check_seed(_scalar(self.seed)))
        set_(self, "record_every", check_iterations(_scalar(self.record_every), "record_every"))

    @property
    def plain_gd(self) -> bool:
        """Full-batch plain gradient descent: the course's training."""
        return self.optimizer.name == "gd" and self.batch_size is None

    def replace(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the optimizer as its config (:func:`initlab.optim.get_config`)."""
        return {
            "learning_rate": self.learning_rate,
            "optimizer": optim.get_config(self.optimizer),
            "batch_size": self.batch_size,
            "l2": self.l2,
            "seed": self.seed,
            "record_every": self.record_every,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        """The inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown training setting(s) {unknown}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from initlab import optim
from initlab._validate import check_int, check_real, invalid, python_scalar
from initlab.rng import Seed, check_seed, streams

OptimizerLike = str | dict[str, Any] | optim.Optimizer


def check_iterations(iterations: object, name: str = "iterations") -> int:
    """A count of iterations (or any positive integer setting): an integer ≥ 1."""
    return check_int(name, iterations, 1, must="a positive integer")


def check_l2(l2: object, name: str = "l2") -> float:
    """The L2 strength λ (``name``: what the caller calls it): a finite float ≥ 0."""
    return check_real(name, l2, low=0.0, must="a finite float ≥ 0")


@dataclass(frozen=True, init=False)
class TrainSettings:
    """How to train: learning rate, optimizer, batch size, L2 and L1, seed and cost recording.

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
    l1
        The L1 strength λ₁ ≥ 0, scaled as the course scales L2: the cost gains
        (λ₁ / m)·Σ|W| (biases excluded), its gradient (λ₁ / m)·sign(W) (0 at W = 0).
    """

    learning_rate: float
    optimizer: optim.Optimizer
    batch_size: int | None
    l2: float
    seed: Seed
    record_every: int
    l1: float

    def __init__(
        self,
        learning_rate: float = 0.01,
        optimizer: OptimizerLike = "gd",
        batch_size: int | None = None,
        l2: float = 0.0,
        seed: Seed = 0,
        record_every: int = 1000,
        l1: float = 0.0,
    ) -> None:
        # Written out (not generated) so that ``optimizer`` takes any OptimizerLike while the
        # field holds the resolved optimizer.
        set_ = object.__setattr__
        set_(self, "learning_rate", optim.check_learning_rate(python_scalar(learning_rate)))
        set_(self, "optimizer", optim.get(optimizer))
        if batch_size is not None:
            batch_size = check_iterations(python_scalar(batch_size), "batch_size")
        set_(self, "batch_size", batch_size)
        set_(self, "l2", check_l2(python_scalar(l2)))
        set_(self, "seed", check_seed(python_scalar(seed)))
        set_(self, "record_every", check_iterations(python_scalar(record_every), "record_every"))
        set_(self, "l1", check_l2(python_scalar(l1), "l1"))

    @property
    def plain_gd(self) -> bool:
        """Full-batch plain gradient descent: the course's training."""
        return self.optimizer.name == "gd" and self.batch_size is None

    def batch_rng(self) -> np.random.Generator:
        """The generator of the mini-batch shuffle: the ``batch`` stream of ``seed``
        (:func:`~initlab.rng.streams`; an error for ``"notebook"``, which has no streams)."""
        return streams(self.seed).batch

    def replace(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


class BatchKeywords(TypedDict, total=False):
    """The training keywords but the learning rate, which
    :func:`~initlab.engine.train_batch` also takes per model."""

    optimizer: OptimizerLike
    batch_size: int | None
    l2: float
    seed: Seed
    record_every: int
    l1: float


class TrainKeywords(BatchKeywords, total=False):
    """The training keywords of :func:`~initlab.train.train` and :class:`~initlab.train.Trainer`:
    :class:`TrainSettings`' fields, each optional (an absent one takes the field's default)."""

    learning_rate: float


def settings_from(settings: TrainSettings | None, keywords: Mapping[str, Any]) -> TrainSettings:
    """The one :class:`TrainSettings` of a call that takes ``settings=`` or training keywords.

    ``keywords`` are the training keywords the caller was given (:class:`TrainKeywords`):
    without ``settings`` they build one (absent ones take the defaults); with ``settings``
    any of them is an error naming it, so no argument is silently ignored.

    >>> settings_from(None, {"learning_rate": 0.1}).learning_rate
    0.1
    >>> settings_from(TrainSettings(), {"l2": 0.5})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: Give the training arguments either as settings=TrainSettings(...) ... got l2=0.5
    """
    known = [f.name for f in dataclasses.fields(TrainSettings)]
    unknown = [name for name in keywords if name not in known]
    if unknown:
        raise TypeError(
            f"Unexpected keyword argument(s) {', '.join(map(repr, unknown))}; the training "
            f"keywords are {', '.join(known)}"
        )
    if settings is None:
        return TrainSettings(**keywords)
    if not isinstance(settings, TrainSettings):
        raise invalid("settings", "a TrainSettings or None", settings)
    if keywords:
        given = ", ".join(f"{name}={value!r}" for name, value in keywords.items())
        raise ValueError(
            "Give the training arguments either as settings=TrainSettings(...) or as "
            f"keywords, not both: got {given}"
        )
    return settings

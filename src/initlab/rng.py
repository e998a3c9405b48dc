"""Explicit randomness: every draw flows through a generator built from a seed.

initlab never touches NumPy's global random state. A seed becomes a
:class:`numpy.random.SeedSequence`, which is split into independent streams for the data,
the initialization and the batching, so changing the initializer never changes the data.

The one exception is the *notebook* seeding mode. The course notebook calls
``np.random.seed(3)`` before drawing its weights; :func:`notebook_init_rng` returns a fresh,
private ``RandomState(3)`` that yields exactly the same numbers without touching global state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_int

NOTEBOOK: Literal["notebook"] = "notebook"
"""Seed value that selects the course notebook's legacy seeding."""

NOTEBOOK_INIT_SEED = 3
NOTEBOOK_TRAIN_DATA_SEED = 1
NOTEBOOK_TEST_DATA_SEED = 2

Seed: TypeAlias = int | Literal["notebook"]


class RandomSource(Protocol):
    """What initializers need from a random generator.

    Both :class:`numpy.random.Generator` and the legacy :class:`numpy.random.RandomState`
    satisfy it; initializers call only these methods, so the notebook's legacy draws and
    modern generators go through the same code.
    """

    def standard_normal(self, size: Any = ...) -> Any: ...

    def uniform(self, low: Any = ..., high: Any = ..., size: Any = ...) -> Any: ...


def check_seed(seed: object) -> Seed:
    """Validate a seed: a non-negative integer or ``"notebook"``."""
    if seed == NOTEBOOK:
        return NOTEBOOK
    return check_int("seed", seed, 0, must="a non-negative integer or 'notebook'")


@dataclass(frozen=True)
class Streams:
    """Independent generators for the three uses of randomness in a run."""

    data: np.random.Generator
    init: np.random.Generator
    batch: np.random.Generator


def streams(seed: Seed) -> Streams:
    """Split ``seed`` into independent data, init and batch generators (``"notebook"``, which
    has no such split, is an error).

    >>> s = streams(0)
    >>> s.init.standard_normal() != s.data.standard_normal()
    True
    """
    checked = check_seed(seed)
    if checked == NOTEBOOK:
        raise ValueError("streams() needs an integer seed; 'notebook' has no stream split")
    data, init, batch = np.random.SeedSequence(checked).spawn(3)
    return Streams(*(np.random.default_rng(s) for s in (data, init, batch)))


def init_rng(seed: Seed) -> RandomSource:
    """The generator for weight initialization under ``seed``.

    ``"notebook"`` gives the course's ``RandomState(3)``; an integer gives the ``init`` stream
    of :func:`streams`. Each call returns a fresh generator, so every initializer compared
    under one seed starts from the same stream (common random numbers).
    """
    seed = check_seed(seed)
    if seed == NOTEBOOK:
        return notebook_init_rng()
    return streams(seed).init


def notebook_init_rng() -> np.random.RandomState:
    """A private ``RandomState(3)``: the draws of ``np.random.seed(3); np.random.randn(...)``."""
    return np.random.RandomState(NOTEBOOK_INIT_SEED)


def standard_normal(rng: RandomSource, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Standard-normal draws of ``shape`` in C order (the order ``randn(*shape)`` uses)."""
    return np.asarray(rng.standard_normal(size=shape), dtype=np.float64)

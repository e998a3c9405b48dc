"""Datasets: samples in rows, ``X`` of shape ``(n_samples, n_features)``, ``y`` of ``(n_samples,)``.

Labels are integers ``0..k−1`` (``int64``) for a task of ``k`` classes; binary tasks use 0/1.
:attr:`Dataset.n_classes` is ``k`` and :attr:`Dataset.label_names` names each label: ``"0"``,
``"1"``, … for the built-in generators, the file's own values for :func:`from_csv` and
:func:`from_npz`.

Built-in generators share one signature::

    name(n_train=..., n_test=..., noise=..., <shape arguments>, seed=...)

and are registered in :data:`DATASETS` (``load(name, **kwargs)`` builds one by name):

========  ==================================================================  =============
name      recipe                                                              default seed
========  ==================================================================  =============
circles   scikit-learn ``make_circles``: outer circle 0, inner 1              ``"notebook"``
flower    the course's planar data set (``load_planar_dataset``), 2 classes   ``"notebook"``
moons     scikit-learn ``make_moons``, 2 classes                              0
blobs     scikit-learn ``make_blobs``, ``centers`` classes                    0
gauss     TensorFlow Playground's "Gaussian": clusters at (−2,−2) and (2,2)   0
xor       TensorFlow Playground's "Exclusive or", scaled to [−1, 1]²          0
spiral    CS231n's spiral, ``arms`` classes                                   0
========  ==================================================================  =============

Randomness. Generators draw from private generators only and never touch NumPy's global state.
An integer ``seed`` becomes a :class:`numpy.random.SeedSequence` spawned into independent train
and test streams (``blobs`` spawns a third, for its centres, so train and test share them):
test points are independent of training points, and changing ``n_test`` never changes the
training set. NumPy recipes draw from a :class:`numpy.random.Generator` on their stream;
scikit-learn's generators get a private ``RandomState(MT19937(stream))``. Each set is shuffled
by its own stream (scikit-learn's ``shuffle=True``, or a permutation), so classes are
interleaved.

``seed="notebook"`` exists for the course's two data sets, and is their default:

* ``circles()`` is the course notebook's data, point for point: 300 training points from
  ``make_circles(noise=.05)`` after ``np.random.seed(1)`` and 100 test points after
  ``np.random.seed(2)``. It passes a private ``RandomState`` to scikit-learn instead of
  seeding NumPy's global state; the draws are the same.
* ``flower()``'s training set is ``load_planar_dataset()``'s 400 points (transposed to rows),
  drawn from a private ``RandomState(1)`` in the original order: class 0 then class 1,
  unshuffled. The original has no test set; in notebook mode the test set is the same recipe
  drawn from a private ``RandomState(2)``, as the circles notebook seeds its test set.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn.datasets
from numpy.typing import NDArray

from initlab.rng import NOTEBOOK, NOTEBOOK_TEST_DATA_SEED, NOTEBOOK_TRAIN_DATA_SEED, check_seed

from ._registry import Registry

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
            object.__setattr__(self, "label_names", _numbered(max(2, top + 1)))
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


# --- argument checks ----------------------------------------------------------------------------


def _check_count(name: str, value: int, minimum: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"Argument `{name}` must be an integer ≥ {minimum}{why}. Received: {name}={value!r}"
        )
    return int(value)


def _check_noise(noise: float) -> float:
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < np.inf:
        raise ValueError(f"Argument `noise` must be a float ≥ 0. Received: noise={noise!r}")
    return float(noise)


def _check_fraction(test_fraction: float) -> float:
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, int | float)
        or not 0 < test_fraction < 1
    ):
        raise ValueError(
            "Argument `test_fraction` must be a float in (0, 1), exclusive. "
            f"Received: test_fraction={test_fraction!r}"
        )
    return float(test_fraction)


def _int_seed(seed: object, dataset: str) -> int:
    """A seed for a data set without a notebook mode: a non-negative integer only."""
    if isinstance(seed, str) and seed == NOTEBOOK:
        raise ValueError(
            f"Argument `seed` must be a non-negative integer: {dataset} has no notebook data "
            "('notebook' exists for circles and flower only). Received: seed='notebook'"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"Argument `seed` must be a non-negative integer. Received: seed={seed!r}")
    return int(seed)


# --- shared helpers for the generators ----------------------------------------------------------


def _numbered(k: int) -> tuple[str, ...]:
    return tuple(str(i) for i in range(k))


def _class_sizes(n: int, k: int) -> list[int]:
    """``n`` points split over ``k`` classes as evenly as possible, the first classes larger."""
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


def _empty(n_features: int) -> XY:
    return np.empty((0, n_features)), np.empty(0, dtype=np.int64)


def _shuffled(X: FloatArray, y: IntArray, rng: np.random.Generator) -> XY:
    order = rng.permutation(y.shape[0])
    return X[order], y[order]


def _numpy_sets(
    seed: int, n_train: int, n_test: int, make: Callable[[int, np.random.Generator], XY]
) -> tuple[XY, XY]:
    """Train and test sets from independent ``Generator`` streams spawned from ``seed``."""
    train_seq, test_seq = np.random.SeedSequence(seed).spawn(2)
    return (
        make(n_train, np.random.default_rng(train_seq)),
        make(n_test, np.random.default_rng(test_seq)),
    )


def _legacy_state(seq: np.random.SeedSequence) -> np.random.RandomState:
    """A private ``RandomState`` on one stream, for scikit-learn's ``random_state``."""
    return np.random.RandomState(np.random.MT19937(seq))


def _sklearn_sets(
    streams: Sequence[np.random.SeedSequence],
    n_train: int,
    n_test: int,
    make: Callable[[int, np.random.RandomState], Any],
    n_features: int = 2,
) -> tuple[XY, XY]:
    """Train and test sets from a scikit-learn generator on the independent train and test
    ``streams``, each through a private ``RandomState``."""
    train_seq, test_seq = streams

    def build(n: int, seq: np.random.SeedSequence) -> XY:
        if n == 0:
            return _empty(n_features)
        X, y = make(n, _legacy_state(seq))
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)

    return build(n_train, train_seq), build(n_test, test_seq)


def _dataset(name: str, train: XY, test: XY, n_classes: int) -> Dataset:
    return Dataset(name, train[0], train[1], test[0], test[1], _numbered(n_classes))


# --- built-in generators ------------------------------------------------------------------------


def circles(
    n_train: int = 300,
    n_test: int = 100,
    noise: float = 0.05,
    factor: float = 0.8,
    seed: int | str = NOTEBOOK,
) -> Dataset:
    """Two noisy concentric circles (scikit-learn's ``make_circles``), labels 0 outer / 1 inner.

    ``noise`` is the standard deviation of the Gaussian noise added to each coordinate;
    ``factor`` the inner radius over the outer. With ``seed="notebook"`` (the default) train
    and test use the course's seeds 1 and 2; an integer seed splits into independent train and
    test streams instead.

    >>> d = circles()
    >>> d.X_train.shape, d.y_train[:5].tolist()
    ((300, 2), [1, 0, 1, 1, 0])
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
        train_state = _legacy_state(train_seq)
        test_state = _legacy_state(test_seq)

    def make(n: int, state: np.random.RandomState) -> XY:
        if n == 0:
            return _empty(2)
        X, y = sklearn.datasets.make_circles(
            n_samples=n, noise=noise, factor=factor, random_state=state
        )
        return X.astype(np.float64), y.astype(np.int64)

    X_train, y_train = make(n_train, train_state)
    X_test, y_test = make(n_test, test_state)
    return Dataset("circles", X_train, y_train, X_test, y_test, _numbered(2))


def moons(n_train: int = 300, n_test: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``), labels 0 upper / 1 lower.

    ``noise`` is the standard deviation of the Gaussian noise added to each coordinate.

    >>> d = moons(n_train=10, n_test=4)
    >>> d.X_train.shape, d.X_test.shape, d.n_classes
    ((10, 2), (4, 2), 2)
    """
    n_train = _check_count("n_train", n_train, 2)
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    checked = _int_seed(seed, "moons")

    def make(n: int, state: np.random.RandomState) -> Any:
        return sklearn.datasets.make_moons(n_samples=n, noise=noise, random_state=state)

    streams = np.random.SeedSequence(checked).spawn(2)
    return _dataset("moons", *_sklearn_sets(streams, n_train, n_test, make), n_classes=2)


BLOB_BOX = (-10.0, 10.0)
"""Blob centres are drawn uniformly in this box on every axis (scikit-learn's default)."""


def blobs(
    n_train: int = 300,
    n_test: int = 100,
    noise: float = 1.0,
    centers: int = 3,
    n_features: int = 2,
    seed: int = 0,
) -> Dataset:
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs``), one class per centre.

    ``noise`` is the standard deviation of every blob (``make_blobs``'s ``cluster_std``).
    The ``centers`` centres are drawn uniformly in ``BLOB_BOX`` from their own stream, so the
    train and test sets share them; labels are ``0..centers−1``, and each set splits its points
    over the centres as evenly as possible.

    >>> d = blobs(centers=4, n_features=3)
    >>> d.X_train.shape, d.n_classes, sorted(set(d.y_train.tolist()))
    ((300, 3), 4, [0, 1, 2, 3])
    """
    centers = _check_count("centers", centers, 2)
    n_train = _check_count("n_train", n_train, centers, " (at least one point per centre)")
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    n_features = _check_count("n_features", n_features, 1)
    checked = _int_seed(seed, "blobs")
    centre_seq, *streams = np.random.SeedSequence(checked).spawn(3)
    means = np.random.default_rng(centre_seq).uniform(*BLOB_BOX, size=(centers, n_features))

    def make(n: int, state: np.random.RandomState) -> Any:
        return sklearn.datasets.make_blobs(
            n_samples=n,
            n_features=n_features,
            centers=means,
            cluster_std=noise,
            random_state=state,
        )

    train, test = _sklearn_sets(streams, n_train, n_test, make, n_features)
    return _dataset("blobs", train, test, n_classes=centers)


GAUSS_CENTRES = np.array([[-2.0, -2.0], [2.0, 2.0]])
"""The centres of ``gauss``'s class 0 and class 1."""


def gauss(n_train: int = 300, n_test: int = 100, noise: float = 1.0, seed: int = 0) -> Dataset:
    """Two isotropic Gaussian clusters: class 0 at (−2, −2), class 1 at (2, 2).

    TensorFlow Playground's "Gaussian" data set. ``noise`` is the standard deviation of each
    coordinate (the Playground maps its noise slider ``p`` ∈ [0, 0.5] to a variance
    ``0.5 + 7p``, i.e. ``noise = √(0.5 + 7p)``, 0.71 to 2). Each set holds ⌈n/2⌉ points of
    class 0 and ⌊n/2⌋ of class 1, shuffled.

    >>> d = gauss(noise=0.0)
    >>> d.X_train[d.y_train == 1].mean(axis=0).tolist()
    [2.0, 2.0]
    """
    n_train = _check_count("n_train", n_train, 2)
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    checked = _int_seed(seed, "gauss")

    def make(n: int, rng: np.random.Generator) -> XY:
        y = np.repeat(np.arange(2, dtype=np.int64), _class_sizes(n, 2))
        X = GAUSS_CENTRES[y] + noise * rng.standard_normal((n, 2))
        return _shuffled(X, y, rng)

    return _dataset("gauss", *_numpy_sets(checked, n_train, n_test, make), n_classes=2)


def xor(n_train: int = 300, n_test: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Uniform points in [−1, 1]², label 1 where ``x·y > 0`` (quadrants I and III), else 0.

    TensorFlow Playground's "Exclusive or" scaled from [−5, 5]² to [−1, 1]² (without its 0.3
    padding around the axes). As in the Playground, ``noise`` jitters the point the *label* is
    computed from, not the point itself: the label is the sign rule at
    ``(x, y) + noise·U(−1, 1)²``, so labels flip near the axes, in a band about ``noise`` wide.
    With ``noise=0`` every label follows the sign rule.

    >>> d = xor(noise=0.0)
    >>> bool(((d.X_train[:, 0] * d.X_train[:, 1] > 0) == (d.y_train == 1)).all())
    True
    """
    n_train = _check_count("n_train", n_train, 2)
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    checked = _int_seed(seed, "xor")

    def make(n: int, rng: np.random.Generator) -> XY:
        X = rng.uniform(-1.0, 1.0, size=(n, 2))
        jittered = X + noise * rng.uniform(-1.0, 1.0, size=(n, 2))
        y = (jittered[:, 0] * jittered[:, 1] > 0).astype(np.int64)
        return X, y

    return _dataset("xor", *_numpy_sets(checked, n_train, n_test, make), n_classes=2)


def spiral(
    n_train: int = 300, n_test: int = 150, noise: float = 0.2, arms: int = 3, seed: int = 0
) -> Dataset:
    """``arms`` interleaved spiral arms, one class each (the CS231n construction).

    Arm ``j`` of ``N`` points: ``r = linspace(0, 1, N)``,
    ``θ = linspace(4j, 4(j+1), N) + noise·N(0, 1)``, ``X = [r·sin θ, r·cos θ]``, label ``j``.
    ``noise`` is the standard deviation of the angle, in radians. Each set splits its points
    over the arms as evenly as possible and is shuffled. As in CS231n, the radii are a fixed
    grid and every arm starts at the origin, so each set holds ``arms`` copies of (0, 0), one
    per label; train and test points differ only through the angle noise (with ``noise=0`` and
    equal sizes they coincide).

    >>> d = spiral(arms=4)
    >>> d.n_classes, np.bincount(d.y_train).tolist()
    (4, [75, 75, 75, 75])
    """
    arms = _check_count("arms", arms, 2)
    n_train = _check_count("n_train", n_train, arms, " (at least one point per arm)")
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    checked = _int_seed(seed, "spiral")

    def make(n: int, rng: np.random.Generator) -> XY:
        Xs, ys = [], []
        for j, size in enumerate(_class_sizes(n, arms)):
            r = np.linspace(0.0, 1.0, size)
            t = np.linspace(j * 4, (j + 1) * 4, size) + rng.standard_normal(size) * noise
            Xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
            ys.append(np.full(size, j, dtype=np.int64))
        return _shuffled(np.concatenate(Xs), np.concatenate(ys), rng)

    return _dataset("spiral", *_numpy_sets(checked, n_train, n_test, make), n_classes=arms)


FLOWER_RAY = 4
"""The flower's maximum ray ``a`` (``load_planar_dataset``'s ``a = 4``)."""


def _flower_points(n: int, noise: float, rng: np.random.Generator | np.random.RandomState) -> XY:
    """``load_planar_dataset``'s recipe for ``n`` points, class 0 then class 1, unshuffled.

    For each class the angle noise is drawn before the radius noise, as in the original, so a
    ``RandomState(1)`` reproduces ``np.random.seed(1); load_planar_dataset()`` bit for bit.
    """
    Xs, ys = [], []
    for j, size in enumerate(_class_sizes(n, 2)):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, size) + rng.standard_normal(size) * noise
        r = FLOWER_RAY * np.sin(4 * t) + rng.standard_normal(size) * noise
        Xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(size, j, dtype=np.int64))
    return np.concatenate(Xs).astype(np.float64), np.concatenate(ys)


def flower(
    n_train: int = 400, n_test: int = 100, noise: float = 0.2, seed: int | str = NOTEBOOK
) -> Dataset:
    """The course's "planar" flower: eight petals in two interleaved classes.

    Class ``j`` ∈ {0, 1} of ``N`` points (``load_planar_dataset``, ``a = 4``)::

        t = linspace(3.12·j, 3.12·(j+1), N) + noise·N(0, 1)     # angle
        r = a·sin(4t) + noise·N(0, 1)                          # radius
        X = [r·sin t, r·cos t]

    ``noise`` is the standard deviation of both the angle and the radius noise (the course
    uses 0.2). Each set holds ⌈n/2⌉ points of class 0 and ⌊n/2⌋ of class 1.

    With ``seed="notebook"`` (the default) the training set is ``load_planar_dataset()``'s
    data exactly (its ``X.T`` and ``Y.T`` with the defaults), drawn from a private
    ``RandomState(1)`` in the original order (class 0 first, unshuffled), and the test set is
    the same recipe drawn from a private ``RandomState(2)`` (the original has no test set).
    An integer seed draws train and test from independent streams and shuffles each.

    >>> d = flower()
    >>> d.X_train.shape, d.y_train[[0, -1]].tolist()
    ((400, 2), [0, 1])
    """
    n_train = _check_count("n_train", n_train, 2)
    n_test = _check_count("n_test", n_test, 0)
    noise = _check_noise(noise)
    checked = check_seed(seed)
    if checked == NOTEBOOK:
        train = _flower_points(n_train, noise, np.random.RandomState(NOTEBOOK_TRAIN_DATA_SEED))
        test = _flower_points(n_test, noise, np.random.RandomState(NOTEBOOK_TEST_DATA_SEED))
        return _dataset("flower", train, test, n_classes=2)

    def make(n: int, rng: np.random.Generator) -> XY:
        return _shuffled(*_flower_points(n, noise, rng), rng)

    return _dataset("flower", *_numpy_sets(checked, n_train, n_test, make), n_classes=2)


DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
DATASETS.register("circles", circles, "two noisy concentric circles (the course's data)")
DATASETS.register("flower", flower, "two-class eight-petal flower (the course's planar data)")
DATASETS.register("moons", moons, "two interleaving half circles (scikit-learn make_moons)")
DATASETS.register("blobs", blobs, "k Gaussian blobs, one class each (scikit-learn make_blobs)")
DATASETS.register("gauss", gauss, "two Gaussian clusters at (±2, ±2) (TF Playground)")
DATASETS.register("xor", xor, "uniform square, label = sign of x·y (TF Playground)")
DATASETS.register("spiral", spiral, "k interleaved spiral arms, one class each (CS231n)")


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
        return reader(text, **kwargs)
    make = DATASETS.get(text)
    _check_kwargs(make, DATASETS.canonical(text), kwargs)
    return make(**kwargs)


def _check_kwargs(fn: Callable[..., Any], label: str, kwargs: dict[str, Any]) -> None:
    params = inspect.signature(fn).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        known = ", ".join(p for p in params if p != "path")
        raise ValueError(
            f"Dataset {label!r} has no argument {', '.join(f'`{u}`' for u in unknown)}. "
            f"Its arguments: {known}."
        )


# --- validation ---------------------------------------------------------------------------------


def _check_finite(X: FloatArray, what: str) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{what} contains {int(bad.sum())} NaN or infinite value(s), first at row {row}, "
            f"column {col}: {X[row, col]}; only finite numbers are allowed"
        )


def check_xy(
    X: object, y: object, *, n_features: int | None = None, n_classes: int | None = None
) -> tuple[FloatArray, IntArray]:
    """Validate a classification set and return it as float64 rows and int64 labels.

    Labels must be integers ``0..n_classes−1`` (integer-valued floats are accepted);
    ``n_classes=None`` means binary, labels 0 and 1. Errors name the problem: a non-2-D ``X``,
    a feature count that does not match the network, NaN or infinite values, a length
    mismatch, labels outside the allowed range (listed).

    >>> X, y = check_xy([[0.0, 1.0], [2.0, 3.0]], [1.0, 2.0], n_classes=3)
    >>> y.tolist()
    [1, 2]
    """
    k = 2 if n_classes is None else _check_count("n_classes", n_classes, 2)
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
    _check_finite(X_arr, "X")
    y_arr = np.asarray(y)
    if y_arr.ndim == 2 and 1 in y_arr.shape:
        y_arr = y_arr.reshape(-1)
    if y_arr.ndim != 1 or y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y must hold one label per sample: X has {X_arr.shape[0]} samples, "
            f"y has shape {y_arr.shape}"
        )
    allowed = "0 and 1" if k == 2 else f"0..{k - 1}"
    if y_arr.dtype.kind not in "biuf":
        raise ValueError(
            f"y must hold numeric labels {allowed}. Received dtype {y_arr.dtype}; map other "
            "labels to integers first (from_csv and from_npz do)"
        )
    labels = np.unique(y_arr)
    ok = np.isin(labels, np.arange(k))
    if not ok.all():
        wanted = "be binary, labels 0 and 1 only" if k == 2 else f"hold labels {allowed} only"
        raise ValueError(
            f"y must {wanted}. Received labels {labels[~ok][:5].tolist()} "
            f"(all labels: {labels[:10].tolist()})"
        )
    return X_arr, y_arr.astype(np.int64)


# --- user data ----------------------------------------------------------------------------------


def _data_file(path: str | os.PathLike[str]) -> Path:
    file = Path(path)
    if not file.is_file():
        why = " (it is a directory)" if file.is_dir() else ""
        raise FileNotFoundError(f"Data file not found: '{file}'{why}")
    return file


def _label_name(key: object) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _encode_labels(keys: Sequence[Any], source: str) -> tuple[IntArray, tuple[str, ...]]:
    """Map sorted unique labels to ``0..k−1``; fail on a single class."""
    classes = sorted(set(keys))
    if len(classes) < 2:
        raise ValueError(
            f"Only one class in {source}: label {_label_name(classes[0])!r} in all "
            f"{len(keys)} samples; a classification set needs at least 2 classes"
        )
    index = {key: i for i, key in enumerate(classes)}
    y = np.fromiter((index[key] for key in keys), dtype=np.int64, count=len(keys))
    return y, tuple(_label_name(key) for key in classes)


def _split(
    X: FloatArray,
    y: IntArray,
    label_names: tuple[str, ...],
    test_fraction: float,
    seed: int,
    name: str,
) -> Dataset:
    """A stratified, shuffled split: each class sends ``round(n_c·test_fraction)`` points to
    the test set but keeps at least one for training."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    train_idx, test_idx = [], []
    for c in range(len(label_names)):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = min(math.floor(idx.size * test_fraction + 0.5), idx.size - 1)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return Dataset(name, X[train], y[train], X[test], y[test], label_names)


def _check_samples(n: int, source: str) -> None:
    if n < 2:
        raise ValueError(f"{source} has {n} sample(s); a data set needs at least 2")


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def from_csv(
    path: str | os.PathLike[str],
    label_column: str = "label",
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    delimiter: str = ",",
    name: str | None = None,
) -> Dataset:
    """Read a classification set from a CSV file: feature columns plus one label column.

    The first row must be a header naming the columns; ``label_column`` names the label
    column, every other column is a numeric feature (finite numbers, no empty cells). Blank
    lines are skipped. Labels may be any text: if they are all numbers they are ordered
    numerically, otherwise as text, and the sorted labels become ``0..k−1``, their original
    text kept in ``Dataset.label_names`` (``"1.0"`` reads as ``"1"``).

    The rows are split by :func:`numpy.random.default_rng` on ``seed``, stratified: each class
    sends ``round(n_c · test_fraction)`` of its ``n_c`` rows to the test set but keeps at least
    one for training; both sets are shuffled. The file is only read. Errors name the file,
    the row (data rows count from 1, after the header; the file line is given too), the
    column and the offending text. ``name`` defaults to the file's stem.
    """
    test_fraction = _check_fraction(test_fraction)
    checked = _int_seed(seed, "from_csv")
    file = _data_file(path)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{file} is empty; it needs a header row naming the columns")
            header = [cell.strip() for cell in header]
            if header.count(label_column) != 1:
                looks_like_data = all(_parse_float(cell) is not None for cell in header)
                hint = (
                    "; the first row looks like data, but a header row naming the columns "
                    "is required"
                    if looks_like_data
                    else f"; pass label_column= one of {header}"
                )
                found = "appears twice" if header.count(label_column) else "not found"
                raise ValueError(
                    f"Label column {label_column!r} {found} in {file}. "
                    f"Columns found: {header}{hint}"
                )
            label_at = header.index(label_column)
            feature_at = [i for i in range(len(header)) if i != label_at]
            if not feature_at:
                raise ValueError(
                    f"{file} has no feature columns, only the label column {label_column!r}"
                )
            rows: list[list[float]] = []
            labels: list[str] = []
            for row in reader:
                if not row:
                    continue
                where = f"row {len(rows) + 1} (line {reader.line_num})"
                if len(row) != len(header):
                    raise ValueError(
                        f"Ragged row in {file}: {where} has {len(row)} field(s); "
                        f"the header has {len(header)} columns"
                    )
                values = []
                for i in feature_at:
                    text = row[i].strip()
                    if not text:
                        raise ValueError(
                            f"Empty cell in {file}, {where}, column {header[i]!r}; "
                            "every cell needs a value"
                        )
                    value = _parse_float(text)
                    if value is None:
                        raise ValueError(
                            f"Column {header[i]!r} must be numeric: {file}, {where} holds "
                            f"the text {text!r}"
                        )
                    if not math.isfinite(value):
                        raise ValueError(
                            f"NaN or infinite value in {file}, {where}, column {header[i]!r}: "
                            f"{text!r}; only finite numbers are allowed"
                        )
                    values.append(value)
                text = row[label_at].strip()
                number = _parse_float(text)
                if not text or (number is not None and not math.isfinite(number)):
                    raise ValueError(
                        f"{'Empty' if not text else 'NaN or infinite'} label in {file}, "
                        f"{where}, column {label_column!r}"
                        + (f": {text!r}" if text else "; every row needs a label")
                    )
                rows.append(values)
                labels.append(text)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file} is not UTF-8 text (is it a CSV file?): {exc}") from None
    _check_samples(len(rows), str(file))
    numbers = [_parse_float(text) for text in labels]
    keys: list[Any] = labels if any(v is None for v in numbers) else numbers
    y, label_names = _encode_labels(keys, str(file))
    X = np.array(rows, dtype=np.float64)
    return _split(X, y, label_names, test_fraction, checked, name or file.stem)


def from_npz(
    path: str | os.PathLike[str],
    X_key: str = "X",
    y_key: str = "y",
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    name: str | None = None,
) -> Dataset:
    """Read a classification set from a NumPy ``.npz`` archive (as written by ``np.savez``).

    ``X_key`` names a 2-D numeric array, samples in rows; ``y_key`` one label per row
    (numbers, booleans or strings; a column vector is accepted). Labels are sorted and become
    ``0..k−1``, their original values kept, as text, in ``Dataset.label_names``. The archive
    is opened with ``allow_pickle=False``: object arrays are refused, never unpickled. Rows are
    split as :func:`from_csv` splits them. ``name`` defaults to the file's stem.
    """
    test_fraction = _check_fraction(test_fraction)
    checked = _int_seed(seed, "from_npz")
    file = _data_file(path)
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file} is not a readable .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{file} holds a single array, not an .npz archive of named arrays "
            f"({X_key!r} and {y_key!r}); write it with np.savez(path, {X_key}=X, {y_key}=y)"
        )
    with archive:
        arrays = {}
        for key in (X_key, y_key):
            if key not in archive.files:
                raise ValueError(f"Key {key!r} not found in {file}. Keys found: {archive.files}")
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise ValueError(
                    f"Array {key!r} in {file} holds Python objects, which initlab does not "
                    "unpickle; save numbers or strings"
                ) from None
    X_raw, y_raw = arrays[X_key], arrays[y_key]
    if X_raw.dtype.kind not in "biuf":
        raise ValueError(f"Array {X_key!r} in {file} must be numeric. Received dtype {X_raw.dtype}")
    if X_raw.ndim != 2:
        raise ValueError(
            f"Array {X_key!r} in {file} must be 2-D, (n_samples, n_features). "
            f"Received shape {X_raw.shape}"
        )
    X = X_raw.astype(np.float64)
    _check_finite(X, f"Array {X_key!r} in {file}")
    if y_raw.ndim == 2 and 1 in y_raw.shape:
        y_raw = y_raw.reshape(-1)
    if y_raw.ndim != 1 or y_raw.shape[0] != X.shape[0]:
        raise ValueError(
            f"Array {y_key!r} in {file} must hold one label per row of {X_key!r}: "
            f"{X.shape[0]} rows, {y_key!r} has shape {y_raw.shape}"
        )
    _check_samples(X.shape[0], str(file))
    kind = y_raw.dtype.kind
    if kind not in "biufUS":
        raise ValueError(
            f"Array {y_key!r} in {file} must hold numbers or strings. Received dtype {y_raw.dtype}"
        )
    if kind == "f" and not np.isfinite(y_raw).all():
        row = int(np.flatnonzero(~np.isfinite(y_raw))[0])
        raise ValueError(f"Array {y_key!r} in {file} has label {y_raw[row]} at row {row}")
    keys: list[Any]
    if kind == "S":
        keys = [v.decode("utf-8", "replace") for v in y_raw.tolist()]
    elif kind == "b":
        keys = [str(v) for v in y_raw.tolist()]
    else:
        keys = y_raw.tolist()
    y, label_names = _encode_labels(keys, str(file))
    return _split(X, y, label_names, test_fraction, checked, name or file.stem)

"""The built-in generators (circles notebook-exact, flower, moons, blobs, gauss, xor, spiral;
and two regression sets, plane and gaussians):
each draws a train and a test set from private random streams, never NumPy's global state,
as the package docstring of :mod:`initlab.datasets` describes; scikit-learn, which two of them
call, is imported only when one of those runs (circles repeats ``make_circles``' arithmetic
itself, draw for draw, so the default data set loads without it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from initlab._validate import check_int, check_real
from initlab.rng import NOTEBOOK, NOTEBOOK_TEST_DATA_SEED, NOTEBOOK_TRAIN_DATA_SEED, check_seed

from .base import XY, Dataset, FloatArray, IntArray, int_seed, numbered

# --- shared checks and helpers ------------------------------------------------------------------


def _check_sizes(
    n_train: object, n_test: object, noise: object, minimum: int = 2, why: str = ""
) -> tuple[int, int, float]:
    """The checked ``n_train`` (an integer ≥ ``minimum``, ``why`` saying why), ``n_test``
    (an integer ≥ 0) and ``noise`` (a finite float ≥ 0), checked in that order."""
    return (
        check_int("n_train", n_train, minimum, must=f"an integer ≥ {minimum}{why}"),
        check_int("n_test", n_test, 0),
        check_real("noise", noise, low=0.0, must="a float ≥ 0"),
    )


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


def _notebook_states() -> tuple[np.random.RandomState, np.random.RandomState]:
    """Private ``RandomState``s for the course's train and test data (seeds 1 and 2): the
    draws of ``np.random.seed(1)`` and ``np.random.seed(2)``, without the global state."""
    return (
        np.random.RandomState(NOTEBOOK_TRAIN_DATA_SEED),
        np.random.RandomState(NOTEBOOK_TEST_DATA_SEED),
    )


def _legacy_states(
    streams: Sequence[np.random.SeedSequence],
) -> tuple[np.random.RandomState, np.random.RandomState]:
    """Private ``RandomState``s on the train and test ``streams``, for scikit-learn's
    ``random_state``."""
    train_seq, test_seq = streams
    return (
        np.random.RandomState(np.random.MT19937(train_seq)),
        np.random.RandomState(np.random.MT19937(test_seq)),
    )


def _sklearn_sets(
    states: tuple[np.random.RandomState, np.random.RandomState],
    n_train: int,
    n_test: int,
    make: Callable[[int, np.random.RandomState], Any],
    n_features: int = 2,
) -> tuple[XY, XY]:
    """Train and test sets from a scikit-learn generator, drawn through the private train and
    test ``states``."""
    train_state, test_state = states

    def build(n: int, state: np.random.RandomState) -> XY:
        if n == 0:
            return _empty(n_features)
        X, y = make(n, state)
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)

    return build(n_train, train_state), build(n_test, test_state)


def _dataset(name: str, train: XY, test: XY, n_classes: int) -> Dataset:
    return Dataset(name, train[0], train[1], test[0], test[1], numbered(n_classes))


# --- built-in generators ------------------------------------------------------------------------


def circles(
    n_train: int = 300,
    n_test: int = 100,
    noise: float = 0.05,
    factor: float = 0.8,
    seed: int | str = NOTEBOOK,
) -> Dataset:
    """Two noisy concentric circles (scikit-learn's ``make_circles``, see :func:`make_circles`),
    labels 0 outer / 1 inner.

    ``noise`` is the standard deviation of the Gaussian noise added to each coordinate;
    ``factor`` the inner radius over the outer. With ``seed="notebook"`` (the default) train
    and test use the course's seeds 1 and 2; an integer seed splits into independent train and
    test streams instead.

    >>> d = circles()
    >>> d.X_train.shape, d.y_train[:5].tolist()
    ((300, 2), [1, 0, 1, 1, 0])
    """
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    factor = check_real(
        "factor", factor, low=0.0, high=1.0, low_open=True, high_open=True, must="in (0, 1)"
    )
    checked = check_seed(seed)
    if checked == NOTEBOOK:
        states = _notebook_states()
    else:
        states = _legacy_states(np.random.SeedSequence(checked).spawn(2))

    def make(n: int, state: np.random.RandomState) -> XY:
        return make_circles(n, noise, factor, state)

    return _dataset("circles", *_sklearn_sets(states, n_train, n_test, make), n_classes=2)


def make_circles(n: int, noise: float, factor: float, state: np.random.RandomState) -> XY:
    """scikit-learn's ``make_circles(n, noise=noise, factor=factor, random_state=state)``,
    draw for draw and bit for bit, without importing scikit-learn (about a second here).

    The outer circle's ``n // 2`` points (label 0) and the inner circle's rest (label 1,
    radius ``factor``) at evenly spaced angles, shuffled by ``state.shuffle`` of the indices
    (scikit-learn's ``shuffle``), then Gaussian noise of standard deviation ``noise`` from
    ``state.normal``. ``tests/test_datasets.py`` checks it against scikit-learn.
    """
    n_out = n // 2
    n_in = n - n_out
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack(
        [
            np.append(np.cos(angles_out), np.cos(angles_in) * factor),
            np.append(np.sin(angles_out), np.sin(angles_in) * factor),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n)
    state.shuffle(order)
    X, y = X[order], y[order]
    X += state.normal(scale=noise, size=X.shape)
    return X, y


def moons(n_train: int = 300, n_test: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``), labels 0 upper / 1 lower.

    ``noise`` is the standard deviation of the Gaussian noise added to each coordinate.

    >>> d = moons(n_train=10, n_test=4)
    >>> d.X_train.shape, d.X_test.shape, d.n_classes
    ((10, 2), (4, 2), 2)
    """
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    states = _legacy_states(np.random.SeedSequence(int_seed(seed, "moons")).spawn(2))
    from sklearn.datasets import make_moons

    def make(n: int, state: np.random.RandomState) -> Any:
        return make_moons(n_samples=n, noise=noise, random_state=state)

    return _dataset("moons", *_sklearn_sets(states, n_train, n_test, make), n_classes=2)


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
    centers = check_int("centers", centers, 2)
    n_train, n_test, noise = _check_sizes(
        n_train, n_test, noise, centers, " (at least one point per centre)"
    )
    n_features = check_int("n_features", n_features, 1)
    centre_seq, *streams = np.random.SeedSequence(int_seed(seed, "blobs")).spawn(3)
    means = np.random.default_rng(centre_seq).uniform(*BLOB_BOX, size=(centers, n_features))
    from sklearn.datasets import make_blobs

    def make(n: int, state: np.random.RandomState) -> Any:
        return make_blobs(
            n_samples=n,
            n_features=n_features,
            centers=means,
            cluster_std=noise,
            random_state=state,
        )

    train, test = _sklearn_sets(_legacy_states(streams), n_train, n_test, make, n_features)
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
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    checked = int_seed(seed, "gauss")

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
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    checked = int_seed(seed, "xor")

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
    arms = check_int("arms", arms, 2)
    n_train, n_test, noise = _check_sizes(
        n_train, n_test, noise, arms, " (at least one point per arm)"
    )
    checked = int_seed(seed, "spiral")

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
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    checked = check_seed(seed)
    if checked == NOTEBOOK:
        train_state, test_state = _notebook_states()
        train = _flower_points(n_train, noise, train_state)
        test = _flower_points(n_test, noise, test_state)
        return _dataset("flower", train, test, n_classes=2)

    def make(n: int, rng: np.random.Generator) -> XY:
        return _shuffled(*_flower_points(n, noise, rng), rng)

    return _dataset("flower", *_numpy_sets(checked, n_train, n_test, make), n_classes=2)


# --- regression ---------------------------------------------------------------------------------

REGRESSION_BUMPS = np.array(
    [[-4.0, 2.5, 1.0], [0.0, 2.5, -1.0], [4.0, 2.5, 1.0],
     [-4.0, -2.5, -1.0], [0.0, -2.5, 1.0], [4.0, -2.5, -1.0]]
)  # fmt: skip
"""``gaussians``' six bumps: centre x, centre y and sign of each."""


def _regression_sets(
    name: str, seed: object, n_train: object, n_test: object, noise: object,
    target: Callable[[FloatArray], FloatArray],
) -> Dataset:  # fmt: skip
    """Uniform points in [−6, 6]² whose real target is ``target`` at the point jittered by
    ``noise``·U(−6, 6)² (TensorFlow Playground's regression recipe: the noise moves the point
    the target is computed at, not the point)."""
    n_train, n_test, noise = _check_sizes(n_train, n_test, noise)
    checked = int_seed(seed, name)

    def make(n: int, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        X = rng.uniform(-6.0, 6.0, size=(n, 2))
        jitter = noise * rng.uniform(-6.0, 6.0, size=(n, 2))
        return X, target(X + jitter)

    (X_train, y_train), (X_test, y_test) = _numpy_sets(checked, n_train, n_test, make)  # type: ignore[arg-type]
    return Dataset(name, X_train, y_train, X_test, y_test, task="regression")


def plane(n_train: int = 300, n_test: int = 100, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Regression on a tilted plane: target ``(x₁ + x₂) / 10`` over [−6, 6]² (−1.2 to 1.2).

    TensorFlow Playground's "Plane" regression set (its label scale maps x₁ + x₂ ∈ [−10, 10]
    to [−1, 1]); ``noise`` jitters the point the target is computed at by
    ``noise``·U(−6, 6)² (the Playground's slider is 0 to 0.5).

    >>> d = plane(noise=0.0)
    >>> bool(np.allclose(d.y_train, d.X_train.sum(axis=1) / 10))
    True
    """
    return _regression_sets("plane", seed, n_train, n_test, noise,
                            lambda P: (P[:, 0] + P[:, 1]) / 10.0)  # fmt: skip


def gaussians(n_train: int = 300, n_test: int = 100, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Regression on six signed bumps: at each point, of the six values
    ``sign·max(0, 1 − d/2)`` (``d`` the distance to a bump's centre, :data:`REGRESSION_BUMPS`)
    the target is the one largest in magnitude (0 far from every bump).

    TensorFlow Playground's "Multi Gaussian" regression set, over [−6, 6]², targets in
    [−1, 1]; ``noise`` as in :func:`plane`.

    >>> d = gaussians(noise=0.0)
    >>> float(d.y_train.min()) >= -1.0 and float(d.y_train.max()) <= 1.0
    True
    """
    return _regression_sets("gaussians", seed, n_train, n_test, noise, _bumps)


def _bumps(P: FloatArray) -> FloatArray:
    """The largest-magnitude signed bump value at each point of ``P`` ``(n, 2)``."""
    centres, signs = REGRESSION_BUMPS[:, :2], REGRESSION_BUMPS[:, 2]
    distance = np.linalg.norm(P[:, None, :] - centres[None, :, :], axis=2)  # (n, 6)
    values = signs * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    pick = np.argmax(np.abs(values), axis=1)
    out: FloatArray = values[np.arange(P.shape[0]), pick]
    return out

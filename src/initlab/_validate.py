"""The one vocabulary of argument checks, and the messages they give.

Every check raises :class:`ValueError` in Keras' form, naming the argument, what is allowed
and the value received::

    Argument `learning_rate` must be a positive finite float. Received: learning_rate=-1

Layers that read arguments from somewhere else (a spec file, the playground's JSON) call the
same checks and only add where the value came from (``file:line``, the field), so a rule and
its message live here once. ``must`` overrides the phrase after "must be" where a caller's
wording is part of its documented behaviour.

>>> check_int("iterations", 0, 1, must="a positive integer")
Traceback (most recent call last):
ValueError: Argument `iterations` must be a positive integer. Received: iterations=0
>>> check_real("l2", 0.5, low=0.0)
0.5
>>> check_choice("mode", "fan_avg", ("fan_in", "fan_out"))
Traceback (most recent call last):
ValueError: Argument `mode` must be one of 'fan_in', 'fan_out'. Received: mode='fan_avg'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def is_int(value: object) -> bool:
    """A Python or NumPy integer, not a ``bool``."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value: object) -> bool:
    """A Python or NumPy real number (integers included), not a ``bool``."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def python_scalar(value: Any) -> Any:
    """NumPy scalars (from a grid built with ``np.logspace``…) as Python numbers, so that a
    message echoes ``0.1``, not ``np.float64(0.1)``; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def invalid(name: str, must: str, value: object) -> ValueError:
    """The error for argument ``name``: "Argument `name` must be MUST. Received: name=VALUE"."""
    return ValueError(f"Argument `{name}` must be {must}. Received: {name}={value!r}")


def check_int(
    name: str,
    value: object,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    must: str | None = None,
) -> int:
    """``value`` as an ``int`` if it is an integer in ``[minimum, maximum]`` (either optional)."""
    ok = is_int(value) and (minimum is None or value >= minimum)  # type: ignore[operator]
    ok = ok and (maximum is None or value <= maximum)  # type: ignore[operator]
    if not ok:
        if must is None:
            if minimum is not None and maximum is not None:
                must = f"an integer from {minimum} to {maximum}"
            elif minimum is not None:
                must = f"an integer ≥ {minimum}"
            elif maximum is not None:
                must = f"an integer ≤ {maximum}"
            else:
                must = "an integer"
        raise invalid(name, must, value)
    return int(value)  # type: ignore[call-overload,no-any-return]


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    must: str | None = None,
) -> float:
    """``value`` as a ``float`` if it is a real number within the bounds.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``; ``finite=False`` lets
    ±inf through (NaN never passes).
    """
    ok = is_real(value) and not math.isnan(value)  # type: ignore[arg-type]
    if ok and finite:
        ok = math.isfinite(value)  # type: ignore[arg-type]
    if ok and low is not None:
        ok = value > low if low_open else value >= low  # type: ignore[operator]
    if ok and high is not None:
        ok = value < high if high_open else value <= high  # type: ignore[operator]
    if not ok:
        raise invalid(name, must or _real_phrase(low, high, low_open, high_open, finite), value)
    return float(value)  # type: ignore[arg-type]


def _real_phrase(
    low: float | None, high: float | None, low_open: bool, high_open: bool, finite: bool
) -> str:
    kind = "a finite float" if finite else "a float"
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        if low == 0 and low_open:
            return "a positive finite float" if finite else "a positive float"
        return f"{kind} {'>' if low_open else '≥'} {low:g}"
    if high is not None:
        return f"{kind} {'<' if high_open else '≤'} {high:g}"
    return kind


def check_choice(
    name: str, value: object, allowed: Iterable[str], *, must: str | None = None
) -> str:
    """``value`` if it is one of ``allowed`` (compared exactly)."""
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise invalid(name, must or f"one of {', '.join(map(repr, options))}", value)
    return value


def check_finite_array(X: FloatArray, what: str) -> None:
    """Fail on the first NaN or infinite entry of 2-D ``X``, naming its row and column."""
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{what} contains {int(bad.sum())} NaN or infinite value(s), first at row {row}, "
            f"column {col}: {X[row, col]}; only finite numbers are allowed"
        )


def flat_labels(y: NDArray[Any]) -> NDArray[Any]:
    """``y`` with a column or row vector flattened to 1-D; any other shape as it is."""
    return y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y


def is_label_vector(y: NDArray[Any], n_samples: int) -> NDArray[Any] | None:
    """``y`` as one label per sample (:func:`flat_labels`), or ``None`` if its shape cannot be
    that for ``n_samples`` samples (an error then reports ``flat_labels(y).shape``)."""
    y = flat_labels(y)
    return y if y.ndim == 1 and y.shape[0] == n_samples else None


def check_targets(y: NDArray[Any], n_samples: int, outputs: int) -> FloatArray:
    """Regression targets as float64: ``(n_samples,)`` for one output, else
    ``(n_samples, outputs)``; finite numbers only.

    >>> check_targets(np.array([[1.5], [2.0]]), 2, 1).tolist()
    [1.5, 2.0]
    """
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must hold numeric regression targets. Received dtype {y.dtype}")
    wanted = (n_samples,) if outputs == 1 else (n_samples, outputs)
    shaped = y.reshape(n_samples) if outputs == 1 and y.shape == (n_samples, 1) else y
    if shaped.shape != wanted:
        what = "one target per sample" if outputs == 1 else f"{outputs} targets per sample"
        raise ValueError(
            f"y must hold {what}, shape {wanted} (the network has {outputs} output unit"
            f"{'s' if outputs != 1 else ''}). Received shape {y.shape}"
        )
    targets = shaped.astype(np.float64)
    check_finite_array(targets.reshape(n_samples, -1), "y")
    return targets


def check_xy(
    X: object,
    y: object,
    *,
    n_features: int | None = None,
    n_classes: int | None = None,
    outputs: int | None = None,
) -> tuple[FloatArray, NDArray[Any]]:
    """Validate a classification set and return it as float64 rows and int64 labels; with
    ``outputs`` a regression set, returned as float64 rows and float64 targets.

    Regression (``outputs`` given): ``y`` holds finite numbers, shape ``(n_samples,)`` (or
    ``(n_samples, 1)``) for one output, ``(n_samples, outputs)`` for more.

    Labels must be integers ``0..n_classes−1`` (integer-valued floats are accepted);
    ``n_classes=None`` means binary, labels 0 and 1. Errors name the problem: a non-2-D ``X``,
    a feature count that does not match the network, NaN or infinite values, a length
    mismatch, labels outside the allowed range (listed).

    >>> X, y = check_xy([[0.0, 1.0], [2.0, 3.0]], [1.0, 2.0], n_classes=3)
    >>> y.tolist()
    [1, 2]
    """
    k = 2 if n_classes is None or outputs is not None else check_int("n_classes", n_classes, 2)
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
    check_finite_array(X_arr, "X")
    y_given: NDArray[Any] = np.asarray(y)
    if outputs is not None:
        return X_arr, check_targets(y_given, X_arr.shape[0], outputs)
    y_arr = is_label_vector(y_given, X_arr.shape[0])
    if y_arr is None:
        raise ValueError(
            f"y must hold one label per sample: X has {X_arr.shape[0]} samples, "
            f"y has shape {flat_labels(y_given).shape}"
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

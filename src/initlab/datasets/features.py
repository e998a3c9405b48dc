"""Input features computed from the raw inputs, as TensorFlow Playground offers them.

A feature is named after the raw inputs ``x1, x2, …`` (1-based, the columns of ``X``):

=============  ==========================  =========================
name           value                       also accepted
=============  ==========================  =========================
``x1``         x₁
``x1^2``       x₁²                         ``x1²``, ``x1**2``
``x1*x2``      x₁·x₂                       ``x1x2``
``sin(x1)``    sin x₁                      ``sin x1``, ``sin_x1``
=============  ==========================  =========================

:func:`expand` maps raw inputs ``(n, d)`` to the chosen features ``(n, k)``, one column per
name in the order given; :func:`with_features` does it to a :class:`Dataset`'s train and test
sets, so the network's input size is the number of features. The raw inputs stay what the
playground draws over: it expands each grid point the same way. A run's features are part of
its configuration (:class:`initlab.experiments.config.RunConfig`, a spec's ``[data]
features``), so an exported spec reproduces the run.

>>> import numpy as np
>>> expand(np.array([[2.0, 3.0]]), ["x1", "x2^2", "x1x2"]).tolist()
[[2.0, 9.0, 6.0]]
>>> canonical("sin x2"), canonical("x1²")
('sin(x2)', 'x1^2')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .base import Dataset

PLAYGROUND_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
"""TensorFlow Playground's seven features of a 2-D input, in its order."""

MAX_FEATURES = 64
"""The most features one run may compute (each is one column of the input)."""

_PATTERNS = (
    (re.compile(r"^x(\d+)$"), "x{0}"),
    (re.compile(r"^x(\d+)(?:\^2|²|\*\*2)$"), "x{0}^2"),
    (re.compile(r"^x(\d+)\*?x(\d+)$"), "x{0}*x{1}"),
    (re.compile(r"^sin(?:\(x(\d+)\)|\s*_?x(\d+))$"), "sin(x{0})"),
)


def _parse(name: object) -> tuple[str, tuple[int, ...]]:
    """The canonical name of a feature and the (1-based) inputs it reads."""
    if not isinstance(name, str):
        raise ValueError(f"A feature is a name such as 'x1^2'. Received: {name!r}")
    text = name.strip().lower()
    for pattern, template in _PATTERNS:
        match = pattern.match(text)
        if match:
            inputs = tuple(int(g) for g in match.groups() if g is not None)
            if any(i < 1 for i in inputs):
                break
            return template.format(*inputs), inputs
    raise ValueError(
        f"Unknown feature {name!r}: give x<i>, x<i>^2, x<i>*x<j> or sin(x<i>) of the inputs "
        f"x1, x2, … (TensorFlow Playground's: {', '.join(PLAYGROUND_FEATURES)})"
    )


def canonical(name: object) -> str:
    """The canonical spelling of a feature name (see the module's table)."""
    return _parse(name)[0]


def check_features(names: Sequence[object], n_inputs: int | None = None) -> tuple[str, ...]:
    """Canonical, distinct feature names, each reading inputs that exist (``n_inputs``)."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(
            f"Features are a list of names such as ['x1', 'x2^2']. Received: {names!r}"
        )
    if not names:
        raise ValueError("Give at least one feature, e.g. ['x1', 'x2']. Received: []")
    if len(names) > MAX_FEATURES:
        raise ValueError(f"At most {MAX_FEATURES} features. Received: {len(names)}")
    out: list[str] = []
    for name in names:
        feature, inputs = _parse(name)
        if n_inputs is not None and max(inputs) > n_inputs:
            raise ValueError(
                f"Feature {name!r} reads x{max(inputs)}, but the data has {n_inputs} input"
                f"{'s' if n_inputs != 1 else ''} (x1…x{n_inputs})"
            )
        if feature in out:
            raise ValueError(f"Feature {feature!r} is given twice in {list(names)!r}")
        out.append(feature)
    return tuple(out)


def expand(X: NDArray[np.floating], names: Sequence[object]) -> NDArray[np.float64]:
    """The features ``names`` of the raw inputs ``X`` ``(n, d)``: ``(n, len(names))``."""
    raw = np.asarray(X, dtype=np.float64)
    if raw.ndim != 2:
        raise ValueError(f"X must be 2-D, (n_samples, n_inputs). Received shape {raw.shape}")
    features = check_features(names, raw.shape[1])
    out = np.empty((raw.shape[0], len(features)))
    for column, feature in enumerate(features):
        _, inputs = _parse(feature)
        x = raw[:, inputs[0] - 1]
        if feature.startswith("sin"):
            out[:, column] = np.sin(x)
        elif feature.endswith("^2"):
            out[:, column] = x * x
        elif len(inputs) == 2:
            out[:, column] = x * raw[:, inputs[1] - 1]
        else:
            out[:, column] = x
    return out


def with_features(data: Dataset, names: Sequence[object]) -> Dataset:
    """``data`` with its inputs replaced by the features ``names`` (train and test)."""
    return dataclasses.replace(
        data, X_train=expand(data.X_train, names), X_test=expand(data.X_test, names)
    )

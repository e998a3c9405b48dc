"""The mean-field theory on finite but extreme input: it answers inf (or 0) and says why in
``Prediction.notes``, never raises ``OverflowError`` and never gives NaN.

Before, ``theory.predict_from_data`` raised ``OverflowError`` from a scheme's moments
(``std**2`` with std = 1e308) and NumPy's overflow warning from the data's mean square; a
web request with such a scale answered HTTP 500.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from initlab import theory
from initlab.network import MLP

X = np.array([[1.0, 1.0], [3.0, -1.0]])

BEYOND_FLOAT64 = {
    "random-scale": {"name": "random", "scale": 1e308},
    "normal-std": {"name": "normal", "std": 1e200},
    "constant-value": {"name": "constant", "value": 1e308},
    "uniform-bounds": {"name": "uniform", "a": -1e308, "b": 1e308},
    "orthogonal-gain": {"name": "orthogonal", "gain": 1e308},
    "truncated-stddev": {"name": "truncated_normal", "stddev": 1e308},
    "xavier-gain": {"name": "xavier_normal", "gain": 1e308},
    "sparse-std": {"name": "sparse", "sparsity": 0.1, "std": 1e308},
}
"""Schemes whose E[W²] is beyond float64 (> 1.8e308) although every argument is finite."""


def strict_json(prediction: theory.Prediction) -> dict[str, object]:
    return json.loads(json.dumps(prediction.to_dict(), allow_nan=False))  # type: ignore[no-any-return]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("name", list(BEYOND_FLOAT64))
def test_moments_beyond_float64_give_inf_with_a_note(name: str, activation: str) -> None:
    mlp = MLP([2, 4, 3, 1], activation=activation)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NumPy overflow on the way
        warnings.simplefilter("ignore", theory.TheoryWarning)  # constants: a known caveat
        p = theory.predict_from_data(mlp, BEYOND_FLOAT64[name], X)
    assert math.isinf(p.sigma_w2[0])
    assert np.isinf(p.q).all()  # the signal before every layer is positive
    assert not np.isnan(p.chi1).any()  # inf·0 is never NaN: χ is inf, or 0 where tanh saturates
    assert p.notes[0].startswith("layer 1: σ_w² of ")
    assert "exceeds the float64 range" in p.notes[0]
    assert strict_json(p)["notes"] == list(p.notes)


def test_zero_input_keeps_zero_q_even_with_infinite_weights() -> None:
    p = theory.predict_from_data(MLP([2, 4, 1]), BEYOND_FLOAT64["random-scale"], np.zeros((3, 2)))
    assert list(p.q) == [0.0, 0.0]  # σ_w²·0 + σ_b² with σ_b² = 0, not inf·0 = NaN
    assert p.notes


@pytest.mark.parametrize("scale", [1e155, 1e200, 1e307])
def test_data_whose_mean_square_overflows(scale: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = theory.predict_from_data(MLP([2, 4, 1]), "he", X * scale)
    assert p.q0 == theory.FLOAT_MAX
    assert np.isinf(p.q).all()
    assert p.notes[0].startswith("q0, the mean square of X, exceeds the float64 range")


def test_a_signal_that_explodes_by_depth_says_where() -> None:
    p = theory.predict_from_data(MLP([2, 4, 4, 4, 1]), {"name": "random", "scale": 1e100}, X)
    assert math.isfinite(p.q[0])
    assert math.isinf(p.q[1])
    assert p.notes == (
        "q2 exceeds the float64 range (> 1.8e+308): the signal explodes by layer 2, and every "
        "later q is inf",
    )


def test_an_exact_prediction_has_no_notes() -> None:
    p = theory.predict_from_data(MLP([2, 10, 5, 1]), "he", X)
    assert p.notes == ()
    assert strict_json(p)["notes"] == []


def test_bias_beyond_float64() -> None:
    p = theory.predict(MLP([2, 4, 1]), "he", bias_init={"name": "constant", "value": 1e308})
    assert np.isinf(p.sigma_b2).all()
    assert np.isinf(p.q).all()
    assert p.notes[0].startswith("layer 1: σ_b² of 'constant'")

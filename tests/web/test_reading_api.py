"""The server's side of reading the page (issue 15): the rounding-noise level sent with each
layer's mean of Z², and the spec exported before any training.

The noise level is (1e-12)² times the mean square of the network's training inputs
(:data:`initlab.web.frames.NOISE_RELATIVE`), checked against the data set itself; the zeros
run's output pre-activation after training is a bias at ~1e-16, its mean square under that
level, while every one of He's is many orders above it.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from initlab import datasets
from initlab.experiments import parse_spec
from initlab.web.frames import NOISE_RELATIVE, noise_floor
from tests.web.test_api import HE_ZEROS, create, make_client, step


def test_noise_floor_is_a_fixed_fraction_of_the_inputs_second_moment():
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 3.0, size=(200, 2))
    assert NOISE_RELATIVE == 1e-12
    assert noise_floor(X) == pytest.approx(1e-24 * float(np.sum(X**2)) / X.size, rel=1e-12)
    # The level scales with the data's units squared: data ×10, level ×100.
    assert noise_floor(10 * X) == pytest.approx(100 * noise_floor(X), rel=1e-12)
    assert noise_floor(np.zeros((0, 2))) == 0.0
    assert noise_floor(np.zeros((5, 2))) == 0.0


def test_each_layer_carries_the_noise_level_and_zeros_output_is_under_it():
    data = datasets.circles(seed="notebook")
    expected = 1e-24 * float(np.mean(data.X_train**2))
    with make_client() as client:
        sid = create(client, HE_ZEROS)["session"]
        he, zeros = step(client, sid, 2000)["runs"]
    for run in (he, zeros):
        for layer in run["layers"]:
            assert layer["q_noise"] == pytest.approx(expected, rel=1e-12)
    out = zeros["layers"][-1]
    # A bias that updates of ±½ drove to ~1e-16: nonzero, but rounding noise.
    assert 0 < out["q_measured"] <= out["q_noise"]
    assert all(layer["q_measured"] == 0 for layer in zeros["layers"][:-1])
    for layer in he["layers"]:
        for key in ("q_measured", "q_initial", "q_predicted"):
            assert layer[key] > 1e20 * layer["q_noise"], (layer["layer"], key)


def test_export_before_training_has_the_sessions_iterations():
    with make_client(max_iterations=700) as client:
        sid = create(client, {"inits": [{"name": "he"}]})["session"]
        text = client.get(f"/api/sessions/{sid}/export/spec").text
        assert "before training" in text
        spec = parse_spec(tomllib.loads(text))
        assert [run.iterations for run in spec.runs()] == [700]
        step(client, sid, 30)
        text = client.get(f"/api/sessions/{sid}/export/spec").text
        assert "at iteration 30" in text
        assert [run.iterations for run in parse_spec(tomllib.loads(text)).runs()] == [30]

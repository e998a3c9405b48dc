"""What the engine tests of regression and L1 share: their data, the spy on the lanes engine
and how two runs are compared (to a tolerance, or bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

import initlab.engine.lanes as lanes


def regression_data(outputs, n=150, seed=0):
    """``n`` rows of 3 features and targets tanh(X·w) + noise: ``(n,)`` or ``(n, outputs)``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.tanh(X @ rng.normal(size=(3, outputs))) + 0.05 * rng.normal(size=(n, outputs))
    return X, (y[:, 0] if outputs == 1 else y)


def spy_on_lanes(monkeypatch):
    """The model counts of the batches the lanes engine trains, as it trains them."""
    calls = []
    real = lanes.train_lanes

    def spy(mlp, theta, *args):
        calls.append(theta.shape[0])
        return real(mlp, theta, *args)

    monkeypatch.setattr(lanes, "train_lanes", spy)
    return calls


def assert_params_close(actual, expected, rtol, atol=0.0):
    """Each layer's W and b within ``rtol`` of the layer's largest |entry| (plus ``atol``)."""
    for got, want in zip(actual, expected, strict=True):
        scale = max(float(np.max(np.abs(want.W))), float(np.max(np.abs(want.b))), 1e-300)
        np.testing.assert_allclose(got.W, want.W, rtol=0, atol=rtol * scale + atol)
        np.testing.assert_allclose(got.b, want.b, rtol=0, atol=rtol * scale + atol)


def assert_same_run(result, reference, rtol, atol=0.0):
    """Same status and iterations; costs within ``rtol``, parameters as
    :func:`assert_params_close`."""
    assert (result.status, result.diverged_at, result.iterations_run) == (
        reference.status, reference.diverged_at, reference.iterations_run
    )  # fmt: skip
    assert result.history.iterations == reference.history.iterations
    np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=rtol, atol=0)
    assert_params_close(result.params, reference.params, rtol, atol)
    assert result.final_cost == pytest.approx(reference.final_cost, rel=rtol, abs=0)


def assert_identical(a, b):
    """Same parameters, history, status and final cost, bit for bit."""
    for got, want in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)
    assert a.history.iterations == b.history.iterations
    np.testing.assert_array_equal(a.history.costs, b.history.costs)
    assert (a.status, a.diverged_at, a.iterations_run) == (b.status, b.diverged_at,
                                                           b.iterations_run)  # fmt: skip
    assert a.final_cost == b.final_cost

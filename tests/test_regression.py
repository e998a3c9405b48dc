"""The regression head (``MLP(..., output="identity")``): loss, exact gradients, validation,
R², and training through the reference loop and the engines."""

from __future__ import annotations

import numpy as np
import pytest

from initlab import MLP, init_params, train
from initlab.engine import train_batch
from initlab.losses import Head
from initlab.network import accuracy, gradients, loss, predict, r2


def _data(outputs: int = 1, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    w = rng.normal(size=(3, outputs))
    y = np.tanh(X @ w) + 0.05 * rng.normal(size=(n, outputs))
    return X, (y[:, 0] if outputs == 1 else y)


@pytest.mark.parametrize("outputs", [1, 2])
def test_loss_is_half_the_mean_squared_error_summed_over_outputs(outputs: int) -> None:
    X, y = _data(outputs)
    mlp = MLP([3, 8, outputs], "tanh", output="identity")
    params = init_params(mlp, np.random.default_rng(1), "he")
    yhat = predict(mlp, params, X).reshape(len(X), -1)
    expected = 0.5 * np.mean(np.sum((yhat - y.reshape(len(X), -1)) ** 2, axis=1))
    assert loss(mlp, params, X, y) == pytest.approx(expected, rel=1e-14)
    # and with L2 the course's (λ/2m)·Σ‖W‖² is added
    l2 = 0.3
    penalty = l2 / (2 * len(X)) * sum(float(np.sum(p.W**2)) for p in params)
    assert loss(mlp, params, X, y, l2) == pytest.approx(expected + penalty, rel=1e-14)


@pytest.mark.parametrize("outputs", [1, 3])
def test_gradients_match_central_differences(outputs: int) -> None:
    X, y = _data(outputs, n=40)
    mlp = MLP([3, 6, 5, outputs], "tanh", output="identity")
    params = init_params(mlp, np.random.default_rng(2), "glorot_normal")
    grads = gradients(mlp, params, X, y, l2=0.1)
    eps = 1e-6
    for layer, grad in zip(params, grads):
        for array, g in ((layer.W, grad.W), (layer.b, grad.b)):
            for index in [(0, 0), (array.shape[0] - 1, array.shape[1] - 1)]:
                old = array[index]
                array[index] = old + eps
                up = loss(mlp, params, X, y, 0.1)
                array[index] = old - eps
                down = loss(mlp, params, X, y, 0.1)
                array[index] = old
                # central differences: error O(eps²) + rounding O(1e-16 / eps) ≈ 1e-10
                assert g[index] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


def test_r2_matches_scikit_learn() -> None:
    from sklearn.metrics import r2_score

    X, y = _data(2)
    mlp = MLP([3, 8, 2], "relu", output="identity")
    params = init_params(mlp, np.random.default_rng(3), "he")
    assert r2(mlp, params, X, y) == pytest.approx(r2_score(y, predict(mlp, params, X)), rel=1e-12)


def test_head_and_targets_are_validated() -> None:
    with pytest.raises(ValueError, match=r"must be one of .*'identity'.*Received: 'linear'"):
        MLP([2, 1], output="linear")
    with pytest.raises(ValueError, match="sigmoid head has one output unit; got 3"):
        Head(3, "sigmoid")
    mlp = MLP([3, 4, 2], output="identity")
    X, y = _data(1)
    with pytest.raises(ValueError, match=r"2 targets per sample, shape \(120, 2\).*\(120,\)"):
        mlp.check_data(X, y)
    bad = np.column_stack([y, y])
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"y contains 1 NaN or infinite value.*row 5, column 1"):
        mlp.check_data(X, bad)
    # a column vector is one target per sample
    _, targets = MLP([3, 1], output="identity").check_data(X, y.reshape(-1, 1))
    assert targets.shape == (120,)
    params = init_params(mlp, np.random.default_rng(0), "he")
    with pytest.raises(ValueError, match="accuracy is for classifiers"):
        accuracy(mlp, params, X, np.c_[y, y])


def test_training_fits_and_the_numpy_engine_matches_the_reference() -> None:
    X, y = _data(1)
    mlp = MLP([3, 16, 1], "tanh", output="identity")
    params = init_params(mlp, np.random.default_rng(4), "glorot_uniform")
    reference = train(mlp, params, X, y, iterations=1500, learning_rate=0.05, record_every=100)
    assert reference.history.costs[-1] < 0.1 * reference.history.costs[0]
    assert r2(mlp, reference.params, X, y) > 0.95
    (batched,) = train_batch(mlp, [params], X, y, iterations=1500, learning_rate=0.05,
                             record_every=100, engine="numpy")  # fmt: skip
    # the same arithmetic in a stacked layout: BLAS may block the sums differently
    np.testing.assert_allclose(batched.history.costs, reference.history.costs, rtol=1e-10)


def test_a_diverging_regression_is_reported_not_nan() -> None:
    X, y = _data(1)
    mlp = MLP([3, 16, 1], "relu", output="identity")
    params = init_params(mlp, np.random.default_rng(5), "he")
    result = train(mlp, params, X, 1e3 * y, iterations=500, learning_rate=5.0)
    assert result.diverged
    assert result.diverged_at is not None
    assert result.diverged_at < 500

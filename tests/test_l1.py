"""L1 regularisation: the penalty (λ₁/m)·Σ|W| and its gradient (λ₁/m)·sign(W), in the
reference loop, the engines and sweep specs."""

from __future__ import annotations

import tomllib
import warnings

import numpy as np
import pytest

from initlab import MLP, circles, init_params, train
from initlab.engine import EngineFallbackWarning, train_batch
from initlab.experiments import parse_spec
from initlab.experiments.config import RunConfig, to_toml
from initlab.network import gradients, loss
from initlab.settings import TrainSettings


def _setup(output: str | None = None):
    data = circles()
    mlp = MLP([2, 6, 4, 1], "tanh", output=output)
    params = init_params(mlp, np.random.default_rng(0), "he")
    y = data.y_train if output is None else data.X_train[:, 0] * data.X_train[:, 1]
    return mlp, params, data.X_train, y


@pytest.mark.parametrize("output", [None, "identity"])
def test_the_penalty_is_l1_over_m_times_the_absolute_weights(output: str | None) -> None:
    mlp, params, X, y = _setup(output)
    m, l1, l2 = X.shape[0], 0.7, 0.3
    plain = loss(mlp, params, X, y)
    weights = sum(float(np.abs(p.W).sum()) for p in params)
    squares = sum(float((p.W**2).sum()) for p in params)
    assert loss(mlp, params, X, y, l1=l1) == pytest.approx(plain + l1 / m * weights, rel=1e-14)
    assert loss(mlp, params, X, y, l2, l1) == pytest.approx(
        plain + l1 / m * weights + l2 / (2 * m) * squares, rel=1e-14
    )


def test_the_gradient_is_the_central_difference_away_from_zero_weights() -> None:
    mlp, params, X, y = _setup()
    grads = gradients(mlp, params, X, y, 0.2, 0.9)
    eps = 1e-6  # |W| ≫ eps for the entries checked, so |W| is smooth there
    for layer, grad in zip(params, grads, strict=True):
        for index in [(0, 0), (layer.W.shape[0] - 1, layer.W.shape[1] - 1)]:
            assert abs(layer.W[index]) > 1e-3
            old = layer.W[index]
            layer.W[index] = old + eps
            up = loss(mlp, params, X, y, 0.2, 0.9)
            layer.W[index] = old - eps
            down = loss(mlp, params, X, y, 0.2, 0.9)
            layer.W[index] = old
            assert grad.W[index] == pytest.approx((up - down) / (2 * eps), abs=1e-8)
    # biases are not penalised; a zero weight gets the subgradient 0
    zero = [layer.copy() for layer in params]
    zero[0].W[0, 0] = 0.0
    with_l1 = gradients(mlp, zero, X, y, l1=5.0)
    without = gradients(mlp, zero, X, y)
    assert with_l1[0].W[0, 0] == without[0].W[0, 0]
    for a, b in zip(with_l1, without, strict=True):
        np.testing.assert_array_equal(a.b, b.b)


def test_l1_drives_weights_to_zero_and_every_engine_agrees() -> None:
    mlp, params, X, y = _setup()
    settings = TrainSettings(learning_rate=0.1, l1=3.0, record_every=100)
    plain = train(mlp, params, X, y, iterations=2000, learning_rate=0.1, record_every=100)
    sparse = train(mlp, params, X, y, iterations=2000, settings=settings)
    small = sum(int((np.abs(p.W) < 0.02).sum()) for p in sparse.params)
    assert small > sum(int((np.abs(p.W) < 0.02).sum()) for p in plain.params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)  # the compiled engine trains L1
        (auto,) = train_batch(mlp, [params], X, y, iterations=2000, settings=settings)
    (numpy,) = train_batch(mlp, [params], X, y, iterations=2000, settings=settings, engine="numpy")
    # the same formulas; the sums are blocked differently (BLAS, SIMD): rounding only
    for other in (auto, numpy):
        np.testing.assert_allclose(other.history.costs, sparse.history.costs, rtol=1e-10)
        assert other.final_cost == pytest.approx(sparse.final_cost, rel=1e-10)


def test_l1_is_a_train_axis_of_a_spec_and_round_trips() -> None:
    spec = parse_spec(tomllib.loads("""
[sweep]
iterations = 100
[data]
dataset = "circles"
[model]
depth = 1
width = 4
[train]
l1 = [0.0, 0.5]
"""))  # fmt: skip
    runs = spec.runs()
    assert [r.settings.l1 for r in runs] == [0.0, 0.5]
    assert "l1" not in runs[0].to_dict()  # keys of runs without L1 are unchanged
    assert runs[1].to_dict()["l1"] == 0.5
    assert RunConfig.from_row(runs[1].to_dict()) == runs[1]
    assert parse_spec(tomllib.loads(to_toml([runs[1]]))).runs() == [runs[1]]
    with pytest.raises(ValueError, match=r"l1.*finite float ≥ 0.*-1"):
        TrainSettings(l1=-1.0)

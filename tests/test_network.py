"""Forward/backward pass: shapes, layout and a finite-difference gradient check."""

import numpy as np
import pytest

from initlab import MLP, init_params
from initlab.network import Layer, forward, gradients, loss, predict, predict_proba


def _problem(sizes, seed=0, m=17):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, sizes[0]))
    y = rng.integers(0, 2, size=m)
    return X, y


def _numerical_gradients(mlp, params, X, y, h=1e-6):
    """Central differences of the loss, one parameter at a time."""
    grads = []
    for layer in params:
        g = []
        for array in (layer.W, layer.b):
            d = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                old = array[idx]
                array[idx] = old + h
                up = loss(mlp, params, X, y)
                array[idx] = old - h
                down = loss(mlp, params, X, y)
                array[idx] = old
                d[idx] = (up - down) / (2 * h)
            g.append(d)
        grads.append(Layer(*g))
    return grads


@pytest.mark.parametrize(
    ("sizes", "activation"),
    [
        ([2, 10, 5, 1], "relu"),
        ([2, 1], "relu"),
        ([3, 4, 1], "tanh"),
        ([4, 6, 6, 6, 1], "sigmoid"),
        ([2, 3, 3, 1], "linear"),
        ([5, 8, 3, 7, 2, 1], ("relu", "tanh", "sigmoid", "linear")),
    ],
)
def test_backward_matches_finite_differences(sizes, activation):
    mlp = MLP(sizes, activation)
    X, y = _problem(sizes)
    params = init_params(mlp, np.random.default_rng(1), {"name": "normal", "std": 0.7})
    for layer in params:  # non-zero biases, so their gradients are exercised too
        layer.b += np.random.default_rng(2).normal(scale=0.1, size=layer.b.shape)
    analytic = gradients(mlp, params, X, y)
    numeric = _numerical_gradients(mlp, params, X, y)
    for a, n in zip(analytic, numeric, strict=True):
        # Central differences with h=1e-6 have truncation error O(h²)·|f‴| and rounding
        # error O(ε/h) ≈ 1e-10; 1e-7 absolute leaves room for both, far below a real bug.
        np.testing.assert_allclose(a.W, n.W, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a.b, n.b, rtol=1e-6, atol=1e-7)


def test_layout_and_shapes():
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    assert [layer.W.shape for layer in params] == [(10, 2), (5, 10), (1, 5)]
    assert [layer.b.shape for layer in params] == [(10, 1), (5, 1), (1, 1)]
    X, y = _problem([2], m=9)
    cache = forward(mlp, params, X)
    assert [z.shape for z in cache.Z] == [(10, 9), (5, 9), (1, 9)]
    assert predict_proba(mlp, params, X).shape == (9,)
    assert set(predict(mlp, params, X)) <= {0, 1}
    grads = gradients(mlp, params, X, y)
    assert [g.W.shape for g in grads] == [(10, 2), (5, 10), (1, 5)]


def test_loss_is_finite_for_saturated_outputs():
    mlp = MLP([1, 1])
    params = [Layer(np.array([[1000.0]]), np.zeros((1, 1)))]
    X, y = np.array([[1.0], [-1.0]]), np.array([0, 1])
    # Both examples are confidently wrong: z = ±1000, so the loss is 1000 each.
    assert loss(mlp, params, X, y) == pytest.approx(1000.0, rel=1e-12)


def test_predict_thresholds_at_one_half():
    mlp = MLP([1, 1])
    params = [Layer(np.array([[1.0]]), np.zeros((1, 1)))]
    X = np.array([[-1e-3], [0.0], [1e-3]])
    assert predict(mlp, params, X).tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    ("sizes", "activation", "match"),
    [
        ([2], "relu", "at least an input and an output"),
        ([2, 0, 1], "relu", "positive integers"),
        ([2, 3, 2], "relu", "1 unit"),
        ([2, 3, 1], "swish", "Unknown activation 'swish'. Known activations: linear, relu"),
        ([2, 3, 3, 1], ("relu",), "1 activations for 2 hidden layers"),
    ],
)
def test_bad_architecture_is_rejected_with_the_value(sizes, activation, match):
    with pytest.raises(ValueError, match=match):
        MLP(sizes, activation)

"""Forward/backward pass: shapes, layout and a finite-difference gradient check."""

import numpy as np
import pytest

from initlab import MLP, init_params
from initlab.activations import ACTIVATIONS
from initlab.network import (
    Layer,
    backward_columns,
    cost_columns,
    forward,
    forward_columns,
    gradients,
    l2_penalty,
    loss,
    predict,
    predict_proba,
)


def _problem(sizes, seed=0, m=17):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, sizes[0]))
    y = rng.integers(0, max(2, sizes[-1]), size=m)
    return X, y


def _numerical_gradients(mlp, params, X, y, h=1e-6, l2=0.0):
    """Central differences of the loss, one parameter at a time."""
    grads = []
    for layer in params:
        g = []
        for array in (layer.W, layer.b):
            d = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                old = array[idx]
                array[idx] = old + h
                up = loss(mlp, params, X, y, l2)
                array[idx] = old - h
                down = loss(mlp, params, X, y, l2)
                array[idx] = old
                d[idx] = (up - down) / (2 * h)
            g.append(d)
        grads.append(Layer(*g))
    return grads


ALL_ACTIVATIONS = sorted(ACTIVATIONS.names())


@pytest.mark.parametrize(
    ("sizes", "activation", "l2"),
    [
        ([2, 10, 5, 1], "relu", 0.0),
        ([2, 1], "relu", 0.0),
        *[([3, 4, 4, 1], name, 0.0) for name in ALL_ACTIVATIONS],
        *[([3, 5, 4, 3], name, 0.0) for name in ALL_ACTIVATIONS],  # softmax head
        ([2, 6, 2], "tanh", 0.0),  # a two-unit softmax
        ([4, 6, 6, 1], "tanh", 0.3),  # L2, binary
        ([4, 6, 6, 3], "gelu", 0.7),  # L2, softmax
        ([3, 6, 6, 6, 6, 6, 6, 6, 1], "tanh", 0.0),  # depth 8
        ([5, 8, 3, 7, 2, 1], ("relu", "tanh", "sigmoid", "linear"), 0.0),
    ],
)
def test_backward_matches_finite_differences(sizes, activation, l2):
    mlp = MLP(sizes, activation)
    X, y = _problem(sizes)
    params = init_params(mlp, np.random.default_rng(1), {"name": "normal", "std": 0.7})
    for layer in params:  # non-zero biases, so their gradients are exercised too
        layer.b += np.random.default_rng(2).normal(scale=0.1, size=layer.b.shape)
    analytic = gradients(mlp, params, X, y, l2)
    numeric = _numerical_gradients(mlp, params, X, y, l2=l2)
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
        ([2, 3, 1], "swish", "Unknown activation 'swish'. Known activations: elu, gelu, .*relu"),
        ([2, 3, 3, 1], ("relu",), "1 activations for 2 hidden layers"),
    ],
)
def test_bad_architecture_is_rejected_with_the_value(sizes, activation, match):
    with pytest.raises(ValueError, match=match):
        MLP(sizes, activation)


def test_softmax_head_shapes_and_loss():
    mlp = MLP([2, 4, 3])
    assert mlp.output == "softmax"
    assert mlp.n_classes == 3
    params = init_params(mlp, np.random.default_rng(0), "he")
    X, y = _problem([2, 4, 3], m=11)
    P = predict_proba(mlp, params, X)
    assert P.shape == (11, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    assert np.array_equal(predict(mlp, params, X), P.argmax(axis=1))
    # Cross-entropy is −mean log p_y.
    expected = -np.mean(np.log(P[np.arange(11), y]))
    assert loss(mlp, params, X, y) == pytest.approx(expected, rel=1e-12)


def test_softmax_loss_is_finite_when_saturated():
    mlp = MLP([1, 2])
    params = [Layer(np.array([[800.0], [-800.0]]), np.zeros((2, 1)))]
    X, y = np.array([[1.0]]), np.array([1])
    assert loss(mlp, params, X, y) == pytest.approx(1600.0, rel=1e-12)


def test_l2_penalty_follows_the_course_convention():
    mlp = MLP([2, 3, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    X, y = _problem([2, 3, 1], m=10)
    sum_sq = sum(float((layer.W**2).sum()) for layer in params)
    extra = loss(mlp, params, X, y, l2=0.5) - loss(mlp, params, X, y)
    assert extra == pytest.approx(0.5 / (2 * 10) * sum_sq, rel=1e-12)


def test_l2_penalty_of_one_float32_model_adds_up_in_float64():
    # As it always has: each layer's Σ W² as a Python float, summed in float64 (the engines'
    # final cost of a float32 run goes through it); a stack adds up in its own dtype.
    params = [
        Layer(layer.W.astype(np.float32), layer.b.astype(np.float32))
        for layer in init_params(MLP([2, 10, 5, 1]), np.random.default_rng(0), "he")
    ]
    want = 0.7 / (2 * 300) * sum(float(np.sum(layer.W * layer.W)) for layer in params)
    assert l2_penalty(params, 0.7, 300) == want


def _stacked(models):
    """``M`` models' parameters as one stack: ``W[l]`` of shape ``(M, n_out, n_in)``."""
    return [
        Layer(np.stack([p[k].W for p in models]), np.stack([p[k].b for p in models]))
        for k in range(len(models[0]))
    ]


@pytest.mark.parametrize(
    ("sizes", "activation", "l2"),
    [([2, 10, 5, 1], "relu", 0.0), ([3, 6, 5, 4], "tanh", 0.4), ([4, 7, 1], "gelu", 0.3)],
)
@pytest.mark.parametrize("shared_input", [True, False])
def test_a_stack_of_models_computes_what_each_model_does_bit_for_bit(
    sizes, activation, l2, shared_input
):
    # The column functions are written once: a stack of M models along a leading axis gives,
    # model by model, exactly the single-model arithmetic (the batched engine relies on it).
    mlp, M = MLP(sizes, activation), 5
    X, y = _problem(sizes, m=23)
    Y = mlp.head.encode(y)
    models = [init_params(mlp, np.random.default_rng(s), "he") for s in range(M)]
    rng = np.random.default_rng(9)
    inputs = [X.T] * M if shared_input else [rng.normal(size=X.T.shape) for _ in range(M)]
    stack = _stacked(models)
    cache = forward_columns(mlp, stack, X.T if shared_input else np.stack(inputs))
    cost = cost_columns(mlp, stack, cache.logits, Y, l2)
    grads = backward_columns(mlp, stack, cache, Y, l2)
    assert cost.shape == (M,)
    assert [g.W.shape for g in grads] == [(M, *shape) for shape in mlp.weight_shapes()]
    for i, (params, A0) in enumerate(zip(models, inputs)):
        one = forward_columns(mlp, params, A0)
        for got, want in zip(cache.Z + cache.A[1:], one.Z + one.A[1:], strict=True):
            assert np.array_equal(got[i], want)
        assert cost[i] == mlp.head.loss(one.logits, Y) + l2_penalty(params, l2, Y.shape[1])
        assert float(cost_columns(mlp, params, one.logits, Y, l2)) == cost[i]
        for got, want in zip(grads, backward_columns(mlp, params, one, Y, l2), strict=True):
            assert np.array_equal(got.W[i], want.W)
            assert np.array_equal(got.b[i], want.b)

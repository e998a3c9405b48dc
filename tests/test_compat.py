"""The drop-in replacement for the course's ``init_utils``: layout, arithmetic, side effects."""

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import sklearn.datasets

from initlab import MLP, Layer, circles, network
from initlab.compat import init_utils as iu
from tests import notebook_facts as nb


@pytest.fixture(autouse=True)
def _isolate_global_state():
    """The compat module seeds NumPy's global RNG and draws on pyplot's current figure:
    restore the one and close the other, so no test leaks into the next."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)
    plt.close("all")


def random_parameters(rng, layer_sizes):
    return {
        key: value
        for k, (n_in, n_out) in enumerate(itertools.pairwise(layer_sizes), start=1)
        for key, value in (
            (f"W{k}", rng.standard_normal((n_out, n_in))),
            (f"b{k}", rng.standard_normal((n_out, 1))),
        )
    }


# --- activations ---------------------------------------------------------------------------


def test_sigmoid_and_relu_match_the_course_formulas():
    x = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(iu.sigmoid(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_array_equal(iu.relu(x), np.maximum(0, x))
    assert iu.sigmoid(0.0) == 0.5


# --- forward pass --------------------------------------------------------------------------


def test_forward_propagation_shapes_and_cache_layout():
    rng = np.random.default_rng(0)
    params = random_parameters(rng, [2, 10, 5, 1])
    X = rng.standard_normal((2, 7))

    a3, cache = iu.forward_propagation(X, params)

    assert a3.shape == (1, 7)
    assert len(cache) == 12
    z1, a1, W1, b1, z2, a2, W2, b2, z3, a3_cached, W3, b3 = cache
    assert (W1, b1, W2, b2, W3, b3) == tuple(
        params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")
    )
    assert [z1.shape, a1.shape, z2.shape, a2.shape, z3.shape] == [
        (10, 7),
        (10, 7),
        (5, 7),
        (5, 7),
        (1, 7),
    ]
    assert a3_cached is a3
    np.testing.assert_array_equal(z1, W1 @ X + b1)
    np.testing.assert_array_equal(a1, np.maximum(0, z1))
    np.testing.assert_array_equal(z2, W2 @ a1 + b2)
    np.testing.assert_array_equal(a2, np.maximum(0, z2))
    np.testing.assert_array_equal(z3, W3 @ a2 + b3)
    np.testing.assert_array_equal(a3, 1 / (1 + np.exp(-z3)))


# --- loss ----------------------------------------------------------------------------------


def test_compute_loss_is_mean_cross_entropy():
    a3 = np.array([[0.9, 0.2, 0.6, 0.3]])
    Y = np.array([[1, 0, 0, 1]])
    expected = -np.mean(Y * np.log(a3) + (1 - Y) * np.log(1 - a3))
    assert iu.compute_loss(a3, Y) == pytest.approx(expected, rel=1e-15)


def test_compute_loss_is_inf_for_a_saturated_wrong_output_with_the_original_warnings():
    # Example 1 is saturated and wrong (a3 = 1, y = 0): -log(1 - 1) = inf. Example 2 is
    # saturated and right (a3 = 0, y = 0): its unused term is inf * 0 = nan, which nansum drops.
    a3 = np.array([[1.0, 0.0, 0.5]])
    Y = np.array([[0, 0, 1]])
    with pytest.warns(RuntimeWarning) as record:
        loss = iu.compute_loss(a3, Y)
    assert loss == math.inf
    assert {str(w.message) for w in record} == {
        "divide by zero encountered in log",
        "invalid value encountered in multiply",
    }


def test_compute_loss_nansum_drops_saturated_right_outputs():
    a3 = np.array([[0.0, 0.5]])
    Y = np.array([[0, 1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = iu.compute_loss(a3, Y)
    assert loss == pytest.approx(math.log(2) / 2, rel=1e-15)


# --- backward pass -------------------------------------------------------------------------


@pytest.mark.parametrize("layer_sizes", [[2, 10, 5, 1], [4, 3, 6, 1]])
def test_backward_propagation_agrees_with_core_gradients(layer_sizes):
    rng = np.random.default_rng(1)
    m = 13
    params = random_parameters(rng, layer_sizes)
    X = rng.standard_normal((layer_sizes[0], m))
    Y = rng.integers(0, 2, size=(1, m))

    _, cache = iu.forward_propagation(X, params)
    grads = iu.backward_propagation(X, Y, cache)

    mlp = MLP(layer_sizes)
    layers = [Layer(params[f"W{k}"], params[f"b{k}"]) for k in (1, 2, 3)]
    core = network.gradients(mlp, layers, X.T, Y.reshape(-1))
    for k, g in enumerate(core, start=1):
        np.testing.assert_allclose(grads[f"dW{k}"], g.W, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(grads[f"db{k}"], g.b, rtol=1e-12, atol=1e-15)


def test_backward_propagation_keys_shapes_and_intermediates():
    rng = np.random.default_rng(2)
    params = random_parameters(rng, [2, 10, 5, 1])
    X = rng.standard_normal((2, 6))
    Y = rng.integers(0, 2, size=(1, 6))
    a3, cache = iu.forward_propagation(X, params)

    grads = iu.backward_propagation(X, Y, cache)

    assert list(grads) == [
        "dz3",
        "dW3",
        "db3",
        "da2",
        "dz2",
        "dW2",
        "db2",
        "da1",
        "dz1",
        "dW1",
        "db1",
    ]
    for key in ("W1", "b1", "W2", "b2", "W3", "b3"):
        assert grads["d" + key].shape == params[key].shape
    a1, a2 = cache[1], cache[5]
    np.testing.assert_array_equal(grads["dz3"], 1.0 / 6 * (a3 - Y))
    np.testing.assert_array_equal(grads["da2"], params["W3"].T @ grads["dz3"])
    np.testing.assert_array_equal(grads["dz2"], np.multiply(grads["da2"], np.int64(a2 > 0)))
    np.testing.assert_array_equal(grads["da1"], params["W2"].T @ grads["dz2"])
    np.testing.assert_array_equal(grads["dz1"], np.multiply(grads["da1"], np.int64(a1 > 0)))


# --- update --------------------------------------------------------------------------------


def test_update_parameters_handles_any_depth_and_updates_in_place():
    rng = np.random.default_rng(3)
    params = random_parameters(rng, [3, 4, 4, 2, 1])
    before = {k: v.copy() for k, v in params.items()}
    grads = {"d" + k: rng.standard_normal(v.shape) for k, v in params.items()}

    result = iu.update_parameters(params, grads, 0.1)

    assert result is params
    assert sorted(result) == sorted(before)
    for key, value in before.items():
        np.testing.assert_array_equal(result[key], value - 0.1 * grads["d" + key])


# --- prediction ----------------------------------------------------------------------------


def constant_output_parameters(bias):
    """A network whose output is σ(bias) for every input."""
    return {
        "W1": np.ones((3, 2)),
        "b1": np.zeros((3, 1)),
        "W2": np.ones((2, 3)),
        "b2": np.zeros((2, 1)),
        "W3": np.zeros((1, 2)),
        "b3": np.full((1, 1), bias),
    }


def test_predict_prints_accuracy_and_returns_int_labels(capsys):
    X = np.zeros((2, 3))
    y = np.array([[1, 1, 0]])

    p = iu.predict(X, y, constant_output_parameters(5.0))

    assert capsys.readouterr().out == "Accuracy: 0.6666666666666666\n"
    assert p.shape == (1, 3)
    assert p.dtype == np.int64
    np.testing.assert_array_equal(p, [[1, 1, 1]])


def test_predict_thresholds_strictly_at_one_half(capsys):
    p = iu.predict(np.zeros((2, 2)), np.array([[0, 1]]), constant_output_parameters(0.0))
    np.testing.assert_array_equal(p, [[0, 0]])
    assert capsys.readouterr().out == "Accuracy: 0.5\n"


def test_predict_dec_is_boolean_and_agrees_with_predict(capsys):
    rng = np.random.default_rng(4)
    params = random_parameters(rng, [2, 10, 5, 1])
    X = rng.standard_normal((2, 50))
    dec = iu.predict_dec(params, X)
    assert dec.dtype == np.bool_
    assert dec.shape == (1, 50)
    np.testing.assert_array_equal(dec, iu.predict(X, np.zeros((1, 50), dtype=int), params))


# --- data ----------------------------------------------------------------------------------


def legacy_load_dataset():
    """The original helper's recipe, global seeding and all."""
    np.random.seed(1)
    train_X, train_Y = sklearn.datasets.make_circles(n_samples=300, noise=0.05)
    np.random.seed(2)
    test_X, test_Y = sklearn.datasets.make_circles(n_samples=100, noise=0.05)
    return train_X.T, train_Y.reshape((1, -1)), test_X.T, test_Y.reshape((1, -1))


def test_load_dataset_equals_the_legacy_recipe_and_leaves_the_same_global_state():
    expected = legacy_load_dataset()
    expected_state = np.random.get_state()
    np.random.seed(12345)  # load_dataset must not depend on the state it finds

    got = iu.load_dataset()

    assert [a.shape for a in got] == [(2, 300), (1, 300), (2, 100), (1, 100)]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    state = np.random.get_state()
    np.testing.assert_array_equal(state[1], expected_state[1])
    assert state[2:] == expected_state[2:]


def test_load_dataset_equals_core_circles_transposed():
    train_X, train_Y, test_X, test_Y = iu.load_dataset()
    data = circles()
    np.testing.assert_array_equal(train_X, data.X_train.T)
    np.testing.assert_array_equal(train_Y, data.y_train.reshape(1, -1))
    np.testing.assert_array_equal(test_X, data.X_test.T)
    np.testing.assert_array_equal(test_Y, data.y_test.reshape(1, -1))


def test_load_dataset_scatter_plots_the_training_set():
    train_X, _, _, _ = iu.load_dataset()
    (points,) = plt.gca().collections
    np.testing.assert_array_equal(points.get_offsets(), train_X.T)


# --- decision boundary ---------------------------------------------------------------------


def test_plot_decision_boundary_grid_contours_scatter_and_show(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    rng = np.random.default_rng(5)
    params = random_parameters(rng, [2, 10, 5, 1])
    X = rng.uniform(-1, 1, size=(2, 20))
    y = rng.integers(0, 2, size=(1, 20))
    grids = []

    def model(grid):
        grids.append(grid)
        return iu.predict_dec(params, grid.T)

    iu.plot_decision_boundary(model, X, y)

    assert shown == [True]
    (grid,) = grids
    assert grid.shape[1] == 2
    np.testing.assert_allclose(grid.min(axis=0), X.min(axis=1) - 1)
    assert np.all(grid.max(axis=0) < X.max(axis=1) + 1)
    np.testing.assert_allclose(np.diff(np.unique(grid[:, 0])), 0.01, rtol=1e-6)
    ax = plt.gca()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    _contours, points = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), X.T)
    np.testing.assert_array_equal(points.get_array(), y.ravel())


# --- the notebook's training loop ----------------------------------------------------------


def initialize_parameters_he(layers_dims):
    """The notebook's graded function, as written there."""
    np.random.seed(3)
    parameters = {}
    for k in range(1, len(layers_dims)):
        fan_in = layers_dims[k - 1]
        parameters[f"W{k}"] = np.random.randn(layers_dims[k], fan_in) * math.sqrt(2.0 / fan_in)
        parameters[f"b{k}"] = np.zeros((layers_dims[k], 1))
    return parameters


def notebook_model(X, Y, learning_rate=0.01, num_iterations=15000):
    """The notebook's ``model()``: full-batch gradient descent, cost kept every 1000 steps."""
    costs = []
    parameters = initialize_parameters_he([X.shape[0], 10, 5, 1])
    for i in range(num_iterations):
        a3, cache = iu.forward_propagation(X, parameters)
        cost = iu.compute_loss(a3, Y)
        grads = iu.backward_propagation(X, Y, cache)
        parameters = iu.update_parameters(parameters, grads, learning_rate)
        if i % 1000 == 0:
            costs.append(cost)
    return parameters, costs


@pytest.mark.slow
def test_he_training_loop_reproduces_the_notebook(capsys):
    train_X, train_Y, test_X, test_Y = iu.load_dataset()

    parameters, costs = notebook_model(train_X, train_Y)

    # 1e-9 relative: the He run is not chaotic; only ulp-level rounding inside exp and BLAS
    # can differ from the machine that ran the notebook.
    np.testing.assert_allclose(costs, nb.HE_COSTS, rtol=1e-9, atol=0)
    capsys.readouterr()
    iu.predict(train_X, train_Y, parameters)
    iu.predict(test_X, test_Y, parameters)
    train_acc, test_acc = nb.ACCURACY["he"]
    assert capsys.readouterr().out == f"Accuracy: {train_acc}\nAccuracy: {test_acc}\n"

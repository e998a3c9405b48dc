"""LSUV (Mishkin & Matas, ICLR 2016): unit-variance pre-activations, layer by layer."""

import math

import numpy as np
import pytest

from initlab import initializers as I
from initlab.initializers import init_params, lsuv
from initlab.initializers.lsuv import LSUV, LSUVWarning
from initlab.network import MLP, forward

DEEP = [2] + [64] * 10 + [1]


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).standard_normal((300, 2)) * [3.0, 0.2]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("tol", [0.1, 1e-6])
def test_every_layers_preactivations_have_unit_std(X, activation, tol):
    mlp = MLP(DEEP, activation)
    params = init_params(mlp, np.random.default_rng(1), {"name": "lsuv", "tol": tol}, X=X)
    Z = forward(mlp, params, X).Z  # the network's own forward pass
    assert len(Z) == 11
    for z in Z:
        assert abs(z.std() - 1) < tol
    for layer in params:
        assert not layer.b.any()
        assert layer.b.shape == (layer.W.shape[0], 1)


def test_weights_are_rescaled_orthonormal_matrices(X):
    mlp = MLP(DEEP, "relu")
    params = init_params(mlp, np.random.default_rng(1), "lsuv", X=X)
    for layer in params[1:-1]:  # square 64 × 64 hidden layers: W Wᵀ = c²·I
        gram = layer.W @ layer.W.T
        c2 = gram[0, 0]
        np.testing.assert_allclose(gram, c2 * np.eye(64), rtol=0, atol=1e-10 * c2)


def test_deterministic_under_a_seed(X):
    mlp = MLP(DEEP, "tanh")
    a = init_params(mlp, np.random.default_rng(5), "lsuv", X=X)
    b = init_params(mlp, np.random.default_rng(5), "lsuv", X=X)
    c = init_params(mlp, np.random.default_rng(6), "lsuv", X=X)
    for la, lb in zip(a, b):
        np.testing.assert_array_equal(la.W, lb.W)
    assert not np.array_equal(a[0].W, c[0].W)


def test_registry_and_config():
    assert I.get("lsuv") == LSUV()
    assert isinstance(I.get("lsuv"), I.DataDependentInitializer)
    init = I.get({"name": "lsuv", "tol": 0.05, "max_iter": 3, "base": {"name": "orthogonal"}})
    assert init == LSUV(0.05, 3, {"name": "orthogonal"})
    assert I.get_config(LSUV()) == {
        "name": "lsuv",
        "tol": 0.1,
        "max_iter": 10,
        "base": "orthogonal",
    }
    assert I.get(I.get_config(init)) == init


def test_another_base_initializer(X):
    mlp = MLP([2, 32, 32, 1], "relu")
    params = init_params(mlp, np.random.default_rng(1), LSUV(base="he_uniform"), X=X)
    for z in forward(mlp, params, X).Z:
        assert abs(z.std() - 1) < 0.1


def test_dead_relus_warn_and_are_left_alone():
    # All-negative first-layer weights on positive inputs: layer 1's ReLUs never fire, so
    # layer 2 onward sees zeros and has pre-activation std 0.
    X = np.random.default_rng(0).uniform(1, 2, size=(50, 2))
    mlp = MLP([2, 8, 8, 1], "relu")
    init = LSUV(base={"name": "constant", "value": -1.0})
    with pytest.warns(LSUVWarning, match=r"std 0 .* in layer\(s\) 2 \(std=0.0\), 3 \(std=0.0\)"):
        params = init_params(mlp, np.random.default_rng(0), init, X=X)
    assert abs(forward(mlp, params, X).Z[0].std() - 1) < 0.1  # layer 1 is still scaled
    for layer in params[1:]:
        np.testing.assert_array_equal(layer.W, -1.0)  # unscaled: never divided by 0


def test_unconverged_layers_warn(X, monkeypatch):
    # With zero biases one rescaling is exact up to rounding, so LSUV always converges on a
    # real network; a measured std that ignores the rescaling exercises the max_iter stop.
    monkeypatch.setattr(lsuv, "_preactivation_std", lambda layer, A: 2.0)
    mlp = MLP([2, 4, 1], "tanh")
    with pytest.warns(
        LSUVWarning, match=r"after max_iter=3 rescalings in layer\(s\) 1 \(std=2.0\), 2 \(std=2.0\)"
    ):
        params = init_params(mlp, np.random.default_rng(1), LSUV(max_iter=3), X=X)
    base = init_params(mlp, np.random.default_rng(1), "orthogonal", X=X)
    for layer, start in zip(params, base):
        np.testing.assert_allclose(layer.W, start.W / 8, rtol=1e-15)  # three halvings


def test_missing_batch_is_an_error():
    with pytest.raises(ValueError, match=r"'lsuv' is data-dependent: pass a batch of inputs X"):
        init_params(MLP([2, 4, 1]), np.random.default_rng(0), "lsuv")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: LSUV(tol=0), r"`tol` must be a positive float. Received: tol=0"),
        (lambda: LSUV(tol=-1.0), r"Received: tol=-1.0"),
        (lambda: LSUV(tol=math.nan), r"Received: tol=nan"),
        (lambda: LSUV(max_iter=0), r"`max_iter` must be an integer ≥ 1. Received: max_iter=0"),
        (lambda: LSUV(max_iter=2.5), r"Received: max_iter=2.5"),
        (lambda: LSUV(base="lsuv"), r"`base` must be an initializer of \(rng, shape\).*Received: base='lsuv'"),
        (lambda: LSUV(base="orthogonl"), r"Unknown initializer 'orthogonl'. Known initializers: "),
        (lambda: LSUV(base=I.Orthogonal()), r"`base` must be an initializer name or config"),
        (lambda: I.get({"name": "lsuv", "tol": -1}), r"Received: tol=-1"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(10), r"2-D batch X of shape \(n_samples, 2\). Received: X with shape \(10,\)"),
        (np.zeros((10, 3)), r"has 3 features but the network's input layer has 2"),
        (np.zeros((1, 2)), r"at least 2 samples .* Received: X with shape \(1, 2\)"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]]), r"must be finite. Received: X\[1, 0\]=nan"),
    ],
)
def test_bad_batches_are_errors(X, match):
    with pytest.raises(ValueError, match=match):
        init_params(MLP([2, 4, 1]), np.random.default_rng(0), "lsuv", X=X)

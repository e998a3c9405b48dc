"""Optimizers and mini-batch training."""

import numpy as np
import pytest

from initlab import MLP, circles, init_params, optim, train
from initlab.network import Layer
from initlab.train import minibatches


def _one_param(value):
    return [Layer(np.array([[value]]), np.array([[0.0]]))]


def _grad(value):
    return [Layer(np.array([[value]]), np.array([[0.0]]))]


def test_momentum_matches_hand_computed_updates():
    opt = optim.Momentum(beta=0.5)
    params = _one_param(1.0)
    state = opt.init(params)
    opt.step(params, _grad(2.0), state, 0.1)  # v = 2, w = 1 − 0.2
    opt.step(params, _grad(2.0), state, 0.1)  # v = 3, w = 0.8 − 0.3
    assert params[0].W[0, 0] == pytest.approx(0.5, abs=1e-15)


def test_nesterov_momentum():
    opt = optim.Momentum(beta=0.5, nesterov=True)
    params = _one_param(1.0)
    state = opt.init(params)
    opt.step(params, _grad(2.0), state, 0.1)  # v = 2, step = g + βv = 3
    assert params[0].W[0, 0] == pytest.approx(0.7, abs=1e-15)


def test_adam_first_step_moves_by_learning_rate():
    # With bias correction, Adam's first step is lr·g/(|g| + ε) ≈ lr·sign(g).
    opt = optim.Adam()
    params = _one_param(1.0)
    state = opt.init(params)
    opt.step(params, _grad(-3.0), state, 0.01)
    assert params[0].W[0, 0] == pytest.approx(1.01, abs=1e-9)
    opt.step(params, _grad(-3.0), state, 0.01)
    assert params[0].W[0, 0] == pytest.approx(1.02, abs=1e-9)
    assert state.t == 2


def test_minibatches_cover_each_epoch_once():
    gen = minibatches(10, 4, np.random.default_rng(0))
    epoch = [next(gen) for _ in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2]
    assert sorted(np.concatenate(epoch).tolist()) == list(range(10))


@pytest.mark.parametrize(
    ("optimizer", "lr", "batch_size"),
    [("gd", 0.5, None), ("sgd", 0.1, 32), ("momentum", 0.05, 32), ("adam", 0.01, 64)],
)
def test_every_optimizer_learns_circles(optimizer, lr, batch_size):
    data = circles()
    mlp = MLP([2, 16, 16, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=lr, iterations=1500,
                   optimizer=optimizer, batch_size=batch_size, record_every=500)  # fmt: skip
    assert result.status == "completed"
    assert result.history.iterations == [0, 500, 1000]
    assert result.accuracy(data.X_train, data.y_train) > 0.9


def test_minibatch_training_is_deterministic_under_a_seed():
    data = circles()
    mlp = MLP([2, 8, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    kwargs = {"learning_rate": 0.1, "iterations": 50, "batch_size": 16, "optimizer": "sgd"}
    a = train(mlp, params, data.X_train, data.y_train, seed=1, **kwargs)
    b = train(mlp, params, data.X_train, data.y_train, seed=1, **kwargs)
    c = train(mlp, params, data.X_train, data.y_train, seed=2, **kwargs)
    np.testing.assert_array_equal(a.params[0].W, b.params[0].W)
    assert not np.array_equal(a.params[0].W, c.params[0].W)


def test_l2_shrinks_weights():
    data = circles()
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    plain = train(mlp, params, data.X_train, data.y_train, learning_rate=0.1, iterations=500)
    decayed = train(mlp, params, data.X_train, data.y_train, learning_rate=0.1, iterations=500,
                    l2=5.0)  # fmt: skip
    norm = lambda r: sum(float((layer.W**2).sum()) for layer in r.params)  # noqa: E731
    assert norm(decayed) < norm(plain)


def test_config_round_trip_and_errors():
    for name in optim.OPTIMIZERS.names():
        opt = optim.get(name)
        assert optim.get(optim.get_config(opt)) == opt
    assert optim.get({"name": "adam", "beta1": 0.8}) == optim.Adam(beta1=0.8)
    with pytest.raises(
        ValueError, match=r"Unknown optimizer 'rmsprop'. Known optimizers: adam, gd, momentum"
    ):
        optim.get("rmsprop")
    with pytest.raises(ValueError, match=r"`beta` must be in \[0, 1\). Received: beta=1.5"):
        optim.Momentum(beta=1.5)
    with pytest.raises(ValueError, match=r"Bad arguments for optimizer 'gd'"):
        optim.get({"name": "gd", "beta": 0.9})
    data = circles()
    mlp = MLP([2, 3, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    with pytest.raises(ValueError, match=r"Received: batch_size=0"):
        train(mlp, params, data.X_train, data.y_train, batch_size=0)
    with pytest.raises(ValueError, match=r"Received: l2=-1"):
        train(mlp, params, data.X_train, data.y_train, l2=-1)

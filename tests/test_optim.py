"""Optimizers and mini-batch training."""

import re

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


def _random_params(rng, shapes):
    return [Layer(rng.normal(size=shape), rng.normal(size=(shape[0], 1))) for shape in shapes]


def _stacked(models):
    return [
        Layer(np.stack([p[k].W for p in models]), np.stack([p[k].b for p in models]))
        for k in range(len(models[0]))
    ]


@pytest.mark.parametrize(
    "opt",
    [
        optim.GradientDescent(),
        optim.Momentum(beta=0.8),
        optim.Momentum(nesterov=True),
        optim.Adam(),
    ],
)
def test_a_stacked_step_is_each_models_step_bit_for_bit(opt):
    # One update rule for one model or a stack of models with a learning rate per model
    # (shape (M, 1, 1)), as the batched engine steps them; take_models drops models mid-run.
    rng = np.random.default_rng(0)
    shapes, rates = [(4, 3), (2, 4), (1, 2)], [0.1, 0.03, 0.5]
    models = [_random_params(rng, shapes) for _ in rates]
    states = [opt.init(params) for params in models]
    stack = _stacked(models)
    stack_state = opt.init(stack)
    lr = np.array(rates).reshape(-1, 1, 1)
    for step in range(4):
        if step == 2:  # model 1 leaves the stack
            keep = np.array([True, False, True])
            stack = [Layer(layer.W[keep], layer.b[keep]) for layer in stack]
            stack_state, lr = optim.take_models(stack_state, keep), lr[keep]
            models, states, rates = models[::2], states[::2], rates[::2]
        grads = [_random_params(rng, shapes) for _ in models]
        for params, g, state, rate in zip(models, grads, states, rates):
            opt.step(params, g, state, rate)
        opt.step(stack, _stacked(grads), stack_state, lr)
    for i, params in enumerate(models):
        for got, want in zip(stack, params, strict=True):
            assert np.array_equal(got.W[i], want.W)
            assert np.array_equal(got.b[i], want.b)


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), float("inf"), True, "0.1", None])
def test_learning_rate_check_names_the_value(bad):
    with pytest.raises(
        ValueError,
        match=rf"Argument `learning_rate` must be a positive finite float\. "
        rf"Received: learning_rate={re.escape(repr(bad))}$",
    ):
        optim.check_learning_rate(bad)
    assert optim.check_learning_rate(2) == 2.0


@pytest.mark.parametrize(("name", "bad"), [("beta1", -0.1), ("beta2", 1.0), ("beta1", True)])
def test_beta_check_names_the_value(name, bad):
    with pytest.raises(ValueError, match=rf"`{name}` must be in \[0, 1\)\. Received: {name}="):
        optim.Adam(**{name: bad})
    with pytest.raises(ValueError, match=r"`eps` must be positive\. Received: eps=0"):
        optim.Adam(eps=0)


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

"""The resumable engine state: EngineTrainer continued in steps equals one call, bit for bit.

Bit for bit (``rtol=0``): ``run(a); run(b); run(c)`` against one ``run(a + b + c)``, against
``train_batch(..., engine="numba")`` of the same total, and an exported state continued by a
new object: the kernel's arithmetic does not depend on where a call starts. Against the
reference :func:`~initlab.train.train`, the tolerance of tests/test_engine.py: 1e-9 relative
on these well-conditioned runs (the compiled engine's sums are blocked differently from
BLAS; measured: ~1e-14). The steps (37, 100, 63 = 200 iterations) cross epochs of every
mini-batch case and stop mid-epoch; 300 examples by 64 or 50 (the last batch smaller).
"""

import importlib.util
import math
import warnings

import numpy as np
import pytest

from initlab import MLP, activations, circles, init_params, train
from initlab.datasets import load
from initlab.engine import EngineFallbackWarning, train_batch
from initlab.rng import notebook_init_rng, streams
from initlab.train import Trainer

if importlib.util.find_spec("numba") is None:  # pragma: no cover - Numba is a dependency
    pytest.skip("Numba is not installed (it is a dependency of initlab)", allow_module_level=True)

from initlab.engine.resumable import (
    EngineTrainer,
    resumable_trainer,
    run_with_snapshots,
)
from initlab.network import flatten_params, unflatten_params

DATA = circles()
SPIRAL = load("spiral")
STEPS = (37, 100, 63)

CASES = {
    "gd": (MLP([2, 10, 5, 1]), "he", {"learning_rate": 0.1}),
    "momentum": (MLP([2, 10, 5, 1]), "he", {"optimizer": "momentum"}),
    "nesterov": (
        MLP([2, 10, 5, 1], "tanh"),
        "glorot_normal",
        {"optimizer": {"name": "momentum", "beta": 0.8, "nesterov": True}},
    ),
    "adam + l2": (MLP([2, 10, 5, 1]), "he", {"optimizer": "adam", "l2": 0.1}),
    "l2": (MLP([2, 10, 5, 1]), "he", {"l2": 0.7, "learning_rate": 0.05}),
    "softmax": (MLP([2, 16, 8, 3], "tanh"), "glorot_normal", {"learning_rate": 0.1}),
    "mini-batch": (MLP([2, 10, 5, 1]), "he", {"batch_size": 64, "seed": 3, "learning_rate": 0.05}),
    "mini-batch adam": (
        MLP([2, 10, 5, 1], "tanh"),
        "glorot_normal",
        {"batch_size": 50, "optimizer": "adam", "seed": 5, "record_every": 7},
    ),
}


def case(name):
    mlp, init, kw = CASES[name]
    data = SPIRAL if mlp.n_classes > 2 else DATA
    return mlp, init_params(mlp, streams(1).init, init), data, {"record_every": 20, **kw}


def assert_identical(a, b):
    """Same parameters, history, status, iteration and final cost, bit for bit."""
    for got, want in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)
    assert a.history.iterations == b.history.iterations
    np.testing.assert_array_equal(a.history.costs, b.history.costs)
    assert (a.status, a.diverged_at, a.iterations_run) == (b.status, b.diverged_at,
                                                           b.iterations_run)  # fmt: skip
    np.testing.assert_array_equal(a.final_cost, b.final_cost)


@pytest.mark.parametrize("name", list(CASES))
def test_steps_equal_one_call_and_train_batch_bit_for_bit(name):
    mlp, params, data, kw = case(name)
    stepped = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    for n in STEPS:
        assert stepped.run(n) == "completed"
    once = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    once.run(sum(STEPS))
    (batch,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=sum(STEPS),
                           engine="numba", **kw)  # fmt: skip
    assert stepped.iteration == sum(STEPS)
    assert_identical(stepped.result(), once.result())
    assert_identical(stepped.result(), batch)


@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_the_reference_trainer(name):
    mlp, params, data, kw = case(name)
    engine = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    reference = Trainer(mlp, params, data.X_train, data.y_train, **kw)
    for n in STEPS:
        engine.run(n)
        reference.run(n)
        assert engine.iteration == reference.iteration
        # 1e-9 relative, as tests/test_engine.py (measured: ~1e-14 here).
        assert engine.cost() == pytest.approx(reference.cost(), rel=1e-9, abs=0)
    assert engine.history.iterations == reference.history.iterations
    np.testing.assert_allclose(engine.history.costs, reference.history.costs, rtol=1e-9, atol=0)
    for got, want in zip(engine.params, reference.params, strict=True):
        scale = float(np.max(np.abs(want.W)))
        np.testing.assert_allclose(got.W, want.W, rtol=0, atol=1e-9 * scale)
    got_cache, got_grads = engine.full_pass()
    want_cache, want_grads = reference.full_pass()
    np.testing.assert_allclose(got_cache.logits, want_cache.logits, rtol=1e-9, atol=1e-12)
    for got, want in zip(got_grads, want_grads, strict=True):
        scale = float(np.max(np.abs(want.W)))
        np.testing.assert_allclose(got.W, want.W, rtol=0, atol=1e-9 * scale)
    np.testing.assert_array_equal(engine.targets, reference.targets)


@pytest.mark.parametrize("name", ["momentum", "adam + l2", "mini-batch", "mini-batch adam"])
def test_an_exported_state_continues_in_a_new_object_bit_for_bit(name):
    mlp, params, data, kw = case(name)
    first = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    first.run(STEPS[0])
    state = first.export_state()
    assert state.iteration == STEPS[0]
    assert not state.theta.flags.writeable
    second = EngineTrainer(mlp, params, data.X_train, data.y_train, state=state, **kw)
    first.run(STEPS[1])
    second.run(STEPS[1])
    assert_identical(second.result(), first.result())
    # The state is a snapshot: training on did not change it, so it continues again.
    third = EngineTrainer(mlp, params, data.X_train, data.y_train, state=state, **kw)
    third.run(STEPS[1])
    assert_identical(third.result(), first.result())
    np.testing.assert_array_equal(third.result().initial_params[0].W, params[0].W)


def test_a_state_that_does_not_fit_is_refused():
    mlp, params, data, kw = case("adam + l2")
    state = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw).export_state()
    with pytest.raises(ValueError, match="velocity"):
        EngineTrainer(mlp, params, data.X_train, data.y_train, learning_rate=0.1, state=state)
    small = MLP([2, 4, 1])
    with pytest.raises(ValueError, match="theta"):
        EngineTrainer(small, init_params(small, streams(0).init, "he"), data.X_train,
                      data.y_train, optimizer="adam", l2=0.1, state=state)  # fmt: skip
    with pytest.raises(ValueError, match="batches"):
        EngineTrainer(mlp, params, data.X_train, data.y_train, optimizer="adam", l2=0.1,
                      batch_size=10, state=state)  # fmt: skip


@pytest.mark.parametrize("batch_size", [None, 64])
def test_divergence_mid_step_is_reported_at_trains_iteration(batch_size):
    # A linear network, ×10 init, learning rate 10: train() reports divergence at iteration 6
    # (full batch; see tests/test_engine.py); the steps of 4 put it in the second call.
    mlp = MLP([2, 10, 5, 1], "linear")
    params = init_params(mlp, notebook_init_rng(), "random")
    kw = {"learning_rate": 10.0, "record_every": 2, "batch_size": batch_size, "seed": 0}
    reference = train(mlp, params, DATA.X_train, DATA.y_train, iterations=40, **kw)
    stepped = EngineTrainer(mlp, params, DATA.X_train, DATA.y_train, **kw)
    statuses = [stepped.run(4) for _ in range(10)]
    assert reference.status == "diverged"
    assert stepped.diverged_at == reference.diverged_at
    assert statuses.index("diverged") == reference.diverged_at // 4
    assert stepped.iteration == reference.iterations_run
    assert stepped.history.iterations == reference.history.iterations
    assert np.isnan(stepped.history.costs[-1]) == np.isnan(reference.history.costs[-1])
    assert not math.isfinite(stepped.history.costs[-1])
    (batch,) = train_batch(mlp, [params], DATA.X_train, DATA.y_train, iterations=40,
                           engine="numba", **kw)  # fmt: skip
    assert_identical(stepped.result(40), batch)
    before = stepped.params[0].W.copy()
    assert stepped.run(10) == "diverged"  # a diverged run trains no more
    np.testing.assert_array_equal(stepped.params[0].W, before)


def test_float32_steps_equal_one_float32_call():
    mlp, params, data, kw = case("gd")
    stepped = EngineTrainer(mlp, params, data.X_train, data.y_train, dtype=np.float32, **kw)
    for n in STEPS:
        stepped.run(n)
    (batch,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=sum(STEPS),
                           engine="numba", dtype=np.float32, **kw)  # fmt: skip
    assert_identical(stepped.result(), batch)
    assert stepped.params[0].W.dtype == np.float64


@pytest.mark.parametrize("name", ["gd", "mini-batch adam"])
def test_snapshots_are_train_batchs_checkpoints(name):
    mlp, params, data, kw = case(name)
    stepped = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    snapshots = {}
    for n in STEPS:
        start = stepped.iteration
        stepped.run(n, snapshot_every=30)
        got = stepped.snapshots
        assert got.iterations == [*range(-(-start // 30) * 30, stepped.iteration, 30),
                                  stepped.iteration]  # fmt: skip
        snapshots.update(zip(got.iterations, got.flat))
    (batch,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=sum(STEPS),
                           engine="numba", checkpoint_every=30, **kw)  # fmt: skip
    assert batch.records is not None
    for iteration, expected in batch.records.snapshots.items():
        np.testing.assert_array_equal(snapshots[iteration], flatten_params(expected))


def test_run_with_snapshots_is_the_same_for_both_trainers():
    mlp, params, data, kw = case("l2")
    engine = EngineTrainer(mlp, params, data.X_train, data.y_train, **kw)
    reference = Trainer(mlp, params, data.X_train, data.y_train, **kw)
    for n in STEPS:
        a = run_with_snapshots(engine, n, 25)
        b = run_with_snapshots(reference, n, 25)
        assert a.iterations == b.iterations
        np.testing.assert_allclose(a.flat, b.flat, rtol=0, atol=1e-9 * np.max(np.abs(b.flat)))


def test_layers_are_views_of_flat_parameters_for_one_model_or_a_stack():
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, streams(0).init, "he")
    flat = flatten_params(params)
    assert flat.size == 10 * 3 + 5 * 11 + 1 * 6
    for got, want in zip(unflatten_params(mlp, flat), params, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)
    stack = unflatten_params(mlp, np.stack([flat, 2 * flat]))
    assert stack[1].W.shape == (2, 5, 10)
    np.testing.assert_array_equal(stack[1].W[1], 2 * params[1].W)


# --- choosing the engine ------------------------------------------------------------------


def test_auto_uses_the_engine_where_it_covers_the_run():
    mlp, params, data, kw = case("gd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer = resumable_trainer(mlp, params, data.X_train, data.y_train, **kw)
    assert isinstance(trainer, EngineTrainer)
    reference = resumable_trainer(mlp, params, data.X_train, data.y_train, engine="reference",
                                  **kw)  # fmt: skip
    assert type(reference) is Trainer


@pytest.fixture
def custom_activation():
    act = activations.Activation("softsign", lambda z: z / (1 + np.abs(z)),
                                 lambda z, a: 1 / (1 + np.abs(z)) ** 2)  # fmt: skip
    activations.ACTIVATIONS.register("softsign", act, "z / (1 + |z|)")
    yield "softsign"
    activations.ACTIVATIONS.unregister("softsign")


def test_auto_falls_back_to_the_reference_for_a_custom_activation(custom_activation):
    mlp = MLP([2, 4, 1], custom_activation)
    params = init_params(mlp, streams(0).init, "glorot_normal")
    with pytest.warns(EngineFallbackWarning, match="does not cover the activation 'softsign'"):
        trainer = resumable_trainer(mlp, params, DATA.X_train, DATA.y_train)
    assert type(trainer) is Trainer
    assert trainer.run(5) == "completed"
    with pytest.raises(ValueError, match="does not cover the activation 'softsign'"):
        resumable_trainer(mlp, params, DATA.X_train, DATA.y_train, engine="numba")
    with pytest.raises(ValueError, match="does not cover"):
        EngineTrainer(mlp, params, DATA.X_train, DATA.y_train)


def test_auto_falls_back_to_the_reference_for_a_custom_optimizer():
    class HalfStep:
        """Gradient descent with half the learning rate."""

        name = "half"

        def init(self, params):
            return None

        def step(self, params, grads, state, learning_rate):
            for layer, grad in zip(params, grads):
                layer.W -= 0.5 * learning_rate * grad.W
                layer.b -= 0.5 * learning_rate * grad.b

    mlp = MLP([2, 4, 1])
    params = init_params(mlp, streams(0).init, "he")
    with pytest.warns(EngineFallbackWarning, match="does not cover the optimizer"):
        trainer = resumable_trainer(mlp, params, DATA.X_train, DATA.y_train,
                                    optimizer=HalfStep())  # fmt: skip
    assert type(trainer) is Trainer


def test_an_unknown_engine_is_refused_with_the_choices():
    mlp, params, data, kw = case("gd")
    with pytest.raises(ValueError, match=r"\['auto', 'numba', 'reference'\]. Received: 'gpu'"):
        resumable_trainer(mlp, params, data.X_train, data.y_train, engine="gpu", **kw)

"""Training loop: history, immutability, divergence and input validation."""

import math

import numpy as np
import pytest

from initlab import MLP, circles, compare, init_params, train
from initlab.rng import notebook_init_rng


@pytest.fixture
def data():
    return circles()


def _he(mlp):
    return init_params(mlp, notebook_init_rng(), "he")


def test_history_records_every_n_iterations_and_params_are_not_mutated(data):
    mlp = MLP([2, 10, 5, 1])
    params = _he(mlp)
    before = [layer.W.copy() for layer in params]
    result = train(mlp, params, data.X_train, data.y_train, iterations=250, record_every=100)
    assert result.history.iterations == [0, 100, 200]
    assert result.iterations_run == 250
    assert result.status == "completed"
    for layer, W in zip(params, before, strict=True):
        np.testing.assert_array_equal(layer.W, W)
    np.testing.assert_array_equal(result.initial_params[0].W, before[0])
    assert not np.array_equal(result.params[0].W, before[0])
    assert result.final_cost < result.history.costs[0]


def test_divergence_is_reported_not_raised(data):
    # A linear network with ×10 weights and learning rate 10 overflows within a few steps.
    # (With ReLU the same setting kills every unit instead: the cost stays finite.)
    mlp = MLP([2, 10, 5, 1], "linear")
    params = init_params(mlp, notebook_init_rng(), "random")
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=10, iterations=1000)
    assert result.status == "diverged"
    assert result.diverged
    assert 0 < result.diverged_at < 20
    assert result.iterations_run == result.diverged_at
    assert not math.isfinite(result.history.costs[-1])
    assert result.history.iterations[-1] == result.diverged_at


def test_diverged_run_in_comparison_is_labelled(data):
    run = compare(["random"], activation="linear", learning_rate=10, iterations=100).runs[0]
    assert run.result.status == "diverged"
    assert run.why.startswith("diverged")
    assert math.isnan(run.train_accuracy)


def test_comparison_to_dict_is_json_safe():
    import json

    c = compare(["he", "random"], activation="linear", learning_rate=10, iterations=50)
    text = json.dumps(c.to_dict(), allow_nan=False)
    out = json.loads(text)
    assert [r["init"] for r in out["runs"]] == ["he", "random"]
    assert out["runs"][1]["status"] == "diverged"
    assert out["runs"][1]["checkpoints"]["costs"][-1] is None


def test_integer_seed_uses_same_stream_for_every_init():
    c = compare(["he", {"name": "variance_scaling", "scale": 2.0, "distribution": "untruncated_normal"}],
                seed=7, iterations=10)  # fmt: skip
    a, b = (run.result.initial_params for run in c.runs)
    for la, lb in zip(a, b, strict=True):
        np.testing.assert_array_equal(la.W, lb.W)
    c2 = compare(["he"], seed=8, iterations=10)
    assert not np.array_equal(c2.runs[0].result.initial_params[0].W, a[0].W)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": 0}, r"learning_rate.*Received: learning_rate=0"),
        ({"learning_rate": -0.1}, r"Received: learning_rate=-0.1"),
        ({"learning_rate": float("nan")}, r"learning_rate=nan"),
        ({"iterations": 0}, r"iterations.*positive integer.*Received: iterations=0"),
        ({"iterations": 2.5}, r"Received: iterations=2.5"),
        ({"record_every": -1}, r"Received: record_every=-1"),
    ],
)
def test_bad_training_arguments(data, kwargs, match):
    mlp = MLP([2, 3, 1])
    with pytest.raises(ValueError, match=match):
        train(mlp, _he(mlp), data.X_train, data.y_train, **kwargs)


def test_layer_sizes_must_match_data(data):
    mlp = MLP([3, 4, 1])
    with pytest.raises(ValueError, match=r"X has 2 features per sample but .* input layer has 3"):
        train(mlp, _he(mlp), data.X_train, data.y_train)
    with pytest.raises(ValueError, match=r"layer_sizes\[0\]=3 but dataset 'circles' has 2"):
        compare(["he"], layer_sizes=[3, 4, 1])


def test_non_binary_labels(data):
    mlp = MLP([2, 3, 1])
    y = data.y_train.copy()
    y[4] = 2
    with pytest.raises(ValueError, match=r"binary, labels 0 and 1 only. Received labels \[2\]"):
        train(mlp, _he(mlp), data.X_train, y)


def test_nan_in_data(data):
    mlp = MLP([2, 3, 1])
    X = data.X_train.copy()
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite.*row 7, column 1"):
        train(mlp, _he(mlp), X, data.y_train)


def test_unknown_initializer_lists_known_names():
    with pytest.raises(ValueError, match=r"Unknown initializer 'hee'. Known initializers: .*he"):
        compare(["he", "hee"], iterations=1)
    with pytest.raises(ValueError, match="at least one initializer"):
        compare([])


def test_bad_seed():
    with pytest.raises(ValueError, match=r"Received: seed=-1"):
        compare(["he"], seed=-1, iterations=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"optimizer": "adam", "batch_size": 64, "learning_rate": 0.01},
        {"optimizer": {"name": "momentum", "beta": 0.9, "nesterov": True}, "l2": 0.1},
    ],
)
def test_trainer_in_steps_equals_one_train_call(data, kwargs):
    """Trainer.run(a); run(b); … is train(iterations=a + b + …), bit for bit (the playground
    steps its runs this way), mini-batch order and optimizer state included."""
    from initlab.diagnostics import Recorder
    from initlab.train import Trainer

    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, np.random.default_rng(1), "he")
    reference = train(mlp, params, data.X_train, data.y_train, iterations=250, record_every=50,
                      recorder=Recorder(every=100), **kwargs)  # fmt: skip
    trainer = Trainer(mlp, params, data.X_train, data.y_train, record_every=50,
                      recorder=Recorder(every=100), **kwargs)  # fmt: skip
    for n in (1, 99, 7, 143):
        trainer.run(n)
    result = trainer.result()
    assert trainer.iteration == result.iterations_run == 250
    for a, b in zip(result.params, reference.params):
        np.testing.assert_array_equal(a.W, b.W)
        np.testing.assert_array_equal(a.b, b.b)
    assert result.history == reference.history
    assert result.final_cost == reference.final_cost
    assert result.records.rows == reference.records.rows


def test_trainer_stops_at_divergence(data):
    from initlab.train import Trainer

    mlp = MLP([2, 10, 10, 1], activation="linear")
    params = init_params(mlp, np.random.default_rng(0), {"name": "random", "scale": 10})
    trainer = Trainer(mlp, params, data.X_train, data.y_train, learning_rate=10.0)
    assert trainer.run(100) == "diverged"
    at = trainer.diverged_at
    assert at is not None
    assert trainer.iteration == at
    assert trainer.run(100) == "diverged"
    assert trainer.iteration == at
    assert not math.isfinite(trainer.result().final_cost)


# --- settings=TrainSettings(...) or keywords -------------------------------------------------

SETTINGS_CASES = [
    {},
    {"learning_rate": 0.05, "optimizer": "adam", "batch_size": 64, "seed": 3, "record_every": 25},
    {"optimizer": {"name": "momentum", "beta": 0.9, "nesterov": True}, "l2": 0.1},
]


@pytest.mark.parametrize("kwargs", SETTINGS_CASES)
def test_settings_object_equals_the_keywords_bit_for_bit(data, kwargs):
    from initlab.settings import TrainSettings
    from initlab.train import Trainer

    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, np.random.default_rng(2), "he")
    by_keywords = train(mlp, params, data.X_train, data.y_train, iterations=120, **kwargs)
    settings = TrainSettings(**kwargs)
    by_settings = train(mlp, params, data.X_train, data.y_train, iterations=120,
                        settings=settings)  # fmt: skip
    trainer = Trainer(mlp, params, data.X_train, data.y_train, settings=settings)
    trainer.run(120)
    for result in (by_settings, trainer.result()):
        for a, b in zip(result.params, by_keywords.params, strict=True):
            np.testing.assert_array_equal(a.W, b.W)
            np.testing.assert_array_equal(a.b, b.b)
        assert result.history == by_keywords.history
        assert result.final_cost == by_keywords.final_cost
        assert result.learning_rate == by_keywords.learning_rate
    assert trainer.settings == settings
    assert Trainer(mlp, params, data.X_train, data.y_train, **kwargs).settings == settings


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"learning_rate": 0.1}, "learning_rate=0.1"),
        ({"batch_size": None}, "batch_size=None"),
        ({"seed": 4, "l2": 0.5}, "seed=4, l2=0.5"),
    ],
)
def test_settings_and_keywords_together_is_an_error_naming_them(data, kwargs, named):
    from initlab.settings import TrainSettings
    from initlab.train import Trainer

    mlp = MLP([2, 3, 1])
    match = rf"settings=TrainSettings\(\.\.\.\) or as keywords, not both: got {named}$"
    with pytest.raises(ValueError, match=match):
        train(mlp, _he(mlp), data.X_train, data.y_train, settings=TrainSettings(), **kwargs)
    with pytest.raises(ValueError, match=match):
        Trainer(mlp, _he(mlp), data.X_train, data.y_train, settings=TrainSettings(), **kwargs)


def test_settings_must_be_train_settings_and_keywords_known(data):
    mlp = MLP([2, 3, 1])
    with pytest.raises(ValueError, match=r"`settings` must be a TrainSettings or None"):
        train(mlp, _he(mlp), data.X_train, data.y_train, settings={"learning_rate": 0.1})
    with pytest.raises(TypeError, match=r"'learnin_rate'.*learning_rate, optimizer"):
        train(mlp, _he(mlp), data.X_train, data.y_train, learnin_rate=0.1)


def test_check_helpers_stay_importable_from_train():
    from initlab import settings
    from initlab.train import check_iterations, check_l2

    assert check_iterations is settings.check_iterations
    assert check_l2 is settings.check_l2


# --- BLAS threads ----------------------------------------------------------------------------


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


class _ThreadSpy:
    """Gradient descent that notes the BLAS thread counts at every step."""

    name = "gd"

    def __init__(self):
        self.seen = []

    def init(self, params):
        return None

    def step(self, params, grads, state, learning_rate):
        self.seen.append(_blas_threads())
        for layer, grad in zip(params, grads):
            layer.W -= learning_rate * grad.W
            layer.b -= learning_rate * grad.b


def test_training_runs_on_one_blas_thread_and_gives_the_threads_back(data):
    from threadpoolctl import threadpool_limits

    from initlab.train import Trainer

    mlp = MLP([2, 10, 5, 1])
    spy = _ThreadSpy()
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        trainer = Trainer(mlp, _he(mlp), data.X_train, data.y_train, optimizer=spy)
        trainer.run(3)
        assert spy.seen == [[1] * len(before)] * 3
        assert _blas_threads() == before
        # Runs stepped from several threads at once (the playground's) share the limit; the
        # last to finish gives the threads back.
        import threading

        trainers = [Trainer(mlp, _he(mlp), data.X_train, data.y_train) for _ in range(3)]
        threads = [threading.Thread(target=t.run, args=(200,)) for t in trainers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [t.iteration for t in trainers] == [200] * 3
        assert _blas_threads() == before


@pytest.mark.slow
def test_one_blas_thread_changes_no_number_of_the_notebook_run(monkeypatch):
    """The notebook's three runs by the reference loop are the same bit for bit with BLAS free
    to use two threads (its matrices, 10 × 300 at most, are computed the same way either way)."""
    import contextlib
    import sys

    from threadpoolctl import threadpool_limits

    limited = compare(engine="reference")
    monkeypatch.setattr(sys.modules["initlab.train"], "one_blas_thread", contextlib.nullcontext)
    with threadpool_limits(limits=2, user_api="blas"):
        free = compare(engine="reference")
    for a, b in zip(limited.runs, free.runs, strict=True):
        assert a.result.history == b.result.history
        for la, lb in zip(a.result.params, b.result.params, strict=True):
            np.testing.assert_array_equal(la.W, lb.W)
            np.testing.assert_array_equal(la.b, lb.b)
        assert (a.train_accuracy, a.test_accuracy) == (b.train_accuracy, b.test_accuracy)

"""Batched engines: both reproduce train(), the reference, model by model.

Tolerances: the notebook's He run to 1e-12 relative (measured: NumPy engine bit for bit,
compiled engine ~1e-15); other well-conditioned runs to 1e-9; float32 to 1e-4 on costs. The
×10 "random" run is chaotic (rounding differences grow: the notebook and the reference
already differ at 1e-3), so only its accuracies are exact and its costs loose.

The compiled engine is compiled for what each run uses (hidden activations, head, optimizer,
L2, mini-batches, dtype: about 3 s each on 2 cores) and cached on disk beside the module:
on an empty cache this file compiles about a dozen of them (measured on 2 cores: about 35 s
more than with a warm cache); later runs load them. One test compiles in a fresh process with
an empty cache of its own, every run (about 4 s).
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

import initlab.engine
from initlab import MLP, activations, circles, init_params, train
from initlab.datasets import load
from initlab.diagnostics import Recorder
from initlab.engine import (
    EngineFallbackWarning,
    needs_compile,
    records_from_snapshots,
    train_batch,
)
from initlab.network import Layer
from initlab.rng import notebook_init_rng, streams
from tests import notebook_facts as nb

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(
    not HAS_NUMBA, reason="Numba is not installed (it is a dependency of initlab)"
)
ENGINES = ["numpy", pytest.param("numba", marks=needs_numba)]


@pytest.fixture(scope="module")
def data():
    return circles()


@pytest.fixture(scope="module")
def he_reference(data):
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "he")
    return mlp, params, train(mlp, params, data.X_train, data.y_train)


def assert_params_close(actual, expected, rtol):
    """Each layer's W and b within ``rtol`` of the layer's largest |entry|."""
    for got, want in zip(actual, expected, strict=True):
        for a, b in ((got.W, want.W), (got.b, want.b)):
            scale = max(float(np.max(np.abs(b))), 1e-300)
            np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


def assert_same_run(result, reference, rtol):
    assert result.status == reference.status
    assert result.diverged_at == reference.diverged_at
    assert result.iterations_run == reference.iterations_run
    assert result.history.iterations == reference.history.iterations
    np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=rtol, atol=0)
    assert_params_close(result.params, reference.params, rtol)
    if math.isfinite(reference.final_cost):
        assert result.final_cost == pytest.approx(reference.final_cost, rel=rtol, abs=0)


# --- the notebook ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_notebook_he_run_matches_reference_to_1e12(data, he_reference, engine):
    mlp, params, reference = he_reference
    (result,) = train_batch(mlp, [params], data.X_train, data.y_train, engine=engine)
    assert_same_run(result, reference, rtol=1e-12)
    assert result.accuracy(data.X_test, data.y_test) == reference.accuracy(data.X_test, data.y_test)
    assert result.learning_rate == reference.learning_rate == 0.01


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_notebook_comparison_as_one_batch(data, engine):
    mlp = MLP([2, 10, 5, 1])
    inits = [init_params(mlp, notebook_init_rng(), name) for name in nb.ACCURACY]
    results = dict(
        zip(nb.ACCURACY, train_batch(mlp, inits, data.X_train, data.y_train, engine=engine))
    )
    for name, (train_acc, test_acc) in nb.ACCURACY.items():
        run = results[name]
        assert run.status == "completed"
        assert run.accuracy(data.X_train, data.y_train) == train_acc
        assert run.accuracy(data.X_test, data.y_test) == test_acc
    np.testing.assert_allclose(results["he"].history.costs, nb.HE_COSTS, rtol=1e-9, atol=0)
    np.testing.assert_allclose(results["zeros"].history.costs, math.log(2), rtol=1e-14, atol=0)
    # The ×10 run is chaotic: ulp-level differences (exp, BLAS blocking) grow over 15,000
    # iterations, so its costs are checked loosely (the reference itself is 1e-3 off the
    # notebook); its accuracies above are exact.
    np.testing.assert_allclose(
        results["random"].history.costs[1:], nb.RANDOM_COSTS[1:], rtol=0.02, atol=0
    )


# --- divergence -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_at_the_same_iteration_while_others_go_on(data, engine):
    # A linear network with ×10 init and learning rate 10 overflows at iteration 6 (as
    # compare(["random"], activation="linear", learning_rate=10) reports); a He-initialized
    # one with learning rate 0.01 in the same batch trains on.
    mlp = MLP([2, 10, 5, 1], "linear")
    wild = init_params(mlp, notebook_init_rng(), "random")
    tame = init_params(mlp, notebook_init_rng(), "he")
    kw = {"iterations": 300, "record_every": 50}
    refs = [
        train(mlp, wild, data.X_train, data.y_train, learning_rate=10, **kw),
        train(mlp, tame, data.X_train, data.y_train, learning_rate=0.01, **kw),
    ]
    results = train_batch(
        mlp, [wild, tame], data.X_train, data.y_train, learning_rate=[10, 0.01], engine=engine,
        **kw,
    )  # fmt: skip
    diverged, completed = results
    assert diverged.status == "diverged"
    assert diverged.diverged_at == refs[0].diverged_at == 6
    assert diverged.history.iterations == [0, 6]
    assert not math.isfinite(diverged.history.costs[-1])
    assert np.isnan(diverged.history.costs[-1]) == np.isnan(refs[0].history.costs[-1])
    assert not math.isfinite(diverged.final_cost)
    assert diverged.learning_rate == 10
    assert_params_close(diverged.params, refs[0].params, rtol=1e-9)
    assert_same_run(completed, refs[1], rtol=1e-9)


# --- agreement on other settings ------------------------------------------------------------

SPIRAL = load("spiral")

CASES = {
    "relu": (MLP([2, 10, 5, 1]), "he", {}),
    "tanh": (MLP([2, 10, 5, 1], "tanh"), "glorot_normal", {"learning_rate": 0.1}),
    "sigmoid": (MLP([2, 8, 1], "sigmoid"), "glorot_normal", {"learning_rate": 0.5}),
    "mixed activations": (
        MLP([2, 8, 7, 6, 5, 4, 1], ["leaky_relu", "elu", "selu", "gelu", "linear"]),
        "he",
        {"learning_rate": 0.05},
    ),
    "softmax": (MLP([2, 16, 8, 3], "tanh"), "glorot_normal", {"learning_rate": 0.1}),
    "l2": (MLP([2, 10, 5, 1]), "he", {"l2": 0.7, "learning_rate": 0.05}),
    "momentum": (MLP([2, 10, 5, 1]), "he", {"optimizer": "momentum"}),
    "nesterov": (
        MLP([2, 10, 5, 1], "tanh"),
        "glorot_normal",
        {"optimizer": {"name": "momentum", "beta": 0.8, "nesterov": True}},
    ),
    "adam + l2": (MLP([2, 10, 5, 1]), "he", {"optimizer": "adam", "l2": 0.1}),
    "mini-batch": (MLP([2, 10, 5, 1]), "he", {"batch_size": 64, "seed": 3, "learning_rate": 0.05}),
    "mini-batch adam": (
        MLP([2, 10, 5, 1], "tanh"),
        "glorot_normal",
        {"batch_size": 50, "optimizer": "adam", "seed": 5, "record_every": 7},
    ),
    "no hidden layer": (MLP([2, 1]), "he", {"learning_rate": 0.5}),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_reference(data, case, engine):
    mlp, init, kw = CASES[case]
    ds = SPIRAL if mlp.n_classes > 2 else data
    kw = {"iterations": 200, "record_every": 50, **kw}
    inits = [init_params(mlp, streams(seed).init, init) for seed in range(3)]
    rates = kw.pop("learning_rate", 0.01)
    results = train_batch(mlp, inits, ds.X_train, ds.y_train, learning_rate=rates,
                          engine=engine, **kw)  # fmt: skip
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, ds.X_train, ds.y_train, learning_rate=rates, **kw)
        assert_same_run(result, reference, rtol=1e-9)
        # The inputs are untouched and echoed.
        for given, kept in zip(params, result.initial_params, strict=True):
            np.testing.assert_array_equal(given.W, kept.W)


@pytest.mark.parametrize("engine", ENGINES)
def test_numpy_engine_is_the_reference_bit_for_bit_and_both_share_the_batch_order(data, engine):
    mlp = MLP([2, 10, 5, 1])
    inits = [init_params(mlp, streams(seed).init, "he") for seed in range(2)]
    kw = {"iterations": 60, "record_every": 10, "batch_size": 70, "seed": 11}
    results = train_batch(mlp, inits, data.X_train, data.y_train, engine=engine, **kw)
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, data.X_train, data.y_train, **kw)
        rtol = 0.0 if engine == "numpy" else 1e-12
        assert_same_run(result, reference, rtol=rtol)


# --- float32 ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_float32_agrees_loosely(data, he_reference, engine):
    mlp, params, reference = he_reference
    (result,) = train_batch(
        mlp, [params], data.X_train, data.y_train, engine=engine, dtype=np.float32
    )
    # Measured: 3e-5 relative at worst over the 15,000 iterations.
    np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=1e-4)
    assert result.final_cost == pytest.approx(reference.final_cost, rel=1e-3)
    assert result.accuracy(data.X_test, data.y_test) == reference.accuracy(data.X_test, data.y_test)
    assert result.params[0].W.dtype == np.float64


# --- checkpoints and diagnostics ----------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_checkpoints_give_the_recorder_rows(data, engine):
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "he")
    recorder = Recorder(every=100, keep_params=True)
    train(mlp, params, data.X_train, data.y_train, iterations=300, recorder=recorder)
    (result,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=300,
                            engine=engine, checkpoint_every=100)  # fmt: skip
    assert sorted(result.records.snapshots) == [0, 100, 200, 300]
    assert result.records.rows == []
    records = records_from_snapshots(
        mlp, result.records.snapshots, data.X_train, data.y_train,
        learning_rate=result.learning_rate, end=result.iterations_run,
    )  # fmt: skip
    assert records.iterations == recorder.records.iterations
    for got, want in zip(records.to_dicts(), recorder.records.to_dicts(), strict=True):
        for key, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[key]), key
            elif isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert got[key] == value, key


@pytest.mark.parametrize("engine", ENGINES)
def test_diverged_runs_keep_snapshots_until_divergence(data, engine):
    mlp = MLP([2, 10, 5, 1], "linear")
    params = init_params(mlp, notebook_init_rng(), "random")
    (result,) = train_batch(mlp, [params], data.X_train, data.y_train, learning_rate=10,
                            iterations=50, engine=engine, checkpoint_every=2)  # fmt: skip
    assert result.diverged_at == 6
    assert sorted(result.records.snapshots) == [0, 2, 4]


# --- choosing the engine ------------------------------------------------------------------


@pytest.fixture
def custom_activation():
    act = activations.Activation("softsign", lambda z: z / (1 + np.abs(z)),
                                 lambda z, a: 1 / (1 + np.abs(z)) ** 2)  # fmt: skip
    activations.ACTIVATIONS.register("softsign", act, "z / (1 + |z|)")
    yield "softsign"
    activations.ACTIVATIONS.unregister("softsign")


@dataclass(frozen=True)
class HalfStep:
    """A custom optimizer: gradient descent with half the learning rate."""

    name = "half"

    def init(self, params):
        return None

    def step(self, params, grads, state, learning_rate):
        for layer, grad in zip(params, grads):
            layer.W -= 0.5 * learning_rate * grad.W
            layer.b -= 0.5 * learning_rate * grad.b


def test_custom_activation_falls_back_with_a_notice(data, custom_activation):
    mlp = MLP([2, 6, 1], custom_activation)
    params = init_params(mlp, streams(0).init, "glorot_normal")
    reference = train(mlp, params, data.X_train, data.y_train, iterations=50)
    if HAS_NUMBA:
        with pytest.warns(EngineFallbackWarning, match="activation 'softsign'"):
            (result,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=50)
        with pytest.raises(ValueError, match="does not cover the activation 'softsign'"):
            train_batch(mlp, [params], data.X_train, data.y_train, engine="numba")
    else:
        with pytest.warns(EngineFallbackWarning, match="Numba"):
            (result,) = train_batch(mlp, [params], data.X_train, data.y_train, iterations=50)
    assert_same_run(result, reference, rtol=0)


def test_custom_optimizer_falls_back_and_steps_each_model(data):
    mlp = MLP([2, 10, 5, 1])
    inits = [init_params(mlp, streams(seed).init, "he") for seed in range(2)]
    with pytest.warns(EngineFallbackWarning, match="optimizer" if HAS_NUMBA else "Numba"):
        results = train_batch(mlp, inits, data.X_train, data.y_train, iterations=40,
                              optimizer=HalfStep(), learning_rate=[0.02, 0.04])  # fmt: skip
    for params, rate, result in zip(inits, [0.01, 0.02], results, strict=True):
        reference = train(mlp, params, data.X_train, data.y_train, iterations=40,
                          learning_rate=rate)  # fmt: skip
        assert_same_run(result, reference, rtol=0)


def test_without_numba_auto_falls_back_and_numba_is_an_error(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    monkeypatch.delitem(sys.modules, "initlab.engine.kernel", raising=False)
    monkeypatch.delattr(initlab.engine, "kernel", raising=False)
    mlp = MLP([2, 10, 5, 1])
    params = [init_params(mlp, streams(0).init, "he")]
    with pytest.warns(EngineFallbackWarning, match="Numba") as caught:
        train_batch(mlp, params, data.X_train, data.y_train, iterations=5)
    # The note the command line prints: one line, in plain words.
    assert [str(w.message) for w in caught] == [
        "Numba is not available here, so initlab trains with its NumPy engine "
        "(slower, same results)"
    ]
    with pytest.raises(ImportError, match=r"initlab\[fast\]"):
        train_batch(mlp, params, data.X_train, data.y_train, iterations=5, engine="numba")
    assert needs_compile(mlp) is False  # the NumPy engine trains it: nothing to compile


@needs_numba
def test_auto_uses_the_compiled_engine_silently(data, he_reference, recwarn):
    mlp, params, _ = he_reference
    train_batch(mlp, [params], data.X_train, data.y_train, iterations=5)
    assert not [w for w in recwarn if issubclass(w.category, EngineFallbackWarning)]


def test_needs_compile_is_false_where_the_numpy_engine_trains(custom_activation):
    assert needs_compile(MLP([2, 6, 1], custom_activation)) is False
    assert needs_compile(MLP([2, 10, 5, 1]), optimizer=HalfStep()) is False


COMPILE_SNIPPET = textwrap.dedent(
    """
    import json
    import numpy as np
    from initlab import MLP, circles, init_params
    from initlab.engine import compile_notices, needs_compile, train_batch
    from initlab.rng import streams

    data, mlp = circles(), MLP([2, 1])
    params = [init_params(mlp, streams(0).init, "he")]
    before = needs_compile(mlp, learning_rate=0.5)
    notices = []
    with compile_notices(notices.append):
        train_batch(mlp, params, data.X_train, data.y_train, iterations=3, learning_rate=0.5)
    print(json.dumps({
        "before": before,
        "after": needs_compile(mlp, learning_rate=0.5),
        "float32": needs_compile(mlp, learning_rate=0.5, dtype=np.float32),
        "mini-batch": needs_compile(mlp, batch_size=32),
        "full batch after all": needs_compile(mlp, batch_size=500, n_examples=300),
        "notices": [[n.stage, n.what, n.seconds > 0] for n in notices],
    }))
    """
)


@needs_numba
def test_a_compilation_is_foreseen_announced_and_paid_once(tmp_path):
    """In fresh processes sharing an empty disk cache: the first compiles, with a notice
    before and after; the second loads the kernel, silently."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run():
        out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        return json.loads(out)

    what = "sigmoid head, gd, float64"
    assert run() == {
        "before": True,
        "after": False,
        "float32": True,
        "mini-batch": True,
        "full batch after all": False,
        "notices": [["start", what, True], ["end", what, True]],
    }
    second = run()
    assert (second["before"], second["after"], second["notices"]) == (False, False, [])


def _numpy_blas_threads():
    """Threads of the BLAS NumPy calls (SciPy's, which importing Numba may load, aside)."""
    from threadpoolctl import threadpool_info

    return [
        lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas" and "numpy" in lib["filepath"]
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_training_holds_blas_to_one_thread_and_gives_the_threads_back(data, engine, monkeypatch):
    from threadpoolctl import threadpool_limits

    seen = []
    if engine == "numpy":  # seen by a custom optimizer, stepped by the NumPy engine

        @dataclass(frozen=True)
        class Spy(HalfStep):
            def step(self, params, grads, state, learning_rate):
                seen.append(_numpy_blas_threads())
                super().step(params, grads, state, learning_rate)

        kw = {"optimizer": Spy()}
    else:  # seen as the compiled engine starts
        real = initlab.engine.train_compiled

        def spy(*args, **kwargs):
            seen.append(_numpy_blas_threads())
            return real(*args, **kwargs)

        monkeypatch.setattr(initlab.engine, "train_compiled", spy)
        kw = {}
    mlp = MLP([2, 10, 5, 1])
    params = [init_params(mlp, streams(0).init, "he")]
    with threadpool_limits(limits=2, user_api="blas"):
        before = _numpy_blas_threads()
        assert before == [2]
        train_batch(mlp, params, data.X_train, data.y_train, iterations=2, engine=engine, **kw)
        assert seen
        assert all(threads == [1] for threads in seen)
        assert _numpy_blas_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"params_list": []}, "at least one model"),
        ({"learning_rate": [0.1, 0.2, 0.3]}, "3 learning rates for 2 models"),
        ({"learning_rate": [0.1, -1.0]}, "learning_rate=-1.0"),
        ({"dtype": np.float16}, "np.float64 or np.float32"),
        ({"dtype": "nonsense"}, "np.float64 or np.float32"),
        ({"engine": "gpu"}, "engine"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"iterations": 0}, "iterations"),
        ({"batch_size": -3}, "batch_size"),
        ({"optimizer": "rmsprop"}, "rmsprop"),
        ({"params_list": "wrong shapes"}, "do not match"),
    ],
)
def test_arguments_are_validated(data, kwargs, match):
    mlp = MLP([2, 10, 5, 1])
    good = [init_params(mlp, streams(seed).init, "he") for seed in range(2)]
    if kwargs.get("params_list") == "wrong shapes":
        kwargs = {"params_list": [[Layer(np.zeros((3, 2)), np.zeros((3, 1)))] * 3]}
    args = {"params_list": good, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_batch(mlp, args.pop("params_list"), data.X_train, data.y_train, **args)


# --- settings=TrainSettings(...) -------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_settings_with_per_model_learning_rates(data, engine):
    """The sweep's form: one TrainSettings for the batch, one learning rate per model; the
    same as the keywords, and (NumPy engine) as train() bit for bit."""
    from initlab.settings import TrainSettings

    mlp = MLP([2, 10, 5, 1])
    inits = [init_params(mlp, streams(seed).init, "he") for seed in range(3)]
    rates = [0.01, 0.05, 0.2]
    kw = {"batch_size": 70, "seed": 11, "record_every": 10, "l2": 0.05, "optimizer": "momentum"}
    settings = TrainSettings(**kw)
    results = train_batch(mlp, inits, data.X_train, data.y_train, iterations=60,
                          settings=settings, learning_rate=rates, engine=engine)  # fmt: skip
    by_keywords = train_batch(mlp, inits, data.X_train, data.y_train, iterations=60,
                              learning_rate=rates, engine=engine, **kw)  # fmt: skip
    for params, rate, result, other in zip(inits, rates, results, by_keywords, strict=True):
        assert result.learning_rate == rate
        assert_same_run(result, other, rtol=0.0)
        reference = train(mlp, params, data.X_train, data.y_train, iterations=60,
                          settings=settings.replace(learning_rate=rate))  # fmt: skip
        assert_same_run(result, reference, rtol=0.0 if engine == "numpy" else 1e-12)


def test_settings_alone_and_settings_with_keywords(data):
    from initlab.settings import TrainSettings

    mlp = MLP([2, 10, 5, 1])
    inits = [init_params(mlp, streams(seed).init, "he") for seed in range(2)]
    settings = TrainSettings(learning_rate=0.1, record_every=10)
    results = train_batch(mlp, inits, data.X_train, data.y_train, iterations=30,
                          settings=settings, engine="numpy")  # fmt: skip
    for params, result in zip(inits, results, strict=True):
        assert result.learning_rate == 0.1
        reference = train(mlp, params, data.X_train, data.y_train, iterations=30,
                          learning_rate=0.1, record_every=10)  # fmt: skip
        assert_same_run(result, reference, rtol=0.0)
    for kwargs, named in [({"learning_rate": 0.1}, "learning_rate=0.1"), ({"l2": 0.0}, "l2=0.0")]:
        with pytest.raises(ValueError, match=f"not both: got {named}$"):
            train_batch(mlp, inits, data.X_train, data.y_train, settings=settings, **kwargs)
    with pytest.raises(ValueError, match="3 learning rates for 2 models"):
        train_batch(mlp, inits, data.X_train, data.y_train, settings=settings,
                    learning_rate=[0.1, 0.2, 0.3])  # fmt: skip
    with pytest.raises(ValueError, match="'notebook' has no stream split"):
        train_batch(mlp, inits, data.X_train, data.y_train, seed="notebook")

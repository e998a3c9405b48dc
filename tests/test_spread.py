"""Spread mode of the lanes engine: a batch of fewer than 7 models, each alone in a block, its
examples spread over the SIMD lanes (lane v of trip k reads examples (k·E + e)·V + v), the
lanes' partial gradients added up in lane order after each pass (``lanes.spreads``).

Oracles: train(), the reference, and the per-model kernel (inside ``lanes.disabled()``).
Tolerances: only the order of the sums over examples differs from theirs (each lane's share,
then the lanes in order, against BLAS or the kernel's SIMD sums): measured at most 4.2e-16
relative on costs and 1.5e-15 of a layer's largest entry on parameters, against both, on
every float64 case below (200 iterations) and on the notebook's zeros and He runs (15,000
iterations); pinned at 1e-12, as tests/test_lanes.py pins the lanes and tests/test_engine.py
the per-model kernel. The zeros run's parameters stay zero but for rounding (the reference's
output bias ends at 1.6e-16, spread's at 0): 1e-15 absolute besides. The notebook's ×10
"random" run is chaotic (the reference is 1e-3 off the notebook): its printed accuracies
are exact, its costs within 0.02, as tests/test_engine.py checks them. float32 against the
float64 reference: 1e-4, as for the other engines (measured 1e-8 on costs, 2.3e-6 on
parameters). Adam with L1 at learning rate 0.005 and λ₁ = 0.3 was chosen well conditioned:
a 1-ulp change to the initial weights moves the reference by at most 6e-16 there (at 0.01
and λ₁ = 0.1: 5e-13, too close to 1e-12). A model's numbers alone, in a batch, on 1 or 2
threads, in chunks: bit for bit.

Compiles (cached on disk): the spread modules of the notebook's network in float64 (gd,
Nesterov + L2, Adam + L1) and float32, of a tanh regression network and of a one-layer
regression network (about 3 to 7 s each on 2 cores); one test compiles a small network in a
fresh process with an empty cache, every run (about 4 s). Short runs are forced into spread
mode with ``SPREAD_WORK = 0``.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from initlab import MLP, circles, init_params, train
from initlab.engine import train_batch
from initlab.network import predict
from initlab.optim import get as get_optimizer
from initlab.rng import notebook_init_rng, streams
from tests import notebook_facts as nb
from tests.engine_checks import assert_identical, assert_same_run, regression_data

if importlib.util.find_spec("numba") is None:  # pragma: no cover - Numba is a dependency
    pytest.skip("Numba is not installed (it is a dependency of initlab)", allow_module_level=True)

import numba

import initlab.engine.lanes as lanes
import initlab.progress
from initlab.engine import kernel_math, lanes_blocks
from initlab.engine.compiled import Schedule
from tests.test_progress import Heard, assert_same_result

NOTEBOOK = MLP([2, 10, 5, 1])
RTOL = 1e-12


@pytest.fixture(scope="module")
def data():
    return circles()


@pytest.fixture
def spread_calls(monkeypatch):
    """``(models, spread)`` of each batch the lanes engine trains, spread as it decides."""
    calls = []
    real = lanes.train_lanes

    def spy(mlp, theta, rates, X, Y, schedule, *rest):
        calls.append((theta.shape[0], lanes.spreads(mlp, schedule, theta.shape[0], X.shape[1])))
        return real(mlp, theta, rates, X, Y, schedule, *rest)

    monkeypatch.setattr(lanes, "train_lanes", spy)
    return calls


@pytest.fixture
def forced(monkeypatch):
    """Spread mode for any work: short runs."""
    monkeypatch.setattr(lanes, "SPREAD_WORK", 0)


@pytest.fixture
def threads(monkeypatch):
    """``threads(k)``: train on ``k`` threads (``compiled.threads()`` reads the setting)."""
    return lambda k: monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", k)


# --- the notebook ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_notebooks_three_runs_are_spread_and_match_the_reference(data, spread_calls):
    inits = [init_params(NOTEBOOK, notebook_init_rng(), name) for name in nb.ACCURACY]
    X, y = data.X_train, data.y_train
    results = train_batch(NOTEBOOK, inits, X, y, learning_rate=0.01, engine="numba")
    assert spread_calls == [(3, True)]  # 3 × 15,000 × 300 × 91 = 1.2e9 of work
    runs = dict(zip(nb.ACCURACY, results, strict=True))
    for name, (train_acc, test_acc) in nb.ACCURACY.items():
        assert runs[name].status == "completed"
        assert runs[name].accuracy(X, y) == train_acc
        assert runs[name].accuracy(data.X_test, data.y_test) == test_acc
    with lanes.disabled():
        kernel = dict(zip(nb.ACCURACY, train_batch(NOTEBOOK, inits, X, y, engine="numba")))
    assert spread_calls == [(3, True)]  # not the lanes engine: the per-model kernel
    for name in ("zeros", "he"):
        params = inits[list(nb.ACCURACY).index(name)]
        reference = train(NOTEBOOK, params, X, y, learning_rate=0.01)
        assert_same_run(runs[name], reference, RTOL, atol=1e-15)
        assert_same_run(runs[name], kernel[name], RTOL, atol=1e-15)
    np.testing.assert_allclose(runs["he"].history.costs, nb.HE_COSTS, rtol=1e-9, atol=0)
    np.testing.assert_allclose(runs["zeros"].history.costs, math.log(2), rtol=1e-14, atol=0)
    np.testing.assert_allclose(
        runs["random"].history.costs[1:], nb.RANDOM_COSTS[1:], rtol=0.02, atol=0
    )


# --- agreement with the reference -------------------------------------------------------------

NESTEROV = {"name": "momentum", "beta": 0.8, "nesterov": True}
ADAM_L1 = {"optimizer": "adam", "l1": 0.3, "lr": 0.005}
# The identity head's residuals, two outputs; tanh: a scalar loop between vector loops.
REGRESSOR = MLP([3, 8, 6, 2], "tanh", output="identity")
CASES = {  # network, init, examples (None: circles' 300), keywords, dtype
    "sigmoid head, gd": (NOTEBOOK, "he", None, {}, np.float64),
    "nesterov + l2": (NOTEBOOK, "he", None, {"optimizer": NESTEROV, "l2": 0.7}, np.float64),
    "adam + l1": (NOTEBOOK, "he", None, ADAM_L1, np.float64),
    "identity head, two outputs, tanh": (REGRESSOR, "glorot_normal", "regression", {}, np.float64),
    "float32": (NOTEBOOK, "he", None, {}, np.float32),
    # 5 examples: fewer than one trip's 16 slots (2 per lane × 8 lanes), 11 of them padding;
    # 37: two trips and 5 examples, in lanes 0 to 4 of the third trip's first slot
    "5 examples": (NOTEBOOK, "he", 5, {}, np.float64),
    "37 examples": (NOTEBOOK, "he", 37, {}, np.float64),
}


@pytest.mark.usefixtures("forced")
@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_the_reference_and_the_kernel(data, case, spread_calls):
    mlp, init, examples, kw, dtype = CASES[case]
    if examples == "regression":
        X, y = regression_data(2)
    else:
        X, y = data.X_train[:examples], data.y_train[:examples]
    kw = {"iterations": 200, "record_every": 50, **kw}
    rate = kw.pop("lr", 0.05)
    rates = [rate * (1 - 0.1 * k) for k in range(3)]
    inits = [init_params(mlp, streams(seed).init, init) for seed in range(3)]
    batch = {"engine": "numba", "dtype": dtype, "learning_rate": rates, **kw}
    results = train_batch(mlp, inits, X, y, **batch)
    with lanes.disabled():
        kernel = train_batch(mlp, inits, X, y, **batch)
    assert spread_calls == [(3, True)]
    tolerance = RTOL if dtype == np.float64 else 1e-4
    for params, rate, result, other in zip(inits, rates, results, kernel, strict=True):
        reference = train(mlp, params, X, y, learning_rate=rate, **kw)
        assert result.status == "completed"
        assert_same_run(result, reference, tolerance)
        assert_same_run(result, other, tolerance)


# --- a model's numbers depend on nothing but the model -----------------------------------------


@pytest.mark.usefixtures("forced")
def test_a_model_trains_alike_alone_in_a_batch_and_on_any_threads(data, threads, spread_calls):
    # Each model sums its own examples, lane by lane, then the lanes in order: alone or with
    # two others, on 1 thread (one call per model) or on 2 (3 models: taking turns in chunks).
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(3)]
    rates = [0.01, 0.03, 0.05]
    kw = {"iterations": 1000, "record_every": 50, "engine": "numba"}
    X, y = data.X_train, data.y_train
    threads(1)
    alone = [train_batch(NOTEBOOK, [p], X, y, learning_rate=[r], **kw)[0]
             for p, r in zip(inits, rates, strict=True)]  # fmt: skip
    batch_1 = train_batch(NOTEBOOK, inits, X, y, learning_rate=rates, **kw)
    threads(2)
    batch_2 = train_batch(NOTEBOOK, inits, X, y, learning_rate=rates, **kw)
    assert spread_calls == [(1, True)] * 3 + [(3, True)] * 2
    for a, b, c in zip(alone, batch_1, batch_2, strict=True):
        assert_identical(b, a)
        assert_identical(c, a)


@pytest.mark.usefixtures("forced")
def test_a_chunked_spread_run_is_one_call_to_the_bit(data, threads, spread_calls, monkeypatch):
    # Chunks of 7 iterations, out of step with the records (30) and the snapshots (45); the
    # run without a hook on one thread is one kernel call per model.
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(3)]
    kw = {"iterations": 400, "record_every": 30, "checkpoint_every": 45, "engine": "numba",
          "optimizer": NESTEROV, "l2": 0.7, "learning_rate": [0.05, 0.04, 0.03]}  # fmt: skip
    threads(1)
    plain = train_batch(NOTEBOOK, inits, data.X_train, data.y_train, **kw)
    for name, value in [("FIRST_CHUNK", 7), ("MAX_GROWTH", 1), ("CHUNK_SECONDS", 1e9),
                        ("PROGRESS_SECONDS", 0.0)]:  # fmt: skip
        monkeypatch.setattr(initlab.progress, name, value)
    threads(2)
    heard = Heard()
    told = train_batch(NOTEBOOK, inits, data.X_train, data.y_train, progress=heard, **kw)
    assert spread_calls == [(3, True)] * 2
    heard.check(3, 400, midway=False)
    for a, b in zip(plain, told, strict=True):
        assert_same_result(a, b)
        assert sorted(b.records.snapshots) == [*range(0, 400, 45), 400]


# --- divergence -------------------------------------------------------------------------------


def outlier_data():
    """40 examples of 3 features and 2 targets; feature 0 is zero but in example 3, where it
    is 1e4: gradient descent at learning rate 1.5e-6 on a linear regression is unstable
    along it alone (the curvature 1e8/40 times the rate: 3.75 > 2), its residual growing
    2.75-fold per iteration, while the other examples' residuals stay 1e-8 of it."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    X[:, 0] = 0.0
    X[3] = [1e4, 0.0, 0.0]
    return X, y


@pytest.mark.usefixtures("forced")
def test_divergence_found_in_a_lane_other_than_0(spread_calls):
    # Example 3 is in lane 3 (trip 0, slot 0). Lane 0 holds examples 0, 8, 16, …, whose
    # residuals stay about a thousandth of the bound at the divergence, and 342 is not a
    # recorded iteration: only lane 3's ok flag is cleared, and the model stops at 342 only
    # because the gather clears lane 0's flag too (lane 0 is the model). Without that
    # (measured on a copy of the sources with _gather's last loop removed) the cost is not
    # computed at 342, the update goes on with the outlier's huge gradient, and the model
    # stops at 349 (lane 0's residuals reach the bound): this test fails.
    mlp = MLP([3, 2], output="identity")
    X, y = outlier_data()
    params = init_params(mlp, np.random.default_rng(1), "glorot_normal")
    kw = {"iterations": 2000, "record_every": 1000, "learning_rate": 1.5e-6}
    (result,) = train_batch(mlp, [params], X, y, engine="numba", **kw)
    assert spread_calls == [(1, True)]
    reference = train(mlp, params, X, y, **kw)
    assert (reference.status, reference.diverged_at) == ("diverged", 342)
    # The data are as meant: before the update of 342 only example 3's residual reaches the
    # bound below which the cost cannot overflow (the kernel's cheap check); lane 0's do not.
    residual = np.abs(predict(mlp, reference.params, X) - y).max(axis=1)
    bound = kernel_math.identity_bound(40, 2, np.dtype(np.float64))
    assert np.flatnonzero(residual >= bound).tolist() == [3]
    assert residual[::8].max() < 1e-2 * bound
    assert_same_run(result, reference, RTOL)
    assert result.history.iterations == [0, 342]
    assert not math.isfinite(result.history.costs[-1])


# --- the lanes' inputs ------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "V", "dtype"), [(5, 8, np.float64), (32, 8, np.float64),
                                               (37, 8, np.float64), (37, 16, np.float32)])  # fmt: skip
def test_the_lanes_share_the_examples_each_once(n, V, dtype):
    E, n0, K = 2, 2, 2
    i = np.arange(n, dtype=dtype)
    X, Y = np.stack([i, 100 + i]), np.stack([1000 + i, -i])  # each value names its example
    XL = lanes_blocks.spread_inputs(X, Y, V, E)
    trips = -(-n // (E * V))
    assert XL.shape == (trips, E * (n0 + K + 1) * V)
    assert XL.ctypes.data % lanes_blocks.ALIGNMENT == 0
    slots = XL.reshape(trips, E, n0 + K + 1, V)
    seen = []
    for k in range(trips):
        for e in range(E):
            for v in range(V):
                example = (k * E + e) * V + v
                x0, x1, y0, y1, w = slots[k, e, :, v]
                if example < n:
                    assert w == np.asarray(1 / n, dtype)
                    seen.append(int(x0))
                else:  # padding: the last example, weighing nothing
                    assert w == 0
                assert x0 == min(example, n - 1)
                assert (x1, y0, y1) == (100 + x0, 1000 + x0, -x0)
    assert seen == list(range(n))  # each example once, in slot order


# --- the decision -------------------------------------------------------------------------------


def _schedule(iterations):
    return Schedule(get_optimizer("gd"), 0.0, iterations, 1, 0)


@pytest.mark.parametrize("models", [1, 6])
def test_fewer_than_7_models_are_spread_from_spread_work_on(models, monkeypatch):
    # Work = models × iterations × examples × parameters (91): spread from SPREAD_WORK on,
    # by the least iterations that reach it; and from a work reached exactly.
    def decided(iterations, examples=300):
        schedule = _schedule(iterations)
        return (lanes.spreads(NOTEBOOK, schedule, models, examples),
                lanes.covers(NOTEBOOK, schedule, models, examples))  # fmt: skip

    least = math.ceil(lanes.SPREAD_WORK / (models * 300 * 91))
    assert (decided(least), decided(least - 1)) == ((True, True), (False, False))
    assert decided(least, None) == (False, False)  # the examples not told
    with lanes.for_every_batch():  # a sweep: one model per lane, whatever the batch
        assert decided(least) == (False, True)
    with lanes.disabled():  # the per-model kernel's (spreads() is asked of covered batches)
        assert decided(least)[1] is False
        with lanes.for_every_batch():
            assert decided(least)[1] is False
    monkeypatch.setattr(lanes, "SPREAD_WORK", models * 1000 * 300 * 91)
    assert (decided(1000), decided(999)) == ((True, True), (False, False))


def test_7_models_take_a_lane_each_and_disabled_stops_them():
    schedule = _schedule(10**6)
    assert lanes.covers(NOTEBOOK, schedule, lanes.MIN_MODELS, 300)
    assert not lanes.spreads(NOTEBOOK, schedule, lanes.MIN_MODELS, 300)
    with lanes.disabled():
        assert not lanes.covers(NOTEBOOK, schedule, lanes.MIN_MODELS, 300)


COMPILE_SNIPPET = textwrap.dedent(
    """
    import json
    import numpy as np
    from initlab import MLP, circles, init_params
    from initlab.engine import compile_notices, lanes, needs_compile, train_batch
    from initlab.engine.compiled import Schedule
    from initlab.optim import get
    from initlab.rng import streams

    data, mlp = circles(), MLP([2, 3, 1])  # 3 × 30,000 × 300 × 13 = 3.5e8 of work: spread
    inits = [init_params(mlp, streams(s).init, "he") for s in range(3)]
    schedule = Schedule(get("gd"), 0.0, 30_000, 1, 0)
    f64 = np.dtype(np.float64)
    foreseen = lambda: [
        needs_compile(mlp, models=3, n_examples=300, iterations=30_000),
        not lanes.is_compiled(mlp, schedule, f64, 3, 300),
        needs_compile(mlp, models=7, n_examples=300, iterations=30_000),  # a lane each
        needs_compile(mlp, models=3, n_examples=300, iterations=10),  # the per-model kernel
    ]
    before = foreseen()
    notices = []
    with compile_notices(notices.append):
        train_batch(mlp, inits, data.X_train, data.y_train, iterations=30_000, engine="numba")
    print(json.dumps({"notices": [[n.stage, n.what] for n in notices],
                      "needs_compile": [before, foreseen()]}))
    """
)


def test_needs_compile_foresees_the_spread_module(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    told = json.loads(out)
    what = "relu hidden layers, sigmoid head, gd, float64; each model's examples over 8 SIMD lanes"
    assert told["notices"] == [["start", what], ["end", what]]
    # Before: nothing compiled. After: the spread module, and it only.
    assert told["needs_compile"] == [[True, True, True, True], [False, False, True, True]]

"""The lanes engine (one model per SIMD lane) reproduces train(), the reference, model by model.

Tolerances: measured differences from the reference are 3e-16 to 3e-15 relative (costs and
parameters) after 200 iterations on every configuration below: the formulas and their order
are the reference's; only the order of the sums over examples and fused multiply-adds differ
(rounding). The notebook network's runs are pinned at 1e-12 as the per-model kernel's are in
tests/test_engine.py; the other configurations at 1e-9, as there (a ReLU-like kink crossed
by a rounding difference would show up far below that, and a machine whose compiler fuses
differently stays far below it too). float32 against the float64 reference: 1e-4 on costs,
as for the per-model kernel (measured 3e-6 here).

The engine compiles one generated module per network, dtype and training variant (about 5 to
7 s each on 2 cores, cached on disk: later runs load it).
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

import initlab.engine.lanes as lanes
import initlab.engine.lanes_source as lanes_source
from initlab import MLP, circles, init_params, train
from initlab.diagnostics import Recorder
from initlab.engine import train_batch
from initlab.engine.compiled import Schedule
from initlab.optim import get as get_optimizer
from initlab.rng import notebook_init_rng, streams
from tests.engine_checks import spy_on_lanes

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the lanes engine is compiled by Numba"
)

NOTEBOOK = MLP([2, 10, 5, 1])
EVERY_ACTIVATION = MLP(
    [2, 6, 5, 5, 4, 4, 3, 3, 3, 1],
    ["relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid", "linear"],
)


@pytest.fixture(scope="module")
def data():
    return circles()


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


# --- agreement with the reference ------------------------------------------------------------


def test_a_notebook_sweep_matches_the_reference_and_its_snapshots(data, monkeypatch):
    # 11 models: a block of 8 and one of 3 (padded); one learning rate each.
    calls = spy_on_lanes(monkeypatch)
    models = 11
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(models)]
    rates = [0.01 + 0.004 * k for k in range(models)]
    kw = {"iterations": 200, "record_every": 50}
    results = train_batch(NOTEBOOK, inits, data.X_train, data.y_train, learning_rate=rates,
                          engine="numba", checkpoint_every=100, **kw)  # fmt: skip
    assert calls == [models]
    for params, rate, result in zip(inits, rates, results, strict=True):
        recorder = Recorder(every=100, keep_params=True)
        reference = train(NOTEBOOK, params, data.X_train, data.y_train, learning_rate=rate,
                          recorder=recorder, **kw)  # fmt: skip
        assert_same_run(result, reference, rtol=1e-12)
        assert result.learning_rate == rate
        snapshots = result.records.snapshots
        assert sorted(snapshots) == [0, 100, 200] == sorted(recorder.records.snapshots)
        for iteration, snapshot in snapshots.items():
            assert_params_close(snapshot, recorder.records.snapshots[iteration], rtol=1e-12)


CASES = {
    "every activation": (EVERY_ACTIVATION, "he", {"learning_rate": 0.05, "iterations": 60}),
    "l2": (NOTEBOOK, "he", {"l2": 0.7, "learning_rate": 0.05}),
    "momentum": (NOTEBOOK, "he", {"optimizer": "momentum"}),
    "nesterov, tanh": (
        MLP([2, 10, 5, 1], "tanh"),
        "glorot_normal",
        {"optimizer": {"name": "momentum", "beta": 0.8, "nesterov": True}},
    ),
    "adam + l2": (NOTEBOOK, "he", {"optimizer": "adam", "l2": 0.1}),
    "no hidden layer": (MLP([2, 1]), "he", {"learning_rate": 0.5}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_the_reference(data, case, monkeypatch):
    calls = spy_on_lanes(monkeypatch)
    mlp, init, kw = CASES[case]
    kw = {"iterations": 200, "record_every": 50, **kw}
    rate = kw.pop("learning_rate", 0.01)
    inits = [init_params(mlp, streams(seed).init, init) for seed in range(9)]
    results = train_batch(mlp, inits, data.X_train, data.y_train, learning_rate=rate,
                          engine="numba", **kw)  # fmt: skip
    assert calls == [9]
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, data.X_train, data.y_train, learning_rate=rate, **kw)
        assert_same_run(result, reference, rtol=1e-9)


def test_an_odd_number_of_examples(data):
    # Several examples per trip through the lane loop (3 in float64): 299 leave the last
    # trip one short, filled with example 298 again with weight 0, which must add nothing.
    X, y = data.X_train[:299], data.y_train[:299]
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(lanes.MIN_MODELS)]
    results = train_batch(NOTEBOOK, inits, X, y, iterations=100, record_every=25, engine="numba")
    for params, result in zip(inits, results, strict=True):
        reference = train(NOTEBOOK, params, X, y, iterations=100, record_every=25)
        assert_same_run(result, reference, rtol=1e-12)


# --- divergence -----------------------------------------------------------------------------


def test_a_diverging_model_stops_where_the_reference_does_while_the_others_go_on(data):
    # As in tests/test_engine.py: a linear network with ×10 init and learning rate 10
    # overflows at iteration 6; He-initialized ones with learning rate 0.01 train on. The
    # wild one sits in lane 3 of the first block.
    mlp = MLP([2, 10, 5, 1], "linear")
    tame = [init_params(mlp, streams(seed).init, "he") for seed in range(8)]
    wild = init_params(mlp, notebook_init_rng(), "random")
    inits = [*tame[:3], wild, *tame[3:]]
    rates = [0.01, 0.01, 0.01, 10.0, 0.01, 0.01, 0.01, 0.01, 0.01]
    kw = {"iterations": 60, "record_every": 5}
    results = train_batch(mlp, inits, data.X_train, data.y_train, learning_rate=rates,
                          engine="numba", checkpoint_every=2, **kw)  # fmt: skip
    for params, rate, result in zip(inits, rates, results, strict=True):
        reference = train(mlp, params, data.X_train, data.y_train, learning_rate=rate, **kw)
        assert_same_run(result, reference, rtol=1e-9)
    diverged = results[3]
    assert (diverged.status, diverged.diverged_at) == ("diverged", 6)
    assert diverged.history.iterations == [0, 5, 6]
    assert not math.isfinite(diverged.history.costs[-1])
    assert sorted(diverged.records.snapshots) == [0, 2, 4]
    assert sorted(results[0].records.snapshots) == list(range(0, 61, 2))


def test_a_block_whose_models_all_diverge_stops(data):
    mlp = MLP([2, 10, 5, 1], "linear")
    wild = init_params(mlp, notebook_init_rng(), "random")
    results = train_batch(mlp, [wild] * 8, data.X_train, data.y_train, learning_rate=10,
                          iterations=10_000, engine="numba")  # fmt: skip
    assert {(r.status, r.diverged_at) for r in results} == {("diverged", 6)}


# --- float32 ----------------------------------------------------------------------------------


def test_float32_agrees_loosely(data):
    # 17 models: two blocks of 16 lanes, the second nearly empty.
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(17)]
    kw = {"iterations": 200, "record_every": 50}
    results = train_batch(NOTEBOOK, inits, data.X_train, data.y_train, engine="numba",
                          dtype=np.float32, **kw)  # fmt: skip
    for params, result in zip(inits, results, strict=True):
        reference = train(NOTEBOOK, params, data.X_train, data.y_train, **kw)
        np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=1e-4)
        for got, want in zip(result.params, reference.params, strict=True):  # W's scale for b
            scale = float(np.max(np.abs(want.W)))
            np.testing.assert_allclose(got.W, want.W, rtol=0, atol=1e-4 * scale)
            np.testing.assert_allclose(got.b, want.b, rtol=0, atol=1e-4 * scale)
        assert result.params[0].W.dtype == np.float64


# --- choosing the engine ----------------------------------------------------------------------


def test_small_batches_go_to_the_per_model_kernel_but_in_a_sweep(data, monkeypatch):
    calls = spy_on_lanes(monkeypatch)
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(3)]
    train_batch(NOTEBOOK, inits, data.X_train, data.y_train, iterations=5, engine="numba")
    assert calls == []
    with lanes.for_every_batch():
        train_batch(NOTEBOOK, inits, data.X_train, data.y_train, iterations=5, engine="numba")
    assert calls == [3]


def _schedule(**changes):
    kw = {"optimizer": get_optimizer("gd"), "l2": 0.0, "iterations": 10, "record_every": 5,
          "checkpoint_every": 0, **changes}  # fmt: skip
    return Schedule(**kw)


@pytest.mark.parametrize(
    ("mlp", "schedule", "models", "covered"),
    [
        (NOTEBOOK, _schedule(), lanes.MIN_MODELS, True),
        (NOTEBOOK, _schedule(optimizer=get_optimizer("adam"), l2=0.1), 100, True),
        (NOTEBOOK, _schedule(), lanes.MIN_MODELS - 1, False),
        (MLP([2, 10, 3], "tanh"), _schedule(), 64, False),  # softmax head
        (NOTEBOOK, _schedule(batch_size=64, order=np.arange(300)), 64, False),  # mini-batches
        (MLP([2, 30, 30, 1]), _schedule(), 64, False),  # too many parameters to generate
    ],
)
def test_covers(mlp, schedule, models, covered):
    assert lanes.covers(mlp, schedule, models) is covered


def test_a_resumed_run_is_not_covered():
    """A schedule that starts past iteration 0, or with an optimizer state, is the per-model
    kernel's (the lanes engine starts fresh runs only)."""
    fields = Schedule.__dataclass_fields__
    if "start" not in fields:
        pytest.skip("this Schedule has no start")
    assert not lanes.covers(NOTEBOOK, _schedule(start=5), 64)
    if "velocity" in fields:
        velocity = np.zeros((64, 91))
        assert not lanes.covers(NOTEBOOK, _schedule(optimizer=get_optimizer("momentum"),
                                                    velocity=velocity), 64)  # fmt: skip


# --- the generated module and its cache ---------------------------------------------------------


def test_the_generated_pass_is_one_statement_per_value():
    text, rows = lanes_source.pass_source([2, 3, 1], ["tanh"], lanes=8)
    # A vector loop (z of layer 1), a scalar loop (tanh, which does not vectorize), a vector
    # loop (the rest); the rows: the parameters (13), the gradient (13), the ok flag, the
    # trip's inputs (x₀, x₁, y, w), its logit, then the z and a values crossing the loops.
    assert text.count("for v in range(8):") == 3
    assert "math.tanh(z0_0_0)" in text
    assert rows == 2 * 13 + 1 + 4 + 1 + 3 + 3
    # The logit, to its row in the lane loop, then out to Lg in a loop of its own.
    assert "S[248 + v] = z1_0_0" in text
    assert "Lg[k * 8 + q] = S[248 + q]" in text


def test_a_model_trains_alike_in_any_block(data, monkeypatch):
    # Each lane computes the same operations on the same numbers: a model's result does not
    # depend on its block or lane, so, within for_every_batch (as a sweep trains), neither
    # on its batch: alone, in a batch of 2, or in lanes 4 to 5 of a batch of 13.
    calls = spy_on_lanes(monkeypatch)
    inits = [init_params(NOTEBOOK, streams(seed).init, "he") for seed in range(13)]
    kw = {"iterations": 30, "record_every": 10, "engine": "numba"}
    with lanes.for_every_batch():
        alone = train_batch(NOTEBOOK, inits[4:5], data.X_train, data.y_train, **kw)
        alone += train_batch(NOTEBOOK, inits[5:6], data.X_train, data.y_train, **kw)
        pair = train_batch(NOTEBOOK, inits[4:6], data.X_train, data.y_train, **kw)
    together = train_batch(NOTEBOOK, inits, data.X_train, data.y_train, **kw)[4:6]
    assert calls == [1, 1, 2, 13]
    for a, b in [*zip(alone, together, strict=True), *zip(pair, together, strict=True)]:
        assert a.history.costs == b.history.costs
        for x, y in zip(a.params, b.params, strict=True):
            np.testing.assert_array_equal(x.W, y.W)


def test_the_lanes_read_every_example_in_order():
    # 5 examples, 2 per trip: 3 trips, the last repeating example 4 with weight 0.
    X = np.arange(10.0).reshape(2, 5)
    Y = np.array([[0.0, 1.0, 0.0, 1.0, 1.0]])
    XL = lanes.lane_inputs(X, Y, lanes=8, examples=2)
    slots = XL.reshape(3 * 2, 4, 8)  # slot, (x0, x1, y, w), lane
    assert (slots == slots[:, :, :1]).all()  # every lane the same
    assert slots[:, :, 0].tolist() == [
        [0, 5, 0, 0.2], [1, 6, 1, 0.2], [2, 7, 0, 0.2], [3, 8, 1, 0.2], [4, 9, 1, 0.2],
        [4, 9, 1, 0.0],
    ]  # fmt: skip


COMPILE_SNIPPET = textwrap.dedent(
    """
    import json, os
    from initlab import MLP, circles, init_params
    from initlab.engine import compile_notices, needs_compile, train_batch
    from initlab.rng import streams

    from initlab.engine import lanes_math

    data, mlp = circles(), MLP(json.loads(os.environ.get("SIZES", "[2, 3, 1]")))
    inits = [init_params(mlp, streams(s).init, "he") for s in range(8)]
    foreseen = lambda: [needs_compile(mlp, models=8), needs_compile(mlp, models=1)]
    before = foreseen()
    notices = []
    with compile_notices(notices.append):
        train_batch(mlp, inits, data.X_train, data.y_train, iterations=3, engine="numba")
    generated = os.listdir(os.path.join(os.environ["NUMBA_CACHE_DIR"], "initlab_lanes"))
    print(json.dumps({
        "notices": [[n.stage, n.what] for n in notices],
        "generated": sorted(name for name in generated if name.endswith(".py")),
        "needs_compile": [before, foreseen()],
        "after_pass": [sum(lanes_math._after_pass.stats.cache_hits.values()),
                       sum(lanes_math._after_pass.stats.cache_misses.values())],
    }))
    """
)


def test_the_generated_module_is_written_and_compiled_once_per_machine(tmp_path):
    """In fresh processes sharing an empty cache: the first writes the generated module and
    compiles it, announced; the second loads both, silently; a third, of another network,
    writes and compiles its own module, announced, but links the training loop's shared part
    (lanes_math._after_pass, the same for every network) from the cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run(sizes="[2, 3, 1]"):
        out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env={**env, "SIZES": sizes},
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        return json.loads(out)

    first, second, other = run(), run(), run("[2, 4, 1]")
    assert first.pop("after_pass") == [0, 1]  # compiled, and written to the cache
    assert second.pop("after_pass") == [0, 0]  # the whole entry loaded: nothing compiled
    assert other.pop("after_pass") == [1, 0]  # loaded from the cache into a new entry
    assert other["notices"][0][0] == "start"
    assert len(other["generated"]) == 2
    what = "relu hidden layers, sigmoid head, gd, float64; 8 models per SIMD lane block"
    assert first["notices"] == [["start", what], ["end", what]]
    assert len(first["generated"]) == 1
    # needs_compile foresees the lanes compile of 8 models, nothing written by asking; the
    # per-model kernel (1 model) is another compile, not done by this batch
    assert first["needs_compile"] == [[True, True], [False, True]]
    assert second == {"notices": [], "generated": first["generated"],
                      "needs_compile": [[False, True], [False, True]]}  # fmt: skip

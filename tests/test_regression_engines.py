"""The compiled engines train the regression head (``MLP(..., output="identity")``) as the
reference :func:`~initlab.train.train` does: the per-model kernel, the lanes engine and the
resumable :class:`~initlab.engine.resumable.EngineTrainer`.

Tolerances, with the reasoning of tests/test_engine.py and tests/test_lanes.py: the engines
compute the reference's formulas in its order (the squared error even in NumPy's order, to
the bit: :func:`kernel_math._squared_error`); only the sums over examples are blocked
differently (SIMD lanes against BLAS) and multiply-adds fused. On these well-conditioned
runs, costs and parameters then agree to rounding: measured at most 1.2e-15 relative
(costs) and 2.2e-15 of each layer's largest entry (parameters) after 300 iterations, over
every case below, on the per-model kernel and the lanes. They are pinned at 1e-12, as the notebook's runs are there: far above the
rounding, far below any difference in the arithmetic. float32 against the float64
reference: 1e-4 on costs and parameters, as for the classification heads (measured 5e-6).
Lanes against the per-model kernel: 1e-12 (both are that close to the reference). Resumed
runs: bit for bit.

Divergence: a regression's cost overflows through its squares while every output is still
finite; the engines compute the cost wherever a residual may make it overflow (see
:func:`initlab.engine.kernel.train_model`), so they stop at the reference's iteration.

Data: 150 examples, 3 features, targets tanh(X·w) + noise (one or two per example); 300
iterations. The engines compile once per network, head, optimizer and dtype (about 4 s
each for the kernel, 5 to 7 s for a lanes module, on 2 cores), cached on disk; one test
compiles in a fresh process with an empty cache, every run (about 10 s).
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from initlab import MLP, init_params, train
from initlab.engine import train_batch
from initlab.network import predict
from tests.engine_checks import (
    assert_identical,
    assert_params_close,
    assert_same_run,
    regression_data,
)

if importlib.util.find_spec("numba") is None:  # pragma: no cover - Numba is a dependency
    pytest.skip("Numba is not installed (it is a dependency of initlab)", allow_module_level=True)

import initlab.engine.lanes as lanes
import initlab.engine.lanes_source as lanes_source
from initlab.engine.compiled import Schedule
from initlab.engine.resumable import EngineTrainer
from initlab.optim import get as get_optimizer
from initlab.train import Trainer

RTOL = 1e-12
STEPS = (37, 100, 163)


def regressor(hidden, outputs, activation="tanh"):
    return MLP([3, *hidden, outputs], activation, output="identity")


CASES = {
    "gd, one output": (regressor([8, 6], 1), "glorot_normal", {}),
    "gd, two outputs": (regressor([8, 6], 2), "glorot_normal", {}),
    "relu, momentum": (regressor([10, 5], 1, "relu"), "he", {"optimizer": "momentum"}),
    "nesterov, two outputs": (
        regressor([8, 6], 2),
        "glorot_normal",
        {"optimizer": {"name": "momentum", "beta": 0.8, "nesterov": True}},
    ),
    "adam + l2, two outputs": (
        regressor([8, 6], 2),
        "glorot_normal",
        {"optimizer": "adam", "l2": 0.1, "lr": 0.01},
    ),
    "l2": (regressor([10, 5], 1, "relu"), "he", {"l2": 0.5}),
    "mini-batch": (regressor([8, 6], 1), "glorot_normal", {"batch_size": 32, "seed": 3}),
    "mini-batch adam, two outputs": (
        regressor([8, 6], 2),
        "glorot_normal",
        {"batch_size": 50, "optimizer": "adam", "seed": 5, "record_every": 7, "lr": 0.01},
    ),
    "no hidden layer, three outputs": (regressor([], 3), "glorot_normal", {"lr": 0.1}),
}


def setup(name, models):
    """The case's network, ``models`` initial parameters, data and training keywords."""
    mlp, init, kw = CASES[name]
    X, y = regression_data(mlp.layer_sizes[-1])
    inits = [init_params(mlp, np.random.default_rng(seed), init) for seed in range(models)]
    kw = dict(kw)  # "lr": the case's learning rate (0.05 if not given)
    kw = {"iterations": 300, "record_every": 50, "learning_rate": kw.pop("lr", 0.05), **kw}
    return mlp, inits, X, y, kw


# --- the per-model kernel ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_the_kernel_agrees_with_the_reference(name, lanes_calls):
    mlp, inits, X, y, kw = setup(name, models=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback, no NumPy warning
        results = train_batch(mlp, inits, X, y, engine="numba", **kw)
    assert lanes_calls == []
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, X, y, **kw)
        assert result.status == "completed"
        assert_same_run(result, reference, RTOL)
    # the fit is real: the cost falls (full-batch gd at 0.05 over 300 iterations)
    assert reference.history.costs[-1] < reference.history.costs[0]


@pytest.mark.parametrize("name", ["gd, one output", "adam + l2, two outputs"])
def test_float32_agrees_loosely(name):
    mlp, inits, X, y, kw = setup(name, models=2)
    results = train_batch(mlp, inits, X, y, engine="numba", dtype=np.float32, **kw)
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, X, y, **kw)
        np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=1e-4)
        assert result.final_cost == pytest.approx(reference.final_cost, rel=1e-4)
        assert_params_close(result.params, reference.params, 1e-4)
        assert result.params[0].W.dtype == np.float64


def test_targets_past_the_bound_train_on():
    # Targets of 1e150: every residual is past the divergence check's bound √(1e300/(n·K))
    # ≈ 8e148, so the cost is computed at every iteration; it is finite (≈ 1e300), and
    # training goes on as the reference's does.
    mlp = regressor([6], 1)
    X, y = regression_data(1)
    params = init_params(mlp, np.random.default_rng(0), "glorot_normal")
    kw = {"iterations": 100, "record_every": 25, "learning_rate": 1e-151}
    reference = train(mlp, params, X, 1e150 * y, **kw)
    (result,) = train_batch(mlp, [params], X, 1e150 * y, engine="numba", **kw)
    assert reference.status == "completed"
    assert_same_run(result, reference, RTOL)


def test_a_two_unit_softmax_head_is_trained_as_a_softmax():
    # The kernel takes its head from the network (it once took two units for a sigmoid).
    mlp = MLP([3, 8, 2], "tanh")
    X, y = regression_data(1)
    labels = (y > 0).astype(int)
    params = init_params(mlp, np.random.default_rng(0), "glorot_normal")
    kw = {"iterations": 100, "record_every": 25, "learning_rate": 0.1}
    (result,) = train_batch(mlp, [params], X, labels, engine="numba", **kw)
    assert_same_run(result, train(mlp, params, X, labels, **kw), RTOL)


# --- the lanes engine --------------------------------------------------------------------------

LANES_CASES = {
    # 9 models: a block of 8 lanes and one of 1 (float64); 17: two blocks of 16 (float32)
    "gd, one output": (9, np.float64),
    "adam + l2, two outputs": (9, np.float64),
    "relu, momentum": (9, np.float64),
    "gd, one output, float32": (17, np.float32),
}


@pytest.mark.parametrize("case", list(LANES_CASES))
def test_the_lanes_agree_with_the_kernel_and_the_reference(case, lanes_calls):
    models, dtype = LANES_CASES[case]
    mlp, inits, X, y, kw = setup(case.removesuffix(", float32"), models)
    rates = [0.03 + 0.005 * k for k in range(models)]
    kw.pop("learning_rate")
    batch = {"engine": "numba", "dtype": dtype, "learning_rate": rates, **kw}
    results = train_batch(mlp, inits, X, y, checkpoint_every=100, **batch)
    assert lanes_calls == [models]
    with lanes.disabled():  # the per-model kernel's
        kernel = train_batch(mlp, inits, X, y, checkpoint_every=100, **batch)
    assert lanes_calls == [models]
    tolerance = RTOL if dtype == np.float64 else 1e-4
    for params, rate, result, other in zip(inits, rates, results, kernel, strict=True):
        reference = train(mlp, params, X, y, learning_rate=rate, **kw)
        assert_same_run(result, other, tolerance)
        assert_same_run(result, reference, tolerance)
        assert sorted(result.records.snapshots) == [0, 100, 200, 300]
        for iteration, snapshot in result.records.snapshots.items():
            assert_params_close(snapshot, other.records.snapshots[iteration], tolerance)


def _schedule(**changes):
    kw = {"optimizer": get_optimizer("gd"), "l2": 0.0, "iterations": 10, "record_every": 5,
          "checkpoint_every": 0, **changes}  # fmt: skip
    return Schedule(**kw)


@pytest.mark.parametrize(
    ("mlp", "covered"),
    [
        (regressor([10, 5], 1), True),
        (regressor([10, 5], 3), True),  # any number of outputs
        (MLP([3, 10, 5, 1]), True),  # sigmoid
        (MLP([3, 10, 3]), False),  # softmax: the per-model kernel's
    ],
)
def test_the_lanes_cover_the_identity_head(mlp, covered):
    assert lanes.covers(mlp, _schedule(), lanes.MIN_MODELS) is covered
    assert not lanes.covers(mlp, _schedule(batch_size=32, order=np.arange(150)), 64)


def test_the_generated_pass_of_an_identity_head():
    text, rows = lanes_source.pass_source([2, 3, 2], ["relu"], lanes=8, head="identity")
    # ŷ = z, the check on the residual, δ = w·(ŷ − y) for each of the two outputs
    assert "a1_1_0 = z1_1_0" in text
    assert "ok = _select(abs(z1_1_0 - y1_0) < bound, ok, zero)" in text
    assert "d1_0_0 = w0 * (a1_0_0 - y0_0)" in text
    assert "d1_1_0 = w0 * (a1_1_0 - y1_0)" in text
    assert "_exp" not in text
    # the rows: parameters (17), gradient (17), the ok flag, the trip's inputs (x₀, x₁, y₀,
    # y₁, w), its two logits, then the values crossing loops (none: relu and the identity
    # vectorize)
    assert rows == 2 * 17 + 1 + 5 + 2
    with pytest.raises(ValueError, match="head='softmax'"):
        lanes_source.pass_source([2, 3, 2], ["relu"], lanes=8, head="softmax")


# --- resumable ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gd, one output", "mini-batch adam, two outputs"])
def test_resumed_runs_equal_one_call_bit_for_bit(name):
    mlp, (params,), X, y, kw = setup(name, models=1)
    kw.pop("iterations")
    stepped = EngineTrainer(mlp, params, X, y, **kw)
    for n in STEPS:
        assert stepped.run(n) == "completed"
    once = EngineTrainer(mlp, params, X, y, **kw)
    once.run(sum(STEPS))
    (batch,) = train_batch(mlp, [params], X, y, iterations=sum(STEPS), engine="numba", **kw)
    reference = Trainer(mlp, params, X, y, **kw)
    reference.run(sum(STEPS))
    assert_same_run(stepped.result(), reference.result(), RTOL)
    assert_identical(stepped.result(), once.result())
    assert_identical(stepped.result(), batch)
    # an exported state continues in a new object, bit for bit
    again = EngineTrainer(mlp, params, X, y, state=once.export_state(), **kw)
    for trainer in (again, once):
        trainer.run(50)
    assert_identical(again.result(), once.result())


# --- divergence ----------------------------------------------------------------------------------


def diverging_setup():
    """A tanh regressor at learning rate 2 whose cost grows to 4.7e304 at iteration 150 and
    overflows at 151 while every output is finite (below 4.1e153: the sum of the squares
    overflows); a tame one at 0.05."""
    mlp = regressor([10, 8], 1)
    X, y = regression_data(1)
    wild = init_params(mlp, np.random.default_rng(2), "he")
    tame = init_params(mlp, np.random.default_rng(2), "glorot_normal")
    return mlp, X, y, wild, tame, {"iterations": 300, "record_every": 50}


def test_a_diverging_regression_stops_where_the_reference_does(lanes_calls):
    mlp, X, y, wild, tame, kw = diverging_setup()
    reference = train(mlp, wild, X, y, learning_rate=2.0, **kw)
    assert (reference.status, reference.diverged_at) == ("diverged", 151)
    assert reference.history.costs[-1] == math.inf
    with np.errstate(all="ignore"):  # the outputs are finite: the squares overflow
        assert np.all(np.isfinite(predict(mlp, reference.params, X)))
    tame_reference = train(mlp, tame, X, y, learning_rate=0.05, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or NaN warning from any engine
        kernel = train_batch(mlp, [wild, tame], X, y, learning_rate=[2.0, 0.05],
                             engine="numba", **kw)  # fmt: skip
        # lane 3 of a block of 8 diverges; the others train on
        inits, rates = [tame] * 3 + [wild] + [tame] * 4, [0.05] * 3 + [2.0] + [0.05] * 4
        in_lanes = train_batch(mlp, inits, X, y, learning_rate=rates, engine="numba", **kw)
        resumable = EngineTrainer(mlp, wild, X, y, learning_rate=2.0, record_every=50)
        for n in STEPS:
            resumable.run(n)
    assert lanes_calls == [8]
    # The iteration is exact; the values are not pinned at RTOL: a diverging run amplifies
    # rounding differences (measured after 150 iterations: 1e-8 relative on the costs, up to
    # 1e-4 of a layer's largest weight), so they are checked at 1e-6 and 1e-3.
    for result in (kernel[0], in_lanes[3], resumable.result(300)):
        assert result.diverged
        assert result.diverged_at == 151
        assert result.history.iterations == [0, 50, 100, 150, 151]
        assert result.history.costs[-1] == math.inf
        np.testing.assert_allclose(result.history.costs[:-1], reference.history.costs[:-1],
                                   rtol=1e-6)  # fmt: skip
        assert_params_close(result.params, reference.params, 1e-3)
    for result in (kernel[1], in_lanes[0], in_lanes[7]):
        assert_same_run(result, tame_reference, RTOL)


@pytest.mark.parametrize(("scale", "diverged_at"), [(1e20, 0), (1e18, None)])
def test_float32_squares_overflow_where_numpy_s_do(scale, diverged_at):
    # In float32 the squared error is computed in float32, as NumPy computes it on float32
    # arrays: targets of 1e20 make squares past its largest number (3.4e38) at iteration 0,
    # in every engine (float64 would train on); targets of 1e18 are past the check's float32
    # bound √(1e37/n) ≈ 2.6e17, so the cost (≈ 5e35) is computed and found finite.
    mlp = regressor([6], 1)
    X, y = regression_data(1)
    params = init_params(mlp, np.random.default_rng(0), "glorot_normal")
    kw = {"iterations": 40, "record_every": 10, "learning_rate": 0.1 / scale**2}
    runs = [
        train_batch(mlp, [params] * models, X, scale * y, engine=engine, dtype=np.float32,
                    **kw)[0]
        for engine, models in [("numpy", 1), ("numba", 1), ("numba", 8)]
    ]  # fmt: skip
    assert {(r.status == "diverged", r.diverged_at) for r in runs} == {
        (diverged_at is not None, diverged_at)
    }
    if diverged_at is None:
        for run in runs[1:]:  # float32 roundings in other orders: 1e-6 (measured: equal)
            np.testing.assert_allclose(run.history.costs, runs[0].history.costs, rtol=1e-6)
    else:
        assert all(r.history.costs == [math.inf] for r in runs)
    (in_float64,) = train_batch(mlp, [params], X, scale * y, engine="numba", **kw)
    assert in_float64.status == "completed"


# --- what is compiled ----------------------------------------------------------------------------

COMPILE_SNIPPET = textwrap.dedent(
    """
    import json
    import numpy as np
    from initlab import MLP, init_params
    from initlab.engine import compile_notices, kernel_math, needs_compile, train_batch

    def compiled(dispatcher):
        return [str(signature) for signature in dispatcher.overloads]

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    regression = MLP([2, 3, 1], output="identity")
    out = {"before": needs_compile(regression, dtype=np.float32)}
    notices = []
    with compile_notices(notices.append):
        train_batch(regression, [init_params(regression, rng, "he")], X, X[:, 0],
                    iterations=3, dtype=np.float32, engine="numba")
    out["after"] = needs_compile(regression, dtype=np.float32)
    out["notices"] = [[n.stage, n.what] for n in notices]
    out["regression"] = [compiled(kernel_math._exp), compiled(kernel_math._squared_error)]
    classifier = MLP([2, 3, 1])
    train_batch(classifier, [init_params(classifier, rng, "he")], X, (X[:, 0] > 0) * 1,
                iterations=3, engine="numba")
    out["sigmoid"] = [compiled(kernel_math._exp), compiled(kernel_math._squared_error)]
    print(json.dumps(out))
    """
)


def test_each_head_compiles_its_own_branches_only(tmp_path):
    """In a fresh process with an empty cache (so the kernel and its building blocks compile
    here): a regression run compiles the squared error and no ``exp`` (neither the sigmoid's
    nor the softmax's code), in float32; a sigmoid run then compiles ``exp`` and no float64
    squared error."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    result = json.loads(out)
    assert (result["before"], result["after"]) == (True, False)
    what = "relu hidden layers, identity head, gd, float32"
    assert result["notices"] == [["start", what], ["end", what]]
    exp, squared_error = result["regression"]
    assert exp == []
    assert len(squared_error) == 1
    assert "float32" in squared_error[0]
    exp, squared_error = result["sigmoid"]
    assert exp == ["(float64,)"]
    assert all("float64" not in signature for signature in squared_error)

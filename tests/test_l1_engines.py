"""Every compiled engine trains L1 regularisation as the reference :func:`~initlab.train.train`
does: the per-model kernel, the lanes engine and the resumable
:class:`~initlab.engine.resumable.EngineTrainer` add (λ₁/m)·Σ_l Σ|W[l]| to the cost and
(λ₁/m)·sign(W) to the weights' gradient (after the L2 term), with no fallback to NumPy.

Tolerances, with the reasoning of tests/test_engine.py and tests/test_regression_engines.py:
λ₁/m·sign(W) is exact (±λ₁/m or 0), so the L1 term adds no rounding of its own to the
gradient; the penalty's sum of |W| is taken in order here and pairwise by NumPy (rounding).
Measured against the reference, on every case below (the per-model kernel on 2 and on 9
models, the lanes on 9, the resumable runs): costs within 8.4e-16 relative, parameters
within 3.4e-15 of the largest entry; pinned at 1e-12, as the other engines' tests pin them.
float32 against the
float64 reference: 1e-4, as for the other float32 runs (measured: costs 8e-8), and for
parameters two L1 steps (2·lr·λ₁/m) besides: a weight that L1 holds at zero dithers around
it by one step lr·λ₁/m, and float32's rounding can put it a step out of phase with the
reference (measured: 1.1e-4 on such a weight, 1.3e-4 of 1.0 on a weight it moved in turn,
with steps of 1.7e-4). Resumed runs: bit for bit.

A caution the cases respect: some runs amplify rounding, L1 or not, and then no engine can
stay within 1e-12. Adam at learning rate 0.01 with λ₁ = 0.3 on the notebook's network, 500
iterations, grows a difference by about 8 % per iteration: one ulp in the reference's own
initial weights moves its parameters by 7e-9, as much as the engines differ from it (3e-9
to 6e-9); Nesterov at learning rate 0.1 reaches 1e-12 likewise (1-ulp: 3e-13). The cases
below were measured well conditioned (300 iterations, the rates given).
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

from initlab import MLP, circles, init_params, train
from initlab.engine import train_batch
from tests.engine_checks import (
    assert_identical,
    assert_params_close,
    assert_same_run,
    regression_data,
)

if importlib.util.find_spec("numba") is None:  # pragma: no cover - Numba is a dependency
    pytest.skip("Numba is not installed (it is a dependency of initlab)", allow_module_level=True)

import initlab.engine.lanes as lanes
from initlab.engine.resumable import EngineTrainer
from initlab.train import Trainer

RTOL = 1e-12
STEPS = (37, 100, 163)


NOTEBOOK = MLP([2, 10, 5, 1])
REGRESSOR = MLP([3, 8, 6, 2], "tanh", output="identity")
SOFTMAX = MLP([2, 8, 3], "tanh", output="softmax")

CASES = {
    "gd": (NOTEBOOK, {"l1": 0.5}),
    "gd, l1 + l2": (NOTEBOOK, {"l1": 0.5, "l2": 0.3}),
    "nesterov": (
        NOTEBOOK,
        {"l1": 0.5, "optimizer": {"name": "momentum", "nesterov": True}, "lr": 0.05},
    ),
    "adam, l1 + l2": (NOTEBOOK, {"l1": 0.1, "l2": 0.2, "optimizer": "adam", "lr": 0.01}),
    "identity, gd, l1 + l2": (REGRESSOR, {"l1": 0.2, "l2": 0.1, "lr": 0.05}),
    "identity, adam": (REGRESSOR, {"l1": 0.2, "optimizer": "adam", "lr": 0.01}),
    "softmax, momentum": (SOFTMAX, {"l1": 0.5, "optimizer": "momentum"}),
    "mini-batch": (NOTEBOOK, {"l1": 0.5, "batch_size": 64, "seed": 3}),
    "mini-batch adam, l1 + l2": (
        NOTEBOOK,
        {
            "l1": 0.3,
            "l2": 0.1,
            "optimizer": "adam",
            "lr": 0.01,
            "batch_size": 50,
            "seed": 5,
            "record_every": 7,
        },
    ),
    "identity, mini-batch": (REGRESSOR, {"l1": 0.2, "batch_size": 32, "lr": 0.05, "seed": 1}),
}


def setup(name, models):
    """The case's network, ``models`` initial parameters, data and training keywords."""
    mlp, kw = CASES[name]
    if mlp.is_regression:
        X, y = regression_data(mlp.layer_sizes[-1])
    else:
        data = circles()
        X, y = data.X_train, data.y_train
        if mlp.output == "softmax":
            y = y + (X[:, 0] > 0)  # three classes: the inner circle, the outer one's halves
    init = "glorot_normal" if mlp.is_regression else "he"
    inits = [init_params(mlp, np.random.default_rng(seed), init) for seed in range(models)]
    kw = dict(kw)  # "lr": the case's learning rate (0.1 if not given)
    kw = {"iterations": 300, "record_every": 50, "learning_rate": kw.pop("lr", 0.1), **kw}
    return mlp, inits, X, y, kw


def l1_steps(kw, m, rate=None):
    """Two L1 steps, 2·lr·λ₁/m: float32's allowance for weights dithering around zero."""
    return 2 * (rate if rate is not None else kw["learning_rate"]) * kw["l1"] / m


# --- the per-model kernel ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_the_kernel_agrees_with_the_reference(name, lanes_calls):
    mlp, inits, X, y, kw = setup(name, models=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to NumPy, no NumPy warning
        results = train_batch(mlp, inits, X, y, engine="auto", **kw)
    assert lanes_calls == []
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, X, y, **kw)
        assert result.status == "completed"
        assert_same_run(result, reference, RTOL)
    # L1 is real in these runs: without it the reference ends far from there
    plain = train(mlp, inits[-1], X, y, **{**kw, "l1": 0.0})
    assert abs(plain.final_cost - reference.final_cost) > 1e-3 * reference.final_cost


def test_the_l1_term_is_computed_in_the_cost_and_the_gradient():
    # One iteration of gd from known weights: the recorded cost is loss + λ₁/m·Σ|W| and the
    # update moves each weight by −lr·(dW + λ₁/m·sign W); a weight at 0 gets no L1 push.
    mlp, (params,), X, y, _ = setup("gd", models=1)
    params[0].W[0, 0] = 0.0
    kw = {"learning_rate": 0.1, "record_every": 1}
    (with_l1,) = train_batch(mlp, [params], X, y, iterations=1, l1=3.0, engine="numba", **kw)
    (without,) = train_batch(mlp, [params], X, y, iterations=1, engine="numba", **kw)
    m = X.shape[0]
    weights = sum(float(np.abs(layer.W).sum()) for layer in params)
    assert with_l1.history.costs[0] == pytest.approx(
        without.history.costs[0] + 3.0 / m * weights, rel=1e-15
    )
    for got, plain, before in zip(with_l1.params, without.params, params, strict=True):
        np.testing.assert_allclose(
            got.W, plain.W - 0.1 * 3.0 / m * np.sign(before.W), rtol=0, atol=1e-14
        )
        np.testing.assert_array_equal(got.b, plain.b)  # biases: no L1
    assert with_l1.params[0].W[0, 0] == without.params[0].W[0, 0]


@pytest.mark.parametrize("name", ["gd, l1 + l2", "identity, gd, l1 + l2"])
def test_float32_agrees_loosely(name):
    mlp, inits, X, y, kw = setup(name, models=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = train_batch(mlp, inits, X, y, engine="auto", dtype=np.float32, **kw)
    for params, result in zip(inits, results, strict=True):
        reference = train(mlp, params, X, y, **kw)
        np.testing.assert_allclose(result.history.costs, reference.history.costs, rtol=1e-4)
        assert result.final_cost == pytest.approx(reference.final_cost, rel=1e-4)
        assert_params_close(result.params, reference.params, 1e-4, l1_steps(kw, X.shape[0]))


# --- the lanes engine --------------------------------------------------------------------------

LANES_CASES = {
    # 9 models: a block of 8 lanes and one of 1 (float64); 17: two blocks of 16 (float32)
    "gd": (9, np.float64),
    "gd, l1 + l2": (9, np.float64),
    "nesterov": (9, np.float64),
    "adam, l1 + l2": (9, np.float64),
    "identity, gd, l1 + l2": (9, np.float64),
    "identity, adam": (9, np.float64),
    "gd, l1 + l2, float32": (17, np.float32),
}


@pytest.mark.parametrize("case", list(LANES_CASES))
def test_the_lanes_agree_with_the_kernel_and_the_reference(case, lanes_calls):
    models, dtype = LANES_CASES[case]
    mlp, inits, X, y, kw = setup(case.removesuffix(", float32"), models)
    base = kw.pop("learning_rate")
    rates = [base * (0.6 + 0.05 * k) for k in range(models)]
    batch = {"engine": "auto", "dtype": dtype, "learning_rate": rates, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        results = train_batch(mlp, inits, X, y, checkpoint_every=100, **batch)
    assert lanes_calls == [models]
    with lanes.disabled():  # the per-model kernel's
        kernel = train_batch(mlp, inits, X, y, checkpoint_every=100, **batch)
    assert lanes_calls == [models]
    tolerance = RTOL if dtype == np.float64 else 1e-4
    for params, rate, result, other in zip(inits, rates, results, kernel, strict=True):
        reference = train(mlp, params, X, y, learning_rate=rate, **kw)
        steps = 0.0 if dtype == np.float64 else l1_steps(kw, X.shape[0], rate)
        assert_same_run(result, other, tolerance, steps)
        assert_same_run(result, reference, tolerance, steps)
        assert sorted(result.records.snapshots) == [0, 100, 200, 300]
        for iteration, snapshot in result.records.snapshots.items():
            assert_params_close(snapshot, other.records.snapshots[iteration], tolerance, steps)


# --- resumable ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["gd, l1 + l2", "mini-batch adam, l1 + l2", "identity, adam", "softmax, momentum"]
)
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
    assert stepped.cost() == pytest.approx(reference.cost(), rel=RTOL)
    assert_identical(stepped.result(), once.result())
    assert_identical(stepped.result(), batch)
    # full_pass: the reference's gradient, the L1 term included
    _, grads = stepped.full_pass()
    _, expected = reference.full_pass()
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got.W, want.W, rtol=0, atol=1e-9 * np.max(np.abs(want.W)))
    # an exported state continues in a new object, bit for bit
    again = EngineTrainer(mlp, params, X, y, state=once.export_state(), **kw)
    for trainer in (again, once):
        trainer.run(50)
    assert_identical(again.result(), once.result())


def test_resumable_trainer_takes_l1_runs_to_the_engine():
    from initlab.engine.resumable import resumable_trainer

    mlp, (params,), X, y, kw = setup("gd", models=1)
    kw.pop("iterations")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no EngineFallbackWarning
        trainer = resumable_trainer(mlp, params, X, y, **kw)
    assert isinstance(trainer, EngineTrainer)
    trainer.run(300)
    assert_same_run(trainer.result(), train(mlp, params, X, y, iterations=300, **kw), RTOL)


# --- divergence ----------------------------------------------------------------------------------


def test_huge_l1_diverges_where_the_reference_does(lanes_calls):
    # A ReLU regressor with λ₁ = 1e4 at learning rate 0.05: each step moves every weight by
    # lr·λ₁/m ≈ 3.3 and the outputs grow; three of the eight models diverge, at iterations
    # 14, 11 and 55 (their final costs inf or NaN), the others end with huge but finite costs
    # (2e27 to 1e164, past the residuals' bound: computed at every iteration). The iteration
    # must be the reference's, exactly.
    mlp = MLP([3, 8, 6, 2], "relu", output="identity")
    X, y = regression_data(2)
    inits = [init_params(mlp, np.random.default_rng(seed), "he") for seed in range(8)]
    kw = {"learning_rate": 0.05, "l1": 1e4, "record_every": 10}
    references = [train(mlp, params, X, y, iterations=300, **kw) for params in inits]
    assert [r.diverged_at for r in references] == [None, 14, 11, 55, None, None, None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy overflow warning, no fallback
        in_lanes = train_batch(mlp, inits, X, y, iterations=300, engine="numba", **kw)
        kernel = train_batch(mlp, inits[:4], X, y, iterations=300, engine="numba", **kw)
        resumable = []
        for params in inits[:4]:
            trainer = EngineTrainer(mlp, params, X, y, **kw)
            for n in STEPS:
                trainer.run(n)
            resumable.append(trainer.result(300))
    assert lanes_calls == [8]
    # The iterations are exact; the values before are checked at 1e-6 only: a diverging run
    # amplifies rounding differences (measured: 1e-15 here, but not pinned at that).
    for results in (in_lanes, kernel, resumable):
        for result, reference in zip(results, references, strict=False):
            assert (result.status, result.diverged_at) == (reference.status, reference.diverged_at)
            assert result.history.iterations == reference.history.iterations
            if result.diverged:
                assert not math.isfinite(result.history.costs[-1])
            np.testing.assert_allclose(result.history.costs[:-1], reference.history.costs[:-1],
                                       rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(("strength", "diverged_at"), [(1e160, 1), (1e152, None)])
def test_a_penalty_past_1e300_is_checked_on_its_own(strength, diverged_at, lanes_calls):
    # Inputs of 1e-200 keep every logit near the bias while λ₁/m = strength throws each weight
    # to ±lr·λ₁/m: at iteration 1 the penalty is λ₁/m·Σ|W| ≈ 2·strength², past 1e300 while the
    # logits are far below the divergence check's bound, and not a recorded iteration. With
    # 1e160 it overflows (a divergence at iteration 1, found from the penalty alone); with
    # 1e152 it is 2e304, finite: training goes on (the weights come back to 0 at iteration 2).
    # The bias then hovers at 1e-17 (Σ (σ(b) − y)/m cancels): parameters are compared to an
    # absolute 1e-15, costs (about log 2) to 1e-12.
    mlp = MLP([2, 1])
    data = circles()
    X, y = data.X_train * 1e-200, data.y_train
    inits = [init_params(mlp, np.random.default_rng(seed), "he") for seed in range(8)]
    kw = {"iterations": 12, "learning_rate": 1.0, "l1": strength * X.shape[0], "record_every": 4}
    reference = train(mlp, inits[0], X, y, **kw)
    assert reference.diverged_at == diverged_at
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = [
            train_batch(mlp, inits, X, y, engine="numba", **kw)[0],
            train_batch(mlp, inits[:1], X, y, engine="numba", **kw)[0],
        ]
        trainer = EngineTrainer(mlp, inits[0], X, y, **{k: v for k, v in kw.items()
                                                         if k != "iterations"})  # fmt: skip
        trainer.run(1)
        trainer.run(11)
        runs.append(trainer.result(12))
    assert lanes_calls == [8]
    for run in runs:
        assert (run.status, run.diverged_at) == (reference.status, reference.diverged_at)
        assert run.history.iterations == reference.history.iterations
        np.testing.assert_allclose(run.history.costs, reference.history.costs, rtol=RTOL)
        assert run.final_cost == pytest.approx(reference.final_cost, rel=RTOL)
        for got, want in zip(run.params, reference.params, strict=True):
            np.testing.assert_allclose(got.W, want.W, rtol=RTOL, atol=1e-15)
            np.testing.assert_allclose(got.b, want.b, rtol=RTOL, atol=1e-15)
    if diverged_at is None:  # iteration 4 (recorded): thrown out again; then back to 0
        assert reference.history.costs[1] == pytest.approx(2e304, rel=1e-12)


# --- what is compiled ----------------------------------------------------------------------------

COMPILE_SNIPPET = textwrap.dedent(
    """
    import json
    import numpy as np
    from initlab import MLP, init_params
    from initlab.engine import (compile_notices, kernel_math, lanes_math, needs_compile,
                                train_batch)

    def compiled():
        return {name: len(fn.overloads) for name, fn in [
            ("_l1_sum", kernel_math._l1_sum), ("_sign", kernel_math._sign),
            ("_lane_l1_sum", lanes_math._lane_l1_sum), ("_add_l1", lanes_math._add_l1),
        ]}

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0) * 1
    mlp = MLP([2, 3, 1])
    inits = [init_params(mlp, rng, "he") for _ in range(8)]
    out = {}
    notices = []
    with compile_notices(notices.append):
        for models in (1, 8):  # the per-model kernel, then the lanes
            train_batch(mlp, inits[:models], X, y, iterations=3, engine="numba")
        out["without"] = compiled()
        out["needs"] = [needs_compile(mlp), needs_compile(mlp, l1=0.5, l2=0.1)]
        for models in (1, 8):
            train_batch(mlp, inits[:models], X, y, iterations=3, l1=0.5, l2=0.1,
                        engine="numba")
    out["with"] = compiled()
    out["after"] = needs_compile(mlp, l1=0.5, l2=0.1)
    out["notices"] = [n.what for n in notices if n.stage == "start"]
    print(json.dumps(out))
    """
)


def test_a_run_without_l1_compiles_no_l1_code(tmp_path):
    """In a fresh process with an empty cache: runs without L1 (per-model kernel and lanes)
    compile none of L1's building blocks; runs with it compile them, announced as such."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    result = json.loads(out)
    assert result["without"] == {"_l1_sum": 0, "_sign": 0, "_lane_l1_sum": 0, "_add_l1": 0}
    assert result["needs"] == [False, True]
    assert all(count >= 1 for count in result["with"].values())
    assert result["after"] is False
    assert result["notices"] == [
        "relu hidden layers, sigmoid head, gd, float64",
        "relu hidden layers, sigmoid head, gd, float64; 8 models per SIMD lane block",
        "relu hidden layers, sigmoid head, gd with L2 and L1, float64",
        "relu hidden layers, sigmoid head, gd with L2 and L1, float64; 8 models per SIMD lane "
        "block",
    ]

"""Per-layer records and the verdicts drawn from them, each shown on a network built for it."""

import csv
import io
import json
import math

import numpy as np
import pytest

from initlab import MLP, circles, compare, init_params, train
from initlab.diagnostics import Recorder, diagnose, distinct_units, verdict
from initlab.rng import notebook_init_rng


@pytest.fixture(scope="module")
def data():
    return circles()


def _run(data, sizes, activation, init, *, lr=0.01, iterations=1, every=None, **kw):
    mlp = MLP(sizes, activation)
    params = init_params(mlp, np.random.default_rng(0), init)
    rec = Recorder(every=every or iterations, **kw)
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=lr,
                   iterations=iterations, recorder=rec)  # fmt: skip
    return result, diagnose(result.records, result.diverged_at)


def kinds(findings):
    return [f.kind for f in findings]


def test_zero_init_keeps_one_distinct_unit_per_hidden_layer_for_the_whole_run(data):
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "zeros")
    rec = Recorder(every=1000)
    result = train(mlp, params, data.X_train, data.y_train, iterations=15_000, recorder=rec)
    assert rec.records.iterations == [*range(0, 15_000, 1000), 15_000]
    for iteration in rec.records.iterations:
        hidden = [r for r in rec.records.at(iteration) if r.kind == "hidden"]
        assert [r.distinct_units for r in hidden] == [1, 1]
    findings = diagnose(result.records)
    assert kinds(findings) == ["symmetric"]
    assert findings[0].message == (
        "symmetry not broken: hidden layers act as 1, 1 distinct units (of 10, 5)"
    )


def test_large_random_init_saturates_the_output_at_iteration_0(data):
    # The notebook's ×10 init: every training example's output logit is beyond ±36.7, so
    # σ(z) rounds to exactly 0 or 1; for 150 of the 300 (50%) it rounds to the wrong end,
    # which is why the notebook printed a cost of inf.
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "random")
    rec = Recorder(every=1000)
    result = train(mlp, params, data.X_train, data.y_train, iterations=1, recorder=rec)
    output = rec.records.at(0)[-1]
    assert output.kind == "output"
    assert output.saturated_fraction == 1.0
    assert output.infinite_loss_fraction == 0.5
    findings = diagnose(result.records)
    assert findings[0].kind == "saturated_output"
    assert "100% of examples" in findings[0].message
    assert "50% would give log(0)" in findings[0].message
    assert "exploding_activations" in kinds(findings)


def test_he_on_the_notebook_is_healthy_at_start():
    he = compare(["he"], iterations=15_000).runs[0]
    assert he.findings[0].kind == "healthy"
    assert he.why.startswith("healthy at start")


def test_vanishing_activations_name_the_onset_layer(data):
    # σ_w² = 0.02²·50 = 0.02: the pre-activation variance shrinks 50× per layer.
    _, findings = _run(data, [2] + [50] * 8 + [1], "relu", {"name": "normal", "std": 0.02})
    f = next(f for f in findings if f.kind == "vanishing_activations")
    assert f.layer == 2
    assert f.value < 1e-10
    assert "from layer 2" in f.message


def test_exploding_activations(data):
    # σ_w² = 50 with ReLU: ×25 per layer.
    _, findings = _run(data, [2] + [50] * 6 + [1], "relu", {"name": "normal", "std": 1.0})
    f = next(f for f in findings if f.kind == "exploding_activations")
    assert f.layer == 2
    assert f.value > 1e6


def test_vanishing_gradients_in_a_deep_sigmoid_network(data):
    # σ′ ≤ 1/4: each sigmoid layer shrinks the backward signal by ≈ 1/16 at σ_w² ≈ 1.
    _, findings = _run(data, [2] + [30] * 10 + [1], "sigmoid", "xavier_normal")
    f = next(f for f in findings if f.kind == "vanishing_gradients")
    assert f.value < 1e-2


def test_exploding_gradients_in_the_chaotic_phase(data):
    # tanh with σ_w² = 9 is chaotic (χ₁ > 1): the pre-activation variance settles at its
    # fixed point while gradients grow towards the input (Schoenholz et al. 2017).
    _, findings = _run(data, [2] + [100] * 30 + [1], "tanh", {"name": "normal", "std": 0.3})
    assert "exploding_gradients" in kinds(findings)
    assert "exploding_activations" not in kinds(findings)


def test_saturated_tanh_units(data):
    _, findings = _run(data, [2, 50, 50, 1], "tanh", {"name": "normal", "std": 3.0})
    f = next(f for f in findings if f.kind == "saturated_hidden")
    assert f.value >= 0.5
    assert "tanh" in f.message


def test_dead_relus_after_a_huge_step(data):
    # ×10 init and learning rate 10: the first update pushes every ReLU negative for good.
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "random")
    rec = Recorder(every=100)
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=10, iterations=200,
                   recorder=rec)  # fmt: skip
    assert result.status == "completed"
    end = rec.records.at(-1)
    assert [r.dead_fraction for r in end[:2]] == [0.7, 1.0]
    assert [r.grad_W_norm for r in end[:2]] == [0.0, 0.0]  # nothing can revive them
    findings = diagnose(result.records)
    f = next(f for f in findings if f.kind == "dead_units")
    assert f.message == "dead ReLUs at the end: 7 of 10 units of layer 1 never fire"


def test_diverged_run_is_the_first_finding(data):
    mlp = MLP([2, 10, 5, 1], "linear")
    params = init_params(mlp, notebook_init_rng(), "random")
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=10, iterations=100,
                   recorder=Recorder(every=1))  # fmt: skip
    findings = diagnose(result.records, result.diverged_at)
    assert findings[0].kind == "diverged"
    assert str(result.diverged_at) in verdict(findings)
    # No record is taken of the non-finite end state.
    assert result.records.iterations[-1] < result.diverged_at


def test_records_values(data):
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "he")
    rec = Recorder(every=10, bins=20, keep_params=True)
    result = train(mlp, params, data.X_train, data.y_train, learning_rate=0.5, iterations=25,
                   recorder=rec)  # fmt: skip
    records = rec.records
    assert records.iterations == [0, 10, 20, 25]
    first = records.at(0)
    assert [r.layer for r in first] == [1, 2, 3]
    assert [r.width for r in first] == [10, 5, 1]
    # Statistics are the network's own, recomputed here.
    from initlab.network import forward, gradients

    cache = forward(mlp, params, data.X_train)
    grads = gradients(mlp, params, data.X_train, data.y_train)
    for r, z, a, g in zip(first, cache.Z, cache.A[1:], grads, strict=True):
        assert r.z_std == pytest.approx(z.std(), rel=1e-12)
        assert r.a_mean == pytest.approx(a.mean(), rel=1e-12)
        assert r.grad_W_norm == pytest.approx(np.linalg.norm(g.W), rel=1e-12)
        assert sum(r.z_hist.counts) == z.size
        assert len(r.z_hist.edges) == 21
        # Gradient descent: ‖ΔW‖ = lr·‖dW‖.
        W = params[r.layer - 1].W
        assert r.update_ratio == pytest.approx(0.5 * np.linalg.norm(g.W) / np.linalg.norm(W))
    assert math.isnan(records.at(-1)[0].update_ratio)  # the end state takes no step
    assert math.isnan(first[-1].dead_fraction)  # not a ReLU layer
    np.testing.assert_array_equal(records.snapshots[0][0].W, params[0].W)
    np.testing.assert_array_equal(records.snapshots[25][0].W, result.params[0].W)


def test_minibatch_records_use_the_whole_training_set(data):
    mlp = MLP([2, 8, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    rec = Recorder(every=5)
    train(mlp, params, data.X_train, data.y_train, iterations=6, batch_size=16, recorder=rec)
    assert sum(rec.records.at(0)[0].z_hist.counts) == 8 * 300


def test_csv_and_json_export(data):
    result, _ = _run(data, [2, 4, 1], "tanh", "he", iterations=3, every=1)
    text = result.records.to_csv(run="he")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 * 2
    assert rows[0]["run"] == "he"
    assert rows[0]["dead_fraction"] == ""  # NaN: not a ReLU layer
    assert float(rows[0]["z_std"]) > 0
    payload = json.loads(result.records.to_json(run="he"), parse_constant=pytest.fail)
    assert payload[0]["z_hist"]["counts"]
    assert payload[-1]["update_ratio"] is None


def test_distinct_units_tolerates_rounding_only():
    W = np.array([[1.0, 2.0], [1.0, 2.0 + 1e-14], [1.0, 2.1]])
    assert distinct_units(W, np.zeros((3, 1))) == 2
    assert distinct_units(np.zeros((4, 3)), np.zeros((4, 1))) == 1


def test_recorder_validates_every():
    with pytest.raises(ValueError, match=r"Received: every=0"):
        Recorder(every=0)
    with pytest.raises(
        ValueError, match=r"`every` must be a positive integer\. Received: every=True"
    ):
        Recorder(every=True)
    assert Recorder(every=np.int64(5)).every == 5


def test_every_finding_kind_has_a_severity():
    from typing import get_args

    from initlab.diagnostics import SEVERITY, Finding, FindingKind

    assert set(SEVERITY) == set(get_args(FindingKind))
    assert Finding("healthy", "fine").severity == "ok"
    assert Finding("dead_units", "3 dead").severity == "warning"
    assert Finding("diverged", "nan").severity == "severe"

"""The playground's inputs beyond the raw plane, through its API: input features (TF
Playground's x₁², x₁x₂, sin x₁, …), L1 regularisation and regression (the identity head on
TF Playground's plane and Gaussians, and CSV uploads with a real target).

The oracle is initlab's own library, driven independently of the server: the data expanded
by :func:`initlab.datasets.with_features`, the weights drawn by :func:`init_params` from the
seed's ``init`` stream, the reference loop :func:`initlab.train.train`, :func:`initlab.network.r2`
— and, for the exported specs, the real ``initlab sweep`` command and its result store.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tomllib

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from fastapi.testclient import TestClient

from initlab import datasets
from initlab.datasets import expand, with_features
from initlab.experiments.store import ResultStore
from initlab.initializers import init_params
from initlab.network import MLP, forward_columns, r2
from initlab.rng import streams
from initlab.train import train
from initlab.web.app import create_app
from initlab.web.measure import boundary_grid
from initlab.web.neurons import dequantize
from tests.web.test_api import create, error, step

ENGINE_RTOL = 1e-12
"""The sessions train on the compiled engine (the reference loop where it lacks something):
the engine agrees with the reference loop to rounding, ~1e-15 relative on these networks
(tests/test_engine.py); 1e-12 leaves room for a few hundred iterations' accumulation."""

SPEC_RTOL = 1e-9
"""An exported spec run by ``initlab sweep`` against the playground's numbers: the issue's
tolerance (the sweep trains in batches on its own engine; both agree to rounding)."""

PLANE = {"dataset": "plane", "data_seed": 0, "activation": "tanh", "learning_rate": 0.03}


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def reference(data, hidden, init, iterations, activation="relu", output=None, **settings):
    """The library's run: a network sized to ``data``, He/… weights from seed 0's init
    stream (as the playground's default seed draws them), trained by the reference loop."""
    mlp = MLP([data.n_features, *hidden, data.n_outputs], activation, output)
    params = init_params(mlp, streams(0).init, init, X=data.X_train)
    return mlp, train(mlp, params, data.X_train, data.y_train, iterations=iterations, **settings)


def sweep(spec_text: str, folder) -> list:
    """Run ``initlab sweep`` (the real command, in its own process) on a spec; its rows in the
    spec's order of initializers."""
    spec = folder / "playground.toml"
    spec.write_text(spec_text)
    store = folder / "playground.db"
    done = subprocess.run(
        [sys.executable, "-c", "from initlab.cli import main; main()", "sweep", str(spec),
         "--store", str(store), "--workers", "1"],
        capture_output=True, text=True, timeout=600, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    rows = ResultStore(store, create=False).rows()
    order = [init for init in tomllib.loads(spec_text)["init"]]
    return sorted(rows, key=lambda row: order.index(row.config["init"]))


# --- input features ---------------------------------------------------------------------------


def test_feature_inputs_train_as_the_library(client):
    features = ["x1", "x2", "x1^2", "sin(x2)"]
    body = create(client, {"features": features, "inits": ["he", "glorot_uniform"],
                           "learning_rate": 0.1})  # fmt: skip
    assert body["data"]["inputs"] == features
    assert body["data"]["n_features"] == 2  # the raw plane the points are drawn on
    np.testing.assert_array_equal(body["data"]["train"]["X"], datasets.circles().X_train)
    sid = body["session"]
    for _ in range(3):
        frame = step(client, sid, 100)
    data = with_features(datasets.circles(), features)
    assert data.n_features == 4
    for run, init in zip(frame["runs"], ("he", "glorot_uniform")):
        assert run["network"]["sizes"] == [4, 10, 5, 1]
        assert run["network"]["inputs"] == features
        _mlp, ref = reference(data, (10, 5), init, 300, learning_rate=0.1)
        assert run["train_cost"] == pytest.approx(ref.final_cost, rel=ENGINE_RTOL)
        assert run["train_accuracy"] == ref.accuracy(data.X_train, data.y_train)
        assert run["test_accuracy"] == ref.accuracy(data.X_test, data.y_test)
    # The input column's maps are the features over the raw plane: x₁² is x₁ squared.
    maps = frame["runs"][0]["network"]["maps"]
    size, extent = maps["size"], tuple(maps["extent"])
    inputs = maps["layers"][0]
    q = np.frombuffer(base64.b64decode(inputs["values"]), np.uint8).reshape(4, -1)
    got = dequantize(q, inputs["low"], inputs["high"])
    want = expand(boundary_grid(extent, size).T, features).T
    span = np.array(inputs["high"]) - np.array(inputs["low"])
    assert np.all(np.abs(got - want) <= span[:, None] / 510 + 1e-12)


def test_the_boundary_is_the_network_on_the_expanded_grid(client):
    features = ["x1", "x2", "x1*x2"]
    sid = create(client, {"features": features, "dataset": "xor", "data_seed": 0})["session"]
    run = step(client, sid, 200)["runs"][0]
    b = run["boundary"]
    assert b["kind"] == "probability"
    data = with_features(datasets.xor(), features)
    mlp, ref = reference(data, (10, 5), "he", 200, learning_rate=0.01)
    grid = expand(boundary_grid(tuple(b["extent"]), b["size"]).T, features).T
    p = mlp.head.activate(forward_columns(mlp, ref.params, grid).logits)[0]
    sent = np.frombuffer(base64.b64decode(b["probability"]), np.uint8)
    assert np.max(np.abs(sent - np.rint(p * 255))) <= 1  # rounding at a byte's edge


def test_exported_spec_carries_the_features(client):
    sid = create(client, {"features": ["x1", "x2", "x1^2"]})["session"]
    step(client, sid, 20)
    spec = tomllib.loads(client.get(f"/api/sessions/{sid}/export/spec").text)
    assert spec["data"]["features"] == ["x1", "x2", "x1^2"]
    assert spec["model"]["layer_sizes"] == [3, 10, 5, 1]
    plain = create(client)["session"]
    assert (
        "features"
        not in tomllib.loads(client.get(f"/api/sessions/{plain}/export/spec").text)["data"]
    )


# --- L1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("l1", "l2"), [(0.05, 0.0), (0.02, 0.05)])
def test_l1_trains_as_the_library(client, l1, l2):
    sid = create(client, {"inits": ["he", "zeros"], "learning_rate": 0.1, "l1": l1,
                          "l2": l2})["session"]  # fmt: skip
    step(client, sid, 100)
    frame = step(client, sid, 150)
    data = datasets.circles()
    for run, init in zip(frame["runs"], ("he", "zeros")):
        _, ref = reference(data, (10, 5), init, 250, learning_rate=0.1, l1=l1, l2=l2)
        _, without = reference(data, (10, 5), init, 250, learning_rate=0.1, l2=l2)
        assert run["train_cost"] == pytest.approx(ref.final_cost, rel=ENGINE_RTOL)
        assert run["train_accuracy"] == ref.accuracy(data.X_train, data.y_train)
        if init == "he":  # the L1 term is really there: another run, another cost
            assert abs(ref.final_cost - without.final_cost) > 1e-3


# --- regression -----------------------------------------------------------------------------


def test_regression_frames_equal_the_library(client):
    body = create(client, {**PLANE, "inits": ["he", "glorot_normal"], "l2": 0.01})
    data_payload = body["data"]
    assert data_payload["task"] == "regression"
    assert data_payload["n_classes"] == 0
    assert data_payload["n_targets"] == 1
    data = datasets.plane(seed=0)
    np.testing.assert_array_equal(data_payload["train"]["y"], data.y_train)
    y = np.concatenate([data.y_train, data.y_test])
    half = max(-y.min(), y.max())
    assert data_payload["target_range"] == [-half, half]
    sid = body["session"]
    step(client, sid, 120)
    frame = step(client, sid, 180)
    for run, init in zip(frame["runs"], ("he", "glorot_normal")):
        assert run["network"]["sizes"] == [2, 10, 5, 1]
        assert run["network"]["activations"][-1] == "identity"
        mlp, ref = reference(data, (10, 5), init, 300, "tanh", "identity", learning_rate=0.03,
                             l2=0.01)  # fmt: skip
        assert run["train_cost"] == pytest.approx(ref.final_cost, rel=ENGINE_RTOL)
        assert run["train_r2"] == pytest.approx(r2(mlp, ref.params, data.X_train, data.y_train),
                                                rel=ENGINE_RTOL)  # fmt: skip
        assert run["test_r2"] == pytest.approx(r2(mlp, ref.params, data.X_test, data.y_test),
                                               rel=ENGINE_RTOL)  # fmt: skip
        assert run["train_accuracy"] is None
        assert run["test_accuracy"] is None
        assert run["train_r2"] > 0.5  # it learns the plane
        history = run["history"]
        assert set(history) == {"iteration", "train_cost", "test_cost", "train_r2", "test_r2"}
        assert history["iteration"][-1] == 300
        assert history["train_r2"][-1] == run["train_r2"]
        # The surface: the prediction on the 100 × 100 grid, on the targets' scale.
        b = run["boundary"]
        assert b["kind"] == "surface"
        assert [b["low"], b["high"]] == [-half, half]
        grid = boundary_grid(tuple(b["extent"]), b["size"])
        pred = forward_columns(mlp, ref.params, grid).logits[0]
        assert b["min"] == pytest.approx(pred.min(), rel=1e-9)
        assert b["max"] == pytest.approx(pred.max(), rel=1e-9)
        sent = np.frombuffer(base64.b64decode(b["values"]), np.uint8).astype(float)
        want = np.clip((pred + half) / (2 * half) * 255, 0, 255)
        assert np.max(np.abs(sent - want)) <= 0.5 + 1e-6
        # Theory and verdict still speak (the mean-field theory is about the hidden layers).
        assert run["verdict"]
        assert run["theory"]["available"]
        assert run["network"]["maps"] is not None


def test_regression_results_export_r2(client):
    sid = create(client, {**PLANE, "dataset": "gaussians"})["session"]
    step(client, sid, 50)
    results = client.get(f"/api/sessions/{sid}/export/results").json()
    (run,) = results["runs"]
    assert run["train_accuracy"] is None
    assert isinstance(run["train_r2"], float)
    assert "train_r2" in run["history"]


def test_exported_regression_spec_run_by_initlab_sweep_matches(client, tmp_path):
    config = {**PLANE, "dataset": "gaussians", "features": ["x1", "x2", "x1^2", "x2^2"],
              "hidden": [8, 6], "inits": ["he", "glorot_uniform"], "l1": 0.001, "l2": 0.01,
              "optimizer": "adam", "learning_rate": 0.01, "batch_size": 64, "seed": 3}  # fmt: skip
    sid = create(client, config)["session"]
    frame = step(client, sid, 240)
    text = client.get(f"/api/sessions/{sid}/export/spec").text
    spec = tomllib.loads(text)
    assert spec["data"]["features"] == config["features"]
    assert spec["train"].get("l1", 0.0) == config["l1"]
    rows = sweep(text, tmp_path)
    assert [row.config["init"] for row in rows] == [{"name": "he"}, {"name": "glorot_uniform"}]
    for row, run in zip(rows, frame["runs"], strict=True):
        assert row.iterations_run == 240
        assert row.final_cost == pytest.approx(run["train_cost"], rel=SPEC_RTOL)
        assert row.train_accuracy == pytest.approx(run["train_r2"], rel=SPEC_RTOL)  # R²
        assert row.test_accuracy == pytest.approx(run["test_r2"], rel=SPEC_RTOL)


def regression_csv(rows: int = 120) -> bytes:
    """A real target of two inputs: y = x₁² − x₂ + noise."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-2, 2, (rows, 2))
    y = X[:, 0] ** 2 - X[:, 1] + rng.normal(0, 0.05, rows)
    lines = ["a,b,label", *(f"{p:.5f},{q:.5f},{t:.5f}" for (p, q), t in zip(X, y))]
    return ("\n".join(lines) + "\n").encode()


def test_a_csv_with_a_real_target_uploads_as_regression(client, tmp_path):
    content = regression_csv()
    # Read as classes, its 120 distinct targets are over the class limit: the message says how.
    msg = error(client.post("/api/uploads", params={"name": "curve.csv"}, content=content), 400)
    assert "classes" in msg
    assert "regression" in msg
    r = client.post("/api/uploads", params={"name": "curve.csv", "task": "regression"},
                    content=content)  # fmt: skip
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["task"], up["classes"], up["features"], up["rows"]) == ("regression", 0, 2, 120)
    body = create(client, {"dataset": up["dataset"], "data_seed": 0, "activation": "tanh",
                           "features": ["x1", "x2", "x1^2"], "learning_rate": 0.03})  # fmt: skip
    assert body["data"]["task"] == "regression"
    frame = step(client, body["session"], 150)
    run = frame["runs"][0]
    assert run["boundary"]["kind"] == "surface"
    text = client.get(f"/api/sessions/{body['session']}/export/spec").text
    spec = tomllib.loads(text)
    assert spec["data"]["options"]["task"] == "regression"
    (tmp_path / "curve.csv").write_bytes(content)  # "save it as curve.csv beside this spec"
    (row,) = sweep(text, tmp_path)
    assert row.final_cost == pytest.approx(run["train_cost"], rel=SPEC_RTOL)
    assert row.train_accuracy == pytest.approx(run["train_r2"], rel=SPEC_RTOL)


def test_a_text_target_is_refused_naming_its_row(client):
    content = b"a,b,label\n0.1,0.2,0.5\n0.3,0.1,high\n"
    msg = error(client.post("/api/uploads", params={"task": "regression"}, content=content), 400)
    assert "high" in msg
    assert "row 2" in msg


def test_an_unknown_upload_task_is_refused(client):
    msg = error(client.post("/api/uploads", params={"task": "ranking"}, content=regression_csv()),
                400)  # fmt: skip
    assert msg.startswith("task: 'ranking'")
    assert "regression" in msg


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"features": []}, ["features:", "at least one"]),
        ({"features": ["x1", "x3"]}, ["features:", "x3", "2 inputs"]),
        ({"features": ["x1", "cos(x1)"]}, ["features:", "cos(x1)", "x1^2"]),
        ({"features": ["x1", "x1"]}, ["features:", "twice"]),
        ({"features": [1, 2]}, ["features:", "Received: 1"]),
        ({"features": {"x1": 1}}, ["features:", "list"]),
        ({"features": ["x1"] * 40}, ["features:", "limit of 32"]),
        ({"l1": -0.1}, ["l1:", "-0.1", "[0.0, 100.0]"]),
        ({"l1": "much"}, ["l1:", "'much'"]),
        ({"l1": 1000}, ["l1:", "1000", "100.0"]),
    ],
)
def test_bad_features_and_l1_get_400_naming_the_field(client, config, words):
    msg = error(client.post("/api/sessions", json=config), 400)
    for word in words:
        assert word in msg, msg


def test_a_refused_feature_list_leaves_the_session_as_it_was(client):
    sid = create(client, {"features": ["x1", "x2", "x2^2"]})["session"]
    error(client.put(f"/api/sessions/{sid}", json={"features": ["x9"]}), 400)
    frame = client.get(f"/api/sessions/{sid}/frame").json()
    assert frame["runs"][0]["network"]["inputs"] == ["x1", "x2", "x2^2"]


def test_options_offer_the_features_and_the_regression_sets(client):
    options = client.get("/api/options").json()
    assert options["features"] == list(datasets.PLAYGROUND_FEATURES)
    tasks = {d["name"]: d["task"] for d in options["datasets"]}
    assert tasks["plane"] == tasks["gaussians"] == "regression"
    assert tasks["circles"] == "classification"
    assert options["defaults"]["features"] is None
    assert options["defaults"]["l1"] == 0.0

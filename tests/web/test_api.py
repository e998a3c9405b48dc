"""The playground's JSON API, through an HTTP client (Starlette's TestClient over httpx)."""

import base64
import json
import re
import subprocess
import sys
import threading
import time
import tomllib

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from fastapi.testclient import TestClient

from initlab import activations, datasets, initializers, optim, theory
from initlab.experiments import parse_spec
from initlab.experiments.runner import train_batch_rows
from initlab.initializers import init_params
from initlab.network import MLP, forward
from initlab.rng import streams
from initlab.train import train
from initlab.web.app import STATIC, create_app
from initlab.web.config import Limits

HE_ZEROS = {"inits": [{"name": "he"}, {"name": "zeros"}], "learning_rate": 0.1}


def strict_json(response: httpx.Response) -> dict:
    """The body as JSON, refusing NaN/Infinity (browsers' JSON.parse rejects them)."""

    def reject(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant} in the response")

    return json.loads(response.text, parse_constant=reject)


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def make_client(**limits) -> TestClient:
    return TestClient(create_app(Limits(**limits)), raise_server_exceptions=False)


def create(client, config=None, status=201) -> dict:
    r = client.post("/api/sessions", json=config or {})
    assert r.status_code == status, r.text
    return strict_json(r)


def step(client, sid, iterations, since=-1) -> dict:
    r = client.post(f"/api/sessions/{sid}/step", json={"iterations": iterations, "since": since})
    assert r.status_code == 200, r.text
    return strict_json(r)


def error(response, status) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


# --- options ---------------------------------------------------------------------------


def test_options_list_every_registered_choice(client):
    o = client.get("/api/options").json()
    assert [i["name"] for i in o["initializers"]] == initializers.INITIALIZERS.names()
    assert [d["name"] for d in o["datasets"]] == datasets.DATASETS.names()
    assert o["activations"] == activations.ACTIVATIONS.names()
    assert o["optimizers"] == optim.OPTIMIZERS.names()
    assert o["limits"] == Limits().to_dict()
    by_name = {i["name"]: i for i in o["initializers"]}
    assert by_name["random"]["args"] == [
        {"name": "scale", "default": 10.0, "required": False, "type": "float"}
    ]
    assert {a["name"]: a["required"] for a in by_name["sparse"]["args"]}["sparsity"]
    vs = {a["name"]: a for a in by_name["variance_scaling"]["args"]}
    assert vs["mode"]["choices"] == ["fan_in", "fan_out", "fan_avg"]
    assert vs["distribution"]["type"] == "choice"
    assert {a["name"]: a["type"] for a in by_name["lsuv"]["args"]}["max_iter"] == "int"
    assert by_name["xavier_uniform"]["args"][1]["type"] == "optional_choice"
    circles = next(d for d in o["datasets"] if d["name"] == "circles")
    assert (circles["points"], circles["noise"], circles["data_seed"]) == (400, 0.05, "notebook")


def test_page_and_static_files_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    # Offline: no script, style or font from another host.
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert client.get("/static/app.js").status_code == 200
    # Every static file (the page's modules import one another) is served, names no other
    # host, and every module it imports is one of them.
    names = {p.name for p in STATIC.iterdir() if p.is_file()}
    assert {"app.js", "api.js", "state.js", "plots.js"} <= names
    for name in sorted(names):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert "http://" not in r.text, name
        assert "https://" not in r.text, name
        assert set(re.findall(r'from "\./([^"]+)"', r.text)) <= names, name


# --- sessions and training ------------------------------------------------------------------


def test_a_new_session_holds_the_notebook_data_and_the_initial_state(client):
    body = create(client)
    data, frame = body["data"], body["frame"]
    nb = datasets.circles()
    np.testing.assert_array_equal(data["train"]["X"], nb.X_train)
    np.testing.assert_array_equal(data["test"]["y"], nb.y_test)
    assert frame["iteration"] == 0
    assert not frame["done"]
    (run,) = frame["runs"]
    assert run["label"] == "he"
    assert run["status"] == "training"
    assert run["history"]["iteration"] == [0]


def test_steps_train_exactly_as_initlab_train(client):
    """The session's runs train on the resumable engine: 3 steps of 100 agree with
    train(iterations=300) to 1e-12, as the engine agrees with the reference on the
    notebook's network (tests/test_engine.py; measured ~1e-15)."""
    sid = create(client, HE_ZEROS)["session"]
    for _ in range(3):
        frame = step(client, sid, 100)
    assert frame["iteration"] == 300
    data, mlp = datasets.circles(), MLP([2, 10, 5, 1])
    for run, name in zip(frame["runs"], ("he", "zeros")):
        params = init_params(mlp, streams(0).init, name)
        ref = train(mlp, params, data.X_train, data.y_train, learning_rate=0.1, iterations=300)
        assert run["train_cost"] == pytest.approx(ref.final_cost, rel=1e-12)
        assert run["train_accuracy"] == ref.accuracy(data.X_train, data.y_train)
        assert run["test_accuracy"] == ref.accuracy(data.X_test, data.y_test)


def test_he_learns_and_zeros_stays_at_half(client):
    sid = create(client, HE_ZEROS)["session"]
    first = step(client, sid, 1)
    last = step(client, sid, 3000)
    he, zeros = last["runs"]
    assert first["runs"][0]["train_accuracy"] < 0.8 < 0.95 < he["train_accuracy"]
    assert zeros["train_accuracy"] == 0.5
    assert zeros["test_accuracy"] == 0.5
    assert zeros["findings"][0]["kind"] == "symmetric"
    assert zeros["findings"][0]["severity"] == "severe"
    assert he["findings"][0]["severity"] == "ok"
    assert "symmetry not broken" in zeros["verdict"]
    assert he["findings"][0]["kind"] == "healthy"
    assert he["theory"]["phase"] == "critical"
    assert zeros["theory"]["phase"] == "ordered"


def test_history_is_sent_after_since(client):
    sid = create(client)["session"]
    step(client, sid, 10)
    step(client, sid, 10)
    assert step(client, sid, 10, since=10)["runs"][0]["history"]["iteration"] == [20, 30]
    full = client.get(f"/api/sessions/{sid}/frame", params={"since": -1}).json()
    assert full["runs"][0]["history"]["iteration"] == [0, 10, 20, 30]
    assert step(client, sid, 5, since=30)["runs"][0]["history"]["iteration"] == []
    assert step(client, sid, 5, since=30)["runs"][0]["history"]["iteration"] == [40]


def test_curves_do_not_depend_on_how_training_was_stepped(client, monkeypatch):
    """A curve point every CURVE_EVERY iterations, the spacing doubling past MAX_CURVE_POINTS:
    a reload that fast-forwards in big steps gets the same curve as 1-iteration frames."""
    from initlab.web import session as session_module

    monkeypatch.setattr(session_module, "MAX_CURVE_POINTS", 8)
    small = create(client, HE_ZEROS)["session"]
    for _ in range(130):
        step(client, small, 1, since=10**9)
    big = create(client, HE_ZEROS)["session"]
    step(client, big, 97)
    step(client, big, 33)
    a = client.get(f"/api/sessions/{small}/frame").json()["runs"]
    b = client.get(f"/api/sessions/{big}/frame").json()["runs"]
    assert a[0]["history"]["iteration"] == list(range(0, 121, 20))  # 9 points > 8: spacing 20
    assert a[0]["history"] == b[0]["history"]
    assert a[1]["history"] == b[1]["history"]
    assert a[0]["train_cost"] == b[0]["train_cost"]


def test_boundary_is_the_network_on_a_100_by_100_grid(client):
    sid = create(client)["session"]
    run = step(client, sid, 200)["runs"][0]
    b = run["boundary"]
    assert b["size"] == 100
    assert b["classes"] is None
    p = np.frombuffer(base64.b64decode(b["probability"]), dtype=np.uint8).reshape(100, 100)
    xmin, xmax, ymin, ymax = b["extent"]
    data = datasets.circles()
    X = np.vstack([data.X_train, data.X_test])
    assert xmin < X[:, 0].min()
    assert X[:, 0].max() < xmax
    assert ymin < X[:, 1].min()
    assert X[:, 1].max() < ymax
    # Row 0 is the top: the cell centre of pixel (0, 0) is (xmin + dx/2, ymax − dy/2).
    dx, dy = (xmax - xmin) / 100, (ymax - ymin) / 100
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, streams(0).init, "he")
    ref = train(mlp, params, data.X_train, data.y_train, iterations=200)
    for row, col in [(0, 0), (50, 50), (99, 10), (30, 80)]:
        x = np.array([[xmin + dx * (col + 0.5), ymax - dy * (row + 0.5)]])
        expected = ref.predict_proba(x)[0] * 255
        assert abs(int(p[row, col]) - expected) <= 0.5 + 1e-9


def test_multiclass_boundary_sends_the_winning_class():
    with make_client() as client:
        body = create(client, {"dataset": "spiral", "data_seed": 0, "points": 300})
        b = body["frame"]["runs"][0]["boundary"]
        classes = np.frombuffer(base64.b64decode(b["classes"]), dtype=np.uint8)
        prob = np.frombuffer(base64.b64decode(b["probability"]), dtype=np.uint8)
        assert classes.size == prob.size == 100 * 100
        assert set(np.unique(classes)) <= {0, 1, 2}
        assert prob.min() >= 255 // 3  # the winner of 3 classes has p ≥ 1/3
        assert body["data"]["n_classes"] == 3


def test_layers_histograms_and_theory(client):
    config = {"hidden": [32, 32, 32], "inits": [{"name": "he"}], "data_seed": 0}
    body = create(client, config)
    layers = body["frame"]["runs"][0]["layers"]
    data = datasets.circles(seed=0)
    n = len(data.y_train)
    mlp = MLP([2, 32, 32, 32, 1])
    params = init_params(mlp, streams(0).init, "he")
    cache = forward(mlp, params, data.X_train)
    prediction = theory.predict_from_data(mlp, "he", data.X_train)
    assert [layer["width"] for layer in layers] == [32, 32, 32, 1]
    for k, layer in enumerate(layers):
        assert sum(layer["activation_hist"]["counts"]) == layer["width"] * n
        assert sum(layer["gradient_hist"]["counts"]) == params[k].W.size
        assert layer["q_initial"] == pytest.approx(float(np.mean(cache.Z[k] ** 2)), rel=1e-12)
        assert layer["q_measured"] == layer["q_initial"]
        assert layer["q_predicted"] == pytest.approx(float(prediction.q[k]), rel=1e-12)
    assert layers[0]["dead_fraction"] is not None
    assert layers[-1]["dead_fraction"] is None


def test_theory_notes_why_it_has_no_prediction(client):
    runs = create(client, {"inits": [{"name": "ones"}, {"name": "lsuv"}]})["frame"]["runs"]
    ones, lsuv = runs[0]["theory"], runs[1]["theory"]
    assert ones["available"]
    assert "assumes zero-mean independent weights" in ones["note"]
    assert not lsuv["available"]
    assert "data-dependent" in lsuv["note"]
    assert all(layer["q_predicted"] is None for layer in runs[1]["layers"])


def test_diverging_run_is_reported_not_nan(client):
    config = {"hidden": [10, 10], "activation": "linear", "learning_rate": 10.0,
              "inits": [{"name": "random", "scale": 10}, {"name": "he"}]}  # fmt: skip
    sid = create(client, config)["session"]
    r = client.post(f"/api/sessions/{sid}/step", json={"iterations": 50})
    frame = strict_json(r)  # no NaN or Infinity in the JSON
    bad = frame["runs"][0]
    assert bad["status"] == "diverged"
    assert bad["diverged_at"] is not None
    assert bad["findings"][0]["kind"] == "diverged"
    assert frame["iteration"] == 50


def test_runs_stop_at_the_iteration_limit():
    with make_client(max_iterations=120) as client:
        sid = create(client)["session"]
        step(client, sid, 100)
        frame = step(client, sid, 100)
        assert frame["iteration"] == 120
        assert frame["done"]
        assert frame["runs"][0]["status"] == "finished"
        assert step(client, sid, 100)["iteration"] == 120


def test_a_step_is_cut_to_the_work_limit():
    """[2, 10, 5, 1] on 300 points: 6 · 300 · (20 + 50 + 5) = 135,000 flops per iteration."""
    with make_client(max_step_flops=135_000 * 40 + 1) as client:
        sid = create(client)["session"]
        assert step(client, sid, 1000)["iteration"] == 40
        assert step(client, sid, 15)["iteration"] == 55
    with make_client(max_step_flops=1) as client:  # at least one iteration
        assert step(client, create(client)["session"], 1000)["iteration"] == 1


def test_reset_reinitializes_with_the_same_or_a_new_seed(client):
    body = create(client, HE_ZEROS)
    sid, start = body["session"], body["frame"]
    step(client, sid, 500)
    same = client.post(f"/api/sessions/{sid}/reset", json={"seed": None}).json()["frame"]
    assert same == start
    new = client.post(f"/api/sessions/{sid}/reset", json={"seed": 7}).json()["frame"]
    assert new["iteration"] == 0
    assert new["runs"][0]["train_cost"] != start["runs"][0]["train_cost"]


def test_reconfigure_restarts_and_a_rejected_config_changes_nothing(client):
    sid = create(client)["session"]
    step(client, sid, 100)
    msg = error(client.put(f"/api/sessions/{sid}", json={"hidden": [10, 1000]}), 400)
    assert "1000" in msg
    assert "64" in msg
    frame = client.get(f"/api/sessions/{sid}/frame").json()
    assert frame["iteration"] == 100
    body = client.put(f"/api/sessions/{sid}", json={"hidden": [4], "activation": "tanh"}).json()
    assert body["frame"]["iteration"] == 0
    assert [layer["width"] for layer in body["frame"]["runs"][0]["layers"]] == [4, 1]


# --- export --------------------------------------------------------------------------------


def test_exported_spec_reproduces_the_runs(client):
    config = {**HE_ZEROS, "hidden": [8, 8], "activation": "tanh", "optimizer": "adam",
              "learning_rate": 0.01, "batch_size": 64, "l2": 0.01, "seed": 3,
              "inits": [{"name": "glorot_uniform"}, {"name": "random", "scale": 0.5}],
              "dataset": "moons", "noise": 0.2, "points": 200, "data_seed": 5}  # fmt: skip
    sid = create(client, config)["session"]
    frame = step(client, sid, 250)
    text = client.get(f"/api/sessions/{sid}/export/spec").text
    spec = parse_spec(tomllib.loads(text))
    rows = train_batch_rows(spec.runs())
    assert [r.config["init"] for r in rows] == [{"name": "glorot_uniform"},
                                                {"name": "random", "scale": 0.5}]  # fmt: skip
    for row, run in zip(rows, frame["runs"]):
        assert row.iterations_run == 250
        assert row.final_cost == pytest.approx(run["train_cost"], rel=1e-9)
        assert row.test_accuracy == run["test_accuracy"]


def test_exported_results_hold_the_whole_history(client):
    sid = create(client, HE_ZEROS)["session"]
    for _ in range(4):
        step(client, sid, 25, since=10**9)
    r = client.get(f"/api/sessions/{sid}/export/results")
    assert "attachment" in r.headers["content-disposition"]
    results = strict_json(r)
    assert results["iteration"] == 100
    assert results["config"]["learning_rate"] == 0.1
    he = results["runs"][0]
    assert he["history"]["iteration"] == list(range(0, 101, 10))
    assert he["layer_sizes"] == [2, 10, 5, 1]
    assert "verdict" in he


# --- uploads --------------------------------------------------------------------------------


def blobs_csv(rows: int, features: int = 2) -> bytes:
    rng = np.random.default_rng(0)
    header = ",".join(f"x{i}" for i in range(features)) + ",label\n"
    lines = []
    for i in range(rows):
        label = i % 2
        x = rng.normal(2.0 * label - 1.0, 0.6, size=features)
        lines.append(",".join(f"{v:.5f}" for v in x) + f",{'ab'[label]}\n")
    return (header + "".join(lines)).encode()


def test_upload_a_csv_and_train_on_it(client):
    r = client.post("/api/uploads", params={"name": "my blobs.csv"}, content=blobs_csv(120))
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["name"], up["rows"], up["features"], up["classes"]) == ("my_blobs.csv", 120, 2, 2)
    body = create(client, {"dataset": up["dataset"], "data_seed": 0, "test_fraction": 0.25})
    assert body["data"]["label_names"] == ["a", "b"]
    assert len(body["data"]["train"]["y"]) + len(body["data"]["test"]["y"]) == 120
    frame = step(client, body["session"], 300)
    assert frame["runs"][0]["train_accuracy"] > 0.9
    spec = client.get(f"/api/sessions/{body['session']}/export/spec").text
    assert 'dataset = "my_blobs.csv"' in spec
    assert "save it as my_blobs.csv" in spec
    # The same bytes are the same upload.
    again = client.post("/api/uploads", params={"name": "other.csv"}, content=blobs_csv(120))
    assert again.json()["dataset"] == up["dataset"]


def test_uploads_with_more_than_two_features_have_no_boundary(client):
    up = client.post("/api/uploads", content=blobs_csv(60, features=3)).json()
    run = create(client, {"dataset": up["dataset"], "data_seed": 0})["frame"]["runs"][0]
    assert run["boundary"] is None
    assert run["layers"][0]["width"] == 10


def test_oversized_upload_is_refused_with_the_limit():
    with make_client(max_upload_bytes=1000) as client:
        msg = error(client.post("/api/uploads", content=blobs_csv(200)), 413)
        assert "1,000 bytes" in msg
        # Without a Content-Length header the stream is cut at the limit all the same.
        chunks = (blobs_csv(200)[i : i + 256] for i in range(0, 4000, 256))
        assert error(client.post("/api/uploads", content=chunks), 413) == msg


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"x1,x2,label\n1,2,a\n3,oops,b\n", "'x2' must be numeric"),
        (b"x1,x2,y\n1,2,a\n3,4,b\n", "'label' not found"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_bad_csv_uploads_name_the_problem(client, content, words):
    assert words in error(client.post("/api/uploads", content=content), 400)


def test_uploads_over_the_row_or_feature_limit_are_refused():
    with make_client(max_points=50, max_features=2) as client:
        msg = error(client.post("/api/uploads", content=blobs_csv(60, features=3)), 400)
        assert "60 rows (the limit is 50)" in msg
        assert "3 features (the limit is 2)" in msg


def test_unknown_upload_id(client):
    msg = error(client.post("/api/sessions", json={"dataset": "upload:feedbeef"}), 400)
    assert "upload the CSV file again" in msg


# --- limits and bad requests ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"hidden": [10] * 9}, "9 hidden layers is over this server's limit of 8"),
        ({"hidden": [65]}, "width of 65"),
        ({"hidden": "10,x"}, "hidden: '10,x'"),
        ({"points": 5000}, "points: 5000 is not allowed; give an integer from 4 to 2000"),
        ({"inits": [{"name": "he"}] * 5}, "give 1 to 4"),
        ({"inits": []}, "give 1 to 4"),
        ({"inits": [{"name": "nope"}]}, "initializer 'nope' is not registered"),
        ({"inits": [{"name": "random", "scale": -1}]}, "scale=-1"),
        ({"inits": [{"name": "random", "bogus": 1}]}, "Bad arguments for initializer 'random'"),
        ({"inits": [{"name": "dirac"}]}, "dirac cannot initialize [2, 10, 5, 1]"),
        ({"dataset": "mnist"}, "dataset: 'mnist' is not allowed; choose one of"),
        ({"dataset": "moons", "data_seed": "notebook"}, "give an integer ≥ 0"),
        ({"activation": "swish"}, "activation: 'swish'"),
        ({"optimizer": "lbfgs"}, "optimizer: 'lbfgs'"),
        ({"learning_rate": 0}, "learning_rate: 0"),
        ({"learning_rate": "fast"}, "learning_rate: 'fast'"),
        ({"test_fraction": 1.5}, "test_fraction: 1.5"),
        ({"points": 4, "test_fraction": 0.1}, "each side needs at least one"),
        ({"noise": -1}, "noise: -1"),
        ({"seed": -3}, "seed: -3"),
        ({"batch_size": 1.5}, "batch_size: 1.5"),
        ({"colour": "red"}, "Unknown field(s) 'colour'"),
    ],
)
def test_bad_configs_get_clear_errors(client, config, words):
    assert words in error(client.post("/api/sessions", json=config), 400)


def test_bad_requests_name_the_problem(client):
    sid = create(client)["session"]
    msg = error(client.post(f"/api/sessions/{sid}/step", json={"iterations": 10**6}), 400)
    assert msg == "iterations: 1000000 is not allowed; give an integer from 1 to 5000"
    assert "not valid JSON" in error(
        client.post(
            "/api/sessions", content=b"{oops", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert "not valid JSON" in error(client.post("/api/sessions", content=b"{oops"), 400)
    assert "JSON object" in error(client.post("/api/sessions", json=[1, 2]), 400)
    assert "Unknown or expired session 'nope'" in error(client.get("/api/sessions/nope/frame"), 404)
    assert "seed: -1" in error(client.post(f"/api/sessions/{sid}/reset", json={"seed": -1}), 400)
    assert "since" in error(client.get(f"/api/sessions/{sid}/frame?since=x"), 422)
    # …and after all that, the session still trains.
    assert step(client, sid, 10)["iteration"] == 10


def test_a_crash_in_one_request_does_not_stop_the_server(monkeypatch):
    from initlab.web import frames

    with make_client() as client:
        good = create(client)["session"]
        bad = create(client)["session"]
        real = frames.frame

        def broken(session, since=-1):
            if session.id == bad:
                raise RuntimeError("boom")
            return real(session, since)

        monkeypatch.setattr(frames, "frame", broken)
        msg = error(client.post(f"/api/sessions/{bad}/step", json={"iterations": 1}), 500)
        assert "boom" in msg
        assert "the server goes on" in msg
        assert step(client, good, 10)["iteration"] == 10


# --- isolation, limits on sessions, idle clean-up ------------------------------------------


def test_sessions_are_isolated_even_when_stepped_concurrently(client):
    a = create(client, HE_ZEROS)["session"]
    b = create(client, {**HE_ZEROS, "seed": 1})["session"]
    results = {}

    def worker(sid):
        for _ in range(10):
            frame = step(client, sid, 30, since=10**9)
        results[sid] = frame

    threads = [threading.Thread(target=worker, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alone = create(client, HE_ZEROS)["session"]
    reference = step(client, alone, 300, since=10**9)
    assert results[a]["iteration"] == results[b]["iteration"] == 300
    assert results[a]["runs"][0]["train_cost"] == reference["runs"][0]["train_cost"]
    assert results[b]["runs"][0]["train_cost"] != reference["runs"][0]["train_cost"]


def test_the_session_limit_is_enforced():
    with make_client(max_sessions=2) as client:
        first = create(client)["session"]
        create(client)
        msg = error(client.post("/api/sessions", json={}), 429)
        assert "limit (max_sessions=2)" in msg
        assert client.delete(f"/api/sessions/{first}").status_code == 204
        create(client)


def test_idle_sessions_are_removed():
    with make_client(idle_seconds=60) as client:
        now = [1000.0]
        store = client.app.state.store
        store.clock = lambda: now[0]
        old = create(client)["session"]
        now[0] += 30
        kept = create(client)["session"]
        now[0] += 45  # old: idle 75 s; kept: 45 s
        assert store.expire() == 1
        assert "expired" in error(client.get(f"/api/sessions/{old}/frame"), 404)
        assert client.get(f"/api/sessions/{kept}/frame").status_code == 200
        now[0] += 61
        assert "expired" in error(client.get(f"/api/sessions/{kept}/frame"), 404)


def test_the_server_removes_idle_sessions_by_itself():
    """No request needed: a background task sweeps every max(1 s, idle/4)."""
    with make_client(idle_seconds=0.2) as client:
        create(client)
        store = client.app.state.store
        assert len(store) == 1
        deadline = time.monotonic() + 10
        while len(store) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(store) == 0


# --- the command -----------------------------------------------------------------------------


def test_initlab_serve_prints_its_address_and_serves():
    proc = subprocess.Popen(
        [sys.executable, "-c", "from initlab.cli import main; main()", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("initlab playground: http://127.0.0.1:"), line
        url = line.split()[2]
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(url + "api/options", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        assert r.status_code == 200
        assert r.json()["limits"]["max_width"] == 64
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_initlab_serve_rejects_bad_options():
    out = subprocess.run(
        [sys.executable, "-c", "from initlab.cli import main; main()", "serve", "--max-width", "0"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "--max-width must be a positive integer, not 0" in out.stderr


def test_oversized_request_bodies_are_refused_before_reading():
    with make_client(max_request_bytes=2000) as client:
        big = {"inits": [{"name": "he"}], "padding": "x" * 5000}
        msg = error(client.post("/api/sessions", json=big), 413)
        assert "limit of 2,000 bytes" in msg
        chunks = (b'{"pad": "' + b"x" * 300 + b'"}' for _ in range(10))  # no Content-Length
        assert error(client.post("/api/sessions", content=chunks), 413) == msg
        # Uploads have their own, larger limit; small bodies pass.
        assert client.post("/api/uploads", content=blobs_csv(150)).status_code == 201
        assert create(client)["frame"]["iteration"] == 0


def test_old_uploads_are_dropped_past_the_limit():
    with make_client(max_uploads=2) as client:
        first = client.post("/api/uploads", params={"name": "first.csv"}, content=blobs_csv(40))
        sid = create(client, {"dataset": first.json()["dataset"], "data_seed": 0})["session"]
        ids = [client.post("/api/uploads", content=blobs_csv(41 + k)).json()["dataset"]
               for k in range(2)]  # fmt: skip
        assert "upload the CSV file again" in error(
            client.post("/api/sessions", json={"dataset": first.json()["dataset"]}), 400
        )
        create(client, {"dataset": ids[1], "data_seed": 0})
        # A session already on the dropped file keeps its data, exports, and says what is
        # wrong when it needs the file again.
        assert step(client, sid, 10)["iteration"] == 10
        assert 'dataset = "first.csv"' in client.get(f"/api/sessions/{sid}/export/spec").text
        msg = error(client.post(f"/api/sessions/{sid}/reset", json={}), 400)
        assert "upload the CSV file again" in msg


def test_uploads_over_the_class_limit_are_refused():
    rows = "".join(f"{k},{k % 7},{k}\n" for k in range(30))
    with make_client(max_classes=20) as client:
        msg = error(client.post("/api/uploads", content=b"x1,x2,label\n" + rows.encode()), 400)
        assert "30 classes (the limit is 20)" in msg

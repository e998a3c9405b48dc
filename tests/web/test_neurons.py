"""The network diagram's data (initlab.web.neurons): every neuron's map over the input plane,
the weights and each neuron's activation histogram, checked against the library's own forward
pass on independently built grids, and the zeros-vs-He lesson the maps must show."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from fastapi.testclient import TestClient

from initlab import datasets
from initlab.initializers import init_params
from initlab.network import MLP, forward_columns
from initlab.rng import streams
from initlab.train import train
from initlab.web.app import create_app
from initlab.web.config import Limits
from initlab.web.neurons import dequantize, quantize
from tests.web.test_api import blobs_csv, create, step, strict_json

GRID = Limits().neuron_grid


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def decode_maps(network: dict) -> list[np.ndarray]:
    """Per layer: the decoded values ``(n[l], g²)`` of the frame's quantized maps."""
    size = network["maps"]["size"]
    out = []
    for n, layer in zip(network["sizes"], network["maps"]["layers"]):
        q = np.frombuffer(base64.b64decode(layer["values"]), dtype=np.uint8).reshape(n, size**2)
        out.append(dequantize(q, layer["low"], layer["high"]))
    return out


def raw_maps(network: dict) -> list[np.ndarray]:
    return [np.frombuffer(base64.b64decode(layer["values"]), dtype=np.uint8).reshape(n, -1)
            for n, layer in zip(network["sizes"], network["maps"]["layers"])]  # fmt: skip


def float32s(b64: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").reshape(shape).astype(np.float64)


def cell_centres(extent: list[float], size: int) -> np.ndarray:
    """Pixel (row, col) ↦ (xmin + dx·(col + ½), ymax − dy·(row + ½)), row-major: written out
    here with a double loop, apart from the server's meshgrid."""
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / size, (ymax - ymin) / size
    points = [(xmin + dx * (col + 0.5), ymax - dy * (row + 0.5))
              for row in range(size) for col in range(size)]  # fmt: skip
    return np.array(points).T


def test_maps_are_the_networks_activations_on_the_grid(client):
    """After 200 iterations the maps are forward_columns' A[0] … A[L] of the reference loop's
    parameters on the grid's cell centres, to the quantization step: |error| ≤ (high − low)/510
    (half of one of 255 levels), plus 1e-9 for the engine-vs-reference difference (~1e-12)."""
    sid = create(client)["session"]
    net = step(client, sid, 200)["runs"][0]["network"]
    assert net["sizes"] == [2, 10, 5, 1]
    assert net["activations"] == ["relu", "relu", "sigmoid"]
    assert net["note"] is None
    assert net["maps"]["size"] == GRID == 24
    data, mlp = datasets.circles(), MLP([2, 10, 5, 1])
    ref = train(mlp, init_params(mlp, streams(0).init, "he"), data.X_train, data.y_train,
                iterations=200)  # fmt: skip
    grid = cell_centres(net["maps"]["extent"], GRID)
    expected = forward_columns(mlp, ref.params, grid).A
    decoded = decode_maps(net)
    assert len(decoded) == len(expected) == 4
    for layer, (got, want) in enumerate(zip(decoded, expected)):
        low = np.array(net["maps"]["layers"][layer]["low"])
        high = np.array(net["maps"]["layers"][layer]["high"])
        np.testing.assert_allclose(low, want.min(axis=1), atol=1e-9)
        np.testing.assert_allclose(high, want.max(axis=1), atol=1e-9)
        step_half = (high - low)[:, None] / 510
        assert np.all(np.abs(got - want) <= step_half + 1e-9), layer
    # The inputs are the plane itself: x₁ grows to the right, x₂ upwards.
    x1, x2 = decoded[0]
    assert x1.reshape(GRID, GRID)[0, 0] < x1.reshape(GRID, GRID)[0, -1]
    assert x2.reshape(GRID, GRID)[0, 0] > x2.reshape(GRID, GRID)[-1, 0]
    # The maps share the boundary's box.
    assert net["maps"]["extent"] == step(client, sid, 1)["runs"][0]["boundary"]["extent"]


def test_weights_and_histograms_are_the_runs(client):
    """Weights as float32 (relative error ≤ 2⁻²⁴ against the reference loop's, which the
    engine's agree with to ~1e-15); each neuron's histogram is np.histogram of its activation
    over the training data in 20 bins over [min, max]."""
    sid = create(client, {"activation": "tanh"})["session"]
    net = step(client, sid, 100)["runs"][0]["network"]
    data, mlp = datasets.circles(), MLP([2, 10, 5, 1], "tanh")
    ref = train(mlp, init_params(mlp, streams(0).init, "he"), data.X_train, data.y_train,
                iterations=100)  # fmt: skip
    for k, layer in enumerate(ref.params):
        W = float32s(net["weights"][k], layer.W.shape)
        b = float32s(net["biases"][k], (layer.W.shape[0],))
        np.testing.assert_allclose(W, layer.W, rtol=2**-24, atol=1e-12)
        np.testing.assert_allclose(b, layer.b[:, 0], rtol=2**-24, atol=1e-12)
    # The histograms are binned from the session's own parameters (a value may sit on a bin
    # edge, where the engine's 1e-15 difference from the reference loop would move it).
    params = client.app.state.store.get(sid).runs[0].params
    A = forward_columns(mlp, params, data.X_train.T).A
    assert len(net["histograms"]) == 3
    for layer, per_neuron in enumerate(net["histograms"], start=1):
        assert len(per_neuron) == mlp.layer_sizes[layer]
        for j, h in enumerate(per_neuron):
            values = A[layer][j]
            assert h["low"] == pytest.approx(values.min(), abs=1e-9)
            assert h["high"] == pytest.approx(values.max(), abs=1e-9)
            counts, _ = np.histogram(values, bins=20, range=(h["low"], h["high"]))
            assert h["counts"] == counts.tolist()
            assert sum(h["counts"]) == len(data.y_train)


def test_zeros_gives_every_neuron_of_a_layer_the_same_map_and_he_does_not(client):
    """Under zeros (ReLU) every hidden unit stays 0 everywhere: one flat map per layer. Under
    ones every unit of a layer has the same incoming weights, so the same (non-flat) map, and
    training keeps them so. Under He each hidden layer has as many different maps as units."""
    config = {"inits": [{"name": "zeros"}, {"name": "ones"}, {"name": "he"}]}
    sid = create(client, config)["session"]
    zeros, ones, he = step(client, sid, 300)["runs"]
    for layer in zeros["network"]["maps"]["layers"][1:-1]:
        assert set(layer["low"]) == set(layer["high"]) == {0.0}
        assert set(base64.b64decode(layer["values"])) == {0}
    for layer, maps in enumerate(raw_maps(ones["network"])[1:-1], start=1):
        assert all(np.array_equal(maps[0], m) for m in maps), layer
        low = ones["network"]["maps"]["layers"][layer]["low"]
        high = ones["network"]["maps"]["layers"][layer]["high"]
        assert len(set(low)) == len(set(high)) == 1
        assert high[0] - low[0] > 1.0, "flat maps: identical would prove nothing"
    for layer, maps in enumerate(raw_maps(he["network"])[1:-1], start=1):
        distinct = {m.tobytes() for m in maps}
        assert len(distinct) == len(maps), layer


def test_over_the_neuron_limit_the_diagram_is_a_note():
    with TestClient(create_app(Limits(max_diagram_neurons=15))) as client:
        net = create(client)["frame"]["runs"][0]["network"]  # 10 + 5 + 1 = 16 neurons
        assert net["sizes"] == [2, 10, 5, 1]
        assert net["neurons"] == 16
        assert net["max_neurons"] == 15
        assert net["maps"] is net["weights"] is net["histograms"] is None
        assert "16 hidden and output neurons" in net["note"]
        assert "up to 15" in net["note"]
        net = create(client, {"hidden": [10, 4]})["frame"]["runs"][0]["network"]
        assert net["note"] is None
        assert len(net["maps"]["layers"]) == 4


def test_without_a_plane_there_are_weights_but_no_maps(client):
    up = client.post("/api/uploads", content=blobs_csv(60, features=3)).json()
    net = create(client, {"dataset": up["dataset"], "data_seed": 0})["frame"]["runs"][0]["network"]
    assert net["sizes"] == [3, 10, 5, 1]
    assert net["maps"] is None
    assert "2 input features" in net["note"]
    assert len(net["weights"]) == 3
    assert len(net["histograms"][0]) == 10


def test_a_diverged_runs_diagram_is_strict_json(client):
    config = {"hidden": [10, 10], "activation": "linear", "learning_rate": 10.0,
              "inits": [{"name": "random", "scale": 10}]}  # fmt: skip
    sid = create(client, config)["session"]
    r = client.post(f"/api/sessions/{sid}/step", json={"iterations": 50})
    run = strict_json(r)["runs"][0]
    assert run["status"] == "diverged"
    assert run["network"]["maps"]["size"] == GRID


def test_the_frame_stays_small():
    """The notebook's network adds ~14 KB of base64 maps and ~3 KB of histograms and weights
    to a run's frame (its 100 × 100 boundary is 13 KB)."""
    import json

    with TestClient(create_app()) as client:
        net = create(client)["frame"]["runs"][0]["network"]
    assert len(json.dumps(net)) < 20_000


def test_quantize_keeps_the_step_bound_and_odd_values():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 300)) * np.array([[1e-300], [1.0], [1e3], [1e300], [0.0]])
    q, low, high = quantize(values)
    back = dequantize(q, low, high)
    bound = (np.array(high) - np.array(low))[:, None] / 510
    assert np.all(np.abs(back - values) <= bound * (1 + 1e-12) + 1e-300)
    assert q[4].tolist() == [0] * 300
    assert low[4] == high[4] == 0.0
    # ±1e308 (a range past float64), infinities and NaN: bytes, finite ranges or None.
    odd = np.array([[-1e308, 0.0, 1e308], [np.inf, 1.0, -np.inf], [np.nan, np.nan, np.nan]])
    q, low, high = quantize(odd)
    assert q.tolist() == [[0, 128, 255], [255, 0, 0], [0, 0, 0]]
    assert (low, high) == ([-1e308, 1.0, None], [1e308, 1.0, None])

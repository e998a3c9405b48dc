"""End to end: the playground's inputs in headless Chromium (static/inputs.js, regression.js).

Toggling x₁² on the diagram's input column changes the network's input size — the diagram's
input count, the configuration, the URL — and the spec that "Export spec" downloads; L1
chosen as the regularisation trains and draws; a regression set (TF Playground's plane, and a
CSV uploaded with a real target) trains and draws its predicted surface with a colour scale
and R² in the metrics. The server and browser fixtures are test_e2e.py's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.web import test_e2e
from tests.web.test_diagram_e2e import COUNTS
from tests.web.test_e2e import (
    CAPTURE_DOWNLOADS,
    INK_PIXELS,
    READ_BLOB,
    SPEED,
    find,
    find_all,
    iteration,
    js,
    load,
    panel_texts,
    script_errors,
    select,
    wait,
    wait_ready,
)

server = test_e2e.server  # the module's fixtures: one server and one browser for these tests
browser = test_e2e.browser

pytestmark = pytest.mark.browser


def exported_spec(driver) -> str:
    """Click "Export spec" and answer the text of the file it downloads (the download caught
    as test_e2e.py catches it)."""
    js(driver, CAPTURE_DOWNLOADS)
    find(driver, "#export-spec").click()
    wait(driver, lambda d: len(js(d, "return window.__downloads")) == 1, "no download")
    (spec,) = js(driver, "return window.__downloads")
    assert spec["name"] == "initlab-playground.toml"
    return driver.execute_async_script(READ_BLOB, spec["href"])


INPUT_PIXELS = """
return [...document.querySelectorAll('section.run .net-col[data-layer="0"] canvas.neuron-map')]
  .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join(','));
"""

TINTS = """
const c = arguments[0];
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let orange = 0, blue = 0;
for (let i = 0; i < d.length; i += 4) {
  if (d[i] > d[i + 2] + 60) orange++;
  if (d[i + 2] > d[i] + 60) blue++;
}
return [orange, blue];
"""
"""Pixels of the surface's low (orange) and high (blue) ends."""


def wait_features(driver, features: list[str], message: str) -> None:
    wait(
        driver,
        lambda d: js(
            d,
            "const s = window.initlab; return s.ready && "
            "JSON.stringify(s.config.features) === arguments[0] && "
            "JSON.stringify(s.frame.runs[0].network.inputs) === arguments[0]",
            str(features).replace("'", '"').replace(" ", ""),
        ),
        message,
    )


def toggles(driver) -> dict[str, str]:
    return {
        b.get_attribute("data-feature"): b.get_attribute("aria-pressed")
        for b in find_all(driver, 'section.run[data-run="0"] .net-feature')
    }


def test_toggling_x1_squared_changes_the_input_size_and_the_spec(server, browser):
    load(browser, server + "/")
    options = js(browser, "return window.initlab.options")
    assert options["features"] == ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    assert toggles(browser) == {f: "true" if f in ("x1", "x2") else "false"
                                for f in options["features"]}  # fmt: skip
    assert js(browser, COUNTS) == [[2, 10, 5, 1]]
    before = exported_spec(browser)
    assert "features" not in before
    assert "layer_sizes = [\n    2," in before

    find(browser, '.net-feature[data-feature="x1^2"]').click()
    wait_features(browser, ["x1", "x2", "x1^2"], "toggling x₁² did not add it")
    assert js(browser, COUNTS) == [[3, 10, 5, 1]]
    assert js(browser, "return window.initlab.frame.runs[0].network.sizes[0]") == 3
    labels = [e.text for e in find_all(browser, '.net-col[data-layer="0"] .neuron-label')]
    assert labels == ["x₁", "x₂", "x₁²"]
    assert toggles(browser)["x1^2"] == "true"
    assert find(browser, "#features").get_attribute("value") == "x1,x2,x1^2"
    assert "feat=x1%2Cx2%2Cx1%5E2" in js(browser, "return location.search")
    assert "x₁, x₂" not in find(browser, "#summary").text
    assert "[3, 10, 5, 1]" in find(browser, "#summary").text
    # x₁² over the plane is its own picture, not x₁'s or x₂'s.
    assert len(set(js(browser, INPUT_PIXELS))) == 3
    find(browser, '.neuron[data-layer="0"][data-unit="2"]').click()  # up close, by its name
    wait(browser, lambda d: find(d, ".detail-title").text.startswith("input x₁²"), "no x₁²")
    find(browser, '.neuron[data-layer="0"][data-unit="2"]').click()
    after = exported_spec(browser)
    assert 'features = [\n    "x1",\n    "x2",\n    "x1^2",\n]' in after
    assert "layer_sizes = [\n    3," in after

    # It trains, and the link keeps the features.
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, "Step did not train with x₁²")
    wait_ready(browser)
    load(browser, server + "/" + js(browser, "return location.search"))
    wait_features(browser, ["x1", "x2", "x1^2"], "the link lost the features")

    # Off again, and down to one: the last one left cannot be switched off.
    find(browser, '.net-feature[data-feature="x1^2"]').click()
    wait_features(browser, ["x1", "x2"], "toggling x₁² again did not remove it")
    assert js(browser, COUNTS) == [[2, 10, 5, 1]]
    find(browser, '.net-feature[data-feature="x2"]').click()
    wait_features(browser, ["x1"], "toggling x₂ did not remove it")
    assert js(browser, COUNTS) == [[1, 10, 5, 1]]
    assert not find(browser, '.net-feature[data-feature="x1"]').is_enabled()
    assert script_errors(browser) == []


def test_l1_chosen_trains_and_draws(server, browser):
    load(browser, server + "/")
    choice = find(browser, "#regularization")
    assert choice.get_attribute("value") == "none"
    assert not find(browser, "#l1").is_displayed()
    select(choice, "l1")
    wait(browser, lambda d: find(d, "#l1").is_displayed(), "choosing L1 showed no L1 rate")
    assert not find(browser, "#l2").is_displayed()
    select(find(browser, 'select.choice[data-for="l1"]'), "0.03")
    wait(
        browser,
        lambda d: js(
            d,
            "const s = window.initlab; return s.ready && s.config.l1 === 0.03 && s.config.l2 === 0",
        ),
        "the L1 rate did not reach the session",
    )
    assert "l1=0.03" in js(browser, "return location.search")
    assert "l1 0.03" in find(browser, "#summary").text
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, "Step did not train with L1")
    wait_ready(browser)
    run = js(browser, "return window.initlab.frame.runs[0]")
    assert run["status"] != "diverged"
    assert run["train_cost"] > 0
    assert js(browser, INK_PIXELS, find(browser, "section.run canvas.boundary")) > 1000
    assert find(browser, "section.run .fig-network").get_attribute("data-drawn") == "true"
    assert panel_texts(browser)[0]["train_accuracy"].endswith("%")

    # L2 takes the rate over; none sets both to 0.
    select(choice, "l2")
    wait(
        browser,
        lambda d: js(
            d,
            "const s = window.initlab; return s.ready && s.config.l2 === 0.03 && s.config.l1 === 0",
        ),
        "choosing L2 did not move the rate",
    )
    assert find(browser, "#l2").is_displayed()
    assert not find(browser, "#l1").is_displayed()
    select(choice, "none")
    wait(
        browser,
        lambda d: js(
            d, "const s = window.initlab; return s.ready && s.config.l2 === 0 && s.config.l1 === 0"
        ),
        "choosing none did not clear the rate",
    )
    # A link with an L1 rate opens with L1 chosen.
    load(browser, server + "/?l1=0.01")
    assert find(browser, "#regularization").get_attribute("value") == "l1"
    assert js(browser, "return window.initlab.config.l1") == 0.01
    assert script_errors(browser) == []


def surface_checks(driver) -> None:
    canvas = find(driver, "section.run canvas.boundary")
    assert canvas.get_attribute("data-kind") == "surface"
    low, high = js(driver, "return window.initlab.data.target_range")
    assert float(canvas.get_attribute("data-low")) == low
    assert float(canvas.get_attribute("data-high")) == high
    assert int(canvas.get_attribute("data-train-points")) > 0
    orange, blue = js(driver, TINTS, canvas)
    assert orange > 500, (orange, blue)
    assert blue > 500, (orange, blue)
    # No probability legend: the surface draws its own colour scale.
    assert not find(driver, "section.run .legend-boundary").is_displayed()


def test_regression_on_the_plane_trains_and_draws_a_surface(server, browser):
    load(browser, server + "/?act=tanh&lr=0.03")
    labels = [o.text for o in find_all(browser, "#dataset option")]
    assert "plane (regression)" in labels
    assert "gaussians (regression)" in labels
    select(find(browser, "#dataset"), "plane")
    wait(
        browser,
        lambda d: js(
            d,
            "const s = window.initlab; return s.ready && s.config.dataset === 'plane'"
            " && s.data.task === 'regression'",
        ),
        "the session did not switch to the plane",
    )
    assert find(browser, "#data-seed").get_attribute("value") == "0"
    metric_labels = [
        e.get_attribute("textContent") for e in find_all(browser, "section.run .metric-label")
    ]
    assert "train R²" in metric_labels
    assert "test R²" in metric_labels
    surface_checks(browser)
    start = float(find(browser, "section.run .train-accuracy").text)

    for _ in range(4):
        find(browser, "#step").click()
        wait_ready(browser)
    wait(browser, lambda d: iteration(d) == 4 * SPEED, "Step did not train the plane")
    run = js(browser, "return window.initlab.frame.runs[0]")
    shown = float(find(browser, "section.run .train-accuracy").text)
    assert shown == pytest.approx(run["train_r2"], abs=5e-4)
    assert shown > start
    assert float(find(browser, "section.run .test-accuracy").text) == pytest.approx(
        run["test_r2"], abs=5e-4
    )
    surface_checks(browser)
    assert (
        find(browser, "section.run canvas.accuracy")
        .get_attribute("aria-label")
        .startswith("train and test R²")
    )
    assert js(browser, INK_PIXELS, find(browser, "section.run canvas.accuracy")) > 300
    # The diagram's maps, the verdict and the theory still work on the identity head.
    assert js(browser, COUNTS) == [[2, 10, 5, 1]]
    assert find(browser, "section.run .verdict").text
    assert find(browser, "section.run .theory-note").text.startswith("mean-field theory")

    # Back to classification: the accuracy returns.
    select(find(browser, "#dataset"), "circles")
    wait(browser, lambda d: js(d, "const s = window.initlab; return s.ready && "
                                  "s.data.task === 'classification'"), "no circles")  # fmt: skip
    assert panel_texts(browser)[0]["train_accuracy"].endswith("%")
    assert "train R²" not in [
        e.get_attribute("textContent") for e in find_all(browser, "section.run .metric-label")
    ]
    assert find(browser, "section.run canvas.boundary").get_attribute("data-kind") is None
    assert script_errors(browser) == []


def test_a_csv_with_a_real_target_uploads_as_regression(server, browser, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (150, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    csv = tmp_path / "wave.csv"
    csv.write_text("u,v,label\n" + "".join(f"{a:.4f},{b:.4f},{t:.4f}\n" for (a, b), t in zip(X, y)))
    load(browser, server + "/?act=tanh&lr=0.03")
    find(browser, "#upload-regression").click()
    find(browser, "#upload").send_keys(str(csv))
    wait(
        browser,
        lambda d: js(d, "const s = window.initlab; return s.ready && "
                        "s.config.dataset.startsWith('upload:') && s.data.task === 'regression'"),
        "the regression upload was not taken",
    )  # fmt: skip
    assert not find(browser, "#error").is_displayed()
    surface_checks(browser)
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, "Step did not train the upload")
    wait_ready(browser)
    assert float(find(browser, "section.run .train-accuracy").text) == pytest.approx(
        js(browser, "return window.initlab.frame.runs[0].train_r2"), abs=5e-4
    )
    assert script_errors(browser) == []

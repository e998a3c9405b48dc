"""End to end: reading the playground page in headless Chromium (issue 15, "Reading the page").

The boundary's and the diagram's legends are painted with the figures' own colours (checked
against the colour formulas written out here, independently of the page's code); the show-test
and discretize toggles change what the boundary draws (rings counted, cells' colours read back
against the server's probabilities); each card's badge says ready / playing / paused / done /
diverged; values at rounding noise are drawn as 0; the verdict and the theory's phase come with
a note where they seem to disagree; two cards sit side by side at 1,280 px; histogram titles
are never cut; Export spec at iteration 0 gives the session's configured iterations. The
server and browser fixtures are test_e2e.py's, plus a server with a small iteration limit.
"""

from __future__ import annotations

import base64
import math
import socket
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

from tests.web import test_e2e
from tests.web.test_e2e import (
    CAPTURE_DOWNLOADS,
    READ_BLOB,
    TIMEOUT,
    find,
    find_all,
    iteration,
    js,
    load,
    script_errors,
    wait,
    wait_ready,
)

server = test_e2e.server  # the module's fixtures: one server and one browser for these tests
browser = test_e2e.browser

pytestmark = pytest.mark.browser

LIMIT = 600  # the small server's max_iterations: a run is done there within seconds

# --- the colour formulas, written out independently of the page ------------------------------

WHITE = np.array([248, 249, 250], float)
ORANGE = np.array([245, 147, 34], float)  # #f59322, TF Playground's negative / class 0
BLUE = np.array([8, 119, 189], float)  # #0877bd, positive / class 1


def js_round(x: np.ndarray) -> np.ndarray:
    """JavaScript's Math.round: halves go up."""
    return np.floor(np.asarray(x, float) + 0.5)


def boundary_colour(byte: int) -> np.ndarray:
    """The boundary's colour of P(class 1) = byte/255: orange·0.6 into white at 0, white at
    ½, blue·0.6 at 1, linear between (plots.js BINARY_LUT)."""
    lo = WHITE + (ORANGE - WHITE) * 0.6
    hi = WHITE + (BLUE - WHITE) * 0.6
    t = byte / 255
    c = lo + (WHITE - lo) * (t / 0.5) if t < 0.5 else WHITE + (hi - WHITE) * ((t - 0.5) / 0.5)
    return js_round(c)


def diagram_colour(t: float) -> np.ndarray:
    """The diagram's colour of t in [−1, 1]: sign(t)·√|t| on orange (−) · white (0) · blue (+),
    mixed 0.9 of the way at the ends (diagram.js LUT and paintNeuron)."""
    c = math.copysign(math.sqrt(min(1.0, abs(t))), t)
    i = int(js_round(128 + c * (128 if c < 0 else 127)))
    s = (i - 128) / (128 if i < 128 else 127)
    end = ORANGE if s < 0 else BLUE
    return js_round(WHITE + (end - WHITE) * abs(s) * 0.9)


# --- helpers ----------------------------------------------------------------------------------

READ_PIXELS = """
const c = arguments[0];
return {w: c.width, h: c.height, cw: c.clientWidth, ch: c.clientHeight,
        data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)};
"""


def pixels(driver, element) -> tuple[np.ndarray, float]:
    """The canvas' RGBA pixels as an (h, w, 4) array and its backing pixels per CSS pixel."""
    got = js(driver, READ_PIXELS, element)
    rgba = np.array(got["data"], np.uint8).reshape(got["h"], got["w"], 4)
    return rgba, got["w"] / max(1, got["cw"])


def bar_colours(driver, css: str) -> np.ndarray:
    """The middle row of a legend bar: (width, 3)."""
    rgba, _ = pixels(driver, find(driver, css))
    return rgba[rgba.shape[0] // 2, :, :3].astype(float)


def badges(driver) -> list[str]:
    return [b.text for b in find_all(driver, "#runs section.run .status")]


def states(driver) -> list[str]:
    return [b.get_attribute("data-state") for b in find_all(driver, "#runs section.run .status")]


@contextmanager
def window(driver, width: int, height: int):
    size = driver.get_window_size()
    driver.set_window_size(width, height)
    try:
        yield
    finally:
        driver.set_window_size(size["width"], size["height"])


@pytest.fixture(scope="module")
def small_server():
    """The app with max_iterations = LIMIT, served like test_e2e's server."""
    import uvicorn

    from initlab.web.app import create_app
    from initlab.web.config import Limits

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Limits(max_iterations=LIMIT))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, name="initlab-reading-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the small playground server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(TIMEOUT)


# --- legends -------------------------------------------------------------------------------------


def test_legends_are_the_figures_colour_scales(server, browser):
    load(browser, server + "/?init=he&it=200")
    legend = find(browser, "section.run .legend-boundary")
    assert legend.is_displayed()
    assert find(browser, "section.run .legend-boundary .legend-title").text == "P(class 1)"
    ticks = find_all(browser, "section.run .legend-boundary .legend-ticks span")
    assert [t.text for t in ticks] == ["0", "½", "1"]
    keys = [k.text for k in find_all(browser, "section.run .legend-points .legend-key")]
    assert keys == ["train", "test"]

    # The bar: column i shows P = (i + ½)/width, at byte ⌊P·256⌋ of the boundary's table.
    bar = bar_colours(browser, "section.run .legend-boundary canvas.legend-bar")
    width = len(bar)
    assert width >= 100
    expected = np.array(
        [boundary_colour(min(255, math.floor((i + 0.5) / width * 256))) for i in range(width)]
    )
    assert np.abs(bar - expected).max() <= 1  # a level for the float → byte rounding
    assert np.abs(bar[0] - boundary_colour(0)).max() <= 1
    assert np.abs(bar[width // 2] - WHITE).max() <= 3

    # And the heatmap is drawn in those colours: every pixel of the boundary's box lies within
    # a few levels of the bar (smoothing blends neighbouring cells; points are excluded).
    canvas = find(browser, "section.run canvas.boundary")
    rgba, dpr = pixels(browser, canvas)
    cw, ch = js(browser, "return [arguments[0].clientWidth, arguments[0].clientHeight]", canvas)
    side = min(cw - 36, ch - 26)
    x0, y0 = round((30 + 4) * dpr), round((6 + 4) * dpr)
    box = rgba[y0 : y0 + round((side - 8) * dpr), x0 : x0 + round((side - 8) * dpr), :3]
    flat = box.reshape(-1, 3).astype(float)
    nearest = np.abs(flat[:, None, :] - expected[None, ::2, :]).max(axis=2).min(axis=1)
    # Points (class colours, white outlines) cover a few % of the box; the rest is the scale.
    assert np.mean(nearest <= 4) > 0.85

    # The diagram's bar: t = 2p − 1 at sign·√|t| on its own table; the output is a sigmoid.
    net_bar = bar_colours(browser, "section.run .legend-network canvas.legend-bar")
    n = len(net_bar)
    expected_net = np.array([diagram_colour(2 * (i + 0.5) / n - 1) for i in range(n)])
    assert np.abs(net_bar - expected_net).max() <= 1
    net_ticks = find_all(browser, "section.run .legend-network .legend-ticks span")
    assert [t.text for t in net_ticks] == ["−max", "0", "+max"]
    assert "sigmoid" in find(browser, "section.run .legend-network .legend-output").text
    # Orange at −max, blue at +max; the middle two columns straddle white (a zero map's colour).
    assert np.abs(net_bar[0] - js_round(WHITE + (ORANGE - WHITE) * 0.9)).max() <= 3
    assert np.abs(net_bar[-1] - js_round(WHITE + (BLUE - WHITE) * 0.9)).max() <= 3
    assert net_bar[n // 2 - 1][0] > net_bar[n // 2][0]  # more red on the negative side
    assert script_errors(browser) == []


# --- toggles ---------------------------------------------------------------------------------------


def inside_extent(points: list[list[float]], extent: list[float]) -> int:
    x0, x1, y0, y1 = extent
    return sum(x0 <= p[0] <= x1 and y0 <= p[1] <= y1 for p in points)


def test_show_test_data_hides_and_shows_the_rings(server, browser):
    load(browser, server + "/?init=he&it=100")
    canvas = find(browser, "section.run canvas.boundary")
    data = js(browser, "return window.initlab.data")
    extent = data["extent"]
    assert find(browser, "#show-test").is_selected()
    assert int(canvas.get_attribute("data-test-points")) == inside_extent(data["test"]["X"], extent)
    assert int(canvas.get_attribute("data-test-points")) > 50
    shown, _ = pixels(browser, canvas)
    assert find(browser, "section.run .key-test").is_displayed()

    find(browser, "#show-test").click()
    assert canvas.get_attribute("data-test-points") == "0"
    trains = int(canvas.get_attribute("data-train-points"))
    assert trains == inside_extent(data["train"]["X"], extent)
    hidden, _ = pixels(browser, canvas)
    changed = np.any(shown != hidden, axis=2)
    # Each ring is ~10 px across: the pixels that changed are about the rings' share.
    assert 20 * 100 < changed.sum() < 200 * 100
    assert not find(browser, "section.run .key-test").is_displayed()
    assert "showtest=0" in js(browser, "return location.search")

    # The link keeps the choice; turning it on again draws the same picture as before.
    load(browser, js(browser, "return location.href"))
    assert not find(browser, "#show-test").is_selected()
    canvas = find(browser, "section.run canvas.boundary")
    assert canvas.get_attribute("data-test-points") == "0"
    find(browser, "#show-test").click()
    again, _ = pixels(browser, canvas)
    assert np.array_equal(again, shown)
    assert "showtest" not in js(browser, "return location.search")
    assert script_errors(browser) == []


def test_discretize_draws_each_cell_in_its_class_colour(server, browser):
    load(browser, server + "/?init=he&lr=0.1&it=1500&showtest=0")
    canvas = find(browser, "section.run canvas.boundary")
    smooth, dpr = pixels(browser, canvas)
    find(browser, "#discretize").click()
    assert "discrete=1" in js(browser, "return location.search")
    hard, dpr = pixels(browser, canvas)
    run = js(browser, "return window.initlab.frame.runs[0]")
    data = js(browser, "return window.initlab.data")
    b = run["boundary"]
    size = b["size"]
    prob = np.frombuffer(base64.b64decode(b["probability"]), np.uint8).reshape(size, size)
    cw, ch = js(browser, "return [arguments[0].clientWidth, arguments[0].clientHeight]", canvas)
    side = min(cw - 36, ch - 26)
    x0, x1, y0, y1 = b["extent"]
    # Where the training points are drawn (CSS px), to keep clear of them.
    pts = np.array(
        [
            [30 + (p[0] - x0) / (x1 - x0) * side, 6 + side - (p[1] - y0) / (y1 - y0) * side]
            for p in data["train"]["X"]
        ]
    )
    checked = 0
    colour = {0: boundary_colour(0), 1: boundary_colour(255)}
    seen_smooth = set()
    for i in range(1, size - 1):
        for j in range(1, size - 1):
            cx, cy = 30 + (j + 0.5) * side / size, 6 + (i + 0.5) * side / size
            if np.min(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)) < 6:
                continue
            px, py = int(cx * dpr), int(cy * dpr)
            klass = 1 if prob[i, j] >= 128 else 0  # P ≥ ½: class 1
            assert np.array_equal(hard[py, px, :3], colour[klass]), (i, j, prob[i, j])
            seen_smooth.add(tuple(smooth[py, px, :3]))
            checked += 1
    assert checked > size * size / 2
    assert len(seen_smooth) > 20  # shaded by the probability before
    # Within the box, away from the points, the discretized picture has exactly two colours.
    ys, xs = np.mgrid[int(8 * dpr) : int((4 + side) * dpr), int(32 * dpr) : int((28 + side) * dpr)]
    far = np.ones(xs.shape, bool)
    for x, y in pts * dpr:
        far &= np.hypot(xs - x, ys - y) > 6 * dpr
    colours = {tuple(c) for c in hard[ys[far], xs[far], :3].astype(int)}
    assert colours == {tuple(colour[0].astype(int)), tuple(colour[1].astype(int))}
    assert find(browser, "section.run .legend-boundary").get_attribute("data-discrete") == "true"
    ticks = [t.text for t in find_all(browser, "section.run .legend-boundary .legend-ticks span")]
    assert ticks == ["class 0", "½", "class 1"]
    find(browser, "#discretize").click()
    assert np.array_equal(pixels(browser, canvas)[0], smooth)
    assert script_errors(browser) == []


# --- the badge -------------------------------------------------------------------------------------


def test_the_badge_goes_ready_playing_paused_done(small_server, browser):
    load(browser, small_server + "/?init=he&init=zeros&speed=10")
    assert badges(browser) == ["ready", "ready"]
    find(browser, "#play").click()
    wait(browser, lambda d: states(d) == ["playing", "playing"], "the badges never said playing")
    wait(browser, lambda d: iteration(d) >= 50, "playing did not train")
    find(browser, "#play").click()
    wait_ready(browser)
    reached = iteration(browser)
    assert 0 < reached < LIMIT
    assert badges(browser) == ["paused", "paused"]
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == reached + 10, "Step did not train")
    wait_ready(browser)
    assert badges(browser) == ["paused", "paused"]
    find(browser, "#play").click()
    wait(browser, lambda d: iteration(d) == LIMIT, f"playing did not reach {LIMIT}")
    wait_ready(browser)
    assert badges(browser) == ["done", "done"]
    assert find(browser, "#play").text == "Play"
    assert find(browser, "#status").text == "done"
    find(browser, "#play").click()  # nothing left to train: still done
    assert badges(browser) == ["done", "done"]
    find(browser, "#reset").click()
    wait(browser, lambda d: iteration(d) == 0, "Re-initialize did not go back to 0")
    wait_ready(browser)
    assert badges(browser) == ["ready", "ready"]
    assert script_errors(browser) == []


def test_the_badge_says_diverged(server, browser):
    # The course's large init, random(scale=10), on a linear network at learning rate 100:
    # the weights overflow within a few iterations (the API says iteration 6).
    load(browser, server + "/?init=random:scale=10&init=he&act=linear&lr=100")
    assert badges(browser) == ["ready", "ready"]
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) > 0, "Step did not train")
    wait_ready(browser)
    runs = js(browser, "return window.initlab.frame.runs")
    assert runs[0]["status"] == "diverged"
    at = runs[0]["diverged_at"]
    assert isinstance(at, int)
    assert 0 < at <= 50
    assert badges(browser)[0] == f"diverged at {at}"
    assert states(browser)[0] == "diverged"
    assert js(browser, "return window.initlab.error") is None


# --- numbers and words -----------------------------------------------------------------------------


def test_rounding_noise_is_drawn_as_zero(server, browser):
    load(browser, server + "/?init=zeros&init=he&lr=0.1&it=2000")
    zeros = js(browser, "return window.initlab.frame.runs")[0]
    out = zeros["layers"][-1]
    # The zeros run's output pre-activation: a bias that updates of ±½ drove to ~1e-16.
    assert 0 < out["q_measured"] <= out["q_noise"] < 1e-20
    theory = find_all(browser, "section.run canvas.theory")
    assert theory[0].get_attribute("data-noise") == "1"
    assert theory[0].get_attribute("data-low") is None  # nothing left above 0: no log axis
    assert "rounding noise" in find(browser, 'section.run[data-run="0"] .theory-note').text
    assert theory[1].get_attribute("data-noise") == "0"
    assert float(theory[1].get_attribute("data-low")) > 1e-3
    assert "rounding noise" not in find(browser, 'section.run[data-run="1"] .theory-note').text


def test_the_card_says_how_to_read_verdict_and_theory_together(server, browser):
    load(browser, server + "/?init=glorot_uniform&init=he&act=tanh")
    for i, run in enumerate(js(browser, "return window.initlab.frame.runs")):
        # Both healthy at start, both chaotic for the theory (Glorot's χ₁ 1.08, 1.33; He's
        # 0.996, 1.05 with tanh): the note gives the growth over these layers.
        assert run["verdict"].startswith("healthy")
        assert run["theory"]["phase"] == "chaotic"
        note = find(browser, f'section.run[data-run="{i}"] .reading')
        assert note.is_displayed()
        assert "Both hold" in note.text
        assert "chaotic" in note.text
        product = math.prod(c for c in run["theory"]["chi1"] if c is not None)
        assert f"×{float(f'{product:.2g}'):g} over these 2 layers" in note.text
    # He with ReLU: healthy and critical, nothing to reconcile.
    load(browser, server + "/?init=he")
    assert js(browser, "return window.initlab.frame.runs[0].theory.phase") == "critical"
    assert not find(browser, "section.run .reading").is_displayed()


# --- layout --------------------------------------------------------------------------------------


def test_cards_side_by_side_at_1280_px(server, browser):
    with window(browser, 1280, 900):
        for inits in (2, 3, 4):
            query = "&".join(["init=he", "init=zeros", "init=random", "init=lecun_normal"][:inits])
            load(browser, f"{server}/?{query}")
            boxes = js(
                browser,
                "return [...document.querySelectorAll('#runs section.run')]"
                ".map((s) => s.getBoundingClientRect().toJSON())",
            )
            assert len(boxes) == inits
            first, second = boxes[0], boxes[1]
            assert abs(first["top"] - second["top"]) < 1, inits
            assert second["left"] >= first["right"], inits
            assert js(browser, "return document.documentElement.scrollWidth") <= 1280
    assert script_errors(browser) == []


TITLES = """
return [...document.querySelectorAll('#runs .hist-title')].map((t) => ({
  text: t.textContent, title: t.title, scroll: t.scrollWidth, client: t.clientWidth,
  height: t.getBoundingClientRect().height}));
"""


def test_histogram_titles_are_not_cut(server, browser):
    with window(browser, 1280, 900):
        for query in (
            "init=he",
            "init=he&init=zeros&init=random&init=ones&hidden=8,8,8,8,8,8&act=sigmoid",
        ):
            load(browser, f"{server}/?{query}")
            titles = js(browser, TITLES)
            layers = js(browser, "return window.initlab.frame.runs.map((r) => r.layers)")
            assert len(titles) == sum(len(ls) for ls in layers)
            flat = [layer for ls in layers for layer in ls]
            for t, layer in zip(titles, flat):
                full = f"layer {layer['layer']} · {layer['activation']} · {layer['width']}"
                assert t["title"] == full
                assert t["text"] in (full, str(layer["layer"]))
                assert t["scroll"] <= t["client"], t
                assert t["height"] > 0
            if query == "init=he":  # a wide card: every title whole
                assert all(t["text"] == t["title"] for t in titles)


# --- export ------------------------------------------------------------------------------------------


def test_export_spec_at_iteration_0_has_the_configured_iterations(small_server, browser):
    load(browser, small_server + "/?init=he&speed=10")
    assert iteration(browser) == 0
    js(browser, CAPTURE_DOWNLOADS)
    find(browser, "#export-spec").click()
    wait(browser, lambda d: len(js(d, "return window.__downloads")) == 1, "no download")
    text = browser.execute_async_script(
        READ_BLOB, js(browser, "return window.__downloads")[0]["href"]
    )
    assert f"iterations = {LIMIT}" in text
    assert "before training" in text
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == 10, "Step did not train")
    wait_ready(browser)
    find(browser, "#export-spec").click()
    wait(browser, lambda d: len(js(d, "return window.__downloads")) == 2, "no second download")
    text = browser.execute_async_script(
        READ_BLOB, js(browser, "return window.__downloads")[1]["href"]
    )
    assert "iterations = 10" in text
    assert "at iteration 10" in text

"""End to end: the playground page in headless Chromium against the real server.

The server runs in a background thread (uvicorn on a free 127.0.0.1 port); Selenium drives
Debian's chromium through its chromedriver. Without them the tests skip, unless
INITLAB_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure. With INITLAB_SCREENSHOT
set, the He-vs-zeros test saves docs/playground.png (the README's picture).
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "playground.png"
TIMEOUT = 30  # seconds any single wait may take (a slow CI machine, not the expected time)
SPEED = 50  # the page's default iterations per frame (static/state.js): one Step's worth


def _unavailable(reason: str) -> None:
    if os.environ.get("INITLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (INITLAB_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(reason)


def _imports():
    try:
        import uvicorn
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        from initlab.web.app import create_app
    except ImportError as exc:
        _unavailable(f"the browser tests need initlab[web] and selenium: {exc}")
    return uvicorn, webdriver, Options, Service, create_app


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    """The real app, served by uvicorn from a background thread; yields its base URL."""
    uvicorn, *_, create_app = _imports()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="initlab-e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the playground server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium (one for the module; each test loads the page afresh)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        _unavailable(
            f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver"
        )
    _, webdriver, Options, Service, _ = _imports()
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(TIMEOUT)
    yield driver
    driver.quit()


# --- helpers --------------------------------------------------------------------------------------


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def wait(driver, condition, message: str, timeout: float = TIMEOUT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message)


def wait_ready(driver) -> None:
    """Until the page drew a frame and has no request in flight or change pending."""
    wait(
        driver,
        lambda d: js(
            d, "return !!(window.initlab && window.initlab.ready && !window.initlab.playing)"
        ),
        "the page never became ready",
    )


def load(driver, url: str) -> None:
    driver.get(url)
    wait_ready(driver)


def find(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def find_all(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def select(element, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(element).select_by_value(value)


def type_into(element, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def iteration(driver) -> int:
    return int(find(driver, "#iteration").text)


def panel_texts(driver) -> list[dict[str, str]]:
    """What every run panel shows: label, status, accuracies and costs."""
    return js(
        driver,
        """
        return [...document.querySelectorAll('#runs section.run')].map((s) => {
          const t = (c) => s.querySelector(c).textContent.trim();
          return {run: s.dataset.run, label: t('.run-label'), status: t('.status'),
                  train_accuracy: t('.train-accuracy'), test_accuracy: t('.test-accuracy'),
                  train_cost: t('.train-cost'), test_cost: t('.test-cost'),
                  verdict: t('.verdict')};
        });
        """,
    )


def percent(text: str) -> float:
    assert text.endswith("%"), text
    return float(text[:-1])


INK_PIXELS = """
const c = arguments[0];
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let n = 0;
for (let i = 0; i < d.length; i += 4) {
  if (d[i + 3] > 0 && !(d[i] > 240 && d[i + 1] > 240 && d[i + 2] > 240)) n++;
}
return n;
"""


def controls(driver) -> dict:
    """The controls' values, initializer rows included."""
    return js(
        driver,
        """
        const v = (id) => document.getElementById(id).value;
        const ids = ['dataset', 'noise', 'points', 'test-fraction', 'data-seed', 'hidden',
                     'activation', 'optimizer', 'learning-rate', 'batch-size', 'l2', 'seed',
                     'speed'];
        const out = Object.fromEntries(ids.map((id) => [id, v(id)]));
        out.inits = [...document.querySelectorAll('#inits .init-row')].map((row) => ({
          name: row.querySelector('select.init-name').value,
          args: Object.fromEntries([...row.querySelectorAll('[data-arg]')]
                                   .map((i) => [i.dataset.arg, i.value])),
        }));
        return out;
        """,
    )


def script_errors(driver) -> list[str]:
    """The page's JavaScript errors since the last call (failed requests are not counted:
    the error tests make some on purpose)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and entry.get("source") != "network"
    ]


def save_screenshot(driver, path: Path) -> None:
    """The whole page, controls scrolled to the top, nothing focused."""
    js(driver, "document.activeElement.blur(); document.getElementById('controls').scrollTop = 0;")
    size = driver.get_window_size()
    # Tall enough for the page and the whole control column (the window includes the
    # browser's own bars: their height is the window's minus the viewport's).
    height = js(
        driver,
        "return Math.max(document.documentElement.scrollHeight,"
        " document.getElementById('controls').scrollHeight + 100)"
        " + arguments[0] - window.innerHeight",
        size["height"],
    )
    driver.set_window_size(size["width"], max(size["height"], height))
    try:
        driver.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"
        )
        wait_ready(driver)
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])


def write_blobs_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Two Gaussian blobs, header x1,x2,label."""
    rng = np.random.default_rng(seed)
    half = rows // 2
    X = np.vstack(
        [rng.normal((-1.5, -1.0), 0.6, (half, 2)), rng.normal((1.5, 1.0), 0.6, (rows - half, 2))]
    )
    y = np.r_[np.zeros(half, int), np.ones(rows - half, int)]
    lines = ["x1,x2,label", *(f"{a:.5f},{b:.5f},{c}" for (a, b), c in zip(X, y))]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- the tests ----------------------------------------------------------------------------------


def test_page_loads_with_defaults_and_draws(server, browser):
    load(browser, server + "/")
    options = js(browser, "return window.initlab.options")
    defaults = options["defaults"]
    c = controls(browser)
    assert c["dataset"] == defaults["dataset"]
    assert c["hidden"] == ",".join(map(str, defaults["hidden"]))
    assert c["activation"] == defaults["activation"]
    assert c["optimizer"] == defaults["optimizer"]
    assert float(c["learning-rate"]) == defaults["learning_rate"]
    assert int(c["seed"]) == defaults["seed"]
    assert c["data-seed"] == str(defaults["data_seed"])
    assert int(c["points"]) == defaults["points"]
    assert float(c["test-fraction"]) == defaults["test_fraction"]
    assert c["speed"] == str(SPEED)
    assert [i["name"] for i in c["inits"]] == [i["name"] for i in defaults["inits"]]
    names = [o.get_attribute("value") for o in find_all(browser, "#dataset option")]
    assert names == [d["name"] for d in options["datasets"]]
    assert len(find_all(browser, "select.init-name option")) == len(options["initializers"])
    assert find(browser, ".remove-init").get_attribute("disabled") is not None

    assert iteration(browser) == 0
    assert not find(browser, "#error").is_displayed()
    assert find(browser, "#play").text == "Play"
    panels = find_all(browser, "#runs section.run")
    assert len(panels) == 1
    assert panels[0].get_attribute("data-run") == "0"
    texts = panel_texts(browser)[0]
    assert texts["label"] == "he"
    assert texts["train_accuracy"].endswith("%")
    assert find(browser, "section.run .verdict").text.startswith("healthy")

    hist = find(browser, "section.run canvas.histograms")
    assert hist.get_attribute("data-drawn") == "true"
    assert js(browser, INK_PIXELS, hist) > 1000
    for css in ("canvas.boundary", "canvas.cost", "canvas.accuracy", "canvas.theory"):
        assert js(browser, INK_PIXELS, find(browser, f"section.run {css}")) > 100, css
    unlabeled = js(
        browser,
        "return [...document.querySelectorAll('input, select')]"
        ".filter((e) => !e.labels || !e.labels.length).map((e) => e.id || e.outerHTML)",
    )
    assert unlabeled == []

    # Up to max_runs initializers side by side; then #add-init is disabled.
    max_runs = options["limits"]["max_runs"]
    for _ in range(max_runs - 1):
        find(browser, "#add-init").click()
    assert not find(browser, "#add-init").is_enabled()
    wait(
        browser,
        lambda d: (
            js(d, "return window.initlab.ready")
            and len(find_all(d, "#runs section.run")) == max_runs
        ),
        f"{max_runs} runs were not drawn",
    )
    labels = [p["label"] for p in panel_texts(browser)]
    assert labels == [i["name"] for i in controls(browser)["inits"]]
    assert len(set(labels)) == max_runs
    find(browser, "#inits .init-row:nth-child(2) .remove-init").click()
    assert find(browser, "#add-init").is_enabled()
    wait(
        browser,
        lambda d: (
            js(d, "return window.initlab.ready")
            and len(find_all(d, "#runs section.run")) == max_runs - 1
        ),
        "removing a run did not redraw",
    )
    assert [p["label"] for p in panel_texts(browser)] == labels[:1] + labels[2:]
    assert js(browser, "return new URLSearchParams(location.search).getAll('init')") == (
        labels[:1] + labels[2:]
    )
    assert script_errors(browser) == []


@pytest.fixture(scope="module")
def he_vs_zeros(server, browser):
    """He against zeros on the course's circles, set up through the controls and played to
    about 2,000 iterations (gradient descent, learning rate 0.1). Returns what was seen."""
    load(browser, server + "/")
    select(find(browser, "#inits .init-row:nth-child(1) select.init-name"), "he")
    find(browser, "#add-init").click()
    select(find(browser, "#inits .init-row:nth-child(2) select.init-name"), "zeros")
    type_into(find(browser, "#learning-rate"), "0.1")
    select(find(browser, "#speed"), "100")
    wait(
        browser,
        lambda d: js(
            d,
            "const c = window.initlab.config; return window.initlab.ready && "
            "c.learning_rate === 0.1 && c.inits.length === 2 && "
            "document.querySelectorAll('#runs section.run').length === 2",
        ),
        "the page did not take the two inits and the learning rate",
    )
    config = js(browser, "return window.initlab.config")
    assert config["inits"] == [{"name": "he"}, {"name": "zeros"}]
    assert config["hidden"] == [10, 5]
    assert config["activation"] == "relu"
    assert config["dataset"] == "circles"
    assert config["data_seed"] == "notebook"
    assert find(browser, "#add-init").is_enabled()
    assert find(browser, ".remove-init").is_enabled()

    find(browser, "#play").click()
    wait(browser, lambda d: find(d, "#play").text == "Pause", "Play did not turn into Pause")
    seen = []

    def trained(d) -> bool:
        texts = panel_texts(d)
        seen.append(texts[0]["train_accuracy"])
        return iteration(d) >= 2000

    wait(browser, trained, "training never reached iteration 2000")
    fps = js(browser, "return window.initlab.fps")
    status_playing = find(browser, "#status").text
    find(browser, "#play").click()
    wait_ready(browser)
    return {
        "url": js(browser, "return location.href"),
        "seen": seen,
        "fps": fps,
        "status_playing": status_playing,
    }


def test_he_trains_and_zeros_stays_symmetric(browser, he_vs_zeros):
    assert find(browser, "#play").text == "Play"
    assert find(browser, "#status").text == "paused"
    assert he_vs_zeros["status_playing"].startswith("training")
    assert he_vs_zeros["fps"] > 0
    assert iteration(browser) >= 2000
    he, zeros = panel_texts(browser)
    assert he["label"] == "he"
    assert zeros["label"] == "zeros"
    assert percent(he["train_accuracy"]) > 90
    assert zeros["train_accuracy"] == "50.0%"
    assert "symmetry" in zeros["verdict"]
    assert (
        find(browser, 'section.run[data-run="1"] .verdict').get_attribute("class").split()[-1]
        == "verdict-bad"
    )
    findings = [
        li.get_attribute("textContent")
        for li in find_all(browser, 'section.run[data-run="1"] ul.findings li')
    ]
    assert any("symmetry" in f for f in findings)
    # He's accuracy rose over time, in the panel as it played and in the accumulated curve.
    first = percent(he_vs_zeros["seen"][0])
    assert first < percent(he["train_accuracy"])
    curve = js(browser, "return window.initlab.histories[0]")
    assert curve["iteration"][0] == 0
    assert curve["iteration"] == sorted(set(curve["iteration"]))
    assert curve["iteration"][-1] == iteration(browser)
    assert curve["train_accuracy"][0] < curve["train_accuracy"][-1]
    assert all(
        math.isclose(a, 0.5)
        for a in js(browser, "return window.initlab.histories[1]")["train_accuracy"]
    )
    assert script_errors(browser) == []
    if os.environ.get("INITLAB_SCREENSHOT"):
        save_screenshot(browser, SCREENSHOT)


def test_url_reproduces_the_view(browser, he_vs_zeros):
    from urllib.parse import parse_qs, urlsplit

    url = he_vs_zeros["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["init"] == ["he", "zeros"]
    assert query["lr"] == ["0.1"]
    assert query["hidden"] == ["10,5"]
    assert int(query["it"][0]) >= 2000
    before = {
        "controls": controls(browser),
        "iteration": iteration(browser),
        "panels": panel_texts(browser),
    }
    browser.get("about:blank")
    load(browser, url)
    after = {
        "controls": controls(browser),
        "iteration": iteration(browser),
        "panels": panel_texts(browser),
    }
    assert after == before
    assert after["iteration"] == int(query["it"][0])
    assert js(browser, "return location.href") == url


def test_upload_a_csv_and_train_on_it(server, browser, tmp_path):
    load(browser, server + "/")
    csv = write_blobs_csv(tmp_path / "two-blobs.csv", rows=120)
    find(browser, "#upload").send_keys(str(csv))
    wait(
        browser,
        lambda d: find(d, "#dataset").get_attribute("value").startswith("upload:"),
        "the uploaded data set was not selected",
    )
    wait(
        browser,
        lambda d: js(
            d,
            "return window.initlab.ready && "
            "window.initlab.config.dataset.startsWith('upload:') && "
            "window.initlab.data.train.y.length + window.initlab.data.test.y.length === 120",
        ),
        "the session did not switch to the uploaded data",
    )
    assert not find(browser, "#error").is_displayed()
    dataset = find(browser, "#dataset")
    chosen = [o for o in find_all(browser, "#dataset option") if o.is_selected()]
    assert [o.text for o in chosen] == ["two-blobs.csv"]
    data = js(browser, "return window.initlab.data")
    assert data["n_features"] == 2
    assert data["n_classes"] == 2
    assert len(data["train"]["y"]) + len(data["test"]["y"]) == 120
    assert "two-blobs.csv" in find(browser, "#summary").text
    assert js(browser, INK_PIXELS, find(browser, "section.run canvas.boundary")) > 1000
    assert "dataset=upload%3A" in js(browser, "return location.search")

    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, f"Step did not train {SPEED} iterations")
    wait_ready(browser)
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == 2 * SPEED, "a second Step did not train as many")
    wait_ready(browser)
    assert dataset.get_attribute("value").startswith("upload:")
    assert percent(panel_texts(browser)[0]["train_accuracy"]) > 50


def test_errors_show_the_server_message(server, browser, tmp_path):
    load(browser, server + "/")
    limits = js(browser, "return window.initlab.options.limits")
    big = write_blobs_csv(tmp_path / "big.csv", rows=limits["max_upload_bytes"] // 12)
    assert big.stat().st_size > limits["max_upload_bytes"]
    find(browser, "#upload").send_keys(str(big))
    error = find(browser, "#error")
    wait(browser, lambda d: error.is_displayed(), "no error for an oversized upload")
    assert "limit" in error.text
    assert f"{limits['max_upload_bytes']:,}" in error.text
    assert find(browser, "#dataset").get_attribute("value") == "circles"
    wait_ready(browser)

    config = js(browser, "return window.initlab.config")
    session = js(browser, "return window.initlab.session")
    type_into(find(browser, "#hidden"), "10,1000")
    wait(browser, lambda d: "hidden" in error.text, "no error for a width over the limit")
    wait_ready(browser)
    assert error.is_displayed()
    assert "1000" in error.text
    assert str(limits["max_width"]) in error.text
    # The page keeps the session it had: same configuration, panels still drawn.
    assert js(browser, "return window.initlab.config") == config
    assert js(browser, "return window.initlab.session") == session
    assert len(find_all(browser, "#runs section.run")) == 1
    assert find(browser, "section.run canvas.histograms").get_attribute("data-drawn") == "true"
    assert iteration(browser) == 0

    # Fixing the value clears the error.
    type_into(find(browser, "#hidden"), "8")
    wait(browser, lambda d: not error.is_displayed(), "the error stayed after a good change")
    wait_ready(browser)
    assert js(browser, "return window.initlab.config.hidden") == [8]


CAPTURE_DOWNLOADS = """
window.__downloads = [];
HTMLAnchorElement.prototype.click = function () {
  window.__downloads.push({name: this.download, href: this.href});
};
"""

READ_BLOB = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then((r) => r.text()).then(done, (e) => done('failed: ' + e));
"""


def test_expired_session_exports_keyboard_and_new_seed(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    load(browser, server + "/?init=he&lr=0.1&it=300")
    assert iteration(browser) == 300  # fast-forwarded from the link
    assert controls(browser)["learning-rate"] == "0.1"

    # The session expires (deleted here, with the token the page holds, as the page would):
    # Step recreates it, catches up and steps on.
    old = js(browser, "return window.initlab.session")
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const token = document.querySelector('meta[name=\"initlab-token\"]').content;"
        "fetch('/api/sessions/' + arguments[0], {method: 'DELETE',"
        " headers: {'X-Initlab-Token': token}}).then((r) => done(r.status));",
        old,
    )
    assert status == 204
    find(browser, "#step").click()
    stepped = 300 + SPEED
    wait(browser, lambda d: iteration(d) == stepped, "Step did not recover the expired session")
    wait_ready(browser)
    assert js(browser, "return window.initlab.session") != old
    assert not find(browser, "#error").is_displayed()
    seen = panel_texts(browser)
    load(browser, js(browser, "return location.href"))
    assert iteration(browser) == stepped
    assert panel_texts(browser) == seen

    # Exports: the spec (TOML) and the results (JSON) of this session, as downloads.
    js(browser, CAPTURE_DOWNLOADS)
    find(browser, "#export-spec").click()
    find(browser, "#export-results").click()
    wait(browser, lambda d: len(js(d, "return window.__downloads")) == 2, "no downloads")
    spec, results = js(browser, "return window.__downloads")
    assert spec["name"] == "initlab-playground.toml"
    assert results["name"] == "initlab-playground-results.json"
    text = browser.execute_async_script(READ_BLOB, spec["href"])
    assert "[sweep]" in text
    assert f"iterations = {stepped}" in text
    assert '"iteration"' in browser.execute_async_script(READ_BLOB, results["href"])

    # Space toggles play when the focus is not in a control.
    js(browser, "document.activeElement.blur()")
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    wait(browser, lambda d: js(d, "return window.initlab.playing"), "space did not start")
    wait(browser, lambda d: iteration(d) > stepped, "playing did not train")
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    wait_ready(browser)
    assert find(browser, "#play").text == "Play"

    # New seed: a fresh random seed in the control, the URL and the session, at iteration 0.
    find(browser, "#new-seed").click()
    wait(browser, lambda d: iteration(d) == 0, "New seed did not re-initialize")
    wait_ready(browser)
    seed = int(find(browser, "#seed").get_attribute("value"))
    assert 0 <= seed < 2**31
    assert js(browser, "return window.initlab.config.seed") == seed
    assert f"seed={seed}&" in js(browser, "return location.search")
    find(browser, "#reset").click()
    wait_ready(browser)
    assert iteration(browser) == 0
    assert js(browser, "return window.initlab.config.seed") == seed
    assert script_errors(browser) == []

"""The report in headless Chromium: it opens from file:// without a network request, its
summary table sorts and filters, the configurations ticked show their curves and boundaries,
and a store of 1,040 configurations opens.

Selenium drives Debian's chromium through its chromedriver, as the playground's tests do
(tests/web/test_e2e.py). Without them the tests skip, unless INITLAB_REQUIRE_BROWSER=1 (CI),
where a missing browser is a failure.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from initlab import report
from initlab.experiments import parse_spec
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 60  # seconds a page may take to open or a wait to hold (a slow CI machine)

SMALL = {
    "sweep": {"seeds": 2, "iterations": 40, "record_every": 10},
    "model": {"depth": [1, 2], "width": 4},
    "init": [{"name": "random", "scale": [0.1, 1.0, 10.0]}, {"name": "he"}],
    "train": {"learning_rate": 0.1},
}
SEEDED = {
    # 2 depths × 2 widths × 2 learning rates: the trained runs the large store copies.
    "sweep": {"seeds": 1, "iterations": 30, "record_every": 10},
    "model": {"depth": [1, 2], "width": [4, 8]},
    "init": [{"name": "he"}],
    "train": {"learning_rate": [0.05, 0.5]},
}
SCALES = 130
"""The large store: each of SEEDED's 8 runs under 130 scale values of ``random``, 1,040
configurations. Copies of trained runs under other configs (keys recomputed): the page only
shows what is stored, and training 1,040 runs would take minutes."""


def _unavailable(reason: str) -> None:
    if os.environ.get("INITLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (INITLAB_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium, 1,400 px wide, with networking refused by a dead proxy."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        _unavailable(f"{' and '.join(missing)} not found: install chromium and chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        _unavailable(f"the browser tests need selenium: {exc}")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--proxy-server=127.0.0.1:9",  # any request to the network would fail, and be seen
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(TIMEOUT)
    yield driver
    driver.quit()


def _report(tmp_path_factory, name: str, spec: dict) -> Path:
    store = ResultStore(tmp_path_factory.mktemp(name) / f"{name}.db")
    run_sweep(parse_spec(spec), store)
    return report.write_report(store.path)


def _large_report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    seeded = ResultStore(folder / "seeded.db")
    run_sweep(parse_spec(SEEDED), seeded)
    copies = []
    for row in seeded.rows():
        for scale in np.logspace(-2, 1, SCALES):
            config = {**row.config, "init": {"name": "random", "scale": float(scale)}}
            key = report.data.run_config(config).key
            copies.append(dataclasses.replace(row, key=key, config=config))
    store = ResultStore(folder / "large.db")
    store.add(copies)
    return report.write_report(store.path)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return _report(tmp_path_factory, "small", SMALL)


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def open_report(driver, path: Path) -> None:
    driver.get(path.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, TIMEOUT).until(
        lambda d: js(d, "return document.body.dataset.ready === 'true'"), "the page never ran"
    )
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def column(driver, key: str) -> list[str]:
    """The visible rows' cells of the column whose heading has ``data-key`` = ``key``."""
    return js(
        driver,
        """const heads = [...document.querySelectorAll('#summary-table thead th')];
        const i = heads.findIndex((th) => th.dataset.key === arguments[0]);
        return [...document.querySelectorAll('#summary-table tbody tr')]
          .filter((tr) => !tr.hidden).map((tr) => tr.cells[i].dataset.sort);""",
        key,
    )


def click_heading(driver, key: str) -> None:
    driver.find_element("css selector", f'#summary-table th[data-key="{key}"]').click()


def type_filter(driver, text: str) -> None:
    """Type ``text`` in the filter box and wait until the page applied it (it waits 120 ms
    after the last key, then marks the body with what it applied)."""
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element("id", "filter")
    box.clear()
    box.send_keys(text)
    js(driver, "document.getElementById('filter').dispatchEvent(new Event('input'))")
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: js(d, "return document.body.dataset.filter") == text.strip().lower(),
        f"the filter {text!r} was never applied",
    )


def shown(driver, view: str) -> list[int]:
    return js(
        driver,
        f"return [...document.querySelectorAll('#{view}-view .panel')]"
        ".map((p) => Number(p.dataset.config));",
    )


def test_the_report_opens_offline(browser, small):
    open_report(browser, small)
    resources = js(browser, "return performance.getEntriesByType('resource').map((r) => r.name);")
    assert resources == []  # no request at all: no script, style, font or image to fetch
    assert js(browser, "return document.images.length") == 2  # accuracy and phase, data: URIs
    assert js(browser, "return [...document.images].every((i) => i.complete && i.naturalWidth)")


def test_sorting_by_a_heading(browser, small):
    open_report(browser, small)
    click_heading(browser, "test_accuracy")
    values = [float(v) for v in column(browser, "test_accuracy")]
    assert values == sorted(values)
    click_heading(browser, "test_accuracy")
    values = [float(v) for v in column(browser, "test_accuracy")]
    assert values == sorted(values, reverse=True)
    click_heading(browser, "init")
    assert column(browser, "init") == sorted(column(browser, "init"))


def test_filtering_by_words_and_comparisons(browser, small):
    open_report(browser, small)
    type_filter(browser, "random depth=2")
    assert column(browser, "init") == ["random"] * 3
    assert column(browser, "depth") == ["2.0"] * 3
    type_filter(browser, "scale>=1")
    assert sorted(float(v) for v in column(browser, "init.scale")) == [1.0, 1.0, 10.0, 10.0]
    count = js(browser, "return document.getElementById('count').textContent")
    assert count == "4 of 8 configurations"
    type_filter(browser, "")
    assert len(column(browser, "init")) == 8


def test_ticking_configurations_shows_their_curves_and_boundaries(browser, small):
    open_report(browser, small)
    assert shown(browser, "curves") == list(range(8))  # 8 configurations: all shown at first
    browser.find_element("id", "show-none").click()
    assert shown(browser, "curves") == []
    for i in (5, 2):
        browser.find_element("css selector", f'input[data-config="{i}"]').click()
    assert shown(browser, "curves") == [2, 5]  # in the table's order
    assert shown(browser, "boundaries") == [2, 5]
    points = js(
        browser,
        "return document.querySelector('#curves-view .panel polyline.mean')"
        ".getAttribute('points').trim().split(' ').length;",
    )
    stored = ResultStore(small.with_suffix(".db"), read_only=True).rows()[0].curve["iterations"]
    assert points == len(stored) > 2  # one point per recorded iteration
    painted = js(
        browser,
        """const c = document.querySelector('#boundaries-view canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let k = 3; k < d.length; k += 4) n += d[k] > 0; return n / (d.length / 4);""",
    )
    assert painted == 1.0  # the whole grid is coloured by the network's classes
    type_filter(browser, "he")
    browser.find_element("id", "show-filtered").click()
    labels = js(
        browser,
        "return [...document.querySelectorAll('#curves-view .title')].map((t) => t.textContent);",
    )
    assert labels == ["he depth=1", "he depth=2"]


def test_a_thousand_configurations_open(browser, tmp_path_factory):
    path = _large_report(tmp_path_factory)
    size = path.stat().st_size
    assert size < 8_000_000  # a real sweep of 1,040 configurations: 5.0 MB
    open_report(browser, path)
    assert js(browser, "return document.querySelectorAll('#summary-table tbody tr').length") == 1040
    assert len(shown(browser, "curves")) == 12
    type_filter(browser, "depth=2 width=8 learning_rate=0.5 scale<0.1")
    assert len(column(browser, "init")) == 43  # the scales below 0.1: 10^(-2 + 3k/129), k < 43
    browser.find_element("id", "show-filtered").click()
    assert len(shown(browser, "boundaries")) == 43

"""End to end: the network diagram in headless Chromium (static/diagram.js).

One map per neuron, drawn from the server's maps; under zeros (and ones) the maps of a layer
are pixel-identical, under He they differ; the +/− buttons change the network through the
page's form and it trains; hovering or clicking a neuron shows it large with its weights
and histogram. The server and browser fixtures are test_e2e.py's.
"""

from __future__ import annotations

import pytest

from tests.web import test_e2e
from tests.web.test_e2e import (
    INK_PIXELS,
    SPEED,
    find,
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

PIXELS = """
const [panel, layer] = arguments;
return [...document.querySelectorAll(
    `section.run[data-run="${panel}"] .net-col[data-layer="${layer}"] canvas.neuron-map`)]
  .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join(','));
"""

COUNTS = """
return [...document.querySelectorAll('section.run')].map((s) =>
  [...s.querySelectorAll('.net-col')].map((c) => c.querySelectorAll('canvas.neuron-map').length));
"""


def pixels(driver, panel: int, layer: int) -> list[str]:
    """The RGBA bytes of every map canvas of one layer of one panel, as text."""
    return js(driver, PIXELS, panel, layer)


def wait_config(driver, hidden: list[int], message: str) -> None:
    wait(
        driver,
        lambda d: js(
            d,
            "return window.initlab.ready && "
            "JSON.stringify(window.initlab.config.hidden) === arguments[0] && "
            "JSON.stringify(window.initlab.frame.runs[0].network.sizes.slice(1, -1)) === "
            "arguments[0]",
            str(hidden).replace(" ", ""),
        ),
        message,
    )


def test_one_map_per_neuron_identical_under_zeros_and_ones_not_under_he(server, browser):
    load(browser, server + "/?init=zeros&init=ones&init=he&it=200")
    assert iteration(browser) == 200
    assert js(browser, COUNTS) == [[2, 10, 5, 1]] * 3
    for panel in range(3):
        sec = f'section.run[data-run="{panel}"]'
        assert find(browser, f"{sec} .fig-network").get_attribute("data-drawn") == "true"
        assert js(browser, INK_PIXELS, find(browser, f"{sec} canvas.net-links")) > 200
        assert find(browser, f"{sec} .net-layer-count").text == "2 hidden layers"
        assert not find(browser, f"{sec} .net-note").is_displayed()
        size = js(browser, f"return document.querySelector('{sec} canvas.neuron-map').width")
        assert size == js(browser, "return window.initlab.frame.runs[0].network.maps.size")
    white = ",".join(["248,249,250,255"] * size * size)
    for layer in (1, 2):
        zeros, ones, he = (pixels(browser, panel, layer) for panel in range(3))
        assert set(zeros) == {white}, f"zeros, layer {layer}: every unit 0 everywhere"
        assert len(set(ones)) == 1, f"ones, layer {layer}: the units should be alike"
        assert ones[0] != white, f"ones, layer {layer}: flat maps would prove nothing"
        assert len(set(he)) > 1, f"he, layer {layer}: the units should differ"
    # The inputs are the plane: x₁ and x₂, not the same picture.
    assert len(set(pixels(browser, 2, 0))) == 2
    assert script_errors(browser) == []


def test_plus_and_minus_change_the_network_and_it_trains(server, browser):
    load(browser, server + "/")
    assert js(browser, COUNTS) == [[2, 10, 5, 1]]

    find(browser, '.net-col[data-layer="1"] .net-unit-add').click()
    wait_config(browser, [11, 5], "+ on layer 1 did not make it 11 wide")
    assert find(browser, "#hidden").get_attribute("value") == "11,5"
    assert js(browser, COUNTS) == [[2, 11, 5, 1]]
    assert find(browser, '.net-col[data-layer="1"] .net-width').text == "11"

    find(browser, ".net-layer-add").click()
    wait_config(browser, [11, 5, 5], "+ layer did not add a third hidden layer")
    assert js(browser, COUNTS) == [[2, 11, 5, 5, 1]]
    assert find(browser, ".net-layer-count").text == "3 hidden layers"

    find(browser, '.net-col[data-layer="2"] .net-unit-remove').click()
    wait_config(browser, [11, 4, 5], "− on layer 2 did not make it 4 wide")
    find(browser, ".net-layer-remove").click()
    wait_config(browser, [11, 4], "− layer did not remove the last hidden layer")
    assert js(browser, COUNTS) == [[2, 11, 4, 1]]
    assert "hidden=11%2C4" in js(browser, "return location.search")

    # It trains: Step takes it to one frame's iterations, the maps move.
    assert iteration(browser) == 0
    start = pixels(browser, 0, 1)
    assert len(start) == 11
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, "Step did not train the edited network")
    wait_ready(browser)
    assert js(browser, "return window.initlab.frame.runs[0].network.sizes") == [2, 11, 4, 1]
    assert pixels(browser, 0, 1) != start
    assert script_errors(browser) == []


def test_the_buttons_keep_to_the_servers_limits(server, browser):
    load(browser, server + "/?hidden=1")
    limits = js(browser, "return window.initlab.options.limits")
    assert not find(browser, '.net-col[data-layer="1"] .net-unit-remove').is_enabled()
    assert find(browser, '.net-col[data-layer="1"] .net-unit-add').is_enabled()
    find(browser, ".net-layer-remove").click()
    wait_config(browser, [], "− layer did not remove the only hidden layer")
    assert js(browser, COUNTS) == [[2, 1]]
    assert not find(browser, ".net-layer-remove").is_enabled()
    assert find(browser, ".net-layer-count").text == "0 hidden layers"

    wide = limits["max_width"]
    load(browser, server + f"/?hidden={wide}")
    assert not find(browser, '.net-col[data-layer="1"] .net-unit-add').is_enabled()
    # 64 + 1 neurons is past the diagram's limit (64): a note, no maps, the buttons stay.
    note = find(browser, ".net-note")
    assert note.is_displayed()
    assert f"{wide + 1}" in note.text
    assert js(browser, COUNTS) == [[0, 0, 0]]
    find(browser, '.net-col[data-layer="1"] .net-unit-remove').click()
    wait_config(browser, [wide - 1], "− did not narrow the wide layer")
    assert not find(browser, ".net-note").is_displayed()
    assert js(browser, COUNTS) == [[2, wide - 1, 1]]
    # A tall column shrinks its nodes (a CSS variable set through the CSSOM, which the
    # page's content security policy allows, unlike inline style attributes).
    assert js(browser, "return document.querySelector('.neuron').offsetWidth") == 12

    deep = ",".join(["2"] * limits["max_hidden_layers"])
    load(browser, server + f"/?hidden={deep}")
    assert not find(browser, ".net-layer-add").is_enabled()
    assert script_errors(browser) == []


def test_hover_and_click_show_a_neuron_up_close(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains

    load(browser, server + "/?it=100")
    detail = find(browser, ".neuron-detail")
    assert not detail.is_displayed()
    node = find(browser, '.neuron[data-layer="1"][data-unit="2"]')
    ActionChains(browser).move_to_element(node).perform()
    wait(browser, lambda d: detail.is_displayed(), "hovering a neuron showed nothing")
    assert find(browser, ".detail-title").text.startswith("layer 1 · neuron 3 · relu")
    assert detail.get_attribute("data-layer") == "1"
    assert detail.get_attribute("data-unit") == "2"
    for css in ("canvas.detail-map", "canvas.detail-weights", "canvas.detail-hist"):
        assert js(browser, INK_PIXELS, find(browser, f".neuron-detail {css}")) > 300, css
    assert "neuron-detail pinned" not in detail.get_attribute("class")

    # Leaving the diagram hides it; a click pins it, and it stays while training.
    ActionChains(browser).move_to_element(find(browser, "#summary")).perform()
    wait(browser, lambda d: not detail.is_displayed(), "the detail stayed after leaving")
    output = find(browser, '.neuron[data-layer="3"][data-unit="0"]')
    output.click()
    wait(browser, lambda d: detail.is_displayed(), "clicking the output showed nothing")
    ActionChains(browser).move_to_element(find(browser, "#summary")).perform()
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == 100 + SPEED, "Step did not train")
    wait_ready(browser)
    assert detail.is_displayed()
    assert "pinned" in detail.get_attribute("class").split()
    assert find(browser, ".detail-title").text.startswith("output ŷ · sigmoid")
    # An input has no incoming weights; clicking it moves the pin there, clicking again unpins.
    x1 = find(browser, '.neuron[data-layer="0"][data-unit="0"]')
    x1.click()
    wait(browser, lambda d: find(d, ".detail-title").text.startswith("input x₁"), "no x₁")
    x1.click()
    ActionChains(browser).move_to_element(find(browser, "#summary")).perform()
    wait(browser, lambda d: not detail.is_displayed(), "a second click did not unpin")
    assert script_errors(browser) == []


SLIDE = """
const [id, index] = arguments;
const r = document.querySelector(`input.slider[data-for="${id}"]`);
r.value = String(index);
r.dispatchEvent(new Event('input', {bubbles: true}));
"""


def test_sliders_and_choices_set_the_fields(server, browser):
    from tests.web.test_e2e import select, type_into

    load(browser, server + "/")
    # The sliders start where the fields are: the data set's default noise (0.05), 0.25, all.
    position = "return document.querySelector(`input.slider[data-for='${arguments[0]}']`).value"
    assert js(browser, position, "noise") == "4"
    assert js(browser, position, "test-fraction") == "3"
    assert js(browser, position, "batch-size") == "0"
    assert find(browser, 'select.choice[data-for="learning-rate"]').get_attribute("value") == "0.01"

    js(browser, SLIDE, "noise", 6)  # 0.1
    js(browser, SLIDE, "test-fraction", 8)  # 0.5
    js(browser, SLIDE, "batch-size", 5)  # 16
    select(find(browser, 'select.choice[data-for="learning-rate"]'), "0.3")
    select(find(browser, 'select.choice[data-for="l2"]'), "0.01")
    wait(
        browser,
        lambda d: js(
            d,
            "const c = window.initlab.config; return window.initlab.ready && c.noise === 0.1 && "
            "c.test_fraction === 0.5 && c.batch_size === 16 && c.learning_rate === 0.3 && "
            "c.l2 === 0.01",
        ),
        "the sliders and choices did not reconfigure the session",
    )
    data = js(browser, "return window.initlab.data")
    assert len(data["train"]["y"]) == len(data["test"]["y"]) == 200
    assert find(browser, "#noise").get_attribute("value") == "0.1"
    assert find(browser, "#batch-size").get_attribute("value") == "16"
    # An exact value typed in a field stays; its choice says "other", its slider the nearest.
    type_into(find(browser, "#learning-rate"), "0.07")
    type_into(find(browser, "#batch-size"), "20")
    wait(browser, lambda d: js(d, "return window.initlab.ready && "
                               "window.initlab.config.learning_rate === 0.07"), "0.07 not taken")  # fmt: skip
    assert find(browser, 'select.choice[data-for="learning-rate"]').get_attribute("value") == ""
    assert js(browser, position, "batch-size") == "5"  # 16, the rung nearest 20
    assert js(browser, "return window.initlab.config.batch_size") == 20
    find(browser, "#step").click()
    wait(browser, lambda d: iteration(d) == SPEED, "Step did not train")
    assert script_errors(browser) == []

"""The HTML report: one offline file whose numbers are the store's, with sections that say
why they are missing when the sweep gives them nothing to show."""

import base64
import dataclasses
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import initlab
from initlab import report
from initlab.experiments import parse_spec
from initlab.experiments.config import build_data, build_mlp
from initlab.experiments.runner import run_sweep
from initlab.experiments.stats import summarize
from initlab.experiments.store import ResultStore
from initlab.network import accuracy, predict

BLOBS_3D = {"dataset": "blobs", "options": {"n_features": 3, "centers": 2}}
SPECS = {
    # depth × (random at three scales + he): every section has something to show.
    "sweep": {
        "sweep": {"seeds": 2, "iterations": 40, "record_every": 10},
        "model": {"depth": [1, 2], "width": 4},
        "init": [{"name": "random", "scale": [0.1, 1.0, 10.0]}, {"name": "he"}],
        "train": {"learning_rate": 0.1},
    },
    # A huge scale and learning rate: the deeper network diverges at iteration 4.
    "diverged": {
        "sweep": {"seeds": 2, "iterations": 20},
        "model": {"depth": [2, 4], "width": 5},
        "init": [{"name": "random", "scale": [0.3, 1e4]}],
        "train": {"learning_rate": 1e3},
    },
    # No scale, no depth axis, 3-D data: only the table, the curves and the findings.
    "flat": {
        "sweep": {"seeds": 2, "iterations": 20},
        "data": BLOBS_3D,
        "model": {"depth": 1, "width": 4},
        "init": [{"name": "he"}, {"name": "xavier_normal"}],
    },
    # A scale axis but one depth and width: accuracy against scale, no phase diagram.
    "scale_only": {
        "sweep": {"seeds": 2, "iterations": 20},
        "data": BLOBS_3D,
        "model": {"depth": 1, "width": 4},
        "init": [{"name": "random", "scale": [0.1, 1.0]}],
    },
}
VOID = {"meta", "img", "br", "hr", "link", "input"}


class Page(HTMLParser):
    """What the tests read from a report: tag balance, sections, images, references and the
    summary table's cells."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []
        self.stack: list[str] = []
        self.section: str | None = None
        self.text: dict[str, str] = {}
        self.images: list[tuple[str | None, str]] = []  # (section, src)
        self.refs: list[str] = []  # every src and href
        self.rows: list[list[tuple[dict[str, str | None], str]]] = []
        self.cell: tuple[dict[str, str | None], list[str]] | None = None
        self.ticks: list[bool] = []  # each row's "show" box: ticked or not
        self.feed(text)
        self.close()
        assert not self.stack, f"unclosed tags: {self.stack}"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "section":
            self.section = a["id"]
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "img":
            self.images.append((self.section, a["src"] or ""))
        if tag == "tr" and self.section == "summary" and "tbody" in self.stack:
            self.rows.append([])
        if tag == "input" and a.get("data-config") is not None:
            self.ticks.append("checked" in a)
        if tag == "td" and self.section == "summary" and a.get("class") != "pick":
            self.cell = (a, [])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag == "section":
            self.section = None
        if tag == "td" and self.cell is not None:
            self.rows[-1].append((self.cell[0], "".join(self.cell[1]).strip()))
            self.cell = None

    def handle_data(self, data):
        if self.section is not None:
            self.text[self.section] = self.text.get(self.section, "") + data
        if self.cell is not None:
            self.cell[1].append(data)

    def images_in(self, section: str) -> int:
        return sum(s == section for s, _ in self.images)


def explorer(text: str) -> dict:
    """The explorer's data embedded in a report."""
    start = text.index('<script type="application/json" id="explorer-data">')
    body = text[text.index(">", start) + 1 : text.index("</script>", start)]
    return json.loads(body)


def make_store(tmp_path_factory, name):
    store = ResultStore(tmp_path_factory.mktemp(name) / f"{name}.db")
    run_sweep(parse_spec(SPECS[name]), store)
    return store


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The main store, reported with at most 4 configurations in the grids (of its 8)."""
    store = make_store(tmp_path_factory, "sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report.data, "MAX_CONFIGS", 4)
        out = report.write_report(store.path)
    return store, out, Page(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    store = make_store(tmp_path_factory, "diverged")
    return store, Page(report.build_report(store))


def test_the_report_is_written_next_to_the_store_and_parses(swept):
    store, out, page = swept
    assert out == store.path.with_suffix(".html")
    assert page.errors == []
    assert set(page.text) == {"summary", "accuracy", "phase", "curves", "boundaries", "findings"}
    assert not [p.name for p in out.parent.iterdir() if p.name.endswith((".tmp", ".part"))]


def test_every_section_heading_is_its_own(swept):
    _, out, _ = swept
    text = out.read_text(encoding="utf-8")
    headings = re.findall(r'<section id="(\w+)">\n<h2>([^<]*)</h2>', text)
    assert headings == [
        ("summary", "Summary by configuration"),
        ("accuracy", "Accuracy against the initialization scale"),
        ("phase", "Phase diagram: where training works"),
        ("curves", "Cost curves"),
        ("boundaries", "Decision boundaries"),
        ("findings", "Diagnostic findings"),
    ]


def test_the_report_needs_no_network(swept):
    _, out, page = swept
    text = out.read_text(encoding="utf-8")
    for needle in ('src="http', "src='http", 'href="http', "<link", "@import", "fetch("):
        assert needle not in text
    assert (
        re.findall(r"url\((?!#)", text) == []
    )  # only references within the page    assert "<script src" not in text and text.count("<script") == 2  # data and code, inline
    assert page.refs
    assert all(r.startswith(("data:image/png;base64,", "#")) for r in page.refs)


def test_one_embedded_png_per_figure(swept):
    _, _, page = swept
    assert len(page.images) == 2  # the curves and boundaries are drawn by the page
    for section in ("accuracy", "phase"):
        assert page.images_in(section) == 1
    for _, src in page.images:
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_header_describes_the_sweep(swept):
    store, out, _ = swept
    text = out.read_text(encoding="utf-8")
    header = text[: text.index("<section")]
    facts = [
        "<dd>16 (completed 16)</dd>",  # runs
        "<dd>8</dd>",  # configurations
        "0, 1 (2 per configuration)",
        "circles",
        "depth: 1, 2",
        "init: he, random",
        "width 4",
        f"<dd>{store.rows()[0].engine}</dd>",
        f"<dd>{initlab.__version__}</dd>",
    ]
    for fact in facts:
        assert fact in header


def test_the_summary_table_holds_summarize_s_numbers(swept):
    store, _, page = swept
    expected = summarize(store.to_dataframe())
    assert len(page.rows) == len(expected) == 8
    for row in page.rows:
        init, depth, scale = (text for _, text in row[:3])
        match = expected[(expected["init"] == init) & (expected["depth"] == int(depth))]
        if scale == "—":
            match = match[match["init.scale"].isna()]
        else:
            match = match[np.isclose(match["init.scale"], float(scale), rtol=5e-3)]
        assert len(match) == 1, (init, depth, scale)
        want = match.iloc[0]
        cells = {a["data-column"]: (a, text) for a, text in row[3:]}
        assert int(cells["n"][1]) == want["n"]
        assert float(cells["trained"][0]["data-value"]) == want["trained"]
        for metric in ("final_cost", "train_accuracy", "test_accuracy"):
            attrs, text = cells[metric]
            mean, ci = want[f"{metric}_mean"], want[f"{metric}_ci95"]
            assert float(attrs["data-mean"]) == mean  # repr round-trips exactly
            assert float(attrs["data-ci95"]) == ci
            shown_mean, shown_ci = (float(part) for part in text.split("±"))
            assert shown_mean == pytest.approx(mean, rel=5e-3, abs=5e-4)
            assert shown_ci == pytest.approx(ci, rel=5e-2, abs=1e-12)


def test_summary_rows_are_sorted_by_scheme_depth_and_scale(swept):
    _, _, page = swept
    keys = [
        (row[0][1], int(row[1][1]), math.inf if row[2][1] == "—" else float(row[2][1]))
        for row in page.rows
    ]
    assert keys == sorted(keys)


def test_the_summary_states_its_definitions(swept):
    _, _, page = swept
    text = page.text["summary"]
    assert "0.5 × the loss of the best constant prediction" in text
    assert "t0.975, n−1 · s / √n" in text


def test_the_grids_say_which_configurations_they_show(swept):
    _, _, page = swept
    assert "at first 4 of 8 configurations" in page.text["curves"]
    assert "ticked in the summary table" in page.text["boundaries"]
    assert "random: mean final loss by depth and init.scale" in page.text["phase"]
    ticked = [i for i, row in enumerate(page.ticks) if row]
    assert ticked == [0, 2, 5, 7]  # evenly spread, first and last included


def test_findings_per_configuration(swept):
    _, _, page = swept
    assert page.text["findings"].count("/2") >= 8  # "healthy 2/2", …: one row a configuration


def test_sections_without_an_axis_say_why(tmp_path_factory):
    text = report.build_report(make_store(tmp_path_factory, "flat"))
    page = Page(text)
    assert page.errors == []
    assert "no scale axis" in page.text["accuracy"]
    assert "no initializer varies a numeric (scale) argument" in page.text["phase"]
    assert {c["why"] for c in explorer(text)["configs"]} == {"blobs has 3 features"}
    assert page.images == []
    assert "init: he, xavier_normal" in text


def test_a_scale_axis_without_depth_gives_no_phase_diagram(tmp_path_factory):
    page = Page(report.build_report(make_store(tmp_path_factory, "scale_only")))
    assert page.images_in("accuracy") == 1
    assert "neither depth, width nor the layer sizes vary" in page.text["phase"]
    assert page.images_in("phase") == 0


def test_a_store_with_diverged_runs(diverged):
    store, page = diverged
    frame = store.to_dataframe()
    assert (frame["status"] == "diverged").sum() == 2
    assert page.errors == []
    assert len(page.images) == 2
    lost = [row for row in page.rows if "diverged" in row[4][1]]
    assert len(lost) == 1
    assert "(2 diverged)" in lost[0][4][1]
    assert [text for _, text in lost[0][5:]] == ["—", "—", "—"]
    assert lost[0][5][0]["data-mean"] == "nan"
    assert "diverged 2/2" in page.text["findings"]


def test_boundaries_use_the_stored_parameters_of_the_stored_config(swept):
    store, _, _ = swept
    rows = store.rows()
    for row in rows:
        assert report._run_config(row.config).key == row.key
    row = next(r for r in rows if r.params is not None)
    config = report._run_config(row.config)
    data = build_data(config)
    mlp = build_mlp(config, data)
    assert accuracy(mlp, row.params, data.X_train, data.y_train) == row.train_accuracy


def test_text_from_the_store_is_escaped(swept, tmp_path):
    store, _, _ = swept
    row = next(r for r in store.rows() if r.params is not None)
    evil = "<script>alert('x')</script> & co"
    odd = dataclasses.replace(
        row,
        key="f" * 64,
        findings=[{"kind": "healthy", "message": evil, "layer": None, "value": None}],
    )
    path = tmp_path / "odd.db"
    ResultStore(path).add([odd])
    text = report.build_report(str(path))  # a path works as well as a store
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in text
    assert Page(text).errors == []


def test_an_empty_store_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.db"
    ResultStore(path)
    with pytest.raises(ValueError, match=r"empty\.db.* has no runs"):
        report.write_report(path)
    assert not path.with_suffix(".html").exists()


def test_a_missing_store_is_a_clear_error_and_creates_nothing(tmp_path):
    path = tmp_path / "nowhere" / "runs.db"
    with pytest.raises(FileNotFoundError, match=r"No result store at .*nowhere/runs\.db"):
        report.write_report(path)
    with pytest.raises(FileNotFoundError, match=r"runs\.db"):
        report.build_report(path)
    assert not path.parent.exists()
    path = tmp_path / "runs.db"
    with pytest.raises(FileNotFoundError, match=r"runs\.db"):
        report.write_report(path, tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_the_report_never_overwrites_the_store_or_writes_nowhere(swept, tmp_path):
    store, _, _ = swept
    with pytest.raises(ValueError, match="would overwrite the store"):
        report.write_report(store.path, store.path)
    target = tmp_path / "missing" / "report.html"
    with pytest.raises(FileNotFoundError, match=r"folder .*missing.* does not exist"):
        report.write_report(store.path, target)
    assert not target.parent.exists()


def test_figure_text_is_legible_and_inside_its_figure(tmp_path_factory, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from initlab.report import figures

    drawn = []
    real = figures._drawing

    def keep(fig, alt, caption):
        drawn.append(fig)
        return real(fig, alt, caption)

    monkeypatch.setattr(figures, "_drawing", keep)
    report.build_report(make_store(tmp_path_factory, "diverged"))  # 2 depths: a short diagram
    assert len(drawn) == 2
    for fig in drawn:
        fig.dpi = figures.DPI  # as saved: extents in the PNG's pixels
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        # At 1,400 px the page shows a figure at most PAGE_WIDTH_PX wide; wider ones shrink.
        shrink = min(1.0, figures.PAGE_WIDTH_PX / (fig.get_figwidth() * figures.DPI))
        hidden = {  # the labels of ticks outside the view, which matplotlib does not draw
            id(label)
            for ax in fig.axes
            for axis in (ax.xaxis, ax.yaxis)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks()
            if not min(axis.get_view_interval()) <= tick.get_loc() <= max(axis.get_view_interval())
            for label in (tick.label1, tick.label2)
        }
        for text in fig.findobj(Text):
            if not text.get_visible() or not text.get_text().strip() or id(text) in hidden:
                continue
            box = text.get_window_extent(renderer)
            inside = fig.bbox.expanded(1.001, 1.001)
            # Clipped: the colour bar's label was, on a short diagram.
            assert inside.contains(box.x0, box.y0), text.get_text()
            assert inside.contains(box.x1, box.y1), text.get_text()
            # 11 px: the smallest text a reader can be asked to read (titles: 15 px).
            assert text.get_fontsize() * figures.DPI / 72 * shrink >= 11, text.get_text()


def test_the_explorer_data_holds_every_configuration(swept):
    store, out, page = swept
    data = explorer(out.read_text(encoding="utf-8"))
    assert len(data["configs"]) == len(page.rows) == 8
    runs = {r.key: r for r in store.rows()}
    sweep = report.data.load(store)
    for i, (_, config) in enumerate(sweep.configs.iterrows()):
        entry = data["configs"][i]
        seeds = [runs[k] for k in config["_keys"]]
        first = np.array(seeds[0].curve["costs"], dtype=float)
        mean = np.mean([r.curve["costs"] for r in seeds], axis=0)
        assert data["grids"][entry["it"]] == seeds[0].curve["iterations"]
        np.testing.assert_allclose(entry["mean"], mean, rtol=5e-4)  # 4 significant digits
        assert entry["label"] == sweep.label(config)
        boundary = data["boundaries"][entry["boundary"]]
        run = min(seeds, key=lambda r: r.config["seed"])
        cfg = report._run_config(run.config)
        dataset = build_data(cfg)
        x0, x1, y0, y1 = data["data"][boundary["data"]]["extent"]
        n = data["cells"]
        grid = np.stack(np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n)), -1)
        want = predict(build_mlp(cfg, dataset), run.params, grid.reshape(-1, 2))
        cells = np.frombuffer(base64.b64decode(boundary["cells"]), dtype=np.uint8)
        assert np.array_equal(cells, want)
        assert first.size == len(entry["mean"])
    assert len(data["data"]) == 1  # one data set, stored once

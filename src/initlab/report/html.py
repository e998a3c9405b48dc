"""The report's HTML: the page, its sections and tables, and writing it to a file.

:func:`build_report` loads the sweep (:mod:`initlab.report.data`), writes each section as HTML
(escaping every text from the store) and embeds the figures of
:mod:`initlab.report.figures` as PNG ``data:`` URIs, importing that module only when a section
has a figure to draw. :func:`write_report` puts the page in a file atomically
(:func:`initlab._io.write_atomic`).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import initlab
from initlab._io import write_atomic
from initlab._validate import is_real
from initlab.experiments import stats
from initlab.experiments.store import ResultStore
from initlab.report.data import (
    Sweep,
    chosen,
    distinct,
    lines,
    load,
    missing,
    open_store,
    phase_axis,
    plus_minus,
    runs_of,
    sig,
    value,
)
from initlab.report.explore import BOUNDARY_CELLS, explorer_data

if TYPE_CHECKING:
    import pandas as pd

    from initlab.report.figures import Drawing

CURVE_CLIP = 100.0
"""Cost curves are drawn up to this multiple of the constant-prediction loss."""


def build_report(store: ResultStore | str | Path) -> str:
    """The HTML text of the report of ``store`` (a store, or the path of an existing one).

    Raises ``FileNotFoundError`` for a path where there is no store and ``ValueError`` for
    a store without runs.
    """
    sweep = load(store if isinstance(store, ResultStore) else open_store(Path(store)))
    sections = [
        _header(sweep),
        _summary_section(sweep),
        _accuracy_section(sweep),
        _phase_section(sweep),
        _curves_section(sweep),
        _boundaries_section(sweep),
        _findings_section(sweep),
    ]
    title = f"initlab report: {sweep.path.name}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_asset('report.css')}</style>\n</head>\n"
        "<body>\n" + "\n".join(sections) + "\n" + _explorer_script(sweep) + "\n</body>\n</html>\n"
    )


def write_report(store_path: str | Path, out_path: str | Path | None = None) -> Path:
    """Write the report of the store at ``store_path`` to ``out_path`` (default: the store's
    path with the suffix ``.html``) and return that path.

    The file is written whole or not at all: to a temporary file in the same folder, then
    renamed over ``out_path``. Nothing is written when the store is missing or empty.
    """
    source = Path(store_path)
    store = open_store(source)
    out = Path(out_path) if out_path is not None else source.with_suffix(".html")
    if out.resolve() == source.resolve():
        raise ValueError(f"The report {str(out)!r} would overwrite the store; give another path")
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot write the report to {str(out)!r}: the folder {str(out.parent)!r} "
            "does not exist"
        )
    write_atomic(out, build_report(store))
    return out


# --- formatting ------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _mean_ci(mean: float, ci: float, accuracy: bool) -> str:
    """``0.265 ± 0.18``: the mean (accuracies with 3 decimals), the CI to 2 digits."""
    if not math.isfinite(mean):
        return "—"
    text = f"{mean:.3f}" if accuracy else sig(mean)
    return text + plus_minus(mean, ci, text)


def _seconds(total: float) -> str:
    if total < 60:
        return f"{sig(total, 2)} s"
    if total < 3600:
        return f"{int(total // 60)} min {round(total % 60)} s"
    return f"{int(total // 3600)} h {round(total % 3600 / 60)} min"


def _listing(values: Sequence[Any], limit: int = 8) -> str:
    texts = [value(v) for v in values]
    if len(texts) <= limit:
        return ", ".join(texts)
    return f"{len(texts)} values: {', '.join(texts[:3])}, …, {texts[-1]}"


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _figure(drawing: Drawing) -> str:
    data = base64.b64encode(drawing.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(drawing.alt)}">'
        f"<figcaption>{_e(drawing.caption)}</figcaption></figure>"
    )


# --- 1. the sweep ----------------------------------------------------------------------


def _header(sweep: Sweep) -> str:
    frame, runs = sweep.frame, list(sweep.runs.values())
    status = Counter(frame["status"])
    per_config = sorted(set(sweep.configs["n"]))
    seeds = sorted(set(frame["seed"]))
    fixed = [c for c in sweep.keys if c not in sweep.varying]
    start, end = (datetime.fromtimestamp(f(r.created_at for r in runs), UTC) for f in (min, max))
    facts = [
        ("Store", str(sweep.path)),
        ("Runs", f"{len(frame)} ({', '.join(f'{k} {v}' for k, v in sorted(status.items()))})"),
        ("Configurations", str(len(sweep.configs))),
        ("Seeds", f"{_listing(seeds)} ({'/'.join(map(str, per_config))} per configuration)"),
        ("Datasets", ", ".join(sorted(set(frame["dataset"].astype(str))))),
        (
            "Varying",
            "; ".join(f"{c}: {_listing(distinct(frame[c]))}" for c in sweep.varying) or "nothing",
        ),
        ("Fixed", "; ".join(f"{c} {value(frame[c].iloc[0])}" for c in fixed) or "nothing"),
        ("initlab versions", ", ".join(sorted(set(frame["initlab_version"].astype(str))))),
        ("Engines", ", ".join(sorted(set(frame["engine"].astype(str))))),
        ("Compute", f"{_seconds(float(frame['seconds'].sum()))} in total (training time)"),
        ("Stored", f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"),
    ]
    items = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    nav = " · ".join(f'<a href="#{i}">{t}</a>' for i, t in NAV)
    return (
        f"<header>\n<h1>{_e('Sweep report: ' + sweep.path.name)}</h1>\n<dl>\n{items}\n</dl>\n"
        f'<nav>{nav}</nav>\n<p class="note">Written by initlab {_e(initlab.__version__)} '
        "from the stored runs; nothing was re-trained.</p>\n</header>"
    )


NAV = (
    ("summary", "Summary"),
    ("accuracy", "Accuracy vs scale"),
    ("phase", "Phase diagram"),
    ("curves", "Cost curves"),
    ("boundaries", "Decision boundaries"),
    ("findings", "Findings"),
)


# --- 2. the summary table --------------------------------------------------------------


def _summary_section(sweep: Sweep) -> str:
    columns = ["init", *(c for c in sweep.varying if c != "init")]
    head = (
        '<th class="pick" data-type="pick">show</th>'
        + "".join(f'<th data-key="{_e(c)}">{_e(c)}</th>' for c in columns)
        + "".join(f'<th data-key="{k}">{_e(t)}</th>' for k, t in SUMMARY_METRICS)
    )
    shown = set(chosen(sweep))
    body = [
        _summary_row(sweep, i, config, columns, i in shown)
        for i, (_, config) in enumerate(sweep.configs.iterrows())
    ]
    threshold = stats.TRAINED_FRACTION_OF_BASELINE
    notes = (
        f"<p>One row per configuration, seeds pooled. A run <em>trained</em> when it did not "
        f"diverge and its final training loss is at most {threshold:g} × the loss of the best "
        "constant prediction (the label entropy, ln 2 for balanced binary data; for a "
        "regression data set, half the targets' variance, and <em>accuracy</em> is R²). "
        "Values are "
        "mean ± the 95 % confidence half-width t<sub>0.975, n−1</sub> · s / √n (Student's t, "
        "s the sample standard deviation); a single seed has no interval. Diverged runs count "
        "in n and in trained but have no loss or accuracy.</p>\n"
        "<p>Click a heading to sort by it (again to reverse). The filter keeps the rows that "
        "contain every word typed (<code>random depth=4</code>) and meet every comparison "
        "(<code>test&gt;0.9</code>, <code>trained&lt;=0.5</code>, <code>scale&gt;=1</code>). "
        "Tick <em>show</em> to draw a configuration's cost curve and decision boundary "
        "below.</p>"
    )
    tools = (
        '<div class="tools"><input type="search" id="filter" placeholder="filter: random '
        'depth=4 test>0.9" aria-label="Filter the configurations"> <span id="count">'
        f"{len(body)} configurations</span> "
        '<button type="button" id="show-filtered">show the rows listed (up to '
        f'{MAX_SHOWN})</button> <button type="button" id="show-none">show none</button>'
        "</div>"
    )
    table = (
        f'<div class="scroll"><table class="summary" id="summary-table">\n<thead><tr>{head}'
        "</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>"
    )
    return _section("summary", "Summary by configuration", notes + "\n" + tools + "\n" + table)


SUMMARY_METRICS = (
    ("n", "n"),
    ("trained", "trained"),
    ("final_cost", "final loss"),
    ("train_accuracy", "train accuracy"),
    ("test_accuracy", "test accuracy"),
)
"""The summary's metric columns: the key the filter and the cells use, and the heading."""

MAX_SHOWN = 48
"""The most configurations the page draws at once (curves and boundaries)."""


def _summary_row(
    sweep: Sweep, index: int, config: pd.Series, columns: list[str], shown: bool
) -> str:
    """One configuration's row; each cell's ``data-sort`` is what sorting and filtering use."""
    n = int(config["n"])
    diverged = sum(run.status == "diverged" for run in runs_of(sweep, config))
    check = " checked" if shown else ""
    cells = [
        f'<td class="pick"><input type="checkbox" data-config="{index}"{check} '
        f'aria-label="show {_e(sweep.label(config))}"></td>'
    ]
    for column in columns:
        item = config[column]
        key = "" if missing(item) else repr(float(item)) if is_real(item) else str(item)
        cells.append(f'<td data-sort="{_e(key)}">{_e(value(item))}</td>')
    cells.append(f'<td class="num" data-column="n" data-sort="{n}">{n}</td>')
    cells.append(
        f'<td class="num" data-column="trained" data-value="{config["trained"]!r}" '
        f'data-sort="{config["trained"]!r}">'
        f"{round(config['trained'] * n)}/{n}"
        + (f' <span class="bad">({diverged} diverged)</span>' if diverged else "")
        + "</td>"
    )
    for metric in stats.METRICS:
        mean, ci = float(config[f"{metric}_mean"]), float(config[f"{metric}_ci95"])
        text = _mean_ci(mean, ci, accuracy=metric.endswith("accuracy"))
        sort = repr(mean) if math.isfinite(mean) else ""
        cells.append(
            f'<td class="num" data-column="{metric}" data-mean="{mean!r}" '
            f'data-ci95="{ci!r}" data-sort="{sort}">{_e(text)}</td>'
        )
    return f'<tr data-config="{index}">' + "".join(cells) + "</tr>"


# --- 3.–6. the figures -----------------------------------------------------------------


def _accuracy_section(sweep: Sweep) -> str:
    title = "Accuracy against the initialization scale"
    if not sweep.scale:
        return _section(
            "accuracy",
            title,
            _note(
                "No initializer varies a numeric argument in this sweep, so there is no "
                "scale axis to plot accuracy against."
            ),
        )
    from initlab.report import figures

    return _section("accuracy", title, _figure(figures.accuracy(sweep)))


def _phase_section(sweep: Sweep) -> str:
    title = "Phase diagram: where training works"
    axis = phase_axis(sweep)
    if not sweep.scale or axis is None:
        why = (
            "no initializer varies a numeric (scale) argument"
            if not sweep.scale
            else "neither depth, width nor the layer sizes vary"
        )
        return _section("phase", title, _note(f"No phase diagram: {why} in this sweep."))
    from initlab.report import figures

    parts = []
    for ident, part in lines(sweep).items():
        scale = sweep.scale.get(str(ident[0]))
        if scale is not None:
            parts.append(_figure(figures.phase(sweep, part, axis, scale)))
    threshold = stats.TRAINED_FRACTION_OF_BASELINE
    clip = figures.PHASE_CLIP
    intro = (
        f"<p>Mean final training loss (over the seeds that did not diverge) for each {_e(axis)}"
        " × scale, written in the cell. The colour is that loss divided by the loss of the "
        "best constant prediction on the same data, on a log scale: white, 1, learned "
        f"nothing; blue, lower, training works (≤ {threshold:g}: trained); red, higher. It "
        f"saturates at 1/{clip:g} and {clip:g}. Hatched grey cells: every seed "
        'diverged; "k/n div.": k of n seeds diverged.</p>'
    )
    return _section("phase", title, intro + "\n" + "\n".join(parts))


def _curves_section(sweep: Sweep) -> str:
    caption = (
        "Cost against iteration for the configurations ticked in the summary table (at first "
        f"{_which(sweep)}): the mean over seeds, the band from the lowest to the highest seed, "
        f"on one log scale cut at {CURVE_CLIP:g} × the constant-prediction loss (dashed). A "
        "diverged seed leaves the mean where its cost stopped being finite."
    )
    return _section("curves", "Cost curves", _explorer_view("curves", caption))


def _boundaries_section(sweep: Sweep) -> str:
    caption = (
        "The trained network's decision regions on its training data, first seed, for the "
        "configurations ticked in the summary table, from the stored parameters (labels on a "
        f"{BOUNDARY_CELLS} × {BOUNDARY_CELLS} grid over the data, padded by 1)."
    )
    return _section("boundaries", "Decision boundaries", _explorer_view("boundaries", caption))


def _which(sweep: Sweep) -> str:
    total = len(sweep.configs)
    if len(chosen(sweep)) == total:
        return f"all {total} configurations"
    return (
        f"{len(chosen(sweep))} of {total} configurations, evenly spread over the summary "
        "table's order"
    )


def _explorer_view(name: str, caption: str) -> str:
    """Where the page draws the ticked configurations' ``name`` panels."""
    return (
        f'<p class="caption">{_e(caption)}</p>\n<p class="note" id="{name}-note"></p>\n'
        f'<div class="panels" id="{name}-view"></div>\n<noscript><p class="note">This '
        "section is drawn by the page's script, which the browser did not run.</p></noscript>"
    )


def _explorer_script(sweep: Sweep) -> str:
    """The explorer's data (JSON, with ``</`` escaped so no text can end the element) and
    its script, both inline."""
    data = json.dumps(
        {**explorer_data(sweep), "clip": CURVE_CLIP, "maxShown": MAX_SHOWN},
        separators=(",", ":"),
        allow_nan=False,
    ).replace("</", "<\\/")
    return (
        f'<script type="application/json" id="explorer-data">{data}</script>\n'
        f"<script>{_asset('report.js')}</script>"
    )


def _asset(name: str) -> str:
    """A file shipped beside this module (the page's script and style)."""
    return (resources.files("initlab.report") / name).read_text(encoding="utf-8")


# --- 7. findings -----------------------------------------------------------------------


def _findings_section(sweep: Sweep) -> str:
    title = "Diagnostic findings"
    if not any(run.findings for run in sweep.runs.values()):
        return _section("findings", title, _note("The stored runs carry no diagnostic findings."))
    body = []
    for _, config in sweep.configs.iterrows():
        runs = runs_of(sweep, config)
        counts: Counter[str] = Counter()
        example: dict[str, str] = {}
        for run in runs:
            for finding in run.findings:
                example.setdefault(finding["kind"], finding["message"])
            counts.update(list(dict.fromkeys(f["kind"] for f in run.findings)))  # once a run
        top = counts.most_common(3)
        kinds = ", ".join(f"{k.replace('_', ' ')} {c}/{len(runs)}" for k, c in top) or "none"
        message = example[top[0][0]] if top else ""
        body.append(
            f"<tr><td>{_e(sweep.label(config))}</td><td>{_e(kinds)}</td><td>{_e(message)}</td></tr>"
        )
    intro = (
        "<p>The three most common findings of each configuration (in how many of its seeds "
        "each appears), and the message of the most common one from the first run that "
        "has it. Findings describe the network at initialization, dead units at the end, and "
        "divergence.</p>"
    )
    table = (
        "<table>\n<thead><tr><th>configuration</th><th>most common findings</th>"
        "<th>example</th></tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )
    return _section("findings", title, intro + "\n" + table)

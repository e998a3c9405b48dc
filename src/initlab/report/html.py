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
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import initlab
from initlab._io import write_atomic
from initlab.experiments import stats
from initlab.experiments.store import ResultStore
from initlab.report.data import (
    Sweep,
    boundary_panels,
    chosen,
    distinct,
    lines,
    load,
    open_store,
    phase_axis,
    runs_of,
    sig,
    value,
)

if TYPE_CHECKING:
    from initlab.report.figures import Drawing


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
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
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
    return text + (f" ± {sig(ci, 2)}" if math.isfinite(ci) else "")


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
    head = "".join(f"<th>{_e(c)}</th>" for c in columns) + (
        "<th>n</th><th>trained</th><th>final loss</th><th>train accuracy</th><th>test accuracy</th>"
    )
    body = []
    for _, config in sweep.configs.iterrows():
        n = int(config["n"])
        diverged = sum(run.status == "diverged" for run in runs_of(sweep, config))
        cells = [f"<td>{_e(value(config[c]))}</td>" for c in columns]
        cells.append(f'<td class="num" data-column="n">{n}</td>')
        cells.append(
            f'<td class="num" data-column="trained" data-value="{config["trained"]!r}">'
            f"{round(config['trained'] * n)}/{n}"
            + (f' <span class="bad">({diverged} diverged)</span>' if diverged else "")
            + "</td>"
        )
        for metric in stats.METRICS:
            mean, ci = float(config[f"{metric}_mean"]), float(config[f"{metric}_ci95"])
            text = _mean_ci(mean, ci, accuracy=metric.endswith("accuracy"))
            cells.append(
                f'<td class="num" data-column="{metric}" data-mean="{mean!r}" '
                f'data-ci95="{ci!r}">{_e(text)}</td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    threshold = stats.TRAINED_FRACTION_OF_BASELINE
    notes = (
        f"<p>One row per configuration, seeds pooled. A run <em>trained</em> when it did not "
        f"diverge and its final training loss is at most {threshold:g} × the loss of the best "
        "constant prediction (the label entropy, ln 2 for balanced binary data). Values are "
        "mean ± the 95 % confidence half-width t<sub>0.975, n−1</sub> · s / √n (Student's t, "
        "s the sample standard deviation); a single seed has no interval. Diverged runs count "
        "in n and in trained but have no loss or accuracy.</p>"
    )
    table = (
        f'<table class="summary">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )
    return _section("summary", "Summary by configuration", notes + "\n" + table)


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
    from initlab.report import figures

    return _section("curves", "Cost curves", _figure(figures.curves(sweep, chosen(sweep))))


def _boundaries_section(sweep: Sweep) -> str:
    title = "Decision boundaries"
    configs = chosen(sweep)
    panels, why = boundary_panels(sweep, configs)
    if not panels:
        return _section(
            "boundaries", title, _note(f"No decision boundaries, as they need 2-D data: {why}.")
        )
    from initlab.report import figures

    return _section("boundaries", title, _figure(figures.boundaries(sweep, configs, panels, why)))


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


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid #ccc; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
nav { margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }
thead th { background: #f0f0f0; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: #555; font-style: italic; } .bad { color: crimson; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9rem; }
"""

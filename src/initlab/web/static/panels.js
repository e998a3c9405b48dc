// initlab playground: the run panels and the summary line. One panel per run: its metrics,
// the server's diagnosis, its network (diagram.js) and its figures, drawn by plots.js from the
// frame as it came.

import { $, el, setText } from "./dom.js";
import { uploadNames } from "./controls.js";
import { makeDiagram, renderDiagram } from "./diagram.js";
import * as plots from "./plots.js";

function pct(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : `${(v * 100).toFixed(1)}%`;
}

function costText(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** The verdict's colour: the severity the server gives its first finding. */
function verdictClass(findings) {
  const severity = findings?.[0]?.severity;
  if (!severity) return "verdict-none";
  return { ok: "verdict-good", warning: "verdict-warn", severe: "verdict-bad" }[severity];
}

function metric(cls, label) {
  return el("div", { class: "metric" }, el("span", { class: "metric-label", text: label }), el("span", { class: `metric-value ${cls}`, text: "—" }));
}

/** An empty panel for run `index`. */
export function makePanel(index) {
  return el(
    "section",
    { class: "run", "data-run": String(index) },
    el(
      "header",
      { class: "run-head" },
      el("h2", { class: "run-label" }),
      el("span", { class: "status" }),
    ),
    el(
      "div",
      { class: "metrics" },
      metric("train-accuracy", "train acc"),
      metric("test-accuracy", "test acc"),
      metric("train-cost", "train cost"),
      metric("test-cost", "test cost"),
    ),
    el("div", { class: "diagnosis" }, el("p", { class: "verdict" }), el("ul", { class: "findings" })),
    makeDiagram(),
    el(
      "div",
      { class: "run-body" },
      el(
        "figure",
        { class: "fig fig-boundary" },
        el("canvas", { class: "boundary", role: "img", "aria-label": "decision boundary with the data" }),
        el("p", { class: "boundary-note", hidden: true, text: "decision boundary needs 2 features" }),
      ),
      el(
        "div",
        { class: "fig fig-curves" },
        el("canvas", { class: "cost", role: "img", "aria-label": "train and test cost by iteration" }),
        el("canvas", { class: "accuracy", role: "img", "aria-label": "train and test accuracy by iteration" }),
      ),
      el(
        "figure",
        { class: "fig fig-histograms" },
        el("canvas", { class: "histograms", role: "img", "aria-label": "per-layer activation and gradient histograms" }),
      ),
      el(
        "figure",
        { class: "fig fig-theory" },
        el("canvas", { class: "theory", role: "img", "aria-label": "mean-field theory against the measured variance per layer" }),
        el("figcaption", { class: "theory-note" }),
      ),
    ),
  );
}

/** Panel `sec` showing run `i` of a frame, with its accumulated history `hist` and `data`. */
export function renderPanel(sec, run, i, hist, data) {
  setText($(".run-label", sec), run.label ?? run.init?.name ?? `run ${i + 1}`);
  const status = run.status === "diverged" && run.diverged_at !== null && run.diverged_at !== undefined
    ? `diverged at ${run.diverged_at}`
    : run.status ?? "";
  const st = $(".status", sec);
  setText(st, status);
  st.dataset.state = run.status ?? "";
  setText($(".train-accuracy", sec), pct(run.train_accuracy));
  setText($(".test-accuracy", sec), pct(run.test_accuracy));
  setText($(".train-cost", sec), costText(run.train_cost));
  setText($(".test-cost", sec), costText(run.test_cost));

  const verdict = $(".verdict", sec);
  setText(verdict, run.verdict ?? "");
  verdict.className = `verdict ${verdictClass(run.findings)}`;
  const list = $(".findings", sec);
  const key = JSON.stringify(run.findings ?? []);
  const findings = run.findings ?? [];
  list.classList.toggle("same-as-verdict", findings.length === 1 && findings[0].message === run.verdict);
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(
      ...(run.findings ?? []).map((f) =>
        el("li", { class: `finding finding-${f.kind}`, "data-kind": f.kind, text: f.message }),
      ),
    );
  }

  const note = $(".boundary-note", sec);
  note.hidden = Boolean(run.boundary);
  $(".fig-boundary", sec).classList.toggle("no-boundary", !run.boundary);
  renderDiagram($(".fig-network", sec), run, data);
  plots.drawBoundary($("canvas.boundary", sec), run.boundary, data);
  plots.drawCost($("canvas.cost", sec), hist);
  plots.drawAccuracy($("canvas.accuracy", sec), hist);
  plots.drawHistograms($("canvas.histograms", sec), run.layers);
  plots.drawTheory($("canvas.theory", sec), run.layers, run.theory);
  const th = run.theory;
  let caption = "";
  if (th && !th.available) caption = th.note ?? "theory unavailable";
  else if (th) {
    const chi = (th.chi1 ?? []).filter((v) => v !== null && Number.isFinite(v));
    const chiText = chi.length ? ` · χ₁ ${chi.map((v) => v.toFixed(2)).join(", ")}` : "";
    caption = `mean-field theory at initialization${th.phase ? `: ${th.phase} phase` : ""}${chiText}`;
    if (th.note) caption += ` · ${th.note}`;
  }
  setText($(".theory-note", sec), caption);
}

/** The line above the panels: data, network, optimizer and seed of configuration `c`. */
export function renderSummary(d, f, c) {
  if (!d || !f || !c) return;
  const widths = [d.n_features, ...(f.runs[0]?.layers ?? []).map((l) => l.width)];
  const name = c.dataset.startsWith("upload:") ? uploadNames()[c.dataset] ?? d.name : d.name;
  const parts = [
    `${name} · ${d.train.y.length} train / ${d.test.y.length} test`,
    `[${widths.join(", ")}] ${c.activation}`,
    `${c.optimizer} · lr ${c.learning_rate}${c.batch_size ? ` · batch ${c.batch_size}` : ""}${c.l2 ? ` · l2 ${c.l2}` : ""}`,
    `seed ${c.seed}`,
  ];
  setText($("#summary"), parts.join("   ·   "));
}

// initlab playground: the run panels and the summary line. One panel per run: its status
// badge, metrics, the server's diagnosis (with how to read it beside the theory), its network
// (diagram.js) and its figures, drawn by plots.js from the frame as it came, with the keys to
// their colours (legend.js).

import { $, $$, el, setText } from "./dom.js";
import { uploadNames } from "./controls.js";
import { makeDiagram, renderDiagram } from "./diagram.js";
import { makeBoundaryLegend, makeDiagramLegend, renderBoundaryLegend, renderDiagramLegend } from "./legend.js";
import * as plots from "./plots.js";
import { drawBoundaryOrSurface, drawR2, isRegression, renderScores } from "./regression.js";
import { viewOptions } from "./state.js";

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

function diagramWithLegend() {
  const fig = makeDiagram();
  $(".net", fig).after(makeDiagramLegend());
  return fig;
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
      el("span", { class: "status", "data-state": "ready", text: "ready" }),
    ),
    el(
      "div",
      { class: "metrics" },
      metric("train-accuracy", "train acc"),
      metric("test-accuracy", "test acc"),
      metric("train-cost", "train cost"),
      metric("test-cost", "test cost"),
    ),
    el(
      "div",
      { class: "diagnosis" },
      el("p", { class: "verdict" }),
      el("ul", { class: "findings" }),
      el("p", { class: "reading", hidden: true }),
    ),
    diagramWithLegend(),
    el(
      "div",
      { class: "run-body" },
      el(
        "figure",
        { class: "fig fig-boundary" },
        el("canvas", { class: "boundary", role: "img", "aria-label": "decision boundary with the data" }),
        el("p", { class: "boundary-note", hidden: true, text: "decision boundary needs 2 features" }),
        makeBoundaryLegend(),
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
        el("div", { class: "hist-titles" }),
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

/**
 * What run `run` of `frame` is doing, for its badge: "diverged" (its cost stopped being
 * finite), "done" (it reached the iteration limit, or no run of the session can train on),
 * "playing", "ready" (iteration 0, not playing) or "paused".
 */
export function runState(run, frame, playing) {
  if (run.status === "diverged") return "diverged";
  if (run.status === "finished" || frame.done) return "done";
  if (playing) return "playing";
  return frame.iteration === 0 ? "ready" : "paused";
}

/** Every panel's badge in `runs` (the #runs element) for `frame`, playing or not. */
export function updateBadges(runs, frame, playing) {
  if (!frame) return;
  $$(":scope > section.run", runs).forEach((sec, i) => {
    const run = frame.runs[i];
    if (!run) return;
    const state = runState(run, frame, playing);
    const at = run.diverged_at;
    const badge = $(".status", sec);
    setText(badge, state === "diverged" && at !== null && at !== undefined ? `diverged at ${at}` : state);
    badge.dataset.state = state;
  });
}

const fmt = (v) => String(Number(v.toPrecision(2)));

/**
 * How to read the verdict beside the theory's phase where they seem to disagree, or "". The
 * verdict measures this network at initialization; the phase is mean-field theory's statement
 * about depth: nearby inputs' differences grow (chaotic, χ₁ > 1) or shrink (ordered, χ₁ < 1)
 * by χ₁ per layer, so over these layers by the product of their χ₁.
 */
export function reading(run) {
  const th = run.theory;
  const severity = run.findings?.[0]?.severity;
  if (!th?.available || !th.phase || !severity) return "";
  const chi = (th.chi1 ?? []).filter((v) => v !== null && Number.isFinite(v));
  const n = chi.length;
  const layers = `${n} layer${n === 1 ? "" : "s"}`;
  if (severity === "ok" && (th.phase === "chaotic" || th.phase === "ordered") && n) {
    const product = chi.reduce((a, b) => a * b, 1);
    const chaotic = th.phase === "chaotic";
    const move = chaotic ? "grow" : "shrink";
    const deep = chaotic
      ? "a much deeper network with this init would scramble nearby inputs and its gradients would explode"
      : "a much deeper network with this init would map all inputs alike and its gradients would vanish";
    const mild = product >= 0.5 && product <= 2;
    return (
      `Both hold. The verdict measures these ${layers} at initialization; the ${th.phase} phase ` +
      `(χ₁ ${chaotic ? ">" : "<"} 1) is the theory's statement about depth: differences between ` +
      `nearby inputs ${move} ×χ₁ per layer, ×${fmt(product)} over these ${layers}. ` +
      (mild
        ? `That is mild at this depth, but ${deep}.`
        : `Scale and symmetry pass, but that is already strong here: expect ${chaotic ? "a jagged boundary" : "slow learning"}, and ${deep}.`)
    );
  }
  if (severity !== "ok" && th.phase === "critical") {
    return (
      "Both hold. The critical phase is the theory's view of the weights' scale alone, in " +
      "infinitely wide layers of independent random weights; the verdict measures this network " +
      "and finds what that view cannot see."
    );
  }
  return "";
}

/** Panel `sec` showing run `i` of a frame, with its accumulated history `hist` and `data`. */
export function renderPanel(sec, run, i, hist, data) {
  setText($(".run-label", sec), run.label ?? run.init?.name ?? `run ${i + 1}`);
  setText($(".train-accuracy", sec), pct(run.train_accuracy));
  setText($(".test-accuracy", sec), pct(run.test_accuracy));
  renderScores(sec, run, data); // R² in their place for a regression set
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

  const readingNote = $(".reading", sec);
  const readingText = reading(run);
  setText(readingNote, readingText);
  readingNote.hidden = !readingText;

  const note = $(".boundary-note", sec);
  note.hidden = Boolean(run.boundary);
  $(".fig-boundary", sec).classList.toggle("no-boundary", !run.boundary);
  const view = viewOptions();
  renderDiagram($(".fig-network", sec), run, data);
  renderDiagramLegend($(".legend-network", sec), run.network);
  const surface = run.boundary?.kind === "surface"; // a regression network's prediction
  drawBoundaryOrSurface($("canvas.boundary", sec), run.boundary, data, view);
  const legend = $(".legend-boundary", sec);
  legend.hidden = !run.boundary || surface; // the surface draws its own colour scale
  if (run.boundary) renderBoundaryLegend(legend, data, view);
  plots.drawCost($("canvas.cost", sec), hist);
  (isRegression(data) ? drawR2 : plots.drawAccuracy)($("canvas.accuracy", sec), hist);
  plots.drawHistograms($("canvas.histograms", sec), run.layers, $(".hist-titles", sec));
  const theoryCanvas = $("canvas.theory", sec);
  plots.drawTheory(theoryCanvas, run.layers, run.theory);
  const th = run.theory;
  let caption = "";
  if (th && !th.available) caption = th.note ?? "theory unavailable";
  else if (th) {
    const chi = (th.chi1 ?? []).filter((v) => v !== null && Number.isFinite(v));
    const chiText = chi.length ? ` · χ₁ ${chi.map((v) => v.toFixed(2)).join(", ")}` : "";
    caption = `mean-field theory at initialization${th.phase ? `: ${th.phase} phase` : ""}${chiText}`;
    if (th.note) caption += ` · ${th.note}`;
  }
  if (theoryCanvas.dataset.noise !== "0") {
    caption += `${caption ? " · " : ""}values at rounding noise (root below 1e-12 of the inputs') drawn as 0`;
  }
  setText($(".theory-note", sec), caption);
}

/** The line above the panels: data, network, optimizer and seed of configuration `c`. */
export function renderSummary(d, f, c) {
  if (!d || !f || !c) return;
  const widths = [d.inputs?.length ?? d.n_features, ...(f.runs[0]?.layers ?? []).map((l) => l.width)];
  const name = c.dataset.startsWith("upload:") ? uploadNames()[c.dataset] ?? d.name : d.name;
  const parts = [
    `${name} · ${d.train.y.length} train / ${d.test.y.length} test`,
    `[${widths.join(", ")}] ${c.activation}`,
    `${c.optimizer} · lr ${c.learning_rate}${c.batch_size ? ` · batch ${c.batch_size}` : ""}${c.l2 ? ` · l2 ${c.l2}` : ""}${c.l1 ? ` · l1 ${c.l1}` : ""}`,
    `seed ${c.seed}`,
  ];
  setText($("#summary"), parts.join("   ·   "));
}

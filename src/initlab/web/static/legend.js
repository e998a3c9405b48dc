// initlab playground: the keys to a run panel's colours. The decision boundary's legend (its
// colour scale: orange P = 0 → white ½ → blue P = 1, or the winning class shaded by how sure;
// filled dots train, rings test) and the network diagram's (each layer on its own scale,
// orange − · white 0 · blue +, coloured at sign·√|t|; a sigmoid or softmax output on 0 · ½ · 1).
// Each bar is painted from the very colour functions the figures use (plots.js boundaryColor,
// scale.js LUT as diagram.js indexes it), so a key cannot drift from what it explains.

import { $, el, setText } from "./dom.js";
import { boundaryColor, classColor, mixWhite } from "./plots.js";
import { LUT, lutIndex } from "./scale.js";

const BAR_STEPS = 256;

/**
 * Paint `canvas` (a horizontal bar) with colourAt(p) for p from 0 (left) to 1 (right): one
 * column per backing-store pixel i, at p = (i + ½) / width. Repainted only when `key` changes.
 */
function paintBar(canvas, key, colourAt) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  const full = `${key}|${w}x${h}`;
  if (canvas.dataset.key === full) return;
  canvas.dataset.key = full;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w; i++) {
    const c = colourAt((i + 0.5) / w);
    for (let y = 0; y < h; y++) img.data.set([c[0], c[1], c[2], 255], 4 * (y * w + i));
  }
  ctx.putImageData(img, 0, 0);
}

function ticks(labels) {
  return el("span", { class: "legend-ticks" }, ...labels.map((t) => el("span", { text: t })));
}

/** A key swatch: "dot" (a train point), "ring" (a test point) or a class colour. */
function swatch(kind) {
  return el("span", { class: `legend-swatch swatch-${kind}`, "aria-hidden": "true" });
}

// --- the decision boundary ------------------------------------------------------------------

/** An empty legend for a panel's boundary. */
export function makeBoundaryLegend() {
  return el(
    "div",
    { class: "legend legend-boundary", role: "group", "aria-label": "colour key of the decision boundary" },
    el("span", { class: "legend-title" }),
    el(
      "span",
      { class: "legend-scale" },
      el("canvas", { class: "legend-bar", role: "img", "aria-label": "colour scale" }),
      el("span", { class: "legend-ticks" }),
    ),
    el("span", { class: "legend-classes" }),
    el(
      "span",
      { class: "legend-points" },
      el("span", { class: "legend-key key-train" }, swatch("dot"), "train"),
      el("span", { class: "legend-key key-test" }, swatch("ring"), "test"),
    ),
  );
}

function className(data, k) {
  const name = data?.label_names?.[k];
  return name === undefined || name === String(k) ? `class ${k}` : name;
}

/**
 * The boundary legend `box` for `data` (the session's DATA) under view options `view`
 * ({showTest, discretize}). Two classes: a bar of P(class 1) from 0 to 1, painted with
 * plots.js's boundaryColor (two flat halves when discretized). More classes: one swatch per
 * class (the winning class is shaded from white by how sure, its colour at full certainty).
 */
export function renderBoundaryLegend(box, data, view) {
  const k = Math.max(2, data?.n_classes ?? 2);
  const binary = k === 2;
  const discrete = Boolean(view.discretize);
  box.dataset.kind = binary ? "binary" : "classes";
  box.dataset.discrete = String(discrete);
  setText(
    $(".legend-title", box),
    binary ? `P(${className(data, 1)})` : discrete ? "winning class" : "winning class, shaded by its probability",
  );
  const scale = $(".legend-scale", box);
  scale.hidden = !binary;
  if (binary) {
    paintBar($("canvas.legend-bar", scale), `binary|${discrete}`, (p) =>
      boundaryColor(Math.min(255, Math.floor(p * BAR_STEPS)), null, 2, discrete),
    );
    const labels = discrete ? [className(data, 0), "½", className(data, 1)] : ["0", "½", "1"];
    const tickBox = $(".legend-ticks", scale);
    if (tickBox.textContent !== labels.join("")) tickBox.replaceWith(ticks(labels));
  }
  const classes = $(".legend-classes", box);
  const key = binary ? "" : `${k}|${(data?.label_names ?? []).join(",")}`;
  if (classes.dataset.key !== key) {
    classes.dataset.key = key;
    classes.replaceChildren(
      ...(binary ? [] : Array.from({ length: k }, (_, c) => {
        const s = swatch("class");
        const [r, g, b] = mixWhite(classColor(c), 0.78);
        s.style.setProperty("background", `rgb(${r},${g},${b})`);
        return el("span", { class: "legend-key key-class", "data-class": String(c) }, s, className(data, c));
      })),
    );
  }
  $(".key-test", box).hidden = !view.showTest;
}

// --- the network diagram ----------------------------------------------------------------------

/** The diagram's colour of t = (value − centre) / half in [−1, 1]: LUT at sign(t)·√|t|. */
export function diagramColor(t) {
  const c = Math.sign(t) * Math.sqrt(Math.min(1, Math.abs(t)));
  const i = 3 * lutIndex(c);
  return [LUT[i], LUT[i + 1], LUT[i + 2]];
}

/** An empty legend for a panel's network diagram. */
export function makeDiagramLegend() {
  return el(
    "div",
    { class: "legend legend-network", role: "group", "aria-label": "colour key of the network's maps" },
    el("span", { class: "legend-title", text: "each map" }),
    el(
      "span",
      { class: "legend-scale" },
      el("canvas", { class: "legend-bar", role: "img", "aria-label": "colour scale of the neuron maps" }),
      ticks(["−max", "0", "+max"]),
    ),
    el("span", {
      class: "legend-note",
      text: "its layer's largest |value| on the plane sets ±max; coloured at sign·√|t| so small values show",
    }),
    el("span", { class: "legend-output" }),
  );
}

/** The diagram legend `box` for a run's network (frame.runs[i].network). */
export function renderDiagramLegend(box, network) {
  box.hidden = !network?.maps;
  if (box.hidden) return;
  paintBar($("canvas.legend-bar", box), "diagram", (p) => diagramColor(2 * p - 1));
  const out = network.activations?.[network.activations.length - 1];
  const probability = out === "sigmoid" || out === "softmax";
  const output = $(".legend-output", box);
  setText(output, probability ? `output (${out}): the same colours on 0 · ½ · 1` : "");
  output.hidden = !probability;
}

// initlab playground: the network, drawn. One diagram per run panel: the input features, every
// hidden neuron and the output, each as a small heatmap of its value over the input plane, and
// the links between them coloured by the weight's sign and thickened by |w|. Hovering (or
// focusing) a neuron shows it large with its incoming weights and its activation histogram
// (neuron-detail.js); clicking pins it. +/− buttons add and remove hidden layers and neurons.
//
// Every number comes from the server (frame.runs[i].network, initlab.web.neurons): the maps
// are the network's own forward pass on a coarse grid, sent as bytes per neuron with the
// neuron's range. The page decodes them and colours each layer on one scale centred on 0
// (orange −, white 0, blue +); a sigmoid or softmax output on [0, 1] centred on ½, as the
// decision boundary. Node canvases are grid × grid pixels scaled by CSS; the links are one
// canvas behind the nodes, redrawn each frame; node positions are read only when the
// structure or the diagram's size changes.
//
// Editing goes through the page's own form: the +/− buttons write the new widths into the
// "Hidden layers" field and send it an input event, and the page reconfigures the session as
// it does for typing (app.js), within the limits of /api/options. The input column's feature
// toggles (x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂; inputs.js) write the "Input features"
// field alike; each input neuron's map is then its feature over the raw plane.

import { $, $$, el, setText } from "./dom.js";
import { setup } from "./chart.js";
import { featureLabel, playgroundFeatures, setFeatures, toggledFeatures } from "./inputs.js";
import { drawDetail } from "./neuron-detail.js";
import { LUT, NEGATIVE, POSITIVE, lutIndex } from "./scale.js";

const LINK_FULL = 2; // |w| at which a link reaches its full width and colour
const MAX_COLUMN_PX = 330; // a column of neurons shrinks its nodes to fit this height…
const NODE_PX = [12, 30]; // …within these node sizes
const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";

export { LUT };

/** "x₁₂" for input 12 (1-based). */
export function inputName(i) {
  return `x${String(i + 1).split("").map((d) => SUBSCRIPT[Number(d)]).join("")}`;
}

/** Decode base64 into bytes. */
function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Decode base64 little-endian float32 values. */
export function floats(b64) {
  const raw = bytes(b64);
  const view = new DataView(raw.buffer);
  const out = new Float64Array(raw.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * The run's network decoded once per frame: sizes, activations, W[l] (rows of n[l] × n[l−1],
 * l = 1…L as index l − 1), biases, per-layer maps {size, extent, layers: [{low, high, q}]},
 * histograms, note. Cached on the frame's object.
 */
const decoded = new WeakMap();
export function decode(net) {
  let d = decoded.get(net);
  if (d) return d;
  d = {
    sizes: net.sizes,
    inputs: net.inputs ?? null,
    activations: net.activations,
    note: net.note,
    weights: net.weights ? net.weights.map(floats) : null,
    biases: net.biases ? net.biases.map(floats) : null,
    histograms: net.histograms,
    maps: net.maps
      ? {
          size: net.maps.size,
          extent: net.maps.extent,
          layers: net.maps.layers.map((m) => ({ low: m.low, high: m.high, q: bytes(m.values) })),
        }
      : null,
  };
  decoded.set(net, d);
  return d;
}

/**
 * How layer `l`'s values become colours: t = (v − centre) / half, in [−1, 1], coloured at
 * sign(t)·√|t| (small values stay visible beside a layer's largest). Hidden layers and the
 * inputs: centred on 0, half the largest |value| of the layer on the plane; a sigmoid or
 * softmax output: centred on ½, half ½; a regression (identity) output: the targets' scale,
 * coloured at t itself (`linear`), as the predicted surface (regression.js) draws it.
 */
export function layerScale(d, l) {
  const L = d.sizes.length - 1;
  const act = l === 0 ? "input" : d.activations[l - 1];
  if (l === L && (act === "sigmoid" || act === "softmax")) return { centre: 0.5, half: 0.5 };
  if (l === L && act === "identity" && d.targetRange) {
    const [low, high] = d.targetRange;
    return { centre: (low + high) / 2, half: (high - low) / 2, linear: true };
  }
  const m = d.maps.layers[l];
  let half = 0;
  for (let j = 0; j < m.low.length; j++) {
    if (m.low[j] !== null) half = Math.max(half, Math.abs(m.low[j]), Math.abs(m.high[j]));
  }
  return { centre: 0, half };
}

/** Paint neuron `j` of layer `l` into `img` (an ImageData of size × size). */
export function paintNeuron(img, d, l, j) {
  const { size } = d.maps;
  const m = d.maps.layers[l];
  const cells = size * size;
  const q = m.q.subarray(j * cells, (j + 1) * cells);
  const px = img.data;
  const { centre, half, linear } = layerScale(d, l);
  const low = m.low[j];
  const step = low === null ? 0 : (m.high[j] - low) / 255;
  // The colour of each byte value once (v is affine in q), then one look-up per pixel.
  const colour = new Uint16Array(256);
  for (let k = 0; k < 256; k++) {
    const t = low === null || half === 0 ? 0 : (low + k * step - centre) / half;
    const c = Math.sign(t) * (linear ? Math.min(1, Math.abs(t)) : Math.sqrt(Math.min(1, Math.abs(t))));
    colour[k] = 3 * lutIndex(c);
  }
  for (let i = 0; i < cells; i++) {
    const c = colour[q[i]];
    px[4 * i] = LUT[c];
    px[4 * i + 1] = LUT[c + 1];
    px[4 * i + 2] = LUT[c + 2];
    px[4 * i + 3] = 255;
  }
}

// --- the structure ----------------------------------------------------------------------------

// figure → {key (the shape built), contexts (per layer, its nodes' canvases), painted (per
// layer, what they show), linked (what the links show), centres (node positions), dirty
// (positions to measure again), run, data, detail (up close: {layer, unit, pinned})}
const states = new WeakMap();

/** An empty diagram for a run panel. */
export function makeDiagram() {
  const fig = el(
    "figure",
    { class: "fig fig-network" },
    el(
      "div",
      { class: "net-head" },
      el("span", { class: "net-title", text: "network" }),
      el(
        "span",
        { class: "net-edit", role: "group", "aria-label": "Hidden layers" },
        el("button", { type: "button", class: "net-btn net-layer-remove", text: "−", title: "Remove the last hidden layer", "aria-label": "Remove the last hidden layer" }),
        el("span", { class: "net-layer-count" }),
        el("button", { type: "button", class: "net-btn net-layer-add", text: "+", title: "Add a hidden layer", "aria-label": "Add a hidden layer" }),
      ),
    ),
    el("p", { class: "net-note", hidden: true }),
    el("div", { class: "net" }, el("canvas", { class: "net-links", "aria-hidden": "true" })),
    el(
      "div",
      { class: "neuron-detail", hidden: true, "aria-live": "polite" },
      el("canvas", { class: "detail-map", role: "img", "aria-label": "the neuron's output over the input plane" }),
      el(
        "div",
        { class: "detail-side" },
        el("p", { class: "detail-title" }),
        el("canvas", { class: "detail-weights", role: "img", "aria-label": "the neuron's incoming weights" }),
        el("canvas", { class: "detail-hist", role: "img", "aria-label": "the neuron's activation over the training data" }),
      ),
    ),
  );
  const state = {
    key: null,
    contexts: [],
    painted: [],
    linked: null,
    centres: null,
    dirty: true,
    run: null,
    data: null,
    detail: null,
  };
  states.set(fig, state);
  wire(fig, state);
  new ResizeObserver(() => {
    state.dirty = true;
    if (state.run) draw(fig, state);
  }).observe($(".net", fig));
  return fig;
}

/**
 * The feature toggles of the input column (TF Playground's seven features of a 2-D input):
 * one button each, pressed where the feature is one of the network's inputs; the only one
 * left cannot be switched off.
 */
function featureToggles(inputs) {
  const used = new Set(inputs);
  return el(
    "div",
    { class: "net-features", role: "group", "aria-label": "Input features" },
    ...playgroundFeatures().map((f) => {
      const on = used.has(f);
      return el("button", {
        type: "button",
        class: `net-feature${on ? " on" : ""}`,
        "data-feature": f,
        "aria-pressed": on ? "true" : "false",
        disabled: on && used.size === 1,
        title: on ? `Stop feeding ${featureLabel(f)} to the network` : `Feed ${featureLabel(f)} to the network`,
        text: featureLabel(f),
      });
    }),
  );
}

function column(l, n, L, d, mapSize, toggles) {
  const kind = l === 0 ? "input" : l === L ? "output" : "hidden";
  const head = el("div", { class: "net-col-head" });
  if (kind === "hidden") {
    head.append(
      el("button", { type: "button", class: "net-btn net-unit-remove", text: "−", title: `One neuron fewer in layer ${l}`, "aria-label": `One neuron fewer in layer ${l}` }),
      el("span", { class: "net-width", text: String(n) }),
      el("button", { type: "button", class: "net-btn net-unit-add", text: "+", title: `One neuron more in layer ${l}`, "aria-label": `One neuron more in layer ${l}` }),
    );
  } else {
    head.append(el("span", { class: "net-col-name", text: kind === "input" ? "inputs" : "output" }));
  }
  const nodes = el("div", { class: "net-nodes" });
  const col = el("div", { class: `net-col net-${kind}`, "data-layer": String(l) }, head, nodes);
  if (kind === "input" && toggles) col.append(featureToggles(d.inputs));
  if (d.note && !d.weights) return col; // over the server's limit: headers only
  for (let j = 0; j < n; j++) {
    const input = d.inputs?.[j] ? featureLabel(d.inputs[j]) : inputName(j);
    const name = kind === "input" ? input : kind === "output" ? (n === 1 ? "ŷ" : `ŷ${SUBSCRIPT[j % 10]}`) : "";
    const canvas = el("canvas", { class: "neuron-map", width: mapSize, height: mapSize });
    const node = el(
      "div",
      {
        class: "neuron",
        tabindex: "0",
        "data-layer": String(l),
        "data-unit": String(j),
        title: kind === "hidden" ? `layer ${l}, neuron ${j + 1}` : name,
        "aria-label": kind === "hidden" ? `layer ${l}, neuron ${j + 1}` : `${kind} ${name}`,
      },
      canvas,
    );
    if (name) node.append(el("span", { class: "neuron-label", text: name }));
    nodes.append(node);
  }
  return col;
}

/** Rebuild the columns when the network's shape, its inputs (or whether it has maps or
 * feature toggles: data with 2 raw inputs) change. */
function build(fig, state, d) {
  const mapSize = d.maps ? d.maps.size : 1;
  const toggles = state.data?.n_features === 2;
  const key = `${d.sizes.join(",")}|${mapSize}|${d.weights ? 1 : 0}|${(d.inputs ?? []).join(",")}|${toggles}`;
  if (state.key === key) return;
  state.key = key;
  state.dirty = true;
  const net = $(".net", fig);
  const L = d.sizes.length - 1;
  const widest = Math.max(...d.sizes);
  const node = Math.max(NODE_PX[0], Math.min(NODE_PX[1], Math.floor(MAX_COLUMN_PX / widest) - 4));
  net.style.setProperty("--node", `${node}px`);
  net.classList.toggle("no-maps", !d.maps);
  net.classList.toggle("feature-inputs", (d.inputs ?? []).some((f) => !/^x\d+$/.test(f)));
  const links = $("canvas.net-links", net);
  net.replaceChildren(links, ...d.sizes.map((n, l) => column(l, n, L, d, mapSize, toggles)));
  state.painted = [];
  state.contexts = d.sizes.map((_, l) =>
    $$(`.net-col[data-layer="${l}"] canvas.neuron-map`, net).map((c) => c.getContext("2d")),
  );
  setText($(".net-layer-count", fig), `${L - 1} hidden layer${L - 1 === 1 ? "" : "s"}`);
  if (state.detail && !nodeOf(fig, state.detail.layer, state.detail.unit)) hideDetail(fig, state, true);
}

function nodeOf(fig, l, j) {
  return $(`.neuron[data-layer="${l}"][data-unit="${j}"]`, fig);
}

/** Node centres and half-widths relative to the link canvas (one layout read). */
function measure(fig, d) {
  const net = $(".net", fig);
  const box = net.getBoundingClientRect();
  return d.sizes.map((n, l) =>
    Array.from({ length: n }, (_, j) => {
      const r = nodeOf(fig, l, j)?.getBoundingClientRect();
      return r ? { x: r.left - box.left + r.width / 2, y: r.top - box.top + r.height / 2, r: r.width / 2 } : null;
    }),
  );
}

// --- drawing ----------------------------------------------------------------------------------

/** Paint every node's map; a layer whose bytes and ranges are those already painted (the
 * inputs, a run stuck at zeros) is left as it is. */
function drawMaps(state, d, net) {
  if (!d.maps) return;
  const { size } = d.maps;
  let img = null;
  state.contexts.forEach((layer, l) => {
    const m = net.maps.layers[l];
    const key = `${m.values}|${m.low}|${m.high}|${JSON.stringify(layerScale(d, l))}`;
    if (state.painted[l] === key) return;
    state.painted[l] = key;
    layer.forEach((ctx, j) => {
      img ??= ctx.createImageData(size, size);
      paintNeuron(img, d, l, j);
      ctx.putImageData(img, 0, 0);
    });
  });
}

/** A link's stroke for weight w: colour by sign, width and opacity by |w| up to LINK_FULL. */
export function linkStyle(w) {
  if (!Number.isFinite(w)) return { colour: "rgb(214,69,80)", width: 3, alpha: 0.9 };
  const s = Math.min(1, Math.abs(w) / LINK_FULL);
  const c = w < 0 ? NEGATIVE : POSITIVE;
  return { colour: `rgb(${c[0]},${c[1]},${c[2]})`, width: 0.5 + 4 * s, alpha: 0.18 + 0.72 * s };
}

function drawLinks(fig, state, d) {
  const canvas = $("canvas.net-links", fig);
  const { ctx } = setup(canvas);
  if (!d.weights || !state.centres) return;
  const focus = state.detail;
  d.weights.forEach((W, k) => {
    const from = state.centres[k];
    const to = state.centres[k + 1];
    const nIn = from.length;
    for (let j = 0; j < to.length; j++) {
      const b = to[j];
      if (!b) continue;
      for (let i = 0; i < nIn; i++) {
        const a = from[i];
        if (!a) continue;
        const w = W[j * nIn + i];
        const { colour, width, alpha } = linkStyle(w);
        const lit = focus && focus.layer === k + 1 && focus.unit === j;
        ctx.globalAlpha = focus && !lit ? alpha * 0.35 : alpha;
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        const x0 = a.x + a.r;
        const x1 = b.x - b.r;
        const mid = (x0 + x1) / 2;
        ctx.beginPath();
        ctx.moveTo(x0, a.y);
        ctx.bezierCurveTo(mid, a.y, mid, b.y, x1, b.y);
        ctx.stroke();
      }
    }
  });
  ctx.globalAlpha = 1;
}

/** Links (redrawn when the weights, the layout or the neuron up close change) and detail. */
function draw(fig, state) {
  const d = decode(state.run.network);
  if (state.dirty) {
    state.centres = measure(fig, d);
    state.dirty = false;
    state.linked = null;
  }
  const focus = state.detail ? `${state.detail.layer},${state.detail.unit}` : "";
  const key = `${(state.run.network.weights ?? []).join("|")}|${focus}`;
  if (state.linked !== key) {
    state.linked = key;
    drawLinks(fig, state, d);
  }
  if (state.detail) showDetail(fig, state);
}

/**
 * Diagram `fig` showing run `run` (frame.runs[i]) of data `data` (for the points in the
 * detail view). Without `run.network` the diagram is hidden.
 */
export function renderDiagram(fig, run, data) {
  const state = states.get(fig);
  const net = run?.network;
  fig.hidden = !net;
  if (!net) return;
  const d = decode(net);
  d.targetRange = data?.task === "regression" ? data.target_range : null; // the output's scale
  state.run = run;
  state.data = data;
  build(fig, state, d);
  const note = $(".net-note", fig);
  setText(note, d.note ?? "");
  note.hidden = !d.note;
  refreshButtons(fig, d);
  drawMaps(state, d, net);
  draw(fig, state);
  fig.dataset.drawn = "true";
}

// --- the detail view --------------------------------------------------------------------------

function showDetail(fig, state) {
  const box = $(".neuron-detail", fig);
  const { layer, unit } = state.detail;
  const d = decode(state.run.network);
  if (layer >= d.sizes.length || unit >= d.sizes[layer]) {
    hideDetail(fig, state, true);
    return;
  }
  box.hidden = false;
  box.dataset.layer = String(layer);
  box.dataset.unit = String(unit);
  box.classList.toggle("pinned", state.detail.pinned);
  $$(".neuron.selected", fig).forEach((n) => n.classList.remove("selected"));
  nodeOf(fig, layer, unit)?.classList.add("selected");
  const source = $(`.neuron[data-layer="${layer}"][data-unit="${unit}"] canvas`, fig);
  drawDetail(box, d, layer, unit, d.maps ? source : null, state.data);
}

function hideDetail(fig, state, force = false) {
  if (!state.detail || (state.detail.pinned && !force)) return;
  state.detail = null;
  $(".neuron-detail", fig).hidden = true;
  $$(".neuron.selected", fig).forEach((n) => n.classList.remove("selected"));
  if (state.run) draw(fig, state);
}

function select(fig, state, node, pin) {
  const layer = Number(node.dataset.layer);
  const unit = Number(node.dataset.unit);
  const same = state.detail && state.detail.layer === layer && state.detail.unit === unit;
  if (pin && same && state.detail.pinned) {
    state.detail.pinned = false;
    hideDetail(fig, state);
    return;
  }
  if (state.detail?.pinned && !pin) return; // a pinned neuron stays until clicked again
  state.detail = { layer, unit, pinned: pin || Boolean(same && state.detail.pinned) };
  if (state.run) draw(fig, state);
}

// --- editing ------------------------------------------------------------------------------------

function limits() {
  return window.initlab?.options?.limits ?? { max_hidden_layers: 8, max_width: 64 };
}

/** The hidden widths the "Hidden layers" field holds now (the run's while it cannot be read). */
function currentHidden(fallback) {
  const field = document.getElementById("hidden");
  const text = field?.value.trim() ?? "";
  if (text === "") return [];
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : fallback;
}

/** The network's inputs the "Input features" field holds now (a change may not have reached
 * the server yet); the run's inputs where it is empty or names them other than canonically. */
function currentFeatures(state) {
  const run = state.run.network.inputs ?? ["x1", "x2"];
  const text = document.getElementById("features")?.value.trim() ?? "";
  const names = text.split(",").map((f) => f.trim()).filter(Boolean);
  const known = new Set([...playgroundFeatures(), ...run]);
  return names.length && names.every((f) => known.has(f)) ? names : run;
}

/** Write `hidden` into the "Hidden layers" field and tell the page, as typing there does. */
function setHidden(hidden) {
  const field = document.getElementById("hidden");
  if (!field) return;
  field.value = hidden.join(",");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

/** The hidden widths after pressing `button`, or null when it does nothing. */
export function edited(hidden, action, layer, lim) {
  const h = [...hidden];
  if (action === "layer-add") {
    if (h.length >= lim.max_hidden_layers) return null;
    h.push(Math.min(lim.max_width, h.length ? h[h.length - 1] : 4));
  } else if (action === "layer-remove") {
    if (!h.length) return null;
    h.pop();
  } else {
    const k = layer - 1;
    if (k < 0 || k >= h.length) return null;
    const w = h[k] + (action === "unit-add" ? 1 : -1);
    if (w < 1 || w > lim.max_width) return null;
    h[k] = w;
  }
  return h;
}

function refreshButtons(fig, d) {
  const lim = limits();
  const hidden = d.sizes.slice(1, -1);
  $(".net-layer-add", fig).disabled = hidden.length >= lim.max_hidden_layers;
  $(".net-layer-remove", fig).disabled = hidden.length === 0;
  $$(".net-hidden", fig).forEach((col) => {
    const w = hidden[Number(col.dataset.layer) - 1];
    $(".net-unit-add", col).disabled = w >= lim.max_width;
    $(".net-unit-remove", col).disabled = w <= 1;
  });
}

function onEdit(fig, state, button) {
  if (button.disabled || !state.run) return;
  const action = ["layer-add", "layer-remove", "unit-add", "unit-remove"].find((a) =>
    button.classList.contains(`net-${a}`),
  );
  const layer = Number(button.closest(".net-col")?.dataset.layer ?? 0);
  const sizes = state.run.network.sizes;
  const next = edited(currentHidden(sizes.slice(1, -1)), action, layer, limits());
  if (next) setHidden(next);
}

function wire(fig, state) {
  fig.addEventListener("click", (e) => {
    const feature = e.target.closest?.("button.net-feature");
    if (feature) {
      const next = feature.disabled || !state.run ? null : toggledFeatures(currentFeatures(state), feature.dataset.feature);
      if (next) setFeatures(next);
      return;
    }
    const button = e.target.closest?.("button.net-btn");
    if (button) {
      onEdit(fig, state, button);
      return;
    }
    const node = e.target.closest?.(".neuron");
    if (node) select(fig, state, node, true);
  });
  fig.addEventListener("mouseover", (e) => {
    const node = e.target.closest?.(".neuron");
    if (node) select(fig, state, node, false);
  });
  fig.addEventListener("focusin", (e) => {
    const node = e.target.closest?.(".neuron");
    if (node) select(fig, state, node, false);
  });
  $(".net", fig).addEventListener("mouseleave", () => hideDetail(fig, state));
  fig.addEventListener("keydown", (e) => {
    const node = e.target.closest?.(".neuron");
    if (node && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      e.stopPropagation();
      select(fig, state, node, true);
    } else if (e.key === "Escape" && state.detail) {
      state.detail.pinned = false;
      hideDetail(fig, state);
    }
  });
}

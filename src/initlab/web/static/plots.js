// initlab playground: the figures of a run panel, drawn on canvases with chart.js: the decision
// boundary with the data, the cost and accuracy curves, the per-layer histograms and the theory
// against the measured variance. They only draw what the server sent: no neural-network math.

import {
  AXIS,
  CLASS_COLORS,
  MUTED,
  SERIES,
  atNoise,
  axes,
  classColor,
  drawNote,
  font,
  legend,
  linScale,
  logScale,
  logTicks,
  marker,
  niceTicks,
  setup,
  short,
  title,
} from "./chart.js";

export {
  AXIS,
  CLASS_COLORS,
  FONT_FAMILY,
  GRID,
  INK,
  MUTED,
  SERIES,
  classColor,
  font,
  logTicks,
  niceTicks,
  setup,
  short,
} from "./chart.js";

// --- decision boundary -------------------------------------------------------------------

/** Decode the server's base64 uint8 grid. */
export function decodeBytes(b64) {
  if (!b64) return null;
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const WHITE = [248, 249, 250];
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

/** White mixed with colour `hex` by `t` (0: white, 1: the colour), as whole RGB levels. */
export function mixWhite(hex, t) {
  return mix(WHITE, hexRgb(hex), t).map(Math.round);
}

/** 256-entry colour table for a binary boundary: orange (P=0) → white → blue (P=1). */
const BINARY_LUT = (() => {
  const lo = mix(WHITE, hexRgb(CLASS_COLORS[0]), 0.6);
  const hi = mix(WHITE, hexRgb(CLASS_COLORS[1]), 0.6);
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const c = t < 0.5 ? mix(lo, WHITE, t / 0.5) : mix(WHITE, hi, (t - 0.5) / 0.5);
    lut.set(c.map(Math.round), i * 3);
  }
  return lut;
})();

/**
 * The colour of one boundary cell. `p`: the server's byte (two classes: P(class 1)·255, else
 * the winning class' probability ·255); `cls`: the winning class (null for two classes); `k`:
 * the number of classes. Two classes: BINARY_LUT[p], or discretized the table's end on p's
 * side of ½ (p ≥ 128: class 1). More classes: the winner's colour mixed into white by
 * 0.18 + 0.6·s, s = (P − 1/k)/(1 − 1/k) how sure it is; discretized, at s = 1.
 */
export function boundaryColor(p, cls, k, discrete) {
  if (cls === null) {
    const j = 3 * (discrete ? (p >= 128 ? 255 : 0) : p);
    return [BINARY_LUT[j], BINARY_LUT[j + 1], BINARY_LUT[j + 2]];
  }
  const strength = discrete ? 1 : Math.max(0, Math.min(1, (p / 255 - 1 / k) / (1 - 1 / k)));
  return mixWhite(classColor(cls), 0.18 + 0.6 * strength);
}

// boundary → {continuous, discrete}: its image in each drawing, made once.
const boundaryCache = new WeakMap();

function boundaryImage(boundary, nClasses, discrete) {
  const cached = boundaryCache.get(boundary) ?? {};
  const which = discrete ? "discrete" : "continuous";
  if (cached[which]) return cached[which];
  const n = boundary.size;
  const prob = decodeBytes(boundary.probability);
  const classes = decodeBytes(boundary.classes);
  const img = new ImageData(n, n);
  const px = img.data;
  const k = Math.max(2, nClasses || 2);
  for (let i = 0; i < n * n; i++) {
    const c = boundaryColor(prob[i], classes ? classes[i] : null, k, discrete);
    px[i * 4] = c[0];
    px[i * 4 + 1] = c[1];
    px[i * 4 + 2] = c[2];
    px[i * 4 + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = n;
  off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  cached[which] = off;
  boundaryCache.set(boundary, cached);
  return off;
}

/**
 * The decision boundary (frame.runs[i].boundary) as a heatmap with the data's train points
 * (filled, white outline) and, unless `view.showTest` is false, its test points (rings) on
 * top. `view.discretize`: each cell in its class' colour (hard classes, no smoothing) instead
 * of shaded by the probability. The canvas' data-train-points and data-test-points say how
 * many points were drawn.
 */
export function drawBoundary(canvas, boundary, data, view = { showTest: true, discretize: false }) {
  const { ctx, w, h } = setup(canvas);
  canvas.dataset.trainPoints = "0";
  canvas.dataset.testPoints = "0";
  if (!boundary) {
    drawNote(ctx, w, h, "decision boundary needs 2 features");
    return;
  }
  const discrete = Boolean(view.discretize);
  drawPlane(canvas, ctx, w, h, {
    extent: boundary.extent,
    image: boundaryImage(boundary, data?.n_classes, discrete),
    smooth: !discrete,
    pad: { l: 30, r: 6, t: 6, b: 20 },
    data,
    showTest: view.showTest !== false,
    color: classColor,
    outline: { width: 1, color: "#fff", ring: "rgba(255,255,255,0.9)", ringWidth: 1.6 },
  });
}

/**
 * A 2-D input plane, as the boundary and the regression surface draw it: `image` over
 * `extent` in the largest square the padding `pad` leaves, the data's train points (filled,
 * outlined) and, with `showTest`, its test points (rings), each coloured by `color(y)`, then
 * the axes and the frame. The canvas' data-train-points and data-test-points say how many
 * points were drawn; returns the square's box.
 */
export function drawPlane(canvas, ctx, w, h, { extent, image, smooth, pad, data, showTest, color, outline }) {
  const side = Math.max(10, Math.min(w - pad.l - pad.r, h - pad.t - pad.b));
  const box = { x: pad.l, y: pad.t, w: side, h: side };
  const [x0, x1, y0, y1] = extent;
  const sx = linScale(x0, x1, box.x, box.x + box.w);
  const sy = linScale(y0, y1, box.y + box.h, box.y);

  ctx.save();
  ctx.imageSmoothingEnabled = smooth;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(image, box.x, box.y, box.w, box.h);
  ctx.restore();

  ctx.save();
  ctx.beginPath();
  ctx.rect(box.x, box.y, box.w, box.h);
  ctx.clip();
  const r = side > 220 ? 3.4 : 2.8;
  const inside = (p) => p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1;
  const counts = { train: 0, test: 0 };
  for (const split of ["train", "test"]) {
    if (!data?.[split] || (split === "test" && !showTest)) continue;
    data[split].X.forEach((p, i) => {
      if (!inside(p)) return;
      counts[split]++;
      ctx.beginPath();
      ctx.arc(sx(p[0]), sy(p[1]), r, 0, 2 * Math.PI);
      if (split === "train") {
        ctx.fillStyle = color(data.train.y[i]);
        ctx.fill();
        ctx.lineWidth = outline.width;
        ctx.strokeStyle = outline.color;
        ctx.stroke();
      } else {
        ctx.lineWidth = 3.2;
        ctx.strokeStyle = outline.ring;
        ctx.stroke();
        ctx.lineWidth = outline.ringWidth;
        ctx.strokeStyle = color(data.test.y[i]);
        ctx.stroke();
      }
    });
  }
  ctx.restore();
  canvas.dataset.trainPoints = String(counts.train);
  canvas.dataset.testPoints = String(counts.test);

  const xt = niceTicks(x0, x1, 4).map((v) => ({ v, label: short(v) }));
  const yt = niceTicks(y0, y1, 4).map((v) => ({ v, label: short(v) }));
  axes(ctx, box, xt, yt, sx, sy, { grid: false });
  ctx.save();
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
  ctx.restore();
  return box;
}

// --- curves ----------------------------------------------------------------------------------

function polyline(ctx, xs, ys, sx, sy, ok) {
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const v = ys[i];
    if (!ok(v)) {
      pen = false;
      continue;
    }
    const px = sx(xs[i]);
    const py = sy(v);
    if (pen) ctx.lineTo(px, py);
    else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.stroke();
  // A single point would draw nothing: mark it.
  if (xs.length === 1 && ok(ys[0])) {
    ctx.beginPath();
    ctx.arc(sx(xs[0]), sy(ys[0]), 2, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function curveBox(w, h) {
  const pad = { l: 38, r: 10, t: 22, b: 18 };
  return { x: pad.l, y: pad.t, w: Math.max(10, w - pad.l - pad.r), h: Math.max(10, h - pad.t - pad.b) };
}

function iterationScale(hist, box) {
  const its = hist.iteration;
  const last = its.length ? its[its.length - 1] : 0;
  const hi = Math.max(10, last);
  const sx = linScale(0, hi, box.x, box.x + box.w);
  const xt = niceTicks(0, hi, Math.max(2, Math.floor(box.w / 70)))
    .filter((v) => Number.isInteger(v))
    .map((v) => ({ v, label: short(v) }));
  return { sx, xt };
}

/**
 * The test (dashed) and train lines of `hist.test_<what>` and `hist.train_<what>`, then the
 * legend; ends the clip region the caller saved.
 */
function trainTestLines(ctx, hist, what, sx, sy, ok, w) {
  ctx.lineWidth = 1.8;
  ctx.strokeStyle = SERIES.test;
  ctx.fillStyle = SERIES.test;
  ctx.setLineDash([5, 3]);
  polyline(ctx, hist.iteration, hist[`test_${what}`], sx, sy, ok);
  ctx.setLineDash([]);
  ctx.strokeStyle = SERIES.train;
  ctx.fillStyle = SERIES.train;
  polyline(ctx, hist.iteration, hist[`train_${what}`], sx, sy, ok);
  ctx.restore();
  legend(ctx, [
    { label: "train", color: SERIES.train },
    { label: "test", color: SERIES.test, dash: [5, 3] },
  ], w - 6, 10);
}

/** Train and test cost against iteration, log y. hist: accumulated history arrays. */
export function drawCost(canvas, hist) {
  const { ctx, w, h } = setup(canvas);
  const box = curveBox(w, h);
  title(ctx, "cost", 4, 4);
  const ok = (v) => v !== null && v !== undefined && Number.isFinite(v) && v > 0;
  const values = [...hist.train_cost, ...hist.test_cost].filter(ok);
  if (!values.length) {
    drawNote(ctx, w, h, "no cost yet");
    return;
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi / lo < 1.5) {
    lo /= 1.25;
    hi *= 1.25;
  }
  const sy = logScale(lo, hi, box.y + box.h, box.y);
  const { sx, xt } = iterationScale(hist, box);
  axes(ctx, box, xt, logTicks(lo, hi), sx, sy);
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.x, box.y - 2, box.w + 2, box.h + 4);
  ctx.clip();
  trainTestLines(ctx, hist, "cost", sx, sy, ok, w);
}

/** Train and test accuracy against iteration, 0–100 %. */
export function drawAccuracy(canvas, hist) {
  const { ctx, w, h } = setup(canvas);
  const box = curveBox(w, h);
  title(ctx, "accuracy", 4, 4);
  const ok = (v) => v !== null && v !== undefined && Number.isFinite(v);
  if (!hist.iteration.length) {
    drawNote(ctx, w, h, "no accuracy yet");
    return;
  }
  const sy = linScale(0, 1, box.y + box.h, box.y);
  const { sx, xt } = iterationScale(hist, box);
  const yt = [0, 0.5, 1].map((v) => ({ v, label: `${v * 100}%` }));
  axes(ctx, box, xt, yt, sx, sy);
  ctx.save();
  trainTestLines(ctx, hist, "accuracy", sx, sy, ok, w);
}

// --- histograms ------------------------------------------------------------------------------

function histOk(hg) {
  return hg && Array.isArray(hg.counts) && hg.counts.length > 0;
}

function drawHist(ctx, hg, box, color) {
  ctx.save();
  ctx.fillStyle = "#f6f7f9";
  ctx.fillRect(box.x, box.y, box.w, box.h);
  if (!histOk(hg)) {
    ctx.fillStyle = MUTED;
    ctx.font = font(10);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("—", box.x + box.w / 2, box.y + box.h / 2);
    ctx.restore();
    return false;
  }
  const counts = hg.counts.map((c) => (Number.isFinite(c) ? c : 0));
  const max = Math.max(...counts);
  const n = counts.length;
  const bw = box.w / n;
  ctx.fillStyle = color;
  if (max > 0) {
    for (let i = 0; i < n; i++) {
      if (counts[i] <= 0) continue;
      const bh = Math.max(1, (counts[i] / max) * (box.h - 2));
      ctx.fillRect(box.x + i * bw, box.y + box.h - bh, Math.max(0.8, bw - (bw > 3 ? 0.6 : 0)), bh);
    }
  }
  // Where zero falls, when it is inside the range.
  const { low, high } = hg;
  if (Number.isFinite(low) && Number.isFinite(high) && low < 0 && high > 0) {
    const zx = box.x + ((0 - low) / (high - low)) * box.w;
    ctx.strokeStyle = "rgba(31,41,51,0.35)";
    ctx.lineWidth = 1;
    ctx.setLineDash([2, 2]);
    ctx.beginPath();
    ctx.moveTo(Math.round(zx) + 0.5, box.y);
    ctx.lineTo(Math.round(zx) + 0.5, box.y + box.h);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(box.x, box.y + box.h + 0.5);
  ctx.lineTo(box.x + box.w, box.y + box.h + 0.5);
  ctx.stroke();
  ctx.fillStyle = MUTED;
  ctx.font = font(9);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  const span = high - low;
  const lowText = short(atNoise(low, span) ? 0 : low);
  const highText = short(atNoise(high, span) ? 0 : high);
  // Side by side where both fit, else the high end a line lower (drawHistograms leaves room).
  const fits = ctx.measureText(lowText).width + ctx.measureText(highText).width + 6 <= box.w;
  ctx.fillText(lowText, box.x, box.y + box.h + 3);
  ctx.textAlign = "right";
  ctx.fillText(highText, box.x + box.w, box.y + box.h + (fits ? 3 : 12));
  ctx.restore();
  return max > 0 || counts.length > 0;
}

/** Histogram columns: the left margin (row labels), the gap between layers. */
const HIST_LEFT = 16;
const HIST_GAP = 10;

/**
 * The layers' titles above the histogram columns, in `box` (a .hist-titles element laid out
 * as a grid of the same columns: panels.css): "layer 1 · relu · 10", allowed to wrap between
 * words. Where a column is too narrow for its longest word ("sigmoid"), the title is the layer
 * number alone, the whole title in its tooltip: a title is never cut.
 */
function histTitles(box, layers, cw, ctx) {
  ctx.save();
  ctx.font = font(10, 600);
  const texts = layers.map((layer) => {
    const long = `layer ${layer.layer} · ${layer.activation} · ${layer.width}`;
    const widest = Math.max(...long.split(" ").map((word) => ctx.measureText(word).width));
    return { long, text: widest <= cw - 2 ? long : `${layer.layer}` };
  });
  ctx.restore();
  const key = JSON.stringify(texts);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.style.setProperty("--columns", String(layers.length));
  box.style.setProperty("--left", `${HIST_LEFT}px`);
  box.style.setProperty("--gap", `${HIST_GAP}px`);
  box.replaceChildren(
    ...texts.map(({ long, text }) => {
      const t = document.createElement("span");
      t.className = "hist-title";
      t.textContent = text;
      t.title = long;
      return t;
    }),
  );
}

/**
 * One small multiple per layer: the activation histogram (top row) and the histogram of
 * ∂L/∂W's entries (bottom row); their titles go in `titles` (a .hist-titles element) when
 * given. Marks the canvas data-drawn="true" once something was drawn.
 */
export function drawHistograms(canvas, layers, titles = null) {
  const { ctx, w, h } = setup(canvas);
  if (!layers || !layers.length) {
    drawNote(ctx, w, h, "no layers");
    delete canvas.dataset.drawn;
    titles?.replaceChildren();
    if (titles) delete titles.dataset.key;
    return;
  }
  const left = HIST_LEFT;
  const gap = HIST_GAP;
  const n = layers.length;
  const cw = (w - left - gap * (n - 1) - 2) / n;
  if (titles) histTitles(titles, layers, cw, ctx);
  const top = 4;
  // Room under each row for its range labels: one line, or two where a column is too narrow
  // for both side by side (drawHist staggers them then).
  const labelH = cw < 84 ? 23 : 14;
  const rowH = (h - top - 2 * labelH - 6) / 2;
  let drawn = false;
  layers.forEach((layer, i) => {
    const x = left + i * (cw + gap);
    const a = drawHist(ctx, layer.activation_hist, { x, y: top, w: cw, h: rowH }, SERIES.activations);
    const g = drawHist(
      ctx,
      layer.gradient_hist,
      { x, y: top + rowH + labelH + 6, w: cw, h: rowH },
      SERIES.gradients,
    );
    drawn = drawn || a || g;
  });
  // Row labels, vertical, in the left margin.
  ctx.save();
  ctx.font = font(10);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const rows = [
    ["activations", SERIES.activations, top + rowH / 2],
    ["∂L/∂W", SERIES.gradients, top + rowH + labelH + 6 + rowH / 2],
  ];
  for (const [label, color, y] of rows) {
    ctx.save();
    ctx.translate(7, y);
    ctx.rotate(-Math.PI / 2);
    ctx.fillStyle = color;
    ctx.fillText(label, 0, 0);
    ctx.restore();
  }
  ctx.restore();
  if (drawn) canvas.dataset.drawn = "true";
  else delete canvas.dataset.drawn;
}

// --- theory -------------------------------------------------------------------------------------

/**
 * A layer's mean of Z² as the chart draws it: null when missing or not finite, 0 when at most
 * the layer's `q_noise` (the server's rounding-noise level, initlab.web.frames.noise_floor:
 * a root mean square 1e-12 of the inputs' is what float64 leaves of an exact 0), else itself.
 */
export function drawnQ(layer, v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const floor = layer.q_noise;
  return Number.isFinite(floor) && Math.abs(v) <= floor ? 0 : v;
}

/**
 * Per layer: the mean-field prediction q_predicted (dashed line, crosses) beside the measured
 * second moment of Z at initialization (rings) and now (diamonds), log y. Values at rounding
 * noise (drawnQ) are drawn as 0, on the line under the log axis marked "0", never as data;
 * the canvas' data-noise counts them, data-low is the axis' bottom value.
 */
export function drawTheory(canvas, layers, theory) {
  const { ctx, w, h } = setup(canvas);
  title(ctx, "mean of Z² per layer", 4, 4);
  canvas.dataset.noise = "0";
  delete canvas.dataset.low;
  if (!layers || !layers.length) {
    drawNote(ctx, w, h, "no layers");
    return;
  }
  let noise = 0;
  const qs = layers.map((l) => {
    const q = {};
    for (const key of ["q_predicted", "q_initial", "q_measured"]) {
      q[key] = drawnQ(l, l[key]);
      if (q[key] === 0 && l[key] !== 0) noise++;
    }
    return q;
  });
  canvas.dataset.noise = String(noise);
  const pos = (v) => v !== null && v > 0;
  const values = qs.flatMap((q) => [q.q_predicted, q.q_initial, q.q_measured]).filter(pos);
  const box = { x: 40, y: 24, w: Math.max(10, w - 40 - 12), h: Math.max(10, h - 24 - 20) };
  const n = layers.length;
  const sx = (i) => box.x + ((i + 0.5) / n) * box.w;
  const xt = layers.map((l, i) => ({ v: i, label: `${l.layer}` }));
  if (!values.length) {
    axes(ctx, box, xt, [], sx, () => 0, { grid: false });
    const all = noise ? "all 0 (or rounding noise): nothing to show on a log scale" : "all zero: nothing to show on a log scale";
    drawNote(ctx, w, h + 10, theory && !theory.available && theory.note ? theory.note : all);
    return;
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi / lo < 10) {
    const c = Math.sqrt(lo * hi);
    lo = Math.min(lo, c / 3.2);
    hi = Math.max(hi, c * 3.2);
  } else {
    lo /= 1.4;
    hi *= 1.4;
  }
  canvas.dataset.low = String(lo);
  const sy = logScale(lo, hi, box.y + box.h, box.y);
  axes(ctx, box, xt, logTicks(lo, hi), sx, sy);
  const bottom = box.y + box.h - 3;
  const yOf = (v) => (pos(v) ? sy(v) : v === 0 ? bottom : null);
  if (qs.some((q) => [q.q_predicted, q.q_initial, q.q_measured].includes(0))) {
    ctx.save();
    ctx.fillStyle = MUTED;
    ctx.font = font(10);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText("0", box.x - 4, bottom);
    ctx.restore();
  }
  // Prediction: a dashed line through the layers.
  if (qs.some((q) => pos(q.q_predicted))) {
    ctx.save();
    ctx.strokeStyle = SERIES.predicted;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    polyline(ctx, qs.map((_, i) => i), qs.map((q) => q.q_predicted), sx, sy, pos);
    ctx.setLineDash([]);
    qs.forEach((q, i) => {
      if (pos(q.q_predicted)) marker(ctx, "cross", sx(i), sy(q.q_predicted), 3, SERIES.predicted);
    });
    ctx.restore();
  }
  const off = Math.min(7, box.w / n / 6);
  qs.forEach((q, i) => {
    const yi = yOf(q.q_initial);
    if (yi !== null) marker(ctx, "ring", sx(i) - off, yi, 3.5, SERIES.initial);
    const ym = yOf(q.q_measured);
    if (ym !== null) marker(ctx, "diamond", sx(i) + off, ym, 3.5, SERIES.measured);
  });
  const items = [
    { label: "at init", color: SERIES.initial, marker: "ring" },
    { label: "now", color: SERIES.measured, marker: "diamond" },
  ];
  if (theory?.available) items.unshift({ label: "theory", color: SERIES.predicted, dash: [4, 3], lineWidth: 1.5 });
  legend(ctx, items, w - 6, 10);
}

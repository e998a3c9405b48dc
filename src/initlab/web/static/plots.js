// Small hand-written canvas helpers for the playground. They only draw what the server sent:
// no neural-network math happens here, just scales, ticks, lines, bars and pixels.

export const FONT_FAMILY =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

export const INK = "#1f2933";
export const MUTED = "#6b7785";
export const GRID = "#e8ebef";
export const AXIS = "#b8c0c9";

/** Class colours: TF-Playground orange and blue first, then a categorical palette. */
export const CLASS_COLORS = [
  "#f59322", "#0877bd", "#3e9c4b", "#d64550", "#8e63b5",
  "#c9a227", "#2a9d8f", "#e377c2", "#8c6d4f", "#7f8c8d",
];

export const SERIES = {
  train: "#24527a",
  test: "#e07b39",
  activations: "#2a9d8f",
  gradients: "#8e63b5",
  predicted: "#6b7785",
  initial: "#e07b39",
  measured: "#24527a",
};

export function classColor(k) {
  return CLASS_COLORS[((k % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length];
}

export function font(size, weight = 400) {
  return `${weight} ${size}px ${FONT_FAMILY}`;
}

/**
 * Size the canvas' backing store to its CSS box × devicePixelRatio and return a context whose
 * unit is one CSS pixel, with the box's width and height.
 */
export function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth));
  const h = Math.max(1, Math.round(canvas.clientHeight));
  const bw = Math.round(w * dpr);
  const bh = Math.round(h * dpr);
  if (canvas.width !== bw) canvas.width = bw;
  if (canvas.height !== bh) canvas.height = bh;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  return { ctx, w, h };
}

// --- numbers and ticks -------------------------------------------------------------------

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** A short label for a tick or a value: 0.01, 2.5, 1.2k, 3e-5. */
export function short(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(1).split("e");
    const mant = m.replace(/\.0$/, "");
    return `${mant}e${Number(e)}`;
  }
  if (a >= 1000) {
    const k = v / 1000;
    return `${Number.isInteger(k) ? k : k.toFixed(Math.abs(k) >= 10 ? 0 : 1)}k`;
  }
  return String(Number(v.toPrecision(3)));
}

function powerLabel(e) {
  if (e >= -2 && e <= 3) return short(10 ** e);
  return `10${String(e).split("").map((c) => SUPERSCRIPT[c]).join("")}`;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Tick values for a log axis over [lo, hi] (both > 0), with their labels. */
export function logTicks(lo, hi) {
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const decades = e1 - e0;
  const stride = Math.max(1, Math.ceil(decades / 5));
  const ticks = [];
  for (let e = e0; e <= e1; e += stride) ticks.push({ v: 10 ** e, label: powerLabel(e) });
  if (decades <= 2) {
    for (let e = e0; e <= e1; e++) {
      for (const m of [2, 5]) {
        const v = m * 10 ** e;
        if (v > lo && v < hi) ticks.push({ v, label: short(v) });
      }
    }
  }
  const inside = ticks.filter((t) => t.v >= lo * 0.999 && t.v <= hi * 1.001);
  if (inside.length >= 2) return inside.sort((a, b) => a.v - b.v);
  // A narrow range (a flat curve) holds no 1-2-5 tick: label it linearly instead.
  return niceTicks(lo, hi, 3)
    .filter((v) => v > 0)
    .map((v) => ({ v, label: short(v) }));
}

function linScale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function logScale(d0, d1, r0, r1) {
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const span = l1 - l0 || 1;
  return (v) => r0 + ((Math.log10(v) - l0) / span) * (r1 - r0);
}

// --- frame pieces ---------------------------------------------------------------------------

function drawNote(ctx, w, h, text) {
  ctx.save();
  ctx.fillStyle = MUTED;
  ctx.font = font(12);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  wrapText(ctx, text, w / 2, h / 2, w - 24, 16);
  ctx.restore();
}

function wrapText(ctx, text, x, y, maxWidth, lineHeight) {
  const words = String(text).split(/\s+/);
  const lines = [];
  let line = "";
  for (const word of words) {
    const test = line ? `${line} ${word}` : word;
    if (ctx.measureText(test).width > maxWidth && line) {
      lines.push(line);
      line = word;
    } else {
      line = test;
    }
  }
  if (line) lines.push(line);
  const top = y - ((lines.length - 1) * lineHeight) / 2;
  lines.forEach((l, i) => ctx.fillText(l, x, top + i * lineHeight));
}

/** Axis frame, grid and tick labels for a plot box; returns nothing, draws in place. */
function axes(ctx, box, xTicks, yTicks, sx, sy, opts = {}) {
  const { x, y, w, h } = box;
  ctx.save();
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = MUTED;
  ctx.font = font(10);
  if (opts.grid !== false) {
    ctx.beginPath();
    for (const t of yTicks) {
      const py = Math.round(sy(t.v)) + 0.5;
      ctx.moveTo(x, py);
      ctx.lineTo(x + w, py);
    }
    ctx.stroke();
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) ctx.fillText(t.label, x - 4, sy(t.v));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of xTicks) ctx.fillText(t.label, sx(t.v), y + h + 4);
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(x + 0.5, y);
  ctx.lineTo(x + 0.5, y + h + 0.5);
  ctx.lineTo(x + w, y + h + 0.5);
  ctx.stroke();
  ctx.restore();
}

function title(ctx, text, x, y, align = "left") {
  ctx.save();
  ctx.fillStyle = INK;
  ctx.font = font(11, 600);
  ctx.textAlign = align;
  ctx.textBaseline = "top";
  ctx.fillText(text, x, y);
  ctx.restore();
}

/** A legend row at (x, y), right-aligned if `right` is true. items: {label, color, dash, marker} */
function legend(ctx, items, x, y, right = true) {
  ctx.save();
  ctx.font = font(10);
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const widths = items.map((it) => 18 + ctx.measureText(it.label).width + 10);
  let cx = right ? x - widths.reduce((a, b) => a + b, 0) : x;
  items.forEach((it, i) => {
    ctx.strokeStyle = it.color;
    ctx.fillStyle = it.color;
    ctx.lineWidth = it.lineWidth ?? 2;
    if (it.marker) {
      marker(ctx, it.marker, cx + 7, y, 3.5, it.color);
    } else {
      ctx.setLineDash(it.dash ?? []);
      ctx.beginPath();
      ctx.moveTo(cx, y);
      ctx.lineTo(cx + 14, y);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = MUTED;
    ctx.fillText(it.label, cx + 18, y);
    cx += widths[i];
  });
  ctx.restore();
}

function marker(ctx, kind, x, y, r, color) {
  ctx.save();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.beginPath();
  if (kind === "diamond") {
    ctx.moveTo(x, y - r - 1);
    ctx.lineTo(x + r + 1, y);
    ctx.lineTo(x, y + r + 1);
    ctx.lineTo(x - r - 1, y);
    ctx.closePath();
    ctx.fill();
  } else if (kind === "ring") {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = "#fff";
    ctx.fill();
    ctx.stroke();
  } else if (kind === "cross") {
    ctx.moveTo(x - r, y - r);
    ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r);
    ctx.lineTo(x - r, y + r);
    ctx.stroke();
  } else {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}

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

const boundaryCache = new WeakMap();

function boundaryImage(boundary, nClasses) {
  const cached = boundaryCache.get(boundary);
  if (cached) return cached;
  const n = boundary.size;
  const prob = decodeBytes(boundary.probability);
  const classes = decodeBytes(boundary.classes);
  const img = new ImageData(n, n);
  const px = img.data;
  const k = Math.max(2, nClasses || 2);
  for (let i = 0; i < n * n; i++) {
    let c;
    if (classes) {
      // Winning class, shaded by how sure: its probability from 1/k (white) to 1 (full).
      const p = prob[i] / 255;
      const strength = Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k)));
      c = mix(WHITE, hexRgb(classColor(classes[i])), 0.18 + 0.6 * strength);
    } else {
      const j = prob[i] * 3;
      c = [BINARY_LUT[j], BINARY_LUT[j + 1], BINARY_LUT[j + 2]];
    }
    px[i * 4] = c[0];
    px[i * 4 + 1] = c[1];
    px[i * 4 + 2] = c[2];
    px[i * 4 + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = n;
  off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  boundaryCache.set(boundary, off);
  return off;
}

/**
 * The decision boundary (frame.runs[i].boundary) as a heatmap with the data's train points
 * (filled, white outline) and test points (rings) on top.
 */
export function drawBoundary(canvas, boundary, data) {
  const { ctx, w, h } = setup(canvas);
  if (!boundary) {
    drawNote(ctx, w, h, "decision boundary needs 2 features");
    return;
  }
  const pad = { l: 30, r: 6, t: 6, b: 20 };
  const side = Math.max(10, Math.min(w - pad.l - pad.r, h - pad.t - pad.b));
  const box = { x: pad.l, y: pad.t, w: side, h: side };
  const [x0, x1, y0, y1] = boundary.extent;
  const sx = linScale(x0, x1, box.x, box.x + box.w);
  const sy = linScale(y0, y1, box.y + box.h, box.y);

  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(boundaryImage(boundary, data?.n_classes), box.x, box.y, box.w, box.h);
  ctx.restore();

  ctx.save();
  ctx.beginPath();
  ctx.rect(box.x, box.y, box.w, box.h);
  ctx.clip();
  const r = side > 220 ? 3.4 : 2.8;
  const inside = (p) => p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1;
  if (data?.train) {
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#fff";
    data.train.X.forEach((p, i) => {
      if (!inside(p)) return;
      ctx.beginPath();
      ctx.arc(sx(p[0]), sy(p[1]), r, 0, 2 * Math.PI);
      ctx.fillStyle = classColor(data.train.y[i]);
      ctx.fill();
      ctx.stroke();
    });
  }
  if (data?.test) {
    data.test.X.forEach((p, i) => {
      if (!inside(p)) return;
      const px = sx(p[0]);
      const py = sy(p[1]);
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.lineWidth = 3.2;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.stroke();
      ctx.lineWidth = 1.6;
      ctx.strokeStyle = classColor(data.test.y[i]);
      ctx.stroke();
    });
  }
  ctx.restore();

  const xt = niceTicks(x0, x1, 4).map((v) => ({ v, label: short(v) }));
  const yt = niceTicks(y0, y1, 4).map((v) => ({ v, label: short(v) }));
  axes(ctx, box, xt, yt, sx, sy, { grid: false });
  ctx.save();
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
  ctx.restore();
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
  ctx.fillText(short(low), box.x, box.y + box.h + 3);
  ctx.textAlign = "right";
  ctx.fillText(short(high), box.x + box.w, box.y + box.h + 3);
  ctx.restore();
  return max > 0 || counts.length > 0;
}

/**
 * One small multiple per layer: the activation histogram (top row) and the histogram of
 * ∂L/∂W's entries (bottom row). Marks the canvas data-drawn="true" once something was drawn.
 */
export function drawHistograms(canvas, layers) {
  const { ctx, w, h } = setup(canvas);
  if (!layers || !layers.length) {
    drawNote(ctx, w, h, "no layers");
    delete canvas.dataset.drawn;
    return;
  }
  const left = 16;
  const gap = 10;
  const n = layers.length;
  const cw = (w - left - gap * (n - 1) - 2) / n;
  const titleH = 16;
  const labelH = 14;
  const rowH = (h - titleH - 2 * labelH - 6) / 2;
  let drawn = false;
  ctx.font = font(10, 600);
  layers.forEach((layer, i) => {
    const x = left + i * (cw + gap);
    const long = `layer ${layer.layer} · ${layer.activation} · ${layer.width}`;
    const mid = `${layer.layer} · ${layer.activation} · ${layer.width}`;
    const text = ctx.measureText(long).width <= cw ? long : ctx.measureText(mid).width <= cw ? mid : `${layer.layer}`;
    ctx.save();
    ctx.fillStyle = INK;
    ctx.font = font(10, 600);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillText(text, x + cw / 2, 2);
    ctx.restore();
    const a = drawHist(ctx, layer.activation_hist, { x, y: titleH, w: cw, h: rowH }, SERIES.activations);
    const g = drawHist(
      ctx,
      layer.gradient_hist,
      { x, y: titleH + rowH + labelH + 6, w: cw, h: rowH },
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
    ["activations", SERIES.activations, titleH + rowH / 2],
    ["∂L/∂W", SERIES.gradients, titleH + rowH + labelH + 6 + rowH / 2],
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
 * Per layer: the mean-field prediction q_predicted (dashed line, crosses) beside the measured
 * second moment of Z at initialization (rings) and now (diamonds), log y.
 */
export function drawTheory(canvas, layers, theory) {
  const { ctx, w, h } = setup(canvas);
  title(ctx, "mean of Z² per layer", 4, 4);
  if (!layers || !layers.length) {
    drawNote(ctx, w, h, "no layers");
    return;
  }
  const pos = (v) => v !== null && v !== undefined && Number.isFinite(v) && v > 0;
  const values = layers.flatMap((l) => [l.q_predicted, l.q_initial, l.q_measured]).filter(pos);
  const box = { x: 40, y: 24, w: Math.max(10, w - 40 - 12), h: Math.max(10, h - 24 - 20) };
  const n = layers.length;
  const sx = (i) => box.x + ((i + 0.5) / n) * box.w;
  const xt = layers.map((l, i) => ({ v: i, label: `${l.layer}` }));
  if (!values.length) {
    axes(ctx, box, xt, [], sx, () => 0, { grid: false });
    drawNote(ctx, w, h + 10, theory && !theory.available && theory.note ? theory.note : "all zero: nothing to show on a log scale");
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
  const sy = logScale(lo, hi, box.y + box.h, box.y);
  axes(ctx, box, xt, logTicks(lo, hi), sx, sy);
  const bottom = box.y + box.h - 3;
  const yOf = (v) => (pos(v) ? sy(v) : v === 0 ? bottom : null);
  // Prediction: a dashed line through the layers.
  if (layers.some((l) => pos(l.q_predicted))) {
    ctx.save();
    ctx.strokeStyle = SERIES.predicted;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    polyline(ctx, layers.map((_, i) => i), layers.map((l) => l.q_predicted), sx, sy, pos);
    ctx.setLineDash([]);
    layers.forEach((l, i) => {
      if (pos(l.q_predicted)) marker(ctx, "cross", sx(i), sy(l.q_predicted), 3, SERIES.predicted);
    });
    ctx.restore();
  }
  const off = Math.min(7, box.w / n / 6);
  layers.forEach((l, i) => {
    const yi = yOf(l.q_initial);
    if (yi !== null) marker(ctx, "ring", sx(i) - off, yi, 3.5, SERIES.initial);
    const ym = yOf(l.q_measured);
    if (ym !== null) marker(ctx, "diamond", sx(i) + off, ym, 3.5, SERIES.measured);
  });
  const items = [
    { label: "at init", color: SERIES.initial, marker: "ring" },
    { label: "now", color: SERIES.measured, marker: "diamond" },
  ];
  if (theory?.available) items.unshift({ label: "theory", color: SERIES.predicted, dash: [4, 3], lineWidth: 1.5 });
  legend(ctx, items, w - 6, 10);
}

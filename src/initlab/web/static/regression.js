// initlab playground: a regression run's figures. Where the data's targets are real numbers
// (TF Playground's plane and Gaussians, or a CSV uploaded as regression), the boundary view
// becomes the network's predicted surface over the input plane on a diverging colour scale
// (orange low, white at the middle — 0 where the targets span it —, blue high) with the scale
// and its range drawn beside it, the data points coloured by their target on the same scale;
// the metrics and the score curve show R² instead of accuracy. Every number comes from the
// server (frame.runs[i].boundary of kind "surface", train_r2/test_r2, the r2 history).

import { $, setText } from "./dom.js";
import {
  AXIS,
  INK,
  MUTED,
  SERIES,
  axes,
  classColor,
  drawNote,
  font,
  legend,
  linScale,
  niceTicks,
  setup,
  short,
  title,
} from "./chart.js";
import { drawBoundary, drawPlane } from "./plots.js";
import { LUT } from "./scale.js";

/** Whether `data` (the session's DATA) is a regression set. */
export const isRegression = (data) => data?.task === "regression";

/** The scale's colour of byte `q` (0 low … 255 high; 128 is white). */
function lutColour(q) {
  const i = 3 * Math.max(0, Math.min(255, Math.round(q)));
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

/** A point's colour: its class, or for a regression set its target on the surface's scale. */
export function targetColor(data, y) {
  if (!isRegression(data)) return classColor(y);
  const [low, high] = data.target_range ?? [-1, 1];
  const v = Array.isArray(y) ? y[0] : y;
  return lutColour(high > low ? ((v - low) / (high - low)) * 255 : 128);
}

const surfaces = new WeakMap();

function surfaceImage(boundary) {
  let off = surfaces.get(boundary);
  if (off) return off;
  const n = boundary.size;
  const s = atob(boundary.values);
  const img = new ImageData(n, n);
  const px = img.data;
  for (let i = 0; i < n * n; i++) {
    const j = 3 * s.charCodeAt(i);
    px[4 * i] = LUT[j];
    px[4 * i + 1] = LUT[j + 1];
    px[4 * i + 2] = LUT[j + 2];
    px[4 * i + 3] = 255;
  }
  off = document.createElement("canvas");
  off.width = n;
  off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  surfaces.set(boundary, off);
  return off;
}

/** The colour bar: low at the bottom, high at the top, ticks on its right; the prediction's
 * own range on the grid marked by two arrows (pinned to an end where it leaves the scale). */
function colourBar(ctx, bar, boundary) {
  const { low, high } = boundary;
  for (let y = 0; y < bar.h; y++) {
    ctx.fillStyle = lutColour(255 * (1 - y / Math.max(1, bar.h - 1)));
    ctx.fillRect(bar.x, bar.y + y, bar.w, 1);
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(bar.x + 0.5, bar.y + 0.5, bar.w - 1, bar.h - 1);
  const sy = linScale(low, high, bar.y + bar.h, bar.y);
  ctx.fillStyle = MUTED;
  ctx.font = font(9);
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (const v of [low, (low + high) / 2, high]) ctx.fillText(short(v), bar.x + bar.w + 3, sy(v));
  ctx.fillStyle = INK;
  for (const v of [boundary.min, boundary.max]) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    const y = Math.max(bar.y, Math.min(bar.y + bar.h, sy(v)));
    ctx.beginPath();
    ctx.moveTo(bar.x - 1, y);
    ctx.lineTo(bar.x - 6, y - 3.5);
    ctx.lineTo(bar.x - 6, y + 3.5);
    ctx.closePath();
    ctx.fill();
  }
}

/** The boundary view of a run: a regression network's surface (drawSurface), else the
 * decision boundary (plots.js). */
export function drawBoundaryOrSurface(canvas, boundary, data, view) {
  if (boundary?.kind === "surface") {
    drawSurface(canvas, boundary, data, view);
    return;
  }
  for (const key of ["kind", "low", "high"]) delete canvas.dataset[key];
  drawBoundary(canvas, boundary, data, view);
}

/**
 * The predicted surface (frame.runs[i].boundary, kind "surface") with the data's train points
 * (filled) and, unless view.showTest is off, test points (rings) coloured by their target,
 * and the colour scale beside it. The canvas says what it shows in data-kind, data-low,
 * data-high and the points drawn in data-train-points, data-test-points.
 */
export function drawSurface(canvas, boundary, data, view = { showTest: true }) {
  const { ctx, w, h } = setup(canvas);
  canvas.dataset.kind = "surface";
  canvas.dataset.low = String(boundary.low);
  canvas.dataset.high = String(boundary.high);
  canvas.setAttribute("aria-label", `predicted surface, colour scale ${short(boundary.low)} to ${short(boundary.high)}, with the data`);
  const box = drawPlane(canvas, ctx, w, h, {
    extent: boundary.extent,
    image: surfaceImage(boundary),
    smooth: true,
    pad: { l: 30, r: 48, t: 6, b: 20 },
    data,
    showTest: view.showTest !== false,
    color: (y) => targetColor(data, y),
    outline: { width: 0.8, color: "rgba(31,41,51,0.55)", ring: "rgba(31,41,51,0.5)", ringWidth: 1.8 },
  });
  colourBar(ctx, { x: box.x + box.w + 10, y: box.y + 14, w: 9, h: Math.max(10, box.h - 28) }, boundary);
  ctx.fillStyle = MUTED;
  ctx.font = font(9);
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText("ŷ", box.x + box.w + 10, box.y);
}

// --- R² ------------------------------------------------------------------------------------------

function r2Text(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (Math.abs(v) >= 1000) return v.toExponential(2);
  const text = v.toFixed(3);
  return text === "-0.000" ? "0.000" : text;
}

/** The panel's score metrics: R² for a regression set, else the panel's own (accuracy). The
 * labels' own texts are kept and put back when the data is classification again. */
export function renderScores(sec, run, data) {
  const regression = isRegression(data);
  for (const split of ["train", "test"]) {
    const value = $(`.${split}-accuracy`, sec);
    const label = value?.parentElement?.querySelector(".metric-label");
    if (!value || !label) continue;
    label.dataset.accuracy ??= label.textContent;
    setText(label, regression ? `${split} R²` : label.dataset.accuracy);
    value.title = regression ? "coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²" : "";
    if (regression) setText(value, r2Text(run[`${split}_r2`]));
  }
  for (const split of ["train", "test"]) {
    const cost = $(`.${split}-cost`, sec);
    if (cost) cost.title = regression ? "½ · mean squared error (+ the L1 and L2 terms)" : "";
  }
}

function polyline(ctx, xs, ys, sx, sy) {
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const v = ys[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false;
      continue;
    }
    if (pen) ctx.lineTo(sx(xs[i]), sy(v));
    else ctx.moveTo(sx(xs[i]), sy(v));
    pen = true;
  }
  ctx.stroke();
}

/** Train and test R² against iteration, from min(0, the lowest R², −1 at most) to 1; values
 * below the axis are drawn at its bottom. */
export function drawR2(canvas, hist) {
  const { ctx, w, h } = setup(canvas);
  canvas.setAttribute("aria-label", "train and test R² by iteration");
  title(ctx, "R²", 4, 4);
  const train = hist.train_r2 ?? [];
  const test = hist.test_r2 ?? [];
  if (!hist.iteration.length) {
    drawNote(ctx, w, h, "no R² yet");
    return;
  }
  const finite = [...train, ...test].filter((v) => v !== null && Number.isFinite(v));
  const lo = Math.max(-1, Math.min(0, ...finite));
  const box = { x: 38, y: 22, w: Math.max(10, w - 48), h: Math.max(10, h - 40) };
  const last = hist.iteration[hist.iteration.length - 1];
  const sx = linScale(0, Math.max(10, last), box.x, box.x + box.w);
  const sy0 = linScale(lo, 1, box.y + box.h, box.y);
  const sy = (v) => sy0(Math.max(lo, v));
  const xt = niceTicks(0, Math.max(10, last), Math.max(2, Math.floor(box.w / 70)))
    .filter(Number.isInteger)
    .map((v) => ({ v, label: short(v) }));
  const yt = [lo, lo / 2, 0, 0.5, 1].filter((v, i, a) => a.indexOf(v) === i).map((v) => ({ v, label: short(v) }));
  axes(ctx, box, xt, yt, sx, sy);
  ctx.save();
  ctx.lineWidth = 1.8;
  ctx.strokeStyle = SERIES.test;
  ctx.setLineDash([5, 3]);
  polyline(ctx, hist.iteration, test, sx, sy);
  ctx.setLineDash([]);
  ctx.strokeStyle = SERIES.train;
  polyline(ctx, hist.iteration, train, sx, sy);
  ctx.restore();
  legend(ctx, [
    { label: "train", color: SERIES.train },
    { label: "test", color: SERIES.test, dash: [5, 3] },
  ], w - 6, 10);
}

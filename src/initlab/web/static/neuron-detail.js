// initlab playground: one neuron up close, for the network diagram (diagram.js). Its map over
// the input plane drawn large with the training points on top, its incoming weights and bias
// as bars coloured by sign, and the histogram of its activation over the training data: all
// as the server sent them in the frame (initlab.web.neurons), nothing computed here. The points
// are coloured by class, or for a regression set by target (regression.js).

import { $, setText } from "./dom.js";
import { INK, MUTED, AXIS, drawNote, font, setup, short } from "./chart.js";
import { featureLabel } from "./inputs.js";
import { targetColor } from "./regression.js";

const NEGATIVE = "#f59322";
const POSITIVE = "#0877bd";
const HIST = "#2a9d8f";
const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";

function sub(n) {
  return String(n).split("").map((c) => SUBSCRIPT[Number(c)]).join("");
}

/** Input `i`'s name: its feature ("x₁²", "sin x₂") or x₁, x₂, … */
const inputLabel = (d, i) => (d.inputs?.[i] ? featureLabel(d.inputs[i]) : `x${sub(i + 1)}`);

/** The neuron's name: "x₁" (an input), "ŷ" (the output) or "layer 1 · neuron 3". */
function describe(d, l, j) {
  const L = d.sizes.length - 1;
  if (l === 0) return `input ${inputLabel(d, j)}`;
  const act = d.activations[l - 1];
  if (l === L) {
    return `output ${d.sizes[L] === 1 ? "ŷ" : `ŷ${sub(j)}`} · ${act}`;
  }
  return `layer ${l} · neuron ${j + 1} · ${act}`;
}

/** The map drawn large (from the node's own canvas), the training points on top. */
function drawMap(canvas, source, extent, data) {
  const { ctx, w, h } = setup(canvas);
  if (!source) {
    drawNote(ctx, w, h, "no map");
    return;
  }
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, w, h);
  ctx.restore();
  if (data?.train && extent) {
    const [x0, x1, y0, y1] = extent;
    ctx.lineWidth = 0.8;
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    data.train.X.forEach((p, i) => {
      const px = ((p[0] - x0) / (x1 - x0)) * w;
      const py = ((y1 - p[1]) / (y1 - y0)) * h;
      ctx.beginPath();
      ctx.arc(px, py, 2, 0, 2 * Math.PI);
      ctx.fillStyle = targetColor(data, data.train.y[i]);
      ctx.fill();
      ctx.stroke();
    });
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
}

/** Incoming weights W[l][j, :] and the bias b[l][j], one bar each, a zero line between. */
function drawWeights(canvas, d, l, j) {
  const { ctx, w, h } = setup(canvas);
  if (l === 0 || !d.weights) {
    drawNote(ctx, w, h, l === 0 ? "an input: no incoming weights" : "no weights");
    return;
  }
  const nIn = d.sizes[l - 1];
  const values = [...d.weights[l - 1].subarray(j * nIn, (j + 1) * nIn), d.biases[l - 1][j]];
  const labels = values.map((_, i) => (i === nIn ? "b" : l === 1 ? inputLabel(d, i) : `${i + 1}`));
  const top = 14;
  const bottom = 14;
  const finite = values.filter(Number.isFinite);
  const scale = Math.max(1e-12, ...finite.map(Math.abs));
  const zero = top + (h - top - bottom) / 2;
  const half = (h - top - bottom) / 2;
  const bw = (w - 4) / values.length;
  ctx.font = font(10, 600);
  ctx.fillStyle = INK;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(`incoming weights (max |w| ${short(scale)})`, 2, 0);
  values.forEach((v, i) => {
    const x = 2 + i * bw;
    const len = Number.isFinite(v) ? (Math.abs(v) / scale) * half : half;
    ctx.fillStyle = !Number.isFinite(v) ? "#d64550" : v < 0 ? NEGATIVE : POSITIVE;
    ctx.globalAlpha = i === nIn ? 0.55 : 1;
    const y = v < 0 ? zero : zero - len;
    ctx.fillRect(x + bw * 0.15, y, Math.max(1, bw * 0.7), Math.max(0.5, len));
    ctx.globalAlpha = 1;
    if (bw >= 14 || i === nIn) {
      ctx.fillStyle = MUTED;
      ctx.font = font(9);
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(labels[i], x + bw / 2, h);
      ctx.textAlign = "left";
    }
  });
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(0, zero + 0.5);
  ctx.lineTo(w, zero + 0.5);
  ctx.stroke();
}

/** The neuron's activation over the training data: counts in equal bins over [low, high]. */
function drawHistogram(canvas, hist) {
  const { ctx, w, h } = setup(canvas);
  if (!hist || !hist.counts?.length) {
    drawNote(ctx, w, h, "no histogram");
    return;
  }
  const top = 14;
  const bottom = 13;
  const peak = Math.max(1, ...hist.counts);
  const bw = w / hist.counts.length;
  ctx.font = font(10, 600);
  ctx.fillStyle = INK;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText("activation over the training data", 0, 0);
  ctx.fillStyle = HIST;
  hist.counts.forEach((c, i) => {
    const bh = (c / peak) * (h - top - bottom);
    ctx.fillRect(i * bw + 0.5, h - bottom - bh, Math.max(1, bw - 1), bh);
  });
  ctx.fillStyle = MUTED;
  ctx.font = font(9);
  ctx.textBaseline = "bottom";
  ctx.fillText(short(hist.low), 0, h);
  ctx.textAlign = "right";
  ctx.fillText(short(hist.high), w, h);
}

/**
 * Fill the detail box of neuron `j` of layer `l` of the decoded network `d`: `source` is the
 * node's map canvas (null without maps), `data` the session's data (its training points).
 */
export function drawDetail(box, d, l, j, source, data) {
  const title = $(".detail-title", box);
  let text = describe(d, l, j);
  if (d.maps) {
    const m = d.maps.layers[l];
    if (m.low[j] !== null) text += ` · on the plane ${short(m.low[j])} to ${short(m.high[j])}`;
  }
  setText(title, text);
  drawMap($(".detail-map", box), source, d.maps?.extent, data);
  drawWeights($(".detail-weights", box), d, l, j);
  const hist = l > 0 && d.histograms ? d.histograms[l - 1][j] : null;
  const histCanvas = $(".detail-hist", box);
  histCanvas.hidden = l === 0;
  if (l > 0) drawHistogram(histCanvas, hist);
}

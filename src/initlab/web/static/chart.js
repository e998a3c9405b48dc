// initlab playground: the canvas primitives the figures are drawn with. Palette and fonts, a
// context sized for the display, numbers and ticks, scales, and the frame pieces (axes, titles,
// legends, markers, notes). No neural-network math: only scales, ticks, lines and text.

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

/**
 * A number on an axis is rounding noise, written 0, when it lies within NOISE of the axis'
 * span from zero: float64 sums leave ~1e-16 of their terms where the exact value is 0 (the
 * zeros run's output histogram starts at 1.1e-16, the edge of a ±½ range around ½), and a
 * label written to 3 digits cannot tell anything that close to 0 from 0. The report uses the
 * same fraction for its ± (initlab.report.data.NOISE).
 */
export const NOISE = 1e-9;

/** Whether `v` is rounding noise beside a quantity of size `scale` (see NOISE). */
export function atNoise(v, scale) {
  return Number.isFinite(v) && Number.isFinite(scale) && Math.abs(v) <= NOISE * Math.abs(scale);
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

export function linScale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function logScale(d0, d1, r0, r1) {
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const span = l1 - l0 || 1;
  return (v) => r0 + ((Math.log10(v) - l0) / span) * (r1 - r0);
}

// --- frame pieces ---------------------------------------------------------------------------

export function drawNote(ctx, w, h, text) {
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
export function axes(ctx, box, xTicks, yTicks, sx, sy, opts = {}) {
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

export function title(ctx, text, x, y, align = "left") {
  ctx.save();
  ctx.fillStyle = INK;
  ctx.font = font(11, 600);
  ctx.textAlign = align;
  ctx.textBaseline = "top";
  ctx.fillText(text, x, y);
  ctx.restore();
}

/** A legend row at (x, y), right-aligned if `right` is true. items: {label, color, dash, marker} */
export function legend(ctx, items, x, y, right = true) {
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

export function marker(ctx, kind, x, y, r, color) {
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

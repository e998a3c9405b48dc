// initlab playground: the diverging colour scale of the network diagram (diagram.js) and of a
// regression run's surface (regression.js): TF Playground's orange for negative (or low)
// values, white at the middle, blue for positive (or high) ones.

export const NEGATIVE = [245, 147, 34]; // TF-Playground orange
export const POSITIVE = [8, 119, 189]; // TF-Playground blue
const WHITE = [248, 249, 250];

const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));

/** The LUT entry of t in [−1, 1]: 0 at −1, 128 (white) at 0, 255 at 1. */
export const lutIndex = (t) => Math.round(128 + t * (t < 0 ? 128 : 127));

/** 256 colours from orange (t = −1) through white (t = 0, entry 128) to blue (t = 1). */
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i - 128) / (i < 128 ? 128 : 127);
    lut.set(t < 0 ? mix(WHITE, NEGATIVE, -t * 0.9) : mix(WHITE, POSITIVE, t * 0.9), i * 3);
  }
  return lut;
})();

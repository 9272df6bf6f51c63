/**
 * Colour maps: a categorical palette for classes, viridis for continuous values, and a
 * red-white-blue diverging map for signed weights (symmetric scale around zero). The colours are
 * contract.json's `palettes` (Python's widgets/palettes.py reads the same lists): none is declared
 * here.
 */
import { CONTRACT } from "./contract.js";


/** Parse "#rrggbb" into [r, g, b] (0..255). */
export function fromHex(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** The class palette of contract.json `palettes.classes`: class k takes CATEGORICAL[k] (cycling). */
export const CATEGORICAL = Object.freeze([...CONTRACT.palettes.classes]);

/** Colour of class k (cycles beyond the palette). */
export function categoricalColor(k) {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((k % n) + n) % n];
}

// Viridis and the diverging map (blue - white - red, like matplotlib's RdBu_r): contract.json
// `palettes.sequential` and `palettes.diverging`, evenly spaced stops.
const VIRIDIS = CONTRACT.palettes.sequential.map(fromHex);
const DIVERGING = CONTRACT.palettes.diverging.map(fromHex);

function clamp01(t) {
  return Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0.5;
}

function sample(stops, t) {
  const x = clamp01(t) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

/** Viridis at t in [0, 1] as [r, g, b] (0..255). Non-finite t maps to the middle. */
export function viridis(t) {
  return sample(VIRIDIS, t);
}

/** Diverging colour for value v under a symmetric scale [-vmax, vmax]; 0 is white. */
export function diverging(v, vmax) {
  if (!(vmax > 0)) return sample(DIVERGING, 0.5);
  return sample(DIVERGING, 0.5 + v / (2 * vmax));
}

/** Hex string of an [r, g, b] triple. */
export function toHex([r, g, b]) {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

/** n evenly spaced hex colours of a map (for regl-scatterplot's continuous colour lists). */
export function colorList(map, n = 256) {
  return Array.from({ length: n }, (_, i) => toHex(map(n === 1 ? 0.5 : i / (n - 1))));
}

/** CSS linear-gradient for a colour bar (left to right unless `direction` given). */
export function cssGradient(map, direction = "to right", n = 11) {
  const stops = Array.from({ length: n }, (_, i) => `${toHex(map(i / (n - 1)))} ${(100 * i) / (n - 1)}%`);
  return `linear-gradient(${direction}, ${stops.join(", ")})`;
}

/** Largest |value| over any number of arrays (NaN ignored); 0 when all are empty. */
export function symmetricMax(...arrays) {
  let m = 0;
  for (const a of arrays) {
    if (!a) continue;
    for (let i = 0; i < a.length; i++) {
      const v = Math.abs(a[i]);
      if (v > m) m = v;
    }
  }
  return m;
}

/** Min and max of an array ignoring non-finite values; [0, 1] when there is none. */
export function finiteRange(a) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/**
 * Fill an RGBA pixel buffer (Uint8ClampedArray, length 4*values.length) from signed values under a
 * symmetric diverging scale.
 */
export function divergingPixels(values, vmax, out = new Uint8ClampedArray(values.length * 4)) {
  for (let i = 0; i < values.length; i++) {
    const [r, g, b] = diverging(values[i], vmax);
    out[4 * i] = r;
    out[4 * i + 1] = g;
    out[4 * i + 2] = b;
    out[4 * i + 3] = 255;
  }
  return out;
}

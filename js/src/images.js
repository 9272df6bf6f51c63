/**
 * How inputs and effective weights are drawn, for any input shape: grey or colour images
 * (C × H × W in the network's own units, un-normalised for display with the run's stored mean/std),
 * uint8 thumbnails (N × H × W × C, already un-normalised by the kernel), and flat feature vectors
 * (signed bars with the feature names).
 *
 * A W_eff (or W_eff ⊙ x, or A − B) row of a colour input is shown one of three ways, the
 * comparison's `channel_view`:
 *   - "sum": the sum over channels on the diverging scale (Captum's convention for heat maps);
 *   - "channels": one diverging image per channel, side by side, on one shared scale;
 *   - "template": an RGB image, each channel of the row rescaled to [0, 1] by its own min and max
 *     (how linear-classifier templates on CIFAR-10 are usually shown); no shared scale.
 * A one-channel input has only the first.
 */
import { diverging, divergingPixels } from "./colormaps.js";
import { CONTRACT } from "./contract.js";
import { h } from "./dom.js";
import { formatNumber } from "./format.js";

/** The channel views the contract allows, in the order the switch offers them. */
export const CHANNEL_VIEWS = Object.freeze([...CONTRACT.widgets.WeightCompare.traits.channel_view.values]);

/** What each channel view is called in the switch. */
export const CHANNEL_VIEW_TEXT = Object.freeze({
  sum: "sum over channels",
  channels: "per channel",
  template: "RGB template",
});

/** Gap in pixels between the channel images of the "channels" view. */
export const CHANNEL_GAP = 1;

/**
 * The layout of one input from the widget's input shape: an image of C channels, or D features.
 *
 * @param {number[]} shape - (C, H, W), (H, W) (one channel) or (D,).
 * @returns {{kind: "image", C: number, H: number, W: number, D: number} | {kind: "features", D: number}}
 */
export function inputLayout(shape) {
  const s = (shape ?? []).map(Number);
  if (s.length === 3) return { kind: "image", C: s[0], H: s[1], W: s[2], D: s[0] * s[1] * s[2] };
  if (s.length === 2) return { kind: "image", C: 1, H: s[0], W: s[1], D: s[0] * s[1] };
  if (s.length === 1) return { kind: "features", D: s[0] };
  throw new RangeError(`an input shape is (C, H, W), (H, W) or (D,), got ${JSON.stringify(shape)}`);
}

/** The channel view actually drawn: the requested one for a colour image, "sum" otherwise. */
export function effectiveView(layout, view) {
  if (layout.kind !== "image" || layout.C === 1) return "sum";
  return CHANNEL_VIEWS.includes(view) ? view : "sum";
}

/** Per-channel mean and std that un-normalise an input (0 and 1 when the display gives none). */
function normalisation(display, C) {
  const pick = (v, fill) => Array.from({ length: C }, (_, c) => {
    const x = Array.isArray(v) ? Number(v[v.length === 1 ? 0 : c]) : NaN;
    return Number.isFinite(x) ? x : fill;
  });
  return { mean: pick(display?.mean, 0), std: pick(display?.std, 1) };
}

/** Fill an RGBA pixel at `o` of `out` (grey inputs: dark ink on light paper, like a printed digit). */
function put(out, o, r, g, b) {
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
  out[o + 3] = 255;
}

/**
 * RGBA pixels of one input in the network's units, un-normalised with the display's mean/std
 * (`x * std + mean`, clipped to [0, 1]). One channel: dark ink on light paper; three: colour;
 * any other count: the mean over channels in grey.
 *
 * @param {ArrayLike<number>} values - C·H·W values, channel-major (as the network sees them).
 * @param {{C: number, H: number, W: number}} layout
 * @param {{mean?: number[], std?: number[]}|null} display
 * @returns {{pixels: Uint8ClampedArray, width: number, height: number}}
 */
export function inputPixels(values, layout, display) {
  const { C, H, W } = layout;
  const hw = H * W;
  const { mean, std } = normalisation(display, C);
  const unit = (c, p) => Math.min(1, Math.max(0, values[c * hw + p] * std[c] + mean[c]));
  const out = new Uint8ClampedArray(hw * 4);
  for (let p = 0; p < hw; p++) {
    if (C === 3) put(out, 4 * p, unit(0, p) * 255, unit(1, p) * 255, unit(2, p) * 255);
    else {
      let s = 0;
      for (let c = 0; c < C; c++) s += unit(c, p);
      const g = 255 - Math.round((s / C) * 255);
      put(out, 4 * p, g, g, g);
    }
  }
  return { pixels: out, width: W, height: H };
}

/**
 * RGBA pixels of thumbnail `i` of a uint8 atlas: (N, H, W) or (N, H, W, C) with C = 1 or 3.
 * One channel is drawn as dark ink on light paper (like `inputPixels`), three in colour.
 *
 * @param {Uint8Array} data - the atlas.
 * @param {number} i - which thumbnail.
 * @param {number[]} shape - the atlas shape.
 */
export function thumbnailPixels(data, i, shape) {
  const [, H, W] = shape;
  const C = shape.length === 4 ? shape[3] : 1;
  const hw = H * W;
  const base = i * hw * C;
  const out = new Uint8ClampedArray(hw * 4);
  for (let p = 0; p < hw; p++) {
    const src = base + p * C;
    if (C === 3) put(out, 4 * p, data[src], data[src + 1], data[src + 2]);
    else {
      let s = 0;
      for (let c = 0; c < C; c++) s += data[src + c];
      const g = 255 - Math.round(s / C);
      put(out, 4 * p, g, g, g);
    }
  }
  return { pixels: out, width: W, height: H };
}

/** Sum over channels of a C × H·W row: one H·W plane. */
export function channelSum(row, C, hw) {
  const out = new Float32Array(hw);
  for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) out[p] += row[c * hw + p];
  return out;
}

/**
 * The values of a W_eff row that the chosen view draws on the diverging scale (what a shared
 * scale is computed over): the channel sum for "sum", the row itself otherwise.
 */
export function shownValues(row, layout, view) {
  if (layout.kind === "image" && effectiveView(layout, view) === "sum" && layout.C > 1) {
    return channelSum(row, layout.C, layout.H * layout.W);
  }
  return row;
}

/**
 * RGB template of a C × H·W row: each channel rescaled to [0, 1] by its own min and max (a
 * constant channel maps to 0.5). C = 3 gives red, green, blue; other counts use the first three.
 */
export function templatePixels(row, layout) {
  const { C, H, W } = layout;
  const hw = H * W;
  const out = new Uint8ClampedArray(hw * 4);
  const ranges = Array.from({ length: C }, (_, c) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < hw; p++) {
      const v = row[c * hw + p];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  });
  const scaled = (c, p) => {
    const [lo, hi] = ranges[Math.min(c, C - 1)];
    return hi > lo ? (row[Math.min(c, C - 1) * hw + p] - lo) / (hi - lo) : 0.5;
  };
  for (let p = 0; p < hw; p++) put(out, 4 * p, scaled(0, p) * 255, scaled(1, p) * 255, scaled(2, p) * 255);
  return { pixels: out, width: W, height: H };
}

/** The C channel planes of a row side by side on one diverging scale, CHANNEL_GAP white columns apart. */
export function channelsPixels(row, layout, vmax) {
  const { C, H, W } = layout;
  const hw = H * W;
  const width = C * W + (C - 1) * CHANNEL_GAP;
  const out = new Uint8ClampedArray(width * H * 4).fill(255);
  for (let c = 0; c < C; c++) {
    const x0 = c * (W + CHANNEL_GAP);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [r, g, b] = diverging(row[c * hw + y * W + x], vmax);
        put(out, 4 * (y * width + x0 + x), r, g, b);
      }
    }
  }
  return { pixels: out, width, height: H };
}

/**
 * RGBA pixels of one W_eff-like row (W_eff, W_eff ⊙ x, A − B) of an image input in the chosen view.
 *
 * @param {ArrayLike<number>} row - C·H·W values.
 * @param {{C: number, H: number, W: number}} layout
 * @param {string} view - "sum" | "channels" | "template" (a one-channel input: always "sum").
 * @param {number} vmax - the symmetric diverging scale ("template" ignores it).
 */
export function weightPixels(row, layout, view, vmax) {
  const v = effectiveView(layout, view);
  if (v === "template") return templatePixels(row, layout);
  if (v === "channels") return channelsPixels(row, layout, vmax);
  const plane = shownValues(row, layout, "sum");
  return { pixels: divergingPixels(plane, vmax), width: layout.W, height: layout.H };
}

/** A canvas showing RGBA pixels at their own aspect ratio (CSS scales it). */
export function pixelCanvas({ pixels, width, height }, title, cls = "linlens-img") {
  const c = h("canvas", { class: cls, width, height, title, style: { aspectRatio: `${width} / ${height}` } });
  c.getContext("2d")?.putImageData(new ImageData(pixels, width, height), 0, 0);
  return c;
}

// ----------------------------------------------------------------------------- feature vectors

/** Height of one bar of a feature row, in CSS px (the SVG scales with its cell). */
const BAR = 12;

/**
 * A signed bar row of D feature values on a symmetric scale: one horizontal bar per feature,
 * red right of the centre line for positive, blue left for negative; with `names`, the feature
 * names (and values) label the bars. Returns an SVG element.
 *
 * @param {ArrayLike<number>} values - D values.
 * @param {number} vmax - the symmetric scale.
 * @param {{names?: string[]|null, title?: string, labelled?: boolean}} [opts]
 */
export function featureBars(values, vmax, { names = null, title = "", labelled = false } = {}) {
  const D = values.length;
  const longest = Math.max(0, ...Array.from({ length: D }, (_, j) => String(names?.[j] ?? `x${j}`).length));
  const labelW = labelled ? Math.min(240, 6 * longest + 10) : 0; // 10px text: about 6px a letter
  const barW = 60;
  const width = labelW + barW;
  const height = D * BAR;
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  const svg = el("svg", { class: "linlens-bars", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  if (title) svg.append(Object.assign(el("title", {}), { textContent: title }));
  const mid = labelW + barW / 2;
  const scale = vmax > 0 ? barW / 2 / vmax : 0;
  for (let j = 0; j < D; j++) {
    const v = Number(values[j]);
    const len = Number.isFinite(v) ? Math.min(barW / 2, Math.abs(v) * scale) : 0;
    const [r, g, b] = diverging(v >= 0 ? vmax : -vmax, vmax);
    const bar = el("rect", {
      x: v >= 0 ? mid : mid - len, y: j * BAR + 2, width: len, height: BAR - 4, fill: `rgb(${r},${g},${b})`, "data-feature": j,
    });
    const name = names?.[j] ?? `x${j}`;
    bar.append(Object.assign(el("title", {}), { textContent: `${name}: ${formatNumber(v)}` }));
    svg.append(bar);
    if (labelled) {
      const text = el("text", { x: labelW - 4, y: j * BAR + BAR - 3, "text-anchor": "end", "font-size": 10, fill: "currentColor" });
      text.textContent = name;
      svg.append(text);
    }
  }
  svg.append(el("line", { x1: mid, x2: mid, y1: 0, y2: height, stroke: "#888", "stroke-width": 0.5 }));
  return svg;
}

/**
 * The element that shows an input: an image canvas (un-normalised) or, for features, a labelled
 * bar row of the values in the network's units on their own symmetric scale.
 */
export function inputElement(values, layout, display, title, { labelled = true } = {}) {
  if (layout.kind === "features") {
    let m = 0;
    for (let j = 0; j < values.length; j++) m = Math.max(m, Math.abs(values[j]) || 0);
    return featureBars(values, m || 1, { names: display?.feature_names ?? null, title, labelled });
  }
  return pixelCanvas(inputPixels(values, layout, display), title);
}

/** The element that shows a W_eff-like row: an image in the chosen view, or a bar row of features. */
export function weightElement(row, layout, view, vmax, title, names = null) {
  if (layout.kind === "features") return featureBars(row, vmax, { names, title });
  return pixelCanvas(weightPixels(row, layout, view, vmax), title);
}

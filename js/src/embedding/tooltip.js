/**
 * The hover tooltip of the embedding: the sample's thumbnail, number and class, its prediction at
 * the shown checkpoint and its colour value, placed beside the point inside the plot.
 */
import { fmt, h, pixelsToDataURL } from "../dom.js";
import { clampCheckpoint } from "../frames.js";
import { thumbnailPixels } from "../images.js";
import { isYesNo } from "./colors.js";

/** Area (px²) of the overlap of a w × h box at [left, top] with the box [l, t, r, b]. */
function overlapArea([left, top], [w, h], [l, t, r, b]) {
  return Math.max(0, Math.min(left + w, r) - Math.max(left, l)) * Math.max(0, Math.min(top + h, b) - Math.max(top, t));
}

/** Distance (px) from the point [x, y] to a w × h box at [left, top] (0 inside). */
function distance([x, y], [left, top], [w, h]) {
  return Math.hypot(Math.max(left - x, 0, x - left - w), Math.max(top - y, 0, y - top - h));
}

/**
 * Where the hover tooltip goes for a point at [x, y] (px in the plot) so that it stays inside
 * the plot: right of and below the point, flipped left or up near an edge. When that would cover
 * one of the `avoid` boxes ([left, top, right, bottom] px in the plot: the A and B markers and
 * their labels) or the point itself, the place nearest the point, beside, above or below it or
 * just past a box, that covers none of them; else the one that covers least.
 */
export function tooltipPosition([x, y], [w, h], [width, height], gap = 12, avoid = []) {
  const inside = ([left, top]) => [Math.max(0, Math.min(left, width - w)), Math.max(0, Math.min(top, height - h))];
  const preferred = inside([x + gap + w > width ? x - gap - w : x + gap, y - gap + h > height ? y - h + gap : y - gap]);
  if (!avoid.length) return preferred;
  const boxes = [...avoid, [x - 4, y - 4, x + 4, y + 4]];
  const covered = (at) => boxes.reduce((sum, b) => sum + overlapArea(at, [w, h], b), 0);
  const lefts = [x + gap, x - gap - w, x - w / 2, ...avoid.flatMap(([l, , r]) => [l - 4 - w, r + 4])];
  const tops = [y - gap, y - h + gap, y + gap, y - gap - h, ...avoid.flatMap(([, t, , b]) => [t - 4 - h, b + 4])];
  let best = preferred;
  let least = covered(preferred);
  let nearest = least === 0 ? 0 : Infinity;
  for (const at of tops.flatMap((top) => lefts.map((left) => inside([left, top])))) {
    if (nearest === 0) break;
    const area = covered(at);
    const d = area === 0 ? distance([x, y], at, [w, h]) : Infinity;
    if (d < nearest || (nearest === Infinity && area < least)) [best, least, nearest] = [at, area, d];
  }
  return best;
}

/** The tooltip's text rows for sample i at the view's checkpoint. */
export function tooltipRows(view, i) {
  const { data, checkpoint, model } = view;
  const { labels, classes, predictions, values, N } = data;
  const label = labels.data[i];
  const rows = [h("div", { class: "linlens-tip-title" }, `#${i} · ${classes[label] ?? String(label)}`)];
  if (predictions) {
    const pred = predictions.data[clampCheckpoint(checkpoint, predictions.shape[0]) * N + i];
    const ok = pred === label;
    rows.push(h("div", { class: ok ? "linlens-ok" : "linlens-bad" }, `predicted ${classes[pred] ?? pred}${ok ? " ✓" : " ✗"}`));
  }
  if (values) {
    const perCheckpoint = values.shape.length === 2;
    const v = perCheckpoint ? values.data[clampCheckpoint(checkpoint, values.shape[0]) * N + i] : values.data[i];
    const shown = isYesNo(values.data) ? (v === 1 ? "yes" : "no") : fmt(v);
    rows.push(h("div", {}, `${model.get("value_name") || "value"}: ${shown}`));
  }
  return rows;
}

/**
 * The tooltip of `view` (the embedding's shared state: `data`, `checkpoint`, `model`) inside
 * `plot`, kept off the boxes that `avoid()` returns (px in the plot: the A and B marks). Returns
 * its element, `show(i, [x, y])` for sample i drawn at [x, y] px in the plot, and `hide()`.
 * Thumbnails are cached per widget (at most about 500).
 */
export function createTooltip(view, plot, avoid = () => []) {
  const el = h("div", { class: "linlens-tooltip", role: "tooltip", hidden: true });
  const thumbs = new Map();
  function thumbnailURL(i) {
    const { thumbnails } = view.data;
    if (!thumbnails) return null;
    if (thumbs.has(i)) return thumbs.get(i);
    const { pixels, width, height } = thumbnailPixels(thumbnails.data, i, thumbnails.shape);
    const url = pixelsToDataURL(pixels, width, height);
    if (thumbs.size > 500) thumbs.clear();
    thumbs.set(i, url);
    return url;
  }
  return {
    el,
    show(i, xy) {
      const url = thumbnailURL(i);
      el.replaceChildren(...(url ? [h("img", { src: url, alt: `input image of sample ${i}` })] : []), h("div", {}, ...tooltipRows(view, i)));
      el.hidden = false;
      const size = [el.offsetWidth || 180, el.offsetHeight || 70];
      const [left, top] = tooltipPosition(xy, size, [plot.clientWidth, plot.clientHeight], 12, avoid());
      el.style.left = `${left}px`;
      el.style.top = `${top}px`;
    },
    hide() {
      el.hidden = true;
    },
  };
}

/**
 * The hover tooltip of the embedding: the sample's thumbnail, number and class, its prediction at
 * the shown checkpoint and its colour value, placed beside the point inside the plot.
 */
import { fmt, h, pixelsToDataURL } from "../dom.js";
import { clampCheckpoint } from "../frames.js";
import { thumbnailPixels } from "../images.js";
import { isYesNo } from "./colors.js";

/**
 * Where the hover tooltip goes for a point at [x, y] (px in the plot) so that it stays inside
 * the plot: right of and below the point, flipped left or up near an edge.
 */
export function tooltipPosition([x, y], [w, h], [width, height], gap = 12) {
  let left = x + gap;
  if (left + w > width) left = x - gap - w;
  let top = y - gap;
  if (top + h > height) top = y - h + gap;
  return [Math.max(0, Math.min(left, width - w)), Math.max(0, Math.min(top, height - h))];
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
 * `plot`. Returns its element, `show(i, [x, y])` for sample i drawn at [x, y] px in the plot,
 * and `hide()`. Thumbnails are cached per widget (at most about 500).
 */
export function createTooltip(view, plot) {
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
      const [left, top] = tooltipPosition(xy, [el.offsetWidth || 180, el.offsetHeight || 70], [plot.clientWidth, plot.clientHeight]);
      el.style.left = `${left}px`;
      el.style.top = `${top}px`;
    },
    hide() {
      el.hidden = true;
    },
  };
}

/**
 * How the embedding's points are coloured: per-point values and a palette for each colour mode
 * (class label, correct at the checkpoint, a value or a yes/no flag, sub-clusters of a class), and
 * the colour menu's values.
 */
import { categoricalColor, colorList, finiteRange, viridis } from "../colormaps.js";
import { clampCheckpoint } from "../frames.js";
import { subclusterEncoding } from "../marks.js";

/** Colour of a point misclassified at the shown checkpoint. */
export const WRONG = "#d62728";
/** Colour of a point classified correctly at the shown checkpoint. */
export const RIGHT = "#9aa5b1";

/** Colours of a yes/no colouring (values that are all 0 or 1, e.g. "in this page"). */
export const YES_NO = Object.freeze({ yes: "#1976d2", no: "#c8cdd3" });

/** Whether colour values are a yes/no flag (every finite value 0 or 1): shown as a legend. */
export function isYesNo(data) {
  let any = false;
  for (const v of data) {
    if (v !== 0 && v !== 1) return false;
    any = true;
  }
  return any;
}

/** Per-point colour values and encoding for a colour mode at checkpoint e. */
export function colorEncoding(mode, { labels, predictions, values, nClasses, e, groups, groupsClass }) {
  const N = labels.data.length;
  if (mode === "subclusters" && groups) {
    const { z, colors } = subclusterEncoding(labels.data, groups.data, groupsClass);
    return { z, type: "categorical", colors };
  }
  if (mode === "correct" && predictions) {
    const { shape, data } = predictions;
    const E = shape[0];
    const k = clampCheckpoint(e, E);
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) z[i] = data[k * N + i] === labels.data[i] ? 1 : 0;
    return { z, type: "categorical", colors: [WRONG, RIGHT] };
  }
  if (mode === "value" && values && isYesNo(values.data)) {
    const row = values.shape.length === 2 ? values.data.subarray(clampCheckpoint(e, values.shape[0]) * N, (clampCheckpoint(e, values.shape[0]) + 1) * N) : values.data;
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) z[i] = row[i] === 1 ? 1 : 0;
    return { z, type: "categorical", colors: [YES_NO.no, YES_NO.yes], yesNo: true };
  }
  if (mode === "value" && values) {
    const perCheckpoint = values.shape.length === 2;
    const row = perCheckpoint
      ? values.data.subarray(clampCheckpoint(e, values.shape[0]) * N, (clampCheckpoint(e, values.shape[0]) + 1) * N)
      : values.data;
    const [lo, hi] = finiteRange(values.data);
    const span = hi - lo || 1;
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = row[i];
      z[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
    }
    return { z, type: "continuous", colors: colorList(viridis, 256), range: [lo, hi] };
  }
  const z = new Float32Array(N);
  for (let i = 0; i < N; i++) z[i] = labels.data[i];
  const colors = Array.from({ length: Math.max(nClasses, 1) }, (_, k) => categoricalColor(k));
  return { z, type: "categorical", colors };
}

/** Colour-select value of a mode ("subclusters:c" for the sub-clusters of class c). */
export function colorSelectValue(mode, groupsClass) {
  return mode === "subclusters" ? `subclusters:${groupsClass}` : mode;
}

/** Split a colour-select value into {mode, groupsClass} (groupsClass -1 unless sub-clusters). */
export function parseColorSelect(value) {
  const m = /^subclusters:(-?\d+)$/.exec(value);
  return m ? { mode: "subclusters", groupsClass: Number(m[1]) } : { mode: value, groupsClass: -1 };
}

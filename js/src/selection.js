/**
 * Selection logic shared by the scatter, the comparison and the explorer: normalising index
 * lists, legend filters, how a click or a brush sets the compared operands (a sample or a
 * group), and the similarities the comparison shows.
 */

/** Sorted unique integer indices within [0, n). Invalid entries are dropped. */
export function normalizeSelection(indices, n) {
  const out = new Set();
  for (const v of indices ?? []) {
    const i = Number(v);
    if (Number.isInteger(i) && i >= 0 && i < n) out.add(i);
  }
  return Array.from(out).sort((a, b) => a - b);
}

/** True when two index lists hold the same members (order-insensitive). */
export function sameSelection(a, b) {
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  const s = new Set(a);
  return (b ?? []).every((v) => s.has(v));
}

/** Toggle class k in a list of hidden classes (returns a new sorted list). */
export function toggleHidden(hidden, k) {
  const s = new Set(hidden ?? []);
  if (s.has(k)) s.delete(k);
  else s.add(k);
  return Array.from(s).sort((a, b) => a - b);
}

/**
 * Indices of points whose label is not hidden. Returns null when nothing is hidden (meaning
 * "no filter"), so callers can skip filtering entirely.
 */
export function visibleIndices(labels, hidden) {
  if (!hidden || hidden.length === 0) return null;
  const h = new Set(hidden);
  const out = [];
  for (let i = 0; i < labels.length; i++) if (!h.has(labels[i])) out.push(i);
  return out;
}

/** Keep only the selected indices that are visible under a filter (null filter keeps all). */
export function intersectVisible(selection, visible) {
  if (!visible) return selection.slice();
  const v = new Set(visible);
  return selection.filter((i) => v.has(i));
}

/**
 * Operands after a click on point `i`: A becomes that one sample, or B when shift was held.
 * `previous` is {a, b} (lists of probe indices); the other operand is kept.
 */
export function operandsFromPick(i, previous, { shift = false } = {}) {
  const prev = { a: previous?.a ?? [], b: previous?.b ?? [] };
  if (!Number.isInteger(i) || i < 0) return prev;
  return shift ? { a: prev.a, b: [i] } : { a: [i], b: prev.b };
}

/**
 * Operands after a brush (lasso or box): the whole selection becomes A, a group compared by its
 * mean W_eff, or B when shift was held. A selection of fewer than two points is not a brush (a
 * click is handled by operandsFromPick) and keeps the operands.
 */
export function operandsFromBrush(selection, previous, { shift = false } = {}) {
  const prev = { a: previous?.a ?? [], b: previous?.b ?? [] };
  if (!selection || selection.length < 2) return prev;
  const group = Array.from(new Set(selection)).sort((x, y) => x - y);
  return shift ? { a: prev.a, b: group } : { a: group, b: prev.b };
}

/** The most frequent label of a list and how often it occurs ({label: null, count: 0} if empty). */
export function majority(labels) {
  const counts = new Map();
  let best = null;
  let bestCount = 0;
  for (const l of labels ?? []) {
    const c = (counts.get(l) ?? 0) + 1;
    counts.set(l, c);
    if (c > bestCount || (c === bestCount && l < best)) {
      best = l;
      bestCount = c;
    }
  }
  return { label: best, count: bestCount };
}

/**
 * A one-line name of an operand: "#12" for one sample, "group of 23 (mostly '1')" for a group
 * (`labels`: the members' labels when known; `names`: class names).
 */
export function describeOperand(indices, labels, names = []) {
  if (!indices?.length) return "nothing";
  if (indices.length === 1) return `#${indices[0]}`;
  const { label, count } = majority(labels ?? []);
  if (label === null) return `group of ${indices.length}`;
  const name = names[label] ?? label;
  const share = count === indices.length ? "all" : "mostly";
  return `group of ${indices.length} (${share} '${name}')`;
}

/** Element-wise mean of equal-length numeric arrays, as a Float32Array. */
export function meanOf(arrays) {
  const n = arrays.length;
  if (!n) return new Float32Array(0);
  const out = new Float64Array(arrays[0].length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i] += a[i];
  const res = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) res[i] = out[i] / n;
  return res;
}

/**
 * Cosine of two vectors over [start, end) after subtracting `mean` (the centred cosine; null
 * mean gives the raw cosine). NaN when either centred vector has zero length.
 */
export function centredCosine(a, b, mean, start = 0, end = a.length) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = start; i < end; i++) {
    const m = mean ? mean[i] : 0;
    const x = a[i] - m;
    const y = b[i] - m;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  const d = Math.sqrt(na) * Math.sqrt(nb);
  return d > 0 ? dot / d : Number.NaN;
}

/** Per-row centred cosines of two (rows x cols) matrices stored flat (null mean: raw). */
export function rowCentredCosines(a, b, mean, rows, cols) {
  return Array.from({ length: rows }, (_, r) => centredCosine(a, b, mean, r * cols, (r + 1) * cols));
}

/** Cosine similarity of two equal-length vectors (0 when either is all zeros). */
export function cosine(a, b, start = 0, end = a.length) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = start; i < end; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const d = Math.sqrt(na) * Math.sqrt(nb);
  return d > 0 ? dot / d : 0;
}

/** Per-row cosines of two (rows x cols) matrices stored flat. */
export function rowCosines(a, b, rows, cols) {
  return Array.from({ length: rows }, (_, r) => cosine(a, b, r * cols, (r + 1) * cols));
}

/** Index of the largest value (first one on ties); -1 for an empty array. */
export function argmax(values) {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bv) {
      bv = values[i];
      best = i;
    }
  }
  return best;
}

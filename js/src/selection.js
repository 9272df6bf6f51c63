/**
 * Selection logic shared by the scatter, the comparison and the explorer: normalising index
 * lists, legend filters, and how a selection or a click chooses the two compared samples.
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
 * Which samples to compare after a selection change. A brush of two or more points compares the
 * two smallest probe indices (the `selection` trait is kept sorted ascending, so these are its
 * first two, whatever order the points were brushed in); a single click sets A, or B when shift
 * was held. Returns {a, b} (unchanged members keep their previous value).
 */
export function samplesFromSelection(selection, previous, { shift = false } = {}) {
  const prev = { a: previous?.a ?? 0, b: previous?.b ?? 0 };
  if (!selection || selection.length === 0) return prev;
  if (selection.length === 1) {
    return shift ? { a: prev.a, b: selection[0] } : { a: selection[0], b: prev.b };
  }
  return { a: selection[0], b: selection[1] };
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

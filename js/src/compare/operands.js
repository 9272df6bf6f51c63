/**
 * The comparison's operands as data: checking A and B, combining a group's replies into what is
 * drawn (mean W_eff or contributions, input, bias, scores, predicted class), and which class
 * columns a compact or full grid shows.
 */
import { argmax, meanOf } from "../selection.js";

/** Which class rows to show: the requested ones that exist, else all. */
export function shownClasses(requested, C) {
  const valid = (requested ?? []).filter((k) => Number.isInteger(k) && k >= 0 && k < C);
  return valid.length ? valid : Array.from({ length: C }, (_, k) => k);
}

/** Most frequent value of a list of class labels (the lowest on a tie); null when empty. */
function majority(labels) {
  const counts = new Map();
  for (const l of labels ?? []) if (Number.isInteger(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
  let best = null;
  for (const [l, n] of counts) if (best === null || n > counts.get(best) || (n === counts.get(best) && l < best)) best = l;
  return best;
}

/**
 * The classes a compact comparison shows: A's and B's classes (a group's majority label) and
 * their predicted classes, in class order. The full grid is one click away.
 */
export function focusClasses(da, db, C) {
  const out = new Set();
  for (const d of [da, db]) {
    for (const c of [d.label ?? majority(d.labels), d.predicted]) if (Number.isInteger(c) && c >= 0 && c < C) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Whether the comparison shows A's and B's classes only: "focus" and "all" are the user's
 * choice; "auto" is compact when the full grid of C classes would not fit `width` px with cells
 * of `cell` px (then the scatter and the comparison fit side by side on a small screen).
 */
export function isCompact(choice, width, C, cell = 60) {
  if (choice === "focus") return true;
  if (choice === "all") return false;
  return width > 0 && width < 150 + (C + 1) * (cell + 6);
}

/** Element-wise a - b of two equal-length arrays. */
export function difference(a, b) {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** Contributions W_eff ⊙ x: row k holds w[k, j] * x[j] (each row sums, with b_eff, to f_k). */
export function contributions(weight, input, C, D) {
  const out = new Float32Array(C * D);
  for (let k = 0; k < C; k++) for (let j = 0; j < D; j++) out[k * D + j] = weight[k * D + j] * input[j];
  return out;
}

/** A valid operand: sorted unique probe indices in [0, n); null when empty or invalid. */
export function checkOperand(value, n) {
  if (!Array.isArray(value) || value.length === 0) return null;
  const out = Array.from(new Set(value.map(Number))).sort((x, y) => x - y);
  return out.every((i) => Number.isInteger(i) && i >= 0 && i < n) ? out : null;
}

/**
 * Combine an operand's cached sample replies into what is drawn: the mean W_eff (or mean
 * contributions), input, bias and scores of its members, their labels, and the predicted class.
 */
export function aggregate(replies, view) {
  const [C, D] = replies[0].weight.shape;
  const rows = replies.map((d) => (view === "contributions" ? contributions(d.weight.data, d.input.data, C, D) : d.weight.data));
  const hasBias = replies.every((d) => d.bias?.data);
  const output = meanOf(replies.map((d) => d.output.data));
  const single = replies.length === 1 ? replies[0] : null;
  return {
    n: replies.length,
    C,
    D,
    shown: meanOf(rows),
    weight: meanOf(replies.map((d) => d.weight.data)),
    input: meanOf(replies.map((d) => d.input.data)),
    bias: hasBias ? meanOf(replies.map((d) => d.bias.data)) : null,
    output,
    labels: replies.map((d) => d.label),
    label: single ? single.label : null,
    predicted: single && Number.isInteger(single.predicted) ? single.predicted : argmax(output),
  };
}

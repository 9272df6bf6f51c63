/**
 * Number formatting for labels that must never be truncated: at most three significant digits,
 * a true minus sign, and a short exponent for very small or large magnitudes ("−2.1e−3").
 */

const MINUS = "\u2212";

/**
 * Format a number in at most `digits` significant digits (exponent form keeps two), with "−".
 * NaN (e.g. the cosine of a vector of zero length) reads "n/a"; null/undefined read "–".
 *
 * @example formatNumber(0.15312) === "0.153"; formatNumber(-0.00213) === "−2.1e−3"
 */
export function formatNumber(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  const x = Number(v);
  if (Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : `${MINUS}∞`;
  if (x === 0) return "0";
  const a = Math.abs(Number(x.toPrecision(digits)));
  let s;
  if (a < 1e-2 || a >= 1e3) {
    const [mantissa, exponent] = x.toExponential(Math.max(0, Math.min(digits, 2) - 1)).split("e");
    s = `${mantissa.replace(/\.?0+$/, "")}e${Number(exponent)}`;
  } else {
    s = String(Number(x.toPrecision(digits)));
  }
  return s.replace(/-/g, MINUS);
}

/** Count significant digits of a formatted number (for tests: mantissa digits, no leading zeros). */
export function significantDigits(text) {
  const mantissa = String(text).replace(MINUS, "-").split("e")[0].replace(/[-.]/g, "");
  return mantissa.replace(/^0+/, "").length;
}

/**
 * Caption of the shown checkpoint, counted as the checkpoint slider counts (from 1, "k/E"),
 * followed by what the data says of it (its epoch, step, metrics) when it says anything.
 *
 * @example checkpointCaption(3, 5, "epoch 3") === "checkpoint 4/5 · epoch 3"
 */
export function checkpointCaption(k, E, label = "") {
  const count = `checkpoint ${k + 1}/${E}`;
  return label ? `${count} · ${label}` : count;
}

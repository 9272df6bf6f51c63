/**
 * Centred cosine similarity of two samples' effective weights.
 *
 * Raw cosines between W_eff are dominated by what every sample shares; the comparison subtracts the
 * probe mean W_eff at the same checkpoint first (the centring of ll.metrics.class_similarity), then
 * takes the cosine of the whole C × D matrices and of each class row. Sums run in float64.
 */

function cosine(a, b, mean, start, end) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = start; i < end; i++) {
    const m = mean ? mean[i] : 0;
    const u = a[i] - m;
    const v = b[i] - m;
    dot += u * v;
    na += u * u;
    nb += v * v;
  }
  const d = Math.sqrt(na) * Math.sqrt(nb);
  return d > 0 ? dot / d : 0;
}

/**
 * Cosine of (a - mean) and (b - mean), overall and per class row.
 *
 * @param {Float32Array} a - W_eff of sample A, C × D row-major.
 * @param {Float32Array} b - W_eff of sample B, same shape.
 * @param {Float32Array|null} mean - probe-mean W_eff at the checkpoint (null: raw cosines).
 * @param {number} nClasses - C.
 * @returns {{overall: number, perClass: number[]}} 0 where a vector is zero.
 */
export function centredCosine(a, b, mean, nClasses) {
  if (a.length !== b.length || (mean && mean.length !== a.length)) {
    throw new RangeError(`W_eff sizes differ: ${a.length}, ${b.length}, mean ${mean?.length}`);
  }
  if (nClasses < 1 || a.length % nClasses !== 0) {
    throw new RangeError(`${a.length} values do not split into ${nClasses} class rows`);
  }
  const d = a.length / nClasses;
  const perClass = [];
  for (let c = 0; c < nClasses; c++) perClass.push(cosine(a, b, mean, c * d, (c + 1) * d));
  return { overall: cosine(a, b, mean, 0, a.length), perClass };
}

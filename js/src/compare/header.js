/** The comparison's header: A's and B's names (class and prediction) and their similarity. */
import { h } from "../dom.js";
import { formatNumber } from "../format.js";
import { describeOperand } from "../selection.js";
import { SIMILARITY_TEXT } from "./text.js";

/** "A: #12 · 3 ✓" for one sample, "A: 5 samples …" for a group (see `describeOperand`). */
export function operandName(tag, ops, agg, names) {
  const base = describeOperand(ops, agg?.labels, names);
  if (!agg || ops.length !== 1) return `${tag}: ${base}`;
  const label = names[agg.label] ?? agg.label;
  const pred = agg.predicted === agg.label ? " ✓" : ` → predicted ${names[agg.predicted] ?? agg.predicted}`;
  return `${tag}: ${base} · ${label}${pred}`;
}

/**
 * The header's children for operands A and B (their aggregates `da`, `db`), their cosine
 * `cosAll` under `similarity` ("centred" or "raw") named by `simText`.
 */
export function headerItems({ A, B, da, db, names, cosAll, similarity, simText }) {
  return [
    h("span", { class: "linlens-tag linlens-tag-a", "data-testid": "operand-a", "data-n": String(A.length) }, operandName("A", A, da, names)),
    h("span", { class: "linlens-tag linlens-tag-b", "data-testid": "operand-b", "data-n": String(B.length) }, operandName("B", B, db, names)),
    h(
      "span",
      { class: "linlens-cosine", "data-testid": "cosine", "data-value": String(cosAll), "data-similarity": similarity, title: simText.title },
      `${simText.label} ${formatNumber(cosAll)}`,
    ),
    simText === SIMILARITY_TEXT.rawFallback ? h("span", { class: "linlens-checkpoint-note" }, "(no probe mean here, so not centred)") : null,
  ];
}

/**
 * The comparison's neighbour row: the k nearest samples to a single-sample A in W_eff space under
 * the chosen similarity, each with its input, class and similarity, and how many share A's label.
 */
import { h } from "../dom.js";
import { formatNumber } from "../format.js";
import { inputElement } from "../images.js";

/**
 * The row's children for neighbours `nb` (index, similarity, thumbs, agreement) of A, whose label
 * is `label` (undefined when unknown), showing the first k under `kind` named by `simText`.
 */
export function neighbourItems({ nb, k, label, kind, simText, names, img, display }) {
  const index = nb.index.slice(0, k);
  const sims = nb.similarity.slice(0, k);
  const thumbs = nb.thumbs.slice(0, k);
  const same = thumbs.filter((t) => t.label === label).length;
  const agreement = label !== undefined ? `${same}/${index.length}` : `${Math.round((nb.agreement ?? 0) * index.length)}/${index.length}`;
  return [
    h(
      "div",
      { class: "linlens-nb-head" },
      h("span", { class: "linlens-tag linlens-tag-a" }, "A"),
      h("span", { "data-testid": "neighbor-similarity", "data-similarity": kind, title: simText.title }, ` ${index.length} nearest in W_eff space (${simText.label})`),
      " · ",
      h(
        "span",
        { class: "linlens-nb-agreement", "data-testid": "neighbor-agreement", "data-value": String(nb.agreement ?? "") },
        `neighbour agreement: ${agreement} share A's label`,
      ),
    ),
    h(
      "div",
      { class: "linlens-nb-list" },
      index.map((s, j) => {
        const d = thumbs[j];
        return h(
          "div",
          { class: `linlens-nb${d.label !== label ? " is-other" : ""}`, "data-sample": s, title: `#${s}: ${simText.label} ${formatNumber(sims[j])} with A` },
          inputElement(d.input, img, display, `#${s}`, { labelled: false }),
          h("div", { class: "linlens-nb-label" }, `${names[d.label] ?? d.label}`),
          h("div", { class: "linlens-nb-sim", "data-testid": "number" }, formatNumber(sims[j])),
        );
      }),
    ),
  ];
}

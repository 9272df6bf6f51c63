/**
 * The comparison's class grid: a column per shown class (and the input), a row of per-class
 * similarities, then A's, B's and A−B's W_eff rows (and optionally the class-mean row), with the
 * bias b and score f under each tile and the predicted class outlined.
 */
import { h } from "../dom.js";
import { formatNumber } from "../format.js";
import { inputElement, weightElement } from "../images.js";

/**
 * An empty grid for the classes `show` under the similarity `simText` with per-class cosines
 * `cosRows`; `names` are the class names, `cview` the channel view. Add rows with `addRow`.
 */
export function classGrid({ show, names, simText, cosRows, cview }) {
  const grid = h("div", { class: "linlens-grid" });
  // Tiles of one size: equal columns that share the width, up to a largest tile (twice as
  // wide for C images side by side); the grid never forces the comparison to scroll sideways.
  const cell = cview === "channels" ? "calc(var(--ll-cell-max, 96px) * 2)" : "var(--ll-cell-max, 96px)";
  grid.style.gridTemplateColumns = `max-content repeat(${show.length + 1}, minmax(0, ${cell}))`;
  grid.append(h("div", { class: "linlens-cell linlens-colhead" }), h("div", { class: "linlens-cell linlens-colhead" }, "input"));
  for (const c of show) grid.append(h("div", { class: "linlens-cell linlens-colhead" }, h("div", { class: "linlens-classname" }, `${names[c] ?? c}`)));
  // One row of per-class similarities, named once in its row head (labels never run together).
  grid.append(h("div", { class: "linlens-cell linlens-rowhead", title: simText.title }, simText.label));
  grid.append(h("div", { class: "linlens-cell" }));
  for (const c of show) {
    grid.append(
      h(
        "div",
        { class: "linlens-cell linlens-cos-class", "data-testid": "cosine-class", "data-class": c, "data-value": String(cosRows[c]), title: `${simText.label} of the class-${names[c] ?? c} rows of W_eff` },
        formatNumber(cosRows[c]),
      ),
    );
  }
  return grid;
}

/**
 * Append one row to `grid`: its tag ("A", "B", "A−B", "class mean") and title, the input image
 * (`inputVals`, or none), and for each shown class the W_eff row of `w` drawn on the scale
 * ±`vmax`, with `d`'s bias and score under it. `ctx` carries `show`, `names`, `img`, `cview`,
 * `what`, `fnames`, `display` and D.
 */
export function addRow(grid, ctx, { tag, title, d, w, vmax, inputVals }) {
  const { show, names, img, cview, what, fnames, display, D } = ctx;
  const cls = { A: "a", B: "b" }[tag] ?? "other";
  grid.append(h("div", { class: "linlens-cell linlens-rowhead" }, h("span", { class: `linlens-tag linlens-tag-${cls}` }, tag), title));
  grid.append(h("div", { class: "linlens-cell" }, inputVals ? inputElement(inputVals, img, display, d?.n > 1 ? "mean input of the group" : "input image") : null));
  for (const c of show) {
    const pred = d?.predicted === c;
    const cell = h(
      "div",
      { class: `linlens-cell${pred ? " is-pred" : ""}`, "data-class": c },
      weightElement(w.subarray(c * D, (c + 1) * D), img, cview, vmax, `${tag}: ${what} row ${names[c] ?? c}`, fnames),
      d?.bias ? h("div", { class: "linlens-bias", "data-testid": "number" }, `b ${formatNumber(d.bias[c])}`) : null,
      d?.output ? h("div", { class: "linlens-logit", "data-testid": "number" }, `f ${formatNumber(d.output[c])}`) : null,
    );
    if (pred) cell.title = `predicted class of ${tag}`;
    grid.append(cell);
  }
}

/**
 * Class k's row of class k's mean W_eff for each shown class (`means` is C × C × D): what the
 * network's weights for class k look like on average.
 */
export function classMeanRows(means, show, C, D) {
  const [Ck, Cout] = means.shape;
  const rows = new Float32Array(C * D);
  for (const c of show) {
    if (c < Ck && c < Cout) rows.set(means.data.subarray((c * Cout + c) * D, (c * Cout + c + 1) * D), c * D);
  }
  return rows;
}

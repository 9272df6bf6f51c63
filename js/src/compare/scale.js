/**
 * The comparison's colour scale: one symmetric scale ±vmax shared by A and B, its own ±dmax for
 * A − B, taken at this checkpoint or over all checkpoints (then every checkpoint's W_eff of A and
 * B is asked for), and the colour bars that state them.
 */
import { cssGradient, diverging, symmetricMax } from "../colormaps.js";
import { h } from "../dom.js";
import { formatNumber } from "../format.js";
import { aggregate, difference } from "./operands.js";
import { LEGEND_TEXT } from "./text.js";

/** A diverging colour bar from −vmax to +vmax, named `label`. */
export function colorbar(label, vmax, testid) {
  return h(
    "span",
    { class: "linlens-scalebar", "data-testid": testid },
    h("span", { class: "linlens-scalebar-label" }, `${label} ${formatNumber(-vmax)}`),
    h("span", { class: "linlens-colorbar", style: { background: cssGradient((t) => diverging(2 * t - 1, 1)) } }),
    h("span", { class: "linlens-scalebar-label" }, `+${formatNumber(vmax)}`),
  );
}

/**
 * Under scale "run": the operands' aggregates at every one of E checkpoints (each missing sample
 * asked for from `replies`) and how many have arrived, so the colour scale can span all of them.
 */
export function runFrames(replies, A, B, view, E) {
  const frames = [];
  for (let t = 0; t < E; t++) {
    for (const s of new Set([...A, ...B])) replies.request(s, t);
    const ra = A.map((s) => replies.sample(s, t));
    const rb = B.map((s) => replies.sample(s, t));
    if (ra.every(Boolean) && rb.every(Boolean)) frames.push([aggregate(ra, view), aggregate(rb, view)]);
  }
  return { frames, E };
}

/**
 * The scales of the shown pair `da`, `db` (and of `over.frames`, every checkpoint's pair, under
 * "all checkpoints"): `vmax` for A and B, `dmax` for A − B, over the values drawn by `rowsOf`
 * (the channel sums in the "sum" view), and the scale's name.
 */
export function colourScales(da, db, over, rowsOf) {
  const pairs = over ? [[da, db], ...over.frames] : [[da, db]];
  const vmax = Math.max(...pairs.map(([x, y]) => symmetricMax(...rowsOf(x.shown), ...rowsOf(y.shown)))) || 1;
  const dmax = Math.max(...pairs.map(([x, y]) => symmetricMax(...rowsOf(difference(x.shown, y.shown))))) || 1;
  const loaded = over && over.frames.length < over.E ? `, ${over.frames.length}/${over.E} loaded` : "";
  const name = over ? `scale: all checkpoints${loaded}` : "scale: this checkpoint";
  return { vmax, dmax, name };
}

/**
 * The scale row's children, in one flat list: the colour bars (or, for RGB templates, a note that there is no
 * shared scale), the class-mean bar when `mmax`, and the legend sentence.
 */
export function scaleItems({ cview, what, scales, mmax, hasBias }) {
  const bars =
    cview === "template"
      ? [h("span", { class: "linlens-scale-note", "data-testid": "scale-template" }, "RGB template: each class row's channels rescaled to [0, 1] on their own (no shared scale)")]
      : [colorbar(`A, B ${what}`, scales.vmax, "scale-weights"), colorbar("A−B", scales.dmax, "scale-diff"), h("span", { class: "linlens-scalebar-label", "data-testid": "scale-name" }, `(${scales.name})`)];
  return [
    ...bars,
    mmax ? colorbar("class mean W_eff", mmax, "scale-means") : null,
    h("span", { class: "linlens-scale-note" }, hasBias ? LEGEND_TEXT : `${LEGEND_TEXT} · no bias in this network (b_eff = 0)`),
  ];
}

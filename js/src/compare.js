/**
 * WeightCompare front end: two operands A and B (one sample each, or a group compared by its mean
 * W_eff) as per-class images of W_eff or of the contributions W_eff ⊙ x (diverging colour map,
 * red positive, blue negative; one scale shared by A and B, its own for A − B), b_eff and the
 * scores f, the predicted class outlined, the similarity overall and per class (the centred
 * cosine by default: the probe mean W_eff at the checkpoint subtracted, as
 * ll.metrics.class_similarity), the W_eff-space neighbours of a single-sample A, and optionally
 * the class-mean W_eff row. Arrays arrive on demand as float32 buffers and are cached.
 *
 * The parts live in `compare/`, one job each: the host's replies (`replies.js`), the operands as
 * data (`operands.js`), the controls, the header, the class grid, the colour scale and bars
 * (`scale.js`) and the neighbour row. Here they are wired together through `view`, the one
 * widget's shared state.
 */
import { message } from "./contract.js";
import { withLocalResponder } from "./engine/responder.js";
import { Disposer, guarded, h, makeRoot, renderOrShowError } from "./dom.js";
import { effectiveView, inputLayout, shownValues } from "./images.js";
import { symmetricMax } from "./colormaps.js";
import { centredCosine, rowCentredCosines } from "./selection.js";
import { createControls } from "./compare/controls.js";
import { addRow, classGrid, classMeanRows } from "./compare/grid.js";
import { headerItems } from "./compare/header.js";
import { neighbourItems } from "./compare/neighbours.js";
import { aggregate, checkOperand, difference, focusClasses, isCompact, shownClasses } from "./compare/operands.js";
import { cacheKey, createReplies } from "./compare/replies.js";
import { colourScales, runFrames, scaleItems } from "./compare/scale.js";
import { SIMILARITY_TEXT } from "./compare/text.js";

/** Replace an element's children, skipping null/false entries (DOM would print "null"). */
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/**
 * Ask the kernel for the network payload once the page has painted (the scatter's first frame
 * included): tens of MB at 10,000 probes that the first frame does not need.
 */
function askForNetworkAfterFirstFrame(model) {
  if (model.get("_network") || !model.get("_network_pending")) return;
  const ask = () => setTimeout(() => model.send(message("fetch_network")), 0);
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(ask);
  else ask();
}

/**
 * Render a WeightCompare into `el`. `hooks.onNeighbors(indices)` (explorer use) hears the
 * neighbours shown for a single-sample A (an empty list when none are shown).
 */
export function renderCompare({ model, el, hooks = {} }) {
  model = withLocalResponder(model); // portable networks: the browser's engine answers, not the kernel
  askForNetworkAfterFirstFrame(model);
  const root = makeRoot(el, "compare");
  const bag = new Disposer();
  // The widget's shared state, handed to the parts: A's-and-B's-classes-or-all as chosen and as shown.
  const view = { model, root, classChoice: "auto", compact: false };
  const names = () => model.get("_classes") ?? [];
  const layout = () => inputLayout(model.get("_input_shape") ?? [1, 1]);
  const display = () => model.get("_display") ?? {};
  const nCheckpoints = () => Math.max(1, (model.get("_checkpoint_labels") ?? []).length);
  let lastReported = "";

  const header = h("div", { class: "linlens-compare-head" });
  const controls = createControls(view, bag, () => redraw());
  const body = h("div", { class: "linlens-compare-body" });
  const nbRow = h("div", { class: "linlens-neighbors", "data-testid": "neighbors" });
  const scale = h("div", { class: "linlens-scale" });
  root.append(header, controls.el, body, nbRow, scale);
  const replies = createReplies(model, bag, () => redraw(), nCheckpoints);
  if (typeof ResizeObserver !== "undefined") {
    let lastWidth = 0;
    const ro = new ResizeObserver(() => {
      const w = root.clientWidth;
      if (Math.abs(w - lastWidth) < 8) return;
      lastWidth = w;
      if (view.classChoice === "auto") redraw();
    });
    ro.observe(root);
    bag.add(() => ro.disconnect());
  }

  function report(indices) {
    const key = indices.join(",");
    if (key === lastReported) return;
    lastReported = key;
    hooks.onNeighbors?.(indices);
  }

  function draw() {
    const N = model.get("_n_samples") ?? 0;
    const e = Number(model.get("checkpoint"));
    const A = checkOperand(model.get("a"), N);
    const B = checkOperand(model.get("b"), N);
    controls.show(layout());
    root.dataset.checkpoint = String(e);
    for (const [tag, ops, raw] of [["A", A, model.get("a")], ["B", B, model.get("b")]]) {
      if (!ops) {
        fill(header);
        fill(body, h("div", { class: "linlens-notice" }, `operand ${tag} = ${JSON.stringify(raw)} must list probe indices in 0..${N - 1}`));
        fill(nbRow);
        report([]);
        return;
      }
    }
    root.dataset.a = A.join(",");
    root.dataset.b = B.join(",");
    for (const s of new Set([...A, ...B])) replies.request(s, e);
    const centred = model.get("similarity") !== "raw";
    if (centred) replies.requestProbeMean(e);
    if (model.get("show_class_means")) replies.requestMeans(e);
    const k = Math.max(1, Number(model.get("k")) || 10);
    if (A.length === 1) replies.requestNeighbours(A[0], e, k, centred ? "centred" : "raw");

    const missing = [...A, ...B].map((s) => replies.notice(cacheKey(s, e))).filter(Boolean);
    if (missing.length) {
      fill(header);
      fill(body, ...[...new Set(missing)].map((m) => h("div", { class: "linlens-notice" }, m)));
      root.dataset.state = "unavailable";
      return;
    }
    const repliesA = A.map((s) => replies.sample(s, e));
    const repliesB = B.map((s) => replies.sample(s, e));
    const meanNotice = centred ? replies.notice(`mean:${e}`) : null;
    const waitingMean = centred && !meanNotice && !replies.probeMean(e);
    if (repliesA.some((d) => !d) || repliesB.some((d) => !d) || waitingMean) {
      root.dataset.state = "loading";
      if (!body.childElementCount) fill(body, h("div", { class: "linlens-notice" }, "computing effective weights…"));
      return;
    }
    root.dataset.state = "ready";
    const shown = model.get("view") === "contributions" ? "contributions" : "weights";
    const mean = centred && !meanNotice ? replies.probeMean(e).data : null;
    const simText = mean ? SIMILARITY_TEXT.centred : centred ? SIMILARITY_TEXT.rawFallback : SIMILARITY_TEXT.raw;
    controls.showScale();
    const over = model.get("scale") === "run" ? runFrames(replies, A, B, shown, nCheckpoints()) : null;
    drawPair({ A, B, e, da: aggregate(repliesA, shown), db: aggregate(repliesB, shown), mean, simText, shown, over });
    drawNeighbours(A, e, k, centred ? SIMILARITY_TEXT.centred : SIMILARITY_TEXT.raw);
  }

  /** The classes shown: those asked for, or A's and B's only when compact (see `isCompact`). */
  function shownColumns(da, db, C) {
    const chosen = (model.get("classes") ?? []).length > 0;
    const cellPx = model.get("presentation") ? 84 : 60;
    view.compact = !chosen && isCompact(view.classChoice, root.clientWidth, C, cellPx) && focusClasses(da, db, C).length < C;
    root.dataset.classes = view.compact ? "focus" : "all";
    controls.showClasses(C, chosen);
    return view.compact ? focusClasses(da, db, C) : shownClasses(model.get("classes"), C);
  }

  function drawPair({ A, B, e, da, db, mean, simText, shown, over }) {
    const { C, D } = da;
    const show = shownColumns(da, db, C);
    const img = layout();
    const cview = effectiveView(img, model.get("channel_view"));
    // a shared scale is taken over what is drawn: the channel sums in the "sum" view
    const rowsOf = (w) => show.map((c) => shownValues(w.subarray(c * D, (c + 1) * D), img, cview));
    const scales = colourScales(da, db, over, rowsOf);
    root.dataset.scale = over ? "run" : "checkpoint";
    const what = (shown === "contributions" ? "W_eff ⊙ x" : "W_eff") + (cview === "sum" && img.C > 1 ? " (sum over channels)" : "");
    root.dataset.similarity = mean ? "centred" : "raw";
    const n = names();
    const cosAll = centredCosine(da.weight, db.weight, mean);
    fill(header, headerItems({ A, B, da, db, names: n, cosAll, similarity: root.dataset.similarity, simText }));

    const cosRows = rowCentredCosines(da.weight, db.weight, mean, C, D);
    const grid = classGrid({ show, names: n, simText, cosRows, cview });
    root.dataset.channelView = cview;
    const ctx = { show, names: n, img, cview, what, fnames: display().feature_names ?? null, display: display(), D };
    const nTitle = (d) => (d.n > 1 ? ` mean of ${d.n}` : "");
    addRow(grid, ctx, { tag: "A", title: nTitle(da), d: da, w: da.shown, vmax: scales.vmax, inputVals: da.input });
    addRow(grid, ctx, { tag: "B", title: nTitle(db), d: db, w: db.shown, vmax: scales.vmax, inputVals: db.input });
    addRow(grid, ctx, { tag: "A−B", title: "", d: null, w: difference(da.shown, db.shown), vmax: scales.dmax, inputVals: null });
    const means = replies.classMeans(e);
    let mmax = 0;
    if (model.get("show_class_means") && means) {
      const meanRows = classMeanRows(means, show, C, D);
      mmax = symmetricMax(...rowsOf(meanRows)) || 1;
      addRow(grid, ctx, { tag: "class mean", title: "", d: null, w: meanRows, vmax: mmax, inputVals: null });
    }
    fill(body, grid);
    const meansNote = model.get("show_class_means") ? replies.notice(`means:${e}`) : null;
    if (meansNote) body.append(h("div", { class: "linlens-notice" }, `class means unavailable: ${meansNote}`));
    fill(scale, scaleItems({ cview, what, scales, mmax, hasBias: Boolean(da.bias) }));
  }

  function drawNeighbours(A, e, k, simText) {
    if (A.length !== 1) {
      fill(nbRow);
      report([]);
      return;
    }
    const kind = model.get("similarity") === "raw" ? "raw" : "centred";
    const nb = replies.neighbours(kind, A[0], e);
    if (!nb) {
      const note = replies.neighbourNotice(A[0], e, kind);
      fill(nbRow, note !== undefined ? h("div", { class: "linlens-notice" }, `neighbours unavailable: ${note}`) : null);
      report([]);
      return;
    }
    report(nb.index.slice(0, k));
    const label = replies.sample(A[0], e)?.label;
    fill(nbRow, neighbourItems({ nb, k, label, kind, simText, names: names(), img: layout(), display: display() }));
  }

  const redraw = guarded(root, draw, "WeightCompare");
  bag.onModel(model, "msg:custom", guarded(root, (msg, buffers) => {
    if (replies.receive(msg, buffers)) draw();
  }, "WeightCompare"));
  for (const t of ["a", "b", "checkpoint", "classes", "show_class_means", "similarity", "view", "channel_view", "scale", "k", "presentation"]) bag.onModel(model, `change:${t}`, redraw);
  bag.onModel(model, "change:_revision", guarded(root, () => {
    // The kernel's data changed (a new run or trajectory): drop everything cached.
    replies.reset();
    draw();
  }, "WeightCompare"));
  redraw();
  return () => {
    bag.dispose();
    root.remove();
  };
}

export default { render: renderOrShowError(renderCompare, "compare", "WeightCompare") };

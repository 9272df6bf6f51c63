/**
 * WeightCompare front end: two operands A and B (one sample each, or a group compared by its mean
 * W_eff) as per-class images of W_eff or of the contributions W_eff ⊙ x (diverging colour map,
 * red positive, blue negative; one scale shared by A and B, its own for A − B), b_eff and the
 * scores f, the predicted class outlined, the similarity overall and per class (the centred
 * cosine by default: the probe mean W_eff at the checkpoint subtracted, as
 * ll.metrics.class_similarity), the W_eff-space neighbours of a single-sample A, and optionally
 * the class-mean W_eff row. Arrays arrive on demand as float32 buffers and are cached.
 */
import { decodeMessageArrays } from "./codecs.js";
import { cssGradient, diverging, symmetricMax } from "./colormaps.js";
import { message } from "./contract.js";
import { withLocalResponder } from "./engine/responder.js";
import { Disposer, guarded, h, makeRoot, renderOrShowError } from "./dom.js";
import { formatNumber } from "./format.js";
import { CHANNEL_VIEW_TEXT, CHANNEL_VIEWS, effectiveView, inputElement, inputLayout, shownValues, weightElement } from "./images.js";
import { argmax, centredCosine, describeOperand, meanOf, rowCentredCosines } from "./selection.js";

/** What the similarity is called on screen, and its one-line explanation (a tooltip). */
export const SIMILARITY_TEXT = {
  centred: {
    label: "centred cosine",
    title: "cosine of the two W_eff after subtracting the mean W_eff of all probe samples at this checkpoint (as class_similarity); 0 = unrelated",
  },
  raw: {
    label: "raw cosine",
    title: "cosine of the two W_eff as they are (nothing subtracted); near 1 for almost any pair of a trained network",
  },
  rawFallback: {
    label: "raw cosine",
    title: "raw cosine: this page cannot give the probe mean W_eff needed for the centred cosine",
  },
};

/** The sentence that says what the colours and f mean. */
export const LEGEND_TEXT = "red = positive, blue = negative · f_c = score for class c = Σ W_eff·x (+ b_eff) · outlined = predicted class";

/** How long the comparison waits for a probe mean after the host's last reply (ms). */
export const MEAN_WAIT_MS = 4000;

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

/** Key of a (sample, checkpoint) pair in the client cache. */
export const cacheKey = (sample, checkpoint) => `${sample}:${checkpoint}`;

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

/** Replace an element's children, skipping null/false entries (DOM would print "null"). */
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function colorbar(label, vmax, testid) {
  return h(
    "span",
    { class: "linlens-scalebar", "data-testid": testid },
    h("span", { class: "linlens-scalebar-label" }, `${label} ${formatNumber(-vmax)}`),
    h("span", { class: "linlens-colorbar", style: { background: cssGradient((t) => diverging(2 * t - 1, 1)) } }),
    h("span", { class: "linlens-scalebar-label" }, `+${formatNumber(vmax)}`),
  );
}

/**
 * Render a WeightCompare into `el`. `hooks.onNeighbors(indices)` (explorer use) hears the
 * neighbours shown for a single-sample A (an empty list when none are shown).
 */
export function renderCompare({ model, el, hooks = {} }) {
  model = withLocalResponder(model); // portable networks: the browser's engine answers, not the kernel
  const root = makeRoot(el, "compare");
  const bag = new Disposer();
  const cache = new Map();
  const pending = new Set();
  let classMeans = new Map();
  let probeMeans = new Map();
  let neighbours = new Map();
  const notices = new Map();
  let lastReported = "";

  const header = h("div", { class: "linlens-compare-head" });
  const controls = h("div", { class: "linlens-compare-controls" });
  const body = h("div", { class: "linlens-compare-body" });
  const nbRow = h("div", { class: "linlens-neighbors", "data-testid": "neighbors" });
  const scale = h("div", { class: "linlens-scale" });
  root.append(header, controls, body, nbRow, scale);

  const names = () => model.get("_classes") ?? [];
  const layout = () => inputLayout(model.get("_input_shape") ?? [1, 1]);
  const display = () => model.get("_display") ?? {};
  const nSamples = () => model.get("_n_samples") ?? 0;
  const nCheckpoints = () => Math.max(1, (model.get("_checkpoint_labels") ?? []).length);
  const setTrait = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };

  // Controls: similarity, weights or contributions, presentation size.
  const simSelect = h(
    "select",
    { "aria-label": "similarity", "data-testid": "similarity", title: "which similarity the cosines show" },
    h("option", { value: "centred" }, "centred cosine"),
    h("option", { value: "raw" }, "raw cosine"),
  );
  const viewSelect = h(
    "select",
    { "aria-label": "images show", "data-testid": "view", title: "show W_eff, or the contributions W_eff ⊙ x whose sum (+ b_eff) is the score f" },
    h("option", { value: "weights" }, "W_eff"),
    h("option", { value: "contributions" }, "W_eff ⊙ x"),
  );
  const channelSelect = h(
    "select",
    { "aria-label": "colour channels", "data-testid": "channel-view", title: "how the W_eff of a colour input is drawn: summed over channels (diverging), one image per channel, or an RGB template (each channel rescaled to [0, 1])" },
    ...CHANNEL_VIEWS.map((v) => h("option", { value: v }, CHANNEL_VIEW_TEXT[v])),
  );
  const channelLabel = h("label", {}, "channels ", channelSelect);
  const sizeButton = h("button", { class: "linlens-tool", type: "button", "data-testid": "presentation", title: "presentation size (larger text)" }, "Aa");
  bag.listen(simSelect, "change", () => setTrait("similarity", simSelect.value));
  bag.listen(viewSelect, "change", () => setTrait("view", viewSelect.value));
  bag.listen(channelSelect, "change", () => setTrait("channel_view", channelSelect.value));
  bag.listen(sizeButton, "click", () => setTrait("presentation", !model.get("presentation")));
  // A's and B's classes only (compact, when the full grid does not fit), or every class.
  let classChoice = "auto";
  let compact = false;
  const classesButton = h("button", { class: "linlens-tool linlens-classes-toggle", type: "button", "data-testid": "all-classes" });
  bag.listen(classesButton, "click", () => {
    classChoice = compact ? "all" : "focus";
    redraw();
  });
  const scaleSelect = h(
    "select",
    { "aria-label": "colour scale", "data-testid": "scale", title: "the W_eff colour scale: the largest value at this checkpoint, or over all checkpoints (magnitudes comparable across training)" },
    h("option", { value: "checkpoint" }, "this checkpoint"),
    h("option", { value: "run" }, "all checkpoints"),
  );
  bag.listen(scaleSelect, "change", () => setTrait("scale", scaleSelect.value));
  controls.append(h("label", {}, "similarity ", simSelect), h("label", {}, "images ", viewSelect), channelLabel, h("label", {}, "scale ", scaleSelect), classesButton, sizeButton);
  if (typeof ResizeObserver !== "undefined") {
    let lastWidth = 0;
    const ro = new ResizeObserver(() => {
      const w = root.clientWidth;
      if (Math.abs(w - lastWidth) < 8) return;
      lastWidth = w;
      if (classChoice === "auto") redraw();
    });
    ro.observe(root);
    bag.add(() => ro.disconnect());
  }

  function ask(key, msg) {
    if (pending.has(key) || notices.has(key)) return;
    pending.add(key);
    model.send(msg);
  }

  function request(sample, checkpoint) {
    if (!cache.has(cacheKey(sample, checkpoint))) ask(cacheKey(sample, checkpoint), message("fetch", { sample, checkpoint }));
  }

  function requestMeans(checkpoint) {
    if (!classMeans.has(checkpoint)) ask(`means:${checkpoint}`, message("fetch_class_means", { checkpoint }));
  }

  // A host that never answers for the probe mean (a page without it) must not leave the
  // comparison waiting: after MEAN_WAIT_MS without any reply, it shows the raw cosine and says so;
  // a mean that arrives later replaces it.
  let lastReply = performance.now();
  function requestProbeMean(checkpoint) {
    const key = `mean:${checkpoint}`;
    if (probeMeans.has(checkpoint) || pending.has(key) || notices.has(key)) return;
    ask(key, message("fetch_probe_mean", { checkpoint }));
    const check = () => {
      if (!pending.has(key)) return;
      const quiet = performance.now() - lastReply;
      if (quiet < MEAN_WAIT_MS) {
        bag.add(clearTimeout.bind(null, setTimeout(check, MEAN_WAIT_MS - quiet)));
        return;
      }
      pending.delete(key);
      notices.set(key, "no probe mean from this host");
      redraw();
    };
    bag.add(clearTimeout.bind(null, setTimeout(check, MEAN_WAIT_MS)));
  }

  // Neighbours are kept per similarity ("centred" or "raw"): each has its own list and numbers.
  const nbKey = (kind, sample, checkpoint) => `${kind}:${cacheKey(sample, checkpoint)}`;
  function requestNeighbours(sample, checkpoint, k, similarity) {
    const have = neighbours.get(nbKey(similarity, sample, checkpoint));
    if (have && have.index.length >= Math.min(k, nSamples() - 1)) return;
    ask(`nb:${sample}:${checkpoint}:${similarity}:${k}`, message("fetch_neighbors", { sample, checkpoint, k, similarity }));
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    lastReply = performance.now();
    if (msg.type === "sample") {
      pending.delete(cacheKey(msg.sample, msg.checkpoint));
      cache.set(cacheKey(msg.sample, msg.checkpoint), { ...msg, ...decodeMessageArrays(msg, buffers) });
      const operands = (model.get("a")?.length ?? 0) + (model.get("b")?.length ?? 0);
      const perCheckpoint = model.get("scale") === "run" ? nCheckpoints() : 1;
      const limit = Math.max(400, 2 * (operands * perCheckpoint + (model.get("k") ?? 0)));
      while (cache.size > limit) cache.delete(cache.keys().next().value);
      draw();
    } else if (msg.type === "class_means") {
      pending.delete(`means:${msg.checkpoint}`);
      classMeans.set(msg.checkpoint, decodeMessageArrays(msg, buffers).means);
      draw();
    } else if (msg.type === "probe_mean") {
      pending.delete(`mean:${msg.checkpoint}`);
      notices.delete(`mean:${msg.checkpoint}`);
      probeMeans.set(msg.checkpoint, decodeMessageArrays(msg, buffers).mean);
      draw();
    } else if (msg.type === "neighbors") {
      const kind = msg.similarity === "raw" ? "raw" : "centred";
      for (const key of pending) if (key.startsWith(`nb:${msg.sample}:${msg.checkpoint}:${kind}:`)) pending.delete(key);
      const arrays = decodeMessageArrays(msg, buffers);
      // the neighbours' images and labels come with the table, so the row needs no fetch each
      const k = arrays.index.data.length;
      const D = k ? arrays.input.data.length / k : 0;
      neighbours.set(nbKey(kind, msg.sample, msg.checkpoint), {
        index: Array.from(arrays.index.data),
        similarity: Array.from(arrays.similarity.data),
        thumbs: Array.from({ length: k }, (_, j) => ({ label: arrays.label.data[j], input: arrays.input.data.subarray(j * D, (j + 1) * D) })),
        agreement: msg.agreement,
      });
      draw();
    } else if (msg.type === "error") {
      // An error names the checkpoint, and the sample when it was about one: it answers every
      // request of that kind still waiting.
      const text = msg.message ?? "the kernel could not compute this";
      const keys = [...pending].filter((key) => {
        if (msg.sample === undefined || msg.sample === null) return key === `means:${msg.checkpoint}` || key === `mean:${msg.checkpoint}`;
        return key === cacheKey(msg.sample, msg.checkpoint) || key.startsWith(`nb:${msg.sample}:${msg.checkpoint}:`);
      });
      for (const key of keys) {
        pending.delete(key);
        notices.set(key, text);
      }
      draw();
    }
  }

  function report(indices) {
    const key = indices.join(",");
    if (key === lastReported) return;
    lastReported = key;
    hooks.onNeighbors?.(indices);
  }

  function operandName(tag, ops, agg) {
    const n = names();
    const base = describeOperand(ops, agg?.labels, n);
    if (!agg || ops.length !== 1) return `${tag}: ${base}`;
    const label = n[agg.label] ?? agg.label;
    const pred = agg.predicted === agg.label ? " ✓" : ` → predicted ${n[agg.predicted] ?? agg.predicted}`;
    return `${tag}: ${base} · ${label}${pred}`;
  }

  function draw() {
    const N = nSamples();
    const e = Number(model.get("checkpoint"));
    const A = checkOperand(model.get("a"), N);
    const B = checkOperand(model.get("b"), N);
    root.classList.toggle("is-presentation", Boolean(model.get("presentation")));
    sizeButton.setAttribute("aria-pressed", model.get("presentation") ? "true" : "false");
    simSelect.value = model.get("similarity") === "raw" ? "raw" : "centred";
    viewSelect.value = model.get("view") === "contributions" ? "contributions" : "weights";
    // the channel switch only where there are channels to switch between
    const lay = layout();
    channelLabel.style.display = lay.kind === "image" && lay.C > 1 ? "" : "none";
    channelSelect.value = effectiveView(lay, model.get("channel_view"));
    root.dataset.checkpoint = String(e);
    for (const [tag, ops, raw] of [["A", A, model.get("a")], ["B", B, model.get("b")]]) {
      if (!ops) {
        fill(header, );
        fill(body, h("div", { class: "linlens-notice" }, `operand ${tag} = ${JSON.stringify(raw)} must list probe indices in 0..${N - 1}`));
        fill(nbRow, );
        report([]);
        return;
      }
    }
    root.dataset.a = A.join(",");
    root.dataset.b = B.join(",");
    for (const s of new Set([...A, ...B])) request(s, e);
    const centred = model.get("similarity") !== "raw";
    if (centred) requestProbeMean(e);
    if (model.get("show_class_means")) requestMeans(e);
    const k = Math.max(1, Number(model.get("k")) || 10);
    if (A.length === 1) requestNeighbours(A[0], e, k, centred ? "centred" : "raw");

    const missing = [...A, ...B].map((s) => notices.get(cacheKey(s, e))).filter(Boolean);
    if (missing.length) {
      fill(header, );
      fill(body, ...[...new Set(missing)].map((m) => h("div", { class: "linlens-notice" }, m)));
      root.dataset.state = "unavailable";
      return;
    }
    const repliesA = A.map((s) => cache.get(cacheKey(s, e)));
    const repliesB = B.map((s) => cache.get(cacheKey(s, e)));
    const meanNotice = centred ? notices.get(`mean:${e}`) : null;
    const waitingMean = centred && !meanNotice && !probeMeans.has(e);
    if (repliesA.some((d) => !d) || repliesB.some((d) => !d) || waitingMean) {
      root.dataset.state = "loading";
      if (!body.childElementCount) fill(body, h("div", { class: "linlens-notice" }, "computing effective weights…"));
      return;
    }
    root.dataset.state = "ready";
    const view = model.get("view") === "contributions" ? "contributions" : "weights";
    const mean = centred && !meanNotice ? probeMeans.get(e).data : null;
    const simText = mean ? SIMILARITY_TEXT.centred : centred ? SIMILARITY_TEXT.rawFallback : SIMILARITY_TEXT.raw;
    drawPair(A, B, e, aggregate(repliesA, view), aggregate(repliesB, view), mean, simText, view, runScale(A, B, view));
    drawNeighbours(A, e, k, centred ? SIMILARITY_TEXT.centred : SIMILARITY_TEXT.raw);
  }

  /**
   * Under scale "run": the operands' aggregates at every checkpoint (asked for when missing) and
   * how many have arrived, so the colour scale can span all of them; null under "checkpoint".
   */
  function runScale(A, B, view) {
    scaleSelect.value = model.get("scale") === "run" ? "run" : "checkpoint";
    if (model.get("scale") !== "run") return null;
    const E = nCheckpoints();
    const frames = [];
    for (let t = 0; t < E; t++) {
      for (const s of new Set([...A, ...B])) request(s, t);
      const ra = A.map((s) => cache.get(cacheKey(s, t)));
      const rb = B.map((s) => cache.get(cacheKey(s, t)));
      if (ra.every(Boolean) && rb.every(Boolean)) frames.push([aggregate(ra, view), aggregate(rb, view)]);
    }
    return { frames, E };
  }

  function drawPair(A, B, e, da, db, mean, simText, view, over = null) {
    const { C, D } = da;
    const requested = shownClasses(model.get("classes"), C);
    const cellPx = model.get("presentation") ? 84 : 60;
    const chosen = (model.get("classes") ?? []).length > 0;
    compact = !chosen && isCompact(classChoice, root.clientWidth, C, cellPx) && focusClasses(da, db, C).length < C;
    const show = compact ? focusClasses(da, db, C) : requested;
    root.dataset.classes = compact ? "focus" : "all";
    classesButton.hidden = chosen;
    classesButton.textContent = compact ? `all ${C} classes` : "A's and B's classes";
    classesButton.title = compact ? `show W_eff for every class (${C})` : "show only A's and B's classes and their predicted classes";
    classesButton.setAttribute("aria-pressed", String(!compact));
    const n = names();
    const cosAll = centredCosine(da.weight, db.weight, mean);
    const cosRows = rowCentredCosines(da.weight, db.weight, mean, C, D);
    const img = layout();
    const cview = effectiveView(img, model.get("channel_view"));
    const fnames = display().feature_names ?? null;
    // a shared scale is taken over what is drawn: the channel sums in the "sum" view
    const rowsOf = (w) => show.map((c) => shownValues(w.subarray(c * D, (c + 1) * D), img, cview));
    // The colour scale: this checkpoint's largest value, or the largest over every checkpoint.
    const pairs = over ? [[da, db], ...over.frames] : [[da, db]];
    const vmax = Math.max(...pairs.map(([x, y]) => symmetricMax(...rowsOf(x.shown), ...rowsOf(y.shown)))) || 1;
    const diff = difference(da.shown, db.shown);
    const dmax = Math.max(...pairs.map(([x, y]) => symmetricMax(...rowsOf(difference(x.shown, y.shown))))) || 1;
    const loaded = over && over.frames.length < over.E ? `, ${over.frames.length}/${over.E} loaded` : "";
    const scaleName = over ? `scale: all checkpoints${loaded}` : "scale: this checkpoint";
    root.dataset.scale = over ? "run" : "checkpoint";
    const what = (view === "contributions" ? "W_eff ⊙ x" : "W_eff") + (cview === "sum" && img.C > 1 ? " (sum over channels)" : "");
    root.dataset.similarity = mean ? "centred" : "raw";

    fill(header, 
      h("span", { class: "linlens-tag linlens-tag-a", "data-testid": "operand-a", "data-n": String(A.length) }, operandName("A", A, da)),
      h("span", { class: "linlens-tag linlens-tag-b", "data-testid": "operand-b", "data-n": String(B.length) }, operandName("B", B, db)),
      h(
        "span",
        { class: "linlens-cosine", "data-testid": "cosine", "data-value": String(cosAll), "data-similarity": root.dataset.similarity, title: simText.title },
        `${simText.label} ${formatNumber(cosAll)}`,
      ),
      simText === SIMILARITY_TEXT.rawFallback ? h("span", { class: "linlens-checkpoint-note" }, "(no probe mean here, so not centred)") : null,
    );

    const grid = h("div", { class: "linlens-grid" });
    // Tiles of one size: equal columns that share the width, up to a largest tile (twice as
    // wide for C images side by side); the grid never forces the comparison to scroll sideways.
    const cell = cview === "channels" ? "calc(var(--ll-cell-max, 96px) * 2)" : "var(--ll-cell-max, 96px)";
    grid.style.gridTemplateColumns = `max-content repeat(${show.length + 1}, minmax(0, ${cell}))`;
    root.dataset.channelView = cview;
    grid.append(h("div", { class: "linlens-cell linlens-colhead" }), h("div", { class: "linlens-cell linlens-colhead" }, "input"));
    for (const c of show) grid.append(h("div", { class: "linlens-cell linlens-colhead" }, h("div", { class: "linlens-classname" }, `${n[c] ?? c}`)));
    // One row of per-class similarities, named once in its row head (labels never run together).
    grid.append(h("div", { class: "linlens-cell linlens-rowhead", title: simText.title }, simText.label));
    grid.append(h("div", { class: "linlens-cell" }));
    for (const c of show) {
      grid.append(
        h(
          "div",
          { class: "linlens-cell linlens-cos-class", "data-testid": "cosine-class", "data-class": c, "data-value": String(cosRows[c]), title: `${simText.label} of the class-${n[c] ?? c} rows of W_eff` },
          formatNumber(cosRows[c]),
        ),
      );
    }
    const row = (tag, title, d, w, vm, inputVals) => {
      const cls = { A: "a", B: "b" }[tag] ?? "other";
      grid.append(h("div", { class: "linlens-cell linlens-rowhead" }, h("span", { class: `linlens-tag linlens-tag-${cls}` }, tag), title));
      grid.append(h("div", { class: "linlens-cell" }, inputVals ? inputElement(inputVals, img, display(), d?.n > 1 ? "mean input of the group" : "input image") : null));
      for (const c of show) {
        const pred = d?.predicted === c;
        const cell = h(
          "div",
          { class: `linlens-cell${pred ? " is-pred" : ""}`, "data-class": c },
          weightElement(w.subarray(c * D, (c + 1) * D), img, cview, vm, `${tag}: ${what} row ${n[c] ?? c}`, fnames),
          d?.bias ? h("div", { class: "linlens-bias", "data-testid": "number" }, `b ${formatNumber(d.bias[c])}`) : null,
          d?.output ? h("div", { class: "linlens-logit", "data-testid": "number" }, `f ${formatNumber(d.output[c])}`) : null,
        );
        if (pred) cell.title = `predicted class of ${tag}`;
        grid.append(cell);
      }
    };
    const nTitle = (d) => (d.n > 1 ? ` mean of ${d.n}` : "");
    row("A", nTitle(da), da, da.shown, vmax, da.input);
    row("B", nTitle(db), db, db.shown, vmax, db.input);
    row("A−B", "", null, diff, dmax, null);
    const means = classMeans.get(e);
    let mmax = 0;
    if (model.get("show_class_means") && means) {
      // Row k of class k's mean W_eff: what the network's weights for class k look like on average.
      const [Ck, Cout] = means.shape;
      const meanRows = new Float32Array(C * D);
      for (const c of show) {
        if (c < Ck && c < Cout) meanRows.set(means.data.subarray((c * Cout + c) * D, (c * Cout + c + 1) * D), c * D);
      }
      mmax = symmetricMax(...rowsOf(meanRows)) || 1;
      row("class mean", "", null, meanRows, mmax, null);
    }
    fill(body, grid);
    const meansNote = model.get("show_class_means") ? notices.get(`means:${e}`) : null;
    if (meansNote) body.append(h("div", { class: "linlens-notice" }, `class means unavailable: ${meansNote}`));
    fill(scale, 
      cview === "template"
        ? h("span", { class: "linlens-scale-note", "data-testid": "scale-template" }, "RGB template: each class row's channels rescaled to [0, 1] on their own (no shared scale)")
        : [colorbar(`A, B ${what}`, vmax, "scale-weights"), colorbar("A−B", dmax, "scale-diff"), h("span", { class: "linlens-scalebar-label", "data-testid": "scale-name" }, `(${scaleName})`)],
      mmax ? colorbar("class mean W_eff", mmax, "scale-means") : null,
      h("span", { class: "linlens-scale-note" }, da.bias ? LEGEND_TEXT : `${LEGEND_TEXT} · no bias in this network (b_eff = 0)`),
    );
  }

  function drawNeighbours(A, e, k, simText) {
    if (A.length !== 1) {
      fill(nbRow, );
      report([]);
      return;
    }
    const key = cacheKey(A[0], e);
    const kind = model.get("similarity") === "raw" ? "raw" : "centred";
    const note = [...notices.entries()].find(([nk]) => nk.startsWith(`nb:${A[0]}:${e}:${kind}:`));
    const nb = neighbours.get(nbKey(kind, A[0], e));
    if (!nb) {
      fill(nbRow, note ? h("div", { class: "linlens-notice" }, `neighbours unavailable: ${note[1]}`) : null);
      report([]);
      return;
    }
    const index = nb.index.slice(0, k);
    const sims = nb.similarity.slice(0, k);
    report(index);
    const thumbs = nb.thumbs.slice(0, k);
    const label = cache.get(key)?.label;
    const n = names();
    const same = thumbs.filter((t) => t.label === label).length;
    const agreement = label !== undefined ? `${same}/${index.length}` : `${Math.round((nb.agreement ?? 0) * index.length)}/${index.length}`;
    const img = layout();
    fill(nbRow, 
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
            inputElement(d.input, img, display(), `#${s}`, { labelled: false }),
            h("div", { class: "linlens-nb-label" }, `${n[d.label] ?? d.label}`),
            h("div", { class: "linlens-nb-sim", "data-testid": "number" }, formatNumber(sims[j])),
          );
        }),
      ),
    );
  }

  const redraw = guarded(root, draw, "WeightCompare");
  bag.onModel(model, "msg:custom", guarded(root, onMessage, "WeightCompare"));
  for (const t of ["a", "b", "checkpoint", "classes", "show_class_means", "similarity", "view", "channel_view", "scale", "k", "presentation"]) bag.onModel(model, `change:${t}`, redraw);
  bag.onModel(model, "change:_revision", guarded(root, () => {
    // The kernel's data changed (a new run or trajectory): drop everything cached.
    cache.clear();
    pending.clear();
    notices.clear();
    classMeans = new Map();
    probeMeans = new Map();
    neighbours = new Map();
    draw();
  }, "WeightCompare"));
  redraw();
  return () => {
    bag.dispose();
    root.remove();
  };
}

export default { render: renderOrShowError(renderCompare, "compare", "WeightCompare") };

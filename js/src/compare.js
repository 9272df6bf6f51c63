/**
 * WeightCompare front end: two samples' effective weights W_eff as per-class images (diverging
 * colour map, one symmetric scale shared by A and B), their difference, b_eff, the predicted
 * class highlighted, cosine similarities overall and per class, and optionally the class-mean
 * W_eff row. Images arrive on demand as float32 buffers ("fetch" messages) and are cached.
 */
import { decodeMessageArrays } from "./codecs.js";
import { cssGradient, diverging, divergingPixels, greyPixels, symmetricMax } from "./colormaps.js";
import { message } from "./contract.js";
import { withLocalResponder } from "./engine/responder.js";
import { Disposer, fmt, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { argmax, cosine, rowCosines } from "./selection.js";

/** Which class rows to show: the requested ones that exist, else all. */
export function shownClasses(requested, C) {
  const valid = (requested ?? []).filter((k) => Number.isInteger(k) && k >= 0 && k < C);
  return valid.length ? valid : Array.from({ length: C }, (_, k) => k);
}

/** Element-wise a - b of two equal-length arrays. */
export function difference(a, b) {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** Key of a (sample, checkpoint) pair in the client cache. */
export const cacheKey = (sample, checkpoint) => `${sample}:${checkpoint}`;

function imageCanvas(values, [hh, ww], pixels, title) {
  const c = h("canvas", { class: "linlens-img", width: ww, height: hh, title });
  c.getContext("2d")?.putImageData(new ImageData(pixels(values), ww, hh), 0, 0);
  return c;
}

export function renderCompare({ model, el }) {
  model = withLocalResponder(model); // portable networks: the browser's engine answers, not the kernel
  const root = makeRoot(el, "compare");
  const bag = new Disposer();
  const cache = new Map();
  const pending = new Set();
  let classMeans = new Map();
  const notices = new Map();

  const header = h("div", { class: "linlens-compare-head" });
  const body = h("div", { class: "linlens-compare-body" });
  const scale = h("div", { class: "linlens-scale" });
  root.append(header, body, scale);

  const names = () => model.get("_classes") ?? [];
  const shape = () => model.get("_image_shape") ?? [1, 1];
  const nSamples = () => model.get("_n_samples") ?? 0;

  function request(sample, checkpoint) {
    const key = cacheKey(sample, checkpoint);
    if (cache.has(key) || pending.has(key) || notices.has(key)) return;
    pending.add(key);
    model.send(message("fetch", { sample, checkpoint }));
  }

  function requestMeans(checkpoint) {
    const key = `means:${checkpoint}`;
    if (classMeans.has(checkpoint) || pending.has(key)) return;
    pending.add(key);
    model.send(message("fetch_class_means", { checkpoint }));
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "sample") {
      const key = cacheKey(msg.sample, msg.checkpoint);
      pending.delete(key);
      const arrays = decodeMessageArrays(msg, buffers);
      cache.set(key, { ...msg, ...arrays });
      if (cache.size > 400) cache.delete(cache.keys().next().value);
      draw();
    } else if (msg.type === "class_means") {
      pending.delete(`means:${msg.checkpoint}`);
      classMeans.set(msg.checkpoint, decodeMessageArrays(msg, buffers).means);
      draw();
    } else if (msg.type === "error") {
      const key = msg.sample === undefined ? `means:${msg.checkpoint}` : cacheKey(msg.sample, msg.checkpoint);
      pending.delete(key);
      notices.set(key, msg.message ?? "the kernel could not compute these weights");
      draw();
    }
  }

  function sampleName(tag, s, d) {
    const n = names();
    if (!d) return `${tag}: #${s}`;
    const label = n[d.label] ?? d.label;
    const k = argmax(d.output?.data ?? []);
    const pred = k < 0 ? "" : k === d.label ? " ✓" : ` → predicted ${n[k] ?? k}`;
    return `${tag}: #${s} · ${label}${pred}`;
  }

  function draw() {
    const a = Number(model.get("sample_a"));
    const b = Number(model.get("sample_b"));
    const e = Number(model.get("checkpoint"));
    root.dataset.sampleA = String(a);
    root.dataset.sampleB = String(b);
    root.dataset.checkpoint = String(e);
    const N = nSamples();
    for (const [tag, s] of [["A", a], ["B", b]]) {
      if (!Number.isInteger(s) || s < 0 || s >= N) {
        header.replaceChildren();
        body.replaceChildren(h("div", { class: "linlens-notice" }, `sample ${tag} = ${s} is outside 0..${N - 1}`));
        return;
      }
    }
    request(a, e);
    request(b, e);
    if (model.get("show_class_means")) requestMeans(e);
    const da = cache.get(cacheKey(a, e));
    const db = cache.get(cacheKey(b, e));
    const missing = [notices.get(cacheKey(a, e)), notices.get(cacheKey(b, e))].filter(Boolean);
    if (missing.length) {
      header.replaceChildren();
      body.replaceChildren(...missing.map((m) => h("div", { class: "linlens-notice" }, m)));
      root.dataset.state = "unavailable";
      return;
    }
    if (!da || !db) {
      root.dataset.state = "loading";
      if (!body.childElementCount) body.replaceChildren(h("div", { class: "linlens-notice" }, "computing effective weights…"));
      return;
    }
    root.dataset.state = "ready";
    drawPair(a, b, e, da, db);
  }

  function drawPair(a, b, e, da, db) {
    const [C, D] = da.weight.shape;
    const wa = da.weight.data;
    const wb = db.weight.data;
    const show = shownClasses(model.get("classes"), C);
    const n = names();
    const cosAll = cosine(wa, wb);
    const cosRows = rowCosines(wa, wb, C, D);
    const predA = argmax(da.output?.data ?? []);
    const predB = argmax(db.output?.data ?? []);

    // Shared symmetric scale over the shown rows of A and B.
    const rowsOf = (w) => show.map((k) => w.subarray(k * D, (k + 1) * D));
    const vmax = symmetricMax(...rowsOf(wa), ...rowsOf(wb)) || 1;
    const diff = difference(wa, wb);
    const dmax = symmetricMax(...rowsOf(diff)) || 1;
    const img = shape();

    header.replaceChildren(
      h("span", { class: "linlens-tag linlens-tag-a" }, sampleName("A", a, da)),
      h("span", { class: "linlens-tag linlens-tag-b" }, sampleName("B", b, db)),
      h(
        "span",
        { class: "linlens-cosine", "data-testid": "cosine", "data-value": String(cosAll), title: "cosine similarity of the two W_eff (all classes)" },
        `cos(W_A, W_B) = ${cosAll.toFixed(3)}`,
      ),
      h("span", { class: "linlens-checkpoint-note" }, (model.get("_checkpoint_labels") ?? [])[e] ?? `checkpoint ${e}`),
    );

    const grid = h("div", { class: "linlens-grid" });
    // Image columns share the width (each 24..72 px), so ten classes fit a half-width panel.
    grid.style.gridTemplateColumns = `auto repeat(${show.length + 1}, minmax(24px, 72px))`;
    grid.style.setProperty("--ll-aspect", `${img[1]} / ${img[0]}`);
    // Column headers: class name + per-class cosine.
    grid.append(h("div", { class: "linlens-cell linlens-colhead" }), h("div", { class: "linlens-cell linlens-colhead" }, "input"));
    for (const k of show) {
      grid.append(
        h(
          "div",
          { class: "linlens-cell linlens-colhead" },
          h("div", { class: "linlens-classname" }, `${n[k] ?? k}`),
          h(
            "div",
            { class: "linlens-cos-class", "data-testid": "cosine-class", "data-class": k, "data-value": String(cosRows[k]), title: `cosine of class-${n[k] ?? k} rows` },
            `cos ${cosRows[k].toFixed(2)}`,
          ),
        ),
      );
    }
    const weightPixels = (vm) => (v) => divergingPixels(v, vm);
    const row = (tag, title, d, w, pred, vm, inputVals) => {
      grid.append(h("div", { class: "linlens-cell linlens-rowhead" }, h("span", { class: `linlens-tag linlens-tag-${{ A: "a", B: "b" }[tag] ?? "other"}` }, tag), title));
      grid.append(
        h(
          "div",
          { class: "linlens-cell" },
          inputVals ? imageCanvas(inputVals, img, (v) => greyPixels(v), "input image") : null,
        ),
      );
      for (const k of show) {
        const vals = w.subarray(k * D, (k + 1) * D);
        const bias = d?.bias?.data?.[k];
        const cell = h(
          "div",
          { class: `linlens-cell${k === pred ? " is-pred" : ""}`, "data-class": k },
          imageCanvas(vals, img, weightPixels(vm), `${tag}: W_eff row ${n[k] ?? k}`),
          bias !== undefined ? h("div", { class: "linlens-bias" }, `b ${fmt(bias, 2)}`) : null,
          d?.output ? h("div", { class: "linlens-logit" }, `f ${fmt(d.output.data[k], 2)}`) : null,
        );
        if (k === pred) cell.title = `predicted class of ${tag}`;
        grid.append(cell);
      }
    };
    row("A", ` #${a}`, da, wa, predA, vmax, da.input?.data);
    row("B", ` #${b}`, db, wb, predB, vmax, db.input?.data);
    row("A−B", "", null, diff, -1, dmax, null);
    const means = classMeans.get(e);
    if (model.get("show_class_means") && means) {
      // Row k of class k's mean W_eff: what the network's weights for class k look like on average.
      const [Ck, Cout] = means.shape;
      const meanRows = new Float32Array(C * D);
      for (const k of show) {
        if (k < Ck && k < Cout) meanRows.set(means.data.subarray((k * Cout + k) * D, (k * Cout + k + 1) * D), k * D);
      }
      const mmax = symmetricMax(...rowsOf(meanRows)) || 1;
      row("class mean", "", null, meanRows, -1, mmax, null);
    }
    body.replaceChildren(grid);
    const meansNote = model.get("show_class_means") ? notices.get(`means:${e}`) : null;
    if (meansNote) body.append(h("div", { class: "linlens-notice" }, `class means unavailable: ${meansNote}`));
    const hasBias = da.bias !== undefined && da.bias !== null;
    scale.replaceChildren(
      h("span", {}, `W_eff scale ±${fmt(vmax)}`),
      h("span", { class: "linlens-colorbar", style: { background: cssGradient((t) => diverging(2 * t - 1, 1)) } }),
      h("span", {}, `A−B scale ±${fmt(dmax)}`),
      h("span", { class: "linlens-scale-note" }, hasBias ? "b = b_eff, f = output; outlined = predicted class" : "no bias in this network (b_eff = 0); outlined = predicted class"),
    );
  }

  const redraw = guarded(root, draw, "WeightCompare");
  bag.onModel(model, "msg:custom", guarded(root, onMessage, "WeightCompare"));
  for (const t of ["sample_a", "sample_b", "checkpoint", "classes", "show_class_means"]) bag.onModel(model, `change:${t}`, redraw);
  bag.onModel(model, "change:_revision", guarded(root, () => {
    // The kernel's data changed (a new run or trajectory): drop everything cached.
    cache.clear();
    pending.clear();
    notices.clear();
    classMeans = new Map();
    draw();
  }, "WeightCompare"));
  redraw();
  return () => {
    bag.dispose();
    root.remove();
  };
}

export default { render: renderOrShowError(renderCompare, "compare", "WeightCompare") };

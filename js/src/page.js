/**
 * Host for a saved, kernel-free page: a small in-page model (get/set/on/off/save_changes/send over
 * a plain object) per widget, binary state decoded from base64, and a responder that answers the
 * comparison's messages. For a portable network the page carries the network itself and the
 * engine's responder (engine/responder.js) computes any sample at any checkpoint; otherwise a bank
 * of precomputed W_eff answers for the samples it holds. The metrics panel is the small SVG chart
 * of chart.js. The widgets are drawn by the very same render functions as in a notebook.
 */
import { base64ToDataView, decodeArray, sizeOf } from "./codecs.js";
import { message } from "./contract.js";
import { expandPacked, expandPackedNow } from "./packing.js";

export { expandPacked };
import { ensureStyle, showError } from "./dom.js";
import { renderChart } from "./chart.js";
import { renderCompare } from "./compare.js";
import { createPairResponder } from "./engine/pair.js";
import { createResponder } from "./engine/responder.js";
import { renderEmbedding } from "./embedding.js";
import { renderExplorer } from "./explorer.js";
import { renderScrubber } from "./scrubber.js";
import { renderSweepExplorer } from "./sweep_explorer.js";

/** Replace every {b64, dtype, shape} inside a state value by {view: DataView, dtype, shape}. */
export function reviveBuffers(value) {
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value && typeof value === "object") {
    if (typeof value.b64 === "string" && value.dtype) {
      return { view: base64ToDataView(value.b64), dtype: value.dtype, shape: value.shape };
    }
    if (value.view instanceof DataView) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reviveBuffers(v)]));
  }
  return value;
}

/** Minimal model with the anywidget surface the front end uses. */
export class PageModel {
  constructor(state, { manager = null, respond = null } = {}) {
    this.state = { ...state };
    this.listeners = new Map();
    this.widget_manager = manager;
    this.respond = respond;
  }

  get(name) {
    return this.state[name];
  }

  set(name, value) {
    const old = this.state[name];
    this.state[name] = value;
    if (old !== value) this.emit(`change:${name}`, this, value);
  }

  save_changes() {}

  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
  }

  off(event, fn) {
    if (!event) {
      this.listeners.clear();
      return;
    }
    if (!fn) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(fn);
  }

  emit(event, ...args) {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(...args);
  }

  /**
   * Messages go to the page's responder; its answer (a reply, or a promise of one while the
   * page is still unpacking its network) arrives asynchronously, like a kernel's.
   */
  send(content) {
    if (!this.respond) return;
    const reply = this.respond(content);
    const emit = (r) => r && setTimeout(() => this.emit("msg:custom", r.content, r.buffers ?? []), 0);
    // a failure to unpack is an unhandled rejection, which the page shows (boot)
    if (reply && typeof reply.then === "function") reply.then(emit);
    else emit(reply);
  }
}

/**
 * Answer the comparison's fetch messages from a bank of precomputed arrays:
 * samples (K) probe indices; input (K, D); weight (K, E, C, D); bias (K, E, C) or null;
 * output (K, E, C); labels (K); class_means (E, Ck, C, D) or null; probe_mean (E, C, D)
 * (optional: the centred similarity's mean); pair_size (optional, a sweep page: N, samples s
 * and N + s are one probe sample in two runs).
 */
export function bankResponder(bank) {
  const get = (k) => decodeArray(bank[k], k);
  const samples = get("samples");
  const input = get("input");
  const weight = get("weight");
  const bias = get("bias");
  const output = get("output");
  const labels = get("labels");
  const means = get("class_means");
  const probeMeans = bank.probe_mean ? get("probe_mean") : null;
  const where = new Map(Array.from(samples.data, (s, k) => [s, k]));
  const [, E, C, D] = weight.shape;
  const slice = (arr, start, shape) => {
    const n = sizeOf(shape);
    const data = arr.data.slice(start * n, (start + 1) * n);
    return { data, shape };
  };
  const pack = (named) => {
    const arrays = [];
    const buffers = [];
    for (const [name, a] of Object.entries(named)) {
      if (!a) continue;
      arrays.push({ name, dtype: "float32", shape: a.shape });
      buffers.push(new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength));
    }
    return { arrays, buffers };
  };
  return (msg) => {
    if (msg?.type === "fetch") {
      const k = where.get(msg.sample);
      if (k === undefined || msg.checkpoint < 0 || msg.checkpoint >= E) {
        // A sweep page's bank holds each sample twice (run A's s, run B's N + s): count samples once.
        const listed = bank.pair_size ? new Set(Array.from(samples.data, (s) => s % bank.pair_size)).size : samples.data.length;
        return {
          content: message("error", {
            sample: msg.sample,
            checkpoint: msg.checkpoint,
            message: `Sample #${msg.sample} is not stored in this page: a saved page carries the effective weights of ${listed} samples (colour the scatter by "in this page" to see which). Open the notebook to compare any sample.`,
          }),
        };
      }
      const idx = k * E + msg.checkpoint;
      const { arrays, buffers } = pack({
        input: slice(input, k, [D]),
        weight: slice(weight, idx, [C, D]),
        bias: bias ? slice(bias, idx, [C]) : null,
        output: slice(output, idx, [C]),
      });
      return { content: message("sample", { sample: msg.sample, checkpoint: msg.checkpoint, label: labels.data[k], arrays }), buffers };
    }
    if (msg?.type === "fetch_probe_mean" && probeMeans) {
      const [, Cm, Dm] = probeMeans.shape;
      const { arrays, buffers } = pack({ mean: slice(probeMeans, msg.checkpoint, [Cm, Dm]) });
      return { content: message("probe_mean", { checkpoint: msg.checkpoint, arrays }), buffers };
    }
    if (msg?.type === "fetch_class_means") {
      if (!means) return { content: message("error", { checkpoint: msg.checkpoint, message: "class means are not stored in this page" }) };
      const [, Ck, Cm, Dm] = means.shape;
      const { arrays, buffers } = pack({ means: slice(means, msg.checkpoint, [Ck, Cm, Dm]) });
      return { content: message("class_means", { checkpoint: msg.checkpoint, arrays }), buffers };
    }
    return null;
  };
}

/** What a page's data script may carry (widgets/_page.py `CARRIED`). */
export const CARRIED = ["network", "networks", "bank"];

const RENDER = {
  embedding: renderEmbedding,
  compare: renderCompare,
  scrubber: renderScrubber,
  explorer: renderExplorer,
  sweep: renderSweepExplorer,
};

/**
 * The network's inputs from the embedding's thumbnails, for a page that stores the probe pixels
 * once (`network.inputs_from === "thumbnails"`, widgets/_page.py `pixels_once`): the uint8
 * thumbnails [N, H, W, C] channels first, as the network takes them: {view, dtype, shape: [N, D]}.
 */
export function inputsFromThumbnails(models) {
  const embedding = Object.values(models ?? {}).find((m) => m?.kind === "embedding");
  const thumbs = decodeArray(reviveBuffers(embedding?.state?._thumbnails ?? null), "thumbnails");
  if (!thumbs || thumbs.dtype !== "uint8" || thumbs.shape.length !== 4) {
    throw new Error("the page's network reads its inputs from the thumbnails, but the page holds no uint8 thumbnails");
  }
  const [N, H, W, C] = thumbs.shape;
  const D = H * W * C;
  let data = thumbs.data;
  if (C > 1) {
    data = new Uint8Array(N * D);
    const plane = H * W;
    for (let s = 0; s < N; s++) {
      const from = s * D;
      for (let p = 0; p < plane; p++) for (let c = 0; c < C; c++) data[from + c * plane + p] = thumbs.data[from + p * C + c];
    }
  }
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), dtype: "uint8", shape: [N, D] };
}

/**
 * The page's answer to the comparison: the engine for a carried network (two for a sweep page's
 * run pair), else the bank. `config.models` is where a network that stores no inputs of its own
 * (`inputs_from: "thumbnails"`) reads them.
 */
export function pageResponder(config) {
  if (config.network?.inputs_from === "thumbnails") {
    const { inputs_from: _, ...network } = config.network;
    return createResponder({ ...reviveBuffers(network), inputs: inputsFromThumbnails(config.models) }).respond;
  }
  if (config.network) return createResponder(reviveBuffers(config.network)).respond;
  if (config.networks) return createPairResponder(reviveBuffers(config.networks)).respond;
  if (config.bank) return bankResponder(reviveBuffers(config.bank));
  return null;
}

/** A performance mark (DevTools' timeline, benchmarks/page_load.py), where the browser has them. */
function mark(name) {
  globalThis.performance?.mark?.(name);
}

/**
 * A promise that resolves once the scatter inside `el` has drawn its first frame (its root's
 * `data-ready`), at once when `el` holds no scatter, and after `waitMs` in any case (a scatter
 * that cannot draw must not hold the rest of the page back).
 */
export function firstFrame(el, waitMs = 3000) {
  const drawn = () => {
    const roots = el.querySelectorAll?.("[data-linlens=embedding]") ?? [];
    return roots.length === 0 || Array.from(roots).some((r) => r.dataset.ready === "true");
  };
  return new Promise((resolve) => {
    if (drawn() || typeof MutationObserver === "undefined") {
      resolve();
      return;
    }
    const timer = setTimeout(finish, waitMs);
    const observer = new MutationObserver(() => drawn() && finish());
    function finish() {
      clearTimeout(timer);
      observer.disconnect();
      resolve();
    }
    observer.observe(el, { attributes: true, attributeFilter: ["data-ready"], subtree: true });
  });
}

/**
 * The page's responder for a packed `network`, `networks` (a sweep page's run pair) or `bank`,
 * read by `load()` (a promise of {network | networks | bank}: the page's data script, parsed once
 * the document is) and unpacked only once `started` resolves (mount: after the scatter's first
 * frame is on screen and the thumbnails are unpacked): a function that returns a promise of the
 * reply. Messages that arrive before (the comparison asks as it renders) wait, so reading and
 * unpacking the page's largest payload never delays the first scatter. Null when the page carries
 * nothing (`load` null).
 */
function lazyResponder(load, models, started) {
  if (!load) return null;
  const ready = started
    .then(load)
    .then((carried) => {
      mark("linlens:unpacking");
      return expandPacked(carried, "page");
    })
    .then((c) => {
      mark("linlens:network");
      return pageResponder({ ...c, models });
    });
  return (msg) => ready.then((answer) => (answer ? answer(msg) : null));
}

/** The widgets' state entries the first frame does not read, unpacked after it: [kind, key]. */
const LATER = [["embedding", "_thumbnails"]];

/**
 * Split the LATER entries off `models` (packed config): {now: the models without them, later:
 * [{id, key, value}]}. `models` is not changed.
 */
function takeLater(models) {
  const now = { ...models };
  const later = [];
  for (const [id, m] of Object.entries(now)) {
    for (const [kind, key] of LATER) {
      if (m?.kind !== kind || m.state?.[key] == null) continue;
      later.push({ id, key, value: m.state[key] });
      now[id] = { ...m, state: { ...m.state, [key]: null } };
    }
  }
  return { now, later };
}

/** A promise that resolves once the next frame is on screen (a task after it). */
function nextFrame() {
  const frame = globalThis.requestAnimationFrame;
  return new Promise((resolve) => (frame ? frame(() => setTimeout(resolve, 0)) : setTimeout(resolve, 0)));
}

/**
 * Unpack the `later` entries (takeLater) into the packed config's `configModels` and set them on
 * the page's `models` (their widgets redraw what reads them). Resolves when all are in.
 */
async function fillLater(later, configModels, models) {
  for (const { id, key, value } of later) {
    const expanded = await expandPacked(value, `${id}.${key}`);
    configModels[id].state = { ...configModels[id].state, [key]: expanded };
    models[id].set(key, reviveBuffers(expanded));
  }
  if (later.length) mark("linlens:later");
}

/**
 * Mount a saved page. `config` = {root: id, models: {id: {kind, state}}, network | networks |
 * bank, chart}. `network` is the payload of engine/responder.js; `bank` the precomputed samples
 * (bankResponder); `chart` (optional) = {series, cursor, xLabel, yLabel, title} for chart.js, drawn
 * into `chartEl`, its cursor following the scrubber's checkpoint. Packed arrays (packing.js) are
 * decoded first, at once (packing.js `expandPackedNow`). A page whose config names what it `carries` instead of holding it reads it with
 * `loadCarried()` (a promise of {network | networks | bank}; boot: the page's data script) after
 * the first frame.
 * Returns {models, cleanup, chart}.
 */
export async function mount(el, packedConfig, chartEl = null, loadCarried = null) {
  // The widgets' state is unpacked first and drawn at once; the carried network (or bank), most
  // of a page's bytes, is read and unpacked after the scatter's first frame (the comparison's
  // first questions wait for it).
  const { network, networks, bank, carries, ...packed } = packedConfig;
  mark("linlens:mount");
  const { now, later } = takeLater(packed.models);
  const shown = { ...packed, models: now };
  // at once: the first frame's few small arrays must not wait on the event loop while the rest
  // of the file is still being read
  const config = expandPackedNow(shown, "page");
  mark("linlens:unpacked");
  const models = {};
  const manager = { get_model: async (id) => models[id] };
  const inline = network || networks || bank ? { network, networks, bank } : null;
  const load = inline ? () => inline : carries?.length ? loadCarried : null;
  if (!inline && carries?.length && !loadCarried) throw new Error("the page carries its network in a data script, but nothing reads it");
  // After the first frame: the thumbnails (the network may read its inputs from them), then the
  // network; `drawn` resolves once the scatter's first frame is on screen.
  let onDrawn;
  const drawn = new Promise((resolve) => (onDrawn = resolve));
  const filled = drawn.then(() => fillLater(later, config.models, models));
  const respond = lazyResponder(load, config.models, filled);
  for (const [id, { state }] of Object.entries(config.models)) {
    models[id] = new PageModel(reviveBuffers(state), { manager, respond });
  }
  const top = config.models[config.root];
  if (!top) throw new Error(`page has no widget ${config.root}`);
  let cleanup = () => {};
  try {
    cleanup = await RENDER[top.kind]({ model: models[config.root], el });
  } catch (e) {
    showError(el, e, "page");
  }
  mark("linlens:rendered");
  firstFrame(el).then(nextFrame).then(onDrawn);
  // a failure to unpack the thumbnails is an unhandled rejection, which the page shows (boot)
  const scrub = config.scrubber ? models[config.scrubber] : null;
  let chart = null;
  if (chartEl && config.chart) {
    chart = renderChart(chartEl, config.chart);
    if (scrub) {
      chart.setCheckpoint(scrub.get("checkpoint"));
      scrub.on("change:checkpoint", () => chart.setCheckpoint(scrub.get("checkpoint")));
    }
    // Presentation size ("Aa" in the comparison) grows the metrics panel's text too.
    const compare = Object.entries(config.models).find(([, m]) => m.kind === "compare");
    if (compare) {
      const cmp = models[compare[0]];
      const onSize = () => chartEl.classList.toggle("is-presentation", Boolean(cmp.get("presentation")));
      cmp.on("change:presentation", onSize);
      onSize();
    }
  }
  return { models, cleanup, chart };
}

/** Shown before every failure of the page itself, so the reader knows the page is broken. */
export const PAGE_ERROR = "This page could not be shown";

/**
 * Read a saved page's embedded state from its `<script type="application/json">` element.
 * The state is strict JSON (missing numbers are `null`); anything else is an error that says
 * what is wrong, never a blank page.
 */
export function readConfig(script) {
  if (!script) throw new Error("the page holds no embedded state (#linlens-config is missing)");
  let config;
  try {
    config = JSON.parse(script.textContent);
  } catch (e) {
    throw new Error(`the page's embedded state is not valid JSON (${e.message}); the file may be damaged, save it again`);
  }
  const models = config?.models;
  if (!models || typeof models !== "object" || Array.isArray(models)) {
    throw new Error("the page's embedded state holds no widgets");
  }
  if (!models[config.root]) throw new Error(`the page's embedded state has no widget ${JSON.stringify(config.root)}`);
  const unknown = Object.values(models).find((m) => !RENDER[m?.kind]);
  if (unknown) throw new Error(`the page's embedded state holds an unknown widget kind ${JSON.stringify(unknown?.kind)}`);
  const carries = config.carries ?? [];
  if (!Array.isArray(carries) || carries.some((k) => !CARRIED.includes(k))) {
    throw new Error(`the page's embedded state says it carries ${JSON.stringify(carries)}; a page carries only ${CARRIED.join(", ")}`);
  }
  return config;
}

/** A promise that resolves once `doc` is parsed (at once when it already is). */
function parsed(doc) {
  if (!doc || doc.readyState !== "loading") return Promise.resolve();
  return new Promise((resolve) => doc.addEventListener("DOMContentLoaded", () => resolve(), { once: true }));
}

/**
 * Read what a saved page carries for the comparison (`carries`, e.g. ["network"]) from its
 * `<script class="linlens-data" type="application/json">` elements (one JSON text cut into 64 KiB
 * pieces, which Chromium parses faster than one large element), placed after the boot script so
 * that the first scatter never waits for the file's largest part: once `doc` is parsed, the
 * parsed {network | networks | bank}. A missing, damaged or different data script is an error that
 * says so.
 */
export async function readCarried(doc, carries) {
  await parsed(doc);
  const parts = Array.from(doc.querySelectorAll("script.linlens-data"));
  if (!parts.length) throw new Error("the page holds no network data (its linlens-data scripts are missing): the file may be cut short, save it again");
  let data;
  try {
    data = JSON.parse(parts.map((p) => p.textContent).join(""));
  } catch (e) {
    throw new Error(`the page's network data is not valid JSON (${e.message}); the file may be damaged, save it again`);
  }
  const held = data && typeof data === "object" && !Array.isArray(data) ? Object.keys(data).sort() : [];
  if (held.join() !== [...carries].sort().join()) {
    throw new Error(`the page's network data holds ${JSON.stringify(held)}, but its state says ${JSON.stringify(carries)}; the file may be damaged, save it again`);
  }
  return data;
}

/** A saved page's whole packed config, its state and its data script merged (tests, tools). */
export async function readPage(doc) {
  const { carries, ...config } = readConfig(doc.getElementById("linlens-config"));
  return carries?.length ? { ...config, ...(await readCarried(doc, carries)) } : config;
}

/** Show a failure of the page in the page itself (not only in the console). */
export function showPageError(el, err) {
  ensureStyle(el.ownerDocument ?? document);
  return showError(el, err, PAGE_ERROR);
}

/**
 * Start a saved page: read its state, mount it, and show any failure, at start or later (an
 * uncaught error or rejected promise of the page), as a visible message above the widgets.
 * Returns {models, cleanup}; the models are empty when the page could not start.
 */
export async function boot(el, script, chartEl = null) {
  const win = el.ownerDocument?.defaultView;
  win?.addEventListener("error", (ev) => showPageError(el, ev.error ?? ev.message));
  win?.addEventListener("unhandledrejection", (ev) => showPageError(el, ev.reason));
  try {
    const config = readConfig(script);
    const doc = el.ownerDocument ?? document;
    return await mount(el, config, chartEl, () => readCarried(doc, config.carries ?? []));
  } catch (e) {
    showPageError(el, e);
    return { models: {}, cleanup: () => {} };
  }
}

export default { mount, boot };

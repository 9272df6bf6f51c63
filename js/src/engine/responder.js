/**
 * Answer the comparison's messages locally, from a network carried with the page or the widget.
 *
 * The comparison asks for data with custom messages (contract.json "messages"); a kernel answers
 * them in a notebook. When the network is portable (linlens_widgets.lens.portable), the same
 * answers can be computed here, without a kernel: a saved page has none, and a live notebook's
 * kernel may be busy running another cell. This module is the one place that does it:
 *
 *   fetch {sample, checkpoint}            -> sample {sample, checkpoint, label, predicted,
 *                                             arrays: input[D], weight[C,D], bias[C]?, output[C]}
 *                                             (W_eff computed by the engine, js/src/engine/chain.js)
 *   fetch_probe_mean {checkpoint}         -> probe_mean {checkpoint, arrays: mean[C,D]}
 *   fetch_neighbors {sample, checkpoint, k, similarity} -> neighbors {sample, checkpoint,
 *                                             similarity, agreement, arrays: index[k] int32,
 *                                             similarity[k] float32, label[k] int32,
 *                                             input[k, D] float32}  (similarity "centred" or
 *                                             "raw": the table of that cosine)
 *
 * The last two are answered only when the payload stores the tables (a saved page does); otherwise
 * the message goes on to the kernel. One sample's W_eff for the 784-256-256-10 MLP takes a few
 * milliseconds, well inside a frame, so it runs on the calling thread.
 *
 * The payload (`_network` of a WeightCompare, `network` of a saved page's config):
 *   {spec, weights: [[array per spec.arrays] per checkpoint], inputs: [N, D] (uint8 or float32),
 *    input_scale, input_normalize?: {mean: [C], std: [C]} (uint8 pixels of normalised inputs, see
 *    normalizedInput), labels: [N] int32, probe_mean?: [E, C, D], neighbors?: {index: [E, N, k],
 *    similarity: [E, N, k]}, neighbors_raw? (the same under the raw cosine),
 *    patterns?: {checkpoint, sample, op, unit, active: [M]}}
 * where each array is {view|b64, dtype, shape} and dtype may be float16. `patterns` lists the ReLU
 * units whose state the stored weights would get wrong (lens/pattern_corrections.py): the engine
 * uses the float32 network's state for them.
 */
import { base64ToDataView, decodeArray } from "../codecs.js";
import { effectiveWeights } from "./chain.js";
import { decodeNetwork, halfToFloat32 } from "./network.js";

const ANSWERED = new Set(["fetch", "fetch_probe_mean", "fetch_neighbors"]);

/** Which cosine a fetch_neighbors asks for: "raw", or "centred" (the default). */
export function neighbourKind(msg) {
  return msg?.similarity === "raw" ? "raw" : "centred";
}

function bytesOf(obj, name) {
  const source = obj?.view ?? obj?.buffer ?? (typeof obj?.b64 === "string" ? base64ToDataView(obj.b64) : null);
  if (!source) throw new TypeError(`${name}: no binary data`);
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
}

/** Decode {view|b64, dtype, shape} into {data, shape}; float16 is widened to float32. */
export function decodeStored(obj, name = "array") {
  if (obj === null || obj === undefined) return null;
  if (obj.dtype !== "float16") return decodeArray(obj, name);
  const bytes = bytesOf(obj, name);
  const n = obj.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== 2 * n) throw new TypeError(`${name}: ${bytes.byteLength} bytes do not match float16 [${obj.shape}]`);
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return { data: halfToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, n)), shape: Array.from(obj.shape), dtype: "float32" };
}

/** Index the pinned ReLU states by checkpoint * N + sample -> Map(op -> [[unit, active], ...]). */
export function pinnedStates(patterns, N) {
  const out = new Map();
  if (!patterns) return out;
  const col = (k) => decodeArray(patterns[k], `patterns.${k}`).data;
  const [e, s, op, unit, active] = ["checkpoint", "sample", "op", "unit", "active"].map(col);
  for (let m = 0; m < e.length; m++) {
    const key = e[m] * N + s[m];
    if (!out.has(key)) out.set(key, new Map());
    const ops = out.get(key);
    if (!ops.has(op[m])) ops.set(op[m], []);
    ops.get(op[m]).push([unit[m], active[m]]);
  }
  return out;
}

function view(typed) {
  return new DataView(typed.buffer, typed.byteOffset, typed.byteLength);
}

function pack(named) {
  const arrays = [];
  const buffers = [];
  for (const [name, [data, shape]] of Object.entries(named)) {
    if (!data) continue;
    arrays.push({ name, dtype: data instanceof Int32Array ? "int32" : "float32", shape });
    buffers.push(view(data));
  }
  return { arrays, buffers };
}

/**
 * The inverse of the page's uint8 coding of normalised inputs: `(code / 255 - mean[c]) / std[c]`
 * in float32 steps, as ToTensor and Normalize compute it (each step rounded to float32, so the
 * sample is the network's input bit for bit); null without `input_normalize`.
 */
export function normalizedInput(normalize, D) {
  if (!normalize) return null;
  const mean = normalize.mean.map(Math.fround);
  const std = normalize.std.map(Math.fround);
  const plane = D / mean.length;
  return (codes) => {
    const x = new Float32Array(D);
    for (let j = 0; j < D; j++) {
      const c = Math.floor(j / plane);
      x[j] = Math.fround(Math.fround(codes[j] / 255) - mean[c]) / std[c];
    }
    return x;
  };
}

/**
 * Build a responder over a network payload.
 *
 * @param {object} payload - as in the module comment.
 * @returns {{nCheckpoints: number, nSamples: number, canAnswer: (msg) => boolean,
 *   respond: (msg) => ({content: object, buffers: DataView[]} | null)}}
 *   respond returns null for a message it does not answer, and an `error` message for a bad one.
 */
export function createResponder(payload) {
  if (!payload?.spec || !Array.isArray(payload.weights)) throw new TypeError("network payload needs spec and weights");
  const inputs = decodeArray(payload.inputs, "inputs");
  const [N, D] = inputs.shape;
  if (D !== payload.spec.n_inputs) throw new TypeError(`inputs have ${D} values per sample, the network takes ${payload.spec.n_inputs}`);
  const scale = payload.input_scale ?? 1;
  const labels = decodeArray(payload.labels, "labels");
  const E = payload.weights.length;
  const C = payload.spec.n_outputs;
  const networks = new Map();
  const pinned = pinnedStates(payload.patterns, N);
  let means = null;
  const tables = {};

  const network = (e) => {
    if (!networks.has(e)) {
      const arrays = payload.weights[e].map((a, i) => bytesOf(a, `checkpoint ${e} array ${i}`));
      networks.set(e, decodeNetwork(payload.spec, arrays));
    }
    return networks.get(e);
  };
  const rebuild = normalizedInput(payload.input_normalize, D);
  const inputOf = (s) => {
    if (rebuild) return rebuild(inputs.data.subarray(s * D, (s + 1) * D));
    const x = new Float32Array(D);
    for (let j = 0; j < D; j++) x[j] = inputs.data[s * D + j] * scale;
    return x;
  };
  const check = (msg) => {
    const e = msg.checkpoint;
    if (!Number.isInteger(e) || e < 0 || e >= E) throw new RangeError(`checkpoint ${e} is outside 0..${E - 1}`);
    if ("sample" in msg && !(Number.isInteger(msg.sample) && msg.sample >= 0 && msg.sample < N)) {
      throw new RangeError(`sample ${msg.sample} is outside 0..${N - 1}`);
    }
  };

  const weightOf = (e, s) => effectiveWeights(network(e), inputOf(s), pinned.get(e * N + s) ?? null).weight;
  const rawCosine = (e, a, b) => {
    const wa = weightOf(e, a);
    const wb = weightOf(e, b);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < wa.length; j++) {
      dot += wa[j] * wb[j];
      na += wa[j] * wa[j];
      nb += wb[j] * wb[j];
    }
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN;
  };

  const answers = {
    fetch(msg) {
      const x = inputOf(msg.sample);
      const r = effectiveWeights(network(msg.checkpoint), x, pinned.get(msg.checkpoint * N + msg.sample) ?? null);
      const { arrays, buffers } = pack({ input: [x, [D]], weight: [r.weight, [C, D]], bias: [r.bias, [C]], output: [r.output, [C]] });
      const content = { type: "sample", sample: msg.sample, checkpoint: msg.checkpoint, label: labels.data[msg.sample], predicted: r.predicted, arrays };
      return { content, buffers };
    },
    fetch_probe_mean(msg) {
      means ??= decodeStored(payload.probe_mean, "probe_mean");
      const n = C * D;
      const mean = Float32Array.from(means.data.subarray(msg.checkpoint * n, (msg.checkpoint + 1) * n));
      const { arrays, buffers } = pack({ mean: [mean, [C, D]] });
      return { content: { type: "probe_mean", checkpoint: msg.checkpoint, arrays }, buffers };
    },
    fetch_neighbors(msg) {
      const kind = neighbourKind(msg);
      const key = kind === "raw" ? "neighbors_raw" : "neighbors";
      if (!payload[key]) throw new Error(`this page stores no ${kind}-cosine neighbour list (left out to fit its size budget)`);
      tables[kind] ??= { index: decodeArray(payload[key].index, `${key}.index`), similarity: decodeStored(payload[key].similarity, `${key}.similarity`) };
      const table = tables[kind];
      const stored = table.index.shape[2];
      const k = Math.max(0, Math.min(Number.isInteger(msg.k) ? msg.k : stored, stored));
      const start = (msg.checkpoint * N + msg.sample) * stored;
      const index = Int32Array.from(table.index.data.subarray(start, start + k));
      // A table stored without similarities (the raw one, to keep the page small): the engine
      // computes the k cosines from A's and each neighbour's W_eff.
      const similarity = table.similarity
        ? Float32Array.from(table.similarity.data.subarray(start, start + k))
        : Float32Array.from(index, (s) => rawCosine(msg.checkpoint, msg.sample, s));
      const own = labels.data[msg.sample];
      const agreement = k ? index.reduce((n, i) => n + (labels.data[i] === own ? 1 : 0), 0) / k : null;
      const label = Int32Array.from(index, (i) => labels.data[i]);
      const input = new Float32Array(k * D);
      index.forEach((s, j) => input.set(inputOf(s), j * D));
      const { arrays, buffers } = pack({ index: [index, [k]], similarity: [similarity, [k]], label: [label, [k]], input: [input, [k, D]] });
      return { content: { type: "neighbors", sample: msg.sample, checkpoint: msg.checkpoint, similarity: kind, agreement, arrays }, buffers };
    },
  };

  const canAnswer = (msg) => {
    if (!msg || !ANSWERED.has(msg.type)) return false;
    if (msg.type === "fetch_probe_mean") return Boolean(payload.probe_mean);
    // a page with the centred table answers every neighbour question (an error says when it
    // left the raw one out); a payload without tables leaves them to the kernel
    if (msg.type === "fetch_neighbors") return Boolean(payload.neighbors);
    return true;
  };

  const respond = (msg) => {
    if (!canAnswer(msg)) return null;
    try {
      check(msg);
      return answers[msg.type](msg);
    } catch (err) {
      const content = { type: "error", checkpoint: msg.checkpoint, message: String(err?.message ?? err) };
      if ("sample" in msg) content.sample = msg.sample;
      return { content, buffers: [] };
    }
  };
  return { nCheckpoints: E, nSamples: N, canAnswer, respond };
}

/**
 * Wrap an anywidget model so that the messages the local engine can answer never reach the kernel.
 *
 * Reads the model's `_network` payload, now or when it arrives later (a live widget's kernel
 * sends it after the first frame, `_network_pending`); while there is none the kernel answers
 * everything, and a model that will never have one is returned unchanged. Replies arrive as
 * `msg:custom` events on a later task, like a kernel's; everything else
 * (get/set/on/off/save_changes, other messages) goes to the model.
 *
 * @param {object} model - the anywidget model.
 * @returns {object} the model, or a wrapper with the same surface.
 */
export function withLocalResponder(model) {
  if (!model?.get?.("_network") && !model?.get?.("_network_pending")) return model;
  let responder = null;
  const listeners = new Set();
  const local = () => {
    if (!responder) {
      const payload = model.get("_network");
      responder = payload ? createResponder(payload) : false;
    }
    return responder || null;
  };
  model.on("change:_network", () => {
    responder = null;
  });
  return {
    get: (name) => model.get(name),
    set: (name, value) => model.set(name, value),
    save_changes: () => model.save_changes(),
    get widget_manager() {
      return model.widget_manager;
    },
    on(event, fn) {
      if (event === "msg:custom") listeners.add(fn);
      model.on(event, fn);
    },
    off(event, fn) {
      if (!event || event === "msg:custom") {
        if (fn) listeners.delete(fn);
        else listeners.clear();
      }
      model.off(event, fn);
    },
    send(content, callbacks, buffers) {
      const reply = local()?.respond(content);
      if (!reply) return model.send(content, callbacks, buffers);
      setTimeout(() => {
        for (const fn of [...listeners]) fn(reply.content, reply.buffers);
      }, 0);
      return undefined;
    },
  };
}

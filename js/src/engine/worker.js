/**
 * The engine's message protocol, served by a Web Worker or, where none can start, the main thread.
 *
 * Messages in (all carry a numeric `request`, echoed in the reply):
 *   {type: "load", network: id, spec, arrays, warm?}      -> {type: "loaded", network}
 *        (unless warm is false, one computation on a constant input warms the JIT up)
 *   {type: "inputs", inputs: id, data, shape: [N, D], scale?}  -> {type: "loaded", inputs}
 *   {type: "compute", network: id, inputs?: id, sample?: i, x?: Float32Array}
 *        -> {type: "result", network, sample, weight, bias, output, predicted, ms}
 *           (weight C × D, bias C or null, output C: Float32Arrays, transferable)
 *   anything that fails -> {type: "error", message}
 * Stored inputs may be uint8 (or any typed array); sample i is data[i*D .. (i+1)*D] times `scale`
 * (default 1), rounded to float32.
 *
 * Built on its own (build.mjs) as a classic-worker script, engine-worker.js, that a page can start
 * from a Blob URL, which works on file:// pages where module workers may not.
 */

import { effectiveWeights } from "./chain.js";
import { decodeNetwork } from "./network.js";

/** A fresh engine state: decoded networks and stored inputs by id. */
export function createState() {
  return { networks: new Map(), inputs: new Map() };
}

function sampleInput(state, msg) {
  if (msg.x) return msg.x instanceof Float32Array ? msg.x : Float32Array.from(msg.x);
  const stored = state.inputs.get(msg.inputs);
  if (!stored) throw new Error(`no inputs loaded under ${JSON.stringify(msg.inputs)}`);
  const [n, d] = stored.shape;
  const i = msg.sample;
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`sample ${i} is outside 0..${n - 1}`);
  const x = new Float32Array(d);
  const { data, scale } = stored;
  for (let j = 0; j < d; j++) x[j] = data[i * d + j] * scale;
  return x;
}

/**
 * Handle one message; returns `{reply, transfer}` (the buffers that may be transferred).
 *
 * @param {object} state - from createState.
 * @param {object} msg - a message as above.
 */
export function handleMessage(state, msg) {
  const request = msg?.request;
  try {
    if (msg.type === "load") {
      const net = decodeNetwork(msg.spec, msg.arrays);
      // one pass on a constant input gets the JIT going, so the first click is not the slow one
      if (msg.warm !== false) effectiveWeights(net, new Float32Array(net.inputSize).fill(1));
      state.networks.set(msg.network, net);
      return { reply: { type: "loaded", request, network: msg.network }, transfer: [] };
    }
    if (msg.type === "inputs") {
      const [n, d] = msg.shape ?? [];
      if (!(n >= 0 && d > 0) || msg.data.length !== n * d) {
        throw new RangeError(`inputs: ${msg.data?.length} values do not fill shape [${msg.shape}]`);
      }
      state.inputs.set(msg.inputs, { data: msg.data, shape: [n, d], scale: msg.scale ?? 1 });
      return { reply: { type: "loaded", request, inputs: msg.inputs }, transfer: [] };
    }
    if (msg.type === "compute") {
      const net = state.networks.get(msg.network);
      if (!net) throw new Error(`no network loaded under ${JSON.stringify(msg.network)}`);
      const start = typeof performance !== "undefined" ? performance.now() : Date.now();
      const result = effectiveWeights(net, sampleInput(state, msg));
      const ms = (typeof performance !== "undefined" ? performance.now() : Date.now()) - start;
      const reply = { type: "result", request, network: msg.network, sample: msg.sample ?? null, ...result, ms };
      const transfer = [result.weight.buffer, result.output.buffer];
      if (result.bias) transfer.push(result.bias.buffer);
      return { reply, transfer };
    }
    throw new Error(`unknown message type ${JSON.stringify(msg?.type)}`);
  } catch (err) {
    return { reply: { type: "error", request, message: String(err?.message ?? err) }, transfer: [] };
  }
}

// Inside a worker: answer messages on this thread.
if (typeof self !== "undefined" && typeof window === "undefined" && typeof self.postMessage === "function") {
  const state = createState();
  self.onmessage = (event) => {
    const { reply, transfer } = handleMessage(state, event.data);
    self.postMessage(reply, transfer);
  };
}

/**
 * The engine as the page and the widget use it: promises in, Float32Arrays out.
 *
 * `createEngine({workerSource})` starts a classic Web Worker from the bundled worker script (a
 * string, turned into a Blob URL, so it also runs from file:// pages) and computes off the main
 * thread. Where Workers are missing or refuse to start, or the worker fails, it computes on the main
 * thread with the same code, and `engine.reason` says why; `engine.mode` is "worker" or "main".
 */

import { createState, handleMessage } from "./worker.js";

function startWorker({ workerSource, workerUrl }) {
  if (typeof Worker === "undefined") return { reason: "Web Workers are not available here" };
  if (!workerSource && !workerUrl) return { reason: "no worker script was given" };
  let url = workerUrl;
  try {
    if (workerSource) url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
    return { worker: new Worker(url), url: workerSource ? url : null };
  } catch (err) {
    return { reason: `the worker could not start (${err?.message ?? err})` };
  }
}

/**
 * Create an engine.
 *
 * @param {object} [options]
 * @param {string} [options.workerSource] - text of the built engine-worker.js (classic script).
 * @param {string} [options.workerUrl] - or the URL of that script.
 * @param {boolean} [options.worker=true] - false: always compute on the main thread.
 * @returns {{mode: string, reason: string, load: Function, loadInputs: Function,
 *   compute: Function, close: Function}}
 */
export function createEngine(options = {}) {
  const state = createState();
  const sources = []; // every load/inputs message, to replay on the main thread after a worker failure
  const pending = new Map();
  let nextRequest = 1;
  const started = options.worker === false ? { reason: "the main thread was asked for" } : startWorker(options);
  const engine = { mode: started.worker ? "worker" : "main", reason: started.reason ?? "" };
  let worker = started.worker ?? null;

  const local = (msg) => {
    const { reply } = handleMessage(state, msg);
    return reply;
  };
  const settle = (reply) => {
    const entry = pending.get(reply.request);
    if (!entry) return;
    pending.delete(reply.request);
    if (reply.type === "error") entry.reject(new Error(reply.message));
    else entry.resolve(reply);
  };
  const fallBack = (why) => {
    if (!worker) return;
    worker.terminate();
    worker = null;
    if (started.url) URL.revokeObjectURL(started.url);
    engine.mode = "main";
    engine.reason = `the worker failed (${why}); computing on the main thread`;
    for (const msg of sources) local(msg);
    for (const [, entry] of pending) settle(local(entry.msg));
  };
  if (worker) {
    worker.onmessage = (event) => settle(event.data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      fallBack(event.message || "error");
    };
  }

  const send = (msg, transfer = []) => {
    const request = nextRequest++;
    const full = { ...msg, request };
    if (!worker) {
      const reply = local(full);
      return reply.type === "error" ? Promise.reject(new Error(reply.message)) : Promise.resolve(reply);
    }
    return new Promise((resolve, reject) => {
      pending.set(request, { resolve, reject, msg: full });
      worker.postMessage(full, transfer);
    });
  };

  /** Load a network (spec + arrays from to_arrays) under an id. */
  engine.load = (network, spec, arrays) => {
    const msg = { type: "load", network, spec, arrays };
    sources.push(msg);
    return send(msg);
  };
  /** Store inputs (N × D typed array, times `scale`) under an id, for compute by sample index. */
  engine.loadInputs = (inputs, data, shape, scale = 1) => {
    const msg = { type: "inputs", inputs, data, shape, scale };
    sources.push(msg);
    return send(msg);
  };
  /** Compute one sample: {network, inputs, sample} or {network, x}; resolves to the result. */
  engine.compute = (request) => send({ type: "compute", ...request });
  /** Stop the worker. */
  engine.close = () => {
    worker?.terminate();
    worker = null;
    if (started.url) URL.revokeObjectURL(started.url);
  };
  return engine;
}

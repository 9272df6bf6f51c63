/**
 * The engine for a comparison across two runs (the sweep page): two networks, one per run, each
 * with its probe (the same samples) and its own checkpoints aligned on the page's common epoch
 * axis. Sample s < N is run A's, N + s is run B's copy of it, as in the notebook's `RunPair`.
 *
 * A sample's W_eff is computed by its own run's engine; the probe mean is the mean over both runs'
 * N samples (the mean of the two runs' means), as the kernel centres a pair; the W_eff-space
 * neighbours of a sample are found among its own run's samples (numbered as the page numbers
 * them: + N for run B).
 */
import { decodeMessageArrays } from "../codecs.js";
import { createResponder } from "./responder.js";

function viewOf(data) {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Build the responder of a run pair.
 *
 * @param {object[]} payloads - the two runs' network payloads (engine/responder.js), whose
 *   checkpoint k is position k of the common axis.
 * @returns {{nSamples: number, respond: (msg) => ({content, buffers} | null)}}
 */
export function createPairResponder(payloads) {
  if (!Array.isArray(payloads) || payloads.length !== 2) throw new TypeError("a run pair needs two network payloads");
  const [a, b] = payloads.map(createResponder);
  if (a.nSamples !== b.nSamples) throw new TypeError(`the runs' probes differ (${a.nSamples} vs ${b.nSamples} samples)`);
  if (a.nCheckpoints !== b.nCheckpoints) throw new TypeError("the runs are not aligned on one axis");
  const N = a.nSamples;
  const owner = (s) => (s >= N ? [b, s - N, N] : [a, s, 0]);

  const renumber = (reply, sample, offset) => {
    if (!reply) return reply;
    const content = { ...reply.content };
    if ("sample" in content) content.sample = sample;
    if (content.type !== "neighbors" || !offset) return { content, buffers: reply.buffers };
    const arrays = decodeMessageArrays(content, reply.buffers);
    const index = Int32Array.from(arrays.index.data, (i) => i + offset);
    const buffers = content.arrays.map((spec, j) => (spec.name === "index" ? viewOf(index) : reply.buffers[j]));
    return { content, buffers };
  };

  const probeMean = (msg) => {
    const [ra, rb] = [a.respond(msg), b.respond(msg)];
    if (!ra || !rb || ra.content.type !== "probe_mean" || rb.content.type !== "probe_mean") return ra?.content.type === "error" ? ra : rb;
    const ma = decodeMessageArrays(ra.content, ra.buffers).mean.data;
    const mb = decodeMessageArrays(rb.content, rb.buffers).mean.data;
    const mean = Float32Array.from(ma, (v, i) => 0.5 * (v + mb[i]));
    return { content: ra.content, buffers: [viewOf(mean)] };
  };

  const respond = (msg) => {
    if (msg?.type === "fetch_probe_mean") return probeMean(msg);
    if (msg?.type !== "fetch" && msg?.type !== "fetch_neighbors") return null;
    if (!(Number.isInteger(msg.sample) && msg.sample >= 0 && msg.sample < 2 * N)) {
      return { content: { type: "error", sample: msg.sample, checkpoint: msg.checkpoint, message: `sample ${msg.sample} is outside 0..${2 * N - 1}` }, buffers: [] };
    }
    const [engine, local, offset] = owner(msg.sample);
    return renumber(engine.respond({ ...msg, sample: local }), msg.sample, offset);
  };
  return { nSamples: 2 * N, respond };
}

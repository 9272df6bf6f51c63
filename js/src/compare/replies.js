/**
 * What the comparison has asked the host (the kernel or the page's engine) and what it answered:
 * each sample's W_eff at a checkpoint, the probe mean and class means at a checkpoint, and a
 * sample's W_eff-space neighbours per similarity. Requests are sent once; errors become notices
 * that name what could not be computed; replies are kept in a bounded cache.
 */
import { decodeMessageArrays } from "../codecs.js";
import { message } from "../contract.js";

/** How long the comparison waits for a probe mean after the host's last reply (ms). */
export const MEAN_WAIT_MS = 4000;

/** Key of a (sample, checkpoint) pair in the client cache. */
export const cacheKey = (sample, checkpoint) => `${sample}:${checkpoint}`;

/** Key of a sample's neighbours at a checkpoint under a similarity ("centred" or "raw"). */
const nbKey = (kind, sample, checkpoint) => `${kind}:${cacheKey(sample, checkpoint)}`;

/**
 * The replies of one comparison widget on `model`. `changed()` is called whenever something
 * arrives (or a wait gives up); timers go into `bag`. `nCheckpoints()` sizes the cache under
 * the "all checkpoints" scale.
 */
export function createReplies(model, bag, changed, nCheckpoints) {
  const cache = new Map();
  const pending = new Set();
  const notices = new Map();
  let classMeans = new Map();
  let probeMeans = new Map();
  let neighbours = new Map();
  let lastReply = performance.now();

  function ask(key, msg) {
    if (pending.has(key) || notices.has(key)) return;
    pending.add(key);
    model.send(msg);
  }

  // A host that never answers for the probe mean (a page without it) must not leave the
  // comparison waiting: after MEAN_WAIT_MS without any reply, it shows the raw cosine and says so;
  // a mean that arrives later replaces it.
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
      changed();
    };
    bag.add(clearTimeout.bind(null, setTimeout(check, MEAN_WAIT_MS)));
  }

  function onSample(msg, buffers) {
    pending.delete(cacheKey(msg.sample, msg.checkpoint));
    cache.set(cacheKey(msg.sample, msg.checkpoint), { ...msg, ...decodeMessageArrays(msg, buffers) });
    const operands = (model.get("a")?.length ?? 0) + (model.get("b")?.length ?? 0);
    const perCheckpoint = model.get("scale") === "run" ? nCheckpoints() : 1;
    const limit = Math.max(400, 2 * (operands * perCheckpoint + (model.get("k") ?? 0)));
    while (cache.size > limit) cache.delete(cache.keys().next().value);
  }

  function onNeighbours(msg, buffers) {
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
  }

  // An error names the checkpoint, and the sample when it was about one: it answers every
  // request of that kind still waiting.
  function onError(msg) {
    const text = msg.message ?? "the kernel could not compute this";
    const keys = [...pending].filter((key) => {
      if (msg.sample === undefined || msg.sample === null) return key === `means:${msg.checkpoint}` || key === `mean:${msg.checkpoint}`;
      return key === cacheKey(msg.sample, msg.checkpoint) || key.startsWith(`nb:${msg.sample}:${msg.checkpoint}:`);
    });
    for (const key of keys) {
      pending.delete(key);
      notices.set(key, text);
    }
  }

  /** Take in one host message (its arrays in `buffers`); true when it was a reply. */
  function receive(msg, buffers) {
    if (!msg || typeof msg !== "object") return false;
    lastReply = performance.now();
    if (msg.type === "sample") onSample(msg, buffers);
    else if (msg.type === "class_means") {
      pending.delete(`means:${msg.checkpoint}`);
      classMeans.set(msg.checkpoint, decodeMessageArrays(msg, buffers).means);
    } else if (msg.type === "probe_mean") {
      pending.delete(`mean:${msg.checkpoint}`);
      notices.delete(`mean:${msg.checkpoint}`);
      probeMeans.set(msg.checkpoint, decodeMessageArrays(msg, buffers).mean);
    } else if (msg.type === "neighbors") onNeighbours(msg, buffers);
    else if (msg.type === "error") onError(msg);
    else return false;
    return true;
  }

  return {
    receive,
    /** Ask for sample s at checkpoint e unless it is cached (or asked, or known to fail). */
    request(s, e) {
      if (!cache.has(cacheKey(s, e))) ask(cacheKey(s, e), message("fetch", { sample: s, checkpoint: e }));
    },
    requestMeans(e) {
      if (!classMeans.has(e)) ask(`means:${e}`, message("fetch_class_means", { checkpoint: e }));
    },
    requestProbeMean,
    /** Ask for k neighbours of `sample` under `similarity` (each similarity has its own list). */
    requestNeighbours(sample, e, k, similarity) {
      const have = neighbours.get(nbKey(similarity, sample, e));
      if (have && have.index.length >= Math.min(k, (model.get("_n_samples") ?? 0) - 1)) return;
      ask(`nb:${sample}:${e}:${similarity}:${k}`, message("fetch_neighbors", { sample, checkpoint: e, k, similarity }));
    },
    sample: (s, e) => cache.get(cacheKey(s, e)),
    notice: (key) => notices.get(key),
    probeMean: (e) => probeMeans.get(e),
    classMeans: (e) => classMeans.get(e),
    neighbours: (kind, s, e) => neighbours.get(nbKey(kind, s, e)),
    /** The notice of a failed neighbour request of sample s at e under `kind`; undefined if none. */
    neighbourNotice(s, e, kind) {
      return [...notices.entries()].find(([key]) => key.startsWith(`nb:${s}:${e}:${kind}:`))?.[1];
    },
    /** The host's data changed (a new run or trajectory): forget everything. */
    reset() {
      cache.clear();
      pending.clear();
      notices.clear();
      classMeans = new Map();
      probeMeans = new Map();
      neighbours = new Map();
    },
  };
}

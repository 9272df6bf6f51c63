import { describe, expect, it } from "vitest";
import { FORMAT } from "../src/engine/index.js";
import { createResponder, withLocalResponder } from "../src/engine/responder.js";
import { logTicks, seriesColors, ticks } from "../src/chart.js";
import { createPairResponder } from "../src/engine/pair.js";
import { CONTRACT } from "../src/contract.js";
import { PageModel } from "../src/page.js";

const enc = (data, shape, dtype) => ({ view: new DataView(data.buffer), dtype, shape });
const floats = (v) => Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4));

// One linear layer 2 -> 2 without bias, two checkpoints (identity, then doubled), 3 uint8 inputs.
function payload({ tables = true } = {}) {
  const spec = {
    format: FORMAT, dtype: "float32", input_shape: [2], n_inputs: 2, n_outputs: 2, has_bias: false,
    ops: [{ op: "linear", in_shape: [2], out_shape: [2], weight: 0, bias: null }],
    arrays: [{ shape: [2, 2], dtype: "float32" }],
  };
  const w = (k) => enc(new Float32Array([k, 0, 0, k]), [2, 2], "float32");
  const out = {
    spec,
    weights: [[w(1)], [w(2)]],
    inputs: enc(new Uint8Array([0, 16, 16, 0, 8, 8]), [3, 2], "uint8"),
    input_scale: 1 / 16,
    labels: enc(new Int32Array([1, 0, 0]), [3], "int32"),
  };
  if (tables) {
    out.probe_mean = enc(new Float32Array([1, 0, 0, 1, 2, 0, 0, 2]), [2, 2, 2], "float32");
    out.neighbors = {
      index: enc(new Int16Array([1, 2, 2, 0, 1, 0, 2, 1, 0, 2, 1, 0]), [2, 3, 2], "int16"),
      // float16 bit patterns: 1.0 = 0x3c00, 0.5 = 0x3800
      similarity: enc(new Uint16Array(12).fill(0x3800).map((v, i) => (i % 2 ? v : 0x3c00)), [2, 3, 2], "float16"),
    };
  }
  return out;
}

describe("local responder", () => {
  it("computes W_eff, output, label and predicted class of any sample", () => {
    const r = createResponder(payload());
    const { content, buffers } = r.respond({ type: "fetch", sample: 0, checkpoint: 1 });
    expect(content).toMatchObject({ type: "sample", sample: 0, checkpoint: 1, label: 1, predicted: 1 });
    const named = Object.fromEntries(content.arrays.map((a, i) => [a.name, floats(buffers[i])]));
    expect(named.input).toEqual([0, 1]);
    expect(named.weight).toEqual([2, 0, 0, 2]);
    expect(named.output).toEqual([0, 2]);
    expect(named.bias).toBeUndefined();
  });

  it("answers probe means and neighbours from the stored tables", () => {
    const r = createResponder(payload());
    const m = r.respond({ type: "fetch_probe_mean", checkpoint: 1 });
    expect(floats(m.buffers[0])).toEqual([2, 0, 0, 2]);
    const n = r.respond({ type: "fetch_neighbors", sample: 1, checkpoint: 0, k: 5 });
    expect(n.content.arrays.map((a) => [a.name, a.shape])).toEqual([["index", [2]], ["similarity", [2]], ["label", [2]], ["input", [2, 2]]]);
    expect(Array.from(new Int32Array(n.buffers[0].buffer))).toEqual([2, 0]);
    expect(floats(n.buffers[1])).toEqual([1, 0.5]);
    expect(n.content.agreement).toBe(0.5); // label 0: neighbour 2 agrees, 0 does not
    // the thumbnails' labels and images come along, so the row needs no fetch per neighbour
    expect(Array.from(new Int32Array(n.buffers[2].buffer))).toEqual([0, 1]);
    expect(floats(n.buffers[3])).toEqual([0.5, 0.5, 0, 1]);
  });

  it("answers raw-cosine neighbours from the raw table, and says when it has none", () => {
    const withRaw = payload();
    // indices only: the engine computes the raw cosines it shows from W_eff
    withRaw.neighbors_raw = { index: enc(new Int16Array([2, 1, 0, 2, 0, 1, 1, 2, 2, 0, 0, 1]), [2, 3, 2], "int16") };
    const r = createResponder(withRaw);
    const raw = r.respond({ type: "fetch_neighbors", sample: 1, checkpoint: 0, k: 2, similarity: "raw" });
    expect(raw.content.similarity).toBe("raw");
    expect(Array.from(new Int32Array(raw.buffers[0].buffer))).toEqual([0, 2]);
    // a linear network: every sample's W_eff is the weight itself, so each raw cosine is 1
    expect(floats(raw.buffers[1])).toEqual([1, 1]);
    const centred = r.respond({ type: "fetch_neighbors", sample: 1, checkpoint: 0, k: 2, similarity: "centred" });
    expect(centred.content.similarity).toBe("centred");
    expect(Array.from(new Int32Array(centred.buffers[0].buffer))).toEqual([2, 0]);
    // a page that left the raw table out says so instead of leaving the row waiting
    const none = createResponder(payload()).respond({ type: "fetch_neighbors", sample: 1, checkpoint: 0, k: 2, similarity: "raw" });
    expect(none.content).toMatchObject({ type: "error", sample: 1 });
    expect(none.content.message).toMatch(/no raw-cosine neighbour list/);
  });

  it("leaves what it cannot answer to the kernel and reports bad requests", () => {
    const r = createResponder(payload({ tables: false }));
    expect(r.respond({ type: "fetch_probe_mean", checkpoint: 0 })).toBeNull();
    expect(r.respond({ type: "fetch_class_means", checkpoint: 0 })).toBeNull();
    const bad = r.respond({ type: "fetch", sample: 9, checkpoint: 0 });
    expect(bad.content).toMatchObject({ type: "error", sample: 9 });
    expect(bad.content.message).toMatch(/outside 0..2/);
  });

  it("wraps a model: local answers as msg:custom, the rest to the kernel", async () => {
    const sent = [];
    const model = new PageModel({ _network: payload({ tables: false }) });
    model.send = (content) => sent.push(content);
    const local = withLocalResponder(model);
    const got = [];
    local.on("msg:custom", (msg) => got.push(msg.type));
    local.send({ type: "fetch", sample: 2, checkpoint: 0 });
    local.send({ type: "fetch_probe_mean", checkpoint: 0 });
    expect(sent.map((m) => m.type)).toEqual(["fetch_probe_mean"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual(["sample"]);
    expect(withLocalResponder(new PageModel({ _network: null }))).toBeInstanceOf(PageModel);
  });

  it("answers locally once a network sent after the first frame has arrived", async () => {
    const state = { _network: null, _network_pending: true };
    const handlers = {};
    const sent = [];
    const model = {
      get: (name) => state[name],
      on: (event, fn) => (handlers[event] ??= []).push(fn),
      off: () => {},
      send: (content) => sent.push(content.type),
    };
    const local = withLocalResponder(model);
    const got = [];
    local.on("msg:custom", (msg) => got.push(msg.type));
    local.send({ type: "fetch", sample: 2, checkpoint: 0 });
    expect(sent).toEqual(["fetch"]); // no network yet: the kernel answers
    state._network = payload({ tables: false });
    state._network_pending = false;
    for (const fn of handlers["change:_network"] ?? []) fn();
    local.send({ type: "fetch", sample: 2, checkpoint: 0 });
    expect(sent).toEqual(["fetch"]); // now the browser's engine does
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual(["sample"]);
  });
});

describe("metrics chart", () => {
  it("takes a series' own colour, else the contract's metric colour", () => {
    const metrics = CONTRACT.palettes.metrics;
    expect(seriesColors([{ name: "loss", color: "#123456" }, { name: "test_acc" }, { name: "mystery" }])).toEqual(["#123456", metrics.test_acc, metrics.other[0]]);
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe("run pair engine (sweep page)", () => {
  // Run B: the same network with its checkpoints' weights tripled.
  function tripled() {
    const b = payload();
    b.weights = b.weights.map(([w]) => [{ ...w, view: new DataView(Float32Array.from(new Float32Array(w.view.buffer), (v) => 3 * v).buffer) }]);
    b.probe_mean = { ...b.probe_mean, view: new DataView(Float32Array.from(new Float32Array(b.probe_mean.view.buffer), (v) => 3 * v).buffer) };
    return b;
  }

  it("computes sample s in run A and N + s in run B, and centres on both runs' mean", () => {
    const r = createPairResponder([payload(), tripled()]);
    expect(r.nSamples).toBe(6);
    const a = r.respond({ type: "fetch", sample: 1, checkpoint: 1 });
    const b = r.respond({ type: "fetch", sample: 4, checkpoint: 1 });
    expect(b.content).toMatchObject({ type: "sample", sample: 4, label: 0 });
    const weight = (reply) => floats(reply.buffers[reply.content.arrays.findIndex((x) => x.name === "weight")]);
    expect(weight(a)).toEqual([2, 0, 0, 2]);
    expect(weight(b)).toEqual([6, 0, 0, 6]);
    const mean = r.respond({ type: "fetch_probe_mean", checkpoint: 0 });
    expect(floats(mean.buffers[0])).toEqual([2, 0, 0, 2]); // (1 + 3) / 2
  });

  it("numbers run B's neighbours as the page does and refuses samples outside both runs", () => {
    const r = createPairResponder([payload(), tripled()]);
    const n = r.respond({ type: "fetch_neighbors", sample: 4, checkpoint: 0, k: 2 });
    expect(n.content.sample).toBe(4);
    expect(Array.from(new Int32Array(n.buffers[0].buffer))).toEqual([5, 3]);
    expect(r.respond({ type: "fetch", sample: 6, checkpoint: 0 }).content).toMatchObject({ type: "error", sample: 6 });
  });
});

describe("log axis ticks", () => {
  it("puts 1-2-5 ticks inside the range, decades only when crowded", () => {
    expect(logTicks(0.05, 2)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2]);
    expect(logTicks(1e-4, 10)).toEqual([0.0001, 0.001, 0.01, 0.1, 1, 10]);
    expect(logTicks(0, 1)).toEqual([]);
  });
});

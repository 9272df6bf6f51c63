// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { bankResponder, firstFrame, inputsFromThumbnails, PageModel, reviveBuffers } from "../src/page.js";
import { decodeMessageArrays } from "../src/codecs.js";
import { linkModels } from "../src/explorer.js";

const b64 = (typed) => Buffer.from(new Uint8Array(typed.buffer)).toString("base64");

describe("in-page model", () => {
  it("get/set/on/off with change events", () => {
    const m = new PageModel({ checkpoint: 0 });
    const seen = [];
    const fn = (_m, v) => seen.push(v);
    m.on("change:checkpoint", fn);
    m.set("checkpoint", 2);
    m.set("checkpoint", 2); // no change, no event
    m.off("change:checkpoint", fn);
    m.set("checkpoint", 3);
    m.save_changes();
    expect(seen).toEqual([2]);
    expect(m.get("checkpoint")).toBe(3);
  });

  it("revives base64 buffers into DataViews", () => {
    const state = reviveBuffers({ a: { b64: b64(new Float32Array([1, 2])), dtype: "float32", shape: [2] }, n: 3 });
    expect(state.a.view).toBeInstanceOf(DataView);
    expect(state.a.view.getFloat32(4, true)).toBe(2);
    expect(state.n).toBe(3);
  });
});

describe("bank responder", () => {
  // 2 samples (ids 4 and 9), 2 checkpoints, 2 classes, D = 3
  const weight = Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i);
  const bank = reviveBuffers({
    samples: { b64: b64(new Int32Array([4, 9])), dtype: "int32", shape: [2] },
    input: { b64: b64(new Float32Array(6)), dtype: "float32", shape: [2, 3] },
    weight: { b64: b64(weight), dtype: "float32", shape: [2, 2, 2, 3] },
    bias: null,
    output: { b64: b64(new Float32Array([1, 0, 0, 1, 0, 1, 1, 0])), dtype: "float32", shape: [2, 2, 2] },
    labels: { b64: b64(new Int32Array([0, 1])), dtype: "int32", shape: [2] },
    class_means: null,
  });
  const respond = bankResponder(bank);

  it("answers a fetch with the stored sample's arrays", () => {
    const { content, buffers } = respond({ type: "fetch", sample: 9, checkpoint: 1 });
    expect(content.type).toBe("sample");
    expect(content.label).toBe(1);
    const arrays = decodeMessageArrays(content, buffers);
    expect(arrays.weight.shape).toEqual([2, 3]);
    expect(Array.from(arrays.weight.data)).toEqual([18, 19, 20, 21, 22, 23]);
    expect(arrays.bias).toBeUndefined();
  });

  it("explains a sample that the page does not store", () => {
    const { content } = respond({ type: "fetch", sample: 5, checkpoint: 0 });
    expect(content.type).toBe("error");
    expect(content.message).toMatch(/#5 is not stored in this page.*2 samples/);
  });

  it("delivers replies asynchronously through msg:custom", async () => {
    const m = new PageModel({}, { respond });
    const got = [];
    m.on("msg:custom", (c) => got.push(c.type));
    m.send({ type: "fetch", sample: 4, checkpoint: 0 });
    expect(got).toEqual([]);
    await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual(["sample"]);
  });
});

describe("first frame", () => {
  it("waits for the scatter's data-ready, and not at all without a scatter", async () => {
    const el = document.createElement("div");
    await firstFrame(el); // no scatter: at once
    const scatter = document.createElement("div");
    scatter.dataset.linlens = "embedding";
    el.append(scatter);
    let done = false;
    const waiting = firstFrame(el, 10_000).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    scatter.dataset.ready = "true";
    await waiting;
    expect(done).toBe(true);
  });

  it("gives up waiting after its time, so a scatter that cannot draw holds nothing back", async () => {
    const el = document.createElement("div");
    el.innerHTML = '<div data-linlens="embedding"></div>';
    const t = Date.now();
    await firstFrame(el, 30);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
  });
});

describe("explorer links", () => {
  it("scrubber drives checkpoint; brush and clicks choose samples", () => {
    const scrubber = new PageModel({ checkpoint: 0 });
    const embedding = new PageModel({ checkpoint: 0, selection: [] });
    const compare = new PageModel({ checkpoint: 0, a: [0], b: [1] });
    const { onPick, unlink } = linkModels({ scrubber, embedding, compare });
    scrubber.set("checkpoint", 3);
    expect(embedding.get("checkpoint")).toBe(3);
    expect(compare.get("checkpoint")).toBe(3);
    embedding.set("selection", [8, 2, 5]);
    expect([compare.get("a"), compare.get("b")]).toEqual([[2, 5, 8], [1]]);
    onPick(11, { shift: false });
    onPick(12, { shift: true });
    expect([compare.get("a"), compare.get("b")]).toEqual([[11], [12]]);
    unlink();
    scrubber.set("checkpoint", 1);
    expect(embedding.get("checkpoint")).toBe(3);
  });
});

describe("pixels stored once", () => {
  it("gives the network the thumbnails channels first, as uint8 [N, C·H·W]", () => {
    // 2 samples of 1×2 pixels in RGB: thumbnails [N, H, W, C]
    const thumbs = new Uint8Array([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]);
    const models = {
      embedding: { kind: "embedding", state: { _thumbnails: { b64: b64(thumbs), dtype: "uint8", shape: [2, 1, 2, 3] } } },
    };
    const x = inputsFromThumbnails(models);
    expect(x.shape).toEqual([2, 6]);
    expect(Array.from(new Uint8Array(x.view.buffer, x.view.byteOffset, x.view.byteLength))).toEqual([1, 4, 2, 5, 3, 6, 11, 14, 12, 15, 13, 16]);
  });

  it("says so when the page holds no thumbnails to read them from", () => {
    expect(() => inputsFromThumbnails({ embedding: { kind: "embedding", state: {} } })).toThrow(/no uint8 thumbnails/);
  });
});

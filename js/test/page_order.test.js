// @vitest-environment jsdom
import { deflateSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { mount, readCarried } from "../src/page.js";
import { expandPackedNow } from "../src/packing.js";

const b64 = (typed) => Buffer.from(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength)).toString("base64");
const array = (typed, dtype, shape) => ({ b64: b64(typed), dtype, shape });

/** A bank of 2 samples (ids 4 and 9), 2 checkpoints, 2 classes, D = 3 (page.js bankResponder). */
const bank = () => ({
  samples: array(new Int32Array([4, 9]), "int32", [2]),
  input: array(new Float32Array(6), "float32", [2, 3]),
  weight: array(Float32Array.from({ length: 24 }, (_, i) => i), "float32", [2, 2, 2, 3]),
  bias: null,
  output: array(new Float32Array(8), "float32", [2, 2, 2]),
  labels: array(new Int32Array([0, 1]), "int32", [2]),
  class_means: null,
});

/** A page whose root draws no scatter (the first frame is at once), with an embedding's thumbnails. */
function pageConfig(carries) {
  const thumbs = Uint8Array.from({ length: 8 }, (_, i) => i);
  return {
    root: "scrubber",
    models: {
      scrubber: { kind: "scrubber", state: { checkpoint: 0, _frames: [] } },
      embedding: {
        kind: "embedding",
        state: { _thumbnails: array(thumbs, "uint8", [2, 2, 2, 1]) },
      },
    },
    carries,
  };
}

/** A document whose parser is still running until `finish()` is called. */
function loadingDocument(dataText) {
  const listeners = [];
  const doc = {
    readyState: "loading",
    // the data script cut in two, as the page cuts it into 64 KiB pieces
    querySelectorAll: (sel) =>
      sel === "script.linlens-data" && doc.readyState !== "loading" && dataText !== null
        ? [{ textContent: dataText.slice(0, 5) }, { textContent: dataText.slice(5) }]
        : [],
    addEventListener: (type, fn) => type === "DOMContentLoaded" && listeners.push(fn),
    finish() {
      doc.readyState = "interactive";
      for (const fn of listeners) fn();
    },
  };
  return doc;
}

describe("a saved page's order of work", () => {
  it("draws first, then fills the thumbnails, then reads the network; a question asked before is answered after", async () => {
    const order = [];
    const load = vi.fn(async () => {
      order.push("load");
      return { bank: bank() };
    });
    const el = document.createElement("div");
    document.body.append(el);
    const page = await mount(el, pageConfig(["bank"]), null, load);
    order.push("mounted");
    expect(load).not.toHaveBeenCalled();
    const embedding = page.models.embedding;
    expect(embedding.get("_thumbnails")).toBeNull(); // not read before the first frame
    embedding.on("change:_thumbnails", () => order.push("thumbnails"));
    const reply = new Promise((resolve) => page.models.scrubber.on("msg:custom", resolve));
    page.models.scrubber.send({ type: "fetch", sample: 9, checkpoint: 1 }); // before the network is read
    const content = await reply;
    expect(content.type).toBe("sample");
    expect(content.sample).toBe(9);
    expect(order).toEqual(["mounted", "thumbnails", "load"]);
    const thumbs = embedding.get("_thumbnails");
    expect(Array.from(new Uint8Array(thumbs.view.buffer, thumbs.view.byteOffset, thumbs.view.byteLength))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    el.remove();
  });

  it("says so when a page names a data script but nothing reads it", async () => {
    const el = document.createElement("div");
    await expect(mount(el, pageConfig(["bank"]))).rejects.toThrow(/data script, but nothing reads it/);
  });

  it("unpacks the first frame's arrays at once, in the calling task", () => {
    const positions = Float32Array.from([1, 2, 3, 4]);
    // byte planes of 4-byte elements, deflated (widgets/_packing.py pack_planes)
    const bytes = new Uint8Array(positions.buffer);
    const planes = Uint8Array.from({ length: 16 }, (_, j) => bytes[(j % 4) * 4 + Math.floor(j / 4)]);
    const packed = { b64: deflateSync(Buffer.from(planes)).toString("base64"), dtype: "float32", shape: [2, 2], encoding: "deflate-planes" };
    const out = expandPackedNow({ a: packed, n: 1 });
    expect(out.n).toBe(1);
    expect(Array.from(new Float32Array(out.a.view.buffer))).toEqual([1, 2, 3, 4]);
    expect(() => expandPackedNow({ a: { ...packed, b64: Buffer.from("not deflated").toString("base64") } }, "state")).toThrow(/state\.a: the packed data does not inflate/);
  });
});

describe("the page's data script", () => {
  it("is read once the document is parsed, not before", async () => {
    const doc = loadingDocument(JSON.stringify({ network: { spec: 1 } }));
    let got = null;
    const reading = readCarried(doc, ["network"]).then((d) => (got = d));
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toBeNull();
    doc.finish();
    await reading;
    expect(got).toEqual({ network: { spec: 1 } });
  });

  it.each([
    ["missing", null, /linlens-data scripts are missing/],
    ["damaged", '{"network": {"spec"', /network data is not valid JSON/],
    ["something else", '{"bank": {}}', /holds \["bank"\], but its state says \["network"\]/],
  ])("says what is wrong when it is %s", async (_name, text, message) => {
    const doc = loadingDocument(text);
    doc.finish();
    await expect(readCarried(doc, ["network"])).rejects.toThrow(message);
  });
});

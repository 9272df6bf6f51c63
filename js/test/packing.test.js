import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { effectiveWeights } from "../src/engine/chain.js";
import { decodeNetwork } from "../src/engine/network.js";
import { expandCheckpoints, expandPacked, unplanes } from "../src/packing.js";

// Written by linlens_widgets.widgets._packing (tests/widgets/test_packing.py checks Python decodes it too).
const fixture = JSON.parse(readFileSync(new URL("./fixtures/packed.json", import.meta.url), "utf8"));

const bitsOf = (entry, Ctor) => Array.from(new Ctor(entry.view.buffer, entry.view.byteOffset, entry.view.byteLength / Ctor.BYTES_PER_ELEMENT));

describe("packed arrays", () => {
  it("decode float16 checkpoint deltas bit for bit, including -0, infinities and subnormals", async () => {
    const out = await expandCheckpoints(fixture.float16.packed);
    expect(out.length).toBe(3);
    out.forEach((row, t) => row.forEach((entry, i) => {
      expect(entry.dtype).toBe("float16");
      expect(bitsOf(entry, Uint16Array)).toEqual(fixture.float16.bits[t][i]);
    }));
    expect(out[0][0].shape).toEqual([2, 3]);
  });

  it("decode float32 checkpoint deltas whose residuals wrap around 2**32", async () => {
    const out = await expandCheckpoints(fixture.float32.packed);
    out.forEach((row, t) => expect(bitsOf(row[0], Uint32Array)).toEqual(fixture.float32.bits[t][0]));
  });

  it("decode byte planes and leave plain values alone", async () => {
    const out = await expandPacked({ a: fixture.planes.packed, n: 3, s: "x", list: [fixture.planes.packed] });
    expect(Array.from(new Int16Array(out.a.view.buffer))).toEqual(fixture.planes.values);
    expect(out.list[0].shape).toEqual([6]);
    expect(out.n).toBe(3);
    expect(out.s).toBe("x");
  });

  it("name what is wrong: an unknown codec, or bytes that do not fill the shapes", async () => {
    await expect(expandPacked({ w: { codec: "zip-9", b64: "" } })).rejects.toThrow(/w: unknown codec "zip-9"/);
    const short = { ...fixture.float16.packed, checkpoints: 4 };
    await expect(expandCheckpoints(short, "weights")).rejects.toThrow(/weights: .* bytes do not hold 4 checkpoints/);
  });

  it("regroup byte planes back into elements", () => {
    expect(Array.from(unplanes(Uint8Array.from([1, 2, 3, 10, 20, 30]), 2))).toEqual([1, 10, 2, 20, 3, 30]);
  });
});

describe("pinned ReLU states", () => {
  // W1 = [[1, -0.9999], [0.5, 0.25]] rounded to float16 turns unit 0 off for x = [1, 1]
  const spec = {
    format: "linlens-portable-1",
    dtype: "float32",
    input_shape: [2],
    n_inputs: 2,
    n_outputs: 1,
    has_bias: false,
    ops: [
      { op: "linear", in_shape: [2], out_shape: [2], weight: 0, bias: null },
      { op: "relu", in_shape: [2], out_shape: [2], negative_slope: 0 },
      { op: "linear", in_shape: [2], out_shape: [1], weight: 1, bias: null },
    ],
    arrays: [{ shape: [2, 2], dtype: "float32" }, { shape: [1, 2], dtype: "float32" }],
  };
  const rounded = decodeNetwork(spec, [Float32Array.from([1, -1, 0.5, 0.25]), Float32Array.from([1, 1])]);

  it("replace the computed state of the listed units only", () => {
    const x = Float32Array.from([1, 1]);
    expect(Array.from(effectiveWeights(rounded, x).weight)).toEqual([0.5, 0.25]);
    const pinned = new Map([[1, [[0, 1]]]]);
    expect(Array.from(effectiveWeights(rounded, x, pinned).weight)).toEqual([1.5, -0.75]);
  });
});

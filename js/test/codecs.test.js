import { describe, expect, it } from "vitest";
import { base64ToDataView, decodeArray, decodeMessageArrays, encodeArray } from "../src/codecs.js";

describe("decodeArray", () => {
  it("decodes a DataView with dtype and shape", () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const out = decodeArray({ view: new DataView(src.buffer), dtype: "float32", shape: [3, 2] });
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.shape).toEqual([3, 2]);
  });

  it("decodes base64 like a saved page carries it", () => {
    const bytes = Buffer.from(new Uint8Array(new Int32Array([7, -3]).buffer)).toString("base64");
    const out = decodeArray({ b64: bytes, dtype: "int32", shape: [2] });
    expect(Array.from(out.data)).toEqual([7, -3]);
  });

  it("copies unaligned views instead of throwing", () => {
    const buf = new ArrayBuffer(13);
    new Float32Array(buf, 0, 3).set([0, 0, 0]);
    const bytes = new Uint8Array(buf);
    const f = new Float32Array([1.5, -2.5, 3.25]);
    bytes.set(new Uint8Array(f.buffer), 1);
    const out = decodeArray({ view: new DataView(buf, 1, 12), dtype: "float32", shape: [3] });
    expect(Array.from(out.data)).toEqual([1.5, -2.5, 3.25]);
  });

  it("names a size mismatch", () => {
    const v = new DataView(new ArrayBuffer(40));
    expect(() => decodeArray({ view: v, dtype: "float32", shape: [5, 4, 2] }, "positions")).toThrow(
      /positions: 40 bytes do not match dtype float32 and shape \[5,4,2\]/,
    );
  });

  it("names an unknown dtype and passes null through", () => {
    expect(() => decodeArray({ view: new DataView(new ArrayBuffer(8)), dtype: "complex64", shape: [1] })).toThrow(/complex64/);
    expect(decodeArray(null)).toBeNull();
  });

  it("round-trips encodeArray", () => {
    const enc = encodeArray(new Uint8Array([1, 2, 3, 4]), [2, 2]);
    expect(enc.dtype).toBe("uint8");
    expect(Array.from(decodeArray(enc).data)).toEqual([1, 2, 3, 4]);
    expect(() => encodeArray(new Uint8Array(3), [2, 2])).toThrow(/fill shape/);
  });

  it("base64ToDataView gives the bytes", () => {
    const dv = base64ToDataView(Buffer.from([1, 2, 255]).toString("base64"));
    expect(dv.byteLength).toBe(3);
    expect(dv.getUint8(2)).toBe(255);
  });
});

describe("decodeMessageArrays", () => {
  it("pairs specs with buffers", () => {
    const w = new Float32Array([0.5, -0.5]);
    const out = decodeMessageArrays(
      { arrays: [{ name: "weight", dtype: "float32", shape: [1, 2] }] },
      [new DataView(w.buffer)],
    );
    expect(Array.from(out.weight.data)).toEqual([0.5, -0.5]);
    expect(() => decodeMessageArrays({ arrays: [{ name: "x", dtype: "uint8", shape: [1] }] }, [])).toThrow(/1 array specs but 0 buffers/);
  });
});

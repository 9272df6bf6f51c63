import { describe, expect, it } from "vitest";
import { colorEncoding } from "../src/embedding/colors.js";
import { defaultPointSize } from "../src/embedding/scatter.js";

const labels = { data: new Int32Array([0, 1, 2, 1]), shape: [4] };

describe("colour encodings", () => {
  it("label mode: one categorical colour per class", () => {
    const enc = colorEncoding("label", { labels, nClasses: 3, e: 0 });
    expect(Array.from(enc.z)).toEqual([0, 1, 2, 1]);
    expect(enc.type).toBe("categorical");
    expect(enc.colors).toHaveLength(3);
  });

  it("correct mode reads the predictions of the shown checkpoint", () => {
    const predictions = { data: new Uint8Array([0, 0, 0, 0, /* e1 */ 0, 1, 2, 0]), shape: [2, 4] };
    const e0 = colorEncoding("correct", { labels, predictions, nClasses: 3, e: 0 });
    const e1 = colorEncoding("correct", { labels, predictions, nClasses: 3, e: 1 });
    expect(Array.from(e0.z)).toEqual([1, 0, 0, 0]);
    expect(Array.from(e1.z)).toEqual([1, 1, 1, 0]);
  });

  it("value mode scales to [0, 1] over all checkpoints and maps NaN to 0", () => {
    const values = { data: new Float32Array([0, 5, 10, Number.NaN, 2, 4, 6, 8]), shape: [2, 4] };
    const enc = colorEncoding("value", { labels, values, nClasses: 3, e: 1 });
    expect(enc.type).toBe("continuous");
    expect(Array.from(enc.z)).toEqual([0.2, 0.4, 0.6, 0.8].map((v) => Math.fround(v)));
    expect(enc.range).toEqual([0, 10]);
    const e0 = colorEncoding("value", { labels, values, nClasses: 3, e: 0 });
    expect(e0.z[3]).toBe(0);
  });

  it("falls back to labels when the mode's data is missing", () => {
    expect(colorEncoding("correct", { labels, nClasses: 3, e: 0 }).colors).toHaveLength(3);
  });

  it("point size shrinks with the number of points", () => {
    expect(defaultPointSize(500)).toBeGreaterThan(defaultPointSize(70000));
  });
});

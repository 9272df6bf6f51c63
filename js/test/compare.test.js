import { describe, expect, it } from "vitest";
import { aggregate, checkOperand, contributions, focusClasses, isCompact } from "../src/compare/operands.js";
import { SIMILARITY_TEXT } from "../src/compare/text.js";

const reply = (weight, input, output, label, bias = null) => ({
  weight: { data: new Float32Array(weight), shape: [2, 2] },
  input: { data: new Float32Array(input), shape: [2] },
  output: { data: new Float32Array(output), shape: [2] },
  bias: bias ? { data: new Float32Array(bias), shape: [2] } : undefined,
  label,
});

describe("comparison operands", () => {
  it("validates operands: non-empty probe indices in range, sorted", () => {
    expect(checkOperand([5, 2, 5], 10)).toEqual([2, 5]);
    expect(checkOperand([], 10)).toBeNull();
    expect(checkOperand([10], 10)).toBeNull();
    expect(checkOperand(3, 10)).toBeNull();
  });

  it("contributions W_eff ⊙ x sum, with b_eff, to the scores", () => {
    const w = [1, 2, 3, 4];
    const x = [0.5, -1];
    const c = contributions(new Float32Array(w), new Float32Array(x), 2, 2);
    expect(Array.from(c)).toEqual([0.5, -2, 1.5, -4]);
    const b = [0.25, 1];
    const f = [0.5 - 2 + 0.25, 1.5 - 4 + 1];
    expect(c[0] + c[1] + b[0]).toBeCloseTo(f[0]);
    expect(c[2] + c[3] + b[1]).toBeCloseTo(f[1]);
  });

  it("a group is drawn as its members' mean; contributions are averaged per member", () => {
    const r1 = reply([1, 0, 0, 1], [1, 0], [1, 0], 0, [0, 1]);
    const r2 = reply([3, 0, 0, 3], [0, 1], [0, 3], 1, [2, 1]);
    const g = aggregate([r1, r2], "weights");
    expect(g.n).toBe(2);
    expect(Array.from(g.weight)).toEqual([2, 0, 0, 2]);
    expect(Array.from(g.bias)).toEqual([1, 1]);
    expect(g.predicted).toBe(1); // argmax of the mean scores [0.5, 1.5]
    expect(g.labels).toEqual([0, 1]);
    const gc = aggregate([r1, r2], "contributions");
    expect(Array.from(gc.shown)).toEqual([0.5, 0, 0, 1.5]); // mean of [1,0,0,0] and [0,0,0,3]
    expect(Array.from(gc.weight)).toEqual([2, 0, 0, 2]); // similarity stays on W_eff
  });

  it("names the similarity and explains it in one line", () => {
    expect(SIMILARITY_TEXT.centred.label).toBe("centred cosine");
    expect(SIMILARITY_TEXT.centred.title).toMatch(/mean W_eff/);
    expect(SIMILARITY_TEXT.rawFallback.label).toBe("raw cosine");
  });
});

describe("compact comparison", () => {
  it("shows A's and B's classes and their predictions, in class order", () => {
    expect(focusClasses({ label: 7, predicted: 7 }, { label: 1, predicted: 2 }, 10)).toEqual([1, 2, 7]);
    // a group: its majority label
    expect(focusClasses({ label: null, labels: [3, 3, 5], predicted: 3 }, { label: 0, predicted: 0 }, 10)).toEqual([0, 3]);
  });

  it("is compact when the full grid does not fit, or when chosen", () => {
    expect(isCompact("auto", 450, 10)).toBe(true);
    expect(isCompact("auto", 1400, 10)).toBe(false);
    expect(isCompact("all", 450, 10)).toBe(false);
    expect(isCompact("focus", 1400, 10)).toBe(true);
  });
});

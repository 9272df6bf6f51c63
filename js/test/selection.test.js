import { describe, expect, it } from "vitest";
import {
  argmax,
  cosine,
  intersectVisible,
  normalizeSelection,
  rowCosines,
  sameSelection,
  samplesFromSelection,
  toggleHidden,
  visibleIndices,
} from "../src/selection.js";

describe("selection", () => {
  it("normalises to sorted unique in-range integers", () => {
    expect(normalizeSelection([5, 2, 5, -1, 9, 1.5, "3"], 6)).toEqual([2, 3, 5]);
    expect(normalizeSelection(undefined, 3)).toEqual([]);
  });

  it("compares selections as sets", () => {
    expect(sameSelection([1, 2], [2, 1])).toBe(true);
    expect(sameSelection([1], [1, 2])).toBe(false);
    expect(sameSelection([], undefined)).toBe(true);
  });

  it("legend filter: toggling and visible indices", () => {
    expect(toggleHidden([2], 0)).toEqual([0, 2]);
    expect(toggleHidden([0, 2], 2)).toEqual([0]);
    const labels = new Int32Array([0, 1, 2, 1]);
    expect(visibleIndices(labels, [])).toBeNull();
    expect(visibleIndices(labels, [1])).toEqual([0, 2]);
    expect(intersectVisible([0, 1, 3], [0, 2])).toEqual([0]);
    expect(intersectVisible([0, 1], null)).toEqual([0, 1]);
  });

  it("chooses compared samples from a brush or a click", () => {
    const prev = { a: 1, b: 2 };
    expect(samplesFromSelection([7, 4, 9], prev)).toEqual({ a: 7, b: 4 });
    expect(samplesFromSelection([7], prev)).toEqual({ a: 7, b: 2 });
    expect(samplesFromSelection([7], prev, { shift: true })).toEqual({ a: 1, b: 7 });
    expect(samplesFromSelection([], prev)).toEqual(prev);
  });
});

describe("similarity", () => {
  it("cosine overall, per row, and of zero vectors", () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    const a = new Float32Array([1, 0, 0, 1]);
    const b = new Float32Array([1, 0, 0, -1]);
    expect(rowCosines(a, b, 2, 2)).toEqual([1, -1]);
  });

  it("argmax takes the first maximum", () => {
    expect(argmax([0.1, 0.7, 0.7])).toBe(1);
    expect(argmax([])).toBe(-1);
  });
});

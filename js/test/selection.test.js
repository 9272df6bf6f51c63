import { describe, expect, it } from "vitest";
import {
  argmax,
  cosine,
  intersectVisible,
  normalizeSelection,
  rowCosines,
  sameSelection,
  centredCosine,
  describeOperand,
  majority,
  meanOf,
  operandsFromBrush,
  operandsFromPick,
  rowCentredCosines,
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

  it("a click sets A to one sample, shift-click sets B", () => {
    const prev = { a: [1], b: [2, 3] };
    expect(operandsFromPick(7, prev)).toEqual({ a: [7], b: [2, 3] });
    expect(operandsFromPick(7, prev, { shift: true })).toEqual({ a: [1], b: [7] });
    expect(operandsFromPick(-1, prev)).toEqual(prev);
  });

  it("a brush sets A to the whole group (B with shift), never two of its points", () => {
    const prev = { a: [1], b: [2] };
    expect(operandsFromBrush([7, 4, 9, 4], prev)).toEqual({ a: [4, 7, 9], b: [2] });
    expect(operandsFromBrush([7, 4, 9], prev, { shift: true })).toEqual({ a: [1], b: [4, 7, 9] });
    expect(operandsFromBrush([7], prev)).toEqual(prev);
    expect(operandsFromBrush([], prev)).toEqual(prev);
  });

  it("names an operand: one sample, or a group with n and its main label", () => {
    expect(describeOperand([12], [7], [])).toBe("#12");
    const labels = [1, 1, 1, 7];
    expect(describeOperand([3, 4, 5, 6], labels, ["0", "1"])).toBe("group of 4 (mostly '1')");
    expect(describeOperand([3, 4], [2, 2], ["a", "b", "c"])).toBe("group of 2 (all 'c')");
    expect(describeOperand([3, 4], undefined)).toBe("group of 2");
    expect(majority([2, 1, 1, 2, 2])).toEqual({ label: 2, count: 3 });
  });
});

describe("similarity", () => {
  it("centred cosine subtracts the mean; a group is its members' mean", () => {
    expect(centredCosine([2, 1], [0, 1], [1, 1])).toBeCloseTo(-1);
    expect(centredCosine([1, 0], [0, 1], null)).toBe(0);
    expect(Number.isNaN(centredCosine([1, 1], [0, 1], [1, 1]))).toBe(true);
    // raw cosine of two vectors sharing a large component is near 1; centred it is not
    const m = [5, 5, 0];
    expect(centredCosine([6, 5, 0], [5, 6, 0], null)).toBeGreaterThan(0.9);
    expect(centredCosine([6, 5, 0], [5, 6, 0], m)).toBeCloseTo(0);
    const rows = rowCentredCosines([1, 0, 2, 1], [0, 1, 0, 1], [0, 0, 1, 1], 2, 2);
    expect(rows[0]).toBeCloseTo(0);
    expect(rows[1]).toBeCloseTo(-1);
    expect(Array.from(meanOf([[1, 2], [3, 6]]))).toEqual([2, 4]);
  });

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

import { describe, expect, it } from "vitest";
import { nextFrame, sparkPoints } from "../src/scrubber.js";

describe("scrubber helpers", () => {
  it("sparkline points span the width and scale each series to its range", () => {
    expect(sparkPoints([0, 1], 100, 10, 0)).toBe("0.0,10.0 100.0,0.0");
    expect(sparkPoints([5, 5, 5], 100, 10, 0)).toBe("0.0,5.0 50.0,5.0 100.0,5.0");
    expect(sparkPoints([1, Number.NaN, 3], 100, 10, 0)).toBe("0.0,10.0 100.0,0.0");
    expect(sparkPoints([], 100, 10)).toBe("");
  });

  it("playback advances, stops or loops at the end", () => {
    expect(nextFrame(0, 3, false)).toBe(1);
    expect(nextFrame(2, 3, false)).toBeNull();
    expect(nextFrame(2, 3, true)).toBe(0);
  });
});

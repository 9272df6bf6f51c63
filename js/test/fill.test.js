import { describe, expect, it } from "vitest";
import { CATEGORICAL } from "../src/colormaps.js";
import { wheelZooms } from "../src/embedding/pointer.js";
import { autoPointSize, boxCamera, fillFrames, projectPoint, viewBox } from "../src/frames.js";
import { MARK_COLORS } from "../src/marks.js";

// 2 checkpoints, 3 points: a small square layout, then a wide one far from the origin
const positions = {
  shape: [2, 3, 2],
  data: new Float32Array([0, 0, 0.1, 0.1, 0.05, 0, /* e1 */ 5, 5, 9, 6, 7, 5.5]),
};

/** Fraction of the canvas width and height that frame e spans once drawn with the box camera. */
function span(filled, e, width, height) {
  const { distance } = boxCamera(width / height);
  // regl-scatterplot's view at target [0, 0], distance d: scale 1/d
  const view = [1 / distance, 0, 0, 0, 0, 1 / distance, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  const N = filled.shape[1];
  const xy = [];
  for (let i = 0; i < N; i++) xy.push(projectPoint(filled.data[(e * N + i) * 2], filled.data[(e * N + i) * 2 + 1], view, width, height));
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  return [(Math.max(...xs) - Math.min(...xs)) / width, (Math.max(...ys) - Math.min(...ys)) / height];
}

describe("fillFrames", () => {
  it("makes every frame span the canvas's width or height, whichever its shape reaches first", () => {
    for (const [w, h] of [[900, 300], [400, 400], [300, 700]]) {
      const filled = fillFrames(positions, w / h);
      for (const e of [0, 1]) {
        const [sx, sy] = span(filled, e, w, h);
        expect(Math.max(sx, sy)).toBeGreaterThan(0.9);
        expect(Math.max(sx, sy)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("keeps each frame's shape and stays inside [-1, 1]", () => {
    const filled = fillFrames(positions, 3);
    const d = filled.data;
    // frame 1: width 4, height 1 in data units: still 4:1
    expect((d[8] - d[6]) / (d[9] - d[7])).toBeCloseTo(4, 4);
    for (const v of d) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6);
    expect(viewBox(3)).toEqual([1, 1 / 3]);
    expect(viewBox(0.5)).toEqual([0.5, 1]);
  });

  it("leaves a frame of one repeated point at the centre", () => {
    const one = fillFrames({ shape: [1, 2, 2], data: new Float32Array([3, 3, 3, 3]) }, 2);
    expect(Array.from(one.data)).toEqual([0, 0, 0, 0]);
  });
});

describe("point size and wheel", () => {
  it("grows with the canvas and shrinks with N", () => {
    expect(autoPointSize(450, 900, 600)).toBeGreaterThan(autoPointSize(450, 400, 300));
    expect(autoPointSize(450, 900, 600)).toBeGreaterThan(autoPointSize(20000, 900, 600));
    expect(autoPointSize(1e6, 100, 100)).toBe(2);
  });

  it("zooms only after a click into the plot or with a modifier", () => {
    expect(wheelZooms({}, false)).toBe(false);
    expect(wheelZooms({}, true)).toBe(true);
    expect(wheelZooms({ ctrlKey: true }, false)).toBe(true);
    expect(wheelZooms({ metaKey: true }, false)).toBe(true);
    expect(wheelZooms({ altKey: true }, false)).toBe(true);
  });
});

describe("marker colours", () => {
  const rgb = (hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  it("are far from every class colour", () => {
    for (const key of ["a", "b"]) {
      const m = rgb(MARK_COLORS[key]);
      const nearest = Math.min(...CATEGORICAL.map((c) => Math.hypot(...rgb(c).map((v, k) => v - m[k]))));
      expect(nearest).toBeGreaterThan(80);
    }
  });
});

import { describe, expect, it } from "vitest";
import { clampCheckpoint, DrawQueue, fitCamera, frame, frameShape, interpolate, projectPoint, toPoints } from "../src/frames.js";

// 3 checkpoints, 2 points
const positions = {
  shape: [3, 2, 2],
  data: new Float32Array([0, 0, 1, 1, /* e1 */ 0.5, 0, 1, 0, /* e2 */ 1, 0, 0, 0]),
};

describe("frames", () => {
  it("validates the shape", () => {
    expect(frameShape(positions)).toEqual({ E: 3, N: 2 });
    expect(() => frameShape({ shape: [3, 2], data: new Float32Array(6) })).toThrow(/checkpoints, points, 2/);
  });

  it("reads a frame without copying and clamps the checkpoint", () => {
    expect(Array.from(frame(positions, 1))).toEqual([0.5, 0, 1, 0]);
    expect(frame(positions, 1).buffer).toBe(positions.data.buffer);
    expect(Array.from(frame(positions, 99))).toEqual([1, 0, 0, 0]);
    expect(clampCheckpoint(-3, 3)).toBe(0);
    expect(clampCheckpoint(Number.NaN, 3)).toBe(0);
  });

  it("interpolates between checkpoints", () => {
    expect(Array.from(interpolate(positions, 0.5))).toEqual([0.25, 0, 1, 0.5]);
    expect(Array.from(interpolate(positions, 2))).toEqual([1, 0, 0, 0]);
    expect(Array.from(interpolate(positions, 7))).toEqual([1, 0, 0, 0]);
    expect(Array.from(interpolate(positions, 1.25))).toEqual([0.625, 0, 0.75, 0]);
  });

  it("splits a frame into x, y and colour values", () => {
    const pts = toPoints(frame(positions, 0), new Float32Array([3, 4]));
    expect(Array.from(pts.x)).toEqual([0, 1]);
    expect(Array.from(pts.y)).toEqual([0, 1]);
    expect(Array.from(pts.valueA)).toEqual([3, 4]);
  });
});

describe("projectPoint", () => {
  const identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  it("maps NDC corners to CSS pixels on a square canvas", () => {
    expect(projectPoint(-1, 1, identity, 200, 200)).toEqual([0, 0]);
    expect(projectPoint(1, -1, identity, 200, 200)).toEqual([200, 200]);
    expect(projectPoint(0, 0, identity, 200, 200)).toEqual([100, 100]);
  });

  it("keeps the data aspect on a wide canvas (x scaled by 1/aspect)", () => {
    // 400x200: aspect 2, x=1 lands at the 3/4 mark
    expect(projectPoint(1, 0, identity, 400, 200)).toEqual([300, 100]);
  });

  it("applies the camera's zoom and pan (column-major view)", () => {
    const zoom2 = [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0.5, 0, 0, 1];
    expect(projectPoint(0.25, 0, zoom2, 200, 200)).toEqual([200, 100]);
  });
});

describe("DrawQueue", () => {
  it("coalesces requests while a draw is running and reports errors", async () => {
    const drawn = [];
    const errors = [];
    let release;
    const q = new DrawQueue(
      (job) =>
        new Promise((resolve, reject) => {
          drawn.push(job);
          if (job === "bad") reject(new Error("boom"));
          else if (job === 1) release = resolve;
          else resolve();
        }),
      (e) => errors.push(e.message),
    );
    q.request(1);
    q.request(2);
    q.request(3);
    q.request("bad");
    release();
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(drawn).toEqual([1, "bad"]);
    expect(errors).toEqual(["boom"]);
    q.request(4);
    await new Promise((r) => setTimeout(r, 0));
    expect(drawn).toEqual([1, "bad", 4]);
    q.close();
    q.request(5);
    expect(drawn).toHaveLength(3);
  });
});

describe("fitCamera", () => {
  it("centres on the points and fits the larger half-extent", () => {
    const cam = fitCamera(new Float32Array([-0.5, 0, 0.5, 0.2, 0.1, -0.2]), 1, 1);
    expect(cam.target[0]).toBeCloseTo(0);
    expect(cam.target[1]).toBeCloseTo(0);
    expect(cam.distance).toBeCloseTo(0.5);
  });

  it("accounts for a narrow canvas and ignores non-finite values", () => {
    const cam = fitCamera(new Float32Array([-0.5, 0, 0.5, 0, Number.NaN, 9]), 0.5, 1);
    expect(cam.distance).toBeCloseTo(1); // x half-extent 0.5 over aspect 0.5
  });

  it("falls back to the default view for empty or single-point frames", () => {
    expect(fitCamera(new Float32Array([]))).toEqual({ target: [0, 0], distance: 1 });
    expect(fitCamera(new Float32Array([0.3, 0.3])).distance).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { diverging } from "../src/colormaps.js";
import {
  CHANNEL_GAP,
  CHANNEL_VIEWS,
  channelSum,
  effectiveView,
  inputLayout,
  inputPixels,
  shownValues,
  templatePixels,
  thumbnailPixels,
  weightPixels,
} from "../src/images.js";

const rgb = (px, p) => Array.from(px.slice(4 * p, 4 * p + 3));

describe("input layouts", () => {
  it("reads (C, H, W), (H, W) and (D,) and refuses anything else, naming it", () => {
    expect(inputLayout([3, 2, 4])).toEqual({ kind: "image", C: 3, H: 2, W: 4, D: 24 });
    expect(inputLayout([8, 8])).toEqual({ kind: "image", C: 1, H: 8, W: 8, D: 64 });
    expect(inputLayout([13])).toEqual({ kind: "features", D: 13 });
    expect(() => inputLayout([1, 2, 3, 4])).toThrow(/\[1,2,3,4\]/);
  });

  it("offers the contract's channel views, and only 'sum' without colour", () => {
    expect(CHANNEL_VIEWS).toEqual(["sum", "channels", "template"]);
    expect(effectiveView(inputLayout([1, 4, 4]), "template")).toBe("sum");
    expect(effectiveView(inputLayout([5]), "channels")).toBe("sum");
    expect(effectiveView(inputLayout([3, 4, 4]), "template")).toBe("template");
    expect(effectiveView(inputLayout([3, 4, 4]), "nonsense")).toBe("sum");
  });
});

describe("inputs and thumbnails", () => {
  it("un-normalises a colour input with the stored mean and std", () => {
    const layout = inputLayout([3, 1, 2]);
    const mean = [0.5, 0.25, 0];
    const std = [0.5, 0.25, 1];
    // pixel 0 is pure red, pixel 1 pure blue, in the network's units (x - mean) / std
    const unit = [1, 0, 0, 0, 0, 1];
    const x = unit.map((v, i) => (v - mean[Math.floor(i / 2)]) / std[Math.floor(i / 2)]);
    const { pixels, width, height } = inputPixels(Float32Array.from(x), layout, { mean, std });
    expect([width, height]).toEqual([2, 1]);
    expect(rgb(pixels, 0)).toEqual([255, 0, 0]);
    expect(rgb(pixels, 1)).toEqual([0, 0, 255]);
  });

  it("draws one channel as dark ink on light paper, clipped to [0, 1]", () => {
    const { pixels } = inputPixels(Float32Array.from([0, 1, 2, -1]), inputLayout([2, 2]), null);
    expect([rgb(pixels, 0), rgb(pixels, 1), rgb(pixels, 2), rgb(pixels, 3)]).toEqual([
      [255, 255, 255], [0, 0, 0], [0, 0, 0], [255, 255, 255],
    ]);
  });

  it("reads colour thumbnails (N, H, W, 3) channel-last, grey ones (N, H, W[, 1]) as ink", () => {
    const colour = Uint8Array.from([0, 0, 0, 0, 0, 0, /* sample 1: */ 10, 20, 30, 200, 100, 0]);
    const { pixels, width } = thumbnailPixels(colour, 1, [2, 1, 2, 3]);
    expect(width).toBe(2);
    expect([rgb(pixels, 0), rgb(pixels, 1)]).toEqual([[10, 20, 30], [200, 100, 0]]);
    const grey = Uint8Array.from([0, 255]);
    expect(rgb(thumbnailPixels(grey, 0, [1, 1, 2, 1]).pixels, 1)).toEqual([0, 0, 0]);
    expect(rgb(thumbnailPixels(grey, 0, [1, 1, 2]).pixels, 0)).toEqual([255, 255, 255]);
  });
});

describe("W_eff of a colour input", () => {
  const layout = inputLayout([3, 1, 2]);
  // channel-major: R = [1, -2], G = [2, 0], B = [-4, 1]
  const row = Float32Array.from([1, -2, 2, 0, -4, 1]);

  it("defaults to the sum over channels on the diverging scale", () => {
    expect(Array.from(channelSum(row, 3, 2))).toEqual([-1, -1]);
    expect(Array.from(shownValues(row, layout, "sum"))).toEqual([-1, -1]);
    expect(shownValues(row, layout, "channels")).toBe(row);
    const { pixels, width } = weightPixels(row, layout, "sum", 2);
    expect(width).toBe(2);
    expect(rgb(pixels, 0)).toEqual(diverging(-1, 2));
  });

  it("draws one diverging image per channel side by side on one scale", () => {
    const { pixels, width, height } = weightPixels(row, layout, "channels", 4);
    expect([width, height]).toEqual([3 * 2 + 2 * CHANNEL_GAP, 1]);
    expect(rgb(pixels, 0)).toEqual(diverging(1, 4));
    expect(rgb(pixels, 2)).toEqual([255, 255, 255]); // the gap
    expect(rgb(pixels, 2 + CHANNEL_GAP)).toEqual(diverging(2, 4));
    expect(rgb(pixels, 2 * (2 + CHANNEL_GAP))).toEqual(diverging(-4, 4));
  });

  it("rescales each channel to [0, 1] on its own for the RGB template", () => {
    const { pixels } = templatePixels(row, layout);
    // R: 1 is its max, -2 its min; G: 2 max, 0 min; B: -4 min, 1 max
    expect(rgb(pixels, 0)).toEqual([255, 255, 0]);
    expect(rgb(pixels, 1)).toEqual([0, 0, 255]);
    expect(rgb(weightPixels(row, layout, "template", 1).pixels, 0)).toEqual([255, 255, 0]);
    // a constant channel sits in the middle
    const flat = templatePixels(Float32Array.from([3, 3, 0, 1, 0, 1]), layout).pixels;
    expect(rgb(flat, 0)[0]).toBe(128);
  });
});

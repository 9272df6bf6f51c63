import { describe, expect, it } from "vitest";
import {
  categoricalColor,
  colorList,
  cssGradient,
  diverging,
  divergingPixels,
  finiteRange,
  symmetricMax,
  viridis,
} from "../src/colormaps.js";

describe("colour maps", () => {
  it("viridis runs from purple to yellow and clamps", () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    expect(viridis(-5)).toEqual(viridis(0));
    expect(viridis(Number.NaN)).toEqual(viridis(0.5));
  });

  it("diverging is white at zero and symmetric in hue", () => {
    expect(diverging(0, 2)).toEqual([247, 247, 247]);
    const pos = diverging(2, 2);
    const neg = diverging(-2, 2);
    expect(pos[0]).toBeGreaterThan(pos[2]); // red for positive
    expect(neg[2]).toBeGreaterThan(neg[0]); // blue for negative
    expect(diverging(5, 2)).toEqual(pos); // clipped to the scale
    expect(diverging(1, 0)).toEqual([247, 247, 247]); // no scale: neutral
  });

  it("symmetric scale is the largest magnitude over all arrays", () => {
    expect(symmetricMax(new Float32Array([0.1, -0.7]), new Float32Array([0.5]))).toBeCloseTo(0.7);
    expect(symmetricMax()).toBe(0);
  });

  it("finiteRange ignores NaN and Infinity", () => {
    expect(finiteRange([Number.NaN, 2, -1, Number.POSITIVE_INFINITY])).toEqual([-1, 2]);
    expect(finiteRange([Number.NaN])).toEqual([0, 1]);
  });

  it("pixel buffers are RGBA per value", () => {
    const px = divergingPixels(new Float32Array([-1, 0, 1]), 1);
    expect(px.length).toBe(12);
    expect(Array.from(px.slice(4, 8))).toEqual([247, 247, 247, 255]);
  });

  it("categorical colours cycle, lists and gradients are well formed", () => {
    expect(categoricalColor(0)).toBe(categoricalColor(20));
    expect(colorList(viridis, 4)).toHaveLength(4);
    expect(colorList(viridis, 2)[0]).toBe("#440154");
    expect(cssGradient(viridis)).toMatch(/^linear-gradient\(to right, #440154 0%/);
  });
});

describe("one palette source", () => {
  it("every map is contract.json's palettes, none declared in the front end", async () => {
    const { CONTRACT } = await import("../src/contract.js");
    const { fromHex } = await import("../src/colormaps.js");
    const { palettes } = CONTRACT;
    palettes.classes.forEach((c, k) => expect(categoricalColor(k)).toBe(c));
    expect(categoricalColor(palettes.classes.length)).toBe(palettes.classes[0]);
    expect(viridis(0)).toEqual(fromHex(palettes.sequential[0]));
    expect(viridis(1)).toEqual(fromHex(palettes.sequential.at(-1)));
    expect(diverging(-1, 1)).toEqual(fromHex(palettes.diverging[0]));
    expect(diverging(1, 1)).toEqual(fromHex(palettes.diverging.at(-1)));
  });
});

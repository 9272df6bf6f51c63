import { describe, expect, it } from "vitest";
import { colorEncoding, colorSelectValue, parseColorSelect } from "../src/embedding/colors.js";
import { tooltipPosition } from "../src/embedding/tooltip.js";
import { explorerKeyAction } from "../src/explorer.js";
import { fitCamera } from "../src/frames.js";
import {
  centroid,
  fitAllCheckpoints,
  gentleWheelDelta,
  GREY,
  markLayout,
  subclusterClasses,
  subclusterEncoding,
  trailPath,
} from "../src/marks.js";
import { categoricalColor } from "../src/colormaps.js";

// two checkpoints, three points: the second frame is spread twice as wide
const positions = {
  shape: [2, 3, 2],
  data: new Float32Array([0, 0, 0.1, 0, 0, 0.1, /* e1 */ -0.8, 0, 0.8, 0, 0, 0.4]),
};

describe("camera over all checkpoints", () => {
  it("fits the widest checkpoint, not only the first", () => {
    const first = fitCamera(positions.data.subarray(0, 6), 1);
    const all = fitAllCheckpoints(positions, 1);
    expect(all.distance).toBeGreaterThan(first.distance * 5);
    // every point of every checkpoint lies within the view: |x - cx| <= distance * aspect
    for (let i = 0; i < positions.data.length; i += 2) {
      expect(Math.abs(positions.data[i] - all.target[0])).toBeLessThanOrEqual(all.distance);
      expect(Math.abs(positions.data[i + 1] - all.target[1])).toBeLessThanOrEqual(all.distance);
    }
  });
});

describe("gentle wheel zoom", () => {
  const height = 420;
  const zoom = (delta) => Math.exp(delta / height); // how the camera turns a delta into a factor
  it("four notches of a mouse wheel zoom by 1.5-2.5x, not to a handful of points", () => {
    let factor = 1;
    for (let k = 0; k < 4; k++) factor *= zoom(gentleWheelDelta(100, 0, height));
    expect(factor).toBeGreaterThan(1.5);
    expect(factor).toBeLessThan(2.5);
    // before: the raw delta of 4 notches at 120 px each (some mice, high-DPI) gave > 3x
    expect(zoom(4 * 120)).toBeGreaterThan(3);
  });
  it("line mode, zoom out and trackpads scale the same way", () => {
    expect(gentleWheelDelta(3, 1, height)).toBeCloseTo(gentleWheelDelta(99, 0, height), 6);
    expect(gentleWheelDelta(-100, 0, height)).toBeCloseTo(-gentleWheelDelta(100, 0, height), 6);
    expect(Math.abs(gentleWheelDelta(4, 0, height))).toBeLessThan(Math.abs(gentleWheelDelta(100, 0, height)) / 10);
    expect(gentleWheelDelta(0, 0, height)).toBe(0);
  });
});

describe("operand marks", () => {
  it("a group is its members plus one centroid; a single sample is itself", () => {
    const xy = positions.data.subarray(6, 12);
    const m = markLayout(xy, { a: [0, 1], b: [2], highlighted: [1] });
    expect(m.a.n).toBe(2);
    expect(m.a.members).toHaveLength(2);
    expect(m.a.centroid[0]).toBeCloseTo(0);
    expect(m.b.centroid[1]).toBeCloseTo(0.4);
    expect(m.highlighted[0][0]).toBeCloseTo(0.8);
    expect(markLayout(xy, {}).a).toBeNull();
  });
  it("trails follow the centroid through every checkpoint", () => {
    const path = trailPath(positions, [0, 1]);
    expect(path).toHaveLength(2);
    expect(path[0][0]).toBeCloseTo(0.05);
    expect(path[1][0]).toBeCloseTo(0);
    expect(centroid(positions.data, [])).toBeNull();
  });
});

describe("sub-cluster colour mode", () => {
  const labels = new Int32Array([1, 1, 1, 1, 0, 0]);
  const groups = new Int32Array([0, 1, 1, 0, 0, -1]);
  it("colours the class's groups and greys everything else", () => {
    const enc = subclusterEncoding(labels, groups, 1);
    expect(Array.from(enc.z)).toEqual([1, 2, 2, 1, 0, 0]);
    expect(enc.colors[0]).toBe(GREY);
    expect(enc.colors[1]).toBe(categoricalColor(0));
    expect(enc.sizes).toEqual([2, 2]);
  });
  it("the colours follow the groups, not the positions or the checkpoint", () => {
    const enc = colorEncoding("subclusters", { labels: { data: labels }, groups: { data: groups }, groupsClass: 1, e: 3, nClasses: 2 });
    const byGroup = new Map();
    for (let i = 0; i < 4; i++) {
      const c = enc.colors[enc.z[i]];
      expect(byGroup.get(groups[i]) ?? c).toBe(c);
      byGroup.set(groups[i], c);
    }
    expect(byGroup.get(0)).not.toBe(byGroup.get(1));
  });
  it("offers only classes with two or more groups", () => {
    expect(subclusterClasses(labels, groups)).toEqual([1]);
    expect(subclusterClasses(labels, null)).toEqual([]);
  });
  it("select values round-trip", () => {
    expect(parseColorSelect(colorSelectValue("subclusters", 3))).toEqual({ mode: "subclusters", groupsClass: 3 });
    expect(parseColorSelect("label")).toEqual({ mode: "label", groupsClass: -1 });
  });
});

describe("tooltip stays inside the plot", () => {
  it("flips left and up at the right and bottom edges", () => {
    const [l, t] = tooltipPosition([590, 390], [180, 70], [600, 400]);
    expect(l + 180).toBeLessThanOrEqual(600);
    expect(t + 70).toBeLessThanOrEqual(400);
    expect(tooltipPosition([10, 50], [180, 70], [600, 400])).toEqual([22, 38]);
  });
});

describe("tooltip keeps clear of the A and B marks", () => {
  const overlaps = ([l, t], [w, h], [a, b, c, d]) => l < c && a < l + w && t < d && b < t + h;

  it("moves off a mark box where it would have gone, and off the point, staying inside the plot", () => {
    const label = [110, 80, 150, 105]; // B's ring and label, right of the point at [100, 100]
    expect(overlaps(tooltipPosition([100, 100], [180, 70], [600, 400]), [180, 70], label)).toBe(true);
    const at = tooltipPosition([100, 100], [180, 70], [600, 400], 12, [label]);
    expect(overlaps(at, [180, 70], label)).toBe(false);
    expect(overlaps(at, [180, 70], [96, 96, 104, 104])).toBe(false);
    expect(at[0]).toBeGreaterThanOrEqual(0);
    expect(at[1]).toBeGreaterThanOrEqual(0);
    expect(at[0] + 180).toBeLessThanOrEqual(600);
    expect(at[1] + 70).toBeLessThanOrEqual(400);
  });

  it("between A and B, finds the place that covers neither, nearest the point", () => {
    const a = [60, 120, 100, 150];
    const b = [110, 70, 150, 96];
    const at = tooltipPosition([104, 104], [160, 70], [600, 400], 12, [a, b]);
    expect(overlaps(at, [160, 70], a) || overlaps(at, [160, 70], b)).toBe(false);
    // the nearest free place touches neither box and is not far from the point
    expect(Math.hypot(Math.max(at[0] - 104, 0, 104 - at[0] - 160), Math.max(at[1] - 104, 0, 104 - at[1] - 70))).toBeLessThan(60);
  });

  it("keeps its usual place when no mark is in the way", () => {
    expect(tooltipPosition([10, 50], [180, 70], [600, 400], 12, [[400, 300, 440, 330]])).toEqual([22, 38]);
  });

  it("covers as little as it can when every place covers a mark", () => {
    const everywhere = [0, 0, 600, 400];
    const at = tooltipPosition([300, 200], [180, 70], [600, 400], 12, [everywhere]);
    expect(at[0] + 180).toBeLessThanOrEqual(600);
    expect(at[1] + 70).toBeLessThanOrEqual(400);
  });
});

describe("explorer keys", () => {
  it("arrows step and clamp, space toggles play, escape clears", () => {
    expect(explorerKeyAction("ArrowLeft", { checkpoint: 3, E: 5 })).toEqual({ checkpoint: 2 });
    expect(explorerKeyAction("ArrowLeft", { checkpoint: 0, E: 5 })).toEqual({ checkpoint: 0 });
    expect(explorerKeyAction("ArrowRight", { checkpoint: 4, E: 5 })).toEqual({ checkpoint: 4 });
    expect(explorerKeyAction(" ", { playing: false })).toEqual({ playing: true });
    expect(explorerKeyAction("Escape", {})).toEqual({ clear: true });
    expect(explorerKeyAction("a", {})).toBeNull();
  });
});

describe("one colour per metric", () => {
  it("reads the contract's map, spaces as underscores, others in order", async () => {
    const { CONTRACT, CURSOR_COLOR, metricColors } = await import("../src/contract.js");
    const map = CONTRACT.palettes.metrics;
    expect(metricColors(["test acc", "train_loss", "mystery", "other mystery"])).toEqual([map.test_acc, map.train_loss, map.other[0], map.other[1]]);
    const series = Object.entries(map).filter(([k]) => k !== "about" && k !== "other").map(([, c]) => c);
    expect(series).not.toContain(CURSOR_COLOR);
    expect(new Set(series).size).toBe(series.length);
  });
});

describe("yes/no colouring", () => {
  it("0/1 values are a two-colour legend, not a colour bar", async () => {
    const { colorEncoding: enc, isYesNo, YES_NO } = await import("../src/embedding/colors.js");
    const labels = { data: new Int32Array([0, 1, 2]) };
    const values = { data: new Float32Array([1, 0, 1]), shape: [3] };
    const out = enc("value", { labels, values, nClasses: 3, e: 0 });
    expect(out.type).toBe("categorical");
    expect(Array.from(out.z)).toEqual([1, 0, 1]);
    expect(out.colors).toEqual([YES_NO.no, YES_NO.yes]);
    expect(isYesNo(new Float32Array([0.5, 1]))).toBe(false);
    expect(enc("value", { labels, values: { data: new Float32Array([0.2, 0.5, 1]), shape: [3] }, nClasses: 3, e: 0 }).type).toBe("continuous");
  });
});

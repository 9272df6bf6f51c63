import { describe, expect, it } from "vitest";
import { PageModel } from "../src/page.js";
import { crossRunSamples, linkSweep, mappedCheckpoints } from "../src/sweep_explorer.js";

const make = () => ({
  scrubber: new PageModel({ checkpoint: 0 }),
  embeddings: [new PageModel({ checkpoint: 0, selection: [] }), new PageModel({ checkpoint: 0, selection: [] })],
  compare: new PageModel({ checkpoint: 0, a: [0], b: [10] }),
});

describe("sweep explorer links", () => {
  it("maps one axis position to each run's checkpoint", () => {
    expect(mappedCheckpoints([[0, 0, 1, 2], [0, 1, 1, 1]], 2)).toEqual([1, 1]);
    expect(mappedCheckpoints([[0, 1]], 9)).toEqual([1]);
    expect(crossRunSamples(3, 10)).toEqual({ a: 3, b: 13 });
  });

  it("the scrubber moves every scatter to its mapped checkpoint and the comparison to the axis", () => {
    const m = make();
    const moves = [];
    linkSweep({ ...m, mapping: [[0, 0, 1, 2], [0, 1, 2, 2]], N: 10, onMove: (k, s) => moves.push([k, s]) });
    m.scrubber.set("checkpoint", 2);
    expect(m.embeddings.map((e) => e.get("checkpoint"))).toEqual([1, 2]);
    expect(m.compare.get("checkpoint")).toBe(2);
    expect(moves.at(-1)).toEqual([2, [1, 2]]);
  });

  it("brushing one scatter selects the same samples in all and compares the first across runs", () => {
    const m = make();
    const links = linkSweep({ ...m, mapping: [[0], [0]], N: 10 });
    m.embeddings[1].set("selection", [4, 7]);
    expect(m.embeddings[0].get("selection")).toEqual([4, 7]);
    expect([m.compare.get("a"), m.compare.get("b")]).toEqual([[4], [14]]);
    links.onPick(2);
    expect([m.compare.get("a"), m.compare.get("b")]).toEqual([[2], [12]]);
    links.unlink();
    m.embeddings[0].set("selection", [1]);
    expect(m.embeddings[1].get("selection")).toEqual([4, 7]);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONTRACT, message, SPEEDS, traitNames } from "../src/contract.js";
import { linkModels } from "../src/explorer.js";
import { PageModel } from "../src/page.js";

const source = (module) => readFileSync(new URL(`../src/${module}.js`, import.meta.url), "utf8");
const widgets = Object.entries(CONTRACT.widgets);
const allTraits = new Set(widgets.flatMap(([name]) => traitNames(name)));

/** Trait keys a module reads or writes on its own model, and on any model. */
function keysIn(text) {
  const own = new Set();
  const any = new Set();
  for (const m of text.matchAll(/\bmodel\.(?:get|set)\("([A-Za-z_]+)"/g)) own.add(m[1]);
  for (const m of text.matchAll(/onModel\(model, "change:([A-Za-z_]+)"/g)) own.add(m[1]);
  for (const m of text.matchAll(/\b(?:model|scrubber|embedding|compare|source)\.(?:get|set)\("([A-Za-z_]+)"/g)) any.add(m[1]);
  for (const m of text.matchAll(/setIfChanged\(\w+, "([A-Za-z_]+)"/g)) any.add(m[1]);
  for (const m of text.matchAll(/"change:([A-Za-z_]+)"/g)) any.add(m[1]);
  return { own, any };
}

describe("trait contract", () => {
  for (const [name, spec] of widgets) {
    it(`${spec.module}.js reads and writes only ${name}'s traits on its model`, () => {
      const { own, any } = keysIn(source(spec.module));
      expect(own.size).toBeGreaterThan(0);
      const names = new Set(traitNames(name));
      expect([...own].filter((k) => !names.has(k))).toEqual([]);
      expect([...any].filter((k) => !allTraits.has(k))).toEqual([]);
    });
  }

  it("the position is 'checkpoint' everywhere; 'epoch' is no trait or message field", () => {
    for (const [, spec] of widgets) expect(Object.keys(spec.traits)).not.toContain("epoch");
    for (const [kind, spec] of Object.entries(CONTRACT.messages)) {
      if (kind !== "about") expect(Object.keys(spec.fields)).not.toContain("epoch");
    }
    for (const module of ["embedding", "compare", "scrubber", "explorer", "page"]) {
      expect(source(module)).not.toMatch(/\bmodel\.get\("epoch"\)|"change:epoch"/);
    }
  });

  it("messages carry only the contract's fields", () => {
    expect(message("fetch", { sample: 3, checkpoint: 1 })).toEqual({ type: "fetch", sample: 3, checkpoint: 1 });
    expect(() => message("fetch", { sample: 3, epoch: 1 })).toThrow(/no field\(s\) epoch/);
    expect(() => message("fetch_weights", {})).toThrow(/unknown message type/);
  });

  it("playback speeds come from the contract", () => {
    expect(SPEEDS).toEqual(CONTRACT.speeds);
    expect(source("scrubber")).not.toMatch(/\[0\.5, 1, 2/);
  });
});

describe("explorer links (the only place they are applied)", () => {
  const make = () => ({
    scrubber: new PageModel({ checkpoint: 0 }),
    embedding: new PageModel({ checkpoint: 0, selection: [] }),
    compare: new PageModel({ checkpoint: 0, a: [0], b: [1] }),
  });

  it("every contract target follows the scrubber, and only in that direction", () => {
    const models = make();
    const { unlink } = linkModels(models);
    models.scrubber.set("checkpoint", 3);
    for (const [widget, trait] of CONTRACT.links.checkpoint.to) expect(models[widget].get(trait)).toBe(3);
    models.embedding.set("checkpoint", 1);
    expect(models.scrubber.get("checkpoint")).toBe(3);
    expect(models.compare.get("checkpoint")).toBe(3);
    unlink();
    models.scrubber.set("checkpoint", 2);
    expect(models.embedding.get("checkpoint")).toBe(1);
  });

  it("a brush sets A to the group, shift+brush sets B; a single point changes nothing", () => {
    const models = make();
    let shift = false;
    linkModels(models, undefined, { shiftHeld: () => shift });
    models.embedding.set("selection", [4, 9, 13]);
    expect([models.compare.get("a"), models.compare.get("b")]).toEqual([[4, 9, 13], [1]]);
    shift = true;
    models.embedding.set("selection", [2, 6]);
    expect([models.compare.get("a"), models.compare.get("b")]).toEqual([[4, 9, 13], [2, 6]]);
    models.embedding.set("selection", [6]);
    expect([models.compare.get("a"), models.compare.get("b")]).toEqual([[4, 9, 13], [2, 6]]);
  });

  it("the operands are marked in the scatter and the neighbours highlighted", () => {
    const models = make();
    const { onPick, onNeighbors } = linkModels(models);
    const [[, , , markA], [, , , markB]] = CONTRACT.links.operands.marks;
    const [[, , , highlighted]] = CONTRACT.links.neighbors.marks;
    expect([models.embedding.get(markA), models.embedding.get(markB)]).toEqual([[0], [1]]);
    onPick(7, { shift: false });
    onPick(3, { shift: true });
    expect([models.embedding.get(markA), models.embedding.get(markB)]).toEqual([[7], [3]]);
    onNeighbors(new Int32Array([5, 2]));
    expect(models.embedding.get(highlighted)).toEqual([5, 2]);
  });
});

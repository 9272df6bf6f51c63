// @vitest-environment jsdom
// The comparison's parts on their own, against a jsdom container: replies, controls, header,
// class grid, colour scale and bars, neighbour row.
import { describe, expect, it, vi } from "vitest";
import { Disposer } from "../src/dom.js";
import { inputLayout } from "../src/images.js";
import { createControls } from "../src/compare/controls.js";
import { addRow, classGrid, classMeanRows } from "../src/compare/grid.js";
import { headerItems, operandName } from "../src/compare/header.js";
import { neighbourItems } from "../src/compare/neighbours.js";
import { aggregate } from "../src/compare/operands.js";
import { createReplies } from "../src/compare/replies.js";
import { colourScales, runFrames, scaleItems } from "../src/compare/scale.js";
import { LEGEND_TEXT, SIMILARITY_TEXT } from "../src/compare/text.js";

/** A model whose traits can be read, set and saved, and whose sent messages are kept. */
function fakeModel(traits = {}) {
  const sent = [];
  const saved = [];
  return {
    sent,
    saved,
    get: (k) => traits[k],
    set: (k, v) => {
      traits[k] = v;
    },
    save_changes: () => saved.push({ ...traits }),
    send: (msg) => sent.push(msg),
  };
}

/** A reply for sample s: C=2 classes, D=3 features, W_eff scaled by `w`. */
const reply = (s, w, label = 0, predicted = label) => ({
  sample: s,
  label,
  predicted,
  weight: { data: new Float32Array([w, -w, 0, 0, w / 2, -w / 2]), shape: [2, 3] },
  input: { data: new Float32Array([1, 2, 3]), shape: [3] },
  bias: { data: new Float32Array([0.5, -0.5]), shape: [2] },
  output: { data: new Float32Array([1, 2]), shape: [2] },
});

const sampleMessage = (s, e, w) => {
  const weight = new Float32Array([w, -w, 0, 0, w / 2, -w / 2]);
  return [
    { type: "sample", sample: s, checkpoint: e, label: 0, predicted: 0, arrays: [{ name: "weight", dtype: "float32", shape: [2, 3] }] },
    [new DataView(weight.buffer)],
  ];
};

describe("replies", () => {
  it("asks once per sample and checkpoint, keeps what arrives, and forgets it all on reset", () => {
    const model = fakeModel({ a: [1], b: [2] });
    const changed = vi.fn();
    const replies = createReplies(model, new Disposer(), changed, () => 3);
    replies.request(1, 0);
    replies.request(1, 0);
    expect(model.sent).toEqual([{ type: "fetch", sample: 1, checkpoint: 0 }]);
    expect(replies.receive(...sampleMessage(1, 0, 2))).toBe(true);
    expect(Array.from(replies.sample(1, 0).weight.data)).toEqual([2, -2, 0, 0, 1, -1]);
    replies.request(1, 0); // cached: nothing sent
    expect(model.sent).toHaveLength(1);
    expect(replies.receive({ type: "something else" }, [])).toBe(false);
    expect(replies.receive(null)).toBe(false);
    replies.reset();
    expect(replies.sample(1, 0)).toBeUndefined();
    replies.request(1, 0);
    expect(model.sent).toHaveLength(2);
  });

  it("an error answers the waiting requests it names, as a notice, and they are not asked again", () => {
    const model = fakeModel({ _n_samples: 10 });
    const replies = createReplies(model, new Disposer(), () => {}, () => 1);
    replies.request(4, 1);
    replies.requestNeighbours(4, 1, 5, "raw");
    replies.request(5, 1);
    replies.receive({ type: "error", sample: 4, checkpoint: 1, message: "checkpoint 1 is not stored" });
    expect(replies.notice("4:1")).toBe("checkpoint 1 is not stored");
    expect(replies.neighbourNotice(4, 1, "raw")).toBe("checkpoint 1 is not stored");
    expect(replies.neighbourNotice(4, 1, "centred")).toBeUndefined();
    expect(replies.notice("5:1")).toBeUndefined();
    replies.request(4, 1);
    expect(model.sent.filter((m) => m.type === "fetch" && m.sample === 4)).toHaveLength(1);
  });

  it("a probe mean that never comes becomes a notice after the wait, and the view is redrawn", () => {
    vi.useFakeTimers();
    try {
      const bag = new Disposer();
      const changed = vi.fn();
      const replies = createReplies(fakeModel(), bag, changed, () => 1);
      replies.requestProbeMean(0);
      vi.advanceTimersByTime(3000);
      expect(changed).not.toHaveBeenCalled();
      vi.advanceTimersByTime(2000);
      expect(changed).toHaveBeenCalledOnce();
      expect(replies.notice("mean:0")).toBe("no probe mean from this host");
      bag.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("controls", () => {
  it("write their traits, follow the model, and the classes toggle flips the local choice", () => {
    const model = fakeModel({ similarity: "raw", view: "contributions", scale: "run", presentation: true });
    const root = document.createElement("div");
    const view = { model, root, classChoice: "auto", compact: true };
    const redraw = vi.fn();
    const controls = createControls(view, new Disposer(), redraw);
    const el = (id) => controls.el.querySelector(`[data-testid=${id}]`);
    controls.show(inputLayout([3, 4, 4]));
    controls.showScale();
    expect([el("similarity").value, el("view").value, el("scale").value]).toEqual(["raw", "contributions", "run"]);
    expect(root.classList.contains("is-presentation")).toBe(true);
    expect(el("channel-view").parentElement.style.display).toBe("");
    controls.show(inputLayout([16])); // no channels to switch between
    expect(el("channel-view").parentElement.style.display).toBe("none");

    el("scale").value = "checkpoint";
    el("scale").dispatchEvent(new Event("change"));
    expect(model.get("scale")).toBe("checkpoint");
    expect(model.saved).toHaveLength(1);
    el("presentation").click();
    expect(model.get("presentation")).toBe(false);

    controls.showClasses(10, false);
    expect(el("all-classes").textContent).toBe("all 10 classes");
    el("all-classes").click();
    expect(view.classChoice).toBe("all");
    expect(redraw).toHaveBeenCalledOnce();
    controls.showClasses(10, true); // classes chosen by the user: no toggle
    expect(el("all-classes").hidden).toBe(true);
  });
});

describe("header", () => {
  it("names each operand with its class and prediction, and states the similarity", () => {
    const names = ["cat", "dog"];
    const da = aggregate([reply(3, 1, 0, 0)], "weights");
    const db = aggregate([reply(8, 1, 1, 0)], "weights");
    expect(operandName("A", [3], da, names)).toBe("A: #3 · cat ✓");
    expect(operandName("B", [8], db, names)).toBe("B: #8 · dog → predicted cat");
    const wrap = document.createElement("div");
    wrap.append(...headerItems({ A: [3], B: [8], da, db, names, cosAll: 0.25, similarity: "raw", simText: SIMILARITY_TEXT.rawFallback }).filter(Boolean));
    const cos = wrap.querySelector("[data-testid=cosine]");
    expect(cos.textContent).toBe("raw cosine 0.25");
    expect(cos.dataset.similarity).toBe("raw");
    expect(wrap.querySelector(".linlens-checkpoint-note").textContent).toMatch(/no probe mean/);
    expect(wrap.querySelector("[data-testid=operand-b]").dataset.n).toBe("1");
  });
});

describe("class grid", () => {
  it("one column per shown class, per-class cosines, and A's tiles with b and f; the predicted class outlined", () => {
    const img = inputLayout([3]);
    const da = aggregate([reply(3, 2, 0, 1)], "weights");
    const grid = classGrid({ show: [1], names: ["cat", "dog"], simText: SIMILARITY_TEXT.centred, cosRows: [0.1, -0.5], cview: "sum" });
    addRow(grid, { show: [1], names: ["cat", "dog"], img, cview: "sum", what: "W_eff", fnames: null, display: {}, D: 3 }, { tag: "A", title: "", d: da, w: da.shown, vmax: 2, inputVals: da.input });
    expect([...grid.querySelectorAll(".linlens-classname")].map((c) => c.textContent)).toEqual(["dog"]);
    const cos = grid.querySelectorAll("[data-testid=cosine-class]");
    expect(cos).toHaveLength(1);
    expect(cos[0].dataset.class).toBe("1");
    expect(cos[0].textContent).toBe("−0.5");
    const tile = grid.querySelector(".linlens-cell.is-pred[data-class='1']");
    expect(tile.title).toBe("predicted class of A");
    expect([...tile.querySelectorAll("[data-testid=number]")].map((n) => n.textContent)).toEqual(["b −0.5", "f 2"]);
    expect(grid.querySelector(".linlens-tag-a").textContent).toBe("A");
  });

  it("the class-mean row takes class c's row of class c's mean", () => {
    const means = { data: Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i), shape: [2, 2, 3] };
    expect(Array.from(classMeanRows(means, [1], 2, 3))).toEqual([0, 0, 0, 9, 10, 11]);
  });
});

describe("colour scale", () => {
  const rowsOf = (w) => [w];
  it("this checkpoint: the shown pair's largest value; all checkpoints: the largest over every checkpoint", () => {
    const da = aggregate([reply(1, 1)], "weights");
    const db = aggregate([reply(2, 0.5)], "weights");
    const here = colourScales(da, db, null, rowsOf);
    expect([here.vmax, here.dmax, here.name]).toEqual([1, 0.5, "scale: this checkpoint"]);
    const later = [aggregate([reply(1, 4)], "weights"), aggregate([reply(2, 1)], "weights")];
    const all = colourScales(da, db, { frames: [later], E: 1 }, rowsOf);
    expect([all.vmax, all.dmax, all.name]).toEqual([4, 3, "scale: all checkpoints"]);
    expect(colourScales(da, db, { frames: [], E: 3 }, rowsOf).name).toBe("scale: all checkpoints, 0/3 loaded");
  });

  it("all checkpoints asks for every checkpoint's samples and counts the frames that have arrived", () => {
    const asked = [];
    const replies = { request: (s, t) => asked.push([s, t]), sample: (s, t) => (t === 0 ? reply(s, 1) : undefined) };
    const over = runFrames(replies, [1], [2], "weights", 3);
    expect(over.E).toBe(3);
    expect(over.frames).toHaveLength(1);
    expect(Array.from(over.frames[0][0].weight)).toEqual([1, -1, 0, 0, 0.5, -0.5]);
    expect(asked).toEqual([[1, 0], [2, 0], [1, 1], [2, 1], [1, 2], [2, 2]]);
  });

  it("the bars state ±vmax and ±dmax and the scale's name; an RGB template says it has none", () => {
    const wrap = document.createElement("div");
    wrap.append(...scaleItems({ cview: "sum", what: "W_eff", scales: { vmax: 0.5, dmax: 2, name: "scale: all checkpoints" }, mmax: 0, hasBias: false }).filter(Boolean));
    const labels = (id) => [...wrap.querySelectorAll(`[data-testid=${id}] .linlens-scalebar-label`)].map((l) => l.textContent);
    expect(labels("scale-weights")).toEqual(["A, B W_eff −0.5", "+0.5"]);
    expect(labels("scale-diff")).toEqual(["A−B −2", "+2"]);
    expect(wrap.querySelector("[data-testid=scale-name]").textContent).toBe("(scale: all checkpoints)");
    expect(wrap.querySelector("[data-testid=scale-means]")).toBeNull();
    expect(wrap.lastElementChild.textContent).toBe(`${LEGEND_TEXT} · no bias in this network (b_eff = 0)`);
    const tpl = document.createElement("div");
    tpl.append(...scaleItems({ cview: "template", what: "W_eff", scales: { vmax: 1, dmax: 1, name: "x" }, mmax: 3, hasBias: true }).filter(Boolean));
    expect(tpl.querySelector("[data-testid=scale-template]")).not.toBeNull();
    expect(tpl.querySelector("[data-testid=scale-weights]")).toBeNull();
    expect(tpl.querySelector("[data-testid=scale-means] .linlens-scalebar-label").textContent).toBe("class mean W_eff −3");
  });
});

describe("neighbour row", () => {
  it("lists the first k neighbours, marks those of another class, and counts those sharing A's label", () => {
    const input = new Float32Array([0.1, 0.2, 0.3]);
    const nb = {
      index: [7, 9, 4],
      similarity: [0.9, 0.8, 0.7],
      thumbs: [{ label: 1, input }, { label: 0, input }, { label: 1, input }],
      agreement: 0.5,
    };
    const wrap = document.createElement("div");
    wrap.append(...neighbourItems({ nb, k: 2, label: 1, kind: "raw", simText: SIMILARITY_TEXT.raw, names: ["cat", "dog"], img: inputLayout([3]), display: {} }));
    const items = [...wrap.querySelectorAll(".linlens-nb")];
    expect(items.map((i) => i.dataset.sample)).toEqual(["7", "9"]);
    expect(items.map((i) => i.classList.contains("is-other"))).toEqual([false, true]);
    expect(items.map((i) => i.querySelector(".linlens-nb-label").textContent)).toEqual(["dog", "cat"]);
    expect(wrap.querySelector("[data-testid=neighbor-agreement]").textContent).toBe("neighbour agreement: 1/2 share A's label");
    expect(wrap.querySelector("[data-testid=neighbor-similarity]").textContent).toBe(" 2 nearest in W_eff space (raw cosine)");
    expect(wrap.querySelector("[data-testid=neighbor-similarity]").dataset.similarity).toBe("raw");
  });
});

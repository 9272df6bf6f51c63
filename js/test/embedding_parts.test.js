// @vitest-environment jsdom
// The embedding's DOM parts on their own, against a jsdom container: legend, tooltip, toolbar.
import { cameraView, colorIndex, pointScale } from "../src/embedding/preview.js";
import { boxCamera, projectPoint, viewBox } from "../src/frames.js";
import { describe, expect, it, vi } from "vitest";
import { RIGHT, WRONG, YES_NO } from "../src/embedding/colors.js";
import { renderLegend } from "../src/embedding/legend.js";
import { createToolbar, statusText, thousands } from "../src/embedding/toolbar.js";
import { createTooltip, tooltipRows } from "../src/embedding/tooltip.js";

const model = (traits = {}) => ({ get: (k) => traits[k] });

/** A view of 4 points of classes 0, 1, 2, 1 over 2 checkpoints (the embedding's shared state). */
function makeView(extra = {}, traits = {}) {
  const data = {
    labels: { data: new Int32Array([0, 1, 2, 1]), shape: [4] },
    classes: ["zero", "one", "two"],
    nClasses: 3,
    N: 4,
    E: 2,
    predictions: null,
    values: null,
    groups: null,
    thumbnails: null,
    ...extra,
  };
  const root = document.createElement("div");
  return { model: model(traits), root, data, checkpoint: 0, selection: [], hidden: [], mode: "label", groupsClass: -1 };
}

const rgb = (hex) => {
  const el = document.createElement("span");
  el.style.background = hex;
  return el.style.background;
};

describe("legend", () => {
  it("label mode: one button per class, pressed unless hidden; a click toggles that class", () => {
    const view = makeView();
    view.hidden = [1];
    const legend = document.createElement("div");
    const onToggle = vi.fn();
    renderLegend(legend, view, onToggle);
    const buttons = [...legend.querySelectorAll("button.linlens-legend-item")];
    expect(buttons.map((b) => b.textContent)).toEqual(["zero", "one", "two"]);
    expect(buttons.map((b) => b.dataset.class)).toEqual(["0", "1", "2"]);
    expect(buttons.map((b) => b.getAttribute("aria-pressed"))).toEqual(["true", "false", "true"]);
    expect(buttons[1].classList.contains("is-off")).toBe(true);
    expect(buttons[1].title).toBe("Show class one");
    buttons[2].click();
    expect(onToggle).toHaveBeenCalledWith(2);
  });

  it("redraws from scratch: a second call replaces the first legend", () => {
    const view = makeView();
    const legend = document.createElement("div");
    renderLegend(legend, view, () => {});
    view.mode = "correct";
    view.data.predictions = { data: new Uint8Array(8), shape: [2, 4] };
    renderLegend(legend, view, () => {});
    const items = [...legend.querySelectorAll(".linlens-legend-item")];
    expect(items.map((i) => i.textContent)).toEqual(["correct", "misclassified at this checkpoint"]);
    expect(items.map((i) => i.querySelector(".linlens-swatch").style.background)).toEqual([rgb(RIGHT), rgb(WRONG)]);
  });

  it("value mode: the value's name and its range over all checkpoints; yes/no values get a yes/no legend", () => {
    const view = makeView({ values: { data: new Float32Array([0.5, 2, Number.NaN, 1, 3, 4, 0.25, 1]), shape: [2, 4] } }, { value_name: "margin" });
    view.mode = "value";
    const legend = document.createElement("div");
    renderLegend(legend, view, () => {});
    expect(legend.querySelector(".linlens-colorbar-label").textContent).toBe("margin");
    expect([...legend.querySelectorAll(".linlens-tick")].map((t) => t.textContent)).toEqual(["0.25", "4"]);
    expect(legend.querySelector(".linlens-colorbar")).not.toBeNull();

    view.data.values = { data: new Float32Array([0, 1, 1, 0]), shape: [4] };
    renderLegend(legend, view, () => {});
    expect(legend.querySelector(".linlens-colorbar-label").textContent).toBe("margin:");
    const yes = legend.querySelector("[data-value=yes] .linlens-swatch");
    expect(yes.style.background).toBe(rgb(YES_NO.yes));
    expect(legend.querySelector(".linlens-tick")).toBeNull();
  });

  it("sub-clusters mode: the class named, one item per group with its size, and 'other'", () => {
    // class 1 (points 1 and 3) split into groups 0 and 1; the others are not in a group
    const view = makeView({ groups: { data: new Int32Array([-1, 0, -1, 1]), shape: [4] } });
    view.mode = "subclusters";
    view.groupsClass = 1;
    const legend = document.createElement("div");
    renderLegend(legend, view, () => {});
    expect(legend.querySelector(".linlens-colorbar-label").textContent).toMatch(/^Sub-clusters of class one /);
    expect([...legend.querySelectorAll("[data-group]")].map((g) => g.textContent)).toEqual(["group 1 (1)", "group 2 (1)"]);
    expect([...legend.querySelectorAll(".linlens-legend-item")].at(-1).textContent).toBe("other");
  });
});

describe("tooltip", () => {
  it("names the sample and its class, its prediction at the shown checkpoint, and its value", () => {
    const predictions = { data: new Uint8Array([0, 1, 2, 1, /* e1 */ 0, 2, 2, 1]), shape: [2, 4] };
    const values = { data: new Float32Array([0.5, 2, 3, 1]), shape: [4] };
    const view = makeView({ predictions, values }, { value_name: "margin" });
    const text = (i) => tooltipRows(view, i).map((r) => r.textContent);
    expect(text(1)).toEqual(["#1 · one", "predicted one ✓", "margin: 2"]);
    view.checkpoint = 1;
    expect(text(1)).toEqual(["#1 · one", "predicted two ✗", "margin: 2"]);
    expect(tooltipRows(view, 1)[1].className).toBe("linlens-bad");
  });

  it("shows beside the point inside the plot, and hides", () => {
    const view = makeView();
    const plot = document.createElement("div");
    Object.defineProperty(plot, "clientWidth", { value: 600 });
    Object.defineProperty(plot, "clientHeight", { value: 400 });
    const tip = createTooltip(view, plot);
    plot.append(tip.el);
    expect(tip.el.hidden).toBe(true);
    expect(tip.el.getAttribute("role")).toBe("tooltip");
    tip.show(2, [100, 100]);
    expect(tip.el.hidden).toBe(false);
    expect(tip.el.textContent).toBe("#2 · two");
    expect(tip.el.querySelector("img")).toBeNull(); // no thumbnails sent
    // jsdom lays nothing out: the tooltip counts as 180 x 70, right of and above the point
    expect([tip.el.style.left, tip.el.style.top]).toEqual(["112px", "88px"]);
    tip.show(3, [590, 390]); // near the corner: flipped left and up, still inside
    expect(tip.el.textContent).toBe("#3 · one");
    expect(parseFloat(tip.el.style.left) + 180).toBeLessThanOrEqual(600);
    expect(parseFloat(tip.el.style.top) + 70).toBeLessThanOrEqual(400);
    tip.hide();
    expect(tip.el.hidden).toBe(true);
  });

  it("is placed off the boxes that the marks take", () => {
    const view = makeView();
    const plot = document.createElement("div");
    Object.defineProperty(plot, "clientWidth", { value: 600 });
    Object.defineProperty(plot, "clientHeight", { value: 400 });
    const mark = [110, 80, 150, 105]; // where the tooltip would go without it
    const tip = createTooltip(view, plot, () => [mark]);
    tip.show(2, [100, 100]);
    const [left, top] = [parseFloat(tip.el.style.left), parseFloat(tip.el.style.top)];
    expect([left, top]).not.toEqual([112, 88]);
    const clear = left >= mark[2] || left + 180 <= mark[0] || top >= mark[3] || top + 70 <= mark[1];
    expect(clear).toBe(true);
  });
});

describe("toolbar", () => {
  it("offers the colourings the data allows, and only those", () => {
    const plain = createToolbar(makeView(), { tool() {}, reset() {}, clear() {} });
    expect([...plain.colorSelect.options].map((o) => o.value)).toEqual(["label"]);
    const rich = createToolbar(
      makeView(
        { predictions: { data: new Uint8Array(8), shape: [2, 4] }, values: { data: new Float32Array(4), shape: [4] }, groups: { data: new Int32Array([-1, 0, -1, 1]), shape: [4] } },
        { value_name: "margin" },
      ),
      { tool() {}, reset() {}, clear() {} },
    );
    expect([...rich.colorSelect.options].map((o) => [o.value, o.textContent])).toEqual([
      ["label", "Colour: label"],
      ["correct", "Colour: correct at checkpoint"],
      ["value", "Colour: margin"],
      ["subclusters:1", "Colour: sub-clusters of class one"],
    ]);
    expect(rich.offered("subclusters", 1)).toBe(true);
    expect(rich.offered("subclusters", 0)).toBe(false);
    expect(plain.offered("correct", -1)).toBe(false);
  });

  it("buttons call their actions; the pressed tool and the status follow the view", () => {
    const view = makeView();
    const actions = { tool: vi.fn(), reset: vi.fn(), clear: vi.fn() };
    const bar = createToolbar(view, actions);
    const button = (label) => bar.el.querySelector(`button[aria-label="${label}"]`);
    button("Lasso select").click();
    button("Box select").click();
    button("Reset view").click();
    button("Clear selection").click();
    expect(actions.tool.mock.calls).toEqual([["lasso"], ["box"]]);
    expect(actions.reset).toHaveBeenCalledOnce();
    expect(actions.clear).toHaveBeenCalledOnce();
    bar.showTool("box");
    expect(["Pan and zoom", "Lasso select", "Box select"].map((l) => button(l).getAttribute("aria-pressed"))).toEqual(["false", "false", "true"]);
    expect(view.root.dataset.tool).toBe("box");
    view.selection = [0, 2];
    view.hidden = [1, 2];
    bar.showStatus();
    expect(bar.el.querySelector(".linlens-status").textContent).toBe("4 points · 2 selected · 2 classes hidden");
    expect(view.root.dataset.selected).toBe("2");
    expect(statusText(1200, 0, 1)).toBe("1,200 points · 0 selected · 1 class hidden");
    expect([0, 999, 1000, 1234567, -45000].map(thousands)).toEqual(["0", "999", "1,000", "1,234,567", "-45,000"]);
  });
});

describe("first-frame preview", () => {
  it("projects with the camera regl-scatterplot starts with", () => {
    const { target, distance } = boxCamera(1.5);
    const view = cameraView(target, distance);
    // the view box's corner lands on the canvas's edge, less the camera's margin
    const [x, y] = projectPoint(1, viewBox(1.5)[1], view, 600, 400);
    expect(x).toBeCloseTo(300 + 300 / 1.08, 6);
    expect(y).toBeCloseTo(200 - 200 / 1.08, 6);
  });

  it("scales points as the WebGL scatter does: asinh when zoomed in, linear out", () => {
    expect(pointScale(1, 6)).toBeCloseTo(1, 9);
    expect(pointScale(0.5, 6)).toBeCloseTo(Math.asinh(2) / Math.asinh(1), 9);
    expect(pointScale(2, 6)).toBeCloseTo(0.5, 9);
    expect(pointScale(100, 6)).toBeCloseTo(1 / 6, 9); // never below 1 px
  });

  it("reads a categorical palette by value and a continuous one by its nearest stop", () => {
    expect(colorIndex(3, "categorical", 10)).toBe(3);
    expect(colorIndex(0.5, "continuous", 256)).toBe(128);
    expect(colorIndex(1, "continuous", 256)).toBe(255);
    expect(colorIndex(-2, "categorical", 4)).toBe(0);
  });
});

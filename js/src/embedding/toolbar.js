/**
 * The embedding's toolbar: the pan/lasso/box tools, reset view, clear selection, the colour menu
 * and the status line (points, selected, hidden classes).
 */
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { subclusterClasses } from "../marks.js";
import { colorSelectValue } from "./colors.js";

function toolButton(label, glyph, onclick) {
  return h("button", { type: "button", class: "linlens-tool", "aria-label": label, title: label, onclick }, glyph);
}

/** The colour menu: label, and each colouring the data allows. */
function colorMenu(data, valueName) {
  return h(
    "select",
    { class: "linlens-color", "aria-label": "Colour points by" },
    h("option", { value: "label" }, "Colour: label"),
    data.predictions ? h("option", { value: "correct" }, "Colour: correct at checkpoint") : null,
    data.values ? h("option", { value: "value" }, `Colour: ${valueName || "value"}`) : null,
    ...subclusterClasses(data.labels.data, data.groups?.data).map((c) =>
      h("option", { value: `subclusters:${c}` }, `Colour: sub-clusters of class ${data.classes[c] ?? c}`),
    ),
  );
}

/** The status line's text: how many points, how many selected, how many classes hidden. */
export function statusText(N, selected, hidden) {
  const hiddenNote = hidden ? ` · ${hidden} class${hidden > 1 ? "es" : ""} hidden` : "";
  return `${thousands(N)} points · ${selected} selected${hiddenNote}`;
}

/**
 * A whole number with commas between thousands ("10,000"), as the page's English text writes
 * it. Not `toLocaleString`: its first call loads the locale data (~15 ms on a saved page's
 * first draw).
 */
export function thousands(n) {
  const digits = String(Math.trunc(Math.abs(n)));
  return `${n < 0 ? "-" : ""}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
}

/**
 * Build the toolbar for `view` (the embedding's shared state: `data`, `model`, `root`).
 * `actions` are `tool(name)`, `reset()` and `clear()`. Returns the element, the colour menu,
 * `showTool(name)` (which tool button is pressed), `showStatus()` and `offered(mode, c)`.
 */
export function createToolbar(view, actions) {
  const status = h("span", { class: "linlens-status", "aria-live": "polite" });
  const colorSelect = colorMenu(view.data, view.model.get("value_name"));
  const tools = {
    pan: toolButton("Pan and zoom", icon("pan"), () => actions.tool("pan")),
    lasso: toolButton("Lasso select", icon("lasso"), () => actions.tool("lasso")),
    box: toolButton("Box select", icon("box"), () => actions.tool("box")),
  };
  const resetBtn = toolButton("Reset view", icon("reset"), () => actions.reset());
  const clearBtn = toolButton("Clear selection", icon("clear"), () => actions.clear());
  const el = h(
    "div",
    { class: "linlens-toolbar", role: "toolbar", "aria-label": "Embedding tools" },
    tools.pan,
    tools.lasso,
    tools.box,
    resetBtn,
    clearBtn,
    colorSelect,
    status,
  );
  return {
    el,
    colorSelect,
    /** Whether the colour menu offers this mode (and class, for sub-clusters). */
    offered: (mode, c) => [...colorSelect.options].some((o) => o.value === colorSelectValue(mode, c)),
    showTool(tool) {
      for (const [t, btn] of Object.entries(tools)) btn.setAttribute("aria-pressed", String(t === tool));
      view.root.dataset.tool = tool;
    },
    showStatus() {
      status.textContent = statusText(view.data.N, view.selection.length, view.hidden.length);
      view.root.dataset.selected = String(view.selection.length);
    },
  };
}

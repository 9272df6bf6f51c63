/**
 * The embedding's legend, drawn for the colour mode shown: class buttons that hide or show a
 * class (label), the groups of a sub-clustered class, correct/misclassified, yes/no, or a colour
 * bar with the value range.
 */
import { categoricalColor, cssGradient, finiteRange, viridis } from "../colormaps.js";
import { fmt, guarded, h } from "../dom.js";
import { GREY, subclusterEncoding } from "../marks.js";
import { isYesNo, RIGHT, WRONG, YES_NO } from "./colors.js";

const swatch = (color) => h("span", { class: "linlens-swatch", style: { background: color } });

function classButtons(view, onToggle) {
  const { data, hidden } = view;
  const names = data.classes.length ? data.classes : Array.from({ length: data.nClasses }, (_, k) => String(k));
  return names.map((name, k) => {
    const off = hidden.includes(k);
    return h(
      "button",
      {
        type: "button",
        class: `linlens-legend-item${off ? " is-off" : ""}`,
        "aria-pressed": String(!off),
        "aria-label": `Class ${name}`,
        "data-class": k,
        title: off ? `Show class ${name}` : `Hide class ${name}`,
        onclick: guarded(view.root, () => onToggle(k), "legend"),
      },
      swatch(categoricalColor(k)),
      name,
    );
  });
}

function subclusterItems({ data, groupsClass }) {
  const { sizes } = subclusterEncoding(data.labels.data, data.groups.data, groupsClass);
  const name = data.classes[groupsClass] ?? String(groupsClass);
  return [
    h("span", { class: "linlens-colorbar-label" }, `Sub-clusters of class ${name} (found at the last checkpoint, same samples at every checkpoint):`),
    ...sizes.map((n, g) => h("span", { class: "linlens-legend-item", "data-group": g }, swatch(categoricalColor(g)), `group ${g + 1} (${n})`)),
    h("span", { class: "linlens-legend-item" }, swatch(GREY), "other"),
  ];
}

function valueItems({ data, model }) {
  const name = model.get("value_name") || "value";
  if (isYesNo(data.values.data)) {
    return [
      h("span", { class: "linlens-colorbar-label" }, `${name}:`),
      h("span", { class: "linlens-legend-item", "data-value": "yes" }, swatch(YES_NO.yes), "yes"),
      h("span", { class: "linlens-legend-item", "data-value": "no" }, swatch(YES_NO.no), "no"),
    ];
  }
  const [lo, hi] = finiteRange(data.values.data);
  return [
    h("span", { class: "linlens-colorbar-label" }, name),
    h("span", { class: "linlens-tick" }, fmt(lo)),
    h("span", { class: "linlens-colorbar", style: { background: cssGradient(viridis) } }),
    h("span", { class: "linlens-tick" }, fmt(hi)),
  ];
}

/**
 * Fill `legend` for the colour mode of `view` (the embedding's shared state: `data`, `model`,
 * `root`, `mode`, `groupsClass`, `hidden`). `onToggle(k)` hears a click on class k's button.
 */
export function renderLegend(legend, view, onToggle) {
  legend.replaceChildren();
  if (view.mode === "label") legend.append(...classButtons(view, onToggle));
  else if (view.mode === "subclusters" && view.data.groups) legend.append(...subclusterItems(view));
  else if (view.mode === "correct") {
    legend.append(
      h("span", { class: "linlens-legend-item" }, swatch(RIGHT), "correct"),
      h("span", { class: "linlens-legend-item" }, swatch(WRONG), "misclassified at this checkpoint"),
    );
  } else legend.append(...valueItems(view));
}

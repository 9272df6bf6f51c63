/**
 * The comparison's controls: the similarity, W_eff or contributions, the channel view of a colour
 * input, the colour scale (this checkpoint or all checkpoints), A's and B's classes or all, and
 * the presentation size. Each writes its trait; `show()` sets them from the model.
 */
import { h } from "../dom.js";
import { CHANNEL_VIEW_TEXT, CHANNEL_VIEWS, effectiveView } from "../images.js";

function select(attrs, options) {
  return h("select", attrs, ...options.map(([value, text]) => h("option", { value }, text)));
}

/**
 * Build the controls of `view` (the comparison's shared state: `model`, `classChoice`,
 * `compact`); `redraw()` follows a change of A's-and-B's-classes-or-all, a local choice.
 */
export function createControls(view, bag, redraw) {
  const { model } = view;
  const setTrait = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const simSelect = select({ "aria-label": "similarity", "data-testid": "similarity", title: "which similarity the cosines show" }, [
    ["centred", "centred cosine"],
    ["raw", "raw cosine"],
  ]);
  const viewSelect = select(
    { "aria-label": "images show", "data-testid": "view", title: "show W_eff, or the contributions W_eff ⊙ x whose sum (+ b_eff) is the score f" },
    [["weights", "W_eff"], ["contributions", "W_eff ⊙ x"]],
  );
  const channelSelect = select(
    { "aria-label": "colour channels", "data-testid": "channel-view", title: "how the W_eff of a colour input is drawn: summed over channels (diverging), one image per channel, or an RGB template (each channel rescaled to [0, 1])" },
    CHANNEL_VIEWS.map((v) => [v, CHANNEL_VIEW_TEXT[v]]),
  );
  const channelLabel = h("label", {}, "channels ", channelSelect);
  const sizeButton = h("button", { class: "linlens-tool", type: "button", "data-testid": "presentation", title: "presentation size (larger text)" }, "Aa");
  bag.listen(simSelect, "change", () => setTrait("similarity", simSelect.value));
  bag.listen(viewSelect, "change", () => setTrait("view", viewSelect.value));
  bag.listen(channelSelect, "change", () => setTrait("channel_view", channelSelect.value));
  bag.listen(sizeButton, "click", () => setTrait("presentation", !model.get("presentation")));
  // A's and B's classes only (compact, when the full grid does not fit), or every class.
  const classesButton = h("button", { class: "linlens-tool linlens-classes-toggle", type: "button", "data-testid": "all-classes" });
  bag.listen(classesButton, "click", () => {
    view.classChoice = view.compact ? "all" : "focus";
    redraw();
  });
  const scaleSelect = select(
    { "aria-label": "colour scale", "data-testid": "scale", title: "the W_eff colour scale: the largest value at this checkpoint, or over all checkpoints (magnitudes comparable across training)" },
    [["checkpoint", "this checkpoint"], ["run", "all checkpoints"]],
  );
  bag.listen(scaleSelect, "change", () => setTrait("scale", scaleSelect.value));
  const el = h("div", { class: "linlens-compare-controls" });
  el.append(h("label", {}, "similarity ", simSelect), h("label", {}, "images ", viewSelect), channelLabel, h("label", {}, "scale ", scaleSelect), classesButton, sizeButton);

  return {
    el,
    /** Set the controls from the model (the channel switch only where there are channels). */
    show(layout) {
      view.root.classList.toggle("is-presentation", Boolean(model.get("presentation")));
      sizeButton.setAttribute("aria-pressed", model.get("presentation") ? "true" : "false");
      simSelect.value = model.get("similarity") === "raw" ? "raw" : "centred";
      viewSelect.value = model.get("view") === "contributions" ? "contributions" : "weights";
      channelLabel.style.display = layout.kind === "image" && layout.C > 1 ? "" : "none";
      channelSelect.value = effectiveView(layout, model.get("channel_view"));
    },
    showScale() {
      scaleSelect.value = model.get("scale") === "run" ? "run" : "checkpoint";
    },
    /** Say on the toggle what a click does: show all C classes, or A's and B's only. */
    showClasses(C, chosen) {
      const { compact } = view;
      classesButton.hidden = chosen;
      classesButton.textContent = compact ? `all ${C} classes` : "A's and B's classes";
      classesButton.title = compact ? `show W_eff for every class (${C})` : "show only A's and B's classes and their predicted classes";
      classesButton.setAttribute("aria-pressed", String(!compact));
    },
  };
}

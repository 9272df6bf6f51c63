/**
 * The pointer over the embedding's plot: when the wheel zooms rather than scrolls the page, the
 * gentle zoom step, shift+drag kept from the notebook, and a click that picks a point (but not
 * the click that ends a drag).
 */
import { guarded, h } from "../dom.js";
import { gentleWheelDelta } from "../marks.js";

/** Whether a wheel event over the scatter zooms it (else the page scrolls, as everywhere). */
export function wheelZooms(ev, engaged) {
  return Boolean(engaged || ev.ctrlKey || ev.metaKey || ev.altKey);
}

/**
 * The wheel scrolls the page, as everywhere, unless the user has clicked into the scatter (until
 * a click elsewhere or the pointer leaves it) or holds Ctrl, Cmd or Alt: then it zooms, gently
 * (one notch of an ordinary mouse zooms by 1.18x, 3-4 notches 1.6-1.9x). The event is caught on
 * its way to the canvas and handed on with a scaled delta. Otherwise a hint says how to zoom.
 */
function handleWheel(root, { plot, canvas, doc }, bag) {
  let engaged = false;
  const hint = h("div", { class: "linlens-wheel-hint", hidden: true }, "Click the plot, or hold Ctrl, to zoom with the wheel");
  plot.append(hint);
  let hintTimer = null;
  bag.add(() => clearTimeout(hintTimer));
  bag.listen(plot, "pointerdown", () => {
    engaged = true;
    hint.hidden = true;
    root.dataset.wheel = "zoom";
  }, true);
  const disengage = () => {
    engaged = false;
    delete root.dataset.wheel;
  };
  bag.listen(plot, "pointerleave", disengage);
  bag.listen(doc, "pointerdown", (ev) => {
    if (!plot.contains(ev.target)) disengage();
  }, true);
  bag.listen(plot, "wheel", (ev) => {
    if (ev.linlensScaled) return;
    ev.stopPropagation();
    if (!wheelZooms(ev, engaged)) {
      hint.hidden = false;
      clearTimeout(hintTimer);
      hintTimer = setTimeout(() => {
        hint.hidden = true;
      }, 1200);
      return;
    }
    ev.preventDefault();
    const deltaY = gentleWheelDelta(ev.deltaY || ev.deltaX, ev.deltaMode, canvas.clientHeight);
    if (!deltaY) return;
    const scaled = new WheelEvent("wheel", { deltaY, deltaMode: 0, clientX: ev.clientX, clientY: ev.clientY, bubbles: true, cancelable: true });
    scaled.linlensScaled = true;
    canvas.dispatchEvent(scaled);
  }, { capture: true, passive: false });
}

/**
 * A click picks a point; the click that ends a drag (pan, lasso, box) does not. Caught in the
 * capture phase, so that the scatter's own click handler does not replace a lasso's selection
 * with the point under the cursor when the drag ends on a point. The drag's furthest excursion
 * counts, not its net displacement: a closed lasso ends where it began.
 */
function handleClicks(root, { plot, canvas, scatterplot, onPick }, bag) {
  let downAt = null;
  let travelled = 0;
  bag.listen(plot, "pointerdown", (ev) => {
    downAt = [ev.clientX, ev.clientY];
    travelled = 0;
  }, true);
  bag.listen(window, "pointermove", (ev) => {
    if (downAt) travelled = Math.max(travelled, Math.hypot(ev.clientX - downAt[0], ev.clientY - downAt[1]));
  }, true);
  bag.listen(plot, "click", (ev) => {
    const dragged = travelled > 4;
    downAt = null;
    travelled = 0;
    if (dragged) ev.stopPropagation();
  }, true);
  bag.listen(canvas, "click", guarded(root, (ev) => {
    const i = scatterplot.get("hoveredPoint");
    if (Number.isInteger(i) && i >= 0) onPick?.(i, { shift: ev.shiftKey });
  }, "pick"));
}

/**
 * Listen to the pointer over `plot` (holding `canvas` drawn by `scatterplot`) of the widget
 * `root`; `onPick(i, {shift})` hears a click on point i. Listeners go into `bag`.
 */
export function handlePointer(root, { plot, canvas, scatterplot, doc, onPick }, bag) {
  handleWheel(root, { plot, canvas, doc }, bag);
  // Shift+drag is our lasso: keep that mousedown from reaching the notebook, which would start a
  // shift-selection of cells and capture the drag's mouse moves (JupyterLab, Notebook 7).
  bag.listen(plot, "mousedown", (ev) => {
    if (ev.shiftKey) ev.stopPropagation();
  });
  handleClicks(root, { plot, canvas, scatterplot, onPick }, bag);
}

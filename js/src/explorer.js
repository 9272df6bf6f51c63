/**
 * LensExplorer front end: the scrubber, the scatter and the comparison in one layout, linked on
 * the client (so scrubbing never waits for the kernel, and the same links work in a saved page).
 * This is the only place the explorer's links are applied; the kernel mirrors the linked traits
 * as they sync back. The child widgets are separate models; this view renders each with its own
 * module's render.
 */
import { renderCompare } from "./compare.js";
import { Disposer, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { renderEmbedding } from "./embedding.js";
import { renderScrubber } from "./scrubber.js";
import { operandsFromBrush, operandsFromPick } from "./selection.js";
import { CONTRACT } from "./contract.js";

const PREFIX = "IPY_MODEL_";

/** Resolve a widget reference ("IPY_MODEL_<id>") to its model through the host's manager. */
export async function resolveModel(model, ref, name) {
  if (typeof ref !== "string" || !ref.startsWith(PREFIX)) {
    throw new Error(`${name}: expected a widget reference, got ${JSON.stringify(ref)}`);
  }
  const manager = model.widget_manager;
  if (!manager?.get_model) throw new Error("this notebook host cannot resolve child widgets");
  const child = await manager.get_model(ref.slice(PREFIX.length));
  if (!child) throw new Error(`${name}: widget ${ref} is not known to this page`);
  return child;
}

/** Set a trait on a model and sync it, only when it changes. */
export function setIfChanged(model, name, value) {
  const cur = model.get(name);
  if (cur === value || JSON.stringify(cur) === JSON.stringify(value)) return false;
  model.set(name, value);
  model.save_changes();
  return true;
}

/**
 * Link the three models as the contract's `links` say: scrubber checkpoint -> scatter and
 * comparison; a brush in the scatter -> operand A (B when shift was held, see `shiftHeld`); a
 * click on a point -> A = [i] (shift: B); the operands -> the scatter's A/B markers; the
 * comparison's neighbours (`onNeighbors`) -> the scatter's highlighted points. Returns
 * {onPick, onNeighbors, unlink}.
 */
export function linkModels({ scrubber, embedding, compare }, bag = new Disposer(), { shiftHeld = () => false } = {}) {
  const models = { scrubber, embedding, compare };
  const position = CONTRACT.links.checkpoint;
  const source = models[position.from[0]];
  const onCheckpoint = () => {
    const k = source.get(position.from[1]);
    for (const [widget, trait] of position.to) setIfChanged(models[widget], trait, k);
  };
  const operands = () => ({ a: compare.get("a") ?? [], b: compare.get("b") ?? [] });
  const setOperands = (next) => {
    setIfChanged(compare, "a", next.a);
    setIfChanged(compare, "b", next.b);
  };
  const onSelection = () => {
    const sel = embedding.get("selection") ?? [];
    // A click selects one point and is handled by onPick; two or more are a brush.
    setOperands(operandsFromBrush(sel, operands(), { shift: shiftHeld() }));
  };
  // The scatter marks the operands: names of the marked traits come from the contract.
  const marks = CONTRACT.links.operands.marks;
  const onOperands = () => {
    for (const [, from, widget, trait] of marks) setIfChanged(models[widget], trait, compare.get(from) ?? []);
  };
  const [, , nbWidget, nbTrait] = CONTRACT.links.neighbors.marks[0];
  const onNeighbors = (indices) => setIfChanged(models[nbWidget], nbTrait, Array.from(indices ?? []));
  bag.onModel(source, `change:${position.from[1]}`, onCheckpoint);
  bag.onModel(embedding, "change:selection", onSelection);
  bag.onModel(compare, "change:a", onOperands);
  bag.onModel(compare, "change:b", onOperands);
  const onPick = (i, { shift }) => setOperands(operandsFromPick(i, operands(), { shift }));
  onCheckpoint();
  onOperands();
  return { onPick, onNeighbors, unlink: () => bag.dispose() };
}

// ---- keys: after a click inside the explorer, its keys drive the explorer, never the notebook.

const EXPLORER_KEYS = new Set(["ArrowLeft", "ArrowRight", " ", "Escape"]);

/**
 * What a key pressed inside the explorer does, as {checkpoint?, playing?, clear?} (null: not
 * ours). `checkpoint` is the current position, `E` the number of checkpoints.
 */
export function explorerKeyAction(key, { checkpoint, E, playing }) {
  if (key === "ArrowLeft") return { checkpoint: Math.max(0, checkpoint - 1) };
  if (key === "ArrowRight") return { checkpoint: Math.min(E - 1, checkpoint + 1) };
  if (key === " ") return { playing: !playing };
  if (key === "Escape") return { clear: true };
  return null;
}

/** Whether a key event belongs to a control that needs its own keys (text fields, selects). */
function ownsKeys(target) {
  const tag = target?.tagName;
  return tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && target.type !== "range" && target.type !== "checkbox");
}

/**
 * Make the explorer root keep the keyboard: focusable, marked so that JupyterLab / Notebook 7
 * (Lumino) skip their shortcuts for keys from inside it, focused by any click inside it, and
 * stopping its keys from reaching the notebook.
 */
export function bindExplorerKeys(root, { scrubber, embedding, compare }, bag) {
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-keyshortcuts", "ArrowLeft ArrowRight Space Escape");
  // A press on a point, the canvas or a panel focuses the root (controls keep their own focus);
  // the click repeats it, because the notebook may take the focus on mousedown.
  const focusRoot = (ev) => {
    const tag = ev.target?.tagName;
    if (ownsKeys(ev.target) || tag === "BUTTON" || tag === "INPUT") return;
    root.focus({ preventScroll: true });
  };
  bag.listen(root, "pointerdown", focusRoot);
  bag.listen(root, "click", focusRoot);
  bag.listen(root, "keydown", guarded(root, (ev) => {
    if (!EXPLORER_KEYS.has(ev.key) || ownsKeys(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    ev.stopPropagation();
    ev.preventDefault();
    const frames = scrubber.get("_frames") ?? [];
    const action = explorerKeyAction(ev.key, {
      checkpoint: scrubber.get("checkpoint") ?? 0,
      E: Math.max(frames.length, 1),
      playing: Boolean(scrubber.get("playing")),
    });
    if (action?.checkpoint !== undefined) setIfChanged(scrubber, "checkpoint", action.checkpoint);
    if (action?.playing !== undefined) setIfChanged(scrubber, "playing", action.playing);
    if (action?.clear) {
      for (const name of ["selection", "marked_a", "marked_b", "highlighted"]) setIfChanged(embedding, name, []);
      for (const name of ["a", "b"]) if (Array.isArray(compare.get(name))) setIfChanged(compare, name, []);
    }
  }, "keyboard"));
  // Keys released or typed inside the explorer do not reach the notebook either.
  for (const type of ["keyup", "keypress"]) {
    bag.listen(root, type, (ev) => {
      if (EXPLORER_KEYS.has(ev.key) && !ownsKeys(ev.target)) ev.stopPropagation();
    });
  }
}

export async function renderExplorer({ model, el }) {
  const root = makeRoot(el, "explorer");
  const bag = new Disposer();
  const cleanups = [];
  try {
    const [scrubber, embedding, compare] = await Promise.all([
      resolveModel(model, model.get("scrubber"), "scrubber"),
      resolveModel(model, model.get("embedding"), "embedding"),
      resolveModel(model, model.get("compare"), "compare"),
    ]);
    const top = h("div", { class: "linlens-ex-top" });
    const left = h("div", { class: "linlens-ex-left" });
    const right = h("div", { class: "linlens-ex-right" });
    const help = h(
      "div",
      { class: "linlens-help" },
      "Drag the slider or press play to watch training. Click a point to make it A; shift-click sets B. A lasso or box selection makes the group A (compared by its mean W_eff); with shift held it sets B.",
    );
    root.append(top, h("div", { class: "linlens-ex-main" }, left, right), help);
    // Whether shift was held during the last pointer gesture in the scatter (capture phase, so
    // the scatter's own handlers cannot hide it): a shift+brush sets B.
    // Only a gesture that just ended counts: a selection set later from Python is a plain brush.
    let shift = false;
    let at = -Infinity;
    const noteShift = (ev) => {
      shift = Boolean(ev.shiftKey);
      at = performance.now();
    };
    for (const type of ["pointerdown", "pointerup", "mousedown", "mouseup"]) bag.listen(left, type, noteShift, true);
    const shiftHeld = () => shift && performance.now() - at < 1500;
    const links = linkModels({ scrubber, embedding, compare }, bag, { shiftHeld });
    // Presentation size applies to the whole explorer; the comparison's trait holds it.
    const onSize = () => root.classList.toggle("is-presentation", Boolean(compare.get("presentation")));
    bag.onModel(compare, "change:presentation", onSize);
    onSize();
    cleanups.push(renderScrubber({ model: scrubber, el: top }));
    cleanups.push(renderEmbedding({ model: embedding, el: left, hooks: { onPick: guarded(root, links.onPick, "pick"), badge: false } }));
    cleanups.push(renderCompare({ model: compare, el: right, hooks: { onNeighbors: guarded(root, links.onNeighbors, "neighbours") } }));
    bindExplorerKeys(root, { scrubber, embedding, compare }, bag);
    root.dataset.ready = "true";
  } catch (e) {
    showError(root, e, "LensExplorer");
  }
  return () => {
    bag.dispose();
    for (const c of cleanups.reverse()) c?.();
    root.remove();
  };
}

export default { render: renderOrShowError(renderExplorer, "explorer", "LensExplorer") };

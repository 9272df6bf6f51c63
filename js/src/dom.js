/**
 * Small DOM helpers shared by every widget: element creation, the error box that replaces a
 * blank cell, one stylesheet per document, and listener bookkeeping for cleanup.
 */
import { CSS } from "./style.js";

/** Create an element: h("div", {class: "x", "aria-label": "y"}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Insert the package stylesheet once per document. */
export function ensureStyle(doc = document) {
  if (doc.getElementById("linlens-style")) return;
  const style = doc.createElement("style");
  style.id = "linlens-style";
  style.textContent = CSS;
  doc.head.append(style);
}

/** The widget's root element, per the DOM contract: div.linlens-root[data-linlens=kind]. */
export function makeRoot(el, kind) {
  ensureStyle(el.ownerDocument ?? document);
  const root = h("div", { class: "linlens-root", "data-linlens": kind });
  el.append(root);
  return root;
}

/** Describe an error in one line that names the problem. */
export function describeError(err) {
  if (err instanceof Error) return `${err.name === "Error" ? "" : `${err.name}: `}${err.message}`;
  return String(err);
}

/**
 * Show an error inside the widget (never a blank cell). Replaces an earlier message so repeated
 * failures do not pile up.
 */
export function showError(root, err, context = "") {
  let box = root.querySelector(":scope > .linlens-error");
  if (!box) {
    box = h("div", { class: "linlens-error", role: "alert" });
    root.prepend(box);
  }
  box.textContent = `${context ? `${context}: ` : ""}${describeError(err)}`;
  return box;
}

/** Remove a shown error, if any. */
export function clearError(root) {
  root.querySelector(":scope > .linlens-error")?.remove();
}

/**
 * Wrap a callback so that any exception (sync or async) is shown in the widget instead of
 * escaping to the page.
 */
export function guarded(root, fn, context = "") {
  return (...args) => {
    try {
      const r = fn(...args);
      if (r && typeof r.then === "function") r.catch((e) => showError(root, e, context));
      return r;
    } catch (e) {
      showError(root, e, context);
      return undefined;
    }
  };
}

/**
 * The `render` of an anywidget module: draws with `render({model, el})`, and when that throws,
 * shows the error inside the widget (never a blank cell). `kind` is the root's data-linlens, and
 * `name` the widget class named in the message.
 */
export function renderOrShowError(render, kind, name) {
  return ({ model, el }) => {
    try {
      return render({ model, el });
    } catch (e) {
      const root = el.querySelector(".linlens-root") ?? makeRoot(el, kind);
      showError(root, e, name);
      return () => root.remove();
    }
  };
}

/** Collects teardown functions; `dispose()` runs them all once, in reverse order. */
export class Disposer {
  constructor() {
    this.fns = [];
  }

  add(fn) {
    this.fns.push(fn);
    return fn;
  }

  /** addEventListener that is removed on dispose. */
  listen(target, type, fn, options) {
    target.addEventListener(type, fn, options);
    this.add(() => target.removeEventListener(type, fn, options));
  }

  /** model.on that is removed on dispose. */
  onModel(model, event, fn) {
    model.on(event, fn);
    this.add(() => model.off(event, fn));
  }

  dispose() {
    const fns = this.fns.reverse();
    this.fns = [];
    for (const fn of fns) {
      try {
        fn();
      } catch (e) {
        // Teardown must not throw into the host; report and continue.
        console.warn("linlens: cleanup step failed", e);
      }
    }
  }
}

/** Format a number compactly for labels (3 significant digits; integers stay integers). */
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/** Render an RGBA pixel buffer of an h x w image into a data: URL (via a detached canvas). */
export function pixelsToDataURL(pixels, w, hgt) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = hgt;
  const ctx = c.getContext("2d");
  ctx.putImageData(new ImageData(pixels, w, hgt), 0, 0);
  return c.toDataURL();
}

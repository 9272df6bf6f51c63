/**
 * The marks drawn over the scatter (an SVG layer): operand A's and B's markers and rings, their
 * trails across checkpoints, and the highlighted neighbours. They follow the points while the
 * points glide from one checkpoint to the next and when the canvas is resized.
 */
import { frame } from "../frames.js";
import { drawMarks, trailPath, transitionFrame } from "../marks.js";
import { normalizeSelection } from "../selection.js";
import { TRANSITION_MS } from "./scatter.js";

/** The SVG layer the marks are drawn in. */
export function overlayLayer() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "linlens-overlay");
  svg.setAttribute("aria-hidden", "true");
  return svg;
}

/**
 * The boxes of A's and B's markers (ring and label, `pad` px wider for their white halo) in
 * `layer`, as [left, top, right, bottom] px in `plot`: what the tooltip keeps clear of.
 */
export function markBoxes(layer, plot, pad = 3) {
  const origin = plot.getBoundingClientRect();
  return [...layer.querySelectorAll(".linlens-mark")].map((g) => {
    const r = g.getBoundingClientRect();
    return [r.left - origin.left - pad, r.top - origin.top - pad, r.right - origin.left + pad, r.bottom - origin.top + pad];
  });
}

/** What the model asks to mark: A's and B's indices, highlighted indices, and whether to trail. */
export function readMarks(model, N) {
  const clean = (v) => normalizeSelection(v ?? [], N);
  return { a: clean(model.get("marked_a")), b: clean(model.get("marked_b")), highlighted: clean(model.get("highlighted")), trails: Boolean(model.get("trails")) };
}

/**
 * The marks of `view` (the embedding's shared state: `model`, `root`, `data`, `positions`,
 * `checkpoint`) in `layer`, over `canvas` drawn by `scatterplot`. Returns `draw()`, `read()`
 * (the model's marks changed), `refit()` (the frames were filled again), `glide(from, to)` and
 * `close()`.
 */
export function createOverlay(view, { layer, canvas, scatterplot, pointSize }) {
  const { model, root } = view;
  let marks = readMarks(model, view.data.N);
  let trailCache = null;
  let shownFrame = frame(view.positions, view.checkpoint);
  let animation = null;

  function trails() {
    if (!marks.trails) return null;
    const key = `${marks.a}|${marks.b}`;
    if (trailCache?.key !== key) {
      const { positions } = view;
      trailCache = { key, paths: { ...(marks.a.length ? { a: trailPath(positions, marks.a) } : {}), ...(marks.b.length ? { b: trailPath(positions, marks.b) } : {}) } };
    }
    return trailCache.paths;
  }

  function draw(xy = shownFrame) {
    const rect = canvas.getBoundingClientRect();
    if (!(rect.width > 0 && rect.height > 0)) return;
    const camera = scatterplot.get("cameraView");
    const radius = Math.max(5, (scatterplot.get("pointSize") || pointSize()) * 0.75);
    drawMarks(layer, xy, camera, rect.width, rect.height, { a: marks.a, b: marks.b, highlighted: marks.highlighted, trails: trails(), radius });
    root.dataset.marks = [marks.a.length ? "a" : "", marks.b.length ? "b" : "", marks.highlighted.length ? "h" : ""].join("");
  }

  // While the points glide to the next checkpoint, the marks glide with them.
  function glide(from, to) {
    if (animation) cancelAnimationFrame(animation);
    shownFrame = frame(view.positions, to);
    const hasMarks = marks.a.length || marks.b.length || marks.highlighted.length;
    if (!hasMarks || from === to || typeof requestAnimationFrame === "undefined") {
      draw();
      return;
    }
    const t0 = performance.now();
    const step = () => {
      const t = (performance.now() - t0) / TRANSITION_MS;
      if (t >= 1) {
        animation = null;
        draw();
        return;
      }
      draw(transitionFrame(view.positions, from, to, t));
      animation = requestAnimationFrame(step);
    };
    animation = requestAnimationFrame(step);
  }

  return {
    draw: () => draw(),
    read() {
      marks = readMarks(model, view.data.N);
      draw();
    },
    refit() {
      shownFrame = frame(view.positions, view.checkpoint);
      trailCache = null;
    },
    glide,
    close: () => animation && cancelAnimationFrame(animation),
  };
}

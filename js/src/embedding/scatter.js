/**
 * The embedding's WebGL scatter (regl-scatterplot): drawn straight into the widget's one canvas,
 * every checkpoint's layout filled to the canvas's shape, refitted when the canvas is resized,
 * coloured by the view's mode, and projected to CSS px for the marks, the tooltip and the tests.
 */
import createScatterplot, { createRenderer } from "regl-scatterplot";
import { autoPointSize, boxCamera, DrawQueue, fillFrames, frame, projectPoint, toPoints } from "../frames.js";
import { visibleIndices } from "../selection.js";
import { colorEncoding } from "./colors.js";

/** How long the points glide from one checkpoint's layout to the next (ms). */
export const TRANSITION_MS = 350;

/** Point size for n points (px) on a canvas of width x height CSS px (see `autoPointSize`). */
export function defaultPointSize(n, width = 640, height = 420) {
  return autoPointSize(n, width, height);
}

/**
 * A regl-scatterplot renderer that draws straight into the visible canvas, so the widget holds
 * exactly one canvas and it is the WebGL one. regl-scatterplot normally renders on a hidden
 * canvas and copies each frame onto a 2D canvas; here the copy becomes a no-op because source
 * and target are the same canvas.
 */
export function createCanvasRenderer(canvas) {
  const nativeGetContext = canvas.getContext.bind(canvas);
  const noCopy = { clearRect() {}, drawImage() {} };
  canvas.getContext = (type, ...rest) => (type === "2d" ? noCopy : nativeGetContext(type, ...rest));
  return createRenderer({ canvas });
}

/**
 * The plot's resolved background colour as [r, g, b, a] in 0..1 (follows the notebook theme, so
 * the gap ring drawn around selected points matches the page). Transparent when unknown.
 */
export function themeBackground(node) {
  try {
    const css = getComputedStyle(node).backgroundColor;
    const m = css.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return a === 0 ? [0, 0, 0, 0] : [r / 255, g / 255, b / 255, a];
  } catch {
    return [0, 0, 0, 0];
  }
}

function scatterOptions(view, { canvas, plot, renderer }, pointSize) {
  const camera0 = boxCamera(view.aspect);
  return {
    cameraTarget: camera0.target,
    cameraDistance: camera0.distance,
    renderer,
    canvas,
    width: "auto",
    height: "auto",
    pointSize,
    pointSizeSelected: 2,
    pointOutlineWidth: 2,
    opacity: view.data.N > 20000 ? 0.8 : 1,
    lassoType: "freeform",
    lassoColor: [0.2, 0.2, 0.2, 1],
    deselectOnDblClick: true,
    deselectOnEscape: true,
    backgroundColor: themeBackground(plot),
    pointColorActive: [0.07, 0.07, 0.07, 1],
    pointColorHover: [0.4, 0.4, 0.4, 1],
    colorBy: "valueA",
  };
}

/**
 * Create the scatter of `view` (the embedding's shared state) on `canvas` inside `plot` with
 * `renderer`. Each checkpoint's layout is scaled to fill the canvas (`fillFrames`), so the camera
 * shows the canvas-shaped box and stays put while scrubbing: points glide, and the layout's scale
 * with them. "Reset view" returns there. `on.drawn()` hears each finished draw and each resize,
 * `on.refilled()` a new canvas shape (the frames were filled again). Call `startFitting()` once
 * the listeners are ready.
 */
export function createScatter(view, { canvas, plot, renderer }, bag, on) {
  const rect0 = plot.getBoundingClientRect();
  view.aspect = rect0.width > 0 && rect0.height > 0 ? rect0.width / rect0.height : 1;
  view.positions = fillFrames(view.data.positions, view.aspect);
  const { model, data, root } = view;
  const pointSize = () => model.get("point_size") || defaultPointSize(data.N, plot.clientWidth, plot.clientHeight);
  const scatterplot = createScatterplot(scatterOptions(view, { canvas, plot, renderer }, pointSize()));
  const gl = canvas.getContext("webgl");
  bag.add(() => {
    scatterplot.destroy();
    // The renderer was created here, so its WebGL context is ours to free (browsers allow
    // only a handful of live contexts per page).
    if (!renderer.isDestroyed) renderer.destroy();
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
  });

  function resetView() {
    const { target, distance } = boxCamera(view.aspect);
    scatterplot.zoomToLocation(target, distance);
  }

  // Keep the renderer's framebuffer the size of the visible canvas; a new shape refills the
  // frames and the view, and the marks follow the points.
  function fit() {
    const { width, height } = plot.getBoundingClientRect();
    if (!(width > 0 && height > 0)) return;
    renderer.resize(width, height);
    renderer.refresh();
    scatterplot.redraw?.();
    const next = width / height;
    if (Math.abs(next - view.aspect) > 0.01 * view.aspect) {
      view.aspect = next;
      view.positions = fillFrames(data.positions, next);
      on.refilled();
      resetView();
      if (view.ready) redraw(false);
    }
    scatterplot.set({ pointSize: pointSize() });
    if (view.ready) on.drawn();
  }

  let lastEncodingKey = "";
  function applyEncodingStyle(enc) {
    const key = `${view.mode}:${view.groupsClass}:${enc.colors.length}`;
    if (key === lastEncodingKey) return;
    lastEncodingKey = key;
    scatterplot.set({ pointColor: enc.colors, colorBy: "valueA" });
  }

  const queue = new DrawQueue(async ({ e, animate }) => {
    const enc = colorEncoding(view.mode, { ...data, e, groupsClass: view.groupsClass });
    applyEncodingStyle(enc);
    const pts = toPoints(frame(view.positions, e), enc.z);
    const visible = visibleIndices(data.labels.data, view.hidden);
    await scatterplot.draw(pts, {
      transition: animate && view.ready,
      transitionDuration: TRANSITION_MS,
      preventFilterReset: true,
      zDataType: enc.type,
      select: view.selection,
      ...(visible ? { filter: visible } : {}),
    });
    if (!visible && scatterplot.get("isPointsFiltered")) scatterplot.unfilter({ preventEvent: true });
    if (!view.ready) {
      view.ready = true;
      root.dataset.ready = "true";
      globalThis.performance?.mark?.("linlens:scatter"); // the first frame (benchmarks/page_load.py)
    }
    root.dataset.checkpoint = String(e);
    on.drawn();
  }, on.error);
  bag.add(() => queue.close());

  /** Draw the view's checkpoint (gliding there from the shown one when `animate`). */
  function redraw(animate) {
    queue.request({ e: view.checkpoint, animate });
  }

  /** Point i at the shown checkpoint in CSS px of the canvas (DOM contract: root.linlensProject). */
  function project(i) {
    const idx = Number(i);
    if (!Number.isInteger(idx) || idx < 0 || idx >= data.N) {
      throw new RangeError(`point index ${i} is outside 0..${data.N - 1}`);
    }
    const xy = frame(view.positions, view.checkpoint);
    const rect = canvas.getBoundingClientRect();
    return projectPoint(xy[2 * idx], xy[2 * idx + 1], scatterplot.get("cameraView"), rect.width, rect.height);
  }

  function startFitting() {
    fit();
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(fit);
      ro.observe(plot);
      bag.add(() => ro.disconnect());
    }
  }

  return { scatterplot, pointSize, resetView, redraw, project, startFitting };
}

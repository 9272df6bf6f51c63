/**
 * The scatter's first frame on a plain 2D canvas, drawn while the WebGL scatter starts.
 *
 * Creating a WebGL context and compiling the scatter's shaders takes most of a saved page's first
 * draw on a software renderer (hundreds of ms). The points themselves are few and cheap: drawn
 * here with the same positions, camera, colours, point size and hidden classes as the WebGL
 * scatter's first frame, on a canvas laid over it, which is removed once the WebGL scatter has
 * drawn. The preview takes no input (pointer events pass through).
 */
import { h } from "../dom.js";
import { boxCamera, fillFrames, frame, projectPoint } from "../frames.js";
import { visibleIndices } from "../selection.js";
import { colorEncoding } from "./colors.js";

/** The camera's view matrix (column-major) of regl-scatterplot at `target` and `distance`. */
export function cameraView([tx, ty], distance) {
  const s = 1 / distance;
  return [s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1, 0, -tx * s, -ty * s, 0, 1];
}

/** The smallest point regl-scatterplot draws (px), whatever the zoom. */
const MIN_POINT_SIZE = 1;

/**
 * How much regl-scatterplot enlarges a `pointSize` px point at camera `distance` (its default
 * "asinh" mode): zoomed in (scaling 1 / distance above 1) the points grow as asinh of the zoom,
 * zoomed out they shrink with it, never below MIN_POINT_SIZE px.
 */
export function pointScale(distance, pointSize) {
  const scaling = 1 / distance;
  if (scaling > 1) return Math.asinh(scaling) / Math.asinh(1);
  return Math.max(MIN_POINT_SIZE / pointSize, scaling);
}

/**
 * The colour of each colour value: a categorical value indexes `colors`, a continuous one in
 * [0, 1] picks the nearest of its evenly spaced stops (how the WebGL scatter reads its palette).
 */
export function colorIndex(z, type, n) {
  const k = type === "continuous" ? Math.round(z * (n - 1)) : Math.round(z);
  return Math.min(Math.max(k, 0), n - 1);
}

/**
 * Draw the first frame of `view` (the embedding's shared state) into a new canvas laid over
 * `plot`, `pointSize` CSS px across, at the view's checkpoint, colour mode and hidden classes.
 * Sets `view.aspect` and `view.positions` (the frames filled to the plot's shape) as the WebGL
 * scatter does. Returns the canvas, or null where the plot has no size or no 2D context.
 */
export function drawPreview(view, plot, pointSize) {
  const { width, height } = plot.getBoundingClientRect();
  if (!(width > 0 && height > 0)) return null;
  const canvas = h("canvas", { class: "linlens-canvas linlens-preview", "aria-hidden": "true" });
  canvas.style.pointerEvents = "none";
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  // A canvas drawn by the CPU: no GPU context to create before the first frame (on a software
  // renderer the GPU process is busy starting up), and its pixels can be read back in tests.
  const ctx = canvas.getContext?.("2d", { willReadFrequently: true });
  if (!ctx) return null;
  view.aspect = width / height;
  view.positions = fillFrames(view.data.positions, view.aspect);
  ctx.scale(dpr, dpr);
  const { data } = view;
  const enc = colorEncoding(view.mode, { ...data, e: view.checkpoint, groupsClass: view.groupsClass });
  const xy = frame(view.positions, view.checkpoint);
  const camera = boxCamera(view.aspect);
  const matrix = cameraView(camera.target, camera.distance);
  const shown = visibleIndices(data.labels.data, view.hidden) ?? Array.from({ length: data.N }, (_, i) => i);
  // In index order, as the WebGL scatter draws (a later point covers an earlier one); one path
  // per run of points of one colour.
  const r = (pointSize * pointScale(camera.distance, pointSize)) / 2;
  let path = null;
  let color = -1;
  const fill = () => {
    if (!path) return;
    ctx.fillStyle = enc.colors[color];
    ctx.fill(path);
  };
  for (const i of shown) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const [px, py] = projectPoint(x, y, matrix, width, height);
    const k = colorIndex(enc.z[i], enc.type, enc.colors.length);
    if (k !== color) {
      fill();
      path = new Path2D();
      color = k;
    }
    path.moveTo(px + r, py);
    path.arc(px, py, r, 0, 2 * Math.PI);
  }
  fill();
  plot.append(canvas);
  return canvas;
}

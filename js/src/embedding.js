/**
 * EmbeddingView front end: a WebGL scatter (regl-scatterplot) of every probe sample's embedded
 * effective weights. All checkpoints' positions arrive once (E x N x 2 float32); changing `checkpoint`
 * animates on the client. Pan/zoom, lasso (shift+drag or the lasso tool), box select, click to
 * pick, hover tooltip with the sample's thumbnail, legend filter and colour modes.
 */
import createScatterplot, { createRenderer } from "regl-scatterplot";
import { decodeArray } from "./codecs.js";
import {
  categoricalColor,
  colorList,
  cssGradient,
  finiteRange,
  toHex,
  viridis,
} from "./colormaps.js";
import { checkpointCaption } from "./format.js";
import { icon } from "./icons.js";
import { thumbnailPixels } from "./images.js";
import { Disposer, fmt, guarded, h, makeRoot, pixelsToDataURL, renderOrShowError, showError } from "./dom.js";
import {
  autoPointSize,
  boxCamera,
  clampCheckpoint,
  DrawQueue,
  fillFrames,
  frame,
  frameShape,
  projectPoint,
  toPoints,
} from "./frames.js";
import {
  drawMarks,
  gentleWheelDelta,
  GREY,
  subclusterClasses,
  subclusterEncoding,
  trailPath,
  transitionFrame,
} from "./marks.js";
import {
  normalizeSelection,
  sameSelection,
  toggleHidden,
  visibleIndices,
} from "./selection.js";

const WRONG = "#d62728";
const RIGHT = "#9aa5b1";
const TRANSITION_MS = 350;

const NO_WEBGL =
  "WebGL is not available in this browser, so the scatter cannot be drawn. Enable hardware acceleration or WebGL and re-run the cell.";

/** Per-point colour values and encoding for a colour mode at checkpoint e. */
export function colorEncoding(mode, { labels, predictions, values, nClasses, e, groups, groupsClass }) {
  const N = labels.data.length;
  if (mode === "subclusters" && groups) {
    const { z, colors } = subclusterEncoding(labels.data, groups.data, groupsClass);
    return { z, type: "categorical", colors };
  }
  if (mode === "correct" && predictions) {
    const { shape, data } = predictions;
    const E = shape[0];
    const k = clampCheckpoint(e, E);
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) z[i] = data[k * N + i] === labels.data[i] ? 1 : 0;
    return { z, type: "categorical", colors: [WRONG, RIGHT] };
  }
  if (mode === "value" && values && isYesNo(values.data)) {
    const row = values.shape.length === 2 ? values.data.subarray(clampCheckpoint(e, values.shape[0]) * N, (clampCheckpoint(e, values.shape[0]) + 1) * N) : values.data;
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) z[i] = row[i] === 1 ? 1 : 0;
    return { z, type: "categorical", colors: [YES_NO.no, YES_NO.yes], yesNo: true };
  }
  if (mode === "value" && values) {
    const perCheckpoint = values.shape.length === 2;
    const row = perCheckpoint
      ? values.data.subarray(clampCheckpoint(e, values.shape[0]) * N, (clampCheckpoint(e, values.shape[0]) + 1) * N)
      : values.data;
    const [lo, hi] = finiteRange(values.data);
    const span = hi - lo || 1;
    const z = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = row[i];
      z[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
    }
    return { z, type: "continuous", colors: colorList(viridis, 256), range: [lo, hi] };
  }
  const z = new Float32Array(N);
  for (let i = 0; i < N; i++) z[i] = labels.data[i];
  const colors = Array.from({ length: Math.max(nClasses, 1) }, (_, k) => categoricalColor(k));
  return { z, type: "categorical", colors };
}

/** Colours of a yes/no colouring (values that are all 0 or 1, e.g. "in this page"). */
export const YES_NO = Object.freeze({ yes: "#1976d2", no: "#c8cdd3" });

/** Whether colour values are a yes/no flag (every finite value 0 or 1): shown as a legend. */
export function isYesNo(data) {
  let any = false;
  for (const v of data) {
    if (v !== 0 && v !== 1) return false;
    any = true;
  }
  return any;
}

/** Point size for n points (px) on a canvas of width x height CSS px (see `autoPointSize`). */
export function defaultPointSize(n, width = 640, height = 420) {
  return autoPointSize(n, width, height);
}

/** Whether a wheel event over the scatter zooms it (else the page scrolls, as everywhere). */
export function wheelZooms(ev, engaged) {
  return Boolean(engaged || ev.ctrlKey || ev.metaKey || ev.altKey);
}

function readState(model) {
  const positions = decodeArray(model.get("_positions"), "positions");
  if (!positions) throw new Error("no positions were sent (the trajectory is empty)");
  const { E, N } = frameShape(positions);
  const labels = decodeArray(model.get("_labels"), "labels");
  if (!labels || labels.data.length !== N) {
    throw new Error(`labels hold ${labels?.data.length ?? 0} values for ${N} points`);
  }
  const predictions = decodeArray(model.get("_predictions"), "predictions");
  const thumbnails = decodeArray(model.get("_thumbnails"), "thumbnails");
  const values = decodeArray(model.get("_values"), "values");
  const groups = decodeArray(model.get("_groups"), "groups");
  if (groups && groups.data.length !== N) throw new Error(`sub-cluster groups hold ${groups.data.length} values for ${N} points`);
  const classes = model.get("_classes") ?? [];
  const nClasses = Math.max(classes.length, ...Array.from(labels.data.slice(0, 5000), (v) => v + 1));
  return { positions, labels, predictions, thumbnails, values, groups, classes, nClasses, E, N };
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

/**
 * Where the hover tooltip goes for a point at [x, y] (px in the plot) so that it stays inside
 * the plot: right of and below the point, flipped left or up near an edge.
 */
export function tooltipPosition([x, y], [w, h], [width, height], gap = 12) {
  let left = x + gap;
  if (left + w > width) left = x - gap - w;
  let top = y - gap;
  if (top + h > height) top = y - h + gap;
  return [Math.max(0, Math.min(left, width - w)), Math.max(0, Math.min(top, height - h))];
}

function toolButton(label, icon, onclick) {
  return h("button", { type: "button", class: "linlens-tool", "aria-label": label, title: label, onclick }, icon);
}

/** Colour-select value of a mode ("subclusters:c" for the sub-clusters of class c). */
export function colorSelectValue(mode, groupsClass) {
  return mode === "subclusters" ? `subclusters:${groupsClass}` : mode;
}

/** Split a colour-select value into {mode, groupsClass} (groupsClass -1 unless sub-clusters). */
export function parseColorSelect(value) {
  const m = /^subclusters:(-?\d+)$/.exec(value);
  return m ? { mode: "subclusters", groupsClass: Number(m[1]) } : { mode: value, groupsClass: -1 };
}

/**
 * Render an EmbeddingView into `el`. `hooks.onPick(i, {shift})` (explorer use) is called on a
 * click on a point; `hooks.badge === false` leaves out the checkpoint badge (the explorer's
 * scrubber already says which checkpoint is shown). Returns the cleanup function.
 */
export function renderEmbedding({ model, el, hooks = {} }) {
  const root = makeRoot(el, "embedding");
  const bag = new Disposer();
  let scatterplot = null;
  let renderer = null;
  const state = { ready: false };

  try {
    const data = readState(model);
    Object.assign(state, data);
  } catch (e) {
    showError(root, e, "EmbeddingView");
    return () => {
      bag.dispose();
      root.remove();
    };
  }

  const { labels, thumbnails, N, E } = state;
  // Every frame filled to the canvas's shape (see `fillFrames`); refilled when the shape changes.
  let positions = state.positions;
  let aspect = 1;
  const checkpointLabels = model.get("_checkpoint_labels") ?? [];

  // ---- layout
  const status = h("span", { class: "linlens-status", "aria-live": "polite" });
  const colorSelect = h(
    "select",
    { class: "linlens-color", "aria-label": "Colour points by" },
    h("option", { value: "label" }, "Colour: label"),
    state.predictions ? h("option", { value: "correct" }, "Colour: correct at checkpoint") : null,
    state.values ? h("option", { value: "value" }, `Colour: ${model.get("value_name") || "value"}`) : null,
    ...subclusterClasses(labels.data, state.groups?.data).map((c) =>
      h("option", { value: `subclusters:${c}` }, `Colour: sub-clusters of class ${state.classes[c] ?? c}`),
    ),
  );
  const panBtn = toolButton("Pan and zoom", icon("pan"), () => setTool("pan"));
  const lassoBtn = toolButton("Lasso select", icon("lasso"), () => setTool("lasso"));
  const boxBtn = toolButton("Box select", icon("box"), () => setTool("box"));
  const resetBtn = toolButton("Reset view", icon("reset"), () => scatterplot && resetView());
  const clearBtn = toolButton("Clear selection", icon("clear"), () => setSelection([], true));
  const toolbar = h(
    "div",
    { class: "linlens-toolbar", role: "toolbar", "aria-label": "Embedding tools" },
    panBtn,
    lassoBtn,
    boxBtn,
    resetBtn,
    clearBtn,
    colorSelect,
    status,
  );
  const canvas = h("canvas", { class: "linlens-canvas", "aria-label": "Embedding scatter plot" });
  const tooltip = h("div", { class: "linlens-tooltip", role: "tooltip", hidden: true });
  const checkpointBadge = hooks.badge === false ? null : h("div", { class: "linlens-badge" });
  const overlay = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  overlay.setAttribute("class", "linlens-overlay");
  overlay.setAttribute("aria-hidden", "true");
  const plot = h("div", { class: "linlens-plot" }, canvas, overlay, ...(checkpointBadge ? [checkpointBadge] : []), tooltip);
  plot.style.height = `${model.get("height") || 420}px`;
  const legend = h("div", { class: "linlens-legend", "aria-label": "Legend" });
  root.append(toolbar, plot, legend);

  // The scatter's own WebGL context is the test that WebGL works: a throwaway probe context
  // cost most of a saved page's first draw on a software renderer.
  try {
    renderer = createCanvasRenderer(canvas);
  } catch {
    renderer = null;
  }
  if (!renderer) {
    showError(root, new Error(NO_WEBGL), "EmbeddingView");
    return () => {
      bag.dispose();
      root.remove();
    };
  }

  // ---- scatter
  let checkpoint = clampCheckpoint(model.get("checkpoint"), E);
  let selection = normalizeSelection(model.get("selection"), N);
  let hidden = model.get("hidden_classes") ?? [];
  let mode = model.get("color") || "label";
  let groupsClass = model.get("groups_class") ?? -1;
  const offered = (m, c) => [...colorSelect.options].some((o) => o.value === colorSelectValue(m, c));
  if (!offered(mode, groupsClass)) mode = "label";
  colorSelect.value = colorSelectValue(mode, groupsClass);
  let lastEncodingKey = "";

  // Each checkpoint's layout is scaled to fill the canvas (`fillFrames`), so the camera shows the
  // canvas-shaped box and stays put while scrubbing: points glide, and the layout's scale with
  // them. "Reset view" returns here.
  const rect0 = plot.getBoundingClientRect();
  aspect = rect0.width > 0 && rect0.height > 0 ? rect0.width / rect0.height : 1;
  positions = fillFrames(state.positions, aspect);
  const camera0 = boxCamera(aspect);
  const pointSize = () => model.get("point_size") || defaultPointSize(N, plot.clientWidth, plot.clientHeight);
  scatterplot = createScatterplot({
    cameraTarget: camera0.target,
    cameraDistance: camera0.distance,
    renderer,
    canvas,
    width: "auto",
    height: "auto",
    pointSize: pointSize(),
    pointSizeSelected: 2,
    pointOutlineWidth: 2,
    opacity: N > 20000 ? 0.8 : 1,
    lassoType: "freeform",
    lassoColor: [0.2, 0.2, 0.2, 1],
    deselectOnDblClick: true,
    deselectOnEscape: true,
    backgroundColor: themeBackground(plot),
    pointColorActive: [0.07, 0.07, 0.07, 1],
    pointColorHover: [0.4, 0.4, 0.4, 1],
    colorBy: "valueA",
  });
  const gl = canvas.getContext("webgl");
  bag.add(() => {
    scatterplot.destroy();
    // The renderer was created here, so its WebGL context is ours to free (browsers allow
    // only a handful of live contexts per page).
    if (!renderer.isDestroyed) renderer.destroy();
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
  });
  // Keep the renderer's framebuffer the size of the visible canvas; a new shape refills the
  // frames and the view, and the marks follow the points.
  const fit = () => {
    const { width, height } = plot.getBoundingClientRect();
    if (!(width > 0 && height > 0)) return;
    renderer.resize(width, height);
    renderer.refresh();
    scatterplot.redraw?.();
    const next = width / height;
    if (Math.abs(next - aspect) > 0.01 * aspect) {
      aspect = next;
      positions = fillFrames(state.positions, aspect);
      shownFrame = frame(positions, checkpoint);
      trailCache = null;
      resetView();
      if (state.ready) redraw(false);
    }
    scatterplot.set({ pointSize: pointSize() });
    if (state.ready) drawOverlay();
  };
  function resetView() {
    const { target, distance } = boxCamera(aspect);
    scatterplot.zoomToLocation(target, distance);
  }
  fit();
  if (typeof ResizeObserver !== "undefined") {
    const ro = new ResizeObserver(fit);
    ro.observe(plot);
    bag.add(() => ro.disconnect());
  }

  function encoding(e) {
    return colorEncoding(mode, { ...state, e, groupsClass });
  }

  function applyEncodingStyle(enc) {
    const key = `${mode}:${groupsClass}:${enc.colors.length}`;
    if (key === lastEncodingKey) return;
    lastEncodingKey = key;
    scatterplot.set({ pointColor: enc.colors, colorBy: "valueA" });
  }

  const queue = new DrawQueue(async ({ e, animate }) => {
    const enc = encoding(e);
    applyEncodingStyle(enc);
    const pts = toPoints(frame(positions, e), enc.z);
    const visible = visibleIndices(labels.data, hidden);
    await scatterplot.draw(pts, {
      transition: animate && state.ready,
      transitionDuration: TRANSITION_MS,
      preventFilterReset: true,
      zDataType: enc.type,
      select: selection,
      ...(visible ? { filter: visible } : {}),
    });
    if (!visible && scatterplot.get("isPointsFiltered")) scatterplot.unfilter({ preventEvent: true });
    if (!state.ready) {
      state.ready = true;
      root.dataset.ready = "true";
    }
    root.dataset.checkpoint = String(e);
    drawOverlay();
  }, (e) => showError(root, e, "EmbeddingView"));

  // ---- overlay: operands A and B, their trails, highlighted neighbours
  let marks = readMarks();
  let trailCache = null;
  let shownFrame = frame(positions, checkpoint);
  let animation = null;
  function readMarks() {
    const clean = (v) => normalizeSelection(v ?? [], N);
    return { a: clean(model.get("marked_a")), b: clean(model.get("marked_b")), highlighted: clean(model.get("highlighted")), trails: Boolean(model.get("trails")) };
  }
  function trails() {
    if (!marks.trails) return null;
    const key = `${marks.a}|${marks.b}`;
    if (trailCache?.key !== key) {
      trailCache = { key, paths: { ...(marks.a.length ? { a: trailPath(positions, marks.a) } : {}), ...(marks.b.length ? { b: trailPath(positions, marks.b) } : {}) } };
    }
    return trailCache.paths;
  }
  function drawOverlay(xy = shownFrame) {
    const rect = canvas.getBoundingClientRect();
    if (!(rect.width > 0 && rect.height > 0)) return;
    const view = scatterplot.get("cameraView");
    const radius = Math.max(5, (scatterplot.get("pointSize") || pointSize()) * 0.75);
    drawMarks(overlay, xy, view, rect.width, rect.height, { a: marks.a, b: marks.b, highlighted: marks.highlighted, trails: trails(), radius });
    root.dataset.marks = [marks.a.length ? "a" : "", marks.b.length ? "b" : "", marks.highlighted.length ? "h" : ""].join("");
  }
  // While the points glide to the next checkpoint, the marks glide with them.
  function animateOverlay(from, to) {
    if (animation) cancelAnimationFrame(animation);
    shownFrame = frame(positions, to);
    const hasMarks = marks.a.length || marks.b.length || marks.highlighted.length;
    if (!hasMarks || from === to || typeof requestAnimationFrame === "undefined") {
      drawOverlay();
      return;
    }
    const t0 = performance.now();
    const step = () => {
      const t = (performance.now() - t0) / TRANSITION_MS;
      if (t >= 1) {
        animation = null;
        drawOverlay();
        return;
      }
      drawOverlay(transitionFrame(positions, from, to, t));
      animation = requestAnimationFrame(step);
    };
    animation = requestAnimationFrame(step);
  }
  bag.add(() => animation && cancelAnimationFrame(animation));
  const onMarks = guarded(root, () => {
    marks = readMarks();
    drawOverlay();
  }, "marks");

  function redraw(animate) {
    queue.request({ e: checkpoint, animate });
  }

  // ---- status, legend, badge
  function updateStatus() {
    const hiddenNote = hidden.length ? ` · ${hidden.length} class${hidden.length > 1 ? "es" : ""} hidden` : "";
    status.textContent = `${N.toLocaleString()} points · ${selection.length} selected${hiddenNote}`;
    root.dataset.selected = String(selection.length);
    if (checkpointBadge) checkpointBadge.textContent = checkpointCaption(checkpoint, E, checkpointLabels[checkpoint]);
  }

  function renderLegend() {
    legend.replaceChildren();
    if (mode === "label") {
      const names = state.classes.length ? state.classes : Array.from({ length: state.nClasses }, (_, k) => String(k));
      names.forEach((name, k) => {
        const off = hidden.includes(k);
        legend.append(
          h(
            "button",
            {
              type: "button",
              class: `linlens-legend-item${off ? " is-off" : ""}`,
              "aria-pressed": String(!off),
              "aria-label": `Class ${name}`,
              "data-class": k,
              title: off ? `Show class ${name}` : `Hide class ${name}`,
              onclick: guarded(root, () => setHidden(toggleHidden(hidden, k), true), "legend"),
            },
            h("span", { class: "linlens-swatch", style: { background: categoricalColor(k) } }),
            name,
          ),
        );
      });
    } else if (mode === "subclusters" && state.groups) {
      const { sizes } = subclusterEncoding(labels.data, state.groups.data, groupsClass);
      const name = state.classes[groupsClass] ?? String(groupsClass);
      legend.append(h("span", { class: "linlens-colorbar-label" }, `Sub-clusters of class ${name} (found at the last checkpoint, same samples at every checkpoint):`));
      sizes.forEach((n, g) => {
        legend.append(h("span", { class: "linlens-legend-item", "data-group": g }, h("span", { class: "linlens-swatch", style: { background: categoricalColor(g) } }), `group ${g + 1} (${n})`));
      });
      legend.append(h("span", { class: "linlens-legend-item" }, h("span", { class: "linlens-swatch", style: { background: GREY } }), "other"));
    } else if (mode === "correct") {
      legend.append(
        h("span", { class: "linlens-legend-item" }, h("span", { class: "linlens-swatch", style: { background: RIGHT } }), "correct"),
        h("span", { class: "linlens-legend-item" }, h("span", { class: "linlens-swatch", style: { background: WRONG } }), "misclassified at this checkpoint"),
      );
    } else if (isYesNo(state.values.data)) {
      const name = model.get("value_name") || "value";
      legend.append(
        h("span", { class: "linlens-colorbar-label" }, `${name}:`),
        h("span", { class: "linlens-legend-item", "data-value": "yes" }, h("span", { class: "linlens-swatch", style: { background: YES_NO.yes } }), "yes"),
        h("span", { class: "linlens-legend-item", "data-value": "no" }, h("span", { class: "linlens-swatch", style: { background: YES_NO.no } }), "no"),
      );
    } else {
      const [lo, hi] = finiteRange(state.values.data);
      legend.append(
        h("span", { class: "linlens-colorbar-label" }, model.get("value_name") || "value"),
        h("span", { class: "linlens-tick" }, fmt(lo)),
        h("span", { class: "linlens-colorbar", style: { background: cssGradient(viridis) } }),
        h("span", { class: "linlens-tick" }, fmt(hi)),
      );
    }
  }

  // ---- state setters (local change -> model)
  function setSelection(next, sync) {
    const norm = normalizeSelection(next, N);
    if (sameSelection(norm, selection) && !sync) return;
    selection = norm;
    if (scatterplot) {
      if (selection.length) scatterplot.select(selection, { preventEvent: true });
      else scatterplot.deselect({ preventEvent: true });
    }
    updateStatus();
    if (sync && !sameSelection(model.get("selection") ?? [], selection)) {
      model.set("selection", selection);
      model.save_changes();
    }
  }

  function setHidden(next, sync) {
    hidden = next;
    const visible = visibleIndices(labels.data, hidden);
    if (visible) scatterplot.filter(visible, { preventEvent: true });
    else scatterplot.unfilter({ preventEvent: true });
    renderLegend();
    updateStatus();
    if (sync) {
      model.set("hidden_classes", hidden);
      model.save_changes();
    }
  }

  function setTool(tool) {
    const lasso = tool === "lasso" || tool === "box";
    scatterplot.set({ mouseMode: lasso ? "lasso" : "panZoom", lassoType: tool === "box" ? "rectangle" : "freeform" });
    for (const [btn, t] of [[panBtn, "pan"], [lassoBtn, "lasso"], [boxBtn, "box"]]) {
      btn.setAttribute("aria-pressed", String(t === tool));
    }
    root.dataset.tool = tool;
  }

  // ---- tooltip
  const thumbCache = new Map();
  function thumbnailURL(i) {
    if (!thumbnails) return null;
    if (thumbCache.has(i)) return thumbCache.get(i);
    const { pixels, width, height } = thumbnailPixels(thumbnails.data, i, thumbnails.shape);
    const url = pixelsToDataURL(pixels, width, height);
    if (thumbCache.size > 500) thumbCache.clear();
    thumbCache.set(i, url);
    return url;
  }

  function showTooltip(i) {
    const label = labels.data[i];
    const name = state.classes[label] ?? String(label);
    const rows = [h("div", { class: "linlens-tip-title" }, `#${i} · ${name}`)];
    if (state.predictions) {
      const k = clampCheckpoint(checkpoint, state.predictions.shape[0]);
      const pred = state.predictions.data[k * N + i];
      const ok = pred === label;
      rows.push(
        h("div", { class: ok ? "linlens-ok" : "linlens-bad" }, `predicted ${state.classes[pred] ?? pred}${ok ? " ✓" : " ✗"}`),
      );
    }
    if (state.values) {
      const perCheckpoint = state.values.shape.length === 2;
      const v = perCheckpoint ? state.values.data[clampCheckpoint(checkpoint, state.values.shape[0]) * N + i] : state.values.data[i];
      const shown = isYesNo(state.values.data) ? (v === 1 ? "yes" : "no") : fmt(v);
      rows.push(h("div", {}, `${model.get("value_name") || "value"}: ${shown}`));
    }
    const url = thumbnailURL(i);
    tooltip.replaceChildren(...(url ? [h("img", { src: url, alt: `input image of sample ${i}` })] : []), h("div", {}, ...rows));
    const [x, y] = project(i);
    tooltip.hidden = false;
    const [left, top] = tooltipPosition([x, y], [tooltip.offsetWidth || 180, tooltip.offsetHeight || 70], [plot.clientWidth, plot.clientHeight]);
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${top}px`;
  }

  // ---- projection (DOM contract: root.linlensProject(i) -> [x, y] CSS px)
  function project(i) {
    const idx = Number(i);
    if (!Number.isInteger(idx) || idx < 0 || idx >= N) {
      throw new RangeError(`point index ${i} is outside 0..${N - 1}`);
    }
    const xy = frame(positions, checkpoint);
    const view = scatterplot.get("cameraView");
    const rect = canvas.getBoundingClientRect();
    return projectPoint(xy[2 * idx], xy[2 * idx + 1], view, rect.width, rect.height);
  }
  root.linlensProject = project;
  root.linlensPointCount = () => N;

  // ---- events from the scatter
  scatterplot.subscribe("select", guarded(root, ({ points }) => setSelection(points, true), "selection"));
  scatterplot.subscribe("deselect", guarded(root, () => setSelection([], true), "selection"));
  // DOM contract: `data-hovered` names the point under the cursor (the one a click picks).
  scatterplot.subscribe("pointOver", guarded(root, (i) => {
    root.dataset.hovered = String(i);
    showTooltip(i);
  }, "tooltip"));
  scatterplot.subscribe("pointOut", () => {
    delete root.dataset.hovered;
    tooltip.hidden = true;
  });
  scatterplot.subscribe("view", guarded(root, () => drawOverlay(), "marks"));
  // The wheel scrolls the page, as everywhere, unless the user has clicked into the scatter (until
  // a click elsewhere or the pointer leaves it) or holds Ctrl, Cmd or Alt: then it zooms, gently
  // (one notch of an ordinary mouse zooms by 1.18x, 3-4 notches 1.6-1.9x). The event is caught on
  // its way to the canvas and handed on with a scaled delta.
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
  bag.listen(el.ownerDocument ?? document, "pointerdown", (ev) => {
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
  // Shift+drag is our lasso: keep that mousedown from reaching the notebook, which would start a
  // shift-selection of cells and capture the drag's mouse moves (JupyterLab, Notebook 7).
  bag.listen(plot, "mousedown", (ev) => {
    if (ev.shiftKey) ev.stopPropagation();
  });
  // A click picks a point; the click that ends a drag (pan, lasso, box) does not. Caught in the
  // capture phase, so that the scatter's own click handler does not replace a lasso's selection
  // with the point under the cursor when the drag ends on a point.
  // The drag's furthest excursion counts, not its net displacement: a closed lasso ends where
  // it began.
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
  bag.listen(
    canvas,
    "click",
    guarded(root, (ev) => {
      const i = scatterplot.get("hoveredPoint");
      if (Number.isInteger(i) && i >= 0) hooks.onPick?.(i, { shift: ev.shiftKey });
    }, "pick"),
  );
  bag.listen(colorSelect, "change", guarded(root, () => {
    ({ mode, groupsClass } = parseColorSelect(colorSelect.value));
    if (mode === "subclusters") model.set("groups_class", groupsClass);
    model.set("color", mode);
    model.save_changes();
    renderLegend();
    redraw(false);
  }, "colour"));

  // ---- events from the model
  bag.onModel(model, "change:checkpoint", guarded(root, () => {
    const next = clampCheckpoint(model.get("checkpoint"), E);
    if (next === checkpoint) return;
    const from = checkpoint;
    checkpoint = next;
    tooltip.hidden = true;
    updateStatus();
    redraw(true);
    animateOverlay(from, next);
  }, "checkpoint"));
  bag.onModel(model, "change:selection", guarded(root, () => setSelection(model.get("selection"), false), "selection"));
  bag.onModel(model, "change:hidden_classes", guarded(root, () => setHidden(model.get("hidden_classes") ?? [], false), "legend"));
  const onColor = guarded(root, () => {
    const m = model.get("color");
    const c = model.get("groups_class") ?? -1;
    if ((m === mode && c === groupsClass) || !offered(m, c)) return;
    mode = m;
    groupsClass = c;
    colorSelect.value = colorSelectValue(m, c);
    renderLegend();
    redraw(false);
  }, "colour");
  bag.onModel(model, "change:color", onColor);
  bag.onModel(model, "change:groups_class", onColor);
  for (const name of ["marked_a", "marked_b", "highlighted", "trails"]) bag.onModel(model, `change:${name}`, onMarks);
  bag.onModel(model, "change:point_size", () => scatterplot.set({ pointSize: pointSize() }));
  bag.onModel(model, "msg:custom", guarded(root, (msg) => {
    if (msg?.type === "reset_view") resetView();
    else if (msg?.type === "zoom_to_selection" && selection.length) scatterplot.zoomToPoints(selection, { transition: true, padding: 0.2 });
  }, "message"));

  setTool("pan");
  renderLegend();
  updateStatus();
  redraw(false);

  return () => {
    queue.close();
    bag.dispose();
    delete root.linlensProject;
    delete root.linlensPointCount;
    root.remove();
  };
}

export default { render: renderOrShowError(renderEmbedding, "embedding", "EmbeddingView") };

export { toHex };

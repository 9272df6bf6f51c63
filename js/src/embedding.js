/**
 * EmbeddingView front end: a WebGL scatter (regl-scatterplot) of every probe sample's embedded
 * effective weights. All checkpoints' positions arrive once (E x N x 2 float32); changing `checkpoint`
 * animates on the client. Pan/zoom, lasso (shift+drag or the lasso tool), box select, click to
 * pick, hover tooltip with the sample's thumbnail, legend filter and colour modes.
 *
 * The parts live in `embedding/`, one job each: the data read from the model (`data.js`), colour
 * modes (`colors.js`), the toolbar, the legend, the tooltip, the scatter with its resizing and
 * projection (`scatter.js`), the A/B marks over it (`overlay.js`) and the wheel and clicks
 * (`pointer.js`). Here they are wired together through `view`, the one widget's shared state.
 */
import { checkpointCaption } from "./format.js";
import { Disposer, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { clampCheckpoint } from "./frames.js";
import { normalizeSelection, sameSelection, toggleHidden, visibleIndices } from "./selection.js";
import { colorSelectValue, parseColorSelect } from "./embedding/colors.js";
import { readData } from "./embedding/data.js";
import { renderLegend } from "./embedding/legend.js";
import { createOverlay, markBoxes, overlayLayer } from "./embedding/overlay.js";
import { handlePointer } from "./embedding/pointer.js";
import { drawPreview } from "./embedding/preview.js";
import { createCanvasRenderer, createScatter, defaultPointSize } from "./embedding/scatter.js";
import { createToolbar } from "./embedding/toolbar.js";
import { createTooltip } from "./embedding/tooltip.js";

const NO_WEBGL =
  "WebGL is not available in this browser, so the scatter cannot be drawn. Enable hardware acceleration or WebGL and re-run the cell.";

/** The plot: canvas, marks layer, checkpoint badge (unless `badge` is false) and tooltip. */
function plotElements(view, badge) {
  const canvas = h("canvas", { class: "linlens-canvas", "aria-label": "Embedding scatter plot" });
  const layer = overlayLayer();
  const checkpointBadge = badge === false ? null : h("div", { class: "linlens-badge" });
  const plot = h("div", { class: "linlens-plot" }, canvas, layer, ...(checkpointBadge ? [checkpointBadge] : []));
  const tooltip = createTooltip(view, plot, () => markBoxes(layer, plot)); // never over A's or B's mark
  plot.append(tooltip.el);
  plot.style.height = `${view.model.get("height") || 420}px`;
  return { canvas, layer, checkpointBadge, plot, tooltip };
}

/**
 * Render an EmbeddingView into `el`. `hooks.onPick(i, {shift})` (explorer use) is called on a
 * click on a point; `hooks.badge === false` leaves out the checkpoint badge (the explorer's
 * scrubber already says which checkpoint is shown). Returns the cleanup function.
 */
export function renderEmbedding({ model, el, hooks = {} }) {
  const root = makeRoot(el, "embedding");
  const bag = new Disposer();
  const close = () => {
    bag.dispose();
    root.remove();
  };
  let data;
  try {
    data = readData(model);
  } catch (e) {
    showError(root, e, "EmbeddingView");
    return close;
  }
  const { N, E } = data;
  // The widget's shared state, handed to each part: what is shown, and the frames filled to the
  // canvas's shape (`positions`, refilled when the shape changes).
  const view = {
    model,
    root,
    data,
    checkpoint: clampCheckpoint(model.get("checkpoint"), E),
    selection: normalizeSelection(model.get("selection"), N),
    hidden: model.get("hidden_classes") ?? [],
    mode: model.get("color") || "label",
    groupsClass: model.get("groups_class") ?? -1,
    positions: data.positions,
    aspect: 1,
    ready: false,
  };
  const checkpointLabels = model.get("_checkpoint_labels") ?? [];

  let scatter = null;
  let scatterplot = null;
  let overlay = null;
  view.tool = "pan";
  const toolbar = createToolbar(view, {
    tool: (t) => setTool(t),
    reset: () => scatter && scatter.resetView(),
    clear: () => setSelection([], true),
  });
  const { canvas, layer, checkpointBadge, plot, tooltip } = plotElements(view, hooks.badge);
  const legend = h("div", { class: "linlens-legend", "aria-label": "Legend" });
  root.append(toolbar.el, plot, legend);

  if (!toolbar.offered(view.mode, view.groupsClass)) view.mode = "label";
  toolbar.colorSelect.value = colorSelectValue(view.mode, view.groupsClass);

  function updateStatus() {
    toolbar.showStatus();
    if (checkpointBadge) checkpointBadge.textContent = checkpointCaption(view.checkpoint, E, checkpointLabels[view.checkpoint]);
  }
  const showLegend = () => renderLegend(legend, view, (k) => setHidden(toggleHidden(view.hidden, k), true));
  const pointSize = () => model.get("point_size") || defaultPointSize(N, plot.clientWidth, plot.clientHeight);

  // The first frame is drawn on a 2D canvas at once; the WebGL scatter (its context and shaders
  // cost most of a saved page's first draw on a software renderer) starts after that frame is
  // on screen, draws the same frame under it, and the preview goes. Until then the setters
  // below keep `view` (what to show) and the model, and the scatter starts from them.
  let preview = null;
  const showPreview = () => {
    const first = preview === null;
    preview?.remove();
    preview = drawPreview(view, plot, pointSize());
    if (first && preview) globalThis.performance?.mark?.("linlens:preview"); // benchmarks/page_load.py
  };
  const dropPreview = () => {
    preview?.remove();
    preview = null;
  };
  bag.add(dropPreview);

  // ---- state setters (local change -> model)
  function setSelection(next, sync) {
    const norm = normalizeSelection(next, N);
    if (sameSelection(norm, view.selection) && !sync) return;
    view.selection = norm;
    if (scatterplot && norm.length) scatterplot.select(norm, { preventEvent: true });
    else if (scatterplot) scatterplot.deselect({ preventEvent: true });
    updateStatus();
    if (sync && !sameSelection(model.get("selection") ?? [], norm)) {
      model.set("selection", norm);
      model.save_changes();
    }
  }

  function setHidden(next, sync) {
    view.hidden = next;
    const visible = visibleIndices(data.labels.data, next);
    if (scatterplot && visible) scatterplot.filter(visible, { preventEvent: true });
    else if (scatterplot) scatterplot.unfilter({ preventEvent: true });
    if (!scatter) showPreview();
    showLegend();
    updateStatus();
    if (sync) {
      model.set("hidden_classes", next);
      model.save_changes();
    }
  }

  function setTool(tool) {
    view.tool = tool;
    const lasso = tool === "lasso" || tool === "box";
    scatterplot?.set({ mouseMode: lasso ? "lasso" : "panZoom", lassoType: tool === "box" ? "rectangle" : "freeform" });
    toolbar.showTool(tool);
  }

  /** Redraw what `view` says: the scatter once it runs, else the preview. */
  function redraw(animate) {
    if (scatter) scatter.redraw(animate);
    else showPreview();
  }

  bag.listen(toolbar.colorSelect, "change", guarded(root, () => {
    // The model's change events (onColor, below) take the choice into view.mode and
    // view.groupsClass: set here first, they would be overwritten by the event of the first of the
    // two traits set.
    const chosen = parseColorSelect(toolbar.colorSelect.value);
    if (chosen.mode === "subclusters") model.set("groups_class", chosen.groupsClass);
    model.set("color", chosen.mode);
    model.save_changes();
    showLegend();
    redraw(false);
  }, "colour"));

  // ---- events from the model
  bag.onModel(model, "change:checkpoint", guarded(root, () => {
    const next = clampCheckpoint(model.get("checkpoint"), E);
    if (next === view.checkpoint) return;
    const from = view.checkpoint;
    view.checkpoint = next;
    tooltip.hide();
    updateStatus();
    redraw(true);
    overlay?.glide(from, next);
  }, "checkpoint"));
  bag.onModel(model, "change:selection", guarded(root, () => setSelection(model.get("selection"), false), "selection"));
  bag.onModel(model, "change:hidden_classes", guarded(root, () => setHidden(model.get("hidden_classes") ?? [], false), "legend"));
  const onColor = guarded(root, () => {
    const m = model.get("color");
    const c = model.get("groups_class") ?? -1;
    if ((m === view.mode && c === view.groupsClass) || !toolbar.offered(m, c)) return;
    view.mode = m;
    view.groupsClass = c;
    toolbar.colorSelect.value = colorSelectValue(m, c);
    showLegend();
    redraw(false);
  }, "colour");
  bag.onModel(model, "change:color", onColor);
  bag.onModel(model, "change:groups_class", onColor);
  const onMarks = guarded(root, () => overlay?.read(), "marks");
  for (const name of ["marked_a", "marked_b", "highlighted", "trails"]) bag.onModel(model, `change:${name}`, onMarks);
  bag.onModel(model, "change:point_size", () => (scatterplot ? scatterplot.set({ pointSize: pointSize() }) : showPreview()));
  bag.onModel(model, "msg:custom", guarded(root, (msg) => {
    if (msg?.type === "reset_view") scatter?.resetView();
    else if (msg?.type === "zoom_to_selection" && view.selection.length) scatterplot?.zoomToPoints(view.selection, { transition: true, padding: 0.2 });
  }, "message"));

  /** Start the WebGL scatter from what `view` holds now; false when WebGL is not available. */
  function startScatter() {
    // The scatter's own WebGL context is the test that WebGL works: a throwaway probe context
    // cost most of a saved page's first draw on a software renderer.
    let renderer = null;
    try {
      renderer = createCanvasRenderer(canvas);
    } catch {
      renderer = null;
    }
    if (!renderer) {
      dropPreview();
      showError(root, new Error(NO_WEBGL), "EmbeddingView");
      return false;
    }
    scatter = createScatter(view, { canvas, plot, renderer }, bag, {
      drawn: () => {
        if (view.ready) dropPreview();
        overlay.draw();
      },
      refilled: () => overlay.refit(),
      error: (e) => showError(root, e, "EmbeddingView"),
    });
    scatterplot = scatter.scatterplot;
    overlay = createOverlay(view, { layer, canvas, scatterplot, pointSize: scatter.pointSize });
    bag.add(overlay.close);
    scatter.startFitting();

    // DOM contract: root.linlensProject(i) -> [x, y] CSS px of point i; root.linlensPointCount().
    root.linlensProject = scatter.project;
    root.linlensPointCount = () => N;
    bag.add(() => {
      delete root.linlensProject;
      delete root.linlensPointCount;
    });

    // ---- events from the scatter
    scatterplot.subscribe("select", guarded(root, ({ points }) => setSelection(points, true), "selection"));
    scatterplot.subscribe("deselect", guarded(root, () => setSelection([], true), "selection"));
    // DOM contract: `data-hovered` names the point under the cursor (the one a click picks).
    scatterplot.subscribe("pointOver", guarded(root, (i) => {
      root.dataset.hovered = String(i);
      tooltip.show(i, scatter.project(i));
    }, "tooltip"));
    scatterplot.subscribe("pointOut", () => {
      delete root.dataset.hovered;
      tooltip.hide();
    });
    scatterplot.subscribe("view", guarded(root, () => overlay.draw(), "marks"));
    handlePointer(root, { plot, canvas, scatterplot, doc: el.ownerDocument ?? document, onPick: hooks.onPick }, bag);

    setTool(view.tool);
    scatter.redraw(false); // the first draw takes the selection and the hidden classes from view
    return true;
  }

  setTool("pan");
  showLegend();
  updateStatus();
  showPreview();
  if (preview) {
    let closed = false;
    bag.add(() => (closed = true));
    afterFrame(guarded(root, () => closed || startScatter(), "scatter"), el.ownerDocument);
  } else {
    startScatter();
  }
  return close;
}

/**
 * Run `fn` once the next frame is on screen (at once-ish where the host has no frames) and the
 * document `doc` is parsed: a saved page's parser still reading the page's network data while the
 * WebGL scatter starts made both several times slower.
 */
function afterFrame(fn, doc) {
  const frame = globalThis.requestAnimationFrame;
  const later = () => (frame ? frame(() => setTimeout(fn, 0)) : setTimeout(fn, 0));
  if (doc?.readyState === "loading") doc.addEventListener("DOMContentLoaded", later, { once: true });
  else later();
}

export default { render: renderOrShowError(renderEmbedding, "embedding", "EmbeddingView") };

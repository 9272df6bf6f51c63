/**
 * SweepExplorer front end: one scatter per run (small multiples), one scrubber over a common epoch
 * axis, a comparison of one sample across two runs, and an SVG chart overlaying one metric of
 * every run. The links are applied here only (the rules are under SweepLayout in contract.json),
 * so scrubbing and brushing need no kernel; the same render works in a saved page (`mountPage`).
 */
import { renderCompare } from "./compare.js";
import { Disposer, fmt, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { renderEmbedding } from "./embedding.js";
import { resolveModel, setIfChanged } from "./explorer.js";
import { bankResponder, PageModel, reviveBuffers } from "./page.js";
import { renderScrubber } from "./scrubber.js";

const SVG = "http://www.w3.org/2000/svg";

/** Checkpoint position each panel shows at axis position `k` (clamped to the axis). */
export function mappedCheckpoints(mapping, k) {
  return mapping.map((row) => row[Math.min(Math.max(k, 0), row.length - 1)] ?? 0);
}

/** The comparison's (A, B) for probe sample `s`: run A's sample s, and run B's copy, N + s. */
export function crossRunSamples(s, N) {
  return { a: s, b: N + s };
}

/**
 * Link the models: the scrubber's position moves every scatter to its mapped checkpoint and the
 * comparison to the same axis position; a selection in one scatter is copied to all others and
 * its first sample is compared across the two runs. Returns {onPick, unlink}.
 */
export function linkSweep({ scrubber, embeddings, compare, mapping, N, onMove = () => {} }, bag = new Disposer()) {
  const onCheckpoint = () => {
    const k = scrubber.get("checkpoint");
    const shown = mappedCheckpoints(mapping, k);
    embeddings.forEach((m, i) => setIfChanged(m, "checkpoint", shown[i]));
    setIfChanged(compare, "checkpoint", k);
    onMove(k, shown);
  };
  const compareSample = (s) => {
    const next = crossRunSamples(s, N);
    setIfChanged(compare, "a", [next.a]);
    setIfChanged(compare, "b", [next.b]);
  };
  embeddings.forEach((source) => {
    bag.onModel(source, "change:selection", () => {
      const sel = source.get("selection") ?? [];
      for (const other of embeddings) if (other !== source) setIfChanged(other, "selection", sel);
      if (sel.length) compareSample(sel[0]);
    });
  });
  bag.onModel(scrubber, "change:checkpoint", onCheckpoint);
  onCheckpoint();
  return { onPick: (i) => compareSample(i), unlink: () => bag.dispose() };
}

/**
 * Warp of the epoch axis: log(e + e0) when the checkpoints are log-spaced (the smallest positive
 * epoch is under 1/100 of the last), so early training is not squeezed into one pixel; else e.
 */
export function epochWarp(series) {
  const pos = series.flatMap((s) => s.epochs.filter((e) => e > 0));
  if (!pos.length) return { log: false, f: (e) => e };
  const e0 = Math.min(...pos);
  const last = Math.max(...pos);
  if (e0 * 100 > last) return { log: false, f: (e) => e };
  return { log: true, f: (e) => Math.log10(Math.max(e, 0) + e0) };
}

/** Scale of the chart: {x(e), y(v), x0, x1, y0, y1, log} over every series' finite values. */
export function chartScale(series, width, height, pad = { l: 44, r: 8, t: 8, b: 24 }) {
  const warp = epochWarp(series);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of series) {
    s.epochs.forEach((e, i) => {
      const v = s.values[i];
      if (v === null || !Number.isFinite(v)) return;
      x0 = Math.min(x0, e);
      x1 = Math.max(x1, e);
      y0 = Math.min(y0, v);
      y1 = Math.max(y1, v);
    });
  }
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const [w0, w1] = [warp.f(x0), warp.f(x1)];
  const x = (e) => pad.l + ((warp.f(e) - w0) / (w1 - w0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - ((v - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  return { x, y, x0, x1, y0, y1, pad, log: warp.log };
}

/** SVG polyline points of one series (gaps where values are missing start a new segment). */
export function seriesSegments(s, scale) {
  const segments = [];
  let cur = [];
  s.epochs.forEach((e, i) => {
    const v = s.values[i];
    if (v === null || !Number.isFinite(v)) {
      if (cur.length) segments.push(cur);
      cur = [];
      return;
    }
    cur.push(`${scale.x(e).toFixed(1)},${scale.y(v).toFixed(1)}`);
  });
  if (cur.length) segments.push(cur);
  return segments.map((pts) => pts.join(" "));
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Draw the metric chart; returns {setCursor(epoch)}. */
function renderChart(el, metric, width = 460, height = 210) {
  const series = metric?.series ?? [];
  const scale = chartScale(series, width, height);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "linlens-sweep-chart", role: "img", "aria-label": `${metric?.name ?? "metric"} of every run` });
  const { pad } = scale;
  chart.append(
    svg("line", { x1: pad.l, x2: width - pad.r, y1: height - pad.b, y2: height - pad.b, stroke: "#8c959f" }),
    svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: height - pad.b, stroke: "#8c959f" }),
    svg("text", { x: pad.l - 4, y: pad.t + 8, "text-anchor": "end", "font-size": 10, fill: "#57606a" }, fmt(scale.y1)),
    svg("text", { x: pad.l - 4, y: height - pad.b, "text-anchor": "end", "font-size": 10, fill: "#57606a" }, fmt(scale.y0)),
    svg("text", { x: pad.l, y: height - 6, "font-size": 10, fill: "#57606a" }, fmt(scale.x0)),
    svg("text", { x: width - pad.r, y: height - 6, "text-anchor": "end", "font-size": 10, fill: "#57606a" }, `epoch ${fmt(scale.x1)}${scale.log ? " (log scale)" : ""}`),
  );
  for (const s of series) {
    for (const points of seriesSegments(s, scale)) {
      const line = svg("polyline", { points, fill: "none", stroke: s.color, "stroke-width": 1.6, "stroke-opacity": 0.85 });
      line.append(svg("title", {}, s.label));
      chart.append(line);
    }
  }
  const cursor = svg("line", { y1: pad.t, y2: height - pad.b, stroke: "crimson", "stroke-width": 1.5, "data-testid": "sweep-cursor" });
  chart.append(cursor);
  const legend = h(
    "div",
    { class: "linlens-legend" },
    ...series.map((s) => h("span", { class: "linlens-legend-item" }, h("span", { class: "linlens-swatch", style: { background: s.color, display: "inline-block", width: "10px", height: "10px", borderRadius: "2px", marginRight: "4px" } }), s.label)),
  );
  el.append(h("div", { class: "linlens-sweep-chart-title" }, `${metric?.name ?? "metric"} of every run, coloured by ${metric?.color_by ?? "parameter"}`), chart, legend);
  return {
    setCursor(epoch) {
      const x = scale.x(epoch);
      cursor.setAttribute("x1", x.toFixed(1));
      cursor.setAttribute("x2", x.toFixed(1));
      cursor.dataset.epoch = String(epoch);
    },
  };
}

const CSS = `
.linlens-root[data-linlens="sweep"] { display: flex; flex-direction: column; gap: 8px; }
.linlens-sweep-grid { display: grid; gap: 10px; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
.linlens-sweep-panel { border: 1px solid var(--ll-border, #d0d7de); border-radius: 6px; padding: 4px 6px; min-width: 0; }
.linlens-sweep-title { display: flex; gap: 6px; align-items: baseline; font-size: 12px; margin-bottom: 2px; min-width: 0; }
.linlens-sweep-title strong { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.linlens-sweep-chip { display: inline-block; width: 10px; height: 10px; border-radius: 50%; flex: none; }
.linlens-sweep-shown { color: var(--ll-muted, #57606a); font-size: 11px; margin-left: auto; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.linlens-sweep-metric { border: 1px solid var(--ll-border, #d0d7de); border-radius: 6px; padding: 4px 6px; min-width: 0; }
.linlens-sweep-chart { width: 100%; height: auto; }
.linlens-sweep-caption, .linlens-sweep-chart-title { font-size: 12px; color: var(--ll-muted, #57606a); margin-bottom: 4px; }
`;

function ensureSweepStyle(doc) {
  if (doc.getElementById("linlens-sweep-style")) return;
  const style = doc.createElement("style");
  style.id = "linlens-sweep-style";
  style.textContent = CSS;
  doc.head.append(style);
}

export async function renderSweepExplorer({ model, el }) {
  const root = makeRoot(el, "sweep");
  ensureSweepStyle(el.ownerDocument ?? document);
  const bag = new Disposer();
  const cleanups = [];
  try {
    const refs = model.get("embeddings") ?? [];
    const [scrubber, compare, ...embeddings] = await Promise.all([
      resolveModel(model, model.get("scrubber"), "scrubber"),
      resolveModel(model, model.get("compare"), "compare"),
      ...refs.map((r, i) => resolveModel(model, r, `embeddings[${i}]`)),
    ]);
    const panels = model.get("_panels") ?? [];
    const mapping = model.get("_mapping") ?? [];
    const epochs = model.get("_epochs") ?? [];
    const N = model.get("_n_samples") ?? 0;
    const pair = model.get("compare_runs") ?? [0, panels.length - 1];

    const top = h("div", { class: "linlens-sweep-top" });
    const grid = h("div", { class: "linlens-sweep-grid" });
    const compareBox = h("div", { class: "linlens-sweep-compare" });
    const metricBox = h("div", { class: "linlens-sweep-metric", "data-testid": "sweep-metric" });
    const help = h("div", { class: "linlens-help" }, "One scrubber drives every run (each shows its latest checkpoint at or before the epoch). Brush in any scatter: the same samples light up in all. Click a point to compare that sample across the two runs below.");
    root.append(top, grid, compareBox, help);

    const shownNotes = [];
    const hosts = embeddings.map((_, i) => {
      const p = panels[i] ?? {};
      const note = h("span", { class: "linlens-sweep-shown" });
      shownNotes.push(note);
      const host = h("div", {});
      grid.append(
        h(
          "div",
          { class: "linlens-sweep-panel", "data-panel": i, "data-run": p.name ?? "" },
          h("div", { class: "linlens-sweep-title" }, h("span", { class: "linlens-sweep-chip", style: { background: p.color ?? "#888" } }), h("strong", {}, p.label ?? `run ${i}`), note),
          host,
        ),
      );
      return host;
    });
    grid.append(metricBox); // the chart is the last tile, beside the scatters
    const label = (i) => panels[i]?.label ?? `run ${i}`;
    compareBox.append(h("div", { class: "linlens-sweep-caption" }, `The same sample in two runs — A: ${label(pair[0])} · B: ${label(pair[1])} (B's copy of sample #s is numbered #${N}+s)`));
    const chart = renderChart(metricBox, model.get("_metric"));

    const onMove = (k, shown) => {
      chart.setCursor(epochs[k] ?? 0);
      root.dataset.checkpoint = String(k);
      root.dataset.shown = shown.join(",");
      shown.forEach((pos, i) => {
        const labels = embeddings[i].get("_checkpoint_labels") ?? [];
        const full = labels[pos] ?? `checkpoint ${pos}`;
        shownNotes[i].textContent = `shows ${full.split(" · ")[0]}`;
        shownNotes[i].title = full;
      });
    };
    const links = linkSweep({ scrubber, embeddings, compare, mapping, N, onMove }, bag);
    cleanups.push(renderScrubber({ model: scrubber, el: top }));
    embeddings.forEach((m, i) => {
      cleanups.push(renderEmbedding({ model: m, el: hosts[i], hooks: { onPick: guarded(root, links.onPick, "pick") } }));
    });
    cleanups.push(renderCompare({ model: compare, el: compareBox }));
    root.dataset.ready = "true";
  } catch (e) {
    showError(root, e, "SweepExplorer");
  }
  return () => {
    bag.dispose();
    for (const c of cleanups.reverse()) c?.();
    root.remove();
  };
}

/**
 * Mount a saved page of a SweepExplorer: `config` = {root, models: {id: {kind, state}}, bank}.
 * Each model is an in-page model; the comparison's fetches are answered from the bank.
 */
export async function mountPage(el, config) {
  const models = {};
  const manager = { get_model: async (id) => models[id] };
  const respond = config.bank ? bankResponder(reviveBuffers(config.bank)) : null;
  for (const [id, { state }] of Object.entries(config.models)) {
    models[id] = new PageModel(reviveBuffers(state), { manager, respond });
  }
  let cleanup = () => {};
  try {
    cleanup = await renderSweepExplorer({ model: models[config.root], el });
  } catch (e) {
    showError(el, e, "page");
  }
  return { models, cleanup };
}

export default { render: renderOrShowError(renderSweepExplorer, "sweep", "SweepExplorer") };

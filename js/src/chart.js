/**
 * A small SVG line chart for the saved page's metrics panel: one line per metric over the
 * checkpoints, a labelled y axis, an x axis in the units of the slider's checkpoints, a cursor
 * that follows the shown checkpoint, and a legend.
 *
 * Why not BokehJS: a saved page is meant to be mailed and opened offline, and inlining BokehJS for
 * one small chart cost about 4 MB, half of a demo page. This chart is a few KB of the bundle the
 * page already carries. Series colours come from contract.json `palettes.metrics` (by metric name,
 * the same colours as every other chart of the package), unless a series brings its own.
 */
import { CURSOR_COLOR, metricColors } from "./contract.js";

const SVG = "http://www.w3.org/2000/svg";
/** Colour of every series: its own `color`, else the contract's colour of its metric name. */
export function seriesColors(series) {
  const byName = metricColors(series.filter((s) => !s.color).map((s) => s.name));
  let k = 0;
  return series.map((s) => s.color ?? byName[k++]);
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function node(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

const label = (v) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(4))));

/** Tick values of a log axis over [lo, hi] (lo > 0): 1, 2, 5 × powers of ten, thinned to fit. */
export function logTicks(lo, hi, most = 8) {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const out = [];
  for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** p).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  if (out.length <= most) return out;
  const decades = out.filter((v) => Number(v.toExponential(0).split("e")[0]) === 1);
  return decades.length >= 2 ? decades : [out[0], out[out.length - 1]];
}

/**
 * Draw the chart into `el`.
 *
 * @param {HTMLElement} el - container.
 * @param {{series: {name: string, x: number[], y: (number|null)[], color?: string}[],
 *   cursor: number[], xLabel?: string, yLabel?: string, title?: string, width?: number,
 *   height?: number, xScale?: "linear"|"log", legend?: "right"|"below"}} spec
 *   `cursor[k]` is the x of checkpoint k. `xScale` comes from the Python side's one axis rule
 *   (`plots.resolve_x_scale`); x values are then positive. `legend: "below"` lists the series
 *   under the plot (narrow charts, many series) instead of to its right.
 * @returns {{svg: SVGElement, setCheckpoint: (k: number) => void}}
 */
export function renderChart(el, spec) {
  const W = spec.width ?? 900;
  const H = spec.height ?? 220;
  const below = spec.legend === "below";
  const m = { left: 56, right: below ? 16 : 170, top: 24, bottom: 38 };
  const log = spec.xScale === "log";
  const fx = log ? (x) => (x > 0 ? Math.log10(x) : NaN) : (x) => x;
  const xs = spec.series.flatMap((s) => s.x).concat(spec.cursor ?? []).map(fx).filter(Number.isFinite);
  const ys = spec.series.flatMap((s) => s.y).filter(Number.isFinite);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const pad = (y1 - y0) * 0.05 || 0.5;
  const lo = y0 - pad;
  const hi = y1 + pad;
  const px = (x) => m.left + ((fx(x) - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y) => H - m.bottom - ((y - lo) / (hi - lo)) * (H - m.top - m.bottom);

  const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, class: "linlens-chart", role: "img", "data-testid": "metrics-chart", "data-x-scale": log ? "log" : "linear", style: "width:100%;height:auto;font:11px system-ui,sans-serif" });
  if (spec.title) svg.append(node("text", { x: m.left, y: 14, "font-weight": 600 }, spec.title));
  const axes = node("g", { stroke: "#8c959f", fill: "none" });
  axes.append(node("line", { x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom }));
  axes.append(node("line", { x1: m.left, x2: m.left, y1: m.top, y2: H - m.bottom }));
  svg.append(axes);
  for (const t of ticks(lo, hi)) {
    svg.append(node("line", { x1: m.left, x2: W - m.right, y1: py(t), y2: py(t), stroke: "#eaeef2" }));
    svg.append(node("text", { x: m.left - 6, y: py(t) + 4, "text-anchor": "end", fill: "#57606a", class: "linlens-chart-ytick" }, label(t)));
  }
  const xTicks = log ? logTicks(10 ** x0, 10 ** x1) : ticks(x0, x1, 8);
  for (const t of xTicks) {
    svg.append(node("text", { x: px(t), y: H - m.bottom + 14, "text-anchor": "middle", fill: "#57606a", class: "linlens-chart-xtick" }, label(t)));
  }
  const xLabel = `${spec.xLabel ?? "epoch"}${log ? " (log scale)" : ""}`;
  svg.append(node("text", { x: (m.left + W - m.right) / 2, y: H - 4, "text-anchor": "middle", fill: "#1f2328" }, xLabel));
  const yl = node("text", { x: 12, y: (m.top + H - m.bottom) / 2, "text-anchor": "middle", fill: "#1f2328", transform: `rotate(-90 12 ${(m.top + H - m.bottom) / 2})` }, spec.yLabel ?? "value");
  svg.append(yl);

  const colors = seriesColors(spec.series);
  const legendBelow = below ? document.createElement("div") : null;
  if (legendBelow) {
    legendBelow.className = "linlens-chart-legend-below";
    legendBelow.style.cssText = "display:flex;flex-wrap:wrap;gap:2px 12px;font:11px system-ui,sans-serif;color:#1f2328";
  }
  spec.series.forEach((s, k) => {
    const color = colors[k];
    let d = "";
    let pen = false;
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (!Number.isFinite(fx(x)) || !Number.isFinite(y)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`;
      pen = true;
    });
    const path = node("path", { d, fill: "none", stroke: color, "stroke-width": 2, "data-series": s.name });
    path.append(node("title", {}, s.name));
    svg.append(path);
    if (legendBelow) {
      const item = document.createElement("span");
      item.className = "linlens-chart-legend";
      const swatch = document.createElement("span");
      swatch.style.cssText = `display:inline-block;width:14px;height:3px;margin-right:4px;vertical-align:middle;background:${color}`;
      item.append(swatch, s.name);
      legendBelow.append(item);
      return;
    }
    const ly = m.top + 8 + k * 16;
    svg.append(node("line", { x1: W - m.right + 12, x2: W - m.right + 30, y1: ly, y2: ly, stroke: color, "stroke-width": 3 }));
    svg.append(node("text", { x: W - m.right + 36, y: ly + 4, fill: "#1f2328", class: "linlens-chart-legend" }, s.name));
  });

  const cursor = node("line", { y1: m.top, y2: H - m.bottom, stroke: CURSOR_COLOR, "stroke-width": 2, class: "linlens-chart-cursor", "data-testid": "chart-cursor" });
  svg.append(cursor);
  const setCheckpoint = (k) => {
    const x = spec.cursor?.[k];
    if (!Number.isFinite(fx(x))) {
      cursor.setAttribute("visibility", "hidden");
      return;
    }
    cursor.setAttribute("visibility", "visible");
    cursor.setAttribute("x1", px(x).toFixed(1));
    cursor.setAttribute("x2", px(x).toFixed(1));
    cursor.dataset.checkpoint = String(k);
  };
  setCheckpoint(spec.cursor?.length ? spec.cursor.length - 1 : 0);
  el.append(svg);
  if (legendBelow) el.append(legendBelow);
  return { svg, setCheckpoint };
}

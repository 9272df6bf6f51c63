/**
 * What the scatter draws on top of its points, and how its camera and wheel behave: the compared
 * operands A and B (a single sample, or a group ringed with one labelled marker at its centroid),
 * their faint trails across checkpoints, the highlighted neighbours, the sub-cluster colour mode,
 * the camera that fits every checkpoint, and a gentle wheel zoom. Pure functions (no DOM) except
 * `drawMarks`, which fills an SVG overlay; the scatter module wires them to regl-scatterplot.
 */
import { categoricalColor } from "./colormaps.js";
import { fitCamera, frameShape, interpolate, projectPoint } from "./frames.js";

// Outside the class palette (colormaps.CATEGORICAL), so a ringed group never reads as a class.
export const MARK_COLORS = Object.freeze({ a: "#111111", b: "#d400d4", highlighted: "#008b8b" });
export const GREY = "#c8cdd3";
const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Camera fitting the extent of ALL checkpoints (so scrubbing never moves a point out of view).
 * `positions` is the decoded (E, N, 2) array; returns {target, distance} as `fitCamera`.
 */
export function fitAllCheckpoints(positions, aspect = 1, pad = 1.08) {
  frameShape(positions);
  return fitCamera(positions.data, aspect, pad);
}

/** Pixels of wheel delta that one notch of an ordinary mouse wheel reports (Chrome, Firefox). */
export const PIXELS_PER_NOTCH = 100;

/**
 * The wheel delta to hand the scatter's camera so that one notch zooms by `perNotch` (the camera
 * zooms by exp(delta / height)). Line and page modes are turned into notches first; trackpads'
 * small deltas scale in proportion, so they stay smooth.
 */
export function gentleWheelDelta(deltaY, deltaMode, height, perNotch = 1.18) {
  if (!Number.isFinite(deltaY) || deltaY === 0 || !(height > 0)) return 0;
  const pixels = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * 800 : deltaY;
  const notches = Math.max(-3, Math.min(3, pixels / PIXELS_PER_NOTCH));
  return notches * height * Math.log(perNotch);
}

/** Mean [x, y] of `indices` in one frame (Float32Array x0 y0 x1 y1 ...); null when empty. */
export function centroid(xy, indices) {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (const i of indices) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    sx += x;
    sy += y;
    n += 1;
  }
  return n ? [sx / n, sy / n] : null;
}

/** The centroid of `indices` at every checkpoint: [[x, y] | null, ...] of length E. */
export function trailPath(positions, indices) {
  const { E, N } = frameShape(positions);
  const out = [];
  for (let e = 0; e < E; e++) out.push(centroid(positions.data.subarray(e * N * 2, (e + 1) * N * 2), indices));
  return out;
}

/** Smooth start and end, as the scatter's own point transition. */
export function cubicInOut(t) {
  const u = Math.min(1, Math.max(0, t));
  return u < 0.5 ? 4 * u * u * u : 1 - (-2 * u + 2) ** 3 / 2;
}

/** Positions between frame `from` and frame `to` at progress t in [0, 1] (eased). */
export function transitionFrame(positions, from, to, t) {
  const f = cubicInOut(t);
  return interpolate(positions, from + (to - from) * f);
}

/**
 * Sub-cluster colour encoding: points of class `cls` in a tracked group take that group's
 * colour, every other point grey. `groups` holds each sample's group within its own class (-1
 * in none). Returns {z, colors, sizes} for a categorical regl-scatterplot encoding; `sizes[g]`
 * counts the members of group g.
 */
export function subclusterEncoding(labels, groups, cls) {
  const N = labels.length;
  const z = new Float32Array(N);
  let k = 0;
  for (let i = 0; i < N; i++) {
    if (labels[i] === cls && groups && groups[i] >= 0) k = Math.max(k, groups[i] + 1);
  }
  const sizes = new Array(k).fill(0);
  for (let i = 0; i < N; i++) {
    if (labels[i] === cls && groups && groups[i] >= 0) {
      z[i] = groups[i] + 1;
      sizes[groups[i]] += 1;
    }
  }
  const colors = [GREY, ...Array.from({ length: Math.max(k, 1) }, (_, g) => categoricalColor(g))];
  return { z, colors, sizes };
}

/** Classes that have two or more tracked groups (the colour select offers one entry each). */
export function subclusterClasses(labels, groups) {
  if (!groups) return [];
  const seen = new Map();
  for (let i = 0; i < labels.length; i++) {
    if (groups[i] < 0) continue;
    const c = labels[i];
    if (!seen.has(c)) seen.set(c, new Set());
    seen.get(c).add(groups[i]);
  }
  return [...seen.entries()].filter(([, s]) => s.size >= 2).map(([c]) => c).sort((a, b) => a - b);
}

/**
 * Everything the overlay draws, in data coordinates of frame `xy`: for each operand (a, b)
 * its members and labelled centroid, the highlighted points, and optionally the trails.
 */
export function markLayout(xy, { a = [], b = [], highlighted = [] } = {}) {
  const operand = (indices) => (indices.length ? { members: indices.map((i) => [xy[2 * i], xy[2 * i + 1]]), centroid: centroid(xy, indices), n: indices.length } : null);
  return {
    a: operand(a),
    b: operand(b),
    highlighted: highlighted.map((i) => [xy[2 * i], xy[2 * i + 1]]),
  };
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Fill the SVG overlay `layer` with the marks of frame `xy`, projected with the camera's `view`
 * matrix onto a canvas of `width` x `height` CSS px. `trails` (optional) holds the A and B
 * centroid paths over all checkpoints. `radius` is the ring radius in px.
 */
export function drawMarks(layer, xy, view, width, height, { a, b, highlighted, trails, radius = 6 }) {
  const P = ([x, y]) => projectPoint(x, y, view, width, height);
  const marks = markLayout(xy, { a, b, highlighted });
  const nodes = [];
  if (trails) {
    for (const [key, path] of Object.entries(trails)) {
      const pts = path.filter(Boolean).map(P);
      if (pts.length < 2) continue;
      nodes.push(svg("polyline", {
        class: `linlens-trail linlens-trail-${key}`,
        points: pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "),
        fill: "none", stroke: MARK_COLORS[key], "stroke-width": 2, "stroke-opacity": 0.35,
        "stroke-linejoin": "round",
      }));
    }
  }
  for (const p of marks.highlighted) {
    const [x, y] = P(p);
    nodes.push(svg("circle", {
      class: "linlens-mark-highlighted", cx: x, cy: y, r: radius + 2, fill: "none",
      stroke: MARK_COLORS.highlighted, "stroke-width": 2, "stroke-dasharray": "3 2",
    }));
  }
  for (const key of ["a", "b"]) {
    const op = marks[key];
    if (!op) continue;
    const color = MARK_COLORS[key];
    if (op.n > 1) {
      for (const m of op.members) {
        const [x, y] = P(m);
        nodes.push(svg("circle", { class: `linlens-mark-member linlens-mark-member-${key}`, cx: x, cy: y, r: radius, fill: "none", stroke: color, "stroke-width": 1.5 }));
      }
    }
    if (!op.centroid) continue;
    const [x, y] = P(op.centroid);
    const g = svg("g", { class: `linlens-mark linlens-mark-${key}`, "data-mark": key, transform: `translate(${x.toFixed(1)},${y.toFixed(1)})` });
    g.append(
      svg("circle", { r: radius + 4, fill: "none", stroke: "#fff", "stroke-width": 4 }),
      svg("circle", { r: radius + 4, fill: "none", stroke: color, "stroke-width": 2.5 }),
    );
    const label = op.n > 1 ? `${key.toUpperCase()} (n=${op.n})` : key.toUpperCase();
    const text = svg("text", {
      x: radius + 7, y: -radius - 3, fill: color, "font-weight": 700, "font-size": 13,
      stroke: "#fff", "stroke-width": 3, "paint-order": "stroke",
    });
    text.textContent = label;
    g.append(text);
    nodes.push(g);
  }
  layer.replaceChildren(...nodes);
}

/**
 * Checkpoint frames of an embedding: positions of all checkpoints live in one float32 buffer
 * (E x N x 2). These helpers read a frame, interpolate between frames, and project a point to
 * CSS pixels with the scatter's camera, all without touching the kernel.
 */

/** Validate a decoded positions array and return {E, N}. */
export function frameShape(positions) {
  const { shape, data } = positions;
  if (shape.length !== 3 || shape[2] !== 2) {
    throw new TypeError(`positions must have shape (checkpoints, points, 2), got [${shape}]`);
  }
  if (data.length !== shape[0] * shape[1] * 2) {
    throw new TypeError("positions buffer is shorter than its shape says");
  }
  return { E: shape[0], N: shape[1] };
}

/** Clamp an checkpoint index into [0, E-1] (non-numbers become 0). */
export function clampCheckpoint(checkpoint, E) {
  const e = Number.isFinite(checkpoint) ? Math.round(checkpoint) : 0;
  return Math.min(Math.max(e, 0), Math.max(E - 1, 0));
}

/** A view (no copy) of frame e: Float32Array of length 2N, x0 y0 x1 y1 ... */
export function frame(positions, e) {
  const { E, N } = frameShape(positions);
  const k = clampCheckpoint(e, E);
  return positions.data.subarray(k * N * 2, (k + 1) * N * 2);
}

/**
 * Positions at a fractional checkpoint position t (e.g. 2.25 = a quarter of the way from frame 2 to 3),
 * linearly interpolated. Returns a new Float32Array of length 2N.
 */
export function interpolate(positions, t, out) {
  const { E, N } = frameShape(positions);
  const tc = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), E - 1);
  const lo = Math.floor(tc);
  const hi = Math.min(lo + 1, E - 1);
  const f = tc - lo;
  const a = positions.data.subarray(lo * N * 2, (lo + 1) * N * 2);
  const b = positions.data.subarray(hi * N * 2, (hi + 1) * N * 2);
  const res = out ?? new Float32Array(N * 2);
  for (let i = 0; i < N * 2; i++) res[i] = a[i] + (b[i] - a[i]) * f;
  return res;
}

/**
 * Build the point list regl-scatterplot draws: {x, y, valueA} with x/y from a frame and valueA
 * the colour value of each point.
 */
export function toPoints(xy, values) {
  const n = xy.length / 2;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = xy[2 * i];
    y[i] = xy[2 * i + 1];
  }
  return { x, y, valueA: values };
}

/**
 * Project a data point (NDC, [-1, 1]) to CSS pixels relative to the canvas's top-left, the way
 * regl-scatterplot does: clip = projection(1/aspect) * view * [x, y, 0, 1].
 * `view` is the camera's column-major 4x4 matrix; width/height are the canvas's CSS size.
 */
export function projectPoint(x, y, view, width, height) {
  const aspect = width / height;
  // column-major: v' = M * v, M[col*4 + row]
  const cx = view[0] * x + view[4] * y + view[12];
  const cy = view[1] * x + view[5] * y + view[13];
  const cw = view[3] * x + view[7] * y + view[15];
  const nx = cx / aspect / cw;
  const ny = cy / cw;
  return [(width * (nx + 1)) / 2, height * (0.5 - ny / 2)];
}

/**
 * Coalesces requests to draw a frame while a draw is in flight: regl-scatterplot rejects a draw
 * while another is running, so only the latest request survives and runs after the current one.
 */
export class DrawQueue {
  constructor(drawFn, onError = (e) => console.error(e)) {
    this.drawFn = drawFn;
    this.onError = onError;
    this.pending = null;
    this.running = false;
    this.closed = false;
  }

  request(job) {
    if (this.closed) return;
    this.pending = job;
    if (!this.running) {
      this.running = true;
      this._next();
    }
  }

  async _next() {
    while (this.pending !== null && !this.closed) {
      const job = this.pending;
      this.pending = null;
      this.running = true;
      try {
        await this.drawFn(job);
      } catch (err) {
        // A failed draw must not wedge the queue; report it and keep serving later requests.
        if (!this.closed) this.onError(err);
      }
    }
    this.running = false;
  }

  close() {
    this.closed = true;
    this.pending = null;
  }
}

/**
 * Camera that fits a frame's points: {target: [cx, cy], distance} for regl-scatterplot, whose
 * distance 1 shows y in [-1, 1] (and x in [-aspect, aspect]). `pad` > 1 leaves a margin.
 * Falls back to the default view for empty or degenerate frames.
 */
export function fitCamera(xy, aspect = 1, pad = 1.12) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const x = xy[i];
    const y = xy[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (!(x1 >= x0 && y1 >= y0)) return { target: [0, 0], distance: 1 };
  const a = aspect > 0 && Number.isFinite(aspect) ? aspect : 1;
  const half = Math.max((y1 - y0) / 2, (x1 - x0) / 2 / a);
  const distance = half > 1e-6 ? Math.min(half * pad, 10) : 1;
  return { target: [(x0 + x1) / 2, (y0 + y1) / 2], distance };
}

/**
 * Half-sizes [bx, by] of the data box that a canvas of `aspect` (width / height) shows whole at
 * camera distance `by`: the box has the canvas's shape and stays inside [-1, 1]².
 */
export function viewBox(aspect) {
  const a = aspect > 0 && Number.isFinite(aspect) ? aspect : 1;
  return [Math.min(1, a), Math.min(1, 1 / a)];
}

/** Camera {target, distance} showing the whole `viewBox(aspect)` with a margin `pad` > 1. */
export function boxCamera(aspect, pad = 1.08) {
  return { target: [0, 0], distance: viewBox(aspect)[1] * pad };
}

/**
 * Every frame centred and scaled (one factor for x and y, so shapes are kept) to fill the
 * canvas-shaped `viewBox(aspect)`: each checkpoint's layout spans the canvas's width or height,
 * whichever its shape reaches first, and points glide between frames as before (the scale moves
 * smoothly with them). Non-finite positions stay as they are. Returns a new {shape, data}.
 */
export function fillFrames(positions, aspect) {
  const { E, N } = frameShape(positions);
  const [bx, by] = viewBox(aspect);
  const data = new Float32Array(positions.data.length);
  for (let e = 0; e < E; e++) {
    const xy = positions.data.subarray(e * N * 2, (e + 1) * N * 2);
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let i = 0; i < N; i++) {
      const x = xy[2 * i];
      const y = xy[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    const hw = (x1 - x0) / 2;
    const hh = (y1 - y0) / 2;
    const scale = x1 >= x0 ? Math.min(hw > 1e-9 ? bx / hw : Infinity, hh > 1e-9 ? by / hh : Infinity) : 1;
    const s = Number.isFinite(scale) ? scale : 1;
    const cx = x1 >= x0 ? (x0 + x1) / 2 : 0;
    const cy = y1 >= y0 ? (y0 + y1) / 2 : 0;
    const out = data.subarray(e * N * 2, (e + 1) * N * 2);
    for (let i = 0; i < N; i++) {
      out[2 * i] = (xy[2 * i] - cx) * s;
      out[2 * i + 1] = (xy[2 * i + 1] - cy) * s;
    }
  }
  return { shape: positions.shape, data };
}

/**
 * Point size (CSS px) that follows the canvas and the number of points: about a quarter of the
 * spacing N points would have spread over the canvas, between 2 and 9 px.
 */
export function autoPointSize(n, width, height) {
  if (!(n > 0) || !(width > 0) || !(height > 0)) return 5;
  return Math.min(9, Math.max(2, 0.28 * Math.sqrt((width * height) / n)));
}

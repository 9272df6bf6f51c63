/**
 * Effective weights of one sample through a decoded portable network (see network.js).
 *
 * The forward pass records what the chain needs (each unit layer's slopes, each max-pool's argmax);
 * the chain then walks right to left from the identity, applying every op's adjoint to the C rows
 * at once: W_eff = W_L D_{L-1} ... D_1 W_1, exactly the masked chain of lens/_fast.py. The offset
 * is accumulated on the way, b_eff = sum over layers of (chain above the layer) · (layer's bias),
 * which avoids the cancellation of f(x) - W_eff x. Activations are stored as float32, like the
 * PyTorch forward pass, so the masks agree with it; dot products and the chain use float64.
 */

import { sizeOf } from "../codecs.js";

// ------------------------------------------------------------------------------------- forward

function linearForward(op, h) {
  const [nOut, nIn] = op.weightShape;
  const w = op.weight;
  const out = new Float32Array(nOut);
  for (let k = 0; k < nOut; k++) {
    let acc = op.bias ? op.bias[k] : 0;
    const row = k * nIn;
    for (let j = 0; j < nIn; j++) acc += w[row + j] * h[j];
    out[k] = acc;
  }
  return out;
}

/** Outputs o in [lo, hi) whose input o * stride - pad + offset falls inside 0..n-1. */
function validRange(count, stride, pad, offset, n) {
  const lo = Math.max(0, Math.ceil((pad - offset) / stride));
  const hi = Math.min(count, Math.floor((n - 1 + pad - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

function convForward(op, h) {
  const [cIn, H, W] = op.in_shape;
  const [cOut, oH, oW] = op.out_shape;
  const [, , kH, kW] = op.weightShape;
  const [sH, sW] = op.stride;
  const [pH, pW] = op.padding;
  const [dH, dW] = op.dilation;
  const w = op.weight;
  const out = new Float32Array(cOut * oH * oW);
  const acc = new Float64Array(oH * oW);
  const ys = Array.from({ length: kH }, (_, ky) => validRange(oH, sH, pH, ky * dH, H));
  const xs = Array.from({ length: kW }, (_, kx) => validRange(oW, sW, pW, kx * dW, W));
  for (let co = 0; co < cOut; co++) {
    acc.fill(op.bias ? op.bias[co] : 0);
    for (let ci = 0; ci < cIn; ci++) {
      for (let ky = 0; ky < kH; ky++) {
        const [y0, y1] = ys[ky];
        for (let kx = 0; kx < kW; kx++) {
          const wv = w[((co * cIn + ci) * kH + ky) * kW + kx];
          if (wv === 0) continue;
          const [x0, x1] = xs[kx];
          for (let oy = y0; oy < y1; oy++) {
            const src = (ci * H + oy * sH - pH + ky * dH) * W - pW + kx * dW;
            const dst = oy * oW;
            for (let ox = x0; ox < x1; ox++) acc[dst + ox] += wv * h[src + ox * sW];
          }
        }
      }
    }
    out.set(acc, co * oH * oW);
  }
  return out;
}

function reluForward(op, h, pinned) {
  const slope = new Float32Array(h.length);
  const out = new Float32Array(h.length);
  const neg = op.negative_slope ?? 0;
  for (let i = 0; i < h.length; i++) slope[i] = h[i] > 0 ? 1 : neg;
  // units whose state the stored-precision weights would get wrong: the float32 network's state
  if (pinned) for (const [unit, active] of pinned) if (unit >= 0 && unit < h.length) slope[unit] = active ? 1 : neg;
  for (let i = 0; i < h.length; i++) out[i] = h[i] * slope[i];
  return { out, saved: slope };
}

function maxpoolForward(op, h) {
  const [C, H, W] = op.in_shape;
  const [, oH, oW] = op.out_shape;
  const [kH, kW] = op.kernel;
  const [sH, sW] = op.stride;
  const [pH, pW] = op.padding;
  const [dH, dW] = op.dilation;
  const out = new Float32Array(C * oH * oW);
  const argmax = new Int32Array(C * oH * oW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < oH; oy++) {
      for (let ox = 0; ox < oW; ox++) {
        let best = -Infinity;
        let where = -1;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - pH + ky * dH;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - pW + kx * dW;
            if (ix < 0 || ix >= W) continue;
            const idx = (c * H + iy) * W + ix;
            const v = h[idx];
            if (v > best || Number.isNaN(v) || where < 0) {
              best = v;
              where = idx;
            }
          }
        }
        const o = (c * oH + oy) * oW + ox;
        out[o] = best;
        argmax[o] = where;
      }
    }
  }
  return { out, saved: argmax };
}

/** Windows of an average pool, as [start, end) per output row/column and the divisor of each output. */
function avgWindows(op) {
  const [C, H, W] = op.in_shape;
  const [, oH, oW] = op.out_shape;
  const rows = [];
  const cols = [];
  const divisor = new Float64Array(oH * oW);
  if (op.op === "adaptive_avgpool2d") {
    for (let o = 0; o < oH; o++) rows.push([Math.floor((o * H) / oH), Math.ceil(((o + 1) * H) / oH)]);
    for (let o = 0; o < oW; o++) cols.push([Math.floor((o * W) / oW), Math.ceil(((o + 1) * W) / oW)]);
    for (let y = 0; y < oH; y++) {
      for (let x = 0; x < oW; x++) divisor[y * oW + x] = (rows[y][1] - rows[y][0]) * (cols[x][1] - cols[x][0]);
    }
    return { C, H, W, oH, oW, rows, cols, divisor };
  }
  const [kH, kW] = op.kernel;
  const [sH, sW] = op.stride;
  const [pH, pW] = op.padding;
  const padded = [];
  const window = (o, s, p, k, n) => {
    const start = o * s - p;
    const end = Math.min(start + k, n + p);
    padded.push(end - start);
    return [Math.max(start, 0), Math.min(end, n)];
  };
  for (let o = 0; o < oH; o++) rows.push(window(o, sH, pH, kH, H));
  const padRows = padded.splice(0);
  for (let o = 0; o < oW; o++) cols.push(window(o, sW, pW, kW, W));
  const padCols = padded.splice(0);
  for (let y = 0; y < oH; y++) {
    for (let x = 0; x < oW; x++) {
      divisor[y * oW + x] = op.count_include_pad
        ? padRows[y] * padCols[x]
        : (rows[y][1] - rows[y][0]) * (cols[x][1] - cols[x][0]);
    }
  }
  return { C, H, W, oH, oW, rows, cols, divisor };
}

function avgForward(op, h) {
  const win = op._windows ?? (op._windows = avgWindows(op));
  const { C, H, W, oH, oW, rows, cols, divisor } = win;
  const out = new Float32Array(C * oH * oW);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < oH; y++) {
      for (let x = 0; x < oW; x++) {
        let acc = 0;
        for (let iy = rows[y][0]; iy < rows[y][1]; iy++) {
          for (let ix = cols[x][0]; ix < cols[x][1]; ix++) acc += h[(c * H + iy) * W + ix];
        }
        out[(c * oH + y) * oW + x] = acc / divisor[y * oW + x];
      }
    }
  }
  return out;
}

function affineForward(op, h) {
  const channels = op.in_shape.length > 1 ? op.in_shape[0] : h.length;
  const inner = h.length / channels;
  const out = new Float32Array(h.length);
  for (let c = 0; c < channels; c++) {
    for (let i = c * inner; i < (c + 1) * inner; i++) out[i] = h[i] * op.scale[c] + op.shift[c];
  }
  return out;
}

/**
 * Run one sample forward, returning the output and per-op saved state (slopes, argmax).
 *
 * @param {object} net - from decodeNetwork.
 * @param {Float32Array} x - one input, net.inputSize values.
 * @param {Map<number, Array<[number, number]>>|null} [pinned] - per ReLU op index, [unit, active]
 *   pairs whose state is given rather than computed (lens/pattern_corrections.py).
 * @returns {{output: Float32Array, saved: Array}}
 */
export function forward(net, x, pinned = null) {
  if (x.length !== net.inputSize) {
    throw new RangeError(`the input has ${x.length} values but the network takes ${net.inputSize}`);
  }
  let h = x instanceof Float32Array ? x : Float32Array.from(x);
  const saved = [];
  net.ops.forEach((op, i) => {
    let result = null;
    if (op.op === "linear") h = linearForward(op, h);
    else if (op.op === "conv2d") h = convForward(op, h);
    else if (op.op === "relu") result = reluForward(op, h, pinned?.get(i));
    else if (op.op === "maxpool2d") result = maxpoolForward(op, h);
    else if (op.op === "affine") h = affineForward(op, h);
    else h = avgForward(op, h);
    if (result) {
      h = result.out;
      saved.push(result.saved);
    } else saved.push(null);
  });
  return { output: h, saved };
}

// --------------------------------------------------------------------------------------- chain
// G holds C rows of the current op's output size; each adjoint maps it to C rows of the input size.

function linearAdjoint(op, g, C, acc) {
  const [nOut, nIn] = op.weightShape;
  const w = op.weight;
  if (acc && op.bias) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < nOut; k++) s += g[c * nOut + k] * op.bias[k];
      acc[c] += s;
    }
  }
  const next = new Float64Array(C * nIn);
  for (let c = 0; c < C; c++) {
    const dst = c * nIn;
    for (let k = 0; k < nOut; k++) {
      const gv = g[c * nOut + k];
      if (gv === 0) continue;
      const row = k * nIn;
      for (let j = 0; j < nIn; j++) next[dst + j] += gv * w[row + j];
    }
  }
  return next;
}

function convAdjoint(op, g, C, acc) {
  const [cIn, H, W] = op.in_shape;
  const [cOut, oH, oW] = op.out_shape;
  const [, , kH, kW] = op.weightShape;
  const [sH, sW] = op.stride;
  const [pH, pW] = op.padding;
  const [dH, dW] = op.dilation;
  const w = op.weight;
  const outSize = cOut * oH * oW;
  const inSize = cIn * H * W;
  const plane = oH * oW;
  if (acc && op.bias) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let co = 0; co < cOut; co++) {
        let t = 0;
        const base = c * outSize + co * plane;
        for (let p = 0; p < plane; p++) t += g[base + p];
        s += t * op.bias[co];
      }
      acc[c] += s;
    }
  }
  // Driven by the non-zero cotangents: after a max-pool and a ReLU most of them are zero.
  const next = new Float64Array(C * inSize);
  const kk = kH * kW;
  const hw = H * W;
  for (let c = 0; c < C; c++) {
    const gRow = c * outSize;
    const nRow = c * inSize;
    for (let co = 0; co < cOut; co++) {
      const wCo = co * cIn * kk;
      for (let oy = 0; oy < oH; oy++) {
        for (let ox = 0; ox < oW; ox++) {
          const gv = g[gRow + co * plane + oy * oW + ox];
          if (gv === 0) continue;
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * sH - pH + ky * dH;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * sW - pW + kx * dW;
              if (ix < 0 || ix >= W) continue;
              let wi = wCo + ky * kW + kx;
              let ni = nRow + iy * W + ix;
              for (let ci = 0; ci < cIn; ci++, wi += kk, ni += hw) next[ni] += gv * w[wi];
            }
          }
        }
      }
    }
  }
  return next;
}

function reluAdjoint(slope, g, C) {
  const n = slope.length;
  for (let c = 0; c < C; c++) {
    const row = c * n;
    for (let i = 0; i < n; i++) g[row + i] *= slope[i];
  }
  return g;
}

function maxpoolAdjoint(op, argmax, g, C) {
  const inSize = sizeOf(op.in_shape);
  const outSize = argmax.length;
  const next = new Float64Array(C * inSize);
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < outSize; o++) {
      if (argmax[o] >= 0) next[c * inSize + argmax[o]] += g[c * outSize + o];
    }
  }
  return next;
}

function avgAdjoint(op, g, C) {
  const win = op._windows ?? (op._windows = avgWindows(op));
  const { C: ch, H, W, oH, oW, rows, cols, divisor } = win;
  const inSize = ch * H * W;
  const outSize = ch * oH * oW;
  const next = new Float64Array(C * inSize);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < ch; k++) {
      for (let y = 0; y < oH; y++) {
        for (let x = 0; x < oW; x++) {
          const v = g[c * outSize + (k * oH + y) * oW + x] / divisor[y * oW + x];
          if (v === 0) continue;
          for (let iy = rows[y][0]; iy < rows[y][1]; iy++) {
            for (let ix = cols[x][0]; ix < cols[x][1]; ix++) next[c * inSize + (k * H + iy) * W + ix] += v;
          }
        }
      }
    }
  }
  return next;
}

function affineAdjoint(op, g, C, acc) {
  const size = sizeOf(op.in_shape);
  const channels = op.in_shape.length > 1 ? op.in_shape[0] : size;
  const inner = size / channels;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let k = 0; k < channels; k++) {
      const base = c * size + k * inner;
      let t = 0;
      for (let i = base; i < base + inner; i++) {
        t += g[i];
        g[i] *= op.scale[k];
      }
      s += t * op.shift[k];
    }
    if (acc) acc[c] += s;
  }
  return g;
}

/**
 * W_eff, b_eff, the output and the predicted class of one sample.
 *
 * @param {object} net - from decodeNetwork.
 * @param {Float32Array|number[]} x - one input (net.inputSize values, flattened C-order).
 * @param {Map|null} [pinned] - ReLU states to use instead of computing them (see `forward`).
 * @returns {{weight: Float32Array, bias: Float32Array|null, output: Float32Array, predicted: number}}
 *   weight is C × D row-major; bias is null when the network has no offset anywhere.
 */
export function effectiveWeights(net, x, pinned = null) {
  const { output, saved } = forward(net, x, pinned);
  const C = net.nOutputs;
  let g = new Float64Array(C * C);
  for (let c = 0; c < C; c++) g[c * C + c] = 1;
  const acc = net.hasBias ? new Float64Array(C) : null;
  for (let i = net.ops.length - 1; i >= 0; i--) {
    const op = net.ops[i];
    if (op.op === "linear") g = linearAdjoint(op, g, C, acc);
    else if (op.op === "conv2d") g = convAdjoint(op, g, C, acc);
    else if (op.op === "relu") g = reluAdjoint(saved[i], g, C);
    else if (op.op === "maxpool2d") g = maxpoolAdjoint(op, saved[i], g, C);
    else if (op.op === "affine") g = affineAdjoint(op, g, C, acc);
    else g = avgAdjoint(op, g, C);
  }
  let predicted = 0;
  for (let c = 1; c < C; c++) if (output[c] > output[predicted]) predicted = c;
  return {
    weight: Float32Array.from(g),
    bias: acc ? Float32Array.from(acc) : null,
    output,
    predicted,
  };
}

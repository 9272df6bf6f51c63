/**
 * Decode a portable network (the spec and arrays written by linlens_widgets.lens.portable.to_arrays).
 *
 * The spec is JSON: {format, dtype, input_shape, n_inputs, n_outputs, has_bias, ops, arrays}; each
 * op is {op, in_shape, out_shape, ...settings, weight|bias|scale|shift: index into arrays or null};
 * arrays[i] is {shape, dtype} with dtype "float32" or "float16". The binary arrays come in the same
 * order, as typed arrays, ArrayBuffers, DataViews or {b64} objects; float16 is widened to float32
 * once, at load, so every later computation reads Float32Arrays.
 */

import { base64ToDataView, sizeOf } from "../codecs.js";

export const FORMAT = "linlens-portable-1";

const KINDS = new Set(["linear", "conv2d", "relu", "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "affine"]);
const ROLES = ["weight", "bias", "scale", "shift"];

/** Convert one IEEE half-precision bit pattern to a number. */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Widen a Uint16Array of float16 bit patterns into a Float32Array. */
export function halfToFloat32(half) {
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = halfToFloat(half[i]);
  return out;
}

function bytesOf(source, name) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source && typeof source.b64 === "string") return bytesOf(base64ToDataView(source.b64), name);
  throw new TypeError(`${name}: expected binary data (typed array, ArrayBuffer, DataView or {b64})`);
}

/** Decode one stored array into a Float32Array, checking its size against the spec. */
export function decodeTensor(source, meta, name = "array") {
  const n = sizeOf(meta.shape);
  if (source instanceof Float32Array && meta.dtype === "float32" && source.length === n) return source;
  const bytes = bytesOf(source, name);
  const width = meta.dtype === "float32" ? 4 : meta.dtype === "float16" ? 2 : 0;
  if (!width) throw new TypeError(`${name}: unsupported dtype ${JSON.stringify(meta.dtype)}`);
  if (bytes.byteLength !== n * width) {
    throw new TypeError(`${name}: ${bytes.byteLength} bytes do not match ${meta.dtype} [${meta.shape}]`);
  }
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  if (width === 4) return new Float32Array(aligned.buffer, aligned.byteOffset, n).slice();
  return halfToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
}

function checkOp(op, i, previous) {
  const where = `op ${i} (${op.op})`;
  if (!KINDS.has(op.op)) throw new TypeError(`${where}: unknown op kind`);
  if (!Array.isArray(op.in_shape) || !Array.isArray(op.out_shape)) {
    throw new TypeError(`${where}: in_shape and out_shape must be lists`);
  }
  if (previous !== null && sizeOf(op.in_shape) !== previous) {
    throw new TypeError(`${where}: takes ${sizeOf(op.in_shape)} values but the previous op gives ${previous}`);
  }
}

/**
 * Decode a spec and its arrays into a network object for `effectiveWeights`.
 *
 * @param {object} spec - the JSON spec.
 * @param {Array} arrays - binary arrays, in spec.arrays order.
 * @returns {{inputSize: number, nOutputs: number, hasBias: boolean, dtype: string, ops: object[]}}
 *   ops carry their settings plus Float32Array tensors under weight/bias/scale/shift (null if absent).
 */
export function decodeNetwork(spec, arrays) {
  if (!spec || spec.format !== FORMAT) {
    throw new TypeError(`not a portable network spec (format ${JSON.stringify(spec?.format)}, expected ${FORMAT})`);
  }
  const metas = spec.arrays ?? [];
  if (!arrays || arrays.length !== metas.length) {
    throw new TypeError(`spec lists ${metas.length} arrays but ${arrays?.length ?? 0} were given`);
  }
  const tensors = metas.map((meta, i) => decodeTensor(arrays[i], meta, `array ${i}`));
  let size = sizeOf(spec.input_shape);
  const ops = spec.ops.map((raw, i) => {
    checkOp(raw, i, size);
    size = sizeOf(raw.out_shape);
    const op = { ...raw };
    for (const role of ROLES) {
      if (!(role in raw) || raw[role] === null) {
        op[role] = null;
        continue;
      }
      const t = tensors[raw[role]];
      if (!t) throw new TypeError(`op ${i} (${raw.op}): ${role} refers to missing array ${raw[role]}`);
      op[role] = t;
      op[`${role}Shape`] = metas[raw[role]].shape;
    }
    return op;
  });
  if (size !== spec.n_outputs) {
    throw new TypeError(`the last op gives ${size} values but the spec says ${spec.n_outputs} outputs`);
  }
  return {
    inputSize: sizeOf(spec.input_shape),
    inputShape: spec.input_shape,
    nOutputs: spec.n_outputs,
    hasBias: Boolean(spec.has_bias),
    dtype: spec.dtype,
    ops,
  };
}

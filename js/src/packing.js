/**
 * Decode a saved page's packed arrays, mirror of linlens_widgets/widgets/_packing.py.
 *
 * Two lossless codecs, both deflated with zlib and inflated by the browser's DecompressionStream:
 *
 *   {b64, dtype, shape, encoding: "deflate-planes"}  the element bytes regrouped by position
 *   {codec: "linlens-delta-1", dtype, shapes, checkpoints, b64}
 *       the network's layer arrays at every checkpoint: per element, monotone integer codes of the
 *       float bits, predicted from the two checkpoints before (2 c[t-1] - c[t-2]), residuals
 *       zigzag-mapped, in byte planes; all arithmetic modulo 2**32.
 *
 * `expandPacked(value)` returns the same structure with every packed array replaced by
 * {view: DataView, dtype, shape} (a checkpoint block by a list of lists of them), which the rest
 * of the front end reads like any other array. `expandPackedNow(value)` does the same at once, in
 * the calling task (fflate's inflate in JavaScript): a saved page's first frame reads its few small
 * arrays that way, where DecompressionStream's round trips through the event loop cost tens of ms
 * while the page is still loading; the large network keeps the browser's native inflater.
 */
import { unzlibSync } from "fflate";
import { base64ToDataView, sizeOf } from "./codecs.js";

export const DELTA_CODEC = "linlens-delta-1";
export const PLANES = "deflate-planes";

const WIDTH = { float64: 8, float32: 4, int32: 4, uint32: 4, float16: 2, int16: 2, uint16: 2, int8: 1, uint8: 1 };

/** Inflate zlib-deflated bytes with the browser's DecompressionStream. */
export async function inflate(bytes) {
  if (typeof DecompressionStream === "undefined") {
    throw new Error("this browser cannot decompress the page's data (DecompressionStream is missing); open the page in a current Chrome, Edge, Firefox or Safari");
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Inflate zlib-deflated bytes at once, in this task; an error names the array. */
export function inflateNow(bytes, name = "array") {
  try {
    return unzlibSync(bytes);
  } catch (e) {
    throw new TypeError(`${name}: the packed data does not inflate (${e.message}); the file may be damaged`);
  }
}

function bytesOfB64(text, name) {
  if (typeof text !== "string") throw new TypeError(`${name}: no packed data`);
  const v = base64ToDataView(text);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Undo the byte-plane regrouping: planes (width x n) back to n little-endian elements. */
export function unplanes(planes, width) {
  if (planes.length % width !== 0) throw new TypeError(`${planes.length} bytes are not ${width}-byte elements`);
  const n = planes.length / width;
  const out = new Uint8Array(planes.length);
  for (let k = 0; k < width; k++) {
    const base = k * n;
    for (let i = 0; i < n; i++) out[i * width + k] = planes[base + i];
  }
  return out;
}

function checkPlanes(obj, name) {
  if (!WIDTH[obj.dtype]) throw new TypeError(`${name}: unsupported dtype ${JSON.stringify(obj.dtype)}`);
}

/** A byte-plane array from its inflated bytes (its dtype checked by `checkPlanes`). */
function planesArray(obj, inflated, name) {
  const width = WIDTH[obj.dtype];
  const bytes = unplanes(inflated, width);
  if (bytes.length !== sizeOf(obj.shape) * width) {
    throw new TypeError(`${name}: ${bytes.length} bytes do not match ${obj.dtype} [${obj.shape}]`);
  }
  return { view: new DataView(bytes.buffer), dtype: obj.dtype, shape: Array.from(obj.shape) };
}

/** Codes (Int32Array, monotone in the value) back to float bit patterns of the dtype's width. */
function bitsOf(codes, dtype) {
  if (dtype === "float32") {
    const bits = new Uint32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      bits[i] = c < 0 ? (0x80000000 | ~c) >>> 0 : c;
    }
    return bits;
  }
  const bits = new Uint16Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    bits[i] = c < 0 ? 0x8000 | (~c & 0x7fff) : c;
  }
  return bits;
}

/**
 * Decode a checkpoint-delta block into `[checkpoint][array] -> {view, dtype, shape}`.
 *
 * @param {object} obj - {codec, dtype, shapes, checkpoints, b64}.
 * @param {string} [name] - named in errors.
 */
export async function expandCheckpoints(obj, name = "weights") {
  checkCheckpoints(obj, name);
  return checkpointArrays(obj, await inflate(bytesOfB64(obj.b64, name)), name);
}

function checkCheckpoints(obj, name) {
  if (obj.dtype !== "float32" && obj.dtype !== "float16") throw new TypeError(`${name}: unsupported dtype ${JSON.stringify(obj.dtype)}`);
}

/** The checkpoint block's arrays from its inflated byte planes. */
function checkpointArrays(obj, planes, name) {
  const E = obj.checkpoints;
  const sizes = obj.shapes.map(sizeOf);
  const P = sizes.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(E) || E < 1 || planes.length !== 4 * E * P) {
    throw new TypeError(`${name}: ${planes.length} bytes do not hold ${E} checkpoints of ${P} values`);
  }
  const n = E * P;
  const codes = new Int32Array(n); // Int32Array stores wrap modulo 2**32
  for (let i = 0; i < n; i++) {
    const z = (planes[i] | (planes[n + i] << 8) | (planes[2 * n + i] << 16) | (planes[3 * n + i] << 24)) >>> 0;
    const r = (z >>> 1) ^ -(z & 1);
    const t = Math.floor(i / P);
    if (t === 0) codes[i] = r;
    else if (t === 1) codes[i] = r + codes[i - P];
    else codes[i] = r + 2 * codes[i - P] - codes[i - 2 * P];
  }
  const out = [];
  for (let t = 0; t < E; t++) {
    const bits = bitsOf(codes.subarray(t * P, (t + 1) * P), obj.dtype);
    let start = 0;
    out.push(
      obj.shapes.map((shape, j) => {
        const part = bits.slice(start, start + sizes[j]);
        start += sizes[j];
        return { view: new DataView(part.buffer), dtype: obj.dtype, shape: Array.from(shape) };
      }),
    );
  }
  return out;
}

/**
 * How `value` was packed: its codec's check and builder (see `CODECS`), or null for anything else
 * (a container or a plain value). An unknown codec or encoding is an error that names it.
 */
function codecOf(value, name) {
  if (!value || typeof value !== "object" || Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return null;
  if (value.codec === DELTA_CODEC) return CODECS.checkpoints;
  if (value.codec !== undefined) throw new TypeError(`${name}: unknown codec ${JSON.stringify(value.codec)}`);
  if (value.encoding === PLANES) return CODECS.planes;
  if (value.encoding !== undefined) throw new TypeError(`${name}: unknown encoding ${JSON.stringify(value.encoding)}`);
  return null;
}

/** Each codec's check (before inflating) and builder (from the inflated bytes). */
const CODECS = {
  checkpoints: { check: checkCheckpoints, build: checkpointArrays },
  planes: { check: checkPlanes, build: planesArray },
};

/** Whether `value` is a container `expandPacked` walks into (an array or a plain object). */
function isContainer(value) {
  return !!value && typeof value === "object" && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);
}

/** Return `value` with every packed array (either codec) decoded; other values as they are. */
export async function expandPacked(value, name = "state") {
  const codec = codecOf(value, name);
  if (codec) {
    codec.check(value, name);
    return codec.build(value, await inflate(bytesOfB64(value.b64, name)), name);
  }
  if (Array.isArray(value)) return Promise.all(value.map((v, i) => expandPacked(v, `${name}[${i}]`)));
  if (!isContainer(value)) return value;
  const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await expandPacked(v, `${name}.${k}`)]));
  return Object.fromEntries(entries);
}

/**
 * `expandPacked` at once, in the calling task (fflate's inflate): for the small arrays a page's
 * first frame needs, which must not wait on the event loop while the page is still loading.
 */
export function expandPackedNow(value, name = "state") {
  const codec = codecOf(value, name);
  if (codec) {
    codec.check(value, name);
    return codec.build(value, inflateNow(bytesOfB64(value.b64, name), name), name);
  }
  if (Array.isArray(value)) return value.map((v, i) => expandPackedNow(v, `${name}[${i}]`));
  if (!isContainer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandPackedNow(v, `${name}.${k}`)]));
}

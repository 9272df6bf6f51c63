/**
 * Binary array codec, mirror of linlens_widgets/widgets/_codecs.py.
 *
 * Python sends an ndarray as `{view, dtype, shape}`; `view` arrives as a DataView (anywidget
 * turns bytes/memoryview into DataView). In a saved page the same object carries `b64` instead
 * of `view`. Custom messages carry `arrays: [{name, dtype, shape}]` plus a parallel buffer list.
 */

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
};

/** Product of a shape's dimensions (1 for a scalar shape []). */
export function sizeOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/** Turn base64 text into a DataView over fresh bytes. */
export function base64ToDataView(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new DataView(bytes.buffer);
}

/** Turn any of DataView / ArrayBuffer / typed array into a Uint8Array view (no copy). */
function asBytes(buffer) {
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  throw new TypeError(`expected binary data, got ${Object.prototype.toString.call(buffer)}`);
}

/**
 * Decode `{view|b64, dtype, shape}` into `{data: TypedArray, shape: number[], dtype}`.
 * Returns null for null/undefined input. Throws a TypeError that names the problem otherwise.
 */
export function decodeArray(obj, name = "array") {
  if (obj === null || obj === undefined) return null;
  const { dtype } = obj;
  const shape = Array.from(obj.shape ?? []);
  const Ctor = CONSTRUCTORS[dtype];
  if (!Ctor) throw new TypeError(`${name}: unsupported dtype ${JSON.stringify(dtype)}`);
  const source = obj.view ?? obj.buffer ?? (obj.b64 !== undefined ? base64ToDataView(obj.b64) : null);
  if (!source) throw new TypeError(`${name}: no binary data (expected "view" or "b64")`);
  const bytes = asBytes(source);
  const n = sizeOf(shape);
  if (bytes.byteLength !== n * Ctor.BYTES_PER_ELEMENT) {
    throw new TypeError(
      `${name}: ${bytes.byteLength} bytes do not match dtype ${dtype} and shape [${shape}]`,
    );
  }
  // Copy when unaligned (typed arrays need offsets that are multiples of the element size).
  const aligned = bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0;
  const data = aligned
    ? new Ctor(bytes.buffer, bytes.byteOffset, n)
    : new Ctor(bytes.slice().buffer, 0, n);
  return { data, shape, dtype };
}

/** Encode a typed array with a shape into `{view, dtype, shape}` (as Python would send it). */
export function encodeArray(data, shape) {
  const dtype = Object.keys(CONSTRUCTORS).find((k) => data instanceof CONSTRUCTORS[k]);
  if (!dtype) throw new TypeError("encodeArray: unsupported typed array");
  if (sizeOf(shape) !== data.length) {
    throw new TypeError(`encodeArray: ${data.length} values do not fill shape [${shape}]`);
  }
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), dtype, shape };
}

/**
 * Decode a custom message's arrays: `content.arrays` lists `{name, dtype, shape}` in the order of
 * `buffers`. Returns an object name -> decoded array.
 */
export function decodeMessageArrays(content, buffers = []) {
  const out = {};
  const specs = content?.arrays ?? [];
  if (specs.length !== buffers.length) {
    throw new TypeError(`message has ${specs.length} array specs but ${buffers.length} buffers`);
  }
  specs.forEach((spec, i) => {
    out[spec.name] = decodeArray({ ...spec, view: buffers[i] }, spec.name);
  });
  return out;
}

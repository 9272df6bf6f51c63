import { describe, expect, it } from "vitest";

import {
  centredCosine,
  createEngine,
  createState,
  decodeNetwork,
  effectiveWeights,
  forward,
  FORMAT,
  halfToFloat,
  handleMessage,
} from "../src/engine/index.js";

/** Build a spec + arrays from ops whose tensors are given inline as {data, shape}. */
function makeNet(inputShape, ops, dtype = "float32") {
  const arrays = [];
  const metas = [];
  const specOps = ops.map((op) => {
    const entry = { ...op };
    for (const role of ["weight", "bias", "scale", "shift"]) {
      if (!op[role]) continue;
      entry[role] = arrays.length;
      arrays.push(Float32Array.from(op[role].data));
      metas.push({ shape: op[role].shape, dtype });
    }
    return entry;
  });
  const last = ops[ops.length - 1].out_shape;
  const hasBias = ops.some((op) => op.bias || op.shift);
  const spec = {
    format: FORMAT,
    dtype,
    input_shape: inputShape,
    n_inputs: inputShape.reduce((a, b) => a * b, 1),
    n_outputs: last.reduce((a, b) => a * b, 1),
    has_bias: hasBias,
    ops: specOps,
    arrays: metas,
  };
  return { spec, arrays };
}

const linear = (nOut, nIn, w, b) => ({
  op: "linear",
  in_shape: [nIn],
  out_shape: [nOut],
  weight: { data: w, shape: [nOut, nIn] },
  bias: b ? { data: b, shape: [nOut] } : null,
});
const relu = (n, slope = 0) => ({ op: "relu", in_shape: [n], out_shape: [n], negative_slope: slope });

function decoded(inputShape, ops) {
  const { spec, arrays } = makeNet(inputShape, ops);
  return decodeNetwork(spec, arrays);
}

function approx(got, want, tol = 1e-6) {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, -Math.log10(tol)));
}

describe("effectiveWeights on hand-checked networks", () => {
  // W1 = [[1, 2], [-1, 1]], W2 = [[1, 1], [2, -1]]
  const net = decoded([2], [linear(2, 2, [1, 2, -1, 1]), relu(2), linear(2, 2, [1, 1, 2, -1])]);

  it("masks the inactive unit: W_eff = W2 D W1", () => {
    // x = (1, 0): pre = (1, -1), D = diag(1, 0); W_eff = W2[:, 0] W1[0, :] = [[1, 2], [2, 4]]
    const res = effectiveWeights(net, Float32Array.of(1, 0));
    approx(res.weight, [1, 2, 2, 4]);
    approx(res.output, [1, 2]);
    expect(res.bias).toBeNull();
    expect(res.predicted).toBe(1);
  });

  it("keeps both units when both are active", () => {
    // x = (0, 1): pre = (2, 1); W_eff = W2 W1 = [[0, 3], [3, 3]]
    const res = effectiveWeights(net, [0, 1]);
    approx(res.weight, [0, 3, 3, 3]);
    approx(res.output, [3, 3]);
    expect(res.predicted).toBe(0); // first of equal outputs, like argmax
  });

  it("uses the LeakyReLU slope on the negative side", () => {
    const leaky = decoded([2], [linear(2, 2, [1, 2, -1, 1]), relu(2, 0.5), linear(2, 2, [1, 1, 2, -1])]);
    // x = (1, 0): D = diag(1, 0.5): W_eff = [[1 - 0.5, 2 + 0.5], [2 + 0.5, 4 - 0.5]]
    approx(effectiveWeights(leaky, [1, 0]).weight, [0.5, 2.5, 2.5, 3.5]);
  });

  it("accumulates the offset through the chain: f = W_eff x + b_eff", () => {
    const biased = decoded([2], [linear(2, 2, [1, 2, -1, 1], [0.5, -3]), relu(2), linear(1, 2, [2, 1], [1])]);
    // x = (1, 1): pre = (3.5, -3) -> unit 2 off; f = 2 * 3.5 + 1 = 8; W_eff = [2, 4], b_eff = 2*0.5 + 1 = 2
    const res = effectiveWeights(biased, [1, 1]);
    approx(res.weight, [2, 4]);
    approx(res.bias, [2]);
    approx(res.output, [8]);
  });

  it("sends a max-pool's gradient to the argmax only", () => {
    const pool = decoded([1, 2, 2], [
      { op: "maxpool2d", in_shape: [1, 2, 2], out_shape: [1, 1, 1], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
    ]);
    const res = effectiveWeights(pool, [0.1, 0.7, -2, 0.3]);
    approx(res.weight, [0, 1, 0, 0]);
    approx(res.output, [0.7]);
  });

  it("spreads average pools evenly, with and without padding counted", () => {
    const avg = (extra) =>
      decoded([1, 2, 2], [{ op: "avgpool2d", in_shape: [1, 2, 2], out_shape: [1, 2, 2], kernel: [2, 2], stride: [1, 1], padding: [1, 1], ...extra }]);
    // output (0, 0) covers input (0, 0) only: 1/4 with the padding counted, 1 without
    const x = [1, 2, 3, 4];
    const counted = effectiveWeights(avg({ count_include_pad: true }), x);
    const uncounted = effectiveWeights(avg({ count_include_pad: false }), x);
    approx(counted.weight.slice(0, 4), [0.25, 0, 0, 0]);
    approx(uncounted.weight.slice(0, 4), [1, 0, 0, 0]);
    approx(uncounted.output, [1, 1.5, 2, 2.5]);
    const adaptive = decoded([1, 2, 2], [{ op: "adaptive_avgpool2d", in_shape: [1, 2, 2], out_shape: [1, 1, 1] }]);
    approx(effectiveWeights(adaptive, x).weight, [0.25, 0.25, 0.25, 0.25]);
  });

  it("takes a convolution's adjoint with zero padding", () => {
    // 1 channel, 2x2 input, 3x3 kernel with padding 1 -> 2x2 output; then sum the output
    const kernel = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const conv = {
      op: "conv2d", in_shape: [1, 2, 2], out_shape: [1, 2, 2], stride: [1, 1], padding: [1, 1], dilation: [1, 1],
      weight: { data: kernel, shape: [1, 1, 3, 3] }, bias: { data: [0.5], shape: [1] },
    };
    const net2 = decoded([1, 2, 2], [conv, linear(1, 4, [1, 1, 1, 1])]);
    // d(sum of outputs)/d input (iy, ix) = sum of the kernel taps that reach it, K[1 + oy - iy][1 + ox - ix]:
    // (0,0): 5+4+2+1 = 12; (0,1): 6+5+3+2 = 16; (1,0): 8+7+5+4 = 24; (1,1): 9+8+6+5 = 28
    const res = effectiveWeights(net2, [1, 0, 0, 0]);
    approx(res.weight, [12, 16, 24, 28]);
    approx(res.bias, [2]); // bias 0.5 at 4 output pixels
    approx(res.output, [14]);
  });

  it("applies a per-channel affine (unfolded BatchNorm) to weights and offset", () => {
    const affine = decoded([2, 1, 1], [
      { op: "affine", in_shape: [2, 1, 1], out_shape: [2, 1, 1], scale: { data: [2, -1], shape: [2] }, shift: { data: [1, 3], shape: [2] } },
      linear(1, 2, [1, 1]),
    ]);
    const res = effectiveWeights(affine, [5, 7]);
    approx(res.weight, [2, -1]);
    approx(res.bias, [4]);
    approx(res.output, [2 * 5 + 1 - 7 + 3]);
  });
});

describe("effectiveWeights on a random network", () => {
  it("agrees with finite differences and f = W_eff x + b_eff", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const fill = (n) => Array.from({ length: n }, rand);
    const net = decoded([1, 6, 6], [
      {
        op: "conv2d", in_shape: [1, 6, 6], out_shape: [3, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1],
        weight: { data: fill(27), shape: [3, 1, 3, 3] }, bias: { data: fill(3), shape: [3] },
      },
      { op: "relu", in_shape: [3, 3, 3], out_shape: [3, 3, 3], negative_slope: 0.1 },
      { op: "maxpool2d", in_shape: [3, 3, 3], out_shape: [3, 2, 2], kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
      { ...linear(4, 12, fill(48), fill(4)), in_shape: [12] },
    ]);
    const x = Float32Array.from(fill(36));
    const res = effectiveWeights(net, x);
    for (let c = 0; c < 4; c++) {
      let affine = res.bias[c];
      for (let j = 0; j < 36; j++) affine += res.weight[c * 36 + j] * x[j];
      expect(affine).toBeCloseTo(res.output[c], 5);
    }
    const h = 1e-3;
    for (const j of [0, 7, 20, 35]) {
      const up = Float32Array.from(x);
      up[j] += h;
      const down = Float32Array.from(x);
      down[j] -= h;
      const fu = forward(net, up).output;
      const fd = forward(net, down).output;
      for (let c = 0; c < 4; c++) expect((fu[c] - fd[c]) / (2 * h)).toBeCloseTo(res.weight[c * 36 + j], 2);
    }
  });
});

describe("decodeNetwork", () => {
  it("widens float16 arrays", () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    const { spec } = makeNet([2], [linear(1, 2, [1, -2])], "float16");
    const net = decodeNetwork(spec, [Uint16Array.of(0x3c00, 0xc000)]);
    approx(effectiveWeights(net, [1, 1]).weight, [1, -2]);
  });

  it("names what is wrong with a spec", () => {
    const { spec, arrays } = makeNet([2], [linear(1, 2, [1, -2])]);
    expect(() => decodeNetwork({ ...spec, format: "x" }, arrays)).toThrow(/not a portable network/);
    expect(() => decodeNetwork(spec, [])).toThrow(/lists 1 arrays but 0/);
    expect(() => decodeNetwork(spec, [new Float32Array(3)])).toThrow(/bytes do not match/);
    expect(() => decodeNetwork({ ...spec, n_outputs: 3 }, arrays)).toThrow(/says 3 outputs/);
    const bad = { ...spec, ops: [{ ...spec.ops[0], op: "gelu" }] };
    expect(() => decodeNetwork(bad, arrays)).toThrow(/unknown op kind/);
  });

  it("refuses an input of the wrong size", () => {
    const net = decoded([2], [linear(1, 2, [1, -2])]);
    expect(() => effectiveWeights(net, [1, 2, 3])).toThrow(/takes 2/);
  });
});

describe("centredCosine", () => {
  it("subtracts the mean before the cosine, overall and per class", () => {
    const a = Float32Array.of(2, 1, 1, 3);
    const b = Float32Array.of(0, 1, 1, -1);
    const mean = Float32Array.of(1, 1, 1, 1);
    // centred: a = (1, 0 | 0, 2), b = (-1, 0 | 0, -2): opposite
    const res = centredCosine(a, b, mean, 2);
    expect(res.overall).toBeCloseTo(-1, 12);
    expect(res.perClass[0]).toBeCloseTo(-1, 12);
    expect(res.perClass[1]).toBeCloseTo(-1, 12);
    const raw = centredCosine(a, b, null, 2);
    expect(raw.perClass[0]).toBeCloseTo(1 / Math.sqrt(5), 12); // (2, 1) . (0, 1) / (sqrt5 * 1)
    expect(raw.perClass[0]).not.toBe(res.perClass[0]);
  });

  it("gives 0 for a zero vector and refuses mismatched sizes", () => {
    const z = new Float32Array(4);
    expect(centredCosine(z, Float32Array.of(1, 2, 3, 4), null, 2).overall).toBe(0);
    expect(() => centredCosine(z, new Float32Array(3), null, 2)).toThrow(/sizes differ/);
    expect(() => centredCosine(z, z, null, 3)).toThrow(/class rows/);
  });
});

describe("engine messages and the main-thread fallback", () => {
  const { spec, arrays } = makeNet([2], [linear(2, 2, [1, 2, -1, 1]), relu(2), linear(2, 2, [1, 1, 2, -1])]);

  it("computes stored uint8 samples by index", () => {
    const state = createState();
    expect(handleMessage(state, { type: "load", request: 1, network: "ck3", spec, arrays }).reply.type).toBe("loaded");
    const data = Uint8Array.of(255, 0, 0, 255);
    handleMessage(state, { type: "inputs", request: 2, inputs: "probe", data, shape: [2, 2], scale: 1 / 255 });
    const { reply, transfer } = handleMessage(state, { type: "compute", request: 3, network: "ck3", inputs: "probe", sample: 1 });
    expect(reply.request).toBe(3);
    approx(reply.weight, [0, 3, 3, 3]);
    expect(transfer).toContain(reply.weight.buffer);
    const missing = handleMessage(state, { type: "compute", request: 4, network: "nope", x: [1, 0] }).reply;
    expect(missing).toMatchObject({ type: "error", request: 4 });
    expect(missing.message).toMatch(/no network loaded/);
    const outside = handleMessage(state, { type: "compute", network: "ck3", inputs: "probe", sample: 2 }).reply;
    expect(outside.message).toMatch(/outside 0..1/);
  });

  it("runs on the main thread where Workers are missing, and says why", async () => {
    const engine = createEngine({ workerSource: "/* worker */" });
    expect(engine.mode).toBe("main");
    expect(engine.reason).toMatch(/not available/);
    await engine.load(0, spec, arrays);
    const res = await engine.compute({ network: 0, x: Float32Array.of(1, 0) });
    approx(res.weight, [1, 2, 2, 4]);
    await expect(engine.compute({ network: 1, x: [1, 0] })).rejects.toThrow(/no network loaded/);
  });
});

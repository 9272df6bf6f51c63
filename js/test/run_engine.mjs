// Run the effective-weight engine under node on a saved network and samples.
//
//   node run_engine.mjs IN.json OUT.bin [--repeat K]
//
// IN.json: {spec, arrays: [{b64}], samples: {b64, shape: [N, D]}} (samples float32 little-endian).
// OUT.bin: float32 weights [N, C, D], then bias [N, C] when the network has one, then outputs [N, C].
// Prints JSON {n, classes, inputs, has_bias, predicted: [...], ms_median, ms: [...]} to stdout;
// with --repeat K every sample is computed K times and ms holds each run's time.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { base64ToDataView } from "../src/codecs.js";
import { decodeNetwork } from "../src/engine/network.js";
import { effectiveWeights } from "../src/engine/chain.js";

const [inPath, outPath, ...rest] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error("usage: node run_engine.mjs IN.json OUT.bin [--repeat K]");
  process.exit(2);
}
const repeat = rest[0] === "--repeat" ? Number(rest[1]) : 1;
const payload = JSON.parse(readFileSync(inPath, "utf8"));
const net = decodeNetwork(payload.spec, payload.arrays);
const [n, d] = payload.samples.shape;
const view = base64ToDataView(payload.samples.b64);
const samples = new Float32Array(view.buffer, view.byteOffset, n * d);
const C = net.nOutputs;
const weights = new Float32Array(n * C * d);
const biases = new Float32Array(n * C);
const outputs = new Float32Array(n * C);
const predicted = [];
const ms = [];
for (let r = 0; r < repeat; r++) {
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const res = effectiveWeights(net, samples.subarray(i * d, (i + 1) * d));
    ms.push(performance.now() - start);
    if (r > 0) continue;
    weights.set(res.weight, i * C * d);
    if (res.bias) biases.set(res.bias, i * C);
    outputs.set(res.output, i * C);
    predicted.push(res.predicted);
  }
}
const parts = [weights, ...(net.hasBias ? [biases] : []), outputs];
const bytes = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
let offset = 0;
for (const p of parts) {
  bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
  offset += p.byteLength;
}
writeFileSync(outPath, bytes);
const sorted = [...ms].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(JSON.stringify({ n, classes: C, inputs: d, has_bias: net.hasBias, predicted, ms_median: median, ms }));

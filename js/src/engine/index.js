/** The effective-weight engine: decode a portable network, compute W_eff for one sample, compare. */
export { effectiveWeights, forward } from "./chain.js";
export { createEngine } from "./client.js";
export { decodeNetwork, decodeTensor, FORMAT, halfToFloat, halfToFloat32 } from "./network.js";
export { centredCosine } from "./similarity.js";
export { createState, handleMessage } from "./worker.js";
export { createResponder, decodeStored, withLocalResponder } from "./responder.js";

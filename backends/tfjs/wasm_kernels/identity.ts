/**
 * `Identity` for tfjs-wasm. tfjs-wasm copies the whole tensor; tensors are immutable, so
 * this shares the data and counts a reference, as tfjs-cpu and tfjs-webgpu do. tfjs-core runs
 * Identity for every `clone()`, `keep`-style copy and many gradient pass-throughs (~70 per
 * training step of a three-layer conv net).
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { runWasm, type WasmKernelArgs } from "./heap.ts";

/**
 * The kernel function registered as `Identity` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const a = tf.tensor1d([1, 2]);
 * const b = a.clone();
 * a.dispose();
 * console.assert(b.dataSync().join() === "1,2");
 * ```
 */
export function identityWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  if (x.dtype === "string") return runWasm("Identity", backend, { x });
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

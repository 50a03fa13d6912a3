/**
 * `Cast` for tfjs-wasm. tfjs-wasm copies even when the dtype does not change (every ReLU,
 * max-pool and where gradient casts a float32 mask to float32), and its cast to bool
 * truncates (`0.5` → false) where tfjs-cpu tests `x !== 0`. This shares the data for a
 * same-dtype cast, casts to bool by `x !== 0`, and leaves the other conversions to tfjs-wasm.
 *
 * @module
 */
import type { CastAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { alloc, runWasm, type WasmKernelArgs } from "./heap.ts";

/**
 * The kernel function registered as `Cast` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * console.assert(tf.cast(tf.tensor1d([0, 0.5, -2]), "bool").dataSync().join() === "0,1,1");
 * ```
 */
export function castWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  const { dtype } = args.attrs as unknown as CastAttrs;
  if (x.dtype === dtype && dtype !== "string") {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype };
  }
  if (dtype === "bool" && (x.dtype === "float32" || x.dtype === "int32")) {
    const out = alloc(backend, [...x.shape], "bool");
    const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  return runWasm("Cast", backend, { x }, { dtype });
}

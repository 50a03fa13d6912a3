/**
 * `UnsortedSegmentSum` for tfjs-wasm (which has none); it is the gradient of `gather`, used
 * by Swin's relative-position-bias lookup and by embedding tables.
 *
 * @module
 */
import type { TensorInfo, UnsortedSegmentSumAttrs } from "@tensorflow/tfjs-core";
import { f32, i32, type WasmKernelArgs, zeros } from "./heap.ts";

/**
 * The kernel function registered as `UnsortedSegmentSum` on `wasm` (float32 data, int32 ids).
 * Ids outside [0, numSegments) are dropped, as in TensorFlow.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const s = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3]), tf.tensor1d([0, 1, 0], "int32"), 2);
 * console.assert(s.dataSync().join() === "4,2");
 * ```
 */
export function unsortedSegmentSumWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
  if (x.dtype !== "float32") {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 data, got ${x.dtype}`);
  }
  const idsRank = segmentIds.shape.length;
  const inner = x.shape.slice(idsRank).reduce((a, b) => a * b, 1);
  const out = zeros(backend, [numSegments, ...x.shape.slice(idsRank)]);
  const ov = f32(backend, out), xv = f32(backend, x);
  const ids = segmentIds.dtype === "int32"
    ? i32(backend, segmentIds)
    : Int32Array.from(f32(backend, segmentIds));
  for (let s = 0; s < ids.length; s++) {
    const id = ids[s];
    if (id < 0 || id >= numSegments) continue;
    const o = id * inner, xi = s * inner;
    for (let j = 0; j < inner; j++) ov[o + j] += xv[xi + j];
  }
  return out;
}

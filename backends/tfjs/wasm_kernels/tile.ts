/**
 * `Tile` for tfjs-wasm. tfjs-core's batch-norm gradient tiles the per-channel scale to the
 * full activation shape in every layer, and tfjs-wasm's element-by-element Tile made that
 * one op ~2/3 of the batch-norm backward pass. This one copies whole rows and then doubles
 * finished blocks with `copyWithin`.
 *
 * @module
 */
import type { TensorInfo, TileAttrs, TypedArray } from "@tensorflow/tfjs-core";
import { alloc, runWasm, type WasmKernelArgs } from "./heap.ts";

/**
 * The kernel function registered as `Tile` on `wasm` (float32, int32 and bool).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const t = tf.tile(tf.tensor2d([[1, 2]]), [2, 2]);
 * console.assert(t.dataSync().join() === "1,2,1,2,1,2,1,2");
 * ```
 */
export function tileWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  const { reps } = args.attrs as unknown as TileAttrs;
  if (x.dtype === "string" || x.dtype === "complex64" || reps.length !== x.shape.length) {
    return runWasm("Tile", backend, { x }, { reps });
  }
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = alloc(backend, outShape, x.dtype);
  const size = outShape.reduce((a, b) => a * b, 1);
  if (size === 0) return out;
  const src = backend.typedArrayFromHeap(x) as TypedArray;
  const dst = backend.typedArrayFromHeap(out) as TypedArray;
  if (rank === 0) {
    dst[0] = src[0];
    return out;
  }
  const xStride = new Array<number>(rank), oStride = new Array<number>(rank);
  xStride[rank - 1] = 1;
  oStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    xStride[d] = xStride[d + 1] * x.shape[d + 1];
    oStride[d] = oStride[d + 1] * outShape[d + 1];
  }
  const fill = (d: number, s: number, o: number): void => {
    const n = x.shape[d];
    if (d === rank - 1) {
      dst.set(src.subarray(s, s + n), o);
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, s + i * xStride[d], o + i * oStride[d]);
    }
    const block = n * oStride[d];
    for (let r = 1; r < reps[d]; r++) dst.copyWithin(o + r * block, o, o + block);
  };
  fill(0, 0, 0);
  return out;
}

/**
 * `_FusedMatMul` for tfjs-wasm. tfjs-wasm 4.22's own kernel adds the bias to the wrong
 * elements when either operand is transposed (from the second output row on, found by the
 * shape sweep): `[2,5] × [4,5]ᵀ + b` gives row 1 `b[3]` everywhere. With a bias and a
 * transpose this materialises the transposed operand first (one copy, by tfjs-wasm's
 * Transpose) and calls the original kernel untransposed, where its bias is right; every
 * other call goes straight to the original.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { free, runWasm, type WasmKernelArgs } from "./heap.ts";

function swapLastTwo(t: TensorInfo, args: WasmKernelArgs): TensorInfo {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return runWasm("Transpose", args.backend, { x: t }, { perm });
}

/**
 * The kernel function registered as `_FusedMatMul` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const y = tf.fused.matMul({
 *   a: tf.tensor2d([1, 2, 3, 4], [2, 2]),
 *   b: tf.tensor2d([1, 0, 0, 1], [2, 2]),
 *   transposeB: true,
 *   bias: tf.tensor1d([10, 20]),
 * });
 * console.assert(y.dataSync().join() === "11,22,13,24");
 * ```
 */
export function fusedMatMulWasm(args: WasmKernelArgs): TensorInfo {
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
  const { a, b, bias } = args.inputs;
  if (bias === undefined || (!attrs.transposeA && !attrs.transposeB)) {
    return runWasm("_FusedMatMul", args.backend, args.inputs, args.attrs);
  }
  const a2 = attrs.transposeA ? swapLastTwo(a, args) : a;
  const b2 = attrs.transposeB ? swapLastTwo(b, args) : b;
  try {
    return runWasm("_FusedMatMul", args.backend, { ...args.inputs, a: a2, b: b2 }, {
      ...args.attrs,
      transposeA: false,
      transposeB: false,
    });
  } finally {
    if (a2 !== a) free(args.backend, a2);
    if (b2 !== b) free(args.backend, b2);
  }
}

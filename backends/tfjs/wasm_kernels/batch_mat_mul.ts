/**
 * `BatchMatMul` for tfjs-wasm. Its own kernel reaches XNNPACK only for a single matrix
 * product without transposes; every transposed or batched product (all matMul gradients,
 * all attention products) falls to a scalar loop at ~1–2 GFLOP/s. This kernel lays the
 * operands out untransposed in JS and runs each product of the batch on the XNNPACK path.
 *
 * @module
 */
import { broadcast_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { alloc, f32, free, relabel, runWasm, type WasmKernelArgs, withShape } from "./heap.ts";
import { transposeMatrix } from "./layout.ts";

/**
 * Below this many multiply-adds per product, XNNPACK's per-call set-up (packing b, creating
 * the operator) costs more than tfjs-wasm's loop saves; measured crossover on this machine.
 */
const MIN_MACS_PER_PRODUCT = 16 * 1024;

/**
 * The kernel function registered as `BatchMatMul` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [0, 1]]), true, false);
 * console.assert(c.dataSync().join() === "1,3,2,4");
 * ```
 */
export function batchMatMulWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { a, b } = args.inputs;
  const transposeA = args.attrs?.transposeA === true;
  const transposeB = args.attrs?.transposeB === true;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  const original = () => runWasm("BatchMatMul", backend, { a, b }, { transposeA, transposeB });
  if (
    a.dtype !== "float32" || b.dtype !== "float32" ||
    (batch === 1 && !transposeA && !transposeB) ||
    m * n * k < MIN_MACS_PER_PRODUCT ||
    (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1) ||
    (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) !==
      (transposeB ? b.shape[rb - 1] : b.shape[rb - 2])
  ) {
    // Also lets tfjs-wasm raise its own errors for mismatched shapes.
    return original();
  }
  const outShape = [
    ...broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)),
    m,
    n,
  ];
  const out = alloc(backend, [batch, m, n]);
  for (let i = 0; i < batch; i++) {
    const ia = batchA === 1 ? 0 : i, ib = batchB === 1 ? 0 : i;
    // a is never cached by XNNPACK, so an untransposed single matrix is used in place.
    const ai = !transposeA && batch === 1 ? withShape(a, [1, m, k]) : alloc(backend, [1, m, k]);
    if (ai.dataId !== a.dataId) {
      const src = f32(backend, a).subarray(ia * m * k, (ia + 1) * m * k);
      if (transposeA) transposeMatrix(src, f32(backend, ai), k, m);
      else f32(backend, ai).set(src);
    }
    // b always gets a fresh tensor: XNNPACK caches the packed weights under b's id.
    const bi = alloc(backend, [1, k, n]);
    const srcB = f32(backend, b).subarray(ib * k * n, (ib + 1) * k * n);
    if (transposeB) transposeMatrix(srcB, f32(backend, bi), n, k);
    else f32(backend, bi).set(srcB);
    const ci = runWasm("BatchMatMul", backend, { a: ai, b: bi }, {
      transposeA: false,
      transposeB: false,
    });
    f32(backend, out).set(f32(backend, ci), i * m * n);
    if (ai.dataId !== a.dataId) free(backend, ai);
    free(backend, bi);
    free(backend, ci);
  }
  return relabel(out, outShape);
}

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
  if (batch === 1 && swappedIsCheaper(m, k, n, transposeA, transposeB)) {
    return relabel(swapped(args, m, k, n), outShape);
  }
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

/**
 * Floats moved (copied, transposed, packed by XNNPACK) to compute op(A)·op(B) directly, versus
 * as (op(B)ᵀ·op(A)ᵀ)ᵀ. b is always copied (fresh id) and packed, so the direct form costs
 * 2kn (+ mk to lay out a transposed A); the swapped form uses B in place when it arrives
 * transposed, copies and packs A (2mk) and transposes the [n, m] result back. For a·Wᵀ with
 * few rows (a linear layer's input gradient at small batch) the swapped form moves far less.
 */
function swappedIsCheaper(m: number, k: number, n: number, tA: boolean, tB: boolean): boolean {
  const direct = (tA ? m * k : 0) + 2 * k * n;
  const swappedCost = (tB ? 0 : k * n) + 2 * m * k + n * m;
  return swappedCost < direct;
}

/** op(A)·op(B) for single matrices computed as (op(B)ᵀ·op(A)ᵀ)ᵀ on XNNPACK. */
function swapped(args: WasmKernelArgs, m: number, k: number, n: number): TensorInfo {
  const { backend } = args;
  const { a, b } = args.inputs;
  const tA = args.attrs?.transposeA === true, tB = args.attrs?.transposeB === true;
  // a' = op(B)ᵀ, [n, k]: B itself when it arrives transposed (a operands are not cached).
  const a2 = tB ? withShape(b, [1, n, k]) : alloc(backend, [1, n, k]);
  if (!tB) transposeMatrix(f32(backend, b).subarray(0, k * n), f32(backend, a2), k, n);
  // b' = op(A)ᵀ, [k, m]: always a fresh tensor (XNNPACK caches packed b operands by id).
  const b2 = alloc(backend, [1, k, m]);
  const srcA = f32(backend, a).subarray(0, m * k);
  if (tA) f32(backend, b2).set(srcA);
  else transposeMatrix(srcA, f32(backend, b2), m, k);
  const cT = runWasm("BatchMatMul", backend, { a: a2, b: b2 }, {
    transposeA: false,
    transposeB: false,
  });
  if (a2.dataId !== b.dataId) free(backend, a2);
  free(backend, b2);
  const out = alloc(backend, [m, n]);
  transposeMatrix(f32(backend, cT), f32(backend, out), n, m);
  free(backend, cT);
  return out;
}

/**
 * BatchMatMul and _FusedMatMul on the native backend through a row-major sgemm, one call
 * per batch entry (broadcast batch dims of size 1 reuse the same operand).
 *
 * @module
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import type { Gemm } from "./ffi.ts";
import {
  allFloat32,
  cpuKernel,
  f32,
  type KernelArgs,
  type NativeKernelFunc,
  output,
  sizeOf,
} from "./kernel_util.ts";
import { take } from "./pool.ts";

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
}

/**
 * C[b] = op(A[b]) · op(B[b]) for row-major batches; returns the output shape and values, or
 * null when the shapes need tfjs's general broadcasting.
 */
export function batchedSgemm(
  gemm: Gemm,
  a: { shape: readonly number[]; values: Float32Array },
  b: { shape: readonly number[]; values: Float32Array },
  opts: { transposeA: boolean; transposeB: boolean },
  alloc: (length: number) => Float32Array = (length) => new Float32Array(length),
): { shape: number[]; values: Float32Array } | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = opts.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = opts.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = opts.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = opts.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  // Only "same batch" or "one side unbatched" (all leading dims 1); tfjs-cpu does the rest.
  const outer = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (batchA === batchB && ra !== rb) {
    // Same count but different ranks (e.g. [1,2] vs [2]) still means the same layout.
  }
  const batch = Math.max(batchA, batchB);
  const c = alloc(batch * m * n);
  const lda = opts.transposeA ? m : k;
  const ldb = opts.transposeB ? k : n;
  if (batchB === 1 && !opts.transposeA && batch > 1) {
    // A's batches are contiguous rows: one GEMM with M = batch·m.
    gemm.sgemm(
      false,
      opts.transposeB,
      { m: batch * m, n, k },
      { data: a.values, ld: lda },
      { data: b.values, ld: ldb },
      { data: c, ld: n, alpha: 1, beta: 0 },
    );
  } else {
    for (let i = 0; i < batch; i++) {
      const av = a.values.subarray(
        (batchA === 1 ? 0 : i) * m * k,
        (batchA === 1 ? 1 : i + 1) * m * k,
      );
      const bv = b.values.subarray(
        (batchB === 1 ? 0 : i) * k * n,
        (batchB === 1 ? 1 : i + 1) * k * n,
      );
      const cv = c.subarray(i * m * n, (i + 1) * m * n);
      gemm.sgemm(
        opts.transposeA,
        opts.transposeB,
        { m, n, k },
        { data: av, ld: lda },
        { data: bv, ld: ldb },
        { data: cv, ld: n, alpha: 1, beta: 0 },
      );
    }
  }
  return { shape: [...outer, m, n], values: c };
}

function makeMatMulKernels(gemm: Gemm): Record<string, NativeKernelFunc> {
  const matmul = (args: KernelArgs, fused: boolean): TensorInfo => {
    const { a, b, bias } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as MatMulAttrs;
    const name = fused ? "_FusedMatMul" : "BatchMatMul";
    if (!allFloat32(a, b, bias)) return cpuKernel(name)(args) as TensorInfo;
    const r = batchedSgemm(
      gemm,
      { shape: a!.shape, values: f32(args.backend, a!) },
      { shape: b!.shape, values: f32(args.backend, b!) },
      attrs,
      (length) => take(args.backend, length),
    );
    if (r === null) return cpuKernel(name)(args) as TensorInfo;
    const n = r.shape[r.shape.length - 1];
    const activation = fused ? (attrs.activation ?? "linear") : "linear";
    const simpleBias = bias && bias.shape.length === 1 && bias.shape[0] === n;
    if (bias && !simpleBias) {
      // Rare broadcast shapes: let tfjs-cpu do the whole fused op.
      return cpuKernel(name)(args) as TensorInfo;
    }
    const c = r.values;
    if (simpleBias) {
      const bv = f32(args.backend, bias!);
      for (let i = 0; i < c.length; i += n) {
        for (let j = 0; j < n; j++) c[i + j] += bv[j];
      }
    }
    if (activation === "relu") {
      for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = 0;
    }
    const out = output(args.backend, r.shape, c);
    if (activation === "linear" || activation === "relu") return out;
    // Other activations: tfjs-cpu applies them to the finished product.
    const kernel = { relu6: "Relu6", elu: "Elu", sigmoid: "Sigmoid", leakyrelu: "LeakyRelu" }[
      activation
    ];
    if (!kernel) {
      args.backend.disposeData(out.dataId);
      return cpuKernel(name)(args) as TensorInfo;
    }
    const alpha = (args.attrs as { leakyreluAlpha?: number }).leakyreluAlpha ?? 0.2;
    const act = cpuKernel(kernel)({
      inputs: { x: out },
      backend: args.backend,
      attrs: kernel === "LeakyRelu" ? { alpha } : {},
    }) as TensorInfo;
    args.backend.disposeData(out.dataId);
    return act;
  };
  return {
    BatchMatMul: (args) => matmul(args, false),
    _FusedMatMul: (args) => matmul(args, true),
  };
}

/**
 * Kernel configs for the native backend's matrix products.
 *
 * @example
 * ```ts ignore
 * for (const k of matMulKernels(gemm, "native")) tf.registerKernel(k);
 * ```
 */
export function matMulKernels(gemm: Gemm, backendName: string): KernelConfig[] {
  return Object.entries(makeMatMulKernels(gemm)).map(([kernelName, kernelFunc]) => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"],
  }));
}

/**
 * BatchMatMul and _FusedMatMul on the native backend as one oneDNN `matmul` primitive per
 * call: transposes are strides, batch broadcasting (a side with batch 1) is a dim of 1, and
 * _FusedMatMul's per-column bias and ReLU are fused into the same pass. One primitive runs all
 * batch entries in one parallel region; a loop of per-entry GEMMs (the attention products of
 * DeiT/Swin are 100s of 65×64 matrices) pays a thread-team barrier per entry.
 *
 * @module
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import { D, type DnnlContext, mdStrides, opDesc, Primitive, primitiveDesc } from "./dnnl.ts";
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

/** The product's geometry: batch sizes of each side, M, N, K, transposes. */
export interface MatMulGeometry {
  readonly batchA: number;
  readonly batchB: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/**
 * Geometry of `op(a)·op(b)` in tfjs's BatchMatMul convention, with the output shape; null
 * when the batch dims need tfjs's general broadcasting (both sides batched, differently).
 */
export function matMulGeometry(
  aShape: readonly number[],
  bShape: readonly number[],
  opts: { transposeA: boolean; transposeB: boolean },
): { geometry: MatMulGeometry; outShape: number[] } | null {
  const ra = aShape.length;
  const rb = bShape.length;
  const m = opts.transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const k = opts.transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = opts.transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const n = opts.transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kb) return null;
  const batchA = sizeOf(aShape.slice(0, -2));
  const batchB = sizeOf(bShape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outer = batchA >= batchB ? aShape.slice(0, -2) : bShape.slice(0, -2);
  return {
    geometry: { batchA, batchB, m, n, k, transposeA: opts.transposeA, transposeB: opts.transposeB },
    outShape: [...outer, m, n],
  };
}

const prims = new Map<string, Primitive>();

function matmulPrimitive(
  ctx: DnnlContext,
  g: MatMulGeometry,
  fused: { bias: boolean; relu: boolean },
): Primitive {
  const key = `${g.batchA},${g.batchB},${g.m},${g.n},${g.k},${g.transposeA},${g.transposeB}|` +
    `${fused.bias},${fused.relu}`;
  let p = prims.get(key);
  if (p === undefined) {
    const batch = Math.max(g.batchA, g.batchB);
    // A logical [batch, M, K] over storage [batch, M, K] or, transposed, [batch, K, M].
    const src = mdStrides(
      ctx,
      [g.batchA, g.m, g.k],
      g.transposeA ? [g.m * g.k, 1, g.m] : [g.m * g.k, g.k, 1],
    );
    const weights = mdStrides(
      ctx,
      [g.batchB, g.k, g.n],
      g.transposeB ? [g.k * g.n, 1, g.k] : [g.k * g.n, g.n, 1],
    );
    const dst = mdStrides(ctx, [batch, g.m, g.n], [g.m * g.n, g.n, 1]);
    const bias = mdStrides(ctx, [1, 1, g.n], [g.n, g.n, 1]);
    const desc = opDesc();
    const status = ctx.lib.dnnl_matmul_desc_init(
      desc,
      src.bytes as Uint8Array<ArrayBuffer>,
      weights.bytes as Uint8Array<ArrayBuffer>,
      (fused.bias ? bias.bytes : new Uint8Array(696)) as Uint8Array<ArrayBuffer>,
      dst.bytes as Uint8Array<ArrayBuffer>,
    );
    if (status !== 0) throw new Error(`oneDNN matmul_desc_init failed (${status})`);
    let attr: Deno.PointerValue = null;
    if (fused.relu) {
      const out = new BigUint64Array(1);
      ctx.lib.dnnl_primitive_attr_create(out);
      attr = Deno.UnsafePointer.create(out[0]);
      ctx.lib.dnnl_post_ops_create(out);
      const ops = Deno.UnsafePointer.create(out[0]);
      ctx.lib.dnnl_post_ops_append_eltwise(ops, 1, D.eltwiseRelu, 0, 0);
      ctx.lib.dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    const pd = primitiveDesc(ctx, desc, null, attr);
    if (pd === null) throw new Error("oneDNN has no matmul implementation");
    const args: [number, typeof src][] = [[D.argSrc, src], [D.argWeights, weights]];
    if (fused.bias) args.push([D.argBias, bias]);
    args.push([D.argDst, dst]);
    p = new Primitive(ctx, pd, args);
    prims.set(key, p);
  }
  return p;
}

function makeMatMulKernels(ctx: DnnlContext): Record<string, NativeKernelFunc> {
  const matmul = (args: KernelArgs, fused: boolean): TensorInfo => {
    const { a, b, bias } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as MatMulAttrs;
    const name = fused ? "_FusedMatMul" : "BatchMatMul";
    if (!allFloat32(a, b, bias)) return cpuKernel(name)(args) as TensorInfo;
    const r = matMulGeometry(a!.shape, b!.shape, attrs);
    if (r === null) return cpuKernel(name)(args) as TensorInfo;
    const activation = fused ? (attrs.activation ?? "linear") : "linear";
    const n = r.geometry.n;
    const simpleBias = bias !== undefined && bias.shape.length === 1 && bias.shape[0] === n;
    // Other activations and bias shapes (rare) go to tfjs-cpu whole.
    if ((bias && !simpleBias) || (activation !== "linear" && activation !== "relu")) {
      return cpuKernel(name)(args) as TensorInfo;
    }
    const p = matmulPrimitive(ctx, r.geometry, { bias: simpleBias, relu: activation === "relu" });
    const c = take(args.backend, sizeOf(r.outShape));
    const inputs = [f32(args.backend, a!), f32(args.backend, b!)];
    if (simpleBias) inputs.push(f32(args.backend, bias!));
    p.exec([...inputs, c]);
    return output(args.backend, r.outShape, c);
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
 * for (const k of matMulKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function matMulKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  return Object.entries(makeMatMulKernels(ctx)).map(([kernelName, kernelFunc]) => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"],
  }));
}

/**
 * Data-movement kernels for the native backend as oneDNN reorders between strided views:
 * Transpose (a permuted-strides view copied to dense) and SplitV (each output a strided window
 * of the input), plus Softmax over the last axis. tfjs-cpu walks these element by
 * element with index arithmetic; in the attention layers of DeiT/Swin they took most of a
 * training step (SplitV of the qkv projection alone: 16 s of a 33 s step at batch 32).
 *
 * @module
 */
import { backend_util, type KernelConfig, type TensorInfo, util } from "@tensorflow/tfjs-core";
import type * as tf from "@tensorflow/tfjs-core";
import {
  D,
  type DnnlContext,
  mdDense,
  mdStrides,
  opDesc,
  Primitive,
  primitiveDesc,
  reorder,
} from "./dnnl.ts";
import {
  allFloat32,
  cpuKernel,
  f32,
  type NativeKernelFunc,
  nativeLimits,
  output,
  sizeOf,
} from "./kernel_util.ts";
import { take } from "./pool.ts";

const SOFTMAX_ACCURATE = 196608;

function denseStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Drop size-1 dims (they carry no layout) so fewer primitives are needed. */
function squeeze(dims: number[], strides: number[]): [number[], number[]] {
  const d: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] !== 1) {
      d.push(dims[i]);
      s.push(strides[i]);
    }
  }
  return d.length === 0 ? [[1], [1]] : [d, s];
}

const copies = new Map<string, Primitive | null>();

/** A cached reorder from the view (dims, strides) into a dense array of the same dims. */
function stridedCopy(ctx: DnnlContext, dims: number[], strides: number[]): Primitive | null {
  const [d, s] = squeeze(dims, strides);
  const k = `${d}|${s}`;
  let p = copies.get(k);
  if (p === undefined) {
    p = reorder(ctx, mdStrides(ctx, d, s), mdDense(ctx, d));
    copies.set(k, p);
  }
  return p;
}

function transposeKernel(ctx: DnnlContext): NativeKernelFunc {
  const fallback = cpuKernel("Transpose");
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const perm = (args.attrs as { perm: number[] }).perm;
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || n < nativeLimits.minElements) return fallback(args);
    const xs = denseStrides(x.shape);
    const outShape = perm.map((p) => x.shape[p]);
    const y = take(args.backend, n);
    const p = stridedCopy(ctx, outShape, perm.map((p) => xs[p]));
    if (p === null) y.set(f32(args.backend, x));
    else p.exec([f32(args.backend, x), y]);
    return output(args.backend, outShape, y);
  };
}

function splitKernel(ctx: DnnlContext): NativeKernelFunc {
  const fallback = cpuKernel("SplitV");
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as { numOrSizeSplits: number[] | number; axis: number };
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || n < nativeLimits.minElements) return fallback(args);
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(
      x as unknown as tf.Tensor,
      attrs.numOrSizeSplits,
      axis,
    );
    const xs = denseStrides(x.shape);
    const values = f32(args.backend, x);
    const outs: TensorInfo[] = [];
    let offset = 0;
    for (const s of sizes) {
      const shape = x.shape.slice();
      shape[axis] = s;
      const y = take(args.backend, sizeOf(shape));
      const p = stridedCopy(ctx, shape, xs);
      const view = values.subarray(offset * xs[axis]);
      if (p === null) y.set(view.subarray(0, y.length));
      else p.exec([view, y]);
      outs.push(output(args.backend, shape, y));
      offset += s;
    }
    return outs;
  };
}

const softmaxes = new Map<string, Primitive>();

function softmaxKernel(ctx: DnnlContext, name: string, alg: number): NativeKernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const { logits } = args.inputs as { logits: TensorInfo };
    const dim = (args.attrs as { dim: number }).dim;
    const n = sizeOf(logits.shape);
    const rank = logits.shape.length;
    if (!allFloat32(logits) || n < nativeLimits.minElements || (dim !== -1 && dim !== rank - 1)) {
      return fallback(args);
    }
    const c = logits.shape[rank - 1];
    const rows = n / c;
    const k = `${alg}|${rows}|${c}`;
    let p = softmaxes.get(k);
    if (p === undefined) {
      const md = mdDense(ctx, [rows, c]);
      const desc = opDesc();
      const status = ctx.lib.dnnl_softmax_v2_forward_desc_init(
        desc,
        D.forwardInference,
        alg,
        md.bytes as Uint8Array<ArrayBuffer>,
        md.bytes as Uint8Array<ArrayBuffer>,
        1,
      );
      if (status !== 0) throw new Error(`oneDNN softmax_v2_forward_desc_init (${status})`);
      const pd = primitiveDesc(ctx, desc, null);
      if (pd === null) return fallback(args);
      p = new Primitive(ctx, pd, [[D.argSrc, md], [D.argDst, md]]);
      softmaxes.set(k, p);
    }
    const y = take(args.backend, n);
    p.exec([f32(args.backend, logits), y]);
    return output(args.backend, logits.shape, y);
  };
}

/**
 * Kernel configs for Transpose, SplitV and Softmax.
 *
 * @example
 * ```ts ignore
 * for (const k of layoutKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function layoutKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  const kernels: Record<string, NativeKernelFunc> = {
    Transpose: transposeKernel(ctx),
    SplitV: splitKernel(ctx),
    Softmax: softmaxKernel(ctx, "Softmax", SOFTMAX_ACCURATE),
  };
  return Object.entries(kernels).map(([kernelName, kernelFunc]) => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"],
  }));
}

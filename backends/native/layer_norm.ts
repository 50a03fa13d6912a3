/**
 * Layer normalisation over the last axis as two fused kernels (oneDNN's layer_normalization
 * forward and backward), and the op {@link layerNormFused} that uses them on the native
 * backend and the `tf.moments` formula everywhere else. The ConvNeXt, DeiT and Swin blocks
 * each normalise once or twice; written with `tf.moments` that is ~7 passes forward and ~20
 * backward per norm, here 2 and 2.
 *
 * @module
 */
import { FUSED_KERNELS } from "@efficienttrain/core";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import {
  D,
  type DnnlContext,
  mdDense,
  normPrimitives,
  type Primitive,
  trainingPrimitiveDescs,
} from "./dnnl.ts";
import { f32, type KernelArgs, output, sizeOf } from "./kernel_util.ts";
import { take } from "./pool.ts";

/** Kernel name of the forward pass (native backend only). */
export const LAYER_NORM = FUSED_KERNELS.layerNorm;
/** Kernel name of the backward pass. */
export const LAYER_NORM_GRAD = FUSED_KERNELS.layerNormGrad;

const FLAGS = D.useScale | D.useShift;

interface Prims {
  readonly forward: Primitive;
  readonly backward: Primitive;
}

const prims = new Map<string, Prims>();

function primitivesFor(ctx: DnnlContext, rows: number, c: number, eps: number): Prims {
  const k = `${rows}|${c}|${eps}`;
  let p = prims.get(k);
  if (p === undefined) {
    const data = mdDense(ctx, [rows, c]);
    const stat = mdDense(ctx, [rows]);
    const vec = mdDense(ctx, [c]);
    const pds = trainingPrimitiveDescs(
      ctx,
      "layer-norm",
      (d) =>
        ctx.lib.dnnl_layer_normalization_forward_desc_init(
          d,
          D.forwardTraining,
          data.bytes as Uint8Array<ArrayBuffer>,
          stat.bytes as Uint8Array<ArrayBuffer>,
          eps,
          FLAGS,
        ),
      (d) =>
        ctx.lib.dnnl_layer_normalization_backward_desc_init(
          d,
          D.backward,
          data.bytes as Uint8Array<ArrayBuffer>,
          data.bytes as Uint8Array<ArrayBuffer>,
          stat.bytes as Uint8Array<ArrayBuffer>,
          eps,
          FLAGS,
        ),
    );
    p = normPrimitives(ctx, pds, { data, stat, vec });
    prims.set(k, p);
  }
  return p;
}

/**
 * The two kernels, for registration on the native backend.
 *
 * @example
 * ```ts ignore
 * for (const k of layerNormKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function layerNormKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  const forward = (args: KernelArgs): TensorInfo[] => {
    const { x, scale, offset } = args.inputs as Record<string, TensorInfo>;
    const eps = (args.attrs as { epsilon: number }).epsilon;
    const n = sizeOf(x.shape);
    const c = x.shape[x.shape.length - 1];
    const rows = n / c;
    const y = take(args.backend, n);
    const mean = take(args.backend, rows);
    const variance = take(args.backend, rows);
    primitivesFor(ctx, rows, c, eps).forward.exec([
      f32(args.backend, x),
      f32(args.backend, scale),
      f32(args.backend, offset),
      y,
      mean,
      variance,
    ]);
    return [
      output(args.backend, x.shape, y),
      output(args.backend, [rows], mean),
      output(args.backend, [rows], variance),
    ];
  };
  const backward = (args: KernelArgs): TensorInfo[] => {
    const { dy, x, scale, offset, mean, variance } = args.inputs as Record<string, TensorInfo>;
    const eps = (args.attrs as { epsilon: number }).epsilon;
    const n = sizeOf(x.shape);
    const c = x.shape[x.shape.length - 1];
    const dx = take(args.backend, n);
    const dScale = new Float32Array(c);
    const dOffset = new Float32Array(c);
    primitivesFor(ctx, n / c, c, eps).backward.exec([
      f32(args.backend, x),
      f32(args.backend, mean),
      f32(args.backend, variance),
      f32(args.backend, dy),
      f32(args.backend, scale),
      f32(args.backend, offset),
      dx,
      dScale,
      dOffset,
    ]);
    return [
      output(args.backend, x.shape, dx),
      output(args.backend, [c], dScale),
      output(args.backend, [c], dOffset),
    ];
  };
  return [
    { kernelName: LAYER_NORM, backendName, kernelFunc: forward as never },
    { kernelName: LAYER_NORM_GRAD, backendName, kernelFunc: backward as never },
  ];
}

/**
 * Layer norm over the last axis, `(x − mean)/√(var + eps)·scale + offset`, differentiable in
 * all three inputs. On the native backend (float32) it is two fused oneDNN kernels forward and
 * backward; elsewhere the `tf.moments` formula, as `@efficienttrain/models`' `layerNorm`.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { layerNormFused } from "@efficienttrain/backend-native";
 * const y = layerNormFused(tf.ones([4, 8]), tf.ones([8]), tf.zeros([8]), 1e-6);
 * ```
 */
export function layerNormFused<T extends tf.Tensor>(
  x: T,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  eps: number,
): T {
  if (
    tf.getBackend() === "native" && x.dtype === "float32" && x.rank >= 2 &&
    tf.getKernel(LAYER_NORM, "native") !== undefined
  ) {
    const [y] = tf.engine().runKernel(
      LAYER_NORM,
      { x, scale, offset } as unknown as tf.NamedTensorMap,
      { epsilon: eps },
    ) as tf.Tensor[];
    return y as T;
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, scale), offset) as T;
}

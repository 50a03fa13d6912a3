/**
 * Training-mode batch normalisation as two fused kernels (oneDNN's batch_normalization forward
 * and backward, NHWC), and the op {@link batchNormTraining} that uses them on the native
 * backend and the `tf.moments` formula everywhere else.
 *
 * Why: written with `tf.moments`, one BN layer is ~7 element-wise kernels forward and ~20
 * backward, each a full pass over the activation; on the native backend those passes, not the
 * convolutions, dominate a ResNet step. The fused kernels make 2 passes forward and 2 backward,
 * as PyTorch's own CPU batch norm does.
 *
 * @module
 */
import { FUSED_KERNELS } from "@efficienttrain/core";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import {
  D,
  type DnnlContext,
  mdTag,
  normPrimitives,
  type Primitive,
  trainingPrimitiveDescs,
} from "./dnnl.ts";
import { f32, type KernelArgs, output } from "./kernel_util.ts";
import { take } from "./pool.ts";

/** Kernel names (registered for the native backend only). */
export const BATCH_NORM_TRAIN = FUSED_KERNELS.batchNorm;
/** Kernel name of the backward pass. */
export const BATCH_NORM_TRAIN_GRAD = FUSED_KERNELS.batchNormGrad;

const FLAGS = D.useScale | D.useShift;

interface Prims {
  readonly forward: Primitive;
  readonly backward: Primitive;
}

const prims = new Map<string, Prims>();

function primitivesFor(ctx: DnnlContext, shape: readonly number[], eps: number): Prims {
  const [n, h, w, c] = shape;
  const k = `${shape}|${eps}`;
  let p = prims.get(k);
  if (p === undefined) {
    const data = mdTag(ctx, [n, c, h, w], D.nhwc);
    const vec = mdTag(ctx, [c], D.a);
    const pds = trainingPrimitiveDescs(
      ctx,
      "batch-norm",
      (d) =>
        ctx.lib.dnnl_batch_normalization_forward_desc_init(
          d,
          D.forwardTraining,
          data.bytes as Uint8Array<ArrayBuffer>,
          eps,
          FLAGS,
        ),
      (d) =>
        ctx.lib.dnnl_batch_normalization_backward_desc_init(
          d,
          D.backward,
          data.bytes as Uint8Array<ArrayBuffer>,
          data.bytes as Uint8Array<ArrayBuffer>,
          eps,
          FLAGS,
        ),
    );
    p = normPrimitives(ctx, pds, { data, stat: vec, vec });
    prims.set(k, p);
  }
  return p;
}

/**
 * x minus a per-channel shift (its first pixel's value). Batch norm is shift-invariant, but
 * oneDNN's float32 statistics are not: with |mean| ≫ std (a channel after a ReLU and a
 * convolution, say) its variance loses digits, and resnet18_cifar's gradients came out 5 %
 * off at 24 px. Shifting by a sample of the channel brings the mean to O(std) first.
 */
function shiftedInput(x: Float32Array, c: number): { shifted: Float32Array; shift: Float32Array } {
  const shift = x.slice(0, c);
  // One scratch buffer per size, reused: the kernels use it synchronously and drop it.
  let shifted = scratchBuffers.get(x.length);
  if (shifted === undefined) scratchBuffers.set(x.length, shifted = new Float32Array(x.length));
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) shifted[i + j] = x[i + j] - shift[j];
  }
  return { shifted, shift };
}

const scratchBuffers = new Map<number, Float32Array>();

/**
 * The two kernels, for registration on the native backend.
 *
 * @example
 * ```ts ignore
 * for (const k of batchNormKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function batchNormKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  const forward = (args: KernelArgs): TensorInfo[] => {
    const { x, scale, offset } = args.inputs as Record<string, TensorInfo>;
    const eps = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
    const c = x.shape[3];
    const p = primitivesFor(ctx, x.shape, eps);
    const y = take(args.backend, x.shape.reduce((a, b) => a * b, 1));
    const mean = new Float32Array(c);
    const variance = new Float32Array(c);
    const { shifted, shift } = shiftedInput(f32(args.backend, x), c);
    p.forward.exec([
      shifted,
      f32(args.backend, scale),
      f32(args.backend, offset),
      y,
      mean,
      variance,
    ]);
    for (let j = 0; j < c; j++) mean[j] += shift[j];
    return [
      output(args.backend, x.shape, y),
      output(args.backend, [c], mean),
      output(args.backend, [c], variance),
    ];
  };
  const backward = (args: KernelArgs): TensorInfo[] => {
    const { dy, x, scale, offset, mean, variance } = args.inputs as Record<string, TensorInfo>;
    const eps = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
    const c = x.shape[3];
    const p = primitivesFor(ctx, x.shape, eps);
    const dx = take(args.backend, x.shape.reduce((a, b) => a * b, 1));
    const dScale = new Float32Array(c);
    const dOffset = new Float32Array(c);
    // The same shift as the forward pass (it depends on x only), applied to x and the mean.
    const { shifted, shift } = shiftedInput(f32(args.backend, x), c);
    const meanValues = f32(args.backend, mean);
    const shiftedMean = new Float32Array(c);
    for (let j = 0; j < c; j++) shiftedMean[j] = meanValues[j] - shift[j];
    p.backward.exec([
      shifted,
      shiftedMean,
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
    { kernelName: BATCH_NORM_TRAIN, backendName, kernelFunc: forward as never },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName, kernelFunc: backward as never },
  ];
}

/** Output of {@link batchNormTraining}. */
export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted activation. */
  readonly y: tf.Tensor4D;
  /** Per-channel batch mean. */
  readonly mean: tf.Tensor1D;
  /** Per-channel biased batch variance (divide by N·H·W), as `tf.moments` returns. */
  readonly variance: tf.Tensor1D;
}

/**
 * Training-mode batch norm over NHWC: `y = (x − mean)·scale/√(var + eps) + offset` with the
 * batch statistics, differentiable in `x`, `scale` and `offset`. On the native backend it is
 * two fused oneDNN kernels forward and backward; on any other backend it is the `tf.moments`
 * formula (same values, same gradients).
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { batchNormTraining } from "@efficienttrain/backend-native";
 * const { y, mean, variance } = batchNormTraining(tf.ones([2, 4, 4, 3]), tf.ones([3]), tf.zeros([3]), 1e-5);
 * ```
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  eps: number,
): BatchNormTrainingResult {
  if (
    tf.getBackend() === "native" && x.dtype === "float32" &&
    tf.getKernel(BATCH_NORM_TRAIN, "native") !== undefined
  ) {
    const [y, mean, variance] = tf.engine().runKernel(
      BATCH_NORM_TRAIN,
      { x, scale, offset } as unknown as tf.NamedTensorMap,
      { varianceEpsilon: eps },
    ) as tf.Tensor[];
    return {
      y: y as tf.Tensor4D,
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
    };
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.add(tf.mul(tf.sub(x, mean), tf.mul(scale, tf.rsqrt(tf.add(variance, eps)))), offset);
  return {
    y: y as tf.Tensor4D,
    mean: mean as tf.Tensor1D,
    variance: variance as tf.Tensor1D,
  };
}

/**
 * The gradients of Sum and Mean as one broadcast pass on the native backend.
 *
 * tfjs-core differentiates `sum`/`mean` as `dy · ones(x.shape)` (and `/ n` for the mean): a
 * full-size ones tensor, a broadcast multiply and a divide, i.e. three activation-sized
 * buffers and passes for what is a broadcast. Every `tf.moments` batch norm has two such
 * means. Here it is one oneDNN reorder from a view of `dy` with stride 0 along the reduced
 * axes. Like the ReLU gradient, the registered gradients are wrapped: other backends (and
 * small or non-float32 tensors) get the originals unchanged.
 *
 * @module
 */
import { FUSED_KERNELS } from "@efficienttrain/core";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import { type DnnlContext, mdDense, mdStrides, type Primitive, reorder } from "./dnnl.ts";
import { f32, type KernelArgs, nativeLimits, output, sizeOf } from "./kernel_util.ts";
import { take } from "./pool.ts";

/** Kernel name: broadcast `dy` (times `scale`) over `axes` to `shape` (native only). */
export const BROADCAST_GRAD = FUSED_KERNELS.broadcastGrad;

const prims = new Map<string, Primitive | null>();

/**
 * The broadcast kernel config.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(broadcastGradKernel(ctx, "native"));
 * ```
 */
export function broadcastGradKernel(ctx: DnnlContext, backendName: string): KernelConfig {
  const kernelFunc = (args: KernelArgs): TensorInfo => {
    const { dy } = args.inputs as { dy: TensorInfo };
    const { shape, axes, scale } = args.attrs as { shape: number[]; axes: number[]; scale: number };
    const reduced = new Set(axes);
    // Strides of dy laid over x's dims: dense over the kept axes, 0 along the reduced ones.
    const dims: number[] = [];
    const strides: number[] = [];
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] === 1) continue;
      dims.unshift(shape[i]);
      if (reduced.has(i)) strides.unshift(0);
      else {
        strides.unshift(acc);
        acc *= shape[i];
      }
    }
    const n = sizeOf(shape);
    const key = `${dims}|${strides}`;
    let p = prims.get(key);
    if (p === undefined) {
      p = dims.length === 0
        ? null
        : reorder(ctx, mdStrides(ctx, dims, strides), mdDense(ctx, dims));
      prims.set(key, p);
    }
    let src = f32(args.backend, dy);
    if (scale !== 1) src = src.map((v) => v * scale);
    const out = take(args.backend, n);
    // `reorder` answers null when source and destination layouts are equal: every reduced axis
    // has size 1 (a global pool over a 1×1 map), so dy already has x's layout and is copied.
    if (p === null) out.set(src);
    else p.exec([src, out]);
    return output(args.backend, shape, out);
  };
  return { kernelName: BROADCAST_GRAD, backendName, kernelFunc: kernelFunc as never };
}

let wrapped = false;

/** Wrap the registered Sum and Mean gradients (idempotent). */
export function registerReduceGradients(backendName: string): void {
  if (wrapped) return;
  wrapped = true;
  for (const kernelName of ["Sum", "Mean"]) {
    const original = tf.getGradient(kernelName);
    if (!original) continue;
    tf.registerGradient({
      ...original,
      kernelName,
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const g = dy as tf.Tensor;
        if (
          tf.getBackend() !== backendName || x.dtype !== "float32" || g.dtype !== "float32" ||
          x.size < nativeLimits.minElements ||
          tf.getKernel(BROADCAST_GRAD, backendName) === undefined
        ) {
          return original.gradFunc(dy, saved, attrs);
        }
        const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
        let reduceSize = 1;
        for (const a of axes) reduceSize *= x.shape[a];
        const scale = kernelName === "Mean" ? 1 / reduceSize : 1;
        return {
          x: () =>
            tf.engine().runKernel(
              BROADCAST_GRAD,
              { dy: g } as tf.NamedTensorMap,
              { shape: x.shape, axes, scale } as unknown as tf.NamedAttrMap,
            ) as tf.Tensor,
        };
      },
    });
  }
}

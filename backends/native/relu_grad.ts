/**
 * ReLU's gradient as one oneDNN `eltwise_backward` pass on the native backend.
 *
 * tfjs-core's gradient for Relu is `dy · cast(step(x))`: two full passes and an extra
 * activation-sized buffer per ReLU. Gradients are registered per kernel name, not per backend,
 * so this wraps the registered one: on the native backend (float32) it runs the fused kernel,
 * on every other backend it calls the original gradient unchanged.
 *
 * @module
 */
import { FUSED_KERNELS } from "@efficienttrain/core";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import { D, type DnnlContext, mdDense, Primitive, trainingPrimitiveDescs } from "./dnnl.ts";
import { allFloat32, f32, type KernelArgs, nativeLimits, output, sizeOf } from "./kernel_util.ts";
import { take } from "./pool.ts";

/** Kernel name of the fused ReLU backward (native backend only). */
export const RELU_GRAD = FUSED_KERNELS.reluGrad;

const prims = new Map<number, Primitive>();

function primitiveFor(ctx: DnnlContext, n: number): Primitive {
  let p = prims.get(n);
  if (p === undefined) {
    const md = mdDense(ctx, [n]);
    const md_ = md.bytes as Uint8Array<ArrayBuffer>;
    const { backward } = trainingPrimitiveDescs(
      ctx,
      "ReLU",
      (d) => ctx.lib.dnnl_eltwise_forward_desc_init(d, D.forwardTraining, D.eltwiseRelu, md_, 0, 0),
      (d) => ctx.lib.dnnl_eltwise_backward_desc_init(d, D.eltwiseRelu, md_, md_, 0, 0),
    );
    p = new Primitive(ctx, backward, [[D.argSrc, md], [D.argDiffDst, md], [D.argDiffSrc, md]]);
    prims.set(n, p);
  }
  return p;
}

/**
 * The fused ReLU-backward kernel config: dx = x > 0 ? dy : 0 (NaN in x gives 0, as PyTorch's
 * threshold_backward; tfjs-cpu's step would give NaN).
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(reluGradKernel(ctx, "native"));
 * ```
 */
export function reluGradKernel(ctx: DnnlContext, backendName: string): KernelConfig {
  const kernelFunc = (args: KernelArgs): TensorInfo => {
    const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
    const n = sizeOf(x.shape);
    const dx = take(args.backend, n);
    primitiveFor(ctx, n).exec([f32(args.backend, x), f32(args.backend, dy), dx]);
    return output(args.backend, x.shape, dx);
  };
  return { kernelName: RELU_GRAD, backendName, kernelFunc: kernelFunc as never };
}

/** Below this size the two tfjs-cpu passes are as cheap as one FFI call. */

let wrapped = false;

/**
 * Wrap Relu's registered gradient (idempotent). Call after `@tensorflow/tfjs` registered its
 * gradients.
 */
export function registerReluGradient(backendName: string): void {
  if (wrapped) return;
  const original = tf.getGradient("Relu");
  if (!original) return;
  wrapped = true;
  tf.registerGradient({
    ...original,
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      if (
        tf.getBackend() === backendName && allFloat32(x, g) && x.size >= nativeLimits.minElements &&
        tf.getKernel(RELU_GRAD, backendName) !== undefined
      ) {
        return {
          x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x } as tf.NamedTensorMap) as tf.Tensor,
        };
      }
      return original.gradFunc(dy, saved, attrs);
    },
  });
}

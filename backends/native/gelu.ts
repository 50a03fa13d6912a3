/**
 * Exact GELU, `0.5·x·(1 + erf(x/√2))`, as one oneDNN `eltwise` pass forward (gelu_erf) and one
 * backward, and the op {@link geluFused} that uses it on the native backend and the erf
 * formula elsewhere. Written with tfjs ops GELU is 5 kernels forward (with erf's polynomial)
 * and ~10 backward per MLP, the largest tensors of ConvNeXt, DeiT and Swin blocks.
 *
 * @module
 */
import { FUSED_KERNELS } from "@efficienttrain/core";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";
import { D, type DnnlContext, mdDense, Primitive, trainingPrimitiveDescs } from "./dnnl.ts";
import { f32, type KernelArgs, output, sizeOf } from "./kernel_util.ts";
import { take } from "./pool.ts";

/** Kernel name of the forward pass (native backend only). */
export const GELU = FUSED_KERNELS.gelu;
/** Kernel name of the backward pass. */
export const GELU_GRAD = FUSED_KERNELS.geluGrad;

const GELU_ERF = 48;

interface Prims {
  readonly forward: Primitive;
  readonly backward: Primitive;
}

const prims = new Map<number, Prims>();

function primitivesFor(ctx: DnnlContext, n: number): Prims {
  let p = prims.get(n);
  if (p === undefined) {
    const md = mdDense(ctx, [n]);
    const md_ = md.bytes as Uint8Array<ArrayBuffer>;
    const pds = trainingPrimitiveDescs(
      ctx,
      "GELU",
      (d) => ctx.lib.dnnl_eltwise_forward_desc_init(d, D.forwardTraining, GELU_ERF, md_, 0, 0),
      (d) => ctx.lib.dnnl_eltwise_backward_desc_init(d, GELU_ERF, md_, md_, 0, 0),
    );
    p = {
      forward: new Primitive(ctx, pds.forward, [[D.argSrc, md], [D.argDst, md]]),
      backward: new Primitive(ctx, pds.backward, [
        [D.argSrc, md],
        [D.argDiffDst, md],
        [D.argDiffSrc, md],
      ]),
    };
    prims.set(n, p);
  }
  return p;
}

/**
 * The two kernels, for registration on the native backend.
 *
 * @example
 * ```ts ignore
 * for (const k of geluKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function geluKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  const forward = (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const n = sizeOf(x.shape);
    const y = take(args.backend, n);
    primitivesFor(ctx, n).forward.exec([f32(args.backend, x), y]);
    return output(args.backend, x.shape, y);
  };
  const backward = (args: KernelArgs): TensorInfo => {
    const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
    const n = sizeOf(x.shape);
    const dx = take(args.backend, n);
    primitivesFor(ctx, n).backward.exec([f32(args.backend, x), f32(args.backend, dy), dx]);
    return output(args.backend, x.shape, dx);
  };
  return [
    { kernelName: GELU, backendName, kernelFunc: forward as never },
    { kernelName: GELU_GRAD, backendName, kernelFunc: backward as never },
  ];
}

/**
 * Exact (erf) GELU as PyTorch's `nn.GELU()`; one fused kernel each way on the native backend
 * (float32), the erf formula elsewhere.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { geluFused } from "@efficienttrain/backend-native";
 * geluFused(tf.tensor1d([-1, 0, 1])).print();
 * ```
 */
export function geluFused<T extends tf.Tensor>(x: T): T {
  if (
    tf.getBackend() === "native" && x.dtype === "float32" &&
    tf.getKernel(GELU, "native") !== undefined
  ) {
    return tf.engine().runKernel(GELU, { x } as unknown as tf.NamedTensorMap) as T;
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T;
}

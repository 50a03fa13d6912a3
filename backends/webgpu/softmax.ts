/**
 * Softmax's gradient over the last axis as one tfjs-webgpu dispatch
 * ({@link FUSED_KERNELS}`.softmaxGrad`, which `@efficienttrain/core` routes tfjs's `Softmax`
 * gradient through). tfjs's formula `dy·y − Σ(dy·y)·y` is four kernels, each a pass over the
 * attention matrix: two multiplications, the row sum and the subtraction. A row fits one
 * workgroup, so here the row sum and the result are one pass, in the formula's association.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { type NormGroupSpec, normRunner } from "./program.ts";

const SOFTMAX_GRADIENT: NormGroupSpec = {
  key: "softmax_gradient",
  per: "row",
  outputs: ["Dx"],
  inputs: ["Dy", "Y"],
  body: `let row = group * uniforms.channels;
    var sum = 0.0;
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      sum = sum + Dy[row + k] * Y[row + k];
    }
    let total = workgroupSum(lane, sum);
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      let y = Y[row + k];
      Dx[row + k] = Dy[row + k] * y - total * y;
    }`,
};

function softmaxGradient(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown },
): tf.TensorInfo {
  const { dy, y } = args.inputs as Record<string, tf.TensorInfo>;
  const [dx] = normRunner(args.backend, y, 0).groups(SOFTMAX_GRADIENT, [dy, y], [y.shape]);
  return dx;
}

/**
 * The kernel's config for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { softmaxGradWebgpuKernel } from "@efficienttrain/backend-webgpu";
 * console.assert(softmaxGradWebgpuKernel().backendName === "webgpu");
 * ```
 */
export function softmaxGradWebgpuKernel(): tf.KernelConfig {
  return {
    kernelName: FUSED_KERNELS.softmaxGrad,
    backendName: "webgpu",
    kernelFunc: softmaxGradient as never,
  };
}

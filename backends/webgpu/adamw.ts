/**
 * AdamW's update as a tfjs-webgpu kernel: one parameter's new value and both moments in one
 * WGSL dispatch, where the composite formula costs fifteen element-wise kernels (and as many
 * uniform uploads) and one-output programs would cost three, each re-reading the gradient and
 * recomputing the moments. The update is the largest share of a WebGPU training step's
 * dispatches on small models (`bench/results/webgpu/`): one per parameter tensor per step.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type AdamWAttrs, FUSED_KERNELS } from "@efficienttrain/core";
import { type MultiOutputSpec, runMultiOutput, uniformValues } from "./multi_output.ts";

const ADAMW: MultiOutputSpec = {
  key: "et_adamw",
  outputs: ["paramOut", "mOut", "vOut"],
  inputs: ["P", "G", "M", "V"],
  uniforms: "beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, " +
    "epsilon : f32, stepSize : f32, vCorrection : f32, decay : f32,",
  per: "element",
  body: `let g = G[index];
    let m = uniforms.beta1 * M[index] + uniforms.oneMinusBeta1 * g;
    let v = uniforms.beta2 * V[index] + uniforms.oneMinusBeta2 * (g * g);
    let p = P[index];
    let update = (m / (sqrt(v * uniforms.vCorrection) + uniforms.epsilon)) * uniforms.stepSize;
    paramOut[index] = (p - update) - p * uniforms.decay;
    mOut[index] = m;
    vOut[index] = v;`,
};

/**
 * The kernel's config for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { adamWWebgpuKernel } from "@efficienttrain/backend-webgpu";
 * console.assert(adamWWebgpuKernel().backendName === "webgpu");
 * ```
 */
export function adamWWebgpuKernel(): tf.KernelConfig {
  return { kernelName: FUSED_KERNELS.adamW, backendName: "webgpu", kernelFunc: adamW as never };
}

function adamW(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo[] {
  const { param, grad, m, v } = args.inputs as Record<string, tf.TensorInfo>;
  const a = args.attrs as unknown as AdamWAttrs;
  const values = [
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.epsilon,
    a.stepSize,
    a.vCorrection,
    a.decay,
  ];
  return runMultiOutput(args.backend, ADAMW, [param, grad, m, v], {
    outputShapes: [param.shape, param.shape, param.shape],
    count: param.shape.reduce((x, y) => x * y, 1),
    uniforms: uniformValues("float32", values),
  });
}

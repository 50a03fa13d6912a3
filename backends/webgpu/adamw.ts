/**
 * AdamW's update as a tfjs-webgpu kernel: one parameter's new value and both moments in three
 * WGSL dispatches, where the composite formula costs fifteen element-wise kernels (and as many
 * uniform uploads). The update is most of a WebGPU training step's dispatches on small models
 * (`bench/results/webgpu/`), so this is the first kernel of the GPU engine.
 *
 * WebGPU cannot bind one buffer as both input and output of a dispatch, so each of the three
 * outputs is its own program over the same four inputs; the parameter's program recomputes the
 * moments rather than reading them back. The programs take tfjs-webgpu's `WebGPUProgram`
 * shape, so tfjs compiles each once per rank, caches it and records it in its own command
 * encoder, in order with every other kernel of the step.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type AdamWAttrs, FUSED_KERNELS } from "@efficienttrain/core";
import { ElementwiseProgram, type ElementwiseSpec, type WebGPUBackendLike } from "./program.ts";

type Output = "param" | "m" | "v";

const INPUTS: Record<Output, readonly string[]> = {
  m: ["G", "M"],
  v: ["G", "V"],
  param: ["P", "G", "M", "V"],
};

const MOMENT_M = "let m = uniforms.beta1 * M[index] + uniforms.oneMinusBeta1 * G[index];";
const MOMENT_V =
  "let v = uniforms.beta2 * V[index] + uniforms.oneMinusBeta2 * (G[index] * G[index]);";

const BODY: Record<Output, string> = {
  m: `${MOMENT_M}\n      setOutputAtIndex(index, m);`,
  v: `${MOMENT_V}\n      setOutputAtIndex(index, v);`,
  param: `${MOMENT_M}
      ${MOMENT_V}
      let p = P[index];
      let update = (m / (sqrt(v * uniforms.vCorrection) + uniforms.epsilon)) * uniforms.stepSize;
      setOutputAtIndex(index, (p - update) - p * uniforms.decay);`,
};

const UNIFORMS = "beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, " +
  "epsilon : f32, stepSize : f32, vCorrection : f32, decay : f32,";

// WebGPU's derived bind-group layout drops bindings a shader never reads, so each output's
// program declares exactly the inputs it uses.
const SPECS: Record<Output, ElementwiseSpec> = {
  m: { key: "adamw_m", inputs: INPUTS.m, uniforms: UNIFORMS, body: BODY.m },
  v: { key: "adamw_v", inputs: INPUTS.v, uniforms: UNIFORMS, body: BODY.v },
  param: { key: "adamw_param", inputs: INPUTS.param, uniforms: UNIFORMS, body: BODY.param },
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
  const backend = args.backend as WebGPUBackendLike;
  const byName: Record<string, tf.TensorInfo> = { P: param, G: grad, M: m, V: v };
  const uniforms = [
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.epsilon,
    a.stepSize,
    a.vCorrection,
    a.decay,
  ].map((x) => ({ type: "float32", data: [x] }));
  return (["param", "m", "v"] as const).map((output) =>
    backend.runWebGPUProgram(
      new ElementwiseProgram(param.shape, SPECS[output]),
      INPUTS[output].map((name) => byName[name]),
      "float32",
      uniforms,
    )
  );
}

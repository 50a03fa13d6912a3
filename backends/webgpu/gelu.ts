/**
 * Exact (erf) GELU as tfjs-webgpu kernels, one dispatch each way, under the fused names the
 * models look up ({@link FUSED_KERNELS}`.gelu` and `.geluGrad`). WGSL has no `erf`; this is
 * Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, below float32's resolution of the
 * result), the approximation tfjs's own `Erf` kernels use. tfjs's formula costs five
 * dispatches forward and about ten backward.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { ElementwiseProgram, type WebGPUBackendLike } from "./program.ts";

const ERF = `
  fn etErf(v : f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
      t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
  }`;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

/** The two programs; `etErf` is declared at module scope of the shader. */
class GeluProgram extends ElementwiseProgram {
  override getUserCode(): string {
    return ERF + super.getUserCode();
  }
}

const GELU_FORWARD = {
  key: "gelu",
  inputs: ["X"],
  uniforms: "",
  body: `let v = X[index];
      setOutputAtIndex(index, 0.5 * v * (1.0 + etErf(v * 0.7071067811865476)));`,
};

const GELU_BACKWARD = {
  key: "gelu_grad",
  inputs: ["Dy", "X"],
  uniforms: "",
  // d/dx [x·Φ(x)] = Φ(x) + x·φ(x)
  body: `let v = X[index];
      let cdf = 0.5 * (1.0 + etErf(v * 0.7071067811865476));
      let pdf = 0.3989422804014327 * exp(-0.5 * v * v);
      setOutputAtIndex(index, Dy[index] * (cdf + v * pdf));`,
};

function forward(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = args.backend as WebGPUBackendLike;
  return backend.runWebGPUProgram(new GeluProgram(x.shape, GELU_FORWARD), [x], "float32");
}

function backward(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = args.backend as WebGPUBackendLike;
  return backend.runWebGPUProgram(new GeluProgram(x.shape, GELU_BACKWARD), [dy, x], "float32");
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { geluWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(geluWebgpuKernels().length === 2);
 * ```
 */
export function geluWebgpuKernels(): tf.KernelConfig[] {
  return [
    { kernelName: FUSED_KERNELS.gelu, backendName: "webgpu", kernelFunc: forward as never },
    { kernelName: FUSED_KERNELS.geluGrad, backendName: "webgpu", kernelFunc: backward as never },
  ];
}

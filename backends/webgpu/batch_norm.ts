/**
 * Training-mode batch norm over NHWC as tfjs-webgpu kernels, forward and backward, registered
 * under the fused names the models already look up ({@link FUSED_KERNELS}`.batchNorm` and
 * `.batchNormGrad`, whose gradient `@efficienttrain/core` registers).
 *
 * tfjs's own path (`tf.moments` and the formula) costs ~10 dispatches forward and ~20 backward
 * per layer, with a full transpose of the activation before each reduction (tfjs reduces over
 * the innermost axis only). Here it is three dispatches each way: one workgroup per channel
 * reduces the strided column in workgroup memory (mean, then the centred variance, as two
 * passes for accuracy), and one element-wise pass writes the output.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import {
  ElementwiseProgram,
  NORM_UNIFORMS,
  normUniforms,
  ReductionProgram,
  type ReductionSpec,
  type WebGPUBackendLike,
} from "./program.ts";

/** A per-channel sum over the rows of the column `k · channels + group`. */
function channelSum(
  key: string,
  inputs: string[],
  term: string,
  scale: string,
): ReductionSpec {
  return {
    key: `bn_${key}`,
    inputs,
    uniforms: NORM_UNIFORMS,
    groups: "uniforms.channels",
    count: "uniforms.rows",
    at: "k * uniforms.channels + group",
    term,
    finish: `setOutputAtIndex(group, total * ${scale});`,
  };
}

const RSTD = "inverseSqrt(Variance[group] + uniforms.eps)";
const MEAN = channelSum("mean", ["X"], "X[at]", "(1.0 / f32(uniforms.rows))");
const VARIANCE = channelSum(
  "variance",
  ["X", "Mean"],
  "(X[at] - Mean[group]) * (X[at] - Mean[group])",
  "(1.0 / f32(uniforms.rows))",
);
const SUM_DY = channelSum("dy", ["Dy"], "Dy[at]", "1.0");
const SUM_DY_XHAT = channelSum(
  "dy_xhat",
  ["Dy", "X", "Mean", "Variance"],
  "Dy[at] * (X[at] - Mean[group])",
  RSTD,
);

const NORMALISE = {
  key: "bn_forward",
  inputs: ["X", "Scale", "Offset", "Mean", "Variance"],
  uniforms: NORM_UNIFORMS,
  // the tfjs formula's association: (x − mean)·(scale·rsqrt(var + eps)) + offset
  body: `let c = index % uniforms.channels;
      let k = Scale[c] * inverseSqrt(Variance[c] + uniforms.eps);
      setOutputAtIndex(index, (X[index] - Mean[c]) * k + Offset[c]);`,
};

const INPUT_GRADIENT = {
  key: "bn_backward",
  inputs: ["Dy", "X", "Scale", "Mean", "Variance", "DScale", "DOffset"],
  uniforms: NORM_UNIFORMS,
  // dx = scale·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)
  body: `let c = index % uniforms.channels;
      let rstd = inverseSqrt(Variance[c] + uniforms.eps);
      let xhat = (X[index] - Mean[c]) * rstd;
      let m = f32(uniforms.rows);
      let g = Dy[index] - DOffset[c] / m - xhat * DScale[c] / m;
      setOutputAtIndex(index, Scale[c] * rstd * g);`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
  const u = normUniforms(x, (args.attrs as { varianceEpsilon: number }).varianceEpsilon);
  const backend = args.backend as WebGPUBackendLike;
  const sum = (spec: ReductionSpec, inputs: tf.TensorInfo[]): tf.TensorInfo =>
    backend.runWebGPUProgram(
      new ReductionProgram(u.channels, u.rows, spec),
      inputs,
      "float32",
      u.data,
    );
  const mean = sum(MEAN, [x]);
  const variance = sum(VARIANCE, [x, mean]);
  const y = backend.runWebGPUProgram(
    new ElementwiseProgram(x.shape, NORMALISE),
    [x, scale, offset, mean, variance],
    "float32",
    u.data,
  );
  return [y, mean, variance];
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, scale, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const u = normUniforms(x, (args.attrs as { varianceEpsilon: number }).varianceEpsilon);
  const backend = args.backend as WebGPUBackendLike;
  const sum = (spec: ReductionSpec, inputs: tf.TensorInfo[]): tf.TensorInfo =>
    backend.runWebGPUProgram(
      new ReductionProgram(u.channels, u.rows, spec),
      inputs,
      "float32",
      u.data,
    );
  const dOffset = sum(SUM_DY, [dy]);
  const dScale = sum(SUM_DY_XHAT, [dy, x, mean, variance]);
  const dx = backend.runWebGPUProgram(
    new ElementwiseProgram(x.shape, INPUT_GRADIENT),
    [dy, x, scale, mean, variance, dScale, dOffset],
    "float32",
    u.data,
  );
  return [dx, dScale, dOffset];
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { batchNormWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(batchNormWebgpuKernels().every((k) => k.backendName === "webgpu"));
 * ```
 */
export function batchNormWebgpuKernels(): tf.KernelConfig[] {
  return [
    { kernelName: FUSED_KERNELS.batchNorm, backendName: "webgpu", kernelFunc: forward as never },
    {
      kernelName: FUSED_KERNELS.batchNormGrad,
      backendName: "webgpu",
      kernelFunc: backward as never,
    },
  ];
}

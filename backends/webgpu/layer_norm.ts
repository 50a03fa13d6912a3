/**
 * Layer norm over the last axis as tfjs-webgpu kernels, forward and backward, under the fused
 * names the models look up ({@link FUSED_KERNELS}`.layerNorm` and `.layerNormGrad`; the
 * gradient is registered by `@efficienttrain/core`).
 *
 * Forward: one workgroup per row for the mean, again for the centred variance, then one
 * element-wise pass (3 dispatches). Backward: the parameter gradients are column sums over the
 * rows, the input gradient needs two row means of `g = dy·scale` (`mean(g)`, `mean(g·x̂)`),
 * then one element-wise pass (5 dispatches). tfjs's formula takes ~10 and ~20.
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

const PER_CHANNEL = "(1.0 / f32(uniforms.channels))";

/** A per-row mean over the row's `channels` entries (`k` is the channel). */
function rowMean(key: string, inputs: string[], term: string): ReductionSpec {
  return {
    key: `ln_${key}`,
    inputs,
    uniforms: NORM_UNIFORMS,
    groups: "uniforms.rows",
    count: "uniforms.channels",
    at: "group * uniforms.channels + k",
    term,
    finish: `setOutputAtIndex(group, total * ${PER_CHANNEL});`,
  };
}

/** A per-channel sum over the rows (`k` is the row). */
function channelSum(key: string, inputs: string[], term: string): ReductionSpec {
  return {
    key: `ln_${key}`,
    inputs,
    uniforms: NORM_UNIFORMS,
    groups: "uniforms.channels",
    count: "uniforms.rows",
    at: "k * uniforms.channels + group",
    term,
    finish: "setOutputAtIndex(group, total);",
  };
}

const MEAN = rowMean("mean", ["X"], "X[at]");
const VARIANCE = rowMean(
  "variance",
  ["X", "Mean"],
  "(X[at] - Mean[group]) * (X[at] - Mean[group])",
);
const SUM_DY = channelSum("dy", ["Dy"], "Dy[at]");
const SUM_DY_XHAT = channelSum(
  "dy_xhat",
  ["Dy", "X", "Mean", "Variance"],
  "Dy[at] * (X[at] - Mean[k]) * inverseSqrt(Variance[k] + uniforms.eps)",
);
const MEAN_G = rowMean("g", ["Dy", "Scale"], "Dy[at] * Scale[k]");
const MEAN_G_XHAT = rowMean(
  "g_xhat",
  ["Dy", "Scale", "X", "Mean", "Variance"],
  "Dy[at] * Scale[k] * (X[at] - Mean[group]) * inverseSqrt(Variance[group] + uniforms.eps)",
);

const NORMALISE = {
  key: "ln_forward",
  inputs: ["X", "Scale", "Offset", "Mean", "Variance"],
  uniforms: NORM_UNIFORMS,
  // the tfjs formula's association: ((x − mean)·rsqrt(var + eps))·scale + offset
  body: `let r = index / uniforms.channels;
      let c = index % uniforms.channels;
      let normed = (X[index] - Mean[r]) * inverseSqrt(Variance[r] + uniforms.eps);
      setOutputAtIndex(index, normed * Scale[c] + Offset[c]);`,
};

const INPUT_GRADIENT = {
  key: "ln_backward",
  inputs: ["Dy", "X", "Scale", "Mean", "Variance", "MeanG", "MeanGXhat"],
  uniforms: NORM_UNIFORMS,
  // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·scale
  body: `let r = index / uniforms.channels;
      let c = index % uniforms.channels;
      let rstd = inverseSqrt(Variance[r] + uniforms.eps);
      let xhat = (X[index] - Mean[r]) * rstd;
      let g = Dy[index] * Scale[c];
      setOutputAtIndex(index, rstd * (g - MeanG[r] - xhat * MeanGXhat[r]));`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
  const u = normUniforms(x, (args.attrs as { epsilon: number }).epsilon);
  const backend = args.backend as WebGPUBackendLike;
  const perRow = (spec: ReductionSpec, inputs: tf.TensorInfo[]): tf.TensorInfo =>
    backend.runWebGPUProgram(
      new ReductionProgram(u.rows, u.channels, spec),
      inputs,
      "float32",
      u.data,
    );
  const mean = perRow(MEAN, [x]);
  const variance = perRow(VARIANCE, [x, mean]);
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
  const u = normUniforms(x, (args.attrs as { epsilon: number }).epsilon);
  const backend = args.backend as WebGPUBackendLike;
  const run = (spec: ReductionSpec, outputs: number, terms: number, inputs: tf.TensorInfo[]) =>
    backend.runWebGPUProgram(new ReductionProgram(outputs, terms, spec), inputs, "float32", u.data);
  const dOffset = run(SUM_DY, u.channels, u.rows, [dy]);
  const dScale = run(SUM_DY_XHAT, u.channels, u.rows, [dy, x, mean, variance]);
  const meanG = run(MEAN_G, u.rows, u.channels, [dy, scale]);
  const meanGXhat = run(MEAN_G_XHAT, u.rows, u.channels, [dy, scale, x, mean, variance]);
  const dx = backend.runWebGPUProgram(
    new ElementwiseProgram(x.shape, INPUT_GRADIENT),
    [dy, x, scale, mean, variance, meanG, meanGXhat],
    "float32",
    u.data,
  );
  for (const t of [meanG, meanGXhat]) backend.disposeData(t.dataId);
  return [dx, dScale, dOffset];
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { layerNormWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(layerNormWebgpuKernels().length === 2);
 * ```
 */
export function layerNormWebgpuKernels(): tf.KernelConfig[] {
  return [
    { kernelName: FUSED_KERNELS.layerNorm, backendName: "webgpu", kernelFunc: forward as never },
    {
      kernelName: FUSED_KERNELS.layerNormGrad,
      backendName: "webgpu",
      kernelFunc: backward as never,
    },
  ];
}

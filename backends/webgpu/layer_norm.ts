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
import type { WebGPUBackendLike } from "./program.ts";
import { normElementwise, normReduction, normRunner } from "./program.ts";

const PER_CHANNEL = "(1.0 / f32(uniforms.channels))";
const RSTD_OF_ROW = "inverseSqrt(Variance[group] + uniforms.eps)";
const MEAN = normReduction("ln_mean", ["X"], "row", "X[at]", PER_CHANNEL);
const VARIANCE = normReduction(
  "ln_variance",
  ["X", "Mean"],
  "row",
  "(X[at] - Mean[group]) * (X[at] - Mean[group])",
  PER_CHANNEL,
);
// per channel, `k` is the row
const SUM_DY = normReduction("ln_dy", ["Dy"], "channel", "Dy[at]");
const SUM_DY_XHAT = normReduction(
  "ln_dy_xhat",
  ["Dy", "X", "Mean", "Variance"],
  "channel",
  "Dy[at] * (X[at] - Mean[k]) * inverseSqrt(Variance[k] + uniforms.eps)",
);
// per row, `k` is the channel
const MEAN_G = normReduction("ln_g", ["Dy", "Scale"], "row", "Dy[at] * Scale[k]", PER_CHANNEL);
const MEAN_G_XHAT = normReduction(
  "ln_g_xhat",
  ["Dy", "Scale", "X", "Mean", "Variance"],
  "row",
  `Dy[at] * Scale[k] * (X[at] - Mean[group]) * ${RSTD_OF_ROW}`,
  PER_CHANNEL,
);

// the tfjs formula's association: ((x − mean)·rsqrt(var + eps))·scale + offset
const NORMALISE = normElementwise(
  "ln_forward",
  ["X", "Scale", "Offset", "Mean", "Variance"],
  `let r = index / uniforms.channels;
      let c = index % uniforms.channels;
      let normed = (X[index] - Mean[r]) * inverseSqrt(Variance[r] + uniforms.eps);
      setOutputAtIndex(index, normed * Scale[c] + Offset[c]);`,
);

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·scale
const INPUT_GRADIENT = normElementwise(
  "ln_backward",
  ["Dy", "X", "Scale", "Mean", "Variance", "MeanG", "MeanGXhat"],
  `let r = index / uniforms.channels;
      let c = index % uniforms.channels;
      let rstd = inverseSqrt(Variance[r] + uniforms.eps);
      let xhat = (X[index] - Mean[r]) * rstd;
      let g = Dy[index] * Scale[c];
      setOutputAtIndex(index, rstd * (g - MeanG[r] - xhat * MeanGXhat[r]));`,
);

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function epsilonOf(args: KernelArgs): number {
  return (args.attrs as { epsilon: number }).epsilon;
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const mean = run.reduce(MEAN, [x]);
  const variance = run.reduce(VARIANCE, [x, mean]);
  return [run.elementwise(NORMALISE, [x, scale, offset, mean, variance]), mean, variance];
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, scale, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const dOffset = run.reduce(SUM_DY, [dy]);
  const dScale = run.reduce(SUM_DY_XHAT, [dy, x, mean, variance]);
  const meanG = run.reduce(MEAN_G, [dy, scale]);
  const meanGXhat = run.reduce(MEAN_G_XHAT, [dy, scale, x, mean, variance]);
  const dx = run.elementwise(INPUT_GRADIENT, [dy, x, scale, mean, variance, meanG, meanGXhat]);
  // the two row means are intermediates (released once the commands reading them are done)
  for (const t of [meanG, meanGXhat]) (args.backend as WebGPUBackendLike).disposeData(t.dataId);
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

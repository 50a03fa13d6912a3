/**
 * Layer norm over the last axis as tfjs-webgpu kernels, forward and backward, under the fused
 * names the models look up ({@link FUSED_KERNELS}`.layerNorm` and `.layerNormGrad`; the
 * gradient is registered by `@efficienttrain/core`).
 *
 * A row fits one workgroup, so each pass that works per row does all of it in one dispatch:
 * forward, the row's mean, its centred variance (two passes for accuracy) and the normalised
 * row; backward, the two row means of `g = dy·scale` the input gradient needs (`mean(g)`,
 * `mean(g·x̂)`) and the input gradient itself. The parameter gradients are column sums over the
 * rows, both in one more dispatch (two from `SPLIT_FROM_ROWS` tokens on: `column_sums.ts`). One
 * dispatch forward and two backward (three over long columns), where tfjs's formula takes ~10
 * and ~20.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { type NormGroupSpec, normRunner, parameterGradients } from "./program.ts";

const FORWARD: NormGroupSpec = {
  key: "ln_forward",
  per: "row",
  outputs: ["Y", "MeanOut", "VarianceOut"],
  inputs: ["X", "Scale", "Offset"],
  body: `let perChannel = 1.0 / f32(uniforms.channels);
    let row = group * uniforms.channels;
    var sum = 0.0;
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      sum = sum + X[row + k];
    }
    let mean = workgroupSum(lane, sum) * perChannel;
    var squares = 0.0;
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      let centred = X[row + k] - mean;
      squares = squares + centred * centred;
    }
    let variance = workgroupSum(lane, squares) * perChannel;
    let rstd = inverseSqrt(variance + uniforms.eps);
    // the tfjs formula's association: ((x − mean)·rsqrt(var + eps))·scale + offset
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      Y[row + k] = ((X[row + k] - mean) * rstd) * Scale[k] + Offset[k];
    }
    if (lane == 0) {
      MeanOut[group] = mean;
      VarianceOut[group] = variance;
    }`,
};

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·scale
const INPUT_GRADIENT: NormGroupSpec = {
  key: "ln_input_gradient",
  per: "row",
  outputs: ["Dx"],
  inputs: ["Dy", "X", "Scale", "Mean", "Variance"],
  body: `let perChannel = 1.0 / f32(uniforms.channels);
    let row = group * uniforms.channels;
    let mean = Mean[group];
    let rstd = inverseSqrt(Variance[group] + uniforms.eps);
    var sumG = 0.0;
    var sumGXhat = 0.0;
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      let g = Dy[row + k] * Scale[k];
      sumG = sumG + g;
      sumGXhat = sumGXhat + g * (X[row + k] - mean) * rstd;
    }
    let meanG = workgroupSum(lane, sumG) * perChannel;
    let meanGXhat = workgroupSum(lane, sumGXhat) * perChannel;
    for (var k = lane; k < uniforms.channels; k = k + LANES) {
      let xhat = (X[row + k] - mean) * rstd;
      let g = Dy[row + k] * Scale[k];
      Dx[row + k] = rstd * (g - meanG - xhat * meanGXhat);
    }`,
};

const PARAMETER_GRADIENTS = parameterGradients("ln_parameter_gradients", [
  "Dy",
  "X",
  "Mean",
  "Variance",
], {
  dScale: "Dy[at] * (X[at] - Mean[k]) * inverseSqrt(Variance[k] + uniforms.eps)",
  dOffset: "Dy[at]",
});

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function epsilonOf(args: KernelArgs): number {
  return (args.attrs as { epsilon: number }).epsilon;
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const rows = [run.layout.rows];
  return run.groups(FORWARD, [x, scale, offset], [x.shape, rows, rows]);
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, scale, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const [dx] = run.groups(INPUT_GRADIENT, [dy, x, scale, mean, variance], [x.shape]);
  const [dScale, dOffset] = run.columnSums(PARAMETER_GRADIENTS, [dy, x, mean, variance]);
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

/**
 * Training-mode batch norm over NHWC as tfjs-webgpu kernels, forward and backward, registered
 * under the fused names the models already look up ({@link FUSED_KERNELS}`.batchNorm` and
 * `.batchNormGrad`, whose gradient `@efficienttrain/core` registers).
 *
 * tfjs's own path (`tf.moments` and the formula) costs ~10 dispatches forward and ~20 backward
 * per layer, with a full transpose of the activation before each reduction (tfjs reduces over
 * the innermost axis only). Here it is two dispatches each way: one workgroup per channel
 * reduces the strided column in workgroup memory and writes both of its sums (forward: the
 * mean, then the centred variance, two passes for accuracy; backward: Σdy and Σdy·x̂), and one
 * element-wise pass writes the output. From `SPLIT_FROM_ROWS` rows (batch × height × width)
 * the reductions are split over slices of the rows, one dispatch more each way
 * (`column_sums.ts`): at batch 64 and 224 px one workgroup per channel would leave most of a
 * GPU idle.
 *
 * The running statistics move in one more dispatch with the step's numbers as uniforms: the
 * formula multiplies by four host numbers, and each becomes a scalar tensor uploaded every step
 * (five per layer with the n/(n−1) correction: most of a ResNet step's host→GPU transfers).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, type RunningStatsAttrs } from "@efficienttrain/core";
import { type MultiOutputSpec, runMultiOutput, uniformValues } from "./multi_output.ts";
import { splitColumnMoments, splitFromRowsNow } from "./column_sums.ts";
import { normElementwise, type NormGroupSpec, normRunner, parameterGradients } from "./program.ts";

const STATISTICS: NormGroupSpec = {
  key: "bn_statistics",
  per: "channel",
  outputs: ["MeanOut", "VarianceOut"],
  inputs: ["X"],
  body: `let perRow = 1.0 / f32(uniforms.rows);
    var sum = 0.0;
    for (var k = lane; k < uniforms.rows; k = k + LANES) {
      sum = sum + X[k * uniforms.channels + group];
    }
    let mean = workgroupSum(lane, sum) * perRow;
    var squares = 0.0;
    for (var k = lane; k < uniforms.rows; k = k + LANES) {
      let centred = X[k * uniforms.channels + group] - mean;
      squares = squares + centred * centred;
    }
    let variance = workgroupSum(lane, squares) * perRow;
    if (lane == 0) {
      MeanOut[group] = mean;
      VarianceOut[group] = variance;
    }`,
};

const PARAMETER_GRADIENTS = parameterGradients("bn_parameter_gradients", [
  "Dy",
  "X",
  "Mean",
  "Variance",
], {
  dScale: "Dy[at] * (X[at] - Mean[c])",
  dScaleFactor: "inverseSqrt(Variance[c] + uniforms.eps)",
  dOffset: "Dy[at]",
});

// the tfjs formula's association: (x − mean)·(scale·rsqrt(var + eps)) + offset
const NORMALISE = normElementwise(
  "bn_forward",
  ["X", "Scale", "Offset", "Mean", "Variance"],
  `let c = index % uniforms.channels;
      let k = Scale[c] * inverseSqrt(Variance[c] + uniforms.eps);
      setOutputAtIndex(index, (X[index] - Mean[c]) * k + Offset[c]);`,
);

// dx = scale·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)
const INPUT_GRADIENT = normElementwise(
  "bn_backward",
  ["Dy", "X", "Scale", "Mean", "Variance", "DScale", "DOffset"],
  `let c = index % uniforms.channels;
      let rstd = inverseSqrt(Variance[c] + uniforms.eps);
      let xhat = (X[index] - Mean[c]) * rstd;
      let m = f32(uniforms.rows);
      let g = Dy[index] - DOffset[c] / m - xhat * DScale[c] / m;
      setOutputAtIndex(index, Scale[c] * rstd * g);`,
);

// the formula's association, so the webgpu and cpu updates agree to rounding
const RUNNING_STATISTICS: MultiOutputSpec = {
  key: "bn_running_statistics",
  outputs: ["MeanOut", "VarOut"],
  inputs: ["RunningMean", "RunningVar", "Mean", "Variance"],
  uniforms: "keep : f32, momentum : f32, varianceCorrection : f32,",
  per: "element",
  body: `MeanOut[index] = RunningMean[index] * uniforms.keep + Mean[index] * uniforms.momentum;
    let unbiased = Variance[index] * uniforms.varianceCorrection;
    VarOut[index] = RunningVar[index] * uniforms.keep + unbiased * uniforms.momentum;`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function epsilonOf(args: KernelArgs): number {
  return (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const [mean, variance] = run.layout.rows >= splitFromRowsNow()
    ? splitColumnMoments(args.backend, x, run.layout)
    : run.groups(STATISTICS, [x], [[run.layout.channels], [run.layout.channels]]);
  return [run.elementwise(NORMALISE, [x, scale, offset, mean, variance]), mean, variance];
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, scale, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const run = normRunner(args.backend, x, epsilonOf(args));
  const [dScale, dOffset] = run.columnSums(PARAMETER_GRADIENTS, [dy, x, mean, variance]);
  const dx = run.elementwise(INPUT_GRADIENT, [dy, x, scale, mean, variance, dScale, dOffset]);
  return [dx, dScale, dOffset];
}

function runningStatistics(args: KernelArgs): tf.TensorInfo[] {
  const { runningMean, runningVar, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const { momentum, varianceCorrection } = args.attrs as unknown as RunningStatsAttrs;
  const values = [1 - momentum, momentum, varianceCorrection];
  return runMultiOutput(
    args.backend,
    RUNNING_STATISTICS,
    [runningMean, runningVar, mean, variance],
    {
      outputShapes: [runningMean.shape, runningVar.shape],
      count: runningMean.shape.reduce((x, y) => x * y, 1),
      uniforms: uniformValues("float32", values),
    },
  );
}

/**
 * The three kernels' configs for tfjs's `webgpu` backend.
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
    {
      kernelName: FUSED_KERNELS.batchNormRunningStats,
      backendName: "webgpu",
      kernelFunc: runningStatistics as never,
    },
  ];
}

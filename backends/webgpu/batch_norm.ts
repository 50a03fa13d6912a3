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
import { normElementwise, normReduction, normRunner } from "./program.ts";

const PER_ROW = "(1.0 / f32(uniforms.rows))";
const MEAN = normReduction("bn_mean", ["X"], "channel", "X[at]", PER_ROW);
const VARIANCE = normReduction(
  "bn_variance",
  ["X", "Mean"],
  "channel",
  "(X[at] - Mean[group]) * (X[at] - Mean[group])",
  PER_ROW,
);
const SUM_DY = normReduction("bn_dy", ["Dy"], "channel", "Dy[at]");
const SUM_DY_XHAT = normReduction(
  "bn_dy_xhat",
  ["Dy", "X", "Mean", "Variance"],
  "channel",
  "Dy[at] * (X[at] - Mean[group])",
  "inverseSqrt(Variance[group] + uniforms.eps)",
);

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

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function epsilonOf(args: KernelArgs): number {
  return (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
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
  const dx = run.elementwise(INPUT_GRADIENT, [dy, x, scale, mean, variance, dScale, dOffset]);
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

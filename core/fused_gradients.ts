/**
 * The gradients of the fused kernels in {@link FUSED_KERNELS}, defined once for every backend
 * that provides the kernels (native, webgpu): tfjs keeps one gradient per kernel name, not per
 * backend, so they cannot live in any one backend. Each gradient calls its `…Grad` kernel on
 * the current backend; tfjs's own `Softmax`, `Conv2D` and `DepthwiseConv2dNative` gradients are
 * wrapped to do the same where the current backend registers a fused kernel for them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type AttentionAttrs, FUSED_KERNELS } from "./kernel_names.ts";

let registered = false;

/**
 * Register the gradients of the fused batch norm, layer norm, GELU, head-split, attention and
 * window partition kernels with tfjs, and route tfjs's `Softmax` gradient and the filter
 * gradients of `Conv2D` and `DepthwiseConv2dNative` through fused kernels where the backend has
 * them. Idempotent; a backend calls it when it registers the kernels.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { FUSED_KERNELS, registerFusedGradients } from "@efficienttrain/core";
 * registerFusedGradients();
 * console.assert(tf.getGradient(FUSED_KERNELS.layerNorm) !== undefined);
 * ```
 */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  for (
    const [forward, backward] of [
      [FUSED_KERNELS.batchNorm, FUSED_KERNELS.batchNormGrad],
      [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad],
    ] as const
  ) {
    tf.registerGradient({
      kernelName: forward,
      inputsToSave: ["x", "scale", "offset"],
      outputsToSave: [false, true, true],
      gradFunc: (dys, saved, attrs) => {
        const all = (Array.isArray(dys) ? dys : [dys]) as tf.Tensor[];
        const [x, scale, offset, mean, variance] = saved;
        // The three input gradients come out of one kernel call, made here and not in the
        // thunks: tfjs runs each thunk in its own tidy, which would dispose the other two.
        const [dx, dScale, dOffset] = tf.engine().runKernel(
          backward,
          { dy: all[0], x, scale, offset, mean, variance } as unknown as tf.NamedTensorMap,
          attrs as tf.NamedAttrMap,
        ) as tf.Tensor[];
        const dxTotal = forward === FUSED_KERNELS.batchNorm
          ? withStatisticsPaths(dx, x, mean, all[1], all[2])
          : dx;
        return { x: () => dxTotal, scale: () => dScale, offset: () => dOffset };
      },
    });
  }
  tf.registerGradient({
    kernelName: FUSED_KERNELS.gelu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return {
        x: () =>
          tf.engine().runKernel(
            FUSED_KERNELS.geluGrad,
            { dy, x } as unknown as tf.NamedTensorMap,
          ) as tf.Tensor,
      };
    },
  });
  const softmax = tf.getGradient("Softmax");
  if (softmax) {
    tf.registerGradient({
      ...softmax,
      gradFunc: (dy, saved, attrs) => {
        const [y] = saved;
        const { dim } = attrs as { dim: number };
        if (
          y.dtype !== "float32" || (dim !== -1 && dim !== y.rank - 1) ||
          tf.getKernel(FUSED_KERNELS.softmaxGrad, tf.getBackend()) === undefined
        ) {
          return softmax.gradFunc(dy, saved, attrs);
        }
        return {
          logits: () =>
            tf.engine().runKernel(
              FUSED_KERNELS.softmaxGrad,
              { dy, y } as unknown as tf.NamedTensorMap,
            ) as tf.Tensor,
        };
      },
    });
  }
  routeFilterGradient("Conv2D", FUSED_KERNELS.conv2dFilterGrad);
  routeFilterGradient("DepthwiseConv2dNative", FUSED_KERNELS.depthwiseFilterGrad);
  tf.registerGradient({
    kernelName: FUSED_KERNELS.splitHeads,
    gradFunc: (dys, _saved, attrs) => {
      const [dq, dk, dv] = dys as tf.Tensor[];
      return {
        qkv: () =>
          tf.engine().runKernel(
            FUSED_KERNELS.splitHeadsGrad,
            { dq, dk, dv } as unknown as tf.NamedTensorMap,
            attrs as tf.NamedAttrMap,
          ) as tf.Tensor,
      };
    },
  });
  tf.registerGradient({
    kernelName: FUSED_KERNELS.attention,
    inputsToSave: ["q", "k", "v"],
    outputsToSave: [false, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy] = dys as tf.Tensor[];
      const [q, k, v, probs] = saved;
      // one kernel call for all four, outside the thunks (each runs in its own tidy)
      const [dq, dk, dv, dScores] = tf.engine().runKernel(
        FUSED_KERNELS.attentionGrad,
        { dy, q, k, v, probs } as unknown as tf.NamedTensorMap,
        attrs as tf.NamedAttrMap,
      ) as tf.Tensor[];
      const { biasGroups } = attrs as unknown as AttentionAttrs;
      // the bias is not needed for its gradient: the groups that share a bias group sum
      const dBias = (): tf.Tensor => {
        const [g, heads, n] = dScores.shape;
        const perBias = biasGroups * heads * n * n;
        return tf.reshape(
          tf.sum(tf.reshape(dScores, [g / biasGroups, perBias]), 0),
          [biasGroups, heads, n, n],
        );
      };
      return { q: () => dq, k: () => dk, v: () => dv, bias: dBias };
    },
  });
  // each is the other's inverse permutation, so each is the other's gradient
  for (
    const [forward, inverse, input] of [
      [FUSED_KERNELS.windowPartition, FUSED_KERNELS.windowMerge, "x"],
      [FUSED_KERNELS.windowMerge, FUSED_KERNELS.windowPartition, "tokens"],
    ] as const
  ) {
    const inverseInput = input === "x" ? "tokens" : "x";
    tf.registerGradient({
      kernelName: forward,
      gradFunc: (dy, _saved, attrs) => ({
        [input]: () =>
          tf.engine().runKernel(
            inverse,
            { [inverseInput]: dy } as unknown as tf.NamedTensorMap,
            attrs as tf.NamedAttrMap,
          ) as tf.Tensor,
      }),
    });
  }
}

/**
 * Keep tfjs's gradient of convolution `forward` for the input, and compute the filter's with
 * `kernel` where the current backend has it (NHWC, dilation 1, float32, one filter per input
 * channel for depthwise).
 */
function routeFilterGradient(forward: string, kernel: string): void {
  const original = tf.getGradient(forward);
  if (!original) return;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const grads = original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved;
      const a = attrs as {
        strides: number | number[];
        pad: unknown;
        dimRoundingMode?: string;
        dataFormat?: string;
        dilations?: number | number[];
      };
      const ones = (v: number | number[] | undefined): boolean =>
        v === undefined || [v].flat().every((d) => d === 1);
      const usable = x.dtype === "float32" && (a.dataFormat ?? "NHWC") === "NHWC" &&
        ones(a.dilations) && (forward === "Conv2D" || filter.shape[3] === 1) &&
        tf.getKernel(kernel, tf.getBackend()) !== undefined;
      if (!usable) return grads;
      return {
        ...grads,
        filter: () =>
          tf.engine().runKernel(
            kernel,
            { x, dy } as unknown as tf.NamedTensorMap,
            {
              strides: a.strides,
              pad: a.pad,
              dimRoundingMode: a.dimRoundingMode,
              filterShape: filter.shape,
            } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
      };
    },
  });
}

/**
 * Batch norm's statistics normally feed only the running averages, and tfjs hands their
 * gradients in as host-side zeros (readable synchronously on every backend). When they do
 * reach the loss, add their paths: d mean/dx = 1/M, d var/dx = 2(x − mean)/M.
 */
function withStatisticsPaths(
  dx: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  dMean: tf.Tensor | undefined,
  dVar: tf.Tensor | undefined,
): tf.Tensor {
  const nonzero = (t: tf.Tensor | undefined): boolean =>
    t !== undefined && (t.dataSync() as Float32Array).some((v) => v !== 0);
  if (!nonzero(dMean) && !nonzero(dVar)) return dx;
  const m = x.size / (x.shape[x.rank - 1] as number);
  return tf.add(dx, tf.div(tf.add(dMean!, tf.mul(tf.mul(dVar!, 2), tf.sub(x, mean))), m));
}

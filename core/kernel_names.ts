/**
 * Names of the fused kernels a backend may register beyond tfjs's own, in one place: the
 * models and the optimizer look them up by name (so they import no backend), and a backend
 * registers them (with their gradients) under these names: the native backend the norms and
 * activations, the webgpu backend the optimizer update.
 *
 * @module
 */

/**
 * Fused forward kernels and the gradient kernels behind them.
 *
 * @example
 * ```ts
 * import { FUSED_KERNELS } from "@efficienttrain/core";
 * console.assert(FUSED_KERNELS.layerNorm === "EtNativeLayerNorm");
 * ```
 */
export const FUSED_KERNELS = {
  /** Batch norm in training mode: normalised output, batch mean and variance. */
  batchNorm: "EtNativeBatchNormTrain",
  batchNormGrad: "EtNativeBatchNormTrainGrad",
  /** Layer norm over the last axis. */
  layerNorm: "EtNativeLayerNorm",
  layerNormGrad: "EtNativeLayerNormGrad",
  /** Exact (erf) GELU. */
  gelu: "EtNativeGelu",
  geluGrad: "EtNativeGeluGrad",
  /** ReLU's gradient as one pass. */
  reluGrad: "EtNativeReluGrad",
  /** Sum/Mean gradient: broadcast `dy` over the reduced axes. */
  broadcastGrad: "EtNativeBroadcastGrad",
  /**
   * AdamW's update of one parameter: inputs `param`, `grad`, `m`, `v`; outputs the new
   * parameter and both moments; attributes {@link AdamWAttrs}.
   */
  adamW: "EtAdamW",
  /**
   * Batch norm's running-statistics update in training: inputs `runningMean`, `runningVar`,
   * `mean`, `variance` (the batch's, biased); outputs the new running mean and variance;
   * attributes {@link RunningStatsAttrs}. Not differentiated: the statistics are buffers.
   */
  batchNormRunningStats: "EtBatchNormRunningStats",
  /**
   * Attention's head split: input `qkv`, `[B, N, 3·D]` (the fused projection's q, k and v side
   * by side, timm's layout); outputs `q·scale`, `k` and `v`, each `[B, heads, N, D/heads]`;
   * attributes {@link SplitHeadsAttrs}.
   */
  splitHeads: "EtSplitHeads",
  /** The head split's gradient: inputs `dq`, `dk`, `dv`; output `dqkv`; the same attributes. */
  splitHeadsGrad: "EtSplitHeadsGrad",
  /**
   * Softmax's gradient over the last axis: inputs `dy` and the softmax's output `y`; output
   * `y·(dy − Σ dy·y)`. tfjs's own `Softmax` kernel stays the forward.
   */
  softmaxGrad: "EtSoftmaxGrad",
  /**
   * Convolution's filter gradient (NHWC, HWIO filter, dilation 1): inputs `x` and `dy`;
   * attributes tfjs's `Conv2DBackpropFilter` takes (`strides`, `pad`, `dimRoundingMode`,
   * `filterShape`). tfjs's own `Conv2D` forward and input gradient stay.
   */
  conv2dFilterGrad: "EtConv2DFilterGrad",
  /** Depthwise convolution's filter gradient (channel multiplier 1): as `conv2dFilterGrad`. */
  depthwiseFilterGrad: "EtDepthwiseFilterGrad",
  /**
   * Scaled dot-product attention with the heads merged back: inputs `q` (already scaled), `k`,
   * `v`, each `[G, heads, N, headDim]`, and optionally `bias` `[G', heads, N, N]` added to the
   * scores, group g reading bias group g mod G' (Swin's relative position bias and shift mask);
   * outputs the tokens `[G, N, heads·headDim]` and the probabilities `[G, heads, N, N]` (kept
   * for the gradient); attributes {@link AttentionAttrs}.
   */
  attention: "EtAttention",
  /**
   * Attention's gradient: inputs `dy` (the tokens'), `q`, `k`, `v` and the probabilities;
   * outputs `dq`, `dk`, `dv` and the scores' gradient `[G, heads, N, N]` (the bias's, before
   * its sum over the groups that share it); the same attributes.
   */
  attentionGrad: "EtAttentionGrad",
  /**
   * Swin's window partition after its cyclic shift: input `x` `[B, side, side, C]`; output the
   * windows' tokens `[B·(side/window)², window², C]`, from `x` rolled by −shift on both spatial
   * axes; attributes {@link WindowAttrs}. A permutation: its gradient is `windowMerge`.
   */
  windowPartition: "EtWindowPartition",
  /**
   * The inverse of `windowPartition`: input `tokens`; output `[B, side, side, C]` rolled back by
   * +shift; the same attributes. Its gradient is `windowPartition`.
   */
  windowMerge: "EtWindowMerge",
} as const;

/**
 * The window geometry of {@link FUSED_KERNELS}`.windowPartition` and `.windowMerge`: the map's
 * side, the window's side (dividing it) and the cyclic shift (0 ≤ shift < side).
 *
 * @example
 * ```ts
 * import type { WindowAttrs } from "@efficienttrain/core";
 * const attrs: WindowAttrs = { side: 8, window: 4, shift: 2 };
 * console.assert(attrs.side % attrs.window === 0);
 * ```
 */
export interface WindowAttrs {
  readonly side: number;
  readonly window: number;
  readonly shift: number;
}

/**
 * Attention's attributes: how many bias groups G' the scores add (0: no bias).
 *
 * @example
 * ```ts
 * import type { AttentionAttrs } from "@efficienttrain/core";
 * const windows = 4;
 * const attrs: AttentionAttrs = { biasGroups: windows };
 * console.assert(attrs.biasGroups === 4);
 * ```
 */
export interface AttentionAttrs {
  readonly biasGroups: number;
}

/**
 * The head split's attributes: the number of heads and the factor q is scaled by
 * (`headDim^−½` in scaled dot-product attention), applied inside the kernel so the scale is
 * not a host number uploaded per block per step.
 *
 * @example
 * ```ts
 * import type { SplitHeadsAttrs } from "@efficienttrain/core";
 * const headDim = 64;
 * const attrs: SplitHeadsAttrs = { heads: 3, scale: headDim ** -0.5 };
 * console.assert(attrs.scale === 0.125);
 * ```
 */
export interface SplitHeadsAttrs {
  readonly heads: number;
  readonly scale: number;
}

/**
 * The scalars of one running-statistics update as the fused kernel takes them (PyTorch's
 * `BatchNorm2d`: `r ← (1 − momentum)·r + momentum·s`, with the variance made unbiased first by
 * `varianceCorrection` = n/(n−1), or 1 for a one-value batch).
 *
 * @example
 * ```ts
 * import type { RunningStatsAttrs } from "@efficienttrain/core";
 * const n = 64 * 16 * 16;
 * const attrs: RunningStatsAttrs = { momentum: 0.1, varianceCorrection: n / (n - 1) };
 * console.assert(attrs.varianceCorrection > 1);
 * ```
 */
export interface RunningStatsAttrs {
  readonly momentum: number;
  readonly varianceCorrection: number;
}

/**
 * The scalars of one AdamW update as the fused kernel takes them (PyTorch's AdamW:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * `p ← p − stepSize · m / (√(v · vCorrection) + ε) − decay · p`).
 *
 * @example
 * ```ts
 * import type { AdamWAttrs } from "@efficienttrain/core";
 * const lr = 1e-3, t = 1;
 * const attrs: AdamWAttrs = {
 *   beta1: 0.9, beta2: 0.999, epsilon: 1e-8, stepSize: lr / (1 - 0.9 ** t),
 *   vCorrection: 1 / (1 - 0.999 ** t), decay: lr * 0.05,
 * };
 * console.assert(attrs.stepSize > lr);
 * ```
 */
export interface AdamWAttrs {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** `lr / (1 − β₁ᵗ)`: the learning rate with the first moment's bias correction. */
  readonly stepSize: number;
  /** `1 / (1 − β₂ᵗ)`: the second moment's bias correction. */
  readonly vCorrection: number;
  /** `lr · weightDecay`, or 0 for a parameter without decay. */
  readonly decay: number;
}

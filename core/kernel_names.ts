/**
 * Names of the fused kernels a backend may register beyond tfjs's own, in one place: the
 * models look them up by name (so they import no backend), and the native backend registers
 * them (with their gradients) under these names.
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
} as const;

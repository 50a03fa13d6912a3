/**
 * Learning-rate schedule: linear warm-up, then cosine decay, as a function of training
 * progress in [0, 1]. Progress is an epoch fraction for epoch-based curricula and a compute
 * fraction for EfficientTrain++, so the same schedule serves both.
 *
 * @module
 */

/** Options of {@link cosineLearningRate}. */
export interface CosineScheduleOptions {
  /** Peak learning rate reached at the end of warm-up. */
  readonly baseLr: number;
  /** Fraction of progress spent warming up linearly from `warmupLr`. */
  readonly warmupFraction: number;
  /** Learning rate at progress 0. */
  readonly warmupLr?: number;
  /** Floor of the cosine. */
  readonly minLr?: number;
}

/**
 * Learning rate at `progress` ∈ [0, 1] (clamped).
 *
 * @example
 * ```ts
 * import { cosineLearningRate } from "@efficienttrain/train";
 * const opts = { baseLr: 1e-3, warmupFraction: 0.1 };
 * console.assert(cosineLearningRate(0.1, opts) === 1e-3);
 * console.assert(cosineLearningRate(1, opts) === 0);
 * ```
 */
export function cosineLearningRate(progress: number, options: CosineScheduleOptions): number {
  const { baseLr, warmupFraction, warmupLr = 0, minLr = 0 } = options;
  const p = Math.min(1, Math.max(0, progress));
  if (warmupFraction > 0 && p < warmupFraction) {
    return warmupLr + (baseLr - warmupLr) * (p / warmupFraction);
  }
  const rest = warmupFraction >= 1 ? 1 : (p - warmupFraction) / (1 - warmupFraction);
  return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * rest));
}

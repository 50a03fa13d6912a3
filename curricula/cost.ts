/**
 * The cost model: how much compute a resolved curriculum spends relative to the full-size
 * baseline, and how long it should take given per-size step times measured on the real
 * backend.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import type { ResolvedCurriculum } from "./resolve.ts";

/** The fields of a resolved curriculum the cost model reads. */
export type CostInput = Pick<
  ResolvedCurriculum,
  "imageSize" | "baselineEpochs" | "stages"
>;

/**
 * Compute of a resolved curriculum relative to `baselineEpochs` epochs at full size:
 * Σ epochsᵢ·flops(Bᵢ) / (baselineEpochs·flops(H)). `flops` defaults to B² (FLOPs of a
 * convolutional network are ∝ pixels); pass `model.flops` for the exact ratio of a model.
 *
 * @example
 * ```ts
 * import { relativeCompute } from "@efficienttrain/curricula";
 * const rc = relativeCompute({
 *   imageSize: 224,
 *   baselineEpochs: 10,
 *   stages: [
 *     { index: 0, segment: 0, startEpoch: 0, endEpoch: 5, startEquivalent: 0, endEquivalent: 1.25, imageSize: 112, magnitude: 1, cropMethod: "fft" },
 *     { index: 1, segment: 1, startEpoch: 5, endEpoch: 10, startEquivalent: 1.25, endEquivalent: 6.25, imageSize: 224, magnitude: 9, cropMethod: "none" },
 *   ],
 * });
 * console.assert(Math.abs(rc - 0.625) < 1e-12);
 * ```
 */
export function relativeCompute(
  resolved: CostInput,
  options: { flops?: (size: number) => number; baselineEpochs?: number } = {},
): number {
  const flops = options.flops ?? ((b: number) => b * b);
  const baselineEpochs = options.baselineEpochs ?? resolved.baselineEpochs;
  let sum = 0;
  for (const s of resolved.stages) sum += (s.endEpoch - s.startEpoch) * flops(s.imageSize);
  return sum / (baselineEpochs * flops(resolved.imageSize));
}

/** Compute spent at one input side. */
export interface SizeShare {
  /** Input side B. */
  readonly imageSize: number;
  /** Real epochs run at this side. */
  readonly epochs: number;
  /** Fraction of the curriculum's total compute. */
  readonly fraction: number;
}

/**
 * Compute per input side, as fractions of the curriculum's total (B² cost unless `flops`).
 * Sides are listed in order of first use.
 *
 * @example
 * ```ts
 * import { computeBySize, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({
 *   progress: "compute",
 *   segments: [{ kind: "stage", size: 16, magnitude: 1, length: 1 }, { kind: "stage", size: 32, magnitude: 9, length: 3 }],
 * }, { epochs: 8, imageSize: 32 });
 * console.assert(Math.abs(computeBySize(r)[0].fraction - 0.25) < 1e-12);
 * ```
 */
export function computeBySize(
  resolved: CostInput,
  options: { flops?: (size: number) => number } = {},
): SizeShare[] {
  const flops = options.flops ?? ((b: number) => b * b);
  const bySize = new Map<number, { epochs: number; cost: number }>();
  let total = 0;
  for (const s of resolved.stages) {
    const epochs = s.endEpoch - s.startEpoch;
    const cost = epochs * flops(s.imageSize);
    const e = bySize.get(s.imageSize) ?? { epochs: 0, cost: 0 };
    bySize.set(s.imageSize, { epochs: e.epochs + epochs, cost: e.cost + cost });
    total += cost;
  }
  return [...bySize].map(([imageSize, e]) => ({
    imageSize,
    epochs: e.epochs,
    fraction: e.cost / total,
  }));
}

/**
 * Measured training cost per input side: seconds per image (forward + backward + update,
 * amortised over a batch) keyed by side. The trainer fills it from a short profiling run.
 */
export type StepTimeProfile = { readonly [size: number]: number };

/**
 * Seconds per image at a side from a profile: exact when measured, linear in B² between
 * the nearest measured sides, and ∝ B² beyond the measured range.
 *
 * @example
 * ```ts
 * import { secondsPerImage } from "@efficienttrain/curricula";
 * console.assert(secondsPerImage({ 16: 1, 32: 4 }, 24) === 2.25);
 * console.assert(secondsPerImage({ 32: 4 }, 64) === 16);
 * ```
 */
export function secondsPerImage(profile: StepTimeProfile, size: number): number {
  const points = Object.entries(profile)
    .map(([k, v]) => [Number(k), v] as const)
    .filter(([k, v]) => Number.isFinite(k) && k > 0 && Number.isFinite(v) && v > 0)
    .sort((a, b) => a[0] - b[0]);
  if (points.length === 0) {
    throw new InvalidArgumentError({
      argument: "profile",
      value: showValue(profile),
      reason: "has no positive timings",
    });
  }
  const exact = points.find(([k]) => k === size);
  if (exact) return exact[1];
  if (size < points[0][0]) return points[0][1] * (size / points[0][0]) ** 2;
  const last = points[points.length - 1];
  if (size > last[0]) return last[1] * (size / last[0]) ** 2;
  const i = points.findIndex(([k]) => k > size);
  const [k0, v0] = points[i - 1];
  const [k1, v1] = points[i];
  const t = (size * size - k0 * k0) / (k1 * k1 - k0 * k0);
  return v0 + t * (v1 - v0);
}

/** Predicted wall time of one stage. */
export interface StageTime {
  /** Position in `stages` (0-based). */
  readonly index: number;
  /** Input side B. */
  readonly imageSize: number;
  /** Real epochs. */
  readonly epochs: number;
  /** Predicted seconds. */
  readonly seconds: number;
}

/** Predicted wall time of a resolved curriculum. */
export interface WallTimePrediction {
  /** Predicted seconds. */
  readonly seconds: number;
  /** Per-stage entries, in order. */
  readonly stages: ReadonlyArray<StageTime>;
}

/**
 * Predict wall time: Σ epochsᵢ · imagesPerEpoch · secondsPerImage(Bᵢ) (+ a fixed overhead
 * per epoch, e.g. evaluation). Replay does not change compute per image, so it is not counted.
 *
 * @example
 * ```ts
 * import { predictWallTime, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({ progress: "epochs", segments: [{ kind: "stage", size: 32, magnitude: 9, length: 1 }] }, { epochs: 2, imageSize: 32 });
 * console.assert(predictWallTime(r, { 32: 0.001 }, { imagesPerEpoch: 1000 }).seconds === 2);
 * ```
 */
export function predictWallTime(
  resolved: CostInput,
  profile: StepTimeProfile,
  options: { imagesPerEpoch: number; overheadSecondsPerEpoch?: number },
): WallTimePrediction {
  if (!(options.imagesPerEpoch > 0)) {
    throw new InvalidArgumentError({
      argument: "imagesPerEpoch",
      value: showValue(options.imagesPerEpoch),
      reason: "must be > 0",
    });
  }
  const overhead = options.overheadSecondsPerEpoch ?? 0;
  const stages = resolved.stages.map((s) => {
    const epochs = s.endEpoch - s.startEpoch;
    const seconds = epochs *
      (options.imagesPerEpoch * secondsPerImage(profile, s.imageSize) + overhead);
    return { index: s.index, imageSize: s.imageSize, epochs, seconds };
  });
  return { seconds: stages.reduce((a, s) => a + s.seconds, 0), stages };
}

/**
 * Predicted speedup over the full-size baseline trained for `baselineEpochs` epochs:
 * baseline time / curriculum time, both from the same profile.
 *
 * @example
 * ```ts
 * import { predictedSpeedup, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({
 *   progress: "epochs",
 *   segments: [{ kind: "stage", size: 16, magnitude: 1, length: 1 }, { kind: "stage", size: 32, magnitude: 9, length: 1 }],
 * }, { epochs: 10, imageSize: 32 });
 * console.assert(predictedSpeedup(r, { 16: 1, 32: 3 }, { imagesPerEpoch: 1 }) === 1.5);
 * ```
 */
export function predictedSpeedup(
  resolved: CostInput,
  profile: StepTimeProfile,
  options: { imagesPerEpoch: number; overheadSecondsPerEpoch?: number; baselineEpochs?: number },
): number {
  const baselineEpochs = options.baselineEpochs ?? resolved.baselineEpochs;
  const overhead = options.overheadSecondsPerEpoch ?? 0;
  const baseline = baselineEpochs *
    (options.imagesPerEpoch * secondsPerImage(profile, resolved.imageSize) + overhead);
  return baseline / predictWallTime(resolved, profile, options).seconds;
}

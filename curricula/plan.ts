/**
 * The curriculum in the shape the training loop consumes (`CurriculumPlan` of
 * `@efficienttrain/train`): every query is a function of the (fractional) epoch.
 *
 * @module
 */
import {
  lrProgress,
  type ResolvedCurriculum,
  type ResolvedStage,
  stageAt,
} from "@efficienttrain/core";

/** One point of training as the loop sees it (knobs defaulted). */
export interface PlanStage {
  readonly index: number;
  readonly imageSize: number;
  readonly magnitude: number;
  /** `none` (B = H: leave the batch alone), `fft` or `resize:<method>`. */
  readonly cropMethod: string;
  /** Mixup/CutMix multiplier (1 when the stage sets none). */
  readonly mixupScale: number;
  readonly batchSize?: number;
  /** Replay factor (1 when the stage sets none). */
  readonly replay: number;
  /** The full resolved stage. */
  readonly stage: ResolvedStage;
}

/** A resolved curriculum with epoch-indexed queries. */
export interface CurriculumPlanView {
  readonly name: string;
  readonly totalEpochs: number;
  readonly stageCount: number;
  readonly relativeCompute: number;
  readonly resolved: ResolvedCurriculum;
  stageAt(epoch: number): PlanStage;
  lrProgress(epoch: number): number;
}

/**
 * Wrap a resolved curriculum for the training loop (structurally a `CurriculumPlan`).
 * `stageAt` returns cached objects, so calling it every step allocates nothing.
 *
 * @example
 * ```ts
 * import { curriculumPlan, presets } from "@efficienttrain/curricula";
 * import { resolveCurriculum } from "@efficienttrain/core";
 * const plan = curriculumPlan(resolveCurriculum(presets.efficienttrain, { epochs: 10, imageSize: 32 }));
 * console.assert(plan.stageAt(0).imageSize === 22 && plan.stageAt(9.5).cropMethod === "none");
 * ```
 */
export function curriculumPlan(resolved: ResolvedCurriculum): CurriculumPlanView {
  const points = new Map<ResolvedStage, PlanStage>(
    resolved.stages.map((s) => [s, {
      index: s.index,
      imageSize: s.imageSize,
      magnitude: s.magnitude,
      cropMethod: s.cropMethod,
      mixupScale: s.mixupScale ?? 1,
      ...(s.batchSize === undefined ? {} : { batchSize: s.batchSize }),
      replay: s.replay ?? 1,
      stage: s,
    }]),
  );
  return {
    name: resolved.name,
    totalEpochs: resolved.totalEpochs,
    stageCount: resolved.stages.length,
    relativeCompute: resolved.relativeCompute,
    resolved,
    stageAt: (epoch: number) => points.get(stageAt(resolved, epoch))!,
    lrProgress: (epoch: number) => lrProgress(resolved, epoch),
  };
}

/**
 * Adapters from the library packages to the loop's small interfaces: a resolved curriculum
 * becomes a {@link CurriculumPlan}, an in-memory split an {@link EvalSet}.
 *
 * @module
 */
import { lrProgress, type ResolvedCurriculum, stageAt } from "@efficienttrain/curricula";
import type { ImageSet } from "@efficienttrain/data";
import type { CurriculumPlan, EvalSet, HostBatch, StagePoint } from "./parts.ts";

/**
 * View a resolved curriculum as the loop's plan.
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { curriculumPlan } from "@efficienttrain/train";
 * const resolved = resolveCurriculum({
 *   progress: "epochs",
 *   segments: [{ kind: "stage", size: 20, magnitude: 1, length: 1 }, { kind: "stage", size: 28, magnitude: 9, length: 1 }],
 * }, { epochs: 2, imageSize: 28 });
 * const plan = curriculumPlan(resolved);
 * console.assert(plan.stageAt(0.5).imageSize === 20 && plan.stageAt(1.5).cropMethod === "none");
 * ```
 */
export function curriculumPlan(resolved: ResolvedCurriculum): CurriculumPlan {
  const points = stagePoints(resolved);
  return {
    name: resolved.name,
    totalEpochs: resolved.totalEpochs,
    stageCount: resolved.stages.length,
    stageAt: (epoch) => points[stageAt(resolved, epoch).index],
    lrProgress: (epoch) => lrProgress(resolved, epoch),
    relativeCompute: resolved.relativeCompute,
  };
}

/**
 * Serve an in-memory split as unaugmented evaluation batches (views, no copies).
 *
 * @example
 * ```ts
 * import { evalSetOf } from "@efficienttrain/train";
 * const set = { images: new Uint8Array(3 * 4), labels: new Int32Array(3), count: 3, height: 2, width: 2, channels: 1 };
 * console.assert(evalSetOf(set).batch(1, 2).n === 1);
 * ```
 */
export function evalSetOf(set: ImageSet): EvalSet {
  const per = set.height * set.width * set.channels;
  return {
    count: set.count,
    batch(index: number, batchSize: number): HostBatch {
      const start = index * batchSize;
      const n = Math.max(0, Math.min(batchSize, set.count - start));
      return {
        images: set.images.subarray(start * per, (start + n) * per),
        labels: set.labels.subarray(start, start + n),
        n,
        height: set.height,
        width: set.width,
        channels: set.channels,
      };
    },
  };
}

/**
 * The trainer's view of every stage of a resolved curriculum, in order.
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { stagePoints } from "@efficienttrain/train";
 * const resolved = resolveCurriculum({
 *   progress: "epochs",
 *   segments: [{ kind: "stage", size: 20, magnitude: 1, length: 1 }, { kind: "stage", size: 28, magnitude: 9, length: 1 }],
 * }, { epochs: 2, imageSize: 28 });
 * console.assert(stagePoints(resolved).map((p) => p.imageSize).join() === "20,28");
 * ```
 */
export function stagePoints(resolved: ResolvedCurriculum): StagePoint[] {
  return resolved.stages.map((s) => ({
    index: s.index,
    imageSize: s.imageSize,
    magnitude: s.magnitude,
    cropMethod: s.cropMethod,
    mixupScale: s.mixupScale ?? 1,
    ...(s.replay === undefined ? {} : { replay: s.replay }),
  }));
}

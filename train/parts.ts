/**
 * The pieces the training loop is assembled from. The loop depends only on these small
 * interfaces, so tests can drive it with fakes and the wiring layer adapts the data,
 * curricula and backend packages to them.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { CropMethod, Model, Rng } from "@efficienttrain/core";
import type { HostBatch } from "@efficienttrain/data";

export type { HostBatch };

/** What the curriculum says for one point of training. */
export interface StagePoint {
  /** 0-based stage index. */
  readonly index: number;
  /** Input side B. */
  readonly imageSize: number;
  /** RandAugment magnitude m. */
  readonly magnitude: number;
  /** `fft` or `resize:<method>`. */
  readonly cropMethod: CropMethod | "none";
  /** Multiplier on Mixup/CutMix strength (1 = recipe strength). */
  readonly mixupScale: number;
  /** EfficientTrain++'s replay factor: each loaded image serves this many steps (1 when absent). */
  readonly replay?: number;
}

/** The curriculum as the loop consumes it: everything is a function of the epoch (float). */
export interface CurriculumPlan {
  readonly name: string;
  readonly totalEpochs: number;
  readonly stageCount: number;
  stageAt(epoch: number): StagePoint;
  /** Progress for the learning-rate schedule in [0, 1] (epoch or compute fraction). */
  lrProgress(epoch: number): number;
  /** Compute relative to the baseline (predicted by the cost model). */
  readonly relativeCompute: number;
}

/** Ordered, augmented batches of a training set, deterministic per (seed, epoch, batch). */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  readonly imagesPerEpoch: number;
  /** Batches of epoch `epoch` from `startBatch` on, augmented at RandAugment magnitude `magnitude`. */
  batches(
    epoch: number,
    options: { readonly startBatch: number; readonly magnitude: number },
  ): AsyncIterableIterator<HostBatch>;
  close(): Promise<void>;
}

/** Tensor-side per-batch work: normalise, erase, crop to B, mix. */
export interface TensorPipeline {
  /** Training batch → model input at the stage's size and soft targets [N, classes]. */
  train(
    batch: HostBatch,
    options: { readonly rng: Rng; readonly stage: StagePoint },
  ): { images: tf.Tensor4D; targets: tf.Tensor2D };
  /** Evaluation batch → normalised full-size input. */
  eval(batch: HostBatch): tf.Tensor4D;
}

/** A labelled evaluation set, already in memory. */
export interface EvalSet {
  readonly count: number;
  /** Batch `index` of size ≤ `batchSize`, unaugmented. */
  batch(index: number, batchSize: number): HostBatch;
}

/** Everything {@link train} needs besides settings. */
export interface TrainerParts {
  readonly model: Model;
  readonly numClasses: number;
  /** Full image side H (evaluation size). */
  readonly imageSize: number;
  readonly curriculum: CurriculumPlan;
  readonly trainBatches: BatchSource;
  readonly pipeline: TensorPipeline;
  readonly testSet: EvalSet;
}

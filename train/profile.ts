/**
 * A short measurement of the training step at each input side a curriculum uses, so the cost
 * model can predict wall time (and the speedup) on this backend before the run.
 *
 * Two measurements: {@link measureStepTimes} times forward and backward of a random batch (the
 * backend race's probe, where only the model matters), and {@link measureTrainingStepTimes}
 * times the run's whole step, from its own loader through its tensor pipeline, forward,
 * backward and AdamW. The cost model uses the second: on the Imagenette runs of record the
 * first left out a cost of 0.04–0.25 s per step that every side pays (the pipeline, the
 * optimizer, the loader's augmentation on the shared cores), and so over-predicted every
 * curriculum's speedup (`bench/experiments/step_gap.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Model } from "@efficienttrain/core";
import type { StepTimeProfile } from "@efficienttrain/curricula";
import { assertGradientsRegistered } from "./errors.ts";
import { softTargetCrossEntropy } from "./loss.ts";
import { ModelEma } from "./ema.ts";
import { createOptimizer } from "./optimizer.ts";
import type { BatchSource, HostBatch, StagePoint, TensorPipeline } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";
import { Stepper } from "./step.ts";

/** Options of {@link measureStepProfile}. */
export interface ProfileOptions {
  readonly batchSize: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Timed rounds (one step per size each, after a warm-up round); default 5. */
  readonly steps?: number;
}

/** Step times per size: the fastest (what the cost model uses), the median, every sample. */
export interface StepTimes {
  /** Seconds per image, fastest round. */
  readonly min: StepTimeProfile;
  /** Seconds per image, median round. */
  readonly median: StepTimeProfile;
  /** Seconds per image of every timed round, by size. */
  readonly samples: Readonly<Record<number, readonly number[]>>;
}

/**
 * Seconds per image of forward + backward at each side (weights untouched; the model's input
 * size is restored afterwards). Rounds interleave the sizes, in a rotated order each round,
 * so a slow moment on a shared machine lands on every size rather than on one.
 *
 * @example
 * ```ts ignore
 * const times = await measureStepTimes(model, [20, 24, 28], { batchSize: 128, channels: 1, numClasses: 10 });
 * ```
 */
export async function measureStepTimes(
  model: Model,
  sizes: readonly number[],
  options: ProfileOptions,
): Promise<StepTimes> {
  assertGradientsRegistered();
  const rounds = options.steps ?? 5;
  const ordered = [...new Set(sizes)].sort((a, b) => a - b);
  const samples = await keepingModel(model, async () => {
    // the same targets serve every size
    const classes = Array.from({ length: options.batchSize }, (_, i) => i % options.numClasses);
    const y = tf.tidy(() =>
      tf.cast(
        tf.oneHot(tf.tensor1d(classes, "int32"), options.numClasses),
        "float32",
      ) as tf.Tensor2D
    );
    const step = async (size: number): Promise<number> => {
      if (size !== model.inputSize) model.setInputSize(size);
      const params = [...model.params.values()];
      const x = tf.randomNormal([options.batchSize, size, size, options.channels]) as tf.Tensor4D;
      const start = performance.now();
      const { value, grads } = tf.variableGrads(
        () => softTargetCrossEntropy(model.forward(x, { training: true, seed: 1 }), y),
        params,
      );
      // the read waits for the step to finish (an async read: tfjs-webgpu has no sync one)
      await value.data();
      const seconds = (performance.now() - start) / 1000;
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      x.dispose();
      return seconds / options.batchSize;
    };
    try {
      return await interleaved(ordered, rounds, step);
    } finally {
      y.dispose();
    }
  });
  return summarise(samples);
}

/** The run's parts {@link measureTrainingStepTimes} times. */
export interface TrainingStepParts {
  readonly model: Model;
  /** The run's loader: each side's steps draw its batches at that side's magnitude. */
  readonly batches: BatchSource;
  readonly pipeline: TensorPipeline;
  /** One stage per side to time (its side, magnitude and crop), in any order. */
  readonly stages: readonly StagePoint[];
  readonly settings:
    & Pick<TrainSettings, "seed" | "clipGrad" | "lr" | "weightDecay">
    & Partial<Pick<TrainSettings, "accumulate" | "ema" | "emaDecay" | "optimizer" | "momentum">>;
}

/**
 * Seconds per image of the run's whole training step at each stage's side: the next batch
 * from the run's loader (at the stage's magnitude, its workers running as they will in the
 * run), the tensor pipeline (normalisation, the stage's crop, targets), forward, backward, the
 * loss read, and per optimizer step the optimizer update on scratch slots and, when the run keeps
 * one, the EMA update on scratch copies. One timed sample is a whole optimizer step: its
 * `accumulate` micro-batches and their one update, so accumulation's saving on the optimizer
 * is priced as the run pays it. Rounds interleave the sides as in {@link measureStepTimes};
 * the weights, buffers and input size are restored afterwards, and the batches drawn are
 * those of epoch 0 (and on, for a split of fewer batches), which the run draws again (the
 * loader's batches depend on the epoch, the index and the magnitude only).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs"; // the cpu backend and the gradients
 * import { measureTrainingStepTimes } from "@efficienttrain/train";
 * import { syntheticParts } from "@efficienttrain/train/testing";
 * await tf.setBackend("cpu");
 * const parts = syntheticParts({ seed: 0, epochs: 2, small: 6 });
 * const stages = [parts.curriculum.stageAt(0), parts.curriculum.stageAt(1.5)];
 * const times = await measureTrainingStepTimes(
 *   { ...parts, batches: parts.trainBatches, stages, settings: { seed: 0, clipGrad: 0, lr: 1e-3, weightDecay: 0.05 } },
 *   { rounds: 2 },
 * );
 * console.assert(times.samples[6].length === 2 && times.min[12] > 0);
 * parts.model.dispose();
 * ```
 */
export async function measureTrainingStepTimes(
  parts: TrainingStepParts,
  options: { readonly rounds?: number } = {},
): Promise<StepTimes> {
  assertGradientsRegistered();
  const { model, settings } = parts;
  const rounds = options.rounds ?? 5;
  const accumulate = settings.accumulate ?? 1;
  const bySide = new Map<number, StagePoint>();
  for (const stage of parts.stages) {
    if (!bySide.has(stage.imageSize)) bySide.set(stage.imageSize, stage);
  }
  const ordered = [...bySide.keys()].sort((a, b) => a - b);
  const samples = await keepingModel(model, async () => {
    // One lane per side: its own batch stream, and its own optimizer and EMA so that a side's
    // moments and averages keep their shapes (position tables change shape with the side).
    const lanes = new Map(ordered.map((side) => {
      const stage = bySide.get(side)!;
      if (model.inputSize !== side) model.setInputSize(side);
      const optimizer = createOptimizer(settings.optimizer ?? "adamw", {
        weightDecay: settings.weightDecay,
        momentum: settings.momentum,
        noWeightDecay: (name) => model.noWeightDecay(name),
      });
      const everything = () => new Map([...model.params, ...model.buffers]);
      const ema = settings.ema
        ? new ModelEma(everything(), { decay: settings.emaDecay ?? 0.999 })
        : undefined;
      const stepper = new Stepper({
        model,
        pipeline: parts.pipeline,
        optimizer,
        afterOptimizerStep: () => ema?.update(everything()),
        settings: { seed: settings.seed, clipGrad: settings.clipGrad, accumulate },
      });
      const open = (epoch: number) =>
        parts.batches.batches(epoch, { startBatch: 0, magnitude: stage.magnitude });
      return [side, { stage, optimizer, ema, stepper, open, epoch: 0, stream: open(0) }];
    }));
    let globalStep = 0;
    const step = async (side: number): Promise<number> => {
      const lane = lanes.get(side)!;
      if (model.inputSize !== side) model.setInputSize(side);
      lane.stepper.refreshParams();
      const start = performance.now();
      let images = 0;
      for (let micro = 0; micro < accumulate; micro++) {
        let next = await lane.stream.next();
        if (next.done) {
          // a split of fewer batches than the profile takes: on into the next epoch
          lane.stream = lane.open(++lane.epoch);
          next = await lane.stream.next();
          if (next.done) throw new Error(`step profile: the loader has no batches (side ${side})`);
        }
        const batch: HostBatch = next.value;
        images += batch.n;
        await lane.stepper.microStep(batch, lane.stage, globalStep++, settings.lr);
      }
      await settled(model, lane.ema);
      return (performance.now() - start) / 1000 / images;
    };
    try {
      return await interleaved(ordered, rounds, step);
    } finally {
      for (const lane of lanes.values()) {
        await lane.stream.return?.(undefined);
        lane.stepper.dispose();
        lane.optimizer.dispose();
        lane.ema?.dispose();
      }
    }
  });
  return summarise(samples);
}

/**
 * Wait for every queued kernel (the optimizer's and the EMA's included): read one element of
 * the last weight each of them wrote.
 */
async function settled(model: Model, ema?: ModelEma): Promise<void> {
  const last = <T>(values: Iterable<T>): T | undefined => [...values].at(-1);
  const written = [last(model.params.values()), ema && last(ema.weights.values())];
  for (const weight of written) {
    if (weight === undefined) continue;
    const one = tf.tidy(() => tf.slice(tf.reshape(weight, [-1]), 0, 1));
    try {
      await one.data();
    } finally {
      one.dispose();
    }
  }
}

/**
 * Run `body`, then put back the model's input size, weights and buffers as they were.
 * Weights whose shape depends on the side (position tables) are restored at the original size.
 */
async function keepingModel<T>(model: Model, body: () => Promise<T>): Promise<T> {
  const original = model.inputSize;
  const snapshot = new Map([...model.params].map(([k, v]) => [k, tf.clone(v)]));
  const buffers = new Map([...model.buffers].map(([k, v]) => [k, tf.clone(v)]));
  try {
    return await body();
  } finally {
    if (model.inputSize !== original) model.setInputSize(original);
    for (const [k, t] of snapshot) {
      const p = model.params.get(k)!;
      if (p.shape.join() === t.shape.join()) p.assign(t);
      t.dispose();
    }
    for (const [k, t] of buffers) {
      model.buffers.get(k)!.assign(t);
      t.dispose();
    }
  }
}

/**
 * One untimed warm-up step per side (kernel primitives, buffer pools and JIT are built on
 * first use and would otherwise be charged to whichever side came first), then `rounds`
 * timed rounds over every side, each round in a rotated order so a slow moment on a shared
 * machine lands on every side rather than on one.
 */
async function interleaved(
  sides: readonly number[],
  rounds: number,
  step: (side: number) => Promise<number>,
): Promise<Record<number, number[]>> {
  const samples: Record<number, number[]> = {};
  for (const side of sides) await step(side);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + r) % sides.length];
      (samples[side] ??= []).push(await step(side));
    }
  }
  return samples;
}

function summarise(samples: Record<number, number[]>): StepTimes {
  const min: Record<number, number> = {}, median: Record<number, number> = {};
  for (const [size, xs] of Object.entries(samples)) {
    const sorted = [...xs].sort((a, b) => a - b);
    // the fastest step: other processes on a shared machine only ever add time
    min[Number(size)] = sorted[0];
    median[Number(size)] = sorted[Math.floor(sorted.length / 2)];
  }
  return { min, median, samples };
}

/**
 * The fastest seconds per image at each side ({@link measureStepTimes}' `min`).
 *
 * @example
 * ```ts ignore
 * const profile = await measureStepProfile(model, [20, 24, 28], { batchSize: 128, channels: 1, numClasses: 10 });
 * ```
 */
export async function measureStepProfile(
  model: Model,
  sizes: readonly number[],
  options: ProfileOptions,
): Promise<StepTimeProfile> {
  return (await measureStepTimes(model, sizes, options)).min;
}

/**
 * A short measurement of the training step at each input side a curriculum uses, so the cost
 * model can predict wall time (and the speedup) on this backend before the run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Model } from "@efficienttrain/core";
import type { StepTimeProfile } from "@efficienttrain/curricula";
import { assertGradientsRegistered } from "./errors.ts";
import { softTargetCrossEntropy } from "./loss.ts";

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
  const original = model.inputSize;
  const snapshot = new Map([...model.params].map(([k, v]) => [k, tf.clone(v)]));
  const buffers = new Map([...model.buffers].map(([k, v]) => [k, tf.clone(v)]));
  const samples: Record<number, number[]> = {};
  let targets: tf.Tensor2D | undefined;
  try {
    const ordered = [...new Set(sizes)].sort((a, b) => a - b);
    // the same targets serve every size
    const classes = Array.from({ length: options.batchSize }, (_, i) => i % options.numClasses);
    targets = tf.tidy(() =>
      tf.cast(
        tf.oneHot(tf.tensor1d(classes, "int32"), options.numClasses),
        "float32",
      ) as tf.Tensor2D
    );
    const y = targets;
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
    // The first round only warms up every size (kernel primitives, buffer pools and JIT are
    // built on first use and would otherwise be charged to whichever size came first).
    for (const size of ordered) await step(size);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < ordered.length; i++) {
        const size = ordered[(i + r) % ordered.length];
        (samples[size] ??= []).push(await step(size));
      }
    }
  } finally {
    targets?.dispose();
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

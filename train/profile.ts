/**
 * A short measurement of the training step at each input side a curriculum uses, so the cost
 * model can predict wall time (and the speedup) on this backend before the run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs";
import type { Model, StepTimeProfile } from "@efficienttrain/core";
import { softTargetCrossEntropy } from "./loss.ts";

/** Options of {@link measureStepProfile}. */
export interface ProfileOptions {
  readonly batchSize: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Timed steps per size (after a warm-up pass over every size); the fastest one counts. */
  readonly steps?: number;
}

/**
 * Seconds per image of forward + backward at each side (weights untouched; the model's input
 * size is restored afterwards).
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
  const steps = options.steps ?? 2;
  const original = model.inputSize;
  const snapshot = new Map([...model.params].map(([k, v]) => [k, tf.clone(v)]));
  const buffers = new Map([...model.buffers].map(([k, v]) => [k, tf.clone(v)]));
  const profile: Record<number, number> = {};
  let targets: tf.Tensor2D | undefined;
  try {
    const ordered = [...new Set(sizes)].sort((a, b) => a - b);
    // the same targets serve every size
    const classes = Array.from({ length: options.batchSize }, (_, i) => i % options.numClasses);
    targets = tf.tidy(() =>
      tf.oneHot(tf.tensor1d(classes, "int32"), options.numClasses).cast("float32") as tf.Tensor2D
    );
    const y = targets;
    // Two passes: the first only warms up every size (kernel primitives, buffer pools and JIT
    // are built on first use and would otherwise be charged to whichever size came first).
    for (const timed of [false, true]) {
      for (const size of ordered) {
        if (size !== model.inputSize) model.setInputSize(size);
        const params = [...model.params.values()];
        const x = tf.randomNormal([options.batchSize, size, size, options.channels]) as tf.Tensor4D;
        const run = async () => {
          const { value, grads } = tf.variableGrads(
            () => softTargetCrossEntropy(model.forward(x, { training: true, seed: 1 }), y),
            params,
          );
          // the read waits for the step to finish (an async read: tfjs-webgpu has no sync one)
          await value.data();
          value.dispose();
          for (const g of Object.values(grads)) g.dispose();
        };
        if (!timed) {
          await run();
        } else {
          let best = Infinity;
          for (let i = 0; i < steps; i++) {
            const start = performance.now();
            await run();
            best = Math.min(best, performance.now() - start);
          }
          // the fastest step: other processes on a shared machine only ever add time
          profile[size] = best / 1000 / options.batchSize;
        }
        x.dispose();
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
  return profile;
}

/**
 * One micro-step of training and the optimizer step it completes: the tensor pipeline, the
 * forward and backward pass, an asynchronous read of the loss (every step, or batched every few
 * steps so a GPU can run ahead of the host), gradient accumulation over
 * `settings.accumulate` micro-batches, optional clipping to a global norm and the optimizer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Model, Rng } from "@efficienttrain/core";
import type { Optimizer } from "./optimizer.ts";
import { softTargetCrossEntropy } from "./loss.ts";
import type { HostBatch, StagePoint, TensorPipeline } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";
import { OutOfMemoryError } from "./errors.ts";

/** What a {@link Stepper} works on: the model, its optimizer, and the recipe. */
export interface StepperParts {
  readonly model: Model;
  readonly pipeline: TensorPipeline;
  readonly optimizer: Optimizer;
  /** Called after every optimizer step (the trainer updates its EMA there). */
  readonly afterOptimizerStep?: () => void;
  readonly settings: Pick<TrainSettings, "seed" | "accumulate" | "clipGrad">;
}

/**
 * Runs micro-steps and, every `accumulate` of them, the optimizer step.
 *
 * @example
 * ```ts ignore
 * const stepper = new Stepper(parts);
 * const loss = await stepper.microStep(batch, stage, step, learningRate);
 * ```
 */
export class Stepper {
  readonly #parts: StepperParts;
  #paramList: tf.Variable[] = [];
  #nameOf = new Map<string, string>();
  #accumulated: Map<string, tf.Tensor> | undefined;
  #accumulatedCount = 0;
  /** Losses of micro-steps not read back yet (oldest first). */
  #unread: tf.Scalar[] = [];

  /** A stepper for `parts`; its parameter list is read from the model now. */
  constructor(parts: StepperParts) {
    this.#parts = parts;
    this.refreshParams();
  }

  /**
   * Re-read the model's parameters. `setInputSize` replaces variables whose shape changes
   * (position tables), so the list handed to `variableGrads` is rebuilt at every stage
   * change: a stale, disposed variable would be skipped silently and stop training.
   */
  refreshParams(): void {
    const { model } = this.#parts;
    this.#paramList = [...model.params.values()];
    this.#nameOf = new Map([...model.params].map(([key, v]) => [v.name, key]));
  }

  /** True between optimizer steps (no micro-batch gradient pending): a checkpoint is safe. */
  get atOptimizerStep(): boolean {
    return this.#accumulatedCount === 0;
  }

  /**
   * One micro-batch: forward, backward and accumulation; the optimizer step at `lr` when it
   * completes an accumulation window (skipped when this step's loss was read and is not
   * finite). With `read` (the default) it resolves with the loss, NaN when any loss since the
   * last read was not finite; without, the loss stays on the device and it resolves with
   * `undefined`.
   */
  async microStep(
    batch: HostBatch,
    stage: StagePoint,
    globalStep: number,
    lr: number,
    read = true,
  ): Promise<number | undefined> {
    const { model, pipeline, settings } = this.#parts;
    const rng = new Rng(mixSeed(settings.seed, globalStep));
    let lossValue: number | undefined;
    try {
      const { value, grads } = tf.tidy(() => {
        const { images, targets } = pipeline.train(batch, { rng, stage });
        return tf.variableGrads(() => {
          const logits = model.forward(images, { training: true, seed: rng.nextUint32() });
          return softTargetCrossEntropy(logits, targets);
        }, this.#paramList);
      });
      // The only reads in a step are async (tfjs-webgpu cannot read synchronously under Deno);
      // nothing else runs meanwhile since the loop awaits each step.
      this.#unread.push(value as tf.Scalar);
      if (read) lossValue = await this.readLosses();
      this.#accumulate(grads);
    } catch (e) {
      if (isOutOfMemory(e)) {
        throw new OutOfMemoryError({ batchSize: batch.n, reason: String((e as Error).message) });
      }
      throw e;
    }
    this.#accumulatedCount++;
    if (
      this.#accumulatedCount === settings.accumulate &&
      (lossValue === undefined || Number.isFinite(lossValue))
    ) {
      await this.#optimizerStep(lr);
    }
    return lossValue;
  }

  /**
   * Read back every loss not read yet, in one transfer: the latest, or NaN when any was not
   * finite; `undefined` when none was pending.
   */
  async readLosses(): Promise<number | undefined> {
    const unread = this.#unread;
    this.#unread = [];
    if (unread.length === 0) return undefined;
    const all = unread.length === 1 ? unread[0] : tf.stack(unread);
    try {
      const values = await all.data();
      return values.every(Number.isFinite) ? values[values.length - 1] : NaN;
    } finally {
      if (all !== unread[0]) all.dispose();
      unread.forEach((t) => t.dispose());
    }
  }

  /** Drop a pending, incomplete accumulation window (the run ended inside one). */
  dispose(): void {
    this.#unread.forEach((t) => t.dispose());
    this.#unread = [];
    this.#accumulated?.forEach((t) => t.dispose());
    this.#accumulated = undefined;
    this.#accumulatedCount = 0;
  }

  #accumulate(grads: tf.NamedTensorMap): void {
    if (!this.#accumulated) {
      this.#accumulated = new Map();
      for (const [varName, g] of Object.entries(grads)) {
        this.#accumulated.set(this.#nameOf.get(varName)!, g);
      }
      return;
    }
    for (const [varName, g] of Object.entries(grads)) {
      const key = this.#nameOf.get(varName)!;
      const prev = this.#accumulated.get(key)!;
      this.#accumulated.set(key, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    }
  }

  async #optimizerStep(lr: number): Promise<void> {
    const { model, optimizer, settings } = this.#parts;
    const grads = this.#accumulated!;
    this.#accumulated = undefined;
    this.#accumulatedCount = 0;
    let scaled: Map<string, tf.Tensor> = grads;
    try {
      if (settings.accumulate > 1) {
        scaled = new Map([...grads].map(([k, g]) => [k, tf.div(g, settings.accumulate)]));
      }
      const clipScale = settings.clipGrad > 0
        ? await clipFactor(scaled, settings.clipGrad)
        : undefined;
      tf.tidy(() => {
        const clipped = clipScale === undefined
          ? scaled
          : new Map([...scaled].map(([k, g]) => [k, tf.mul(g, clipScale)]));
        optimizer.apply(model.params, clipped, lr);
      });
    } finally {
      if (scaled !== grads) scaled.forEach((g) => g.dispose());
      grads.forEach((g) => g.dispose());
    }
    this.#parts.afterOptimizerStep?.();
  }
}

/**
 * The factor that clips `grads` to global L2 norm `maxNorm`, or `undefined` when they are
 * within it (or the norm is not finite). The per-tensor squared sums are reduced on the
 * device and come back in one async read; their float64 sum on the host keeps the result
 * bit-identical to summing the float32 partials one read at a time.
 */
async function clipFactor(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): Promise<number | undefined> {
  if (grads.size === 0) return undefined;
  const partials = tf.tidy(() => tf.stack([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  let sums: Float32Array;
  try {
    sums = await partials.data() as Float32Array;
  } finally {
    partials.dispose();
  }
  const total = Math.sqrt(sums.reduce((acc, v) => acc + v, 0));
  if (total <= maxNorm || !Number.isFinite(total)) return undefined;
  return maxNorm / (total + 1e-6);
}

function mixSeed(seed: number, step: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2d);
  return (h ^ (h >>> 13)) >>> 0;
}

function isOutOfMemory(e: unknown): boolean {
  const text = String((e as Error)?.message ?? e).toLowerCase();
  return e instanceof RangeError && /array buffer|allocation|memory/.test(text) ||
    /out of memory|oom|cannot allocate/.test(text);
}

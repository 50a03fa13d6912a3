/**
 * Errors of a training run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { taggedError, type TaggedErrorClass } from "@efficienttrain/core";

type DivergedFields = { step: number; epoch: number; loss: number; checkpoint: string };
const DivergedBase: TaggedErrorClass<"TrainingDivergedError", DivergedFields> = taggedError(
  "TrainingDivergedError",
);

/**
 * The loss became NaN or infinite; the run stopped and kept its last good checkpoint.
 *
 * @example
 * ```ts
 * import { TrainingDivergedError } from "@efficienttrain/train";
 * const e = new TrainingDivergedError({ step: 7, epoch: 0.1, loss: NaN, checkpoint: "c.safetensors" });
 * console.assert(e.message.includes("step 7"));
 * ```
 */
export class TrainingDivergedError extends DivergedBase {
  /** Names the step and the checkpoint that survives. */
  override get message(): string {
    return `loss is ${this.loss} at step ${this.step} (epoch ${this.epoch.toFixed(3)}); ` +
      `stopped. Last good checkpoint: ${this.checkpoint || "none yet"}. ` +
      `Try a lower --lr or --clip-grad 1.`;
  }
}

type CheckpointFields = { path: string; reason: string };
const CheckpointBase: TaggedErrorClass<"CheckpointError", CheckpointFields> = taggedError(
  "CheckpointError",
);

/**
 * A checkpoint could not be read or does not match the run.
 *
 * @example
 * ```ts
 * import { CheckpointError } from "@efficienttrain/train";
 * console.assert(new CheckpointError({ path: "x", reason: "y" }).message === "x: y");
 * ```
 */
export class CheckpointError extends CheckpointBase {
  /** Names the checkpoint file. */
  override get message(): string {
    return `${this.path}: ${this.reason}`;
  }
}

type OomFields = { batchSize: number; reason: string };
const OomBase: TaggedErrorClass<"OutOfMemoryError", OomFields> = taggedError("OutOfMemoryError");

/**
 * The backend ran out of memory for the batch.
 *
 * @example
 * ```ts
 * import { OutOfMemoryError } from "@efficienttrain/train";
 * console.assert(new OutOfMemoryError({ batchSize: 512, reason: "x" }).message.includes("--accumulate"));
 * ```
 */
export class OutOfMemoryError extends OomBase {
  /** Suggests gradient accumulation. */
  override get message(): string {
    return `out of memory at batch size ${this.batchSize} (${this.reason}). Use a smaller ` +
      `--batch-size with --accumulate k to keep the effective batch ${this.batchSize}.`;
  }
}

type NoGradientsFields = { kernel: string };
const NoGradientsBase: TaggedErrorClass<"NoGradientsError", NoGradientsFields> = taggedError(
  "NoGradientsError",
);

/**
 * Training was asked of a tfjs without registered gradients. tfjs registers them as a side
 * effect of its union package, which `@efficienttrain/backend-tfjs` loads when it initialises
 * a backend; the trainer itself does not, so that importing it stays light.
 *
 * @example
 * ```ts
 * import { NoGradientsError } from "@efficienttrain/train";
 * console.assert(new NoGradientsError({ kernel: "Conv2D" }).message.includes("initBackend"));
 * ```
 */
export class NoGradientsError extends NoGradientsBase {
  /** Says how to get the gradients. */
  override get message(): string {
    return `tfjs has no gradient registered for ${this.kernel}: initialise a backend first ` +
      `(initBackend from @efficienttrain/backend-tfjs, or import "@tensorflow/tfjs")`;
  }
}

/**
 * Throw {@link NoGradientsError} unless tfjs has gradients registered (checked on a kernel
 * every model differentiates through).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs";
 * import { assertGradientsRegistered } from "@efficienttrain/train";
 * assertGradientsRegistered();
 * ```
 */
export function assertGradientsRegistered(): void {
  for (const kernel of ["Add", "Sum", "BatchMatMul"]) {
    if (tf.getGradient(kernel) === undefined) throw new NoGradientsError({ kernel });
  }
}

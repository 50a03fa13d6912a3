/**
 * Errors of a training run.
 *
 * @module
 */
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

/**
 * The loop's position and bookkeeping, and its round trip through a checkpoint: what
 * `train()` saves at every epoch end (and every few minutes), and what a resume restores
 * before the loop goes on from the same step with the same weights, optimizer moments, EMA
 * and clocks.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Model } from "@efficienttrain/core";
import { type Checkpoint, saveCheckpoint } from "./checkpoint.ts";
import { ModelEma } from "./ema.ts";
import type { Optimizer } from "./optimizer.ts";
import { CheckpointError } from "./errors.ts";
import type { EpochPoint } from "./trainer.ts";

/** Where the loop is and what it has measured so far. */
export interface LoopState {
  readonly step: number;
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  readonly dataWaitSeconds: number;
  readonly history: readonly EpochPoint[];
}

/**
 * The loop's running tally: its step and clocks, which a checkpoint saves and a resume starts
 * from. Every wait for the loader counts as training time too, so a loader that cannot keep
 * up shows in the training time.
 *
 * @example
 * ```ts
 * import { LoopTally } from "./loop_state.ts";
 * const tally = new LoopTally();
 * tally.addDataWait(0.5);
 * tally.addTraining(1.5);
 * console.log(tally.trainSeconds, tally.dataWaitSeconds); // 2 0.5
 * ```
 */
export class LoopTally implements LoopState {
  step = 0;
  trainSeconds = 0;
  evalSeconds = 0;
  dataWaitSeconds = 0;
  history: readonly EpochPoint[] = [];

  /** Continue from a checkpoint's state. */
  restore(state: LoopState): void {
    ({
      step: this.step,
      trainSeconds: this.trainSeconds,
      evalSeconds: this.evalSeconds,
      dataWaitSeconds: this.dataWaitSeconds,
    } = state);
    this.history = [...state.history];
  }

  /** Seconds spent waiting for a batch: training time, and data-wait time. */
  addDataWait(seconds: number): void {
    this.dataWaitSeconds += seconds;
    this.trainSeconds += seconds;
  }

  /** Seconds spent computing a step or changing stage. */
  addTraining(seconds: number): void {
    this.trainSeconds += seconds;
  }

  /** Seconds spent evaluating: wall time, not training time. */
  addEvaluation(seconds: number): void {
    this.evalSeconds += seconds;
  }

  /** Append the accuracy reached after an epoch. */
  addEpoch(point: EpochPoint): void {
    this.history = [...this.history, point];
  }

  /** A copy to save. */
  snapshot(): LoopState {
    return {
      step: this.step,
      trainSeconds: this.trainSeconds,
      evalSeconds: this.evalSeconds,
      dataWaitSeconds: this.dataWaitSeconds,
      history: this.history,
    };
  }
}

/** What a checkpoint must match to be resumed by this run. */
export interface RunIdentity {
  readonly seed: number;
  readonly curriculum: string;
  readonly totalMicroSteps: number;
}

/** The trained objects a checkpoint holds besides the loop state. */
export interface TrainedObjects {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly ema: ModelEma | undefined;
}

/**
 * Write the checkpoint of `objects` at `state` to `file` (atomically, checksummed; the
 * previous one is kept beside it).
 *
 * @example
 * ```ts ignore
 * await captureCheckpoint("runs/x/checkpoint.safetensors", { model, optimizer, ema }, state, identity);
 * ```
 */
export async function captureCheckpoint(
  file: string,
  objects: TrainedObjects,
  state: LoopState,
  identity: RunIdentity,
): Promise<void> {
  const { model, optimizer, ema } = objects;
  const opt = optimizer.state();
  try {
    await saveCheckpoint(file, {
      params: model.params,
      buffers: model.buffers,
      optimizer: opt,
      ema: ema?.weights,
      state: {
        step: state.step,
        optimizerStep: opt.step,
        inputSize: model.inputSize,
        trainSeconds: state.trainSeconds,
        evalSeconds: state.evalSeconds,
        dataWaitSeconds: state.dataWaitSeconds,
        history: state.history,
        model: model.name,
        seed: identity.seed,
        curriculum: identity.curriculum,
        totalMicroSteps: identity.totalMicroSteps,
      },
    });
  } finally {
    opt.tensors.forEach((t) => t.dispose());
  }
}

/**
 * Load `ckpt` (read from `file`) into `objects` and return the loop state it was taken at,
 * with the EMA to use from now on (the checkpoint's, when the run keeps one). Disposes the
 * checkpoint's tensors. A checkpoint of another model, seed or schedule length, or with a
 * missing or mis-shaped tensor, is a {@link CheckpointError} naming `file`.
 *
 * @example
 * ```ts ignore
 * const { state, ema } = restoreCheckpoint(await loadCheckpoint(file), file, objects, identity, 0.999);
 * ```
 */
export function restoreCheckpoint(
  ckpt: Checkpoint,
  file: string,
  objects: TrainedObjects,
  identity: RunIdentity,
  emaDecay: number,
): { state: LoopState; ema: ModelEma | undefined } {
  const { model, optimizer } = objects;
  let ema = objects.ema;
  const s = ckpt.state;
  if (
    s.model !== model.name || s.totalMicroSteps !== identity.totalMicroSteps ||
    s.seed !== identity.seed
  ) {
    throw new CheckpointError({
      path: file,
      reason: `checkpoint is for model ${s.model}, seed ${s.seed}, ${s.totalMicroSteps} steps; ` +
        `this run is ${model.name}, seed ${identity.seed}, ${identity.totalMicroSteps} steps`,
    });
  }
  try {
    if (s.inputSize !== model.inputSize) model.setInputSize(s.inputSize);
    assignAll(file, model.params, ckpt.params, "parameter");
    assignAll(file, model.buffers, ckpt.buffers, "buffer");
    optimizer.load({ step: s.optimizerStep, tensors: ckpt.optimizer });
    if (ema && ckpt.ema.size > 0) {
      ema.dispose();
      ema = new ModelEma(ckpt.ema, { decay: emaDecay });
    }
  } finally {
    for (
      const t of [
        ...ckpt.params.values(),
        ...ckpt.buffers.values(),
        ...ckpt.optimizer.values(),
        ...ckpt.ema.values(),
      ]
    ) {
      t.dispose();
    }
  }
  return {
    state: {
      step: s.step,
      trainSeconds: s.trainSeconds,
      evalSeconds: s.evalSeconds,
      dataWaitSeconds: s.dataWaitSeconds ?? 0,
      history: [...s.history],
    },
    ema,
  };
}

function assignAll(
  file: string,
  target: ReadonlyMap<string, tf.Variable>,
  source: ReadonlyMap<string, tf.Tensor>,
  what: string,
): void {
  for (const [name, variable] of target) {
    const t = source.get(name);
    if (!t) throw new CheckpointError({ path: file, reason: `missing ${what} ${name}` });
    if (t.shape.join("x") !== variable.shape.join("x")) {
      throw new CheckpointError({
        path: file,
        reason: `${what} ${name} has shape [${t.shape}], the model expects [${variable.shape}]`,
      });
    }
    variable.assign(t);
  }
}

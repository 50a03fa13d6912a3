/**
 * The training loop: plain tfjs steps driven by the curriculum, with checkpoints that make a
 * killed run resume to the identical result, evaluation at full resolution, and metrics.
 *
 * Determinism: every random choice of step `s` comes from `Rng(seed, s)`-derived streams and
 * the loader is deterministic per (seed, epoch, batch), so a resumed run replays exactly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { pathExists } from "@efficienttrain/core";
import { formatMagnitude } from "@efficienttrain/curricula";
import { createOptimizer } from "./optimizer.ts";
import { ModelEma } from "./ema.ts";
import { cosineLearningRate } from "./schedule.ts";
import { type EvalResult, evaluate, evaluateAtFullSize } from "./evaluate.ts";
import type { StagePoint, TrainerParts } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";
import { assertGradientsRegistered, TrainingDivergedError } from "./errors.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { captureCheckpoint, LoopTally, restoreCheckpoint, type RunIdentity } from "./loop_state.ts";
import { Stepper } from "./step.ts";
import type { ProgressDisplay } from "./progress.ts";

/** One line of `metrics.jsonl`. */
export type MetricRecord =
  & {
    readonly kind: "step" | "epoch" | "stage";
    readonly step: number;
    readonly epoch: number;
    readonly trainSeconds: number;
    readonly wallSeconds: number;
  }
  & Record<string, number | string | boolean>;

/** What a finished run reports. */
export interface TrainResult {
  readonly final: EvalResult;
  readonly finalEma?: EvalResult;
  readonly steps: number;
  readonly epochs: number;
  /**
   * Seconds of training: every step from the moment the loop asked for its batch to the end
   * of its update, so waits for the loader count and evaluation and checkpoints do not.
   */
  readonly trainSeconds: number;
  /**
   * The part of `trainSeconds` spent waiting for the loader: near 0 when augmentation keeps
   * up with the steps; large when a small stage makes the steps faster than the data.
   */
  readonly dataWaitSeconds: number;
  /** Seconds of the whole run including evaluation. */
  readonly wallSeconds: number;
  /** Per-epoch accuracy curve (for time-to-accuracy). */
  readonly history: readonly EpochPoint[];
  readonly resumedFromStep: number;
}

/** Accuracy after an epoch, with the time it took to get there. */
export interface EpochPoint {
  readonly epoch: number;
  readonly step: number;
  readonly top1: number;
  readonly top5: number;
  readonly loss: number;
  readonly trainSeconds: number;
}

/** Options of {@link train}. */
export interface TrainOptions {
  readonly settings: TrainSettings;
  /** Checkpoints go to `${runDir}/checkpoint.safetensors`. */
  readonly runDir: string;
  /** Continue from the checkpoint in `runDir` if there is one. */
  readonly resume?: boolean;
  /** The checkpoint to resume from (default `runDir`'s latest; a verified fallback). */
  readonly resumeFrom?: string;
  readonly progress?: ProgressDisplay;
  readonly log?: (line: string) => void;
  /** Receives every metrics record (the run directory appends them to metrics.jsonl). */
  readonly onMetric?: (record: MetricRecord) => void;
}

/** Path of the run's checkpoint. */
export function checkpointPath(runDir: string): string {
  return `${runDir}/checkpoint.safetensors`;
}

/**
 * Train `parts.model` under `parts.curriculum`. Resolves with the final evaluation.
 *
 * @example
 * ```ts ignore
 * const result = await train(parts, { settings, runDir: "runs/x" });
 * console.log(result.final.top1);
 * ```
 */
export async function train(parts: TrainerParts, options: TrainOptions): Promise<TrainResult> {
  assertGradientsRegistered();
  const { settings, runDir } = options;
  const { model, curriculum, trainBatches } = parts;
  const log = options.log ?? (() => {});
  const emit = options.onMetric ?? (() => {});
  const stepsPerEpoch = Math.ceil(trainBatches.batchesPerEpoch / settings.accumulate) *
    settings.accumulate;
  const totalMicroSteps = Math.max(1, Math.round(curriculum.totalEpochs * stepsPerEpoch));
  const ckptFile = checkpointPath(runDir);

  const optimizer = createOptimizer(settings.optimizer, {
    weightDecay: settings.weightDecay,
    momentum: settings.momentum,
    noWeightDecay: (name) => model.noWeightDecay(name),
  });
  const everything = (): Map<string, tf.Variable> => new Map([...model.params, ...model.buffers]);
  let ema = settings.ema ? new ModelEma(everything(), { decay: settings.emaDecay }) : undefined;

  const stepper = new Stepper({
    model,
    pipeline: parts.pipeline,
    optimizer,
    afterOptimizerStep: () => ema?.update(everything()),
    settings,
  });
  const identity: RunIdentity = {
    seed: settings.seed,
    curriculum: curriculum.name,
    totalMicroSteps,
  };

  const tally = new LoopTally();
  let resumedFromStep = 0;
  if (options.resume) {
    const from = options.resumeFrom ?? ckptFile;
    const ckpt = await loadCheckpoint(from).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    });
    if (ckpt) {
      const restored = restoreCheckpoint(
        ckpt,
        from,
        { model, optimizer, ema },
        identity,
        settings.emaDecay,
      );
      tally.restore(restored.state);
      ema = restored.ema;
      stepper.refreshParams();
      resumedFromStep = tally.step;
      log(
        `resumed from ${from} at step ${tally.step} ` +
          `(epoch ${(tally.step / stepsPerEpoch).toFixed(3)})`,
      );
    }
  }

  let stage: StagePoint = curriculum.stageAt(tally.step / stepsPerEpoch);
  applyStage(stage, true);
  let lastCheckpointAt = performance.now();
  let windowStart = performance.now(), windowImages = 0, lastLoss = NaN;
  const wallStart = performance.now() / 1000 - tally.trainSeconds - tally.evalSeconds;

  while (tally.step < totalMicroSteps) {
    const epoch = Math.floor(tally.step / stepsPerEpoch);
    const startBatch = tally.step - epoch * stepsPerEpoch;
    const iterator = trainBatches.batches(epoch, { startBatch, magnitude: stage.magnitude });
    let restartIterator = false;
    let ready = performance.now();
    try {
      for await (const batch of iterator) {
        const stepStart = performance.now();
        tally.addDataWait((stepStart - ready) / 1000);
        const epochFloat = tally.step / stepsPerEpoch;
        const next = curriculum.stageAt(epochFloat);
        if (next.index !== stage.index || next.imageSize !== stage.imageSize) {
          if (next.imageSize !== stage.imageSize) releasePooledBuffers();
          stage = next;
          applyStage(stage, false);
          tally.addTraining((performance.now() - stepStart) / 1000);
          // The loader augments ahead; restart it here so the new magnitude starts exactly at
          // this batch, as it will after a resume.
          restartIterator = true;
          break;
        }
        // Metric lines and epoch ends need the loss; between them it may stay on the device.
        const after = tally.step + 1;
        const read = after % settings.lossReadEvery === 0 || after % settings.logEverySteps === 0 ||
          after % stepsPerEpoch === 0 || after === totalMicroSteps;
        const loss = await stepper.microStep(
          batch,
          stage,
          tally.step,
          learningRate(epochFloat),
          read,
        );
        if (loss !== undefined) await checkLoss(loss);
        tally.step++;
        tally.addTraining((performance.now() - stepStart) / 1000);
        windowImages += batch.n;
        if (tally.step % settings.logEverySteps === 0 || tally.step === totalMicroSteps) {
          const now = performance.now();
          const ips = windowImages / ((now - windowStart) / 1000);
          windowStart = now;
          windowImages = 0;
          const lr = learningRate(tally.step / stepsPerEpoch);
          emit(
            record("step", {
              loss: lastLoss,
              lr,
              imageSize: stage.imageSize,
              magnitude: stage.magnitude,
              imagesPerSecond: ips,
              stage: stage.index,
            }),
          );
          options.progress?.update({
            epoch: Math.min(epoch + 1, Math.ceil(curriculum.totalEpochs)),
            epochs: Math.ceil(curriculum.totalEpochs),
            stage: stage.index + 1,
            stages: curriculum.stageCount,
            imageSize: stage.imageSize,
            magnitude: stage.magnitude,
            loss: lastLoss,
            imagesPerSecond: ips,
            fraction: tally.step / totalMicroSteps,
            etaSeconds: (tally.trainSeconds / Math.max(1, tally.step - resumedFromStep)) *
              (totalMicroSteps - tally.step),
          });
        }
        const endOfEpoch = tally.step % stepsPerEpoch === 0 || tally.step === totalMicroSteps;
        if (endOfEpoch) {
          await endEpoch(tally.step / stepsPerEpoch);
        } else if (
          (settings.checkpointSteps > 0 && tally.step % settings.checkpointSteps === 0) ||
          (settings.checkpointMinutes > 0 &&
            performance.now() - lastCheckpointAt > settings.checkpointMinutes * 60_000)
        ) {
          await checkpoint();
        }
        if (tally.step >= totalMicroSteps || endOfEpoch) break;
        ready = performance.now();
      }
    } finally {
      await iterator.return?.();
    }
    if (!restartIterator && tally.step % stepsPerEpoch !== 0 && tally.step < totalMicroSteps) {
      throw new Error(`loader ended early at step ${tally.step} of epoch ${epoch}`);
    }
  }
  stepper.dispose();

  const last = tally.history.at(-1);
  const final = last?.step === tally.step ? last : undefined;
  const finalEval = final
    ? { top1: final.top1, top5: final.top5, loss: final.loss, count: parts.testSet.count }
    : await timedEval();
  const finalEma = ema
    ? await ema.withWeights(everything(), () => evaluate(parts, settings))
    : undefined;
  ema?.dispose();
  optimizer.dispose();
  return {
    final: finalEval,
    finalEma,
    steps: tally.step,
    epochs: tally.step / stepsPerEpoch,
    trainSeconds: tally.trainSeconds,
    dataWaitSeconds: tally.dataWaitSeconds,
    wallSeconds: performance.now() / 1000 - wallStart,
    history: tally.history,
    resumedFromStep,
  };

  function learningRate(epochFloat: number): number {
    return cosineLearningRate(curriculum.lrProgress(epochFloat), {
      baseLr: settings.lr,
      minLr: settings.minLr,
      warmupFraction: Math.min(1, settings.warmupEpochs / curriculum.totalEpochs),
    });
  }

  function record(
    kind: MetricRecord["kind"],
    values: Record<string, number | string | boolean>,
  ): MetricRecord {
    return {
      kind,
      step: tally.step,
      epoch: tally.step / stepsPerEpoch,
      trainSeconds: tally.trainSeconds,
      wallSeconds: performance.now() / 1000 - wallStart,
      ...values,
    };
  }

  function applyStage(s: StagePoint, initial: boolean): void {
    const size = model.nearestInputSize(s.imageSize);
    if (size !== model.inputSize) {
      const transforms = model.setInputSize(size);
      optimizer.resample(transforms);
      ema?.resample(transforms);
      stepper.refreshParams();
    }
    if (!initial) {
      log(
        `stage ${s.index + 1}/${curriculum.stageCount} at epoch ${
          (tally.step / stepsPerEpoch).toFixed(2)
        }: ` +
          `B=${s.imageSize} m=${formatMagnitude(s.magnitude)} crop=${s.cropMethod}`,
      );
      emit(
        record("stage", {
          stage: s.index,
          imageSize: s.imageSize,
          magnitude: s.magnitude,
          cropMethod: s.cropMethod,
        }),
      );
    }
  }

  async function timedEval(): Promise<EvalResult> {
    const start = performance.now();
    const result = await evaluateAtFullSize(parts, settings, () => stepper.refreshParams());
    tally.addEvaluation((performance.now() - start) / 1000);
    return result;
  }

  async function endEpoch(epochFloat: number): Promise<void> {
    const result = await timedEval();
    const point: EpochPoint = {
      epoch: epochFloat,
      step: tally.step,
      top1: result.top1,
      top5: result.top5,
      loss: result.loss,
      trainSeconds: tally.trainSeconds,
    };
    tally.addEpoch(point);
    emit(record("epoch", {
      top1: result.top1,
      top5: result.top5,
      testLoss: result.loss,
      trainLoss: lastLoss,
      dataWaitSeconds: tally.dataWaitSeconds,
      imageSize: stage.imageSize,
      magnitude: stage.magnitude,
      numTensors: tf.memory().numTensors,
    }));
    options.progress?.log(
      `epoch ${epochFloat.toFixed(2)}: top-1 ${(result.top1 * 100).toFixed(2)}% ` +
        `top-5 ${(result.top5 * 100).toFixed(2)}% test loss ${result.loss.toFixed(4)} ` +
        `(train ${tally.trainSeconds.toFixed(1)} s, ${
          tally.dataWaitSeconds.toFixed(1)
        } s of it waiting for data)`,
    );
    await checkpoint();
  }

  /** Record a loss read back; a non-finite one ends the run (before anything is saved). */
  async function checkLoss(loss: number): Promise<void> {
    lastLoss = loss;
    if (Number.isFinite(loss)) return;
    throw new TrainingDivergedError({
      step: tally.step,
      epoch: tally.step / stepsPerEpoch,
      loss,
      checkpoint: await pathExists(ckptFile) ? ckptFile : "",
    });
  }

  async function checkpoint(): Promise<void> {
    lastCheckpointAt = performance.now();
    if (!stepper.atOptimizerStep) return; // only between optimizer steps
    // never save weights a loss not yet read back might show to have diverged
    const unread = await stepper.readLosses();
    if (unread !== undefined) await checkLoss(unread);
    await captureCheckpoint(
      ckptFile,
      { model, optimizer, ema },
      tally.snapshot(),
      identity,
    );
  }
}

/**
 * A new input side gives every activation a new length, and the native backend's pool of output
 * buffers would keep the old side's buffers at its cap until they go unrequested for 50,000
 * allocations (Swin-micro at 128 px asks for ~540 a step: ~90 steps), each new-side output a
 * fresh allocation until then. Measured on Swin-micro's first 128-px epoch after 96 px: 54.3 s
 * with the pool kept, 38.3 s with it dropped, same top-1 at every epoch (bench/results/imagenette,
 * "the first epoch at a new side"). Backends without a pool have nothing to drop.
 */
function releasePooledBuffers(): void {
  (tf.backend() as { releasePooled?: () => number }).releasePooled?.();
}

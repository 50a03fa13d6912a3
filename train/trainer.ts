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
// tfjs-core registers no gradients; the union package registers them all by side effect.
import "@tensorflow/tfjs";
import { pathExists, Rng } from "@efficienttrain/core";
import { AdamW } from "./optimizer.ts";
import { ModelEma } from "./ema.ts";
import { cosineLearningRate } from "./schedule.ts";
import { softTargetCrossEntropy, topKCounts } from "./loss.ts";
import type { HostBatch, StagePoint, TrainerParts } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";
import { CheckpointError, OutOfMemoryError, TrainingDivergedError } from "./errors.ts";
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { ProgressDisplay } from "./progress.ts";

/** Evaluation result over a test set. */
export interface EvalResult {
  readonly top1: number;
  readonly top5: number;
  readonly loss: number;
  readonly count: number;
}

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
  const { settings, runDir } = options;
  const { model, curriculum, trainBatches } = parts;
  const log = options.log ?? (() => {});
  const emit = options.onMetric ?? (() => {});
  const stepsPerEpoch = Math.ceil(trainBatches.batchesPerEpoch / settings.accumulate) *
    settings.accumulate;
  const totalMicroSteps = Math.max(1, Math.round(curriculum.totalEpochs * stepsPerEpoch));
  const ckptFile = checkpointPath(runDir);

  const optimizer = new AdamW({
    weightDecay: settings.weightDecay,
    noWeightDecay: (name) => model.noWeightDecay(name),
  });
  const everything = (): Map<string, tf.Variable> => new Map([...model.params, ...model.buffers]);
  let ema = settings.ema ? new ModelEma(everything(), { decay: settings.emaDecay }) : undefined;

  // setInputSize replaces variables whose shape changes (position tables), so the list handed
  // to variableGrads is rebuilt at every stage change: a stale, disposed variable would be
  // skipped silently and stop training.
  let paramList: tf.Variable[] = [];
  let nameOf = new Map<string, string>();
  const refreshParams = () => {
    paramList = [...model.params.values()];
    nameOf = new Map([...model.params].map(([key, v]) => [v.name, key]));
  };
  refreshParams();

  let step = 0, trainSeconds = 0, evalSeconds = 0, dataWaitSeconds = 0;
  let history: EpochPoint[] = [];
  let resumedFromStep = 0;
  if (options.resume) {
    const from = options.resumeFrom ?? ckptFile;
    const ckpt = await loadCheckpoint(from).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    });
    if (ckpt) {
      restore(ckpt);
      resumedFromStep = step;
      log(`resumed from ${from} at step ${step} (epoch ${(step / stepsPerEpoch).toFixed(3)})`);
    }
  }

  let stage: StagePoint = curriculum.stageAt(step / stepsPerEpoch);
  applyStage(stage, true);
  let lastCheckpointAt = performance.now();
  let windowStart = performance.now(), windowImages = 0, lastLoss = NaN;
  let accumulated: Map<string, tf.Tensor> | undefined;
  let accumulatedCount = 0;
  const wallStart = performance.now() / 1000 - trainSeconds - evalSeconds;

  while (step < totalMicroSteps) {
    const epoch = Math.floor(step / stepsPerEpoch);
    const startBatch = step - epoch * stepsPerEpoch;
    const iterator = trainBatches.batches(epoch, { startBatch, magnitude: stage.magnitude });
    let restartIterator = false;
    let ready = performance.now();
    try {
      for await (const batch of iterator) {
        const stepStart = performance.now();
        dataWaitSeconds += (stepStart - ready) / 1000;
        const epochFloat = step / stepsPerEpoch;
        const next = curriculum.stageAt(epochFloat);
        if (next.index !== stage.index || next.imageSize !== stage.imageSize) {
          stage = next;
          applyStage(stage, false);
          // The loader augments ahead; restart it here so the new magnitude starts exactly at
          // this batch, as it will after a resume.
          restartIterator = true;
          break;
        }
        const loss = await microStep(batch, stage, step);
        lastLoss = loss;
        if (!Number.isFinite(loss)) {
          throw new TrainingDivergedError({
            step,
            epoch: epochFloat,
            loss,
            checkpoint: await pathExists(ckptFile) ? ckptFile : "",
          });
        }
        step++;
        trainSeconds += (performance.now() - ready) / 1000;
        windowImages += batch.n;
        if (step % settings.logEverySteps === 0 || step === totalMicroSteps) {
          const now = performance.now();
          const ips = windowImages / ((now - windowStart) / 1000);
          windowStart = now;
          windowImages = 0;
          const lr = learningRate(step / stepsPerEpoch);
          emit(
            record("step", {
              loss,
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
            loss,
            imagesPerSecond: ips,
            fraction: step / totalMicroSteps,
            etaSeconds: (trainSeconds / Math.max(1, step - resumedFromStep)) *
              (totalMicroSteps - step),
          });
        }
        const endOfEpoch = step % stepsPerEpoch === 0 || step === totalMicroSteps;
        if (endOfEpoch) {
          await endEpoch(step / stepsPerEpoch);
        } else if (
          (settings.checkpointSteps > 0 && step % settings.checkpointSteps === 0) ||
          (settings.checkpointMinutes > 0 &&
            performance.now() - lastCheckpointAt > settings.checkpointMinutes * 60_000)
        ) {
          await checkpoint();
        }
        if (step >= totalMicroSteps || endOfEpoch) break;
        ready = performance.now();
      }
    } finally {
      await iterator.return?.();
    }
    if (!restartIterator && step % stepsPerEpoch !== 0 && step < totalMicroSteps) {
      throw new Error(`loader ended early at step ${step} of epoch ${epoch}`);
    }
  }
  accumulated?.forEach((t) => t.dispose());

  const final = history.length > 0 && history[history.length - 1].step === step
    ? history[history.length - 1]
    : undefined;
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
    steps: step,
    epochs: step / stepsPerEpoch,
    trainSeconds,
    dataWaitSeconds,
    wallSeconds: performance.now() / 1000 - wallStart,
    history,
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
      step,
      epoch: step / stepsPerEpoch,
      trainSeconds,
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
      refreshParams();
    }
    if (!initial) {
      log(
        `stage ${s.index + 1}/${curriculum.stageCount} at epoch ${
          (step / stepsPerEpoch).toFixed(2)
        }: ` +
          `B=${s.imageSize} m=${s.magnitude} crop=${s.cropMethod}`,
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

  async function microStep(batch: HostBatch, s: StagePoint, globalStep: number): Promise<number> {
    const rng = new Rng(mixSeed(settings.seed, globalStep));
    let lossValue = NaN;
    try {
      const { value, grads } = tf.tidy(() => {
        const { images, targets } = parts.pipeline.train(batch, { rng, stage: s });
        return tf.variableGrads(() => {
          const logits = model.forward(images, { training: true, seed: rng.nextUint32() });
          return softTargetCrossEntropy(logits, targets);
        }, paramList);
      });
      // The only reads in a step are async (tfjs-webgpu cannot read synchronously under Deno);
      // nothing else runs meanwhile since the loop awaits each step.
      try {
        lossValue = (await value.data())[0];
      } finally {
        value.dispose();
      }
      if (!accumulated) {
        accumulated = new Map();
        for (const [varName, g] of Object.entries(grads)) accumulated.set(nameOf.get(varName)!, g);
      } else {
        for (const [varName, g] of Object.entries(grads)) {
          const key = nameOf.get(varName)!;
          const prev = accumulated.get(key)!;
          accumulated.set(key, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        }
      }
    } catch (e) {
      if (isOutOfMemory(e)) {
        throw new OutOfMemoryError({ batchSize: batch.n, reason: String((e as Error).message) });
      }
      throw e;
    }
    accumulatedCount++;
    if (accumulatedCount === settings.accumulate && Number.isFinite(lossValue)) {
      const grads = accumulated!;
      accumulated = undefined;
      accumulatedCount = 0;
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
          optimizer.apply(model.params, clipped, learningRate(globalStep / stepsPerEpoch));
        });
      } finally {
        if (scaled !== grads) scaled.forEach((g) => g.dispose());
        grads.forEach((g) => g.dispose());
      }
      ema?.update(everything());
    }
    return lossValue;
  }

  async function timedEval(): Promise<EvalResult> {
    const start = performance.now();
    const result = await evaluateAtFullSize();
    evalSeconds += (performance.now() - start) / 1000;
    return result;
  }

  async function evaluateAtFullSize(): Promise<EvalResult> {
    const stageSize = model.inputSize;
    if (stageSize === parts.imageSize || !model.acceptsInputSize(parts.imageSize)) {
      return evaluate(parts, settings);
    }
    // Round-tripping resampled parameters would blur them; snapshot and restore instead.
    const snapshot = new Map([...model.params].map(([k, v]) => [k, tf.clone(v)]));
    model.setInputSize(parts.imageSize);
    try {
      return await evaluate(parts, settings);
    } finally {
      model.setInputSize(stageSize);
      refreshParams();
      for (const [k, t] of snapshot) {
        model.params.get(k)!.assign(t);
        t.dispose();
      }
    }
  }

  async function endEpoch(epochFloat: number): Promise<void> {
    const result = await timedEval();
    const point: EpochPoint = {
      epoch: epochFloat,
      step,
      top1: result.top1,
      top5: result.top5,
      loss: result.loss,
      trainSeconds,
    };
    history = [...history, point];
    emit(record("epoch", {
      top1: result.top1,
      top5: result.top5,
      testLoss: result.loss,
      trainLoss: lastLoss,
      dataWaitSeconds,
      imageSize: stage.imageSize,
      magnitude: stage.magnitude,
      numTensors: tf.memory().numTensors,
    }));
    options.progress?.log(
      `epoch ${epochFloat.toFixed(2)}: top-1 ${(result.top1 * 100).toFixed(2)}% ` +
        `top-5 ${(result.top5 * 100).toFixed(2)}% test loss ${result.loss.toFixed(4)} ` +
        `(train ${trainSeconds.toFixed(1)} s, ${
          dataWaitSeconds.toFixed(1)
        } s of it waiting for data)`,
    );
    await checkpoint();
  }

  async function checkpoint(): Promise<void> {
    lastCheckpointAt = performance.now();
    if (accumulatedCount !== 0) return; // only between optimizer steps
    const opt = optimizer.state();
    try {
      await saveCheckpoint(ckptFile, {
        params: model.params,
        buffers: model.buffers,
        optimizer: opt,
        ema: ema?.weights,
        state: {
          step,
          optimizerStep: opt.step,
          inputSize: model.inputSize,
          trainSeconds,
          evalSeconds,
          dataWaitSeconds,
          history,
          model: model.name,
          seed: settings.seed,
          curriculum: curriculum.name,
          totalMicroSteps,
        },
      });
    } finally {
      opt.tensors.forEach((t) => t.dispose());
    }
  }

  function restore(ckpt: Checkpoint): void {
    const s = ckpt.state;
    if (
      s.model !== model.name || s.totalMicroSteps !== totalMicroSteps || s.seed !== settings.seed
    ) {
      throw new CheckpointError({
        path: ckptFile,
        reason: `checkpoint is for model ${s.model}, seed ${s.seed}, ${s.totalMicroSteps} steps; ` +
          `this run is ${model.name}, seed ${settings.seed}, ${totalMicroSteps} steps`,
      });
    }
    if (s.inputSize !== model.inputSize) model.setInputSize(s.inputSize);
    assignAll(model.params, ckpt.params, "parameter");
    assignAll(model.buffers, ckpt.buffers, "buffer");
    optimizer.load({ step: s.optimizerStep, tensors: ckpt.optimizer });
    if (ema && ckpt.ema.size > 0) {
      ema.dispose();
      ema = new ModelEma(ckpt.ema, { decay: settings.emaDecay });
    }
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
    refreshParams();
    step = s.step;
    trainSeconds = s.trainSeconds;
    evalSeconds = s.evalSeconds;
    dataWaitSeconds = s.dataWaitSeconds ?? 0;
    history = [...s.history];
  }

  function assignAll(
    target: ReadonlyMap<string, tf.Variable>,
    source: ReadonlyMap<string, tf.Tensor>,
    what: string,
  ): void {
    for (const [name, variable] of target) {
      const t = source.get(name);
      if (!t) throw new CheckpointError({ path: ckptFile, reason: `missing ${what} ${name}` });
      if (t.shape.join("x") !== variable.shape.join("x")) {
        throw new CheckpointError({
          path: ckptFile,
          reason: `${what} ${name} has shape [${t.shape}], the model expects [${variable.shape}]`,
        });
      }
      variable.assign(t);
    }
  }
}

/**
 * Evaluate the model on the test set at its current input size.
 *
 * @example
 * ```ts ignore
 * const { top1 } = await evaluate(parts, settings);
 * ```
 */
export async function evaluate(
  parts: Pick<TrainerParts, "model" | "pipeline" | "testSet">,
  settings: Pick<TrainSettings, "evalBatchSize">,
): Promise<EvalResult> {
  const { model, pipeline, testSet } = parts;
  let top1 = 0, top5 = 0, lossSum = 0;
  const batches = Math.ceil(testSet.count / settings.evalBatchSize);
  for (let b = 0; b < batches; b++) {
    const batch = testSet.batch(b, settings.evalBatchSize);
    const logits = tf.tidy(() => model.forward(pipeline.eval(batch), { training: false }));
    let counts;
    try {
      counts = await topKCounts(logits, batch.labels);
    } finally {
      logits.dispose();
    }
    top1 += counts.top1;
    top5 += counts.top5;
    lossSum += counts.lossSum;
    if (b % 4 === 3) await new Promise((r) => setTimeout(r, 0));
  }
  const n = Math.max(1, testSet.count);
  return { top1: top1 / n, top5: top5 / n, loss: lossSum / n, count: testSet.count };
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

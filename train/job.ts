/**
 * The main job as an Effect program over the six services (Backend, Dataset, ModelRegistry,
 * Curricula, Trainer, Reporter): resolve everything once, build the loop's parts, train,
 * and write the run directory. Effect only wires; the loop itself is plain code.
 *
 * @module
 */
import { Effect } from "effect";
import * as tf from "@tensorflow/tfjs-core";
import { Backend, InvalidArgumentError, writeTextFileAtomic } from "@efficienttrain/core";
import {
  formatMagnitude,
  predictedSpeedup,
  predictWallTime,
  type ResolvedCurriculum,
  secondsPerImage,
} from "@efficienttrain/curricula";
import { Dataset, evalCropSet, Loader, sampleSubset } from "@efficienttrain/data";
import { ModelRegistry, saveModel } from "@efficienttrain/models";
import { Curricula } from "@efficienttrain/curricula";
import { curriculumPlan, evalSetOf, stagePoints } from "./assemble.ts";
import { checkpointPath, type TrainResult } from "./trainer.ts";
import { hostAugment, tensorPipeline } from "./pipeline.ts";
import type { TrainSettings } from "./settings.ts";
import { RunDirectory } from "./run_dir.ts";
import { findResumeCheckpoint } from "./checkpoint.ts";
import { Reporter, Trainer } from "./services.ts";
import { measureStepTimes, measureTrainingStepTimes } from "./profile.ts";
import { formatDuration } from "./progress.ts";
import { checkStageMaps, type StageMaps } from "./stage_maps.ts";
import { lockRunDirectory } from "./run_lock.ts";
import { defaultReplayBuffer, replayBatches } from "./replay.ts";

/** What a finished job reports (also written as `summary.json`). */
export interface JobSummary {
  readonly runDir: string;
  readonly model: string;
  readonly data: string;
  readonly curriculum: string;
  readonly backend: string;
  readonly seed: number;
  readonly top1: number;
  readonly top5: number;
  readonly testLoss: number;
  readonly emaTop1?: number;
  readonly trainSeconds: number;
  /** The part of `trainSeconds` the loop spent waiting for the data loader. */
  readonly dataWaitSeconds?: number;
  readonly wallSeconds: number;
  readonly epochs: number;
  readonly steps: number;
  /** Compute relative to the full-size baseline (FLOPs cost model). */
  readonly relativeCompute: number;
  /** Speedup over the baseline predicted from the measured step-time profile. */
  readonly predictedSpeedup: number;
  readonly stepProfile: Record<string, number>;
  readonly history: TrainResult["history"];
  readonly resumedFromStep: number;
}

/** Options of {@link trainJob}. */
export interface TrainJobOptions {
  /** Continue the run in this directory. */
  readonly resume?: string;
  /** Run folder name under `settings.out`. */
  readonly runName?: string;
  /** Skip the step-time profile (tests). */
  readonly skipProfile?: boolean;
  /**
   * Epochs of the full-size baseline that relative compute and the predicted speedup compare
   * against (default: this run's epochs; set it when a curriculum runs a different budget,
   * e.g. EfficientTrain++ at 2/3 of the baseline's epochs).
   */
  readonly baselineEpochs?: number;
  /** Settings a `--resume` changed (recorded → new), appended to config.json's `resumes`. */
  readonly resumeOverrides?: Readonly<Record<string, readonly [unknown, unknown]>>;
}

/**
 * Train one model under one curriculum; returns the summary written to the run directory.
 *
 * @example
 * ```ts ignore
 * const summary = yield* trainJob(settings, {});
 * ```
 */
export function trainJob(
  settings: TrainSettings,
  options: TrainJobOptions = {},
): Effect.Effect<
  JobSummary,
  unknown,
  Backend | Dataset | ModelRegistry | Curricula | Trainer | Reporter
> {
  return Effect.gen(function* () {
    const backend = yield* Backend;
    const dataset = yield* Dataset;
    const registry = yield* ModelRegistry;
    const curricula = yield* Curricula;
    const trainer = yield* Trainer;
    const reporter = yield* Reporter;

    reporter.info(`backend: ${backend.info.name} (${backend.info.reason})`);
    const trainSet = settings.limitTrain > 0
      ? sampleSubset(dataset.train, settings.limitTrain, { seed: settings.seed })
      : dataset.train;
    const [stored, , C] = dataset.info.imageShape;
    // The run's final side: training crops to it (RandomResizedCrop on large images), and
    // the test images get timm's eval transform to it once, here.
    const H = settings.imageSize > 0 ? settings.imageSize : stored;
    const sampledTest = settings.limitTest > 0
      ? sampleSubset(dataset.test, settings.limitTest, { seed: 0 })
      : dataset.test;
    const testSet = H === stored
      ? sampledTest
      : evalCropSet(sampledTest, H, { cropPct: settings.cropPct });
    const numClasses = dataset.info.classes.length;
    reporter.info(
      `data: ${dataset.info.name} ${trainSet.count} train / ${testSet.count} test, ${H}×${H}×${C}, ` +
        `${numClasses} classes${dataset.fromCache ? " (decoded cache)" : ""}` +
        (dataset.skipped > 0 ? `, ${dataset.skipped} unreadable images skipped` : ""),
    );
    if (H !== stored) {
      reporter.info(
        `image size ${H}: train ${
          stored > 64 ? "RandomResizedCrop" : "random crop"
        } ${stored}→${H}, test resize to ${Math.floor(H / settings.cropPct)} + centre crop ${H}`,
      );
    }

    if (settings.minImageSize > H) {
      return yield* Effect.fail(
        new InvalidArgumentError({
          argument: "--min-image-size",
          value: String(settings.minImageSize),
          reason: `exceeds the run's final side ${H}`,
        }),
      );
    }
    if (trainSet.count < settings.batchSize) {
      return yield* Effect.fail(
        new InvalidArgumentError({
          argument: "--batch-size",
          value: String(settings.batchSize),
          reason: `the training set has ${trainSet.count} images, fewer than one batch of ` +
            `${settings.batchSize} (lower --batch-size${
              settings.limitTrain > 0 ? " or raise --limit-train" : ""
            })`,
        }),
      );
    }

    const modelOptions = {
      numClasses,
      inChans: C,
      imgSize: H,
      dropPathRate: settings.dropPath,
      seed: settings.seed,
    };
    // Seconds per image are flat in the batch size past a few dozen images: the backend race
    // keeps its batch short (the cost model's profile below runs the run's own batches).
    const profileBatch = Math.min(settings.batchSize, 64);
    // `auto` on a real GPU: a few steps of this model on the GPU and on the CPU engine, the
    // faster one kept (a no-op for a named backend or a CPU pick).
    const settled = yield* Effect.promise(() =>
      backend.race(async () => {
        const probe = Effect.runSync(registry.create(settings.model, modelOptions));
        try {
          const times = await measureStepTimes(probe, [H], {
            batchSize: profileBatch,
            steps: 2,
            channels: C,
            numClasses,
          });
          return times.min[H] * profileBatch * 1000;
        } finally {
          probe.dispose();
        }
      })
    );
    if (settled !== backend.info) {
      reporter.info(`backend: ${settled.name} (${settled.reason})`);
    }
    const model = yield* registry.create(settings.model, modelOptions);
    const loaded = yield* curricula.load(settings.curriculum);
    const curriculum = settings.boundaries === "curriculum"
      ? loaded
      : { ...loaded, boundaries: settings.boundaries };
    const resolved: ResolvedCurriculum = yield* curricula.resolve(curriculum, {
      epochs: settings.epochs,
      imageSize: H,
      accepts: (s) => model.acceptsInputSize(s),
      minSize: settings.minImageSize,
      multipleOf: settings.sizeMultiple,
      maxMagnitude: settings.maxMagnitude > 0 ? settings.maxMagnitude : undefined,
      modelFamily: settings.model,
      flops: (s) => model.flops(s),
      baselineEpochs: options.baselineEpochs,
    }).pipe(
      // A size the curriculum asks for that the data cannot give: name the curriculum too.
      Effect.mapError((e) =>
        e instanceof InvalidArgumentError
          ? new InvalidArgumentError({
            argument: `${e.argument} (curriculum ${settings.curriculum})`,
            value: e.value,
            reason: e.reason,
          })
          : e
      ),
    );
    // A stage's batchSize is for `curriculum export` (the authors' launchers change the batch per
    // stage); this loop keeps one batch for the whole run, so a different one would be ignored.
    const rebatched = resolved.stages.find((s) =>
      s.batchSize !== undefined && s.batchSize !== settings.batchSize
    );
    if (rebatched !== undefined) {
      return yield* Effect.fail(
        new InvalidArgumentError({
          argument: `batchSize (curriculum ${settings.curriculum}, stage ${rebatched.index + 1})`,
          value: String(rebatched.batchSize),
          reason: `the trainer keeps one batch size for the whole run (--batch-size ` +
            `${settings.batchSize}); a stage's batchSize is read by \`curriculum export\` only`,
        }),
      );
    }
    const maps = yield* Effect.try({
      try: () => checkStageMaps(model, resolved),
      catch: (e) => e,
    });
    for (const line of describeStages(resolved, maps)) reporter.info(line);

    const loader = new Loader(trainSet, {
      batchSize: settings.batchSize,
      seed: settings.seed,
      dropLast: true,
      workers: settings.workers,
      augment: hostAugment(settings, trainSet, {
        imageSize: H,
        magnitude: resolved.stages[0].magnitude,
        mean: dataset.info.mean,
      }),
    });

    const pipeline = tensorPipeline(settings, dataset.info, numClasses);
    const stages = stagePoints(resolved);
    const last = stages[stages.length - 1];
    // the baseline's side, for the speedup, when the curriculum does not end at it
    if (!stages.some((s) => s.imageSize === H)) {
      stages.push({ ...last, imageSize: H, cropMethod: "none" });
    }
    const sizes = [...new Set(stages.map((s) => s.imageSize))];
    const times = options.skipProfile
      ? undefined
      : yield* Effect.promise(() =>
        measureTrainingStepTimes(
          { model, batches: loader, pipeline, stages, settings },
          { rounds: 5 },
        )
      );
    const profile = times?.min ?? Object.fromEntries(sizes.map((s) => [s, s * s]));
    const speedup = predictedSpeedup(resolved, profile, { imagesPerEpoch: loader.imagesPerEpoch });
    const atMedian = times === undefined
      ? speedup
      : predictedSpeedup(resolved, times.median, { imagesPerEpoch: loader.imagesPerEpoch });
    reporter.info(
      `cost model: relative compute ${resolved.relativeCompute.toFixed(3)} ` +
        `(${(1 / resolved.relativeCompute).toFixed(2)}× fewer FLOPs), predicted speedup ` +
        `${speedup.toFixed(2)}× from the fastest of 5 interleaved whole training steps per ` +
        `size (loader, pipeline, forward, backward, ${
          settings.optimizer === "sgd" ? "SGD" : "AdamW"
        }${settings.ema ? ", EMA" : ""}` +
        `${settings.accumulate > 1 ? `, ${settings.accumulate} micro-batches a step` : ""}) ` +
        `(${atMedian.toFixed(2)}× from the median ones)`,
    );
    const budget = predictBudget(resolved, profile, {
      imagesPerEpoch: loader.imagesPerEpoch,
      testImages: testSet.count,
      imageSize: H,
    });
    reporter.info(
      `budget: predicted ${formatHours(budget.totalSeconds)} (training ` +
        `${formatHours(budget.trainSeconds)} from the step profile, evaluation ~` +
        `${formatHours(budget.evalSeconds)} for ${budget.evaluations} passes over ` +
        `${testSet.count} images)`,
    );
    if (settings.maxHours > 0 && budget.totalSeconds > settings.maxHours * 3600) {
      return yield* Effect.fail(
        new InvalidArgumentError({
          argument: "--max-hours",
          value: String(settings.maxHours),
          reason: `this run is predicted to take ${formatHours(budget.totalSeconds)}; raise ` +
            `--max-hours, or lower --epochs or --image-size`,
        }),
      );
    }

    const runDir = options.resume ??
      `${settings.out}/${options.runName ?? defaultRunName(settings)}`;
    // One writer per run directory, taken before anything in it is written.
    const lock = yield* Effect.tryPromise({ try: () => lockRunDirectory(runDir), catch: (e) => e });
    return yield* Effect.gen(function* () {
      const found = options.resume === undefined ? undefined : yield* Effect.tryPromise({
        try: () => findResumeCheckpoint(checkpointPath(runDir)),
        catch: (e) => e,
      });
      const resuming = found !== undefined;
      if (found?.fellBack !== undefined) {
        reporter.info(
          `checkpoint ${checkpointPath(runDir)} is unusable (${found.fellBack}); resuming ` +
            `from the previous checkpoint ${found.path} at step ${found.state.step}`,
        );
      }
      const dir = yield* Effect.promise(async () => {
        const resumeFromStep = found?.state.step;
        const resumes = resuming ? await resumeHistory(runDir, resumeFromStep!, options) : [];
        const d = await RunDirectory.create(runDir, { resumeFromStep });
        await d.writeJson("config.json", {
          ...(resumes.length > 0 ? { resumes } : {}),
          settings,
          backend: settled,
          versions: { efficienttrain: "0.1.0", deno: Deno.version.deno, tfjs: tf.version_core },
          dataset: dataset.info,
          model: { name: model.name, params: countParams(model), flops: model.flops(H) },
          curriculum: resolved,
          stepProfile: profile,
          stepProfileMedian: times?.median,
          predictedSpeedup: speedup,
          predictedSpeedupAtMedian: atMedian,
        });
        if (dataset.skipped > 0) {
          const files = dataset.skippedFiles ?? [];
          const lines = files.length > 0 ? files.map((f) => `${f.path}\t${f.reason}`) : [
            `${dataset.skipped} images (their names are not in the decoded cache, which predates the list: delete it to list them)`,
          ];
          await writeTextFileAtomic(`${runDir}/skipped_images.txt`, lines.join("\n") + "\n");
        }
        return d;
      });
      reporter.info(`run directory: ${runDir}${resuming ? " (resuming)" : ""}`);

      const plan = curriculumPlan(resolved);
      const replayed = resolved.stages.filter((s) => (s.replay ?? 1) > 1);
      const bufferBatches = defaultReplayBuffer(loader.batchesPerEpoch);
      if (replayed.length > 0) {
        reporter.info(
          `replay: stages ${replayed.map((s) => `${s.index + 1} (×${s.replay})`).join(", ")} ` +
            `train each loaded image that many times, from a buffer of the stage's last ` +
            `${bufferBatches} loaded batches`,
        );
      }
      const result = yield* trainer.run({
        model,
        numClasses,
        imageSize: H,
        curriculum: plan,
        trainBatches: replayed.length > 0
          ? replayBatches(loader, { curriculum: plan, seed: settings.seed, bufferBatches })
          : loader,
        pipeline,
        testSet: evalSetOf(testSet),
      }, {
        settings,
        runDir,
        resume: resuming,
        resumeFrom: found?.path,
        progress: reporter.progress,
        log: (line) => reporter.info(line),
        onMetric: (record) => void dir.append(record),
      }).pipe(Effect.ensuring(Effect.promise(() => loader.close())));
      reporter.progress.done();

      const summary: JobSummary = {
        runDir,
        model: settings.model,
        data: settings.data,
        curriculum: settings.curriculum,
        backend: settled.name,
        seed: settings.seed,
        top1: result.final.top1,
        top5: result.final.top5,
        testLoss: result.final.loss,
        emaTop1: result.finalEma?.top1,
        trainSeconds: result.trainSeconds,
        dataWaitSeconds: result.dataWaitSeconds,
        wallSeconds: result.wallSeconds,
        epochs: result.epochs,
        steps: result.steps,
        relativeCompute: resolved.relativeCompute,
        predictedSpeedup: speedup,
        stepProfile: Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, v])),
        history: result.history,
        resumedFromStep: result.resumedFromStep,
      };
      yield* Effect.promise(async () => {
        await saveModel(model, `${runDir}/model.safetensors`);
        await dir.writeJson("summary.json", summary);
        await dir.writePlots(`${settings.model} / ${settings.curriculum}`, resolved);
        dir.close();
      });
      model.dispose();
      return summary;
    }).pipe(Effect.ensuring(Effect.promise(() => lock.release())));
  });
}

/**
 * Human summary lines of a finished job.
 *
 * @example
 * ```ts
 * import { summaryLines } from "@efficienttrain/train";
 * const lines = summaryLines({ top1: 0.98, top5: 1, trainSeconds: 100, wallSeconds: 120, predictedSpeedup: 1.4,
 *   relativeCompute: 0.65, runDir: "runs/x" } as never);
 * console.assert(lines.join().includes("98.00%"));
 * ```
 */
export function summaryLines(summary: JobSummary): string[] {
  return [
    `top-1 ${(100 * summary.top1).toFixed(2)}%  top-5 ${(100 * summary.top5).toFixed(2)}%` +
    (summary.emaTop1 !== undefined ? `  (EMA top-1 ${(100 * summary.emaTop1).toFixed(2)}%)` : ""),
    `wall time ${formatDuration(summary.wallSeconds)} (training ${
      formatDuration(summary.trainSeconds)
    })`,
    `speedup over the baseline predicted by the cost model: ${
      summary.predictedSpeedup.toFixed(2)
    }× ` +
    `(FLOPs: ${(1 / summary.relativeCompute).toFixed(2)}×)`,
    `run directory: ${summary.runDir}`,
  ];
}

function describeStages(resolved: ResolvedCurriculum, maps: readonly StageMaps[]): string[] {
  return resolved.stages.map((s, i) =>
    `  stage ${s.index + 1}: epochs ${s.startEpoch.toFixed(2)}–${s.endEpoch.toFixed(2)} ` +
    `B=${s.imageSize} m=${formatMagnitude(s.magnitude)} crop=${s.cropMethod} maps ${
      maps[i].sides.join("/")
    }` +
    (maps[i].collapsed ? " (a 1×1 map)" : "")
  );
}

/** config.json's `resumes` so far, plus this one (when it changed a setting). */
async function resumeHistory(
  runDir: string,
  step: number,
  options: TrainJobOptions,
): Promise<unknown[]> {
  let previous: unknown[] = [];
  try {
    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    if (Array.isArray(config.resumes)) previous = config.resumes;
  } catch {
    // No readable earlier config: nothing to carry over.
  }
  const overrides = options.resumeOverrides ?? {};
  if (Object.keys(overrides).length === 0) return previous;
  return [...previous, { at: new Date().toISOString(), step, overrides }];
}

function defaultRunName(settings: TrainSettings): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return `${stamp}-${settings.model}-${
    settings.curriculum.replace(/[^\w+-]/g, "_")
  }-s${settings.seed}`;
}

function countParams(model: { params: ReadonlyMap<string, tf.Variable> }): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}

/** A run's predicted wall time, before it starts. */
export interface BudgetPrediction {
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  readonly totalSeconds: number;
  /** Full-size evaluations the run will do (one per epoch, rounded up). */
  readonly evaluations: number;
}

/**
 * Predict a run's wall time: training from the measured step-time profile (the cost model's
 * `predictWallTime`), evaluation as one pass over the test images per epoch at the final side,
 * a forward pass costing a third of a training step per image (forward plus a backward of
 * twice its cost).
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { presets } from "@efficienttrain/curricula";
 * import { predictBudget } from "@efficienttrain/train";
 * const resolved = resolveCurriculum(presets.baseline, { epochs: 2, imageSize: 32 });
 * const b = predictBudget(resolved, { 32: 0.01 }, { imagesPerEpoch: 100, testImages: 30, imageSize: 32 });
 * console.assert(Math.abs(b.trainSeconds - 2) < 1e-9 && b.evaluations === 2);
 * ```
 */
export function predictBudget(
  resolved: ResolvedCurriculum,
  profile: Readonly<Record<number, number>>,
  options: { imagesPerEpoch: number; testImages: number; imageSize: number },
): BudgetPrediction {
  const trainSeconds = predictWallTime(resolved, profile, options).seconds;
  const evaluations = Math.ceil(resolved.totalEpochs - 1e-9);
  const evalSeconds = evaluations * options.testImages *
    secondsPerImage(profile, options.imageSize) / 3;
  return { trainSeconds, evalSeconds, totalSeconds: trainSeconds + evalSeconds, evaluations };
}

function formatHours(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}

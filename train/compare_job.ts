/**
 * `deno task compare`: every (model, curriculum, seed) triple trained with identical settings
 * in one process (data and backend loaded once), then the table and overlay plots.
 *
 * @module
 */
import { Effect } from "effect";
import { pathExists, writeTextFileAtomic } from "@efficienttrain/core";
import type { Backend } from "@efficienttrain/core";
import type { Dataset } from "@efficienttrain/data";
import type { ModelRegistry } from "@efficienttrain/models";
import type { Curricula } from "@efficienttrain/curricula";
import { type JobSummary, trainJob } from "./job.ts";
import type { TrainSettings } from "./settings.ts";
import { Reporter, type Trainer } from "./services.ts";
import {
  type ComparedRun,
  comparisonMarkdown,
  comparisonPlotSvg,
  type ComparisonRow,
  comparisonRows,
} from "./compare.ts";

/** What to compare. */
export interface CompareOptions {
  readonly models: readonly string[];
  readonly curricula: readonly string[];
  readonly seeds: readonly number[];
  /** Folder for the table, plots and the runs. */
  readonly outDir: string;
  /** Per-curriculum epochs (e.g. ET++ budgets in equivalent epochs); default `settings.epochs`. */
  readonly epochsByCurriculum?: Readonly<Record<string, number>>;
}

/** The written comparison. */
export interface CompareResult {
  readonly rows: readonly ComparisonRow[];
  readonly markdownPath: string;
  readonly jsonPath: string;
  readonly plots: readonly string[];
}

/**
 * Train every pair and write `comparison.md`, `comparison.json` and one overlay SVG per model.
 * Finished runs found in `outDir` (their `summary.json`) are reused, so a killed comparison
 * resumes where it stopped.
 *
 * @example
 * ```ts ignore
 * const result = yield* compareJob(settings, { models: ["resnet8_cifar"], curricula: ["baseline", "efficienttrain"], seeds: [0], outDir: "runs/cmp" });
 * ```
 */
export function compareJob(
  settings: TrainSettings,
  options: CompareOptions,
): Effect.Effect<
  CompareResult,
  unknown,
  Backend | Dataset | ModelRegistry | Curricula | Trainer | Reporter
> {
  return Effect.gen(function* () {
    const reporter = yield* Reporter;
    const runs: ComparedRun[] = [];
    for (const model of options.models) {
      for (const seed of options.seeds) {
        for (const curriculum of options.curricula) {
          const runName = `${model}-${curriculum.replace(/[^\w+-]/g, "_")}-s${seed}`;
          const runDir = `${options.outDir}/${runName}`;
          const previous = yield* Effect.promise(() => readSummary(runDir));
          let summary: JobSummary;
          if (previous) {
            reporter.info(`== ${runName}: finished earlier, reusing ${runDir}/summary.json`);
            summary = previous;
          } else {
            reporter.info(`== ${runName}`);
            const resume = yield* Effect.promise(() =>
              pathExists(`${runDir}/checkpoint.safetensors`)
            );
            summary = yield* trainJob({
              ...settings,
              model,
              curriculum,
              seed,
              epochs: options.epochsByCurriculum?.[curriculum] ?? settings.epochs,
              out: options.outDir,
            }, { runName, resume: resume ? runDir : undefined, baselineEpochs: settings.epochs });
          }
          runs.push(comparedRun(summary));
        }
      }
    }
    return yield* Effect.promise(() => writeComparison(runs, options.outDir, { settings }));
  });
}

/**
 * A finished run's summary as a comparison entry.
 *
 * @example
 * ```ts ignore
 * const run = comparedRun(JSON.parse(await Deno.readTextFile("runs/x/summary.json")));
 * ```
 */
export function comparedRun(summary: JobSummary): ComparedRun {
  return {
    model: summary.model,
    curriculum: summary.curriculum,
    seed: summary.seed,
    top1: summary.top1,
    top5: summary.top5,
    trainSeconds: summary.trainSeconds,
    wallSeconds: summary.wallSeconds,
    relativeCompute: summary.relativeCompute,
    predictedSpeedup: summary.predictedSpeedup,
    history: summary.history,
    runDir: summary.runDir,
  };
}

/**
 * Every finished run (a `summary.json`) directly under `outDir`, sorted by model, seed and
 * then baseline first. Each run's `runDir` is where it was found, not the one its summary
 * recorded: a results folder moved or renamed after its runs still points at its own runs.
 *
 * @example
 * ```ts ignore
 * const runs = await collectRuns("bench/results/cifar10/runs");
 * ```
 */
export async function collectRuns(outDir: string): Promise<ComparedRun[]> {
  const runs: ComparedRun[] = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (!entry.isDirectory) continue;
    const runDir = `${outDir}/${entry.name}`;
    const summary = await readSummary(runDir);
    if (summary) runs.push(comparedRun({ ...summary, runDir }));
  }
  const key = (r: ComparedRun) =>
    `${r.model}\u0000${String(r.seed).padStart(6, "0")}\u0000${
      r.curriculum === "baseline" ? "" : r.curriculum
    }`;
  return runs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Write `comparison.md`, `comparison.json` and one accuracy-vs-time overlay per model.
 *
 * @example
 * ```ts ignore
 * await writeComparison(await collectRuns(dir), dir);
 * ```
 */
export async function writeComparison(
  runs: readonly ComparedRun[],
  outDir: string,
  extra: Record<string, unknown> = {},
): Promise<CompareResult> {
  const rows = comparisonRows(runs);
  const markdownPath = `${outDir}/comparison.md`;
  const jsonPath = `${outDir}/comparison.json`;
  await writeTextFileAtomic(markdownPath, comparisonMarkdown(rows));
  await writeTextFileAtomic(jsonPath, JSON.stringify({ ...extra, rows }, null, 2) + "\n");
  const plots: string[] = [];
  for (const model of [...new Set(runs.map((r) => r.model))]) {
    const path = `${outDir}/${model}_accuracy_vs_time.svg`;
    await writeTextFileAtomic(path, await comparisonPlotSvg(rows, model));
    plots.push(path);
  }
  return { rows, markdownPath, jsonPath, plots };
}

async function readSummary(runDir: string): Promise<JobSummary | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`)) as JobSummary;
  } catch {
    return undefined;
  }
}

/**
 * Side-by-side comparison of curricula: the table `deno task compare` writes (wall time,
 * measured vs predicted speedup, top-1, time to the baseline's accuracy) and its overlay plot.
 *
 * @module
 */
import type { EpochPoint } from "./trainer.ts";
import { lineChartSvg } from "./plots.ts";

/** One finished run of a comparison. */
export interface ComparedRun {
  readonly model: string;
  readonly curriculum: string;
  readonly seed: number;
  readonly top1: number;
  readonly top5: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  /** Compute relative to the baseline predicted by the cost model (B² or model FLOPs). */
  readonly relativeCompute: number;
  /** Speedup predicted from a measured step-time profile, when one was measured. */
  readonly predictedSpeedup?: number;
  readonly history: readonly EpochPoint[];
  readonly runDir: string;
}

/** A row of the comparison table. */
export interface ComparisonRow extends ComparedRun {
  /** Baseline train seconds / this run's train seconds (same model, same seed when present). */
  readonly speedup: number | undefined;
  /** 1 / relativeCompute: the FLOP-model prediction. */
  readonly computeSpeedup: number;
  /** Top-1 minus the baseline's, in percentage points. */
  readonly top1Delta: number | undefined;
  /** Train seconds until top-1 ≥ baseline final − 0.5 pp (undefined if never). */
  readonly timeToAccuracy: number | undefined;
}

/**
 * First training time at which the accuracy curve reaches `target`, or undefined.
 *
 * @example
 * ```ts
 * import { timeToAccuracy } from "@efficienttrain/train";
 * const h = [{ epoch: 1, step: 1, top1: 0.5, top5: 1, loss: 1, trainSeconds: 10 },
 *   { epoch: 2, step: 2, top1: 0.9, top5: 1, loss: 1, trainSeconds: 20 }];
 * console.assert(timeToAccuracy(h, 0.8) === 20);
 * ```
 */
export function timeToAccuracy(history: readonly EpochPoint[], target: number): number | undefined {
  return history.find((p) => p.top1 >= target - 1e-12)?.trainSeconds;
}

/**
 * Rows with speedups and deltas relative to each model's `baseline` run (matched by seed
 * when the baseline ran with that seed, else the first baseline of the model).
 *
 * @example
 * ```ts
 * import { comparisonRows } from "@efficienttrain/train";
 * const run = (curriculum: string, t: number, top1: number) => ({ model: "m", curriculum, seed: 0, top1,
 *   top5: 1, trainSeconds: t, wallSeconds: t, relativeCompute: curriculum === "baseline" ? 1 : 0.65,
 *   history: [], runDir: "" });
 * const rows = comparisonRows([run("baseline", 100, 0.9), run("efficienttrain", 50, 0.9)]);
 * console.assert(rows[1].speedup === 2);
 * ```
 */
export function comparisonRows(runs: readonly ComparedRun[]): ComparisonRow[] {
  return runs.map((run) => {
    const baselines = runs.filter((r) => r.model === run.model && r.curriculum === "baseline");
    const base = baselines.find((b) => b.seed === run.seed) ?? baselines[0];
    return {
      ...run,
      speedup: base ? base.trainSeconds / run.trainSeconds : undefined,
      computeSpeedup: 1 / run.relativeCompute,
      top1Delta: base ? 100 * (run.top1 - base.top1) : undefined,
      timeToAccuracy: base ? timeToAccuracy(run.history, base.top1 - 0.005) : undefined,
    };
  });
}

/**
 * The comparison as a markdown table.
 *
 * @example
 * ```ts
 * import { comparisonMarkdown } from "@efficienttrain/train";
 * console.assert(comparisonMarkdown([]).startsWith("| model"));
 * ```
 */
export function comparisonMarkdown(rows: readonly ComparisonRow[]): string {
  const f = (v: number | undefined, digits: number, suffix = "") =>
    v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(digits)}${suffix}`;
  const header = "| model | curriculum | seed | top-1 | Δ top-1 (pp) | train time | " +
    "speedup (measured) | speedup (predicted, FLOPs) | speedup (predicted, profile) | " +
    "realised / predicted | time to baseline −0.5 pp |";
  const rule = "|" + "---|".repeat(11);
  const lines = rows.map((r) =>
    `| ${r.model} | ${r.curriculum} | ${r.seed} | ${f(100 * r.top1, 2, "%")} | ` +
    `${f(r.top1Delta, 2)} | ${f(r.trainSeconds, 1, " s")} | ${f(r.speedup, 2, "×")} | ` +
    `${f(r.computeSpeedup, 2, "×")} | ${f(r.predictedSpeedup, 2, "×")} | ${
      f(
        r.speedup !== undefined && r.predictedSpeedup !== undefined
          ? r.speedup / r.predictedSpeedup
          : undefined,
        2,
      )
    } | ${f(r.timeToAccuracy, 1, " s")} |`
  );
  return [header, rule, ...lines].join("\n") + "\n";
}

/**
 * Overlay of accuracy vs training time for every run of one model.
 *
 * @example
 * ```ts ignore
 * const svg = await comparisonPlotSvg(rows, "resnet8_cifar");
 * ```
 */
export function comparisonPlotSvg(rows: readonly ComparedRun[], model: string): Promise<string> {
  const points = rows.filter((r) => r.model === model).flatMap((r) =>
    r.history.map((p) => ({
      x: p.trainSeconds,
      y: 100 * p.top1,
      series: `${r.curriculum} (seed ${r.seed})`,
    }))
  );
  return lineChartSvg(points, {
    title: `${model}: top-1 vs training time`,
    xTitle: "training seconds",
    yTitle: "top-1 (%)",
  });
}

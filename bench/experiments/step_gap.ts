/**
 * Where a run's realised speedup parts from the step-time profile's prediction: each run's
 * seconds per training step at each input side, measured over the run (its `metrics.jsonl`
 * step records, evaluation excluded), beside what the profile timed before the run (forward
 * and backward of a random batch only), and the gap between them.
 *
 * A gap that stays flat across sides is a fixed cost per step the profile does not see (the
 * tensor pipeline, the optimizer, the loader's augmentation sharing the cores): it is paid at
 * every side, so it shrinks every curriculum's speedup. The last columns re-predict the
 * speedup with the baseline's gap added to the profile at every side, the way the cost model's
 * `overheadSecondsPerEpoch` would carry it.
 *
 *   deno run -A bench/experiments/step_gap.ts bench/results/imagenette/resnet [family dir ...]
 *   deno run -A bench/experiments/step_gap.ts --out bench/results/imagenette/step_gap.md \
 *     bench/results/imagenette/resnet bench/results/imagenette/convnext \
 *     bench/results/imagenette/deit bench/results/imagenette/swin
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeTextFileAtomic } from "@efficienttrain/core";
import { type CostInput, predictedSpeedup, type StepTimeProfile } from "@efficienttrain/curricula";

/** Realised and profiled seconds per step at one input side of one run. */
export interface SideGap {
  readonly side: number;
  readonly steps: number;
  readonly realised: number;
  readonly profiled: number;
}

/** One run's sides, and what it and its profile say of the speedup. */
export interface RunGap {
  readonly run: string;
  readonly curriculum: string;
  readonly seed: number;
  readonly sides: readonly SideGap[];
  /** Seconds per step the run spent beyond its profile, over all its steps. */
  readonly meanGap: number;
  readonly trainSeconds: number;
  readonly predictedSpeedup: number;
  readonly curriculumInput: CostInput;
  readonly profile: StepTimeProfile;
  readonly batchSize: number;
  readonly imagesPerEpoch: number;
}

interface StepRecord {
  readonly kind: string;
  readonly step: number;
  readonly trainSeconds: number;
  readonly imageSize: number;
  readonly stage: number;
}

/**
 * Read one finished run directory (config.json, summary.json, metrics.jsonl).
 *
 * @example
 * ```ts ignore
 * const gap = await readRunGap("bench/results/imagenette/resnet/resnet18_half-baseline-s0");
 * ```
 */
export async function readRunGap(dir: string): Promise<RunGap> {
  const read = async (name: string): Promise<string> => {
    try {
      return await Deno.readTextFile(`${dir}/${name}`);
    } catch (e) {
      throw new Error(`step_gap: cannot read ${dir}/${name}: ${String(e)}`);
    }
  };
  const config = JSON.parse(await read("config.json"));
  const summary = JSON.parse(await read("summary.json"));
  const records = (await read("metrics.jsonl")).split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as StepRecord).filter((r) => r.kind === "step");
  const batchSize: number = config.settings.batchSize;
  const profile: StepTimeProfile = config.stepProfile;
  const bySide = new Map<number, { steps: number; seconds: number }>();
  for (let i = 1; i < records.length; i++) {
    const [a, b] = [records[i - 1], records[i]];
    // an interval that spans a stage change or a resume mixes two sides or two processes
    if (a.stage !== b.stage || b.step <= a.step || b.trainSeconds < a.trainSeconds) continue;
    const acc = bySide.get(b.imageSize) ?? { steps: 0, seconds: 0 };
    acc.steps += b.step - a.step;
    acc.seconds += b.trainSeconds - a.trainSeconds;
    bySide.set(b.imageSize, acc);
  }
  const sides = [...bySide].sort(([a], [b]) => a - b).map(([side, { steps, seconds }]) => ({
    side,
    steps,
    realised: seconds / steps,
    profiled: profile[side] * batchSize,
  }));
  const stepsTimed = sides.reduce((n, s) => n + s.steps, 0);
  const meanGap = sides.reduce((g, s) => g + (s.realised - s.profiled) * s.steps, 0) / stepsTimed;
  return {
    run: dir.split("/").pop()!,
    curriculum: summary.curriculum,
    seed: summary.seed,
    sides,
    meanGap,
    trainSeconds: summary.trainSeconds,
    predictedSpeedup: summary.predictedSpeedup,
    curriculumInput: config.curriculum,
    profile,
    batchSize,
    imagesPerEpoch: Math.floor(config.dataset.splits.train / batchSize) * batchSize,
  };
}

/**
 * The markdown table of a family's runs: per run and side, realised against profiled seconds
 * per step, then the speedup measured, predicted from the profile, and predicted from the
 * profile plus the baseline's per-step gap.
 *
 * @example
 * ```ts ignore
 * console.log(gapTable([baseline, efficienttrain]));
 * ```
 */
export function gapTable(runs: readonly RunGap[]): string {
  const lines = [
    "| run | side: realised / profiled s per step (gap) | mean gap | measured | predicted (profile) | realised / predicted | predicted (profile + baseline's gap) | realised / predicted |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const fmt = (x: number, digits = 3): string => x.toFixed(digits);
  for (const r of runs) {
    const baseline = runs.find((b) => b.curriculum === "baseline" && b.seed === r.seed);
    const sides = r.sides.map((s) =>
      `${s.side}: ${fmt(s.realised)} / ${fmt(s.profiled)} (${s.realised >= s.profiled ? "+" : ""}${
        fmt(s.realised - s.profiled)
      })`
    ).join("; ");
    let measured = "–", plain = "–", plainRatio = "–", withGap = "–", gapRatio = "–";
    if (baseline !== undefined && baseline !== r) {
      const m = baseline.trainSeconds / r.trainSeconds;
      const overheadSecondsPerEpoch = baseline.meanGap * r.imagesPerEpoch / r.batchSize;
      const p = predictedSpeedup(r.curriculumInput, r.profile, {
        imagesPerEpoch: r.imagesPerEpoch,
        overheadSecondsPerEpoch,
      });
      measured = `${fmt(m, 2)}×`;
      plain = `${fmt(r.predictedSpeedup, 2)}×`;
      plainRatio = fmt(m / r.predictedSpeedup, 2);
      withGap = `${fmt(p, 2)}×`;
      gapRatio = fmt(m / p, 2);
    }
    lines.push(
      `| ${r.run} | ${sides} | ${
        fmt(r.meanGap)
      } s | ${measured} | ${plain} | ${plainRatio} | ${withGap} | ${gapRatio} |`,
    );
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    console.error("usage: step_gap.ts [--out file.md] <family dir> [family dir ...]");
    Deno.exit(2);
  }
  const sections: string[] = [];
  for (const familyDir of positionals) {
    const runs: RunGap[] = [];
    const names = [];
    for await (const e of Deno.readDir(familyDir)) if (e.isDirectory) names.push(e.name);
    for (const name of names.sort()) {
      const dir = `${familyDir.replace(/\/$/, "")}/${name}`;
      try {
        await Deno.stat(`${dir}/summary.json`);
      } catch {
        continue; // unfinished, or not a run
      }
      runs.push(await readRunGap(dir));
    }
    if (runs.length > 0) sections.push(`### ${familyDir}\n\n${gapTable(runs)}`);
  }
  const text = sections.join("\n");
  if (values.out !== undefined) await writeTextFileAtomic(values.out, text);
  console.log(text);
}

/**
 * The cross-family headline of a benchmark folder: every row of every
 * `<dir>/<family>/comparison.json` (each rebuilt by `deno task compare --table-only`), in one
 * markdown table (`headline.md`) and one JSON array (`headline.json`, one object per run with
 * the fields below), so the table can be checked by a script.
 *
 *   deno run -A bench/experiments/headline.ts bench/results/imagenette
 *   deno run -A bench/experiments/headline.ts bench/results/cifar10
 *
 * @module
 */
import { writeTextFileAtomic } from "@efficienttrain/core";
import { comparisonMarkdown, type ComparisonRow } from "@efficienttrain/train";

/** One run of the headline, as `headline.json` stores it. */
export interface HeadlineRow {
  readonly model: string;
  readonly family: "resnet" | "convnext" | "deit" | "swin";
  readonly curriculum: string;
  readonly seed: number;
  readonly imageSize: number;
  /** The run's budget: epochs, or 224²-equivalent epochs for compute-progress curricula. */
  readonly epochs: number;
  /** Top-1 in percent. */
  readonly top1: number;
  readonly deltaTop1Pp: number | null;
  readonly trainSeconds: number;
  readonly measuredSpeedup: number | null;
  readonly flopSpeedup: number;
  readonly predictedSpeedup: number | null;
  /** Measured over predicted (profile) speedup. */
  readonly realisedOverPredicted: number | null;
  /** Training seconds until top-1 ≥ the baseline's final top-1 − 0.5 pp; null if never. */
  readonly timeToBaselineSeconds: number | null;
}

const FAMILIES = ["resnet", "convnext", "deit", "swin"] as const;
const CURRICULA = [
  "baseline",
  "efficienttrain",
  "efficienttrain++",
  "efficienttrain-resize",
  "ffcv-progressive",
];

function familyOf(model: string): HeadlineRow["family"] {
  if (model.startsWith("vit") || model.startsWith("deit")) return "deit";
  const f = FAMILIES.find((name) => model.startsWith(name));
  if (f === undefined) throw new Error(`headline: no family for model ${model}`);
  return f;
}

async function runConfig(runDir: string): Promise<{ imageSize: number; epochs: number }> {
  const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
  return { imageSize: config.curriculum.imageSize, epochs: config.curriculum.budget };
}

const dir = Deno.args[0] ?? "bench/results/cifar10";
const rows: ComparisonRow[] = [];
for await (const entry of Deno.readDir(dir)) {
  if (!entry.isDirectory) continue;
  const path = `${dir}/${entry.name}/comparison.json`;
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path)) as { rows: ComparisonRow[] };
    rows.push(...parsed.rows);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw new Error(`${path}: ${String(e)}`);
  }
}
const rank = (c: string): number =>
  (CURRICULA.indexOf(c) + CURRICULA.length + 1) % (CURRICULA.length + 1);
rows.sort((a, b) =>
  FAMILIES.indexOf(familyOf(a.model)) - FAMILIES.indexOf(familyOf(b.model)) ||
  a.model.localeCompare(b.model) || a.seed - b.seed || rank(a.curriculum) - rank(b.curriculum)
);
const headline: HeadlineRow[] = [];
for (const r of rows) {
  const { imageSize, epochs } = await runConfig(r.runDir);
  const measured = r.speedup ?? null, predicted = r.predictedSpeedup ?? null;
  headline.push({
    model: r.model,
    family: familyOf(r.model),
    curriculum: r.curriculum,
    seed: r.seed,
    imageSize,
    epochs,
    top1: 100 * r.top1,
    deltaTop1Pp: r.top1Delta ?? null,
    trainSeconds: r.trainSeconds,
    measuredSpeedup: measured,
    flopSpeedup: r.computeSpeedup,
    predictedSpeedup: predicted,
    realisedOverPredicted: measured !== null && predicted !== null ? measured / predicted : null,
    timeToBaselineSeconds: r.timeToAccuracy ?? null,
  });
}
const table = comparisonMarkdown(rows);
await writeTextFileAtomic(`${dir}/headline.md`, table);
await writeTextFileAtomic(`${dir}/headline.json`, JSON.stringify(headline, null, 2) + "\n");
console.log(table);

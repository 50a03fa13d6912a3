/**
 * The cross-family headline of the CIFAR-10 benchmark: every row of every
 * `bench/results/cifar10/<family>/comparison.json` (each rebuilt by `deno task compare
 * --table-only`), in one markdown table and one JSON file.
 *
 *   deno run -A bench/cifar10_headline.ts [results dir]   # writes <dir>/headline.md and .json
 *
 * @module
 */
import { writeTextFileAtomic } from "@efficienttrain/core";
import { comparisonMarkdown, type ComparisonRow } from "@efficienttrain/train";

const dir = Deno.args[0] ?? "bench/results/cifar10";
const rows: ComparisonRow[] = [];
const sources: string[] = [];
for await (const entry of Deno.readDir(dir)) {
  if (!entry.isDirectory) continue;
  const path = `${dir}/${entry.name}/comparison.json`;
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path)) as { rows: ComparisonRow[] };
    rows.push(...parsed.rows);
    sources.push(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw new Error(`${path}: ${String(e)}`);
  }
}
const order = ["resnet", "convnext", "deit", "swin"];
const family = (model: string): number => order.findIndex((f) => model.startsWith(f));
const curricula = [
  "baseline",
  "efficienttrain",
  "efficienttrain++",
  "efficienttrain-resize",
  "ffcv-progressive",
];
const rank = (c: string): number =>
  (curricula.indexOf(c) + curricula.length + 1) % (curricula.length + 1);
rows.sort((a, b) =>
  family(a.model) - family(b.model) || a.model.localeCompare(b.model) || a.seed - b.seed ||
  rank(a.curriculum) - rank(b.curriculum)
);
const table = comparisonMarkdown(rows);
await writeTextFileAtomic(`${dir}/headline.md`, table);
await writeTextFileAtomic(
  `${dir}/headline.json`,
  JSON.stringify(
    { sources: sources.sort(), rows: rows.map(({ history: _, ...r }) => r) },
    null,
    2,
  ) +
    "\n",
);
console.log(table);

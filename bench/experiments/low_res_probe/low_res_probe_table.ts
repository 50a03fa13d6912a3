/**
 * The low-resolution probe's table: one row per model and side, one top-1 column per backend,
 * and the gap between the first two backends. Reads the JSON lines `bench/experiments/low_res_probe/low_res_probe.sh`
 * wrote; writes `probe.md` next to them (atomically).
 *
 *   deno run -A bench/experiments/low_res_probe/low_res_probe_table.ts bench/results/low_res_probe/probe.jsonl
 *
 * @module
 */
import { writeTextFileAtomic } from "@efficienttrain/core";

interface ProbeRow {
  readonly model: string;
  readonly side: number;
  readonly backend: string;
  readonly trainLoss: number;
  readonly top1: number;
  readonly seconds: number;
}

const path = Deno.args[0] ?? "bench/results/low_res_probe/probe.jsonl";
const rows: ProbeRow[] = (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const backends = [...new Set(rows.map((r) => r.backend))];
const keys = [...new Set(rows.map((r) => `${r.model}@${r.side}`))];
const find = (key: string, backend: string) =>
  rows.find((r) => `${r.model}@${r.side}` === key && r.backend === backend);
const header = [
  "model",
  "S",
  ...backends.map((b) => `top-1 ${b}`),
  ...backends.map((b) => `loss ${b}`),
  ...(backends.length >= 2 ? [`${backends[0]} − ${backends[1]} (pp)`] : []),
];
const lines = [
  `| ${header.join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...keys.map((key) => {
    const [model, side] = key.split("@");
    const got = backends.map((b) => find(key, b));
    const gap = got.length >= 2 && got[0] && got[1] ? (got[0].top1 - got[1].top1).toFixed(1) : "–";
    return `| ${
      [
        model,
        side,
        ...got.map((r) => (r ? `${r.top1.toFixed(1)} %` : "–")),
        ...got.map((r) => (r ? r.trainLoss.toFixed(3) : "–")),
        ...(backends.length >= 2 ? [gap] : []),
      ].join(" | ")
    } |`;
  }),
];
const out = path.replace(/\.jsonl$/, ".md");
await writeTextFileAtomic(out, lines.join("\n") + "\n");
console.log(lines.join("\n"));

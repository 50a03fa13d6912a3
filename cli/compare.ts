/**
 * `deno task compare --models a,b --curricula baseline,efficienttrain --data … --epochs E
 * [--seeds 0,1] [--compare-out dir] [any train flag]`: identical recipe and seeds per pair,
 * then a table (wall time, measured and predicted speedup, top-1, time to accuracy) and an
 * accuracy-vs-time overlay per model.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Effect } from "effect";
import { InvalidArgumentError } from "@efficienttrain/core";
import {
  collectRuns,
  compareJob,
  comparisonMarkdown,
  parseTrainArgs,
  trainHelp,
  writeComparison,
} from "@efficienttrain/train";
import { runCli } from "./_run.ts";
import { trainingLayers } from "./_layers.ts";

const OWN = [
  "models",
  "curricula",
  "seeds",
  "compare-out",
  "epochs-by-curriculum",
  "table-only",
];

await runCli(async (args) => {
  const own = parseArgs({
    args,
    strict: false,
    options: Object.fromEntries(
      OWN.map((k) => [k, { type: k === "table-only" ? "boolean" as const : "string" as const }]),
    ),
  }).values as Record<string, string | boolean | undefined>;
  const parsed = parseTrainArgs(withoutOwnFlags(args));
  if (parsed.help) {
    console.log(
      "usage: deno task compare --models a,b --curricula baseline,efficienttrain [--seeds 0,1]\n" +
        "       [--compare-out dir] [--epochs-by-curriculum efficienttrain++=4] [train flags]\n" +
        "       deno task compare --table-only --compare-out dir   (table of every finished run)\n\n" +
        trainHelp("compare").split("\n").slice(2).join("\n"),
    );
    return 0;
  }
  if (own["table-only"]) {
    const dir = own["compare-out"];
    if (typeof dir !== "string") {
      throw new InvalidArgumentError({
        argument: "--table-only",
        value: "true",
        reason: "needs --compare-out <dir> holding finished runs",
      });
    }
    const result = await writeComparison(await collectRuns(dir), dir);
    console.log(comparisonMarkdown(result.rows));
    console.log(`table: ${result.markdownPath} and ${result.jsonPath}`);
    return 0;
  }
  const list = (flag: string, fallback: string) =>
    (String(own[flag] ?? fallback)).split(",").map((s) => s.trim()).filter(Boolean);
  const models = list("models", parsed.settings.model);
  const curricula = list("curricula", "baseline,efficienttrain");
  const seeds = list("seeds", String(parsed.settings.seed)).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) {
      throw new InvalidArgumentError({ argument: "--seeds", value: s, reason: "must be integers" });
    }
    return n;
  });
  const epochsByCurriculum: Record<string, number> = {};
  for (const pair of list("epochs-by-curriculum", "")) {
    const [name, value] = pair.split("=");
    const n = Number(value);
    if (!name || !(n > 0)) {
      throw new InvalidArgumentError({
        argument: "--epochs-by-curriculum",
        value: pair,
        reason: "expected curriculum=epochs with epochs > 0",
      });
    }
    epochsByCurriculum[name] = n;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const outDir = String(own["compare-out"] ?? `${parsed.settings.out}/compare-${stamp}`);
  const { settings } = parsed;
  const layers = trainingLayers(settings, { quiet: false });
  const result = await Effect.runPromise(
    Effect.provide(
      compareJob(settings, { models, curricula, seeds, outDir, epochsByCurriculum }),
      layers,
    ),
  );
  console.log(comparisonMarkdown(result.rows));
  console.log(`table: ${result.markdownPath} and ${result.jsonPath}`);
  console.log(`plots: ${result.plots.join(", ")}`);
  return 0;
});

/** The arguments minus this command's own flags (parseTrainArgs is strict). */
function withoutOwnFlags(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--table-only") continue;
    if (OWN.some((k) => args[i] === `--${k}`)) {
      i++; // skip its value too
      continue;
    }
    if (!OWN.some((k) => args[i].startsWith(`--${k}=`))) out.push(args[i]);
  }
  return out;
}

/**
 * `deno task models [--json] [--classes N] [--in-chans C] [--size S]`: every registered
 * variant with its parameter count and GFLOPs at its default input size (or at side S, for
 * the variants that accept it), and the sizes it accepts. Counts come from the parameter
 * specs; nothing is allocated.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "@efficienttrain/core";
import { acceptsSize, listModels, type ModelInfo, modelInfo } from "@efficienttrain/models";

function positiveInt(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError({
      argument: flag,
      value: raw,
      reason: `must be an integer ≥ ${min}`,
    });
  }
  return v;
}

function main(args: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        json: { type: "boolean", default: false },
        classes: { type: "string" },
        "in-chans": { type: "string" },
        size: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`models: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log("usage: deno task models [--json] [--classes N] [--in-chans C] [--size S]");
    return 0;
  }
  let rows: ModelInfo[];
  try {
    const numClasses = positiveInt("--classes", values.classes, 0);
    const inChans = positiveInt("--in-chans", values["in-chans"], 1);
    const size = positiveInt("--size", values.size, 1);
    rows = listModels()
      .filter((name) => size === undefined || acceptsSize(modelInfo(name).inputRule, size))
      .map((name) => modelInfo(name, { numClasses, inChans, imgSize: size }));
  } catch (e) {
    console.error(`models: ${(e as Error).message}`);
    return 2;
  }
  if (values.json) {
    console.log(JSON.stringify(rows.map((r) => ({ ...r, gflops: r.flops / 1e9 })), null, 2));
    return 0;
  }
  const header = ["model", "family", "size", "params", "GFLOPs", "legal sizes", "classes"];
  if (values.size !== undefined) header[2] = "S";
  const table = rows.map((r) => [
    r.name,
    r.family,
    String(values.size ?? r.defaultSize),
    r.params.toLocaleString("en-US"),
    (r.flops / 1e9).toPrecision(4),
    r.inputRule.step === 1 ? `≥ ${r.inputRule.min}` : `${r.inputRule.step}k ≥ ${r.inputRule.min}`,
    String(r.numClasses),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(
      "  ",
    );
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of table) console.log(line(row));
  console.log("\nGFLOPs = 2 × multiply-adds of convs, linears and attention matmuls, one image.");
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));

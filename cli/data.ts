/**
 * `deno task data inspect --data <spec> [--json] [--skip-bad-images] [--no-cache]`
 *
 * Loads a dataset (see `loadDataset` for specs) and prints its classes, counts per split and
 * per class, image size and per-channel mean/std; `--json` prints one JSON object.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "@efficienttrain/core";
import { classCounts, DatasetError, loadDataset } from "@efficienttrain/data";

const USAGE = `usage: deno task data inspect --data <spec> [--json] [--skip-bad-images] [--no-cache]
       [--image-size N] [--cache-dir DIR]
spec: mnist | mnist:<dir> | fashion-mnist:<dir> | cifar10:<path> | cifar100:<path> | folder:<path> | <path>`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      json: { type: "boolean", default: false },
      "skip-bad-images": { type: "boolean", default: false },
      "no-cache": { type: "boolean", default: false },
      "cache-dir": { type: "string" },
      "image-size": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const command = positionals[0] ?? "inspect";
  if (command !== "inspect") {
    throw new InvalidArgumentError({ argument: "command", value: command, reason: USAGE });
  }
  if (!values.data) {
    throw new InvalidArgumentError({ argument: "--data", value: "(missing)", reason: USAGE });
  }
  let imageSize: number | undefined;
  if (values["image-size"] !== undefined) {
    imageSize = Number(values["image-size"]);
    if (!Number.isInteger(imageSize) || imageSize <= 0) {
      throw new InvalidArgumentError({
        argument: "--image-size",
        value: values["image-size"],
        reason: "must be a positive integer",
      });
    }
  }
  const started = performance.now();
  const ds = await loadDataset(values.data, {
    cache: !values["no-cache"],
    cacheDir: values["cache-dir"],
    skipBadImages: values["skip-bad-images"],
    imageSize,
    log: values.json ? undefined : (line) => console.error(line),
  });
  const seconds = (performance.now() - started) / 1000;
  const { info } = ds;
  const perClass = (counts: number[]) =>
    Object.fromEntries(info.classes.map((c, i) => [c, counts[i]]));
  const report = {
    name: info.name,
    spec: values.data,
    classes: info.classes,
    numClasses: info.classes.length,
    splits: info.splits,
    perClass: {
      train: perClass(classCounts(ds.train, info.classes.length)),
      test: perClass(classCounts(ds.test, info.classes.length)),
    },
    imageShape: {
      height: info.imageShape[0],
      width: info.imageShape[1],
      channels: info.imageShape[2],
    },
    mean: info.mean,
    std: info.std,
    skippedImages: ds.skipped,
    fromCache: ds.fromCache,
    loadSeconds: Number(seconds.toFixed(3)),
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  const f = (xs: readonly number[]) => xs.map((x) => x.toFixed(4)).join(", ");
  console.log(`dataset   ${info.name} (${values.data})`);
  console.log(`classes   ${info.classes.length}: ${info.classes.join(", ")}`);
  console.log(`images    ${info.imageShape[0]}×${info.imageShape[1]}×${info.imageShape[2]}`);
  console.log(`train     ${info.splits.train}`);
  console.log(`test      ${info.splits.test}`);
  console.log(`mean      ${f(info.mean)}`);
  console.log(`std       ${f(info.std)}`);
  if (values["skip-bad-images"] || ds.skipped > 0) {
    console.log(`skipped   ${ds.skipped} bad images`);
  }
  console.log(`loaded in ${seconds.toFixed(2)} s${ds.fromCache ? " (decoded cache)" : ""}`);
  console.log("per class (train / test):");
  const tr = classCounts(ds.train, info.classes.length);
  const te = classCounts(ds.test, info.classes.length);
  const width = Math.max(...info.classes.map((c) => c.length));
  info.classes.forEach((c, i) => console.log(`  ${c.padEnd(width)}  ${tr[i]} / ${te[i]}`));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof DatasetError || e instanceof InvalidArgumentError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}

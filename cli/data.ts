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
import {
  classCounts,
  DatasetError,
  defaultAugment,
  loadDataset,
  Loader,
} from "@efficienttrain/data";

const USAGE = `usage: deno task data inspect --data <spec> [--json] [--skip-bad-images] [--no-cache]
       [--image-size N] [--cache-dir DIR]
       deno task data loader --data <spec> [--batch-size 128] [--workers 2] [--magnitude 9]
       [--batches 100] [--step-ms 0] [--size N] [--json]
  loader: training-loader throughput; --step-ms busy-spins that long per batch to stand in
  for a training step, and the report says how long the consumer waited for data
spec: mnist | mnist:<dir> | fashion-mnist:<dir> | cifar10:<path> | cifar100:<path> |
      imagenette:<path> | folder:<path> | <path>`;

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
      "batch-size": { type: "string", default: "128" },
      workers: { type: "string", default: "2" },
      magnitude: { type: "string", default: "9" },
      batches: { type: "string", default: "100" },
      "step-ms": { type: "string", default: "0" },
      size: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const command = positionals[0] ?? "inspect";
  if (command !== "inspect" && command !== "loader") {
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
  if (command === "loader") {
    const int = (flag: string, min: number): number => {
      const raw = values[flag as keyof typeof values] as string;
      const v = Number(raw);
      if (!Number.isInteger(v) || v < min) {
        throw new InvalidArgumentError({
          argument: `--${flag}`,
          value: raw,
          reason: `must be an integer ≥ ${min}`,
        });
      }
      return v;
    };
    const batchSize = int("batch-size", 1), workers = int("workers", 0);
    const magnitude = Number(values.magnitude), batches = int("batches", 1);
    const stepMs = Number(values["step-ms"]);
    const size = values.size === undefined ? undefined : int("size", 1);
    const augment = defaultAugment(ds.train, { magnitude, mean: info.mean, size });
    const loader = new Loader(ds.train, { batchSize, workers, seed: 0, augment, dropLast: true });
    try {
      // one warm-up epoch slice so worker start-up and JIT are outside the measurement
      let warm = 0;
      for await (const _ of loader.epoch(0)) {
        if (++warm >= Math.min(4, loader.batchesPerEpoch)) break;
      }
      loader.stats.waitMs = 0;
      loader.stats.batches = 0;
      let images = 0, done = 0, epoch = 1;
      const t0 = performance.now();
      while (done < batches) {
        for await (const b of loader.epoch(epoch++)) {
          images += b.n;
          const end = performance.now() + stepMs;
          while (performance.now() < end) { /* stand-in for a training step */ }
          if (++done >= batches) break;
        }
      }
      const wall = (performance.now() - t0) / 1000;
      const report = {
        spec: values.data,
        batchSize,
        workers,
        magnitude,
        outputSize: loader.outputHeight,
        batches: done,
        imagesPerSecond: Math.round(images / wall),
        stepMs,
        waitMsTotal: Math.round(loader.stats.waitMs),
        waitMsPerBatch: Number((loader.stats.waitMs / done).toFixed(2)),
        waitFraction: Number((loader.stats.waitMs / 1000 / wall).toFixed(4)),
      };
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `${report.imagesPerSecond} images/s over ${done} batches of ${batchSize} ` +
            `(${loader.outputHeight} px, RandAugment m=${magnitude}, ${workers} workers)`,
        );
        console.log(
          `consumer waited ${report.waitMsTotal} ms in total, ${report.waitMsPerBatch} ms/batch ` +
            `(${(100 * report.waitFraction).toFixed(1)}% of wall time, step ${stepMs} ms)`,
        );
      }
    } finally {
      await loader.close();
    }
    return 0;
  }
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

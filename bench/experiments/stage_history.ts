/**
 * Does a model's step at its final side cost more after it trained at smaller sides? The DeiT
 * EfficientTrain++ run of record (3×3 tokens for its first stages) took ~1.5× as long per step at
 * 96 and 128 px as the sibling runs at the same sides. This times forward + backward at the final
 * side on a fresh model, then again after `--steps` steps at each earlier side, in one process.
 *
 *   OMP_NUM_THREADS=1 taskset -c 0 deno run -A bench/experiments/stage_history.ts \
 *     --model deit_tiny_patch16_224 --final 128 --history 48,96
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { createModel } from "@efficienttrain/models";
import { measureStepTimes } from "@efficienttrain/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "deit_tiny_patch16_224" },
    final: { type: "string", default: "128" },
    history: { type: "string", default: "48,96" },
    steps: { type: "string", default: "30" },
    batch: { type: "string", default: "64" },
    backend: { type: "string", default: "native" },
  },
});
const final = Number(values.final), batchSize = Number(values.batch), steps = Number(values.steps);
const history = values.history.split(",").map(Number);
if (![final, batchSize, steps, ...history].every((v) => Number.isInteger(v) && v > 0)) {
  throw new Error(`stage_history: sides, --steps and --batch must be positive integers`);
}
await initBackend(values.backend as BackendName);
const model = createModel(values.model, { seed: 0, numClasses: 10, imgSize: final });
const options = { batchSize, channels: 3, numClasses: 10, steps: 5 };
// the native backend's pool of output buffers, in MB, when it has one
const pooled = (): string => {
  const bytes = (tf.backend() as { pooledBytes?: number }).pooledBytes;
  return bytes === undefined ? "" : `, ${(bytes / 2 ** 20).toFixed(0)} MB pooled`;
};
const ms = async (): Promise<string> => {
  const t = await measureStepTimes(model, [final], options);
  return `${(1000 * batchSize * t.min[final]).toFixed(0)} ms (median ${
    (1000 * batchSize * t.median[final]).toFixed(0)
  })${pooled()}`;
};
console.log(`${values.model} at ${final}, fresh: ${await ms()} per batch of ${batchSize}`);
for (const side of history) {
  // measureStepTimes leaves the model at its original side; these steps are the stage's
  await measureStepTimes(model, [side], { ...options, steps });
  console.log(`after ${steps} steps at ${side}: ${await ms()}`);
}
model.dispose();

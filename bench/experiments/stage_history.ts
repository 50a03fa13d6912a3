/**
 * Does a model's step at its final side cost more after it trained at smaller sides? The DeiT
 * EfficientTrain++ run of record (3×3 tokens for its first stages) took ~1.5× as long per step at
 * 96 and 128 px as the sibling runs at the same sides. This runs `--steps` steps at each earlier
 * side, then times forward + backward at the final side, in the run's order, dropping the native
 * backend's buffer pool at each change of side as the trainer does; then the same on a fresh
 * model. (The first version timed the fresh model first, which pooled the final side's buffers
 * before the history ran and hid the pool's cost at a new side.)
 *
 *   OMP_NUM_THREADS=1 taskset -c 0 deno run -A bench/experiments/stage_history.ts \
 *     --model deit_tiny_patch16_224 --final 128 --history 48,96
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, type Model } from "@efficienttrain/core";
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
const options = { batchSize, channels: 3, numClasses: 10, steps: 5 };
// the native backend's pool of output buffers, in MB, when it has one
const pool = tf.backend() as { pooledBytes?: number; releasePooled?: () => number };
const pooled = (): string =>
  pool.pooledBytes === undefined ? "" : `, ${(pool.pooledBytes / 2 ** 20).toFixed(0)} MB pooled`;
const ms = async (model: Model): Promise<string> => {
  pool.releasePooled?.();
  const t = await measureStepTimes(model, [final], options);
  return `${(1000 * batchSize * t.min[final]).toFixed(0)} ms (median ${
    (1000 * batchSize * t.median[final]).toFixed(0)
  })${pooled()}`;
};
const trained = createModel(values.model, { seed: 0, numClasses: 10, imgSize: final });
for (const side of history) {
  pool.releasePooled?.();
  // measureStepTimes leaves the model at its original side; these steps are the stage's
  await measureStepTimes(trained, [side], { ...options, steps });
  console.log(`${steps} steps at ${side}${pooled()}`);
}
console.log(
  `${values.model} at ${final} after that history: ${await ms(trained)} per batch of ${batchSize}`,
);
trained.dispose();
const fresh = createModel(values.model, { seed: 0, numClasses: 10, imgSize: final });
console.log(`${values.model} at ${final}, fresh: ${await ms(fresh)}`);
fresh.dispose();

/**
 * Does a trained model's step cost more than a fresh one's at the same side? The DeiT
 * EfficientTrain++ runs stepped ~1.5× slower at 96 and 128 px than their sibling runs, and still
 * did after a resume into a fresh process, so the cost travels with the weights. This times
 * forward + backward at `--side` on a fresh model and on each checkpoint's weights, counts the
 * subnormal floats in the gradients (x86 cores take a microcode assist on each), and with
 * `--flush` sets flush-to-zero and denormals-are-zero before the backend loads.
 *
 *   OMP_NUM_THREADS=1 taskset -c 0 deno run -A bench/experiments/checkpoint_step.ts \
 *     --model deit_tiny_patch16_224 --side 96 --checkpoint runs/x/checkpoint.safetensors
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, type Model } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { setFlushDenormals } from "@efficienttrain/backend-native";
import { createModel } from "@efficienttrain/models";
import { loadCheckpoint, measureStepTimes, softTargetCrossEntropy } from "@efficienttrain/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "deit_tiny_patch16_224" },
    side: { type: "string", default: "96" },
    batch: { type: "string", default: "64" },
    steps: { type: "string", default: "5" },
    checkpoint: { type: "string", multiple: true, default: [] },
    backend: { type: "string", default: "native" },
    flush: { type: "boolean", default: false },
  },
});
const side = Number(values.side), batchSize = Number(values.batch), steps = Number(values.steps);
if (![side, batchSize, steps].every((v) => Number.isInteger(v) && v > 0)) {
  throw new Error(`checkpoint_step: --side, --batch and --steps must be positive integers`);
}
if (values.flush) console.log(`flush to zero: ${setFlushDenormals(true)}`);
await initBackend(values.backend as BackendName);

const SMALLEST_NORMAL = 1.1754943508222875e-38;
function subnormalShare(tensors: readonly tf.Tensor[]): string {
  let sub = 0, all = 0;
  for (const t of tensors) {
    const d = t.dataSync();
    all += d.length;
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i]);
      if (a !== 0 && a < SMALLEST_NORMAL) sub++;
    }
  }
  return `${sub} of ${all} gradient values subnormal`;
}

async function report(label: string, model: Model): Promise<void> {
  const t = await measureStepTimes(model, [side], {
    batchSize,
    channels: 3,
    numClasses: 10,
    steps,
  });
  if (model.inputSize !== side) model.setInputSize(side);
  const x = tf.randomNormal([batchSize, side, side, 3]) as tf.Tensor4D;
  const classes = [...Array(batchSize).keys()].map((i) => i % 10);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, "int32"), 10).toFloat()) as tf.Tensor2D;
  const { value, grads } = tf.variableGrads(
    () => softTargetCrossEntropy(model.forward(x, { training: true, seed: 1 }), y),
    [...model.params.values()],
  );
  const share = subnormalShare(Object.values(grads));
  tf.dispose([x, y, value, ...Object.values(grads)]);
  console.log(
    `${label}: ${
      (1000 * batchSize * t.min[side]).toFixed(0)
    } ms per batch of ${batchSize} at ${side} ` +
      `(median ${(1000 * batchSize * t.median[side]).toFixed(0)}); ${share}`,
  );
}

const fresh = createModel(values.model, { seed: 0, numClasses: 10, imgSize: side });
await report("fresh", fresh);
for (const path of values.checkpoint) {
  const ckpt = await loadCheckpoint(path);
  fresh.setInputSize(ckpt.state.inputSize);
  for (const [name, v] of fresh.params) v.assign(ckpt.params.get(name)!);
  for (const [name, v] of fresh.buffers) v.assign(ckpt.buffers.get(name)!);
  tf.dispose([
    ...ckpt.params.values(),
    ...ckpt.buffers.values(),
    ...ckpt.optimizer.values(),
    ...ckpt.ema.values(),
  ]);
  await report(`${path} (step ${ckpt.state.step}, side ${ckpt.state.inputSize})`, fresh);
}
fresh.dispose();

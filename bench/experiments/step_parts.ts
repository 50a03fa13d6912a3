/**
 * What one training step of an Imagenette run costs, part by part, on one thread: the
 * loader's augmentation of a batch (RandomResizedCrop from the 224-px source to the run's side,
 * flip, RandAugment at m), the tensor pipeline (normalisation and the stage's crop to B), forward
 * and backward, and the optimizer (`--opt adamw|sgd`). The parts other than forward and backward
 * are paid at every side; `step_gap.ts` measures how much a run paid beyond its
 * forward-and-backward profile, this says where it goes.
 *
 *   taskset -c 1 deno run -A bench/experiments/step_parts.ts --model resnet18_half --sides 92,110,128
 *   (ResNet's recipe of record: add --opt sgd --magnitude 2 --rrc-scale 0.35)
 *
 * Synthetic images (the costs do not depend on the pixels); the fastest of `--rounds` repeats
 * per part, after a warm-up. Native backend unless `--backend` says otherwise.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, Rng } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { augmentImage, defaultAugment } from "@efficienttrain/data";
import { createModel } from "@efficienttrain/models";
import {
  createOptimizer,
  DEFAULT_TRAIN_SETTINGS,
  measureStepTimes,
  OPTIMIZER_NAMES,
  type OptimizerName,
  softTargetCrossEntropy,
  type StagePoint,
  tensorPipeline,
} from "@efficienttrain/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "resnet18_half" },
    sides: { type: "string", default: "92,110,128" },
    source: { type: "string", default: "224" },
    batch: { type: "string", default: "64" },
    magnitude: { type: "string", default: "9" },
    rounds: { type: "string", default: "5" },
    backend: { type: "string", default: "native" },
    opt: { type: "string", default: "adamw" },
    "rrc-scale": { type: "string", default: "0.08" },
  },
});
if (!(OPTIMIZER_NAMES as readonly string[]).includes(values.opt)) {
  throw new Error(
    `step_parts: --opt must be one of ${OPTIMIZER_NAMES.join(", ")}, got ${values.opt}`,
  );
}
const optimizerName = values.opt as OptimizerName;
const rrcScale = Number(values["rrc-scale"]);
if (!(rrcScale > 0 && rrcScale <= 1)) {
  throw new Error(`step_parts: --rrc-scale must be in (0, 1], got ${values["rrc-scale"]}`);
}
const sides = values.sides.split(",").map(Number);
const full = Math.max(...sides);
const source = Number(values.source), batch = Number(values.batch);
const rounds = Number(values.rounds);
for (const [flag, v] of Object.entries({ source, batch, rounds, magnitude: values.magnitude })) {
  if (!(Number(v) > 0 || (flag === "magnitude" && Number(v) === 0))) {
    throw new Error(`step_parts: --${flag} must be a positive number, got ${v}`);
  }
}
if (sides.some((s) => !(s > 0 && s <= full))) {
  throw new Error(`step_parts: bad --sides ${values.sides}`);
}
const info = await initBackend(values.backend as BackendName);
const rng = new Rng(0);

/** Fastest of `rounds` timed calls after one warm-up, in milliseconds. */
async function fastest(body: () => unknown | Promise<unknown>): Promise<number> {
  await body();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await body();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

// the loader's part: one batch of augmentation on this thread, as its worker does it
const shape = { height: source, width: source, channels: 3 };
const sourceImages = Array.from({ length: batch }, () => {
  const img = new Uint8Array(source * source * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.int(0, 255);
  return img;
});
const augment = defaultAugment(shape, {
  magnitude: Number(values.magnitude),
  size: full,
  minScale: rrcScale,
});
let augmented: Uint8Array[] = [];
const augmentMs = await fastest(() => {
  augmented = sourceImages.map((img) => augmentImage(img, shape, augment, rng));
});
const images = new Uint8Array(batch * full * full * 3);
augmented.forEach((img, i) => images.set(img, i * full * full * 3));
const hostBatch = {
  images,
  labels: Int32Array.from({ length: batch }, (_, i) => i % 10),
  n: batch,
  height: full,
  width: full,
  channels: 3,
};

const settings = { ...DEFAULT_TRAIN_SETTINGS, labelSmoothing: 0.1 };
const pipeline = tensorPipeline(settings, { mean: [0.46, 0.46, 0.43], std: [0.28, 0.28, 0.3] }, 10);
const model = createModel(values.model, { numClasses: 10, inChans: 3, imgSize: full, seed: 0 });
const optimizer = createOptimizer(optimizerName, {
  weightDecay: optimizerName === "sgd" ? 5e-4 : 0.05,
  noWeightDecay: (n) => model.noWeightDecay(n),
});

// forward and backward exactly as the cost model's old profile timed them
const forwardBackward = await measureStepTimes(model, sides, {
  batchSize: batch,
  channels: 3,
  numClasses: 10,
  steps: rounds,
});

console.log(
  `${values.model}, batch ${batch}, ${source} px source, backend ${info.name}; ms per batch, ` +
    `fastest of ${rounds}, optimizer ${optimizerName}, RandAugment m ${values.magnitude}, ` +
    `RandomResizedCrop scale ${rrcScale}–1`,
);
console.log(
  "| side | augment (loader) | pipeline (normalise, crop) | forward + backward | optimizer | all but forward + backward |",
);
console.log("|---|---|---|---|---|---|");
for (const side of sides) {
  const stage: StagePoint = {
    index: 0,
    imageSize: side,
    magnitude: Number(values.magnitude),
    cropMethod: side === full ? "none" : "fft",
    mixupScale: 1,
  };
  if (model.inputSize !== side) model.setInputSize(side);
  const params = [...model.params.values()];
  const pipelineMs = await fastest(async () => {
    const { images, targets } = pipeline.train(hostBatch, { rng, stage });
    await images.data();
    tf.dispose([images, targets]);
  });
  // one real gradient for the optimizer to apply
  const grads = tf.tidy(() => {
    const { images: x, targets: y } = pipeline.train(hostBatch, { rng, stage });
    return tf.variableGrads(
      () => softTargetCrossEntropy(model.forward(x, { training: true, seed: 1 }), y),
      params,
    ).grads;
  });
  const byName = new Map([...model.params].map(([k, v]) => [v.name, k]));
  const named = new Map(Object.entries(grads).map(([v, g]) => [byName.get(v)!, g]));
  const optimizerMs = await fastest(async () => {
    tf.tidy(() => optimizer.apply(model.params, named, 1e-6));
    await params[0].data();
  });
  tf.dispose(Object.values(grads));
  const stepMs = forwardBackward.min[side] * batch * 1000;
  const fixed = augmentMs + pipelineMs + optimizerMs;
  console.log(
    `| ${side} | ${augmentMs.toFixed(0)} | ${pipelineMs.toFixed(0)} | ${stepMs.toFixed(0)} | ` +
      `${optimizerMs.toFixed(0)} | ${fixed.toFixed(0)} (${
        (100 * fixed / (fixed + stepMs)).toFixed(0)
      } %) |`,
  );
}
model.dispose();
optimizer.dispose();

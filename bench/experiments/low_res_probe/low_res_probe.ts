/**
 * Does a model learn at a fixed low resolution? Trains `model` for 3 epochs on a seeded
 * 10,240-image sample of CIFAR-10, every image area-resized to S×S, and reports the train loss
 * and the top-1 on 2,000 test images at the same S — no curriculum, no size change, no
 * augmentation, so only the model and the resolution vary.
 *
 *   deno run -A bench/experiments/low_res_probe/low_res_probe.ts <model> <S> [--backend native|wasm|cpu]
 *     [--data cifar10:<path>] [--out results.jsonl]
 *
 * With `--out`, the final epoch is appended to that file as one JSON line (model, side,
 * backend, loss, top-1, seconds), which `bench/experiments/low_res_probe/low_res_probe.sh` collects into a table.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { Rng } from "@efficienttrain/core";
import { initBackend, resize } from "@efficienttrain/backend-tfjs";
import { createModel } from "@efficienttrain/models";
import { type ImageSet, loadDataset } from "@efficienttrain/data";
import { AdamW } from "@efficienttrain/train";

const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    backend: { type: "string", default: "auto" },
    data: { type: "string", default: "cifar10:../shared/data/cifar10-jpg.tar.gz" },
    out: { type: "string" },
  },
});
const [model = "convnext_micro_patch2_32", sideArg = "22"] = positionals;
const side = Number(sideArg);
const N_TRAIN = 10240, N_TEST = 2000, BATCH = 128, EPOCHS = 3, LR = 2e-3;
// deit_micro's forward over 500 images in one tidy aborts tfjs-wasm (a wasm `Aborted()` in
// Mean, with every activation of the pass alive against its 4 GiB heap; 250 runs), so the
// test set goes in batches of 100: inference is per image, so top-1 does not change.
const EVAL_BATCH = 100;
const backend = await initBackend(flags.backend as Parameters<typeof initBackend>[0]);
const started = performance.now();
const ds = await loadDataset(flags.data!);
const [h, w, c] = ds.info.imageShape;
const px = h * w * c;

function sample(
  set: ImageSet,
  n: number,
  seed: number,
): { images: Uint8Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const order = Array.from({ length: set.count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const images = new Uint8Array(n * px), labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    images.set(set.images.subarray(order[k]! * px, (order[k]! + 1) * px), k * px);
    labels[k] = set.labels[order[k]!]!;
  }
  return { images, labels };
}

const train = sample(ds.train, N_TRAIN, 1), test = sample(ds.test, N_TEST, 2);
const batchAt = (images: Uint8Array, from: number, n: number): tf.Tensor4D =>
  tf.tidy(() => {
    const x = tf.tensor4d(images.subarray(from * px, (from + n) * px), [n, h, w, c], "float32");
    const normalised = tf.div(tf.sub(tf.div(x, 255), ds.info.mean), ds.info.std) as tf.Tensor4D;
    return side === h ? normalised : resize(normalised, { size: side, method: "area" });
  });

const m = createModel(model, { seed: 0, inChans: c, numClasses: ds.info.classes.length });
if (!m.acceptsInputSize(side)) throw new Error(`${model} does not accept side ${side}`);
m.setInputSize(side);
const optimizer = new AdamW({
  weightDecay: 0.05,
  noWeightDecay: (k) => /bias|norm|gamma|bn/.test(k),
});
const params = [...m.params.values()];
const steps = (EPOCHS * N_TRAIN) / BATCH;
for (let epoch = 0, step = 0; epoch < EPOCHS; epoch++) {
  let lossSum = 0;
  for (let b = 0; b < N_TRAIN / BATCH; b++, step++) {
    const warm = Math.min(1, (step + 1) / (steps / 6));
    const lr = LR * warm * 0.5 * (1 + Math.cos((Math.PI * step) / steps));
    const { value, grads } = tf.tidy(() => {
      const x = batchAt(train.images, b * BATCH, BATCH);
      const labels = tf.tensor1d(train.labels.subarray(b * BATCH, (b + 1) * BATCH), "int32");
      const y = tf.oneHot(labels, ds.info.classes.length).toFloat();
      return tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, m.forward(x, { training: true })) as tf.Scalar,
        params,
      );
    });
    lossSum += (await value.data())[0]!;
    const byName = new Map<string, tf.Tensor>();
    for (const [k, v] of m.params) byName.set(k, grads[v.name]!);
    optimizer.apply(m.params, byName, lr);
    tf.dispose([value, grads]);
  }
  let correct = 0;
  for (let b = 0; b < N_TEST / EVAL_BATCH; b++) {
    const predicted = tf.tidy(() =>
      m.forward(batchAt(test.images, b * EVAL_BATCH, EVAL_BATCH), { training: false }).argMax(1)
    );
    const values = await predicted.data();
    predicted.dispose();
    values.forEach((v, i) => {
      if (v === test.labels[b * EVAL_BATCH + i]) correct++;
    });
  }
  const loss = lossSum / (N_TRAIN / BATCH), top1 = (100 * correct) / N_TEST;
  console.log(
    `${model} S=${side} (${backend.name}) epoch ${epoch + 1}: train loss ${loss.toFixed(3)}, ` +
      `test top-1 at S ${top1.toFixed(1)}%`,
  );
  if (epoch === EPOCHS - 1 && flags.out !== undefined) {
    const line = JSON.stringify({
      model,
      side,
      backend: backend.name,
      trainLoss: Number(loss.toFixed(4)),
      top1: Number(top1.toFixed(2)),
      seconds: Math.round((performance.now() - started) / 1000),
    });
    await Deno.writeTextFile(flags.out, line + "\n", { append: true });
  }
}

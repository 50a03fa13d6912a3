/**
 * Small fakes of the trainer's parts, for tests of the loop and of anything that drives it
 * (the curriculum search, the compare command): a tiny any-size conv net, a synthetic
 * dataset whose class is visible at every resolution, and a step curriculum.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import type { Model, ParamResample } from "@efficienttrain/core";
import type {
  BatchSource,
  CurriculumPlan,
  EvalSet,
  HostBatch,
  StagePoint,
  TensorPipeline,
  TrainerParts,
} from "./parts.ts";

let instance = 0;

/**
 * A two-layer any-size convnet (conv3×3 → ReLU → global mean → linear) implementing `Model`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { tinyConvNet } from "@efficienttrain/train/testing";
 * await tf.setBackend("cpu");
 * const m = tinyConvNet({ numClasses: 3, inChans: 1, imgSize: 8, seed: 1 });
 * console.assert(m.forward(tf.zeros([2, 8, 8, 1]), { training: false }).shape[1] === 3);
 * ```
 */
export function tinyConvNet(
  options: { numClasses: number; inChans: number; imgSize: number; seed: number },
): Model {
  const rng = new Rng(options.seed);
  const id = instance++;
  const width = 8;
  const init = (shape: number[], fanIn: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = rng.normal(0, Math.sqrt(2 / fanIn));
    return tf.tensor(values, shape);
  };
  const params = new Map<string, tf.Variable>([
    [
      "conv.weight",
      tf.variable(
        init([3, 3, options.inChans, width], 9 * options.inChans),
        true,
        `tiny${id}.conv.weight`,
      ),
    ],
    ["conv.bias", tf.variable(tf.zeros([width]), true, `tiny${id}.conv.bias`)],
    [
      "fc.weight",
      tf.variable(init([width, options.numClasses], width), true, `tiny${id}.fc.weight`),
    ],
    ["fc.bias", tf.variable(tf.zeros([options.numClasses]), true, `tiny${id}.fc.bias`)],
  ]);
  let inputSize = options.imgSize;
  const model: Model = {
    name: "tiny_convnet",
    get inputSize() {
      return inputSize;
    },
    minInputSize: 3,
    params,
    buffers: new Map(),
    noWeightDecay: (name) => name.endsWith(".bias"),
    acceptsInputSize: (size) => Number.isInteger(size) && size >= 3,
    nearestInputSize: (size) => Math.max(3, Math.round(size)),
    // One "same"-padded conv: the map keeps the input side.
    featureMapSides: (size) => [size ?? inputSize],
    setInputSize(size: number): ReadonlyMap<string, ParamResample> {
      inputSize = size;
      return new Map();
    },
    forwardFeatures(x) {
      return tf.tidy(() => {
        const h = tf.relu(
          tf.add(
            tf.conv2d(x, params.get("conv.weight")! as tf.Tensor4D, 1, "same"),
            params.get("conv.bias")!,
          ),
        );
        return tf.mean(h, [1, 2]) as tf.Tensor2D;
      });
    },
    forwardHead(f) {
      return tf.tidy(() =>
        tf.add(
          tf.matMul(f, params.get("fc.weight")! as tf.Tensor2D),
          params.get("fc.bias")!,
        ) as tf.Tensor2D
      );
    },
    forward(x, o) {
      return tf.tidy(() => model.forwardHead(model.forwardFeatures(x, o)));
    },
    flops: (size = inputSize) =>
      2 * (size * size * 9 * options.inChans * width + width * options.numClasses),
    dispose() {
      for (const v of params.values()) v.dispose();
    },
  };
  return model;
}

/**
 * Synthetic images whose class survives downsampling: horizontal stripes, vertical stripes,
 * or a flat field (classes beyond 3 repeat with other brightness), plus noise.
 *
 * @example
 * ```ts
 * import { syntheticBands } from "@efficienttrain/train/testing";
 * const set = syntheticBands({ count: 4, size: 8, classes: 2, seed: 0 });
 * console.assert(set.images.length === 4 * 8 * 8);
 * ```
 */
export function syntheticBands(
  options: { count: number; size: number; classes: number; seed: number },
): { images: Uint8Array; labels: Int32Array } {
  const { count, size, classes } = options;
  const rng = new Rng(options.seed);
  const images = new Uint8Array(count * size * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.int(0, classes - 1);
    labels[i] = label;
    const pattern = label % 3, level = 120 + 40 * Math.floor(label / 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const stripe = pattern === 0 ? (y >> 1) % 2 : pattern === 1 ? (x >> 1) % 2 : 0.5;
        const value = level + 160 * (stripe - 0.5) + rng.normal(0, 25);
        images[i * size * size + y * size + x] = Math.max(0, Math.min(255, value));
      }
    }
  }
  return { images, labels };
}

/**
 * Trainer parts over {@link syntheticBands} and {@link tinyConvNet} with a two-stage
 * curriculum (B = `small` for the first half, full size after). `failAtStep` makes the batch
 * source throw, simulating a crash.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { syntheticParts } from "@efficienttrain/train/testing";
 * await tf.setBackend("cpu");
 * const parts = syntheticParts({ seed: 0, epochs: 2, small: 6 });
 * console.assert(parts.curriculum.stageAt(0).imageSize === 6);
 * parts.model.dispose();
 * ```
 */
export function syntheticParts(
  options: {
    seed: number;
    epochs: number;
    small: number;
    failAtStep?: number;
    trainCount?: number;
    /** Use this model instead of {@link tinyConvNet} (1 input channel, 3 classes, 12 px). */
    model?: Model;
  },
): TrainerParts {
  const size = 12, classes = 3, batchSize = 16;
  const trainSet = syntheticBands({ count: options.trainCount ?? 96, size, classes, seed: 1 });
  const testSet = syntheticBands({ count: 48, size, classes, seed: 2 });
  const slice = (
    set: typeof trainSet,
    order: ArrayLike<number>,
    start: number,
    n: number,
  ): HostBatch => {
    const images = new Uint8Array(n * size * size);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = order[start + i];
      images.set(set.images.subarray(j * size * size, (j + 1) * size * size), i * size * size);
      labels[i] = set.labels[j];
    }
    return { images, labels, n, height: size, width: size, channels: 1 };
  };
  const count = trainSet.labels.length;
  const batchesPerEpoch = Math.floor(count / batchSize);
  let served = 0;
  const trainBatches: BatchSource = {
    batchesPerEpoch,
    imagesPerEpoch: batchesPerEpoch * batchSize,
    async *batches(epoch, { startBatch }) {
      const order = new Rng(options.seed * 1000 + epoch).permutation(count);
      for (let b = startBatch; b < batchesPerEpoch; b++) {
        if (options.failAtStep !== undefined && served++ === options.failAtStep) {
          throw new Error("simulated crash");
        }
        await Promise.resolve();
        yield slice(trainSet, order, b * batchSize, batchSize);
      }
    },
    close: () => Promise.resolve(),
  };
  const stages: StagePoint[] = [
    {
      index: 0,
      imageSize: options.small,
      magnitude: 1,
      cropMethod: "resize:bilinear",
      mixupScale: 1,
    },
    { index: 1, imageSize: size, magnitude: 9, cropMethod: "resize:bilinear", mixupScale: 1 },
  ];
  const curriculum: CurriculumPlan = {
    name: "two-stage",
    totalEpochs: options.epochs,
    stageCount: 2,
    stageAt: (epoch) => stages[epoch < options.epochs / 2 ? 0 : 1],
    lrProgress: (epoch) => epoch / options.epochs,
    relativeCompute: 0.5 * (options.small / size) ** 2 + 0.5,
  };
  const toTensor = (b: HostBatch) =>
    tf.tidy(() =>
      tf.div(
        tf.sub(tf.tensor4d(b.images, [b.n, b.height, b.width, 1], "float32"), 100),
        80,
      ) as tf.Tensor4D
    );
  const pipeline: TensorPipeline = {
    train(batch, { stage }) {
      return tf.tidy(() => {
        let images = toTensor(batch);
        if (stage.imageSize !== size) {
          images = tf.image.resizeBilinear(images, [stage.imageSize, stage.imageSize]);
        }
        const targets = tf.cast(
          tf.oneHot(tf.tensor1d(batch.labels, "int32"), classes),
          "float32",
        ) as tf.Tensor2D;
        return { images, targets };
      });
    },
    eval: toTensor,
  };
  const test: EvalSet = {
    count: testSet.labels.length,
    batch: (index, n) => {
      const start = index * n;
      const m = Math.min(n, testSet.labels.length - start);
      return slice(testSet, Array.from({ length: testSet.labels.length }, (_, i) => i), start, m);
    },
  };
  return {
    model: options.model ?? tinyConvNet({
      numClasses: classes,
      inChans: 1,
      imgSize: options.small,
      seed: options.seed,
    }),
    numClasses: classes,
    imageSize: size,
    curriculum,
    trainBatches,
    pipeline,
    testSet: test,
  };
}

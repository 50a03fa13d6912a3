import assert from "node:assert/strict";
import "@tensorflow/tfjs-backend-cpu";
// Gradients come with a backend package; these tests use tfjs-cpu directly.
import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";
import { createModel } from "@efficienttrain/models";
import { ModelEma } from "./ema.ts";
import { measureStepTimes, measureTrainingStepTimes } from "./profile.ts";
import type { BatchSource, TensorPipeline } from "./parts.ts";
import { syntheticParts } from "./testing.ts";

Deno.test("step profile: interleaved rounds per size, fastest and median, weights untouched", async () => {
  await tf.setBackend("cpu");
  const model = createModel("test_resnet", { seed: 0, numClasses: 4, inChans: 1 });
  const before = new Map([...model.params].map(([k, v]) => [k, v.dataSync().slice()]));
  try {
    const times = await measureStepTimes(model, [4, 8, 6], {
      batchSize: 4,
      channels: 1,
      numClasses: 4,
      steps: 5,
    });
    assert.deepEqual(Object.keys(times.samples).map(Number).sort((a, b) => a - b), [4, 6, 8]);
    for (const size of [4, 6, 8]) {
      assert.equal(times.samples[size].length, 5);
      assert.ok(times.min[size] > 0 && times.min[size] <= times.median[size]);
      assert.equal(times.min[size], Math.min(...times.samples[size]));
    }
    assert.equal(model.inputSize, 8);
    for (const [k, v] of model.params) assert.deepEqual(v.dataSync(), before.get(k), k);
  } finally {
    model.dispose();
  }
});

Deno.test("training-step profile: the run's loader, pipeline and stages per side; model, moments and streams released", async () => {
  await tf.setBackend("cpu");
  const parts = syntheticParts({ seed: 0, epochs: 2, small: 6 });
  const { model } = parts;
  const side = model.inputSize;
  const before = new Map([...model.params].map(([k, v]) => [k, v.dataSync().slice()]));
  const streams: { epoch: number; magnitude: number; drawn: number; closed: boolean }[] = [];
  const batches: BatchSource = {
    ...parts.trainBatches,
    batches(epoch, options) {
      const record = { epoch, magnitude: options.magnitude, drawn: 0, closed: false };
      streams.push(record);
      const inner = parts.trainBatches.batches(epoch, options);
      return (async function* () {
        try {
          for await (const b of inner) {
            record.drawn++;
            yield b;
          }
        } finally {
          record.closed = true;
        }
      })();
    },
  };
  const piped: string[] = [];
  const pipeline: TensorPipeline = {
    train(batch, options) {
      piped.push(`${options.stage.imageSize}/${options.stage.magnitude}`);
      return parts.pipeline.train(batch, options);
    },
    eval: (batch) => parts.pipeline.eval(batch),
  };
  const stages = [parts.curriculum.stageAt(1.5), parts.curriculum.stageAt(0)];
  const tensorsBefore = tf.memory().numTensors;
  try {
    const times = await measureTrainingStepTimes(
      {
        model,
        batches,
        pipeline,
        stages,
        settings: { seed: 0, clipGrad: 1, lr: 0.1, weightDecay: 0.05 },
      },
      { rounds: 6 },
    );
    assert.deepEqual(Object.keys(times.samples).map(Number).sort((a, b) => a - b), [6, 12]);
    for (const side of [6, 12]) {
      assert.equal(times.samples[side].length, 6);
      assert.ok(times.min[side] > 0 && times.min[side] <= times.median[side]);
    }
    // a stream per side at its stage's magnitude: one warm-up and six timed batches each, from
    // an epoch of six batches and then the next one; every stream closed
    assert.equal(parts.trainBatches.batchesPerEpoch, 6);
    assert.deepEqual(
      streams.map((s) => [s.epoch, s.magnitude, s.drawn, s.closed]).sort(),
      [[0, 1, 6, true], [0, 9, 6, true], [1, 1, 1, true], [1, 9, 1, true]],
    );
    assert.equal(piped.filter((p) => p === "6/1").length, 7);
    assert.equal(piped.filter((p) => p === "12/9").length, 7);
    assert.equal(model.inputSize, side);
    for (const [k, v] of model.params) assert.deepEqual(v.dataSync(), before.get(k), k);
    assert.equal(tf.memory().numTensors, tensorsBefore, "moments, losses and batches released");
  } finally {
    model.dispose();
  }
});

Deno.test("training-step profile: a sample is a whole optimizer step under accumulation, EMA included", async () => {
  await tf.setBackend("cpu");
  const parts = syntheticParts({ seed: 0, epochs: 2, small: 6 });
  const { model } = parts;
  let piped = 0, emaUpdates = 0;
  const pipeline: TensorPipeline = {
    train(batch, options) {
      piped++;
      return parts.pipeline.train(batch, options);
    },
    eval: (batch) => parts.pipeline.eval(batch),
  };
  const update = ModelEma.prototype.update;
  ModelEma.prototype.update = function (source) {
    emaUpdates++;
    return update.call(this, source);
  };
  const tensorsBefore = tf.memory().numTensors;
  try {
    const times = await measureTrainingStepTimes(
      {
        model,
        batches: parts.trainBatches,
        pipeline,
        stages: [parts.curriculum.stageAt(0), parts.curriculum.stageAt(1.5)],
        settings: {
          seed: 0,
          clipGrad: 0,
          lr: 0.1,
          weightDecay: 0.05,
          accumulate: 3,
          ema: true,
          emaDecay: 0.9,
        },
      },
      { rounds: 2 },
    );
    for (const side of [6, 12]) assert.equal(times.samples[side].length, 2);
    // per side: a warm-up and two timed optimizer steps of three micro-batches each
    assert.equal(piped, 2 * 3 * 3);
    assert.equal(emaUpdates, 2 * 3);
    assert.equal(tf.memory().numTensors, tensorsBefore, "EMA copies released");
  } finally {
    ModelEma.prototype.update = update;
    model.dispose();
  }
});

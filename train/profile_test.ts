import assert from "node:assert/strict";
import "@tensorflow/tfjs-backend-cpu";
// Gradients come with a backend package; these tests use tfjs-cpu directly.
import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";
import { createModel } from "@efficienttrain/models";
import { measureStepTimes } from "./profile.ts";

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

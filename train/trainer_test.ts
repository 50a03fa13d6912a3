import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Gradients come with a backend package; these tests use tfjs-cpu directly.
import "@tensorflow/tfjs";

tf.env().set("PROD", true);
import { decodeTrainSettings } from "./settings.ts";
import { train } from "./trainer.ts";
import { syntheticParts } from "./testing.ts";
import { assertGradientsRegistered, NoGradientsError, TrainingDivergedError } from "./errors.ts";
import { createModel } from "@efficienttrain/models";

await tf.setBackend("cpu");

const settings = (overrides: Record<string, unknown> = {}) =>
  decodeTrainSettings({
    epochs: 4,
    batchSize: 16,
    lr: 0.01,
    warmupEpochs: 0.5,
    weightDecay: 0.01,
    evalBatchSize: 24,
    logEverySteps: 2,
    ...overrides,
  });

function snapshot(parts: ReturnType<typeof syntheticParts>): Map<string, Float32Array> {
  return new Map([...parts.model.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

Deno.test("train: learns the synthetic task through a stage change, without leaking tensors", async () => {
  const parts = syntheticParts({ seed: 3, epochs: 12, small: 6 });
  const dir = await Deno.makeTempDir();
  const stages: string[] = [];
  const tensorsPerEpoch: number[] = [];
  const result = await train(parts, {
    settings: settings({ epochs: 12, lr: 0.02 }),
    runDir: dir,
    log: (l) => stages.push(l),
    onMetric: (r) => r.kind === "epoch" && tensorsPerEpoch.push(Number(r.numTensors)),
  });
  assert.ok(result.final.top1 > 0.9, `top-1 ${result.final.top1}`);
  assert.equal(result.history.length, 12);
  assert.ok(stages.some((l) => l.includes("B=12")), "logs the stage change");
  assert.equal(new Set(tensorsPerEpoch.slice(1)).size, 1, `live tensors ${tensorsPerEpoch}`);
  parts.model.dispose();
});

Deno.test("train: a change of side (and only that) asks the backend to drop its pooled buffers", async () => {
  const parts = syntheticParts({ seed: 3, epochs: 4, small: 6 });
  // tfjs-cpu has no pool; a spy stands in for the native backend's
  const backend = tf.backend() as unknown as { releasePooled?: () => number };
  const drops: number[] = [];
  const stages: string[] = [];
  backend.releasePooled = () => {
    drops.push(stages.length);
    return 0;
  };
  try {
    await train(parts, {
      settings: settings(),
      runDir: await Deno.makeTempDir(),
      log: (l) => l.startsWith("stage") && stages.push(l),
    });
  } finally {
    delete backend.releasePooled;
  }
  assert.equal(stages.length, 1, `one stage change: ${stages}`);
  // once, at the change to the full side, before its log line; not at the run's start
  assert.deepEqual(drops, [0]);
  parts.model.dispose();
});

Deno.test("train: Nesterov SGD learns the synthetic task too", async () => {
  const parts = syntheticParts({ seed: 3, epochs: 12, small: 6 });
  const result = await train(parts, {
    settings: settings({ epochs: 12, optimizer: "sgd", lr: 0.2, weightDecay: 5e-4 }),
    runDir: await Deno.makeTempDir(),
  });
  assert.ok(result.final.top1 > 0.9, `top-1 ${result.final.top1}`);
  parts.model.dispose();
});

for (const optimizer of ["adamw", "sgd"] as const) {
  Deno.test(`train (${optimizer}): a crash mid-epoch then --resume reaches the identical weights`, async () => {
    const reference = syntheticParts({ seed: 5, epochs: 3, small: 6 });
    const refResult = await train(reference, {
      settings: settings({ epochs: 3, optimizer }),
      runDir: await Deno.makeTempDir(),
    });
    const expected = snapshot(reference);
    reference.model.dispose();

    const dir = await Deno.makeTempDir();
    const crashing = syntheticParts({ seed: 5, epochs: 3, small: 6, failAtStep: 9 });
    await assert.rejects(
      train(crashing, {
        settings: settings({ epochs: 3, checkpointSteps: 4, optimizer }),
        runDir: dir,
      }),
      /simulated crash/,
    );
    crashing.model.dispose();

    const resumed = syntheticParts({ seed: 5, epochs: 3, small: 6 });
    const result = await train(resumed, {
      settings: settings({ epochs: 3, checkpointSteps: 4, optimizer }),
      runDir: dir,
      resume: true,
    });
    assert.equal(result.resumedFromStep, 8);
    const actual = snapshot(resumed);
    for (const [name, values] of expected) assert.deepEqual(actual.get(name), values, name);
    assert.equal(result.final.top1, refResult.final.top1);
    resumed.model.dispose();
  });
}

Deno.test("train: a NaN loss stops the run naming the step", async () => {
  const parts = syntheticParts({ seed: 1, epochs: 2, small: 6 });
  await assert.rejects(
    train(parts, {
      settings: settings({ epochs: 2, lr: 1e30, warmupEpochs: 0 }),
      runDir: await Deno.makeTempDir(),
    }),
    (e: unknown) => e instanceof TrainingDivergedError && /at step \d+/.test(e.message),
  );
  parts.model.dispose();
});

Deno.test("train: reading the loss every 3 steps trains to the same weights, and a NaN still stops it before any checkpoint", async () => {
  const reference = syntheticParts({ seed: 7, epochs: 2, small: 6 });
  const refResult = await train(reference, {
    settings: settings({ epochs: 2, logEverySteps: 100 }),
    runDir: await Deno.makeTempDir(),
  });
  const expected = snapshot(reference);
  reference.model.dispose();
  const deferred = syntheticParts({ seed: 7, epochs: 2, small: 6 });
  const lossLines: number[] = [];
  const result = await train(deferred, {
    settings: settings({ epochs: 2, logEverySteps: 100, lossReadEvery: 3 }),
    runDir: await Deno.makeTempDir(),
    onMetric: (r) => r.kind === "epoch" && lossLines.push(Number(r.trainLoss)),
  });
  const actual = snapshot(deferred);
  for (const [name, values] of expected) assert.deepEqual(actual.get(name), values, name);
  assert.equal(result.final.top1, refResult.final.top1);
  assert.ok(lossLines.every(Number.isFinite), `epoch-end losses are read: ${lossLines}`);
  deferred.model.dispose();

  // A NaN between reads is caught by the next read: the checkpoint due at step 2 (no metric
  // line or epoch end before step 5 forces one), which then saves nothing.
  const diverging = syntheticParts({ seed: 1, epochs: 2, small: 6 });
  const dir = await Deno.makeTempDir();
  const error = await train(diverging, {
    settings: settings({
      epochs: 2,
      lr: 1e30,
      warmupEpochs: 0,
      logEverySteps: 100,
      lossReadEvery: 5,
      checkpointSteps: 2,
    }),
    runDir: dir,
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof TrainingDivergedError, String(error));
  const checkpoints = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".safetensors"));
  assert.deepEqual(checkpoints, [], `caught at ${error.message}`);
  diverging.model.dispose();
});

Deno.test("train: gradient accumulation of 2×8 equals one batch of 16 in shape of the result", async () => {
  const parts = syntheticParts({ seed: 2, epochs: 2, small: 6 });
  const result = await train(parts, {
    settings: settings({ epochs: 2, accumulate: 2 }),
    runDir: await Deno.makeTempDir(),
  });
  assert.ok(Number.isFinite(result.final.loss));
  assert.equal(result.steps, 12);
  parts.model.dispose();
});

Deno.test("train: parameters replaced by a size change (DeiT pos_embed) keep training", async () => {
  const model = createModel("test_deit", { numClasses: 3, inChans: 1, imgSize: 8, seed: 1 });
  const parts = syntheticParts({ seed: 1, epochs: 2, small: 8, model });
  let atStageChange: Float32Array | undefined;
  await train(parts, {
    settings: settings({ epochs: 2 }),
    runDir: await Deno.makeTempDir(),
    log: (line) => {
      if (line.startsWith("stage")) {
        atStageChange = model.params.get("pos_embed")!.dataSync() as Float32Array;
      }
    },
  });
  assert.ok(atStageChange, "the stage change happened");
  const final = model.params.get("pos_embed")!.dataSync() as Float32Array;
  assert.equal(final.length, atStageChange.length);
  assert.notDeepEqual(final, atStageChange, "pos_embed was updated after the resample");
  model.dispose();
});

Deno.test("train: without registered gradients it says how to get them", () => {
  // The registry is global: take one gradient away for the assertion and put it back.
  const saved = tf.getGradient("Add");
  assert.ok(saved);
  tf.unregisterGradient("Add");
  try {
    assert.throws(
      () => assertGradientsRegistered(),
      (e: unknown) =>
        e instanceof NoGradientsError && /Add/.test(e.message) && /initBackend/.test(e.message),
    );
  } finally {
    tf.registerGradient(saved);
  }
  assertGradientsRegistered();
});

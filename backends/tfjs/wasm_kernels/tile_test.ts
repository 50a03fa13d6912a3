import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, ints, parity, randn, runOn } from "./testing.ts";

const cases: Array<[number[], number[]]> = [
  [[3], [4]],
  [[2, 3], [1, 1]],
  [[2, 3], [3, 2]],
  [[1, 1, 1, 5], [2, 3, 4, 1]], // the batch-norm gradient's tile of a per-channel scale
  [[2, 1, 3, 2], [1, 4, 1, 3]],
];

for (const [shape, reps] of cases) {
  Deno.test(`wasm tile matches cpu: [${shape}] × [${reps}]`, async () => {
    const err = await parity([randn(new Rng(shape.join()), shape)], (x) => tf.tile(x, reps));
    assert.equal(err, 0);
  });
}

Deno.test("wasm tile keeps int32 values", async () => {
  const [got] = await runOn("wasm", [ints([2], [7, -1])], (x) => tf.tile(x, [3]));
  assert.deepEqual(Array.from(got), [7, -1, 7, -1, 7, -1]);
});

Deno.test("wasm tile gradient and batchNorm gradient match cpu", async () => {
  const rng = new Rng(9);
  const err = await parity([randn(rng, [2, 3])], gradsOf((x) => tf.tile(x, [2, 2]), [4, 6]));
  assert.ok(err <= 1e-6, `tile: relative error ${err}`);
  const bn = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, b, g, 1e-5);
  };
  const inputs = [randn(rng, [4, 5, 5, 6]), randn(rng, [6]), randn(rng, [6])];
  const errBn = await parity(inputs, gradsOf(bn, [4, 5, 5, 6]));
  assert.ok(errBn <= 1e-4, `batchNorm: relative error ${errBn}`);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { ints, parity, randn, runOn } from "./testing.ts";

const cases: Array<[number[], number[], boolean]> = [
  [[4, 5, 5, 6], [0, 1, 2], false], // batch-norm statistics over N, H, W
  [[4, 5, 5, 6], [0, 1, 2], true],
  [[3, 4, 4, 5], [1, 2], false], // global average pooling
  [[3, 4, 4, 5], [2, 1], true],
  [[7, 9], [0], false], // bias gradient
  [[2, 3, 4], [-1], false], // innermost: tfjs-wasm's own kernel
  [[2, 3, 4], [0, 2], false], // not contiguous: tfjs-wasm's own kernel
  [[2, 3, 4], [0, 1, 2], false],
];

for (const [shape, axes, keepDims] of cases) {
  Deno.test(`wasm sum and mean match cpu: [${shape}] over [${axes}]${keepDims ? " keepDims" : ""}`, async () => {
    const x = randn(new Rng(shape.join() + axes.join()), shape);
    const err = await parity([x], (t) => [tf.sum(t, axes, keepDims), tf.mean(t, axes, keepDims)]);
    assert.ok(err <= 1e-6, `relative error ${err}`);
  });
}

Deno.test("wasm sum keeps int32 sums exact and shapes with keepDims", async () => {
  const [got] = await runOn("wasm", [ints([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])], (t) => {
    const s = tf.sum(t, [0, 1], true);
    assert.deepEqual(s.shape, [1, 1, 2]);
    assert.equal(s.dtype, "int32");
    return s;
  });
  assert.deepEqual(Array.from(got), [16, 20]);
});

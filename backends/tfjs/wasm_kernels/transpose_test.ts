import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { ints, parity, randn, runOn } from "./testing.ts";
import { simplifyPermutation } from "./transpose.ts";

const cases: Array<[number[], number[]]> = [
  [[5, 7], [1, 0]],
  [[40, 33], [1, 0]], // tiled 2-d path across tile edges
  [[2, 3, 4], [0, 2, 1]],
  [[2, 3, 4], [2, 0, 1]],
  [[2, 3, 20], [1, 0, 2]], // innermost axis kept: run copies
  [[2, 3, 4, 5], [0, 3, 1, 2]], // NHWC → NCHW
  [[2, 3, 4, 5], [0, 2, 3, 1]], // NCHW → NHWC
  [[2, 5, 3, 2, 4], [2, 0, 3, 1, 4]], // attention: [B, T, 3, H, d] → [3, B, H, T, d]
  [[2, 3, 2, 3, 20], [2, 0, 3, 1, 4]], // rank 5, long runs
  [[2, 3, 2, 3, 2], [4, 2, 0, 3, 1]], // rank 5, innermost axis moves
  [[2, 2, 3, 2, 3, 4], [0, 1, 3, 2, 4, 5]], // Swin window partition
  [[1, 6, 1, 5], [3, 1, 2, 0]], // size-1 axes
  [[3, 4], [0, 1]], // identity
];

for (const [shape, perm] of cases) {
  Deno.test(`wasm transpose matches cpu: [${shape}] by [${perm}]`, async () => {
    const err = await parity(
      [randn(new Rng(shape.join() + perm.join()), shape)],
      (x) => tf.transpose(x, perm),
    );
    assert.equal(err, 0);
  });
}

Deno.test("wasm transpose keeps int32 values and shapes", async () => {
  const [got] = await runOn("wasm", [ints([2, 3], [1, 2, 3, 4, 5, 6])], (x) => {
    const t = tf.transpose(x);
    assert.deepEqual(t.shape, [3, 2]);
    assert.equal(t.dtype, "int32");
    return t;
  });
  assert.deepEqual(Array.from(got), [1, 4, 2, 5, 3, 6]);
});

Deno.test("simplifyPermutation merges adjacent axes and drops size-1 axes", () => {
  assert.deepEqual(simplifyPermutation([2, 3, 4, 5], [0, 2, 3, 1]), {
    shape: [2, 3, 20],
    perm: [0, 2, 1],
  });
  assert.deepEqual(simplifyPermutation([1, 6, 1, 5], [3, 1, 2, 0]), {
    shape: [6, 5],
    perm: [1, 0],
  });
  assert.deepEqual(simplifyPermutation([3, 4], [0, 1]), { shape: [12], perm: [0] });
});

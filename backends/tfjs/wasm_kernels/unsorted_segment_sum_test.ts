import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, ints, parity, randn, relError, runOn } from "./testing.ts";

Deno.test("wasm gather gradient (relative position bias lookup) matches cpu", async () => {
  const rng = new Rng(1);
  // A 3x3 window's relative-position index into a (2·3−1)² × heads table, as in Swin.
  const w = 3, idx: number[] = [];
  for (let i = 0; i < w * w; i++) {
    for (let j = 0; j < w * w; j++) {
      const dy = Math.floor(i / w) - Math.floor(j / w) + w - 1;
      const dx = (i % w) - (j % w) + w - 1;
      idx.push(dy * (2 * w - 1) + dx);
    }
  }
  const table = randn(rng, [(2 * w - 1) ** 2, 4]);
  const indices = ints([idx.length], idx);
  const err = await parity(
    [table, indices],
    (t, i) => gradsOf((tt) => tf.gather(tt, i), [idx.length, 4])(t),
  );
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

Deno.test("wasm UnsortedSegmentSum drops out-of-range ids", async () => {
  const x = randn(new Rng(2), [6, 5]);
  const ids = ints([6], [0, 3, -1, 2, 0, 7]);
  const seg = (xt: tf.Tensor, it: tf.Tensor) => tf.unsortedSegmentSum(xt, it as tf.Tensor1D, 4);
  const [got] = await runOn("wasm", [x, ids], seg);
  const [ref] = await runOn("cpu", [x, ids], seg);
  assert.ok(relError(got, ref) <= 1e-6, `error ${relError(got, ref)}`);
  assert.deepEqual(Array.from(got.subarray(5, 10)), [0, 0, 0, 0, 0]); // segment 1 gets nothing
});

Deno.test("wasm UnsortedSegmentSum accepts n-d ids (tfjs-cpu does not)", async () => {
  const x = {
    shape: [2, 2, 1],
    values: Float32Array.from([1, 2, 3, 4]),
    dtype: "float32" as const,
  };
  const ids = ints([2, 2], [1, 0, 1, 5]);
  const [got] = await runOn(
    "wasm",
    [x, ids],
    (xt, it) =>
      tf.engine().runKernel("UnsortedSegmentSum", { x: xt, segmentIds: it }, {
        numSegments: 2,
      }) as tf.Tensor,
  );
  assert.deepEqual(Array.from(got), [2, 4]);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend.ts";
import { ints, runOn } from "./testing.ts";

const floats = {
  shape: [6],
  values: Float32Array.from([0, 0.5, -0.5, 2.7, -3.9, 1e9]),
  dtype: "float32" as const,
};

for (const dtype of ["float32", "int32", "bool"] as const) {
  Deno.test(`wasm cast float32 → ${dtype} matches cpu`, async () => {
    const [got] = await runOn("wasm", [floats], (x) => tf.cast(x, dtype));
    const [ref] = await runOn("cpu", [floats], (x) => tf.cast(x, dtype));
    assert.deepEqual(Array.from(got), Array.from(ref));
  });
}

Deno.test("wasm cast int32 → bool/float32 matches cpu, same-dtype cast shares data", async () => {
  const x = ints([4], [0, 3, -1, 0]);
  for (const dtype of ["bool", "float32", "int32"] as const) {
    const [got] = await runOn("wasm", [x], (t) => tf.cast(t, dtype));
    const [ref] = await runOn("cpu", [x], (t) => tf.cast(t, dtype));
    assert.deepEqual(Array.from(got), Array.from(ref), dtype);
  }
  await initBackend("wasm");
  const before = tf.backend().numDataIds();
  const a = tf.tensor1d([1, 2]);
  const b = tf.cast(a, "float32");
  assert.equal(tf.backend().numDataIds(), before + 1);
  a.dispose();
  assert.deepEqual(Array.from(await b.data()), [1, 2]);
  b.dispose();
});

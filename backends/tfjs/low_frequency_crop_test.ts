import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { InvalidArgumentError, lowFrequencyCropReference, Rng } from "@efficienttrain/core";
import { clearSeparableCache, lowFrequencyCrop, lowFrequencyCropFFT } from "./mod.ts";

await tf.setBackend("cpu");
// silence the cpu backend's "install tfjs-node" banner
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false;

function randomImages(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.next());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("matrix and FFT crops match the float64 reference on cpu (both layouts, both modes)", () => {
  const cases = [
    { shape: [2, 16, 16, 3], size: 12, layout: "NHWC" as const, mode: "paper" as const },
    {
      shape: [2, 3, 16, 12],
      size: [10, 6] as [number, number],
      layout: "NCHW" as const,
      mode: "paper" as const,
    },
    {
      shape: [1, 15, 9, 2],
      size: [7, 5] as [number, number],
      layout: "NHWC" as const,
      mode: "hermitian" as const,
    },
    { shape: [1, 2, 14, 14], size: 8, layout: "NCHW" as const, mode: "hermitian" as const },
    // one axis uncropped: its identity factor still takes the complex (two-part) layout
    {
      shape: [1, 8, 12, 2],
      size: [8, 6] as [number, number],
      layout: "NHWC" as const,
      mode: "paper" as const,
    },
  ];
  for (const c of cases) {
    const data = randomImages(c.shape, 11);
    const want = lowFrequencyCropReference(data, c.shape, c);
    const x = tf.tensor4d(data, c.shape as [number, number, number, number]);
    for (const impl of [lowFrequencyCrop, lowFrequencyCropFFT]) {
      const y = impl(x, c);
      assert.ok(maxAbsDiff(y.dataSync(), want) < 1e-5, `${impl.name} ${JSON.stringify(c)}`);
      y.dispose();
    }
    x.dispose();
  }
});

Deno.test("no tensor leaks: only the cached matrices survive, once per shape", () => {
  clearSeparableCache();
  const x = tf.randomUniform([2, 8, 8, 1]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    lowFrequencyCrop(x, { size: 4 });
  });
  const cached = tf.memory().numTensors - before;
  // square input: one matrix shared by both axes + the two Nyquist-correction tensors, kept
  // through the tidy
  assert.equal(cached, 3);
  for (let i = 0; i < 3; i++) {
    tf.dispose([lowFrequencyCrop(x, { size: 4 }), lowFrequencyCropFFT(x, { size: 4 })]);
  }
  assert.equal(tf.memory().numTensors - before, cached);
  assert.equal(clearSeparableCache(), 3);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

Deno.test("validation errors are tagged and name the value", () => {
  const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
  assert.throws(() => lowFrequencyCrop(x, { size: 9 }), InvalidArgumentError);
  assert.throws(() => lowFrequencyCrop(x, { size: 3 }), /even B/);
  assert.throws(
    () => lowFrequencyCrop(tf.zeros([1, 8, 8, 1], "int32") as tf.Tensor4D, { size: 4 }),
    /images.dtype = "int32"/,
  );
  assert.throws(
    () => lowFrequencyCrop(tf.zeros([8, 8, 1]) as unknown as tf.Tensor4D, { size: 4 }),
    /rank 4/,
  );
  const bad = tf.tensor4d([0, NaN, 0, 0], [1, 2, 2, 1]);
  assert.throws(
    () => lowFrequencyCrop(bad, { size: 2, mode: "hermitian", checkFinite: true }),
    /NaN/,
  );
  assert.doesNotThrow(() => tf.dispose(lowFrequencyCrop(bad, { size: 2 })));
  tf.dispose([x, bad]);
});

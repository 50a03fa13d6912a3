import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import {
  InvalidArgumentError,
  lowFrequencyCropReference,
  resizeReference,
  Rng,
} from "@efficienttrain/core";
import {
  getWebGPUDevice,
  lowFrequencyCropTfjsWebGPU,
  lowFrequencyCropWebGPU,
  resizeWebGPU,
} from "./mod.ts";

// llvmpipe is a software rasteriser: keep every shape tiny
const gpu = await getWebGPUDevice();
const ignore = gpu === undefined;

function random(shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.next());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test({
  name: "WGSL crop matches the float64 reference (layouts, modes, widths not divisible by 4)",
  ignore,
  fn: async () => {
    const cases = [
      { shape: [2, 16, 13, 3], size: [8, 6] as [number, number], mode: "paper" as const },
      {
        shape: [1, 3, 11, 9],
        size: [7, 5] as [number, number],
        mode: "hermitian" as const,
        layout: "NCHW" as const,
      },
      { shape: [2, 2, 8, 8], size: 8, mode: "paper" as const, layout: "NCHW" as const },
      {
        shape: [1, 2, 8, 10],
        size: [8, 4] as [number, number],
        mode: "paper" as const,
        layout: "NCHW" as const,
      },
    ];
    for (const c of cases) {
      const x = random(c.shape, 2);
      const y = await lowFrequencyCropWebGPU(x, c);
      assert.ok(maxAbsDiff(y, lowFrequencyCropReference(x, c.shape, c)) < 1e-5, JSON.stringify(c));
    }
    await assert.rejects(
      () => lowFrequencyCropWebGPU(new Float32Array(64), { shape: [1, 8, 8, 1], size: 7 }),
      InvalidArgumentError,
    );
  },
});

Deno.test({
  name: "WGSL resize matches the float64 reference",
  ignore,
  fn: async () => {
    const shape = [1, 10, 7, 2];
    const x = random(shape, 3);
    for (const method of ["bicubic", "area", "lanczos"] as const) {
      const y = await resizeWebGPU(x, { shape, size: [6, 5], method });
      assert.ok(maxAbsDiff(y, resizeReference(x, shape, { size: [6, 5], method })) < 1e-5, method);
    }
  },
});

Deno.test({
  name: "the WGSL crop runs on tfjs-webgpu's device and tensors (shared GPUDevice)",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    if (!(await tf.setBackend("webgpu"))) return;
    const shape = [2, 3, 16, 16] as [number, number, number, number];
    const data = random(shape, 5);
    const want = lowFrequencyCropReference(data, shape, { size: 8, layout: "NCHW" });
    const x = tf.tensor4d(data, shape);
    // tfjs-webgpu keeps fresh small tensors on the CPU; mul moves this one onto the GPU
    tf.env().set("WEBGPU_CPU_FORWARD", false);
    const onGpu = tf.mul(x, 1) as tf.Tensor4D;
    for (const input of [x, onGpu]) {
      const before = tf.memory().numTensors;
      const y = lowFrequencyCropTfjsWebGPU(input, { size: 8, layout: "NCHW" });
      assert.equal(tf.memory().numTensors, before + 1);
      assert.ok(maxAbsDiff(await y.data(), want) < 1e-5);
      y.dispose();
    }
    tf.dispose([x, onGpu]);
  },
});

/**
 * The models on the wasm backend (with the project's gradient kernels): gradients of every
 * test variant match the cpu backend's, and `resnet8_cifar`, the main job's model, learns a
 * small synthetic task at a curriculum of input sizes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { Rng } from "@efficienttrain/core";
import { createModel } from "@efficienttrain/models";
import { input, trainStep } from "./models_util.ts";

const VARIANTS: Record<string, number> = {
  test_resnet: 8,
  test_convnext: 16,
  test_deit: 12,
  test_swin: 16,
};

for (const [name, size] of Object.entries(VARIANTS)) {
  Deno.test(`${name}: wasm gradients equal cpu gradients`, async () => {
    await initBackend("cpu");
    const m = createModel(name, { seed: 7 });
    if (m.inputSize !== size) m.setInputSize(size);
    // layer scale 1e-6 / zero-init gammas would make most gradients trivially tiny
    for (const [k, v] of m.params) if (k.endsWith("gamma")) v.assign(tf.onesLike(v));
    const x = input(2, size);
    const cpu = trainStep(m, x, { seed: 1 });
    const cpuGrads = new Map([...cpu.grads].map(([k, g]) => [k, g.dataSync().slice()]));
    tf.dispose([...cpu.grads.values()]);
    await initBackend("wasm");
    try {
      const wasm = trainStep(m, x, { seed: 1 });
      assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-4 * Math.max(1, cpu.loss));
      for (const [k, g] of wasm.grads) {
        const a = cpuGrads.get(k)!, b = g.dataSync();
        let err = 0, scale = 1e-6;
        for (let i = 0; i < a.length; i++) {
          err = Math.max(err, Math.abs(a[i] - b[i]));
          scale = Math.max(scale, Math.abs(a[i]));
        }
        assert.ok(err <= 2e-3 * scale, `${k}: max |Δ| ${err} vs max |g| ${scale}`);
      }
      tf.dispose([...wasm.grads.values()]);
    } finally {
      x.dispose();
      m.dispose();
      await initBackend("cpu");
    }
  });
}

Deno.test("resnet8_cifar learns a synthetic task across sizes 12 → 16 (wasm, SGD momentum)", async () => {
  await initBackend("wasm");
  const rng = new Rng(3);
  // class k: horizontal stripes, vertical stripes, a checkerboard or a flat field (period 4
  // px, random phase) under noise: translation-invariant, so global pooling can see it
  const batch = (n: number, side: number): { x: tf.Tensor4D; y: tf.Tensor2D } => {
    const data = new Float32Array(n * side * side);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = rng.int(0, 3);
      labels.push(k);
      const pr = rng.int(0, 3), pc = rng.int(0, 3);
      for (let r = 0; r < side; r++) {
        for (let c = 0; c < side; c++) {
          const h = ((r + pr) >> 1) & 1, v = ((c + pc) >> 1) & 1;
          const on = [h, v, h ^ v, 0.5][k];
          data[(i * side + r) * side + c] = on + 0.3 * rng.normal();
        }
      }
    }
    return {
      x: tf.tensor4d(data, [n, side, side, 1]),
      y: tf.oneHot(tf.tensor1d(labels, "int32"), 4) as tf.Tensor2D,
    };
  };
  const m = createModel("resnet8_cifar", { numClasses: 4, inChans: 1, imgSize: 16, seed: 1 });
  const vars = [...m.params.values()];
  const velocity: tf.Tensor[] = vars.map((v) => tf.zerosLike(v));
  const losses: number[] = [];
  try {
    for (let step = 0; step < 24; step++) {
      const side = step < 12 ? 12 : 16;
      const { x, y } = batch(16, side);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, m.forward(x, { training: true })) as tf.Scalar,
        vars,
      );
      losses.push(value.dataSync()[0]);
      tf.tidy(() => {
        vars.forEach((v, i) => {
          const g = grads[v.name];
          const nv = tf.add(tf.mul(velocity[i], 0.9), g);
          velocity[i].dispose();
          velocity[i] = tf.keep(nv);
          v.assign(tf.sub(v, tf.mul(nv, 0.05)));
        });
      });
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
    const { x, y } = batch(64, 16);
    const acc = tf.tidy(() =>
      tf.mean(
        tf.cast(
          tf.equal(tf.argMax(m.forward(x, { training: false }), 1), tf.argMax(y, 1)),
          "float32",
        ),
      )
        .dataSync()[0]
    );
    tf.dispose([x, y]);
    const first = losses.slice(0, 4).reduce((a, b) => a + b) / 4;
    const last = losses.slice(-4).reduce((a, b) => a + b) / 4;
    assert.ok(last < 0.5 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    assert.ok(acc > 0.8, `eval accuracy ${acc}`);
  } finally {
    tf.dispose(velocity);
    m.dispose();
    await initBackend("cpu");
  }
});

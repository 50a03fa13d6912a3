import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { badGrads, input, trainStep, useCpu } from "../tests/models_util.ts";
import { createModel, modelInfo, RESNET_CONFIGS, resnetSpecs } from "./mod.ts";

// Two legal sizes per test variant (the default and a smaller curriculum size).
const SIZES: Record<string, [number, number]> = {
  test_resnet: [8, 6],
  test_convnext: [16, 12],
  test_deit: [16, 12],
  test_swin: [16, 24],
};

for (const [name, sizes] of Object.entries(SIZES)) {
  Deno.test(`${name}: forward shapes at two sizes, features and head`, async () => {
    await useCpu();
    const m = createModel(name, { numClasses: 5, inChans: 2 });
    try {
      for (const size of sizes) {
        assert.ok(m.acceptsInputSize(size), `${name} accepts ${size}`);
        m.setInputSize(size);
        const x = input(3, size, 2);
        const y = m.forward(x, { training: false });
        assert.deepEqual(y.shape, [3, 5]);
        const f = m.forwardFeatures(x, { training: false });
        const z = m.forwardHead(f);
        assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(y, z))).dataSync()[0]) < 1e-5);
        tf.dispose([x, y, f, z]);
      }
    } finally {
      m.dispose();
    }
  });

  Deno.test(`${name}: finite gradients for every parameter, no leaks across steps`, async () => {
    await useCpu();
    const m = createModel(name, { numClasses: 4, dropPathRate: 0.1, seed: 3 });
    const x = input(2, sizes[0]);
    try {
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        const { loss, grads } = trainStep(m, x, { seed: step });
        assert.ok(Number.isFinite(loss));
        assert.deepEqual(badGrads(m, grads), []);
        assert.equal(grads.size, m.params.size);
        tf.dispose([...grads.values()]);
        counts.push(tf.memory().numTensors);
      }
      assert.equal(counts[2], counts[1], `tensor count grows: ${counts}`);
    } finally {
      x.dispose();
      m.dispose();
    }
  });

  Deno.test(`${name}: input-size changes leave no tensors behind`, async () => {
    await useCpu();
    const m = createModel(name, { numClasses: 4, seed: 0 });
    try {
      const before = tf.memory();
      for (let round = 0; round < 3; round++) {
        m.setInputSize(sizes[1]);
        m.setInputSize(sizes[0]);
      }
      const after = tf.memory();
      assert.equal(after.numTensors, before.numTensors, "tensors");
      assert.equal(after.numBytes, before.numBytes, "bytes");
    } finally {
      m.dispose();
    }
  });

  Deno.test(`${name}: parameter count equals the spec count, flops scale with size`, async () => {
    await useCpu();
    const m = createModel(name);
    try {
      let n = 0;
      for (const v of m.params.values()) n += v.size;
      assert.equal(n, modelInfo(name).params);
      assert.ok(m.flops(sizes[0]) > 0);
      assert.equal(m.flops(), modelInfo(name).flops);
    } finally {
      m.dispose();
    }
  });
}

Deno.test("batch norm: running stats move in training (momentum 0.1) and eval uses them", async () => {
  await useCpu();
  const m = createModel("test_resnet", { seed: 1 });
  const x = input(4, 8);
  try {
    const before = m.buffers.get("bn1.running_mean")!.dataSync().slice();
    const varBefore = m.buffers.get("bn1.running_var")!.dataSync().slice();
    const { grads } = trainStep(m, x);
    tf.dispose([...grads.values()]);
    const after = m.buffers.get("bn1.running_mean")!.dataSync();
    const varAfter = m.buffers.get("bn1.running_var")!.dataSync();
    assert.ok(after.some((v, i) => Math.abs(v - before[i]) > 1e-6), "running_mean changed");
    assert.ok(varAfter.some((v, i) => Math.abs(v - varBefore[i]) > 1e-6), "running_var changed");
    assert.ok([...after, ...varAfter].every(Number.isFinite));
    // running_mean = 0.9·0 + 0.1·batch mean of the stem conv output
    const batchMean = tf.tidy(() => {
      const w = m.params.get("conv1.weight")!;
      return tf.mean(tf.conv2d(x, w as tf.Tensor4D, 1, 1), [0, 1, 2]).dataSync();
    });
    for (let c = 0; c < after.length; c++) {
      assert.ok(Math.abs(after[c] - 0.1 * batchMean[c]) < 1e-5);
    }
    // eval mode leaves them alone
    tf.dispose(m.forward(x, { training: false }));
    assert.deepEqual([...m.buffers.get("bn1.running_mean")!.dataSync()], [...after]);
  } finally {
    x.dispose();
    m.dispose();
  }
});

Deno.test("resnet8_cifar: every side from 4 to 28 runs, MNIST-shaped input", async () => {
  await useCpu();
  const m = createModel("resnet8_cifar", { inChans: 1 });
  try {
    assert.equal(m.minInputSize, 4);
    for (const size of [4, 5, 17, 20, 21, 24, 28]) {
      const shape = tf.tidy(() => m.forward(input(1, size, 1), { training: false }).shape);
      assert.deepEqual(shape, [1, 10]);
    }
    assert.equal(m.nearestInputSize(2), 4);
    assert.equal(m.nearestInputSize(22.5), 23);
  } finally {
    m.dispose();
  }
});

Deno.test("drop path: same seed → same output, different seed → different", async () => {
  await useCpu();
  const m = createModel("test_convnext", { dropPathRate: 0.5, layerScaleInit: 1 });
  const x = input(4, 16);
  try {
    const run = (seed: number) => tf.tidy(() => m.forward(x, { training: true, seed }).dataSync());
    const a = run(1), b = run(1), c = run(2);
    assert.deepEqual([...a], [...b]);
    assert.notDeepEqual([...a], [...c]);
  } finally {
    x.dispose();
    m.dispose();
  }
});

Deno.test("illegal sizes and inputs are rejected with InvalidArgumentError", async () => {
  await useCpu();
  const m = createModel("test_swin");
  try {
    assert.throws(() => m.setInputSize(20), { name: "InvalidArgumentError" });
    const x = input(1, 16, 1);
    assert.throws(() => m.forward(x, { training: false }), /expects NHWC/);
    x.dispose();
    assert.equal(m.nearestInputSize(20), 24);
    assert.equal(m.nearestInputSize(3), 8);
  } finally {
    m.dispose();
  }
});

Deno.test("a training step at a size other than inputSize resamples on the fly, grads reach the stored params", async () => {
  await useCpu();
  for (
    const [name, size, key] of [
      ["test_deit", 8, "pos_embed"],
      ["test_swin", 24, "layers.0.blocks.1.attn.relative_position_bias_table"],
    ] as const
  ) {
    const m = createModel(name, { seed: 2 });
    const x = input(2, size);
    try {
      const shape = m.params.get(key)!.shape;
      const { grads } = trainStep(m, x);
      assert.deepEqual(badGrads(m, grads), []);
      assert.deepEqual(grads.get(key)!.shape, shape);
      assert.ok(grads.get(key)!.dataSync().some((v) => v !== 0), `${name}: ${key} gets gradient`);
      tf.dispose([...grads.values()]);
    } finally {
      x.dispose();
      m.dispose();
    }
  }
});

Deno.test("initialisation follows the reference recipes", async () => {
  await useCpu();
  const std = (v: tf.Tensor): number => {
    const d = Array.from(v.dataSync() as Float32Array);
    const m = d.reduce((a, b) => a + b, 0) / d.length;
    return Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length);
  };
  const r = createModel("resnet20_cifar", { zeroInitLast: true });
  const c = createModel("test_convnext");
  const v = createModel("test_deit");
  try {
    // He fan-out: layer3 3×3 convs have 64·9 fan-out
    const w = r.params.get("layer3.1.conv1.weight")!;
    assert.ok(Math.abs(std(w) / Math.sqrt(2 / (64 * 9)) - 1) < 0.05, `he std ${std(w)}`);
    assert.ok(
      r.params.get("layer3.1.bn2.weight")!.dataSync().every((x) => x === 0),
      "zero-init last BN",
    );
    assert.ok(r.params.get("layer3.1.bn1.weight")!.dataSync().every((x) => x === 1));
    // default: off for the small-stem variants, on for the ImageNet ones
    const r2 = createModel("resnet8_cifar");
    assert.ok(r2.params.get("layer1.0.bn2.weight")!.dataSync().every((x) => x === 1));
    r2.dispose();
    const spec = resnetSpecs(RESNET_CONFIGS.resnet18, { numClasses: 10, inChans: 3 }).specs;
    assert.equal(spec.find((s) => s.name === "layer4.1.bn2.weight")!.init.kind, "zeros");
    // ConvNeXt/ViT: trunc-normal(0.02) weights, zero biases, layer scale 1e-6, cls normal(1e-6)
    const fc1 = c.params.get("stages.1.blocks.0.mlp.fc1.weight")!;
    assert.ok(Math.abs(std(fc1) - 0.02) < 0.003, `convnext std ${std(fc1)}`);
    assert.ok(c.params.get("stages.1.blocks.0.mlp.fc1.bias")!.dataSync().every((x) => x === 0));
    assert.ok(
      c.params.get("stages.0.blocks.0.gamma")!.dataSync().every((x) => Math.abs(x - 1e-6) < 1e-12),
    );
    assert.ok(std(v.params.get("cls_token")!) < 1e-5);
    assert.ok(Math.abs(std(v.params.get("pos_embed")!) - 0.02) < 0.005);
    // weight decay: none for 1-D params, the position embedding and the cls token
    assert.equal(v.noWeightDecay("pos_embed"), true);
    assert.equal(v.noWeightDecay("blocks.0.attn.qkv.weight"), false);
    assert.equal(v.noWeightDecay("blocks.0.norm1.weight"), true);
    assert.throws(() => v.noWeightDecay("nope"), /no such parameter/);
  } finally {
    r.dispose();
    c.dispose();
    v.dispose();
  }
});

// The variants the Imagenette runs train, at a small side: inference holds one block's
// intermediates at a time, a training-mode forward every block's (the backward pass needs them).
const INFERENCE_MEMORY: [string, number][] = [
  ["resnet18_half", 32],
  ["convnext_atto", 32],
  ["deit_tiny_patch16_224", 32],
  ["swin_micro_patch4_window4_128", 64],
];

for (const [name, side] of INFERENCE_MEMORY) {
  Deno.test(`${name}: inference at ${side} px allocates at peak under half a training-mode forward`, async () => {
    await useCpu();
    const m = createModel(name, { numClasses: 10, imgSize: side, seed: 1 });
    const x = input(2, side);
    try {
      const peak = async (training: boolean) => {
        const before = tf.memory().numBytes;
        const profile = await tf.profile(() => m.forward(x, { training, seed: 1 }));
        tf.dispose(profile.result as tf.Tensor);
        return profile.peakBytes - before;
      };
      const [inference, training] = [await peak(false), await peak(true)];
      assert.ok(
        inference < 0.5 * training,
        `${name}: inference peak ${inference} bytes, training-mode forward ${training}`,
      );
    } finally {
      x.dispose();
      m.dispose();
    }
  });
}

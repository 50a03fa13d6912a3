// Whole blocks of the four model families, trained one step on wasm and on cpu: every
// gradient kernel composed the way the models compose them.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, parity, randn } from "./testing.ts";

function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5);
}

function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), gamma), beta);
}

const gelu = (x: tf.Tensor): tf.Tensor =>
  tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

Deno.test("ResNet basic block with stem and head: wasm gradients match cpu", async () => {
  const rng = new Rng("resnet");
  const inputs = [
    randn(rng, [2, 12, 12, 3]),
    randn(rng, [7, 7, 3, 8]), // stem conv 7×7/2
    randn(rng, [3, 3, 8, 8]),
    randn(rng, [3, 3, 8, 16]), // 3×3/2
    randn(rng, [1, 1, 8, 16]), // 1×1/2 shortcut
    randn(rng, [16]),
    randn(rng, [16]),
    randn(rng, [16, 5]),
  ];
  const net = (...t: tf.Tensor[]) => {
    const [x, stem, c1, c2, sc, g, b, fc] = t as tf.Tensor4D[];
    let h = tf.relu(batchNorm(tf.conv2d(x, stem, 2, "same"), g.slice(0, 8), b.slice(0, 8)));
    h = tf.maxPool(h as tf.Tensor4D, 3, 2, "same");
    const y = tf.relu(tf.conv2d(h as tf.Tensor4D, c1, 1, "same"));
    const z = batchNorm(tf.conv2d(y as tf.Tensor4D, c2, 2, "same"), g, b);
    const out = tf.relu(tf.add(z, tf.conv2d(h as tf.Tensor4D, sc, 2, "valid")));
    return tf.matMul(tf.mean(out, [1, 2]) as tf.Tensor2D, fc as unknown as tf.Tensor2D);
  };
  const err = await parity(inputs, gradsOf(net, [2, 5]));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

Deno.test("ConvNeXt block with patchify stem: wasm gradients match cpu", async () => {
  const rng = new Rng("convnext");
  const C = 8;
  const inputs = [
    randn(rng, [2, 16, 16, 3]),
    randn(rng, [4, 4, 3, C]), // patchify 4×4/4
    randn(rng, [7, 7, C, 1]), // depthwise 7×7
    randn(rng, [C]),
    randn(rng, [C]),
    randn(rng, [C, 4 * C]),
    randn(rng, [4 * C, C]),
  ];
  const net = (...t: tf.Tensor[]) => {
    const [x, stem, dw, g, b, fc1, fc2] = t;
    const h = tf.conv2d(x as tf.Tensor4D, stem as tf.Tensor4D, 4, "valid");
    let y = tf.depthwiseConv2d(h, dw as tf.Tensor4D, 1, "same");
    y = layerNorm(y, g, b).reshape([-1, C]);
    y = tf.matMul(gelu(tf.matMul(y, fc1 as tf.Tensor2D)) as tf.Tensor2D, fc2 as tf.Tensor2D);
    return tf.add(h, y.reshape(h.shape));
  };
  const err = await parity(inputs, gradsOf(net, [2, 4, 4, C]));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

Deno.test("Swin/DeiT attention with relative position bias: wasm gradients match cpu", async () => {
  const rng = new Rng("attention");
  const [B, T, C, H, w] = [3, 9, 16, 2, 3]; // 3×3 window → 9 tokens, 2 heads
  const idx: number[] = [];
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const dy = Math.floor(i / w) - Math.floor(j / w) + w - 1, dx = (i % w) - (j % w) + w - 1;
      idx.push(dy * (2 * w - 1) + dx);
    }
  }
  const inputs = [
    randn(rng, [B, T, C]),
    randn(rng, [C, 3 * C]),
    randn(rng, [C, C]),
    randn(rng, [(2 * w - 1) ** 2, H]),
  ];
  const net = (...t: tf.Tensor[]) => {
    const [x, wqkv, wo, table] = t;
    const index = tf.tensor1d(idx, "int32");
    const qkv = tf.matMul(x.reshape([B * T, C]), wqkv as tf.Tensor2D)
      .reshape([B, T, 3, H, C / H]).transpose([2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv);
    const bias = tf.gather(table, index).reshape([T, T, H]).transpose([2, 0, 1]);
    const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), (C / H) ** -0.5), bias));
    const o = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, C]);
    return tf.logSoftmax(tf.matMul(o, wo as tf.Tensor2D));
  };
  const err = await parity(inputs, gradsOf(net, [B * T, C]));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

/**
 * Attention's fused kernels on tfjs-webgpu against tfjs-cpu's formulas, over swept shapes
 * (batch 1, one token, one head, head widths 1 and odd, DeiT's class token making N odd, rows
 * past the workgroup widths and past one dispatch dimension): the head split (q, k, v and the
 * gradient of qkv through all three), softmax's gradient, and scaled dot-product attention
 * (tokens, and the gradients of q, k, v and Swin's per-window bias), and Swin's shifted window
 * partition and merge. The whole DeiT and Swin training
 * steps that use them are in `webgpu_training_kernels_test.ts`. Runs on llvmpipe; skipped
 * without an adapter.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { FUSED_KERNELS, Rng } from "@efficienttrain/core";
import { attention, splitHeads, windowMerge, windowPartition } from "@efficienttrain/models";
import { dispatchesOf, random, startWebgpu, worstRelative } from "./webgpu_util.ts";

const ignore = !(await startWebgpu());

/** `[batch, tokens, heads, headDim]` */
const SHAPES: readonly [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 1, 1, 3],
  [2, 5, 3, 7],
  [1, 17, 3, 16], // DeiT-like: 4×4 patches plus the class token
  [3, 16, 2, 32], // Swin-like: a 4×4 window, more than one workgroup of elements per head
  [2, 65, 4, 8],
];

/** q, k, v and d(Σ q·wq + k·wk + v·wv)/d qkv on `backend`, and the kernels that ran. */
async function splitOn(
  backend: string,
  shape: readonly [number, number, number, number],
): Promise<{ values: Float32Array[]; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const [b, n, heads, headDim] = shape;
  const rng = new Rng(shape.reduce((a, x) => a * 13 + x, 5));
  const qkvShape = [b, n, 3 * heads * headDim];
  const qkv = tf.tensor3d(random(qkvShape, rng, 2), qkvShape as [number, number, number]);
  const headShape = [b, heads, n, headDim];
  const weights = [0, 1, 2].map(() => tf.tensor(random(headShape, rng, 1), headShape));
  const scale = headDim ** -0.5;
  const profile = await tf.profile(() => {
    const outputs = splitHeads(qkv, heads, { scale });
    const grad = tf.grad((x: tf.Tensor) =>
      tf.addN(
        splitHeads(x as tf.Tensor3D, heads, { scale }).map((t, i) => tf.sum(tf.mul(t, weights[i]))),
      )
    )(qkv);
    return [...outputs, grad];
  });
  const all = profile.result as tf.Tensor[];
  const values = await Promise.all(all.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...all, qkv, ...weights]);
  return { values, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: the fused attention head split and its gradient match tfjs-cpu's formula",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const shape of SHAPES) {
      const gpu = await splitOn("webgpu", shape);
      const cpu = await splitOn("cpu", shape);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.splitHeads), `[${shape}]: fused forward ran`);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.splitHeadsGrad), `[${shape}]: fused backward`);
      assert.ok(!cpu.kernels.includes(FUSED_KERNELS.splitHeads), `[${shape}]: cpu formula`);
      ["q", "k", "v", "dqkv"].forEach((what, i) => {
        const err = worstRelative(gpu.values[i], cpu.values[i]);
        // a copy and one multiplication in the same order: exact up to the product's rounding
        assert.ok(err < 1e-6, `[${shape}] ${what}: relative error ${err}`);
      });
    }
    await tf.setBackend("webgpu");
  },
});

Deno.test({
  name: "webgpu: the head split is one dispatch each way and uploads no scale; softmax grad one",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("webgpu");
    const attrs = { heads: 3, scale: 0.25 } as unknown as tf.NamedAttrMap;
    const qkv = tf.ones([2, 5, 18]);
    const d = tf.ones([2, 3, 5, 2]);
    const run = (name: string, inputs: Record<string, tf.Tensor>) => () =>
      tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor[];
    assert.equal(dispatchesOf(run(FUSED_KERNELS.splitHeads, { qkv })), 1, "forward");
    assert.equal(dispatchesOf(run(FUSED_KERNELS.splitHeadsGrad, { dq: d, dk: d, dv: d })), 1);
    assert.equal(dispatchesOf(run(FUSED_KERNELS.softmaxGrad, { dy: d, y: d })), 1, "softmax");
    const before = tf.memory().numTensors;
    const outputs = splitHeads(qkv as tf.Tensor3D, 3, { scale: 0.25 });
    // the formula leaves its slices, reshapes and the scale (a host number uploaded) behind
    assert.equal(tf.memory().numTensors - before, 3, "nothing but q, k and v made");
    assert.equal((await outputs[0].data())[0], 0.25);
    tf.dispose([qkv, d, ...outputs]);
  },
});

/** d(Σ softmax(x)·w)/dx on `backend`, and the kernels that ran. */
async function softmaxGradientOn(
  backend: string,
  shape: readonly number[],
): Promise<{ dx: Float32Array; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const rng = new Rng(shape.reduce((a, x) => a * 7 + x, 11));
  const x = tf.tensor(random(shape, rng, 4), [...shape]);
  const w = tf.tensor(random(shape, rng, 1), [...shape]);
  const profile = await tf.profile(() =>
    tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), w)))(x)
  );
  const dx = profile.result as tf.Tensor;
  const values = (await dx.data()) as Float32Array;
  tf.dispose([dx, x, w]);
  return { dx: values, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: the fused softmax gradient matches tfjs-cpu's formula over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shapes = [[1, 1], [1, 7], [3, 5], [2, 3, 17], [2, 4, 16, 16], [2, 4100], [65537, 2]];
    for (const shape of shapes) {
      const gpu = await softmaxGradientOn("webgpu", shape);
      const cpu = await softmaxGradientOn("cpu", shape);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.softmaxGrad), `[${shape}]: fused ran`);
      assert.ok(!cpu.kernels.includes(FUSED_KERNELS.softmaxGrad), `[${shape}]: cpu formula`);
      const err = worstRelative(gpu.dx, cpu.dx);
      assert.ok(err < 1e-4, `[${shape}] dx: relative error ${err}`);
    }
    await tf.setBackend("webgpu");
  },
});

/** `[groups, heads, tokens, headDim, biasGroups (0: no bias), q's magnitude]` */
const ATTENTION_SHAPES: readonly [number, number, number, number, number, number?][] = [
  [1, 1, 1, 1, 0],
  [1, 1, 1, 3, 1],
  [2, 3, 5, 7, 0],
  [1, 3, 17, 16, 0], // DeiT-like: 4×4 patches plus the class token
  [4, 2, 16, 8, 2], // Swin-like: two images of two 4×4 windows, a bias per window
  [3, 1, 9, 4, 3],
  [2, 2, 65, 8, 1], // a row longer than the workgroup's 64 lanes
  [1, 1, 7, 70, 0], // a head wider than the lanes
  [2, 2, 9, 16, 1, 300], // scores in the thousands: exp overflows unless the row's max comes off
];

/** attention's tokens and d(Σ tokens·w)/d(q, k, v, bias) on `backend`, and the kernels run. */
async function attentionOn(
  backend: string,
  shape: readonly [number, number, number, number, number, number?],
): Promise<{ values: Float32Array[]; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const [g, heads, n, headDim, biasGroups, magnitude = 1] = shape;
  const rng = new Rng(shape.reduce((a: number, x) => a * 17 + (x ?? 0), 3));
  const headShape = [g, heads, n, headDim];
  const [q, k, v] = [magnitude, 1, 1].map((m) => tf.tensor(random(headShape, rng, m), headShape));
  const biasShape = [Math.max(biasGroups, 1), heads, n, n];
  const bias = tf.tensor(random(biasShape, rng, 2), biasShape);
  const w = tf.tensor(random([g, n, heads * headDim], rng, 1), [g, n, heads * headDim]);
  const run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, {
      bias: biasGroups > 0 ? b as tf.Tensor4D : undefined,
    });
  const profile = await tf.profile(() => {
    const tokens = run(q, k, v, bias);
    const loss = (...xs: tf.Tensor[]): tf.Tensor =>
      tf.sum(tf.mul(run(xs[0], xs[1], xs[2], xs[3]), w));
    return [tokens, ...tf.grads(loss)(biasGroups > 0 ? [q, k, v, bias] : [q, k, v])];
  });
  const all = profile.result as tf.Tensor[];
  const values = await Promise.all(all.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...all, q, k, v, bias, w]);
  return { values, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: fused attention and its gradients match tfjs-cpu's formula over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const shape of ATTENTION_SHAPES) {
      const gpu = await attentionOn("webgpu", shape);
      const cpu = await attentionOn("cpu", shape);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.attention), `[${shape}]: fused forward ran`);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.attentionGrad), `[${shape}]: fused backward`);
      assert.ok(!cpu.kernels.includes(FUSED_KERNELS.attention), `[${shape}]: cpu formula`);
      assert.equal(gpu.values.length, cpu.values.length);
      ["tokens", "dq", "dk", "dv", "dbias"].slice(0, cpu.values.length).forEach((what, i) => {
        const err = worstRelative(gpu.values[i], cpu.values[i]);
        assert.ok(err < 1e-4, `[${shape}] ${what}: relative error ${err}`);
      });
    }
    await tf.setBackend("webgpu");
  },
});

Deno.test({
  name: "webgpu: fused attention is one dispatch forward and two backward",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("webgpu");
    const attrs = { biasGroups: 0 } as unknown as tf.NamedAttrMap;
    const t = tf.ones([2, 3, 5, 4]);
    const probs = tf.ones([2, 3, 5, 5]);
    const dy = tf.ones([2, 5, 12]);
    const run = (name: string, inputs: Record<string, tf.Tensor>) => () =>
      tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor[];
    assert.equal(dispatchesOf(run(FUSED_KERNELS.attention, { q: t, k: t, v: t })), 1);
    const grad = run(FUSED_KERNELS.attentionGrad, { dy, q: t, k: t, v: t, probs });
    assert.equal(dispatchesOf(grad), 2, "backward");
    tf.dispose([t, probs, dy]);
  },
});

/** `[batch, side, window, shift, channels]` */
const WINDOW_SHAPES: readonly [number, number, number, number, number][] = [
  [1, 1, 1, 0, 1],
  [1, 2, 1, 1, 3],
  [2, 4, 2, 1, 5],
  [1, 8, 4, 2, 3], // Swin's shift: half a window
  [2, 6, 3, 1, 4], // odd windows
  [3, 7, 7, 3, 2], // one window per image, shifted
  [1, 16, 4, 0, 64],
];

/** Both ops' outputs and gradients (of Σ out·w) on `backend`, and the kernels that ran. */
async function windowsOn(
  backend: string,
  shape: readonly [number, number, number, number, number],
): Promise<{ values: Float32Array[]; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const [b, side, window, shift, c] = shape;
  const rng = new Rng(shape.reduce((a, x) => a * 19 + x, 7));
  const mapShape = [b, side, side, c];
  const tokenShape = [b * (side / window) ** 2, window * window, c];
  const x = tf.tensor(random(mapShape, rng, 1), mapShape);
  const t = tf.tensor(random(tokenShape, rng, 1), tokenShape);
  const wTokens = tf.tensor(random(tokenShape, rng, 1), tokenShape);
  const wMap = tf.tensor(random(mapShape, rng, 1), mapShape);
  const partition = (m: tf.Tensor) => windowPartition(m as tf.Tensor4D, window, { shift });
  const merge = (m: tf.Tensor) => windowMerge(m as tf.Tensor3D, window, { side, shift });
  const profile = await tf.profile(() => [
    partition(x),
    merge(t),
    tf.grad((m) => tf.sum(tf.mul(partition(m), wTokens)))(x),
    tf.grad((m) => tf.sum(tf.mul(merge(m), wMap)))(t),
  ]);
  const all = profile.result as tf.Tensor[];
  const values = await Promise.all(all.map(async (r) => (await r.data()) as Float32Array));
  tf.dispose([...all, x, t, wTokens, wMap]);
  return { values, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: Swin's fused window partition and merge and their gradients equal tfjs-cpu's",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const shape of WINDOW_SHAPES) {
      const gpu = await windowsOn("webgpu", shape);
      const cpu = await windowsOn("cpu", shape);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.windowPartition), `[${shape}]: fused`);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.windowMerge), `[${shape}]: fused merge`);
      assert.ok(!cpu.kernels.includes(FUSED_KERNELS.windowMerge), `[${shape}]: cpu formula`);
      ["partition", "merge", "d partition", "d merge"].forEach((what, i) => {
        // a permutation: every value is copied, so they are equal exactly
        assert.deepEqual(gpu.values[i], cpu.values[i], `[${shape}] ${what}`);
      });
    }
    await tf.setBackend("webgpu");
  },
});

Deno.test({
  name: "webgpu: a shifted window partition and merge are one dispatch each",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("webgpu");
    const x = tf.ones([2, 8, 8, 3]) as tf.Tensor<tf.Rank.R4>;
    const tokens = tf.ones([8, 16, 3]) as tf.Tensor<tf.Rank.R3>;
    assert.equal(dispatchesOf(() => windowPartition(x, 4, { shift: 2 })), 1, "partition");
    assert.equal(dispatchesOf(() => windowMerge(tokens, 4, { side: 8, shift: 2 })), 1, "merge");
    tf.dispose([x, tokens]);
  },
});

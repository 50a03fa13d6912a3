/**
 * The convolutions' filter gradients on tfjs-webgpu (the project's implicit-GEMM and depthwise
 * kernels, reached through tfjs's `Conv2D` and `DepthwiseConv2dNative` gradients) against
 * tfjs-cpu over swept shapes: size-1 axes, 1×1 maps under 3×3 and 7×7 filters, odd sizes,
 * strides 1 and 2, more than one 64-wide tile on each side, reductions long enough to be split
 * over several workgroups, batch 1. Runs on llvmpipe; skipped without an adapter.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { FUSED_KERNELS, Rng } from "@efficienttrain/core";
import { dispatchesOf, random, startWebgpu, worstRelative } from "./webgpu_util.ts";

const ignore = !(await startWebgpu());

type Shape4 = [number, number, number, number];

interface ConvCase {
  readonly x: Shape4;
  readonly filter: Shape4;
  readonly stride: number;
  readonly pad: number | "same" | "valid";
}

const CONV_CASES: readonly ConvCase[] = [
  { x: [1, 1, 1, 1], filter: [1, 1, 1, 1], stride: 1, pad: 0 },
  { x: [1, 1, 1, 4], filter: [3, 3, 4, 5], stride: 1, pad: 1 }, // a 1×1 map: only the centre tap
  { x: [1, 5, 5, 3], filter: [3, 3, 3, 7], stride: 1, pad: 1 },
  { x: [2, 7, 7, 5], filter: [3, 3, 5, 65], stride: 2, pad: 1 },
  { x: [2, 16, 16, 70], filter: [1, 1, 70, 3], stride: 1, pad: 0 },
  { x: [3, 9, 9, 4], filter: [2, 2, 4, 8], stride: 2, pad: "valid" },
  { x: [1, 3, 3, 2], filter: [3, 3, 2, 2], stride: 1, pad: "same" },
  { x: [1, 32, 32, 3], filter: [7, 7, 3, 16], stride: 2, pad: 3 }, // a stem: the split reduction
  { x: [4, 32, 32, 8], filter: [3, 3, 8, 8], stride: 1, pad: 1 },
];

const DEPTHWISE_CASES: readonly ConvCase[] = [
  { x: [1, 1, 1, 1], filter: [1, 1, 1, 1], stride: 1, pad: 0 },
  { x: [1, 1, 1, 3], filter: [7, 7, 3, 1], stride: 1, pad: 3 },
  { x: [2, 7, 7, 65], filter: [7, 7, 65, 1], stride: 1, pad: 3 },
  { x: [1, 9, 9, 5], filter: [3, 3, 5, 1], stride: 2, pad: 1 },
  { x: [3, 16, 16, 8], filter: [7, 7, 8, 1], stride: 1, pad: 3 },
];

/** d(Σ conv(x, w)·r)/dx and /dw on `backend`, and the kernels that ran. */
async function convGradsOn(
  backend: string,
  c: ConvCase,
  depthwise: boolean,
): Promise<{ dx: Float32Array; dw: Float32Array; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const rng = new Rng([...c.x, ...c.filter].reduce((a, v) => a * 7 + v, 3));
  const x = tf.tensor4d(random(c.x, rng, 1), c.x);
  const w = tf.tensor4d(random(c.filter, rng, 1), c.filter);
  const conv = (a: tf.Tensor4D, b: tf.Tensor4D) =>
    depthwise ? tf.depthwiseConv2d(a, b, c.stride, c.pad) : tf.conv2d(a, b, c.stride, c.pad);
  const y = conv(x, w);
  const r = tf.tensor(random(y.shape, rng, 1), y.shape);
  y.dispose();
  const profile = await tf.profile(() =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), r))
    )([x, w])
  );
  const [dx, dw] = profile.result as tf.Tensor[];
  const out = {
    dx: (await dx.data()) as Float32Array,
    dw: (await dw.data()) as Float32Array,
    kernels: profile.kernelNames,
  };
  tf.dispose([x, w, r, dx, dw]);
  return out;
}

async function assertFilterGradientsMatch(
  cases: readonly ConvCase[],
  depthwise: boolean,
): Promise<void> {
  const kernel = depthwise ? FUSED_KERNELS.depthwiseFilterGrad : FUSED_KERNELS.conv2dFilterGrad;
  for (const c of cases) {
    const label = `x [${c.x}] filter [${c.filter}] stride ${c.stride} pad ${c.pad}`;
    const gpu = await convGradsOn("webgpu", c, depthwise);
    const cpu = await convGradsOn("cpu", c, depthwise);
    assert.ok(gpu.kernels.includes(kernel), `${label}: the project's kernel ran`);
    assert.ok(!cpu.kernels.includes(kernel), `${label}: tfjs-cpu's own`);
    for (const key of ["dx", "dw"] as const) {
      const err = worstRelative(gpu[key], cpu[key]);
      assert.ok(err < 1e-4, `${label} ${key}: relative error ${err}`);
    }
  }
  await tf.setBackend("webgpu");
}

Deno.test({
  name: "webgpu: convolution's implicit-GEMM filter gradient matches tfjs-cpu over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => assertFilterGradientsMatch(CONV_CASES, false),
});

Deno.test({
  name: "webgpu: depthwise convolution's filter gradient matches tfjs-cpu over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => assertFilterGradientsMatch(DEPTHWISE_CASES, true),
});

Deno.test({
  name: "webgpu: a filter gradient is one dispatch, two when its reduction is split",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("webgpu");
    const grad = (x: Shape4, filter: Shape4, pad: number) => () =>
      tf.tidy(() =>
        tf.engine().runKernel(
          FUSED_KERNELS.conv2dFilterGrad,
          { x: tf.ones(x), dy: tf.ones([x[0], x[1], x[2], filter[3]]) },
          { strides: 1, pad, filterShape: filter } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor
      );
    // ones are uploaded (no dispatch); 64×64 filter tiles: 1×1×64×64 is one tile and a
    // reduction of 8 steps, never split; 3×3×64×64 over 4,096 positions is 9 tiles, split
    assert.equal(dispatchesOf(grad([1, 2, 4, 64], [1, 1, 64, 64], 0)), 1, "unsplit");
    assert.equal(dispatchesOf(grad([4, 32, 32, 64], [3, 3, 64, 64], 1)), 2, "split");
  },
});

/**
 * The fused AdamW update against tfjs-cpu's composite formula: parameters and both moments
 * after several steps, over swept shapes (size-1 axes, odd sizes, sizes around the 64-wide
 * WGSL workgroup), with and without weight decay. The native kernel computes in float64 and
 * rounds each output once, the WGSL kernel (one dispatch per parameter) in float32: both
 * must agree with the formula to float32 rounding. WebGPU runs on llvmpipe; each test is
 * skipped where its backend cannot start.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  NATIVE_BACKEND_NAME,
  probeNative,
  registerNativeBackend,
} from "@efficienttrain/backend-native";
import { FUSED_KERNELS, Rng } from "@efficienttrain/core";
import { AdamW } from "@efficienttrain/train";
import { random, startWebgpu } from "./webgpu_util.ts";

const webgpu = await startWebgpu();
const native = probeNative().available;
if (native) await registerNativeBackend();

const SHAPES: readonly (readonly number[])[] = [
  [1],
  [3],
  [63],
  [64],
  [65],
  [1, 1, 1, 1],
  [5, 7],
  [3, 3, 1, 8],
  [2, 5, 3, 4],
  [1, 13, 1],
];

interface Trajectory {
  readonly params: Map<string, Float32Array>;
  readonly moments: Map<string, Float32Array>;
  readonly kernels: readonly string[];
}

/** Three AdamW steps on `backend` from the same start and gradients; values read back. */
async function run(backend: string, steps: number): Promise<Trajectory> {
  await tf.setBackend(backend);
  const rng = new Rng(11);
  const params = new Map(
    SHAPES.map((s, i) => [`p${i}`, tf.variable(tf.tensor(random(s, rng, 1), [...s]))]),
  );
  const opt = new AdamW({ weightDecay: 0.05, noWeightDecay: (name) => name.endsWith("1") });
  let kernels: string[] = [];
  for (let step = 0; step < steps; step++) {
    const grads = new Map(
      SHAPES.map((s, i) => [`p${i}`, tf.tensor(random(s, rng, 0.5 + step), [...s])]),
    );
    const profile = await tf.profile(() => opt.apply(params, grads, 0.01 * (step + 1)));
    kernels = profile.kernelNames;
    tf.dispose([...grads.values()]);
  }
  const out = new Map<string, Float32Array>();
  for (const [k, v] of params) out.set(k, (await v.data()) as Float32Array);
  const state = opt.state();
  const moments = new Map<string, Float32Array>();
  for (const [k, v] of state.tensors) moments.set(k, (await v.data()) as Float32Array);
  tf.dispose([...state.tensors.values(), ...params.values()]);
  opt.dispose();
  return { params: out, moments, kernels };
}

function assertClose(
  got: Map<string, Float32Array>,
  want: Map<string, Float32Array>,
  what: string,
): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.equal(g.length, w.length, `${what} ${k}`);
    for (let i = 0; i < w.length; i++) {
      const err = Math.abs(g[i] - w[i]) / Math.max(1e-3, Math.abs(w[i]));
      assert.ok(err < 2e-5, `${what} ${k}[${i}]: fused ${g[i]} vs formula ${w[i]}`);
    }
  }
}

Deno.test({
  name: "native: the fused AdamW update matches tfjs-cpu's formula over swept shapes",
  ignore: !native,
  async fn() {
    const fused = await run(NATIVE_BACKEND_NAME, 3);
    const cpu = await run("cpu", 3);
    assert.deepEqual(fused.kernels, [FUSED_KERNELS.adamW], "one kernel, the fused one");
    assert.ok(cpu.kernels.includes("Sqrt") && !cpu.kernels.includes(FUSED_KERNELS.adamW));
    assertClose(fused.params, cpu.params, "parameter");
    assertClose(fused.moments, cpu.moments, "moment");
    await tf.setBackend("cpu");
  },
});

Deno.test({
  name: "webgpu: the fused AdamW update matches tfjs-cpu's formula over swept shapes",
  ignore: !webgpu,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.equal(tf.getKernel(FUSED_KERNELS.adamW, "cpu"), undefined);
    const gpu = await run("webgpu", 3);
    const cpu = await run("cpu", 3);
    assert.deepEqual(gpu.kernels, [FUSED_KERNELS.adamW], "one kernel, the fused one");
    assertClose(gpu.params, cpu.params, "parameter");
    assertClose(gpu.moments, cpu.moments, "moment");
    await tf.setBackend("cpu");
  },
});

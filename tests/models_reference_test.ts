/**
 * Parity of the tfjs models with a naive float64 reference written from the PyTorch/timm
 * definitions, fed the models' own state dicts in PyTorch layout: checks the forward math,
 * the window/shift/mask/merge index plumbing, and the checkpoint layout conversion at once.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { Model } from "@efficienttrain/core";
import { Rng } from "@efficienttrain/core";
import {
  CONVNEXT_CONFIGS,
  createModel,
  createResNet,
  RESNET_CONFIGS,
  type ResNetConfig,
  stateDict,
  SWIN_CONFIGS,
  VIT_CONFIGS,
} from "@efficienttrain/models";
import { input, useCpu } from "./models_util.ts";
import {
  convnextReference,
  resnetReference,
  swinReference,
  vitReference,
} from "./models_reference.ts";

/** Random weights everywhere, so zero/1e-6 inits cannot hide a branch. */
function randomize(m: Model, seed: number): void {
  const r = new Rng(seed);
  for (const [k, v] of [...m.params, ...m.buffers]) {
    const vals = Float32Array.from(
      { length: v.size },
      () => k.endsWith("running_var") ? r.uniform(0.5, 1.5) : r.normal(0, 0.4),
    );
    v.assign(tf.tensor(vals, v.shape));
  }
}

function compare(
  m: Model,
  size: number,
  ref: (x: { h: number; w: number; c: number; d: Float64Array }) => Float64Array,
): void {
  randomize(m, 11);
  if (m.inputSize !== size) m.setInputSize(size);
  const x = input(2, size);
  const logits = tf.tidy(() => m.forward(x, { training: false }).arraySync());
  const data = x.dataSync();
  for (let i = 0; i < 2; i++) {
    const img = Float64Array.from(data.subarray(i * size * size * 3, (i + 1) * size * size * 3));
    const want = ref({ h: size, w: size, c: 3, d: img });
    const got = logits[i];
    const scale = Math.max(1, ...want.map(Math.abs));
    const err = Math.max(...want.map((v, k) => Math.abs(v - got[k])));
    assert.ok(err < 2e-4 * scale, `${m.name} @${size} image ${i}: max |Δ| ${err} (scale ${scale})`);
  }
  x.dispose();
}

Deno.test("resnet (bottleneck, small stem; basic, imagenet stem + max-pool) = reference", async () => {
  await useCpu();
  const m = createModel("test_resnet");
  compare(m, 7, (x) => resnetReference(stateDict(m), RESNET_CONFIGS.test_resnet, x));
  m.dispose();
  const cfg: ResNetConfig = {
    block: "basic",
    layers: [1, 2],
    widths: [4, 8],
    stem: "imagenet",
    stemWidth: 4,
    defaultSize: 19,
  };
  const r = createResNet("imagenet_stem", cfg, { numClasses: 5, imgSize: 19 });
  compare(r, 19, (x) => resnetReference(stateDict(r), cfg, x));
  r.dispose();
});

Deno.test("convnext = reference", async () => {
  await useCpu();
  const m = createModel("test_convnext");
  compare(m, 13, (x) => convnextReference(stateDict(m), CONVNEXT_CONFIGS.test_convnext, x));
  m.dispose();
});

Deno.test("deit = reference, also after a pos-embed resample", async () => {
  await useCpu();
  for (const size of [16, 12]) {
    const m = createModel("test_deit");
    compare(m, size, (x) => vitReference(stateDict(m), VIT_CONFIGS.test_deit, x));
    m.dispose();
  }
});

Deno.test("swin = reference (shifted windows, masks, merging, clamped windows)", async () => {
  await useCpu();
  // 16: windows 2, maps 8 and 4, shifts 1; 24: windows 3, maps 12 and 6; 8: windows 1 = map 2
  for (const size of [16, 24, 8]) {
    const m = createModel("test_swin");
    compare(m, size, (x) => swinReference(stateDict(m), SWIN_CONFIGS.test_swin, x));
    m.dispose();
  }
});

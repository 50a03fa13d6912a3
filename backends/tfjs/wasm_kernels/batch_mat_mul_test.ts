import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, parity, randn } from "./testing.ts";

interface Case {
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

// Sizes above and below the per-product size where the kernel hands back to tfjs-wasm's loop.
const cases: Record<string, Case> = {
  "linear 64x48·48x40": { a: [64, 48], b: [48, 40], tA: false, tB: false },
  "a·bᵀ": { a: [40, 48], b: [50, 48], tA: false, tB: true },
  "aᵀ·b": { a: [48, 40], b: [48, 50], tA: true, tB: false },
  "aᵀ·bᵀ": { a: [48, 40], b: [50, 48], tA: true, tB: true },
  // few rows against a wide weight: computed as (W·aᵀ)ᵀ
  "few rows · Wᵀ (swapped)": { a: [8, 96], b: [120, 96], tA: false, tB: true },
  "few rows, aᵀ·bᵀ (swapped)": { a: [96, 8], b: [120, 96], tA: true, tB: true },
  "batched q·kᵀ (attention)": { a: [2, 3, 33, 32], b: [2, 3, 33, 32], tA: false, tB: true },
  "batched small (falls back)": { a: [5, 7, 4], b: [5, 4, 6], tA: false, tB: false },
};

// tfjs-core's BatchMatMul gradient cannot reduce broadcast batch axes (on any backend), so
// models reshape [B, T, D] to 2-d for linear layers; only the forward pass is compared here.
const broadcastCases: Record<string, Case> = {
  "batched with broadcast b": { a: [4, 40, 32], b: [1, 32, 36], tA: false, tB: false },
  "rank-3 times rank-2, bᵀ": { a: [3, 40, 32], b: [36, 32], tA: false, tB: true },
};

for (const [name, c] of Object.entries(broadcastCases)) {
  Deno.test(`wasm matMul matches cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const err = await parity(
      [randn(rng, c.a), randn(rng, c.b)],
      (a, b) => tf.matMul(a, b, c.tA, c.tB),
    );
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

for (const [name, c] of Object.entries(cases)) {
  Deno.test(`wasm matMul and its gradients match cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const inputs = [randn(rng, c.a), randn(rng, c.b)];
    const fwd = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, c.tA, c.tB);
    const ra = c.a.length, rb = c.b.length;
    const outShape = [
      ...c.a.slice(0, -2),
      c.tA ? c.a[ra - 1] : c.a[ra - 2],
      c.tB ? c.b[rb - 2] : c.b[rb - 1],
    ];
    const err = await parity(inputs, (a, b) => [fwd(a, b), ...gradsOf(fwd, outShape)(a, b)]);
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

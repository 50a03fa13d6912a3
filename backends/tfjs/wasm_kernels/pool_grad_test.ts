import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, parity, randn } from "./testing.ts";

interface Case {
  x: number[];
  size: number;
  stride: number;
  pad: "same" | "valid";
  out: number[];
}

// Standard-normal inputs: some windows are all negative, which tfjs-wasm's own MaxPoolGrad
// gets wrong (it starts its running max at FLT_MIN, the smallest positive float).
const cases: Record<string, Case> = {
  "3x3 s2 same (ResNet stem)": {
    x: [2, 9, 9, 5],
    size: 3,
    stride: 2,
    pad: "same",
    out: [2, 5, 5, 5],
  },
  "2x2 s2 valid": { x: [2, 8, 8, 4], size: 2, stride: 2, pad: "valid", out: [2, 4, 4, 4] },
  "3x3 s1 same": { x: [1, 6, 6, 3], size: 3, stride: 1, pad: "same", out: [1, 6, 6, 3] },
};

for (const [name, c] of Object.entries(cases)) {
  Deno.test(`wasm maxPool gradient matches cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const fwd = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad);
    const err = await parity([randn(rng, c.x)], gradsOf(fwd, c.out));
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
  Deno.test(`wasm avgPool gradient matches cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const fwd = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, c.size, c.stride, c.pad);
    const err = await parity([randn(rng, c.x)], gradsOf(fwd, c.out));
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

Deno.test("wasm maxPool gradient routes ties and all-negative windows like cpu", async () => {
  const x = {
    shape: [1, 2, 4, 1],
    values: Float32Array.from([-3, -1, 0, 0, -2, -5, 0, 0]),
    dtype: "float32" as const,
  };
  const fwd = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, "valid");
  const err = await parity([x], gradsOf(fwd, [1, 1, 2, 1]));
  assert.ok(err <= 1e-6, `relative error ${err}`);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { erfApprox } from "./erf.ts";
import { gradsOf, parity, randn, runOn } from "./testing.ts";

/** float64 erf: Taylor series below 3, Lentz continued fraction for erfc above. */
function erf64(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let sum = 0, term = a;
    for (let n = 0; n < 200 && Math.abs(term) > 1e-17; n++) {
      sum += term / (2 * n + 1);
      term *= -a * a / (n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

Deno.test("erfApprox is within 1e-7 of float64 erf on [-6, 6]", () => {
  let worst = 0;
  for (let x = -6; x <= 6; x += 1e-3) {
    worst = Math.max(worst, Math.abs(Math.fround(erfApprox(x)) - erf64(x)));
  }
  assert.ok(worst < 1e-7, `max abs error ${worst}`);
  assert.equal(erfApprox(0), 0);
  assert.equal(erfApprox(-1.5), -erfApprox(1.5));
});

Deno.test("wasm erf and exact GELU (with gradients) match cpu", async () => {
  const x = randn(new Rng(4), [6, 50]);
  for (let i = 0; i < x.values.length; i += 7) x.values[i] *= 3; // reach the tails
  const [got] = await runOn("wasm", [x], (t) => tf.erf(t));
  const [ref] = await runOn("cpu", [x], (t) => tf.erf(t));
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[i]) < 3e-7, `at ${i}`);
  const gelu = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
  const err = await parity([x], gradsOf(gelu, [6, 50]));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

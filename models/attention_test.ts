import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { Rng } from "@efficienttrain/core";
import { attention } from "./attention.ts";

await tf.setBackend("cpu");

function random(shape: number[], rng: Rng): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), shape as never);
}

/** The definition, element by element: group g adds bias group g mod G'. */
function reference(q: number[][][][], k: number[][][][], v: number[][][][], bias?: number[][][][]) {
  const [g, heads, n, d] = [q.length, q[0].length, q[0][0].length, q[0][0][0].length];
  const out: number[] = new Array(g * n * heads * d).fill(0);
  for (let gi = 0; gi < g; gi++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const s = Array.from({ length: n }, (_, j) => {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[gi][h][i][e] * k[gi][h][j][e];
          return dot + (bias ? bias[gi % bias.length][h][i][j] : 0);
        });
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const total = p.reduce((a, b) => a + b, 0);
        for (let e = 0; e < d; e++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += (p[j] / total) * v[gi][h][j][e];
          out[((gi * n + i) * heads + h) * d + e] = acc;
        }
      }
    }
  }
  return out;
}

Deno.test("attention: tokens equal the definition, with and without a per-window bias", () => {
  const rng = new Rng("attention");
  const shape = [6, 2, 5, 3];
  const [q, k, v] = [0, 1, 2].map(() => random(shape, rng));
  for (const biasGroups of [0, 1, 3]) {
    const bias = biasGroups > 0 ? random([biasGroups, 2, 5, 5], rng) : undefined;
    const got = attention(q, k, v, { bias });
    assert.deepEqual(got.shape, [6, 5, 6]);
    const want = reference(
      q.arraySync(),
      k.arraySync(),
      v.arraySync(),
      bias?.arraySync(),
    );
    const values = got.dataSync();
    want.forEach((w, i) => assert.ok(Math.abs(values[i] - w) < 1e-5, `G'=${biasGroups} [${i}]`));
  }
});

Deno.test("attention: mismatched q, k, v or a bias that does not divide the groups is refused", () => {
  const t = tf.zeros([4, 2, 3, 5]) as tf.Tensor4D;
  assert.throws(() => attention(t, tf.zeros([4, 2, 3, 4]) as tf.Tensor4D, t), /differ/);
  const shapes: [number, number, number, number][] = [[3, 2, 3, 3], [1, 1, 3, 3], [1, 2, 3, 4], [
    0,
    2,
    3,
    3,
  ]];
  for (const shape of shapes) {
    assert.throws(
      () => attention(t, t, t, { bias: tf.zeros(shape) as tf.Tensor4D }),
      /bias \[/,
      `bias [${shape}]`,
    );
  }
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { input, useCpu } from "../tests/models_util.ts";
import {
  bicubicMatrix,
  bicubicMatrix2d,
  createModel,
  relativePositionIndex,
  resamplePosEmbed,
  resampleRelPosTable,
  shiftedWindowMask,
} from "./mod.ts";

Deno.test("bicubic matrices: identity at equal size, rows sum to 1", () => {
  for (const antialias of [false, true]) {
    for (const n of [1, 3, 7, 13]) {
      const m = bicubicMatrix(n, n, { antialias });
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) assert.ok(Math.abs(m[i * n + j] - (i === j ? 1 : 0)) < 1e-12);
      }
    }
    for (const [a, b] of [[14, 10], [10, 14], [13, 9], [5, 12]]) {
      const m = bicubicMatrix(a, b, { antialias });
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let j = 0; j < a; j++) s += m[i * a + j];
        assert.ok(Math.abs(s - 1) < 1e-12, `${a}→${b} row ${i} sums to ${s}`);
      }
    }
  }
});

Deno.test("bicubic (no antialias) has PyTorch's A = −0.75 taps and mirror symmetry", () => {
  // 2× upsampling: output 3 samples source 1.25, so t = 0.25 and the taps are OpenCV's /
  // PyTorch's well-known [-0.10546875, 0.87890625, 0.26171875, -0.03515625] at columns 0..3
  const n = 8, out = 16, m = bicubicMatrix(n, out, { antialias: false });
  assert.deepEqual([...m.subarray(3 * n, 3 * n + 4)], [
    -0.10546875,
    0.87890625,
    0.26171875,
    -0.03515625,
  ]);
  for (const antialias of [false, true]) {
    const k = bicubicMatrix(9, 5, { antialias });
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 9; j++) {
        assert.ok(Math.abs(k[i * 9 + j] - k[(4 - i) * 9 + (8 - j)]) < 1e-12);
      }
    }
  }
});

Deno.test("pos-embed and rel-bias resampling are the identity when the size is unchanged", async () => {
  await useCpu();
  const pos = tf.randomNormal([1, 1 + 7 * 7, 5]);
  const table = tf.randomNormal([13 * 13, 3]);
  const p2 = resamplePosEmbed(7, 7, { prefixTokens: 1 })(pos);
  const t2 = resampleRelPosTable(7, 7)(table);
  assert.deepEqual([...p2.dataSync()], [...pos.dataSync()]);
  assert.deepEqual([...t2.dataSync()], [...table.dataSync()]);
  // and a resample keeps the cls token and constant fields
  const c = tf.fill([1, 1 + 4 * 4, 2], 0.25);
  const up = resamplePosEmbed(4, 6, { prefixTokens: 1 })(c).dataSync();
  assert.ok(up.every((v) => Math.abs(v - 0.25) < 1e-6));
  tf.dispose([pos, table, p2, t2, c]);
  assert.equal(bicubicMatrix2d(3, 5, { antialias: false }).length, 25 * 9);
});

for (const [name, from, to] of [["test_deit", 16, 12], ["test_swin", 16, 24]] as const) {
  Deno.test(`${name}: setInputSize transforms, identity at the same size, dynamic = set`, async () => {
    await useCpu();
    const a = createModel(name, { seed: 5 }), b = createModel(name, { seed: 5 });
    const x = input(2, to);
    try {
      assert.equal(a.setInputSize(from).size, 0, "same size changes nothing");
      // a forward at another legal size resamples on the fly, with the same linear map
      const dynamic = a.forward(x, { training: false });
      const before = new Map([...b.params].map(([k, v]) => [k, tf.clone(v)]));
      const transforms = b.setInputSize(to);
      assert.ok(transforms.size > 0);
      for (const [k, f] of transforms) {
        const re = f(before.get(k)!);
        assert.deepEqual(re.shape, b.params.get(k)!.shape, k);
        assert.deepEqual([...re.dataSync()], [...b.params.get(k)!.dataSync()], k);
        re.dispose();
      }
      for (const [k, v] of b.params) {
        if (!transforms.has(k)) assert.deepEqual([...v.dataSync()], [...before.get(k)!.dataSync()]);
      }
      const fixed = b.forward(x, { training: false });
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(dynamic, fixed))).dataSync()[0]);
      assert.ok(diff < 1e-4, `dynamic vs setInputSize: ${diff}`);
      tf.dispose([dynamic, fixed, ...before.values()]);
    } finally {
      x.dispose();
      a.dispose();
      b.dispose();
    }
  });
}

Deno.test("swin: window clamped to the map with shift disabled; tables follow the window", async () => {
  await useCpu();
  // test_swin: patch 2, window = side/8; at 8 the maps are 4 and 2 and windows 1 and 1
  const m = createModel("test_swin");
  try {
    const t = m.setInputSize(8);
    assert.deepEqual(m.params.get("layers.0.blocks.0.attn.relative_position_bias_table")!.shape, [
      1,
      1,
    ]);
    assert.equal(t.size, 4);
    const y = tf.tidy(() => m.forward(input(1, 8), { training: false }).dataSync());
    assert.ok(y.every(Number.isFinite));
    m.setInputSize(24);
    assert.deepEqual(m.params.get("layers.1.blocks.1.attn.relative_position_bias_table")!.shape, [
      25,
      2,
    ]);
  } finally {
    m.dispose();
  }
});

Deno.test("swin index and mask match timm's construction", () => {
  // w = 3: the centre token sees every offset once, the index is symmetric about the centre
  const idx = relativePositionIndex(3);
  assert.deepEqual([...idx.subarray(4 * 9, 5 * 9)].sort((a, b) => a - b), [
    6,
    7,
    8,
    11,
    12,
    13,
    16,
    17,
    18,
  ]);
  for (let a = 0; a < 9; a++) {
    for (let b = 0; b < 9; b++) assert.equal(idx[a * 9 + b] + idx[b * 9 + a], 24);
  }
  // res 4, window 2, shift 1: window 0 is one region; window 3 holds four regions (all masked
  // off-diagonal); windows 1 and 2 are split in two halves
  const m = shiftedWindowMask(4, 2, 1);
  const win = (k: number) => [...m.subarray(k * 16, (k + 1) * 16)].map((v) => (v === 0 ? 0 : 1));
  assert.deepEqual(win(0), Array(16).fill(0));
  assert.deepEqual(win(3), [0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0]);
  assert.deepEqual(win(1), [0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0]);
  assert.deepEqual(win(2), [0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
  assert.ok(m.every((v) => v === 0 || v === -100));
});

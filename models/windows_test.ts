import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { windowMerge, windowPartition } from "./windows.ts";

await tf.setBackend("cpu");

Deno.test("windowPartition: token (window, position) reads the map rolled by −shift", () => {
  for (const [b, side, window, shift, c] of [[2, 6, 3, 1, 2], [1, 8, 4, 2, 3], [1, 4, 4, 3, 1]]) {
    const x = tf.reshape(tf.range(0, b * side * side * c), [b, side, side, c]) as tf.Tensor4D;
    const got = windowPartition(x, window, { shift }).dataSync();
    const per = side / window;
    let i = 0;
    for (let image = 0; image < b; image++) {
      for (let wy = 0; wy < per; wy++) {
        for (let wx = 0; wx < per; wx++) {
          for (let ty = 0; ty < window; ty++) {
            for (let tx = 0; tx < window; tx++) {
              const row = (wy * window + ty + shift) % side;
              const col = (wx * window + tx + shift) % side;
              for (let ch = 0; ch < c; ch++, i++) {
                const want = ((image * side + row) * side + col) * c + ch;
                assert.equal(got[i], want, `[${b},${side},${window},${shift},${c}] token ${i}`);
              }
            }
          }
        }
      }
    }
    const back = windowMerge(windowPartition(x, window, { shift }), window, { side, shift });
    assert.deepEqual(back.dataSync(), x.dataSync(), "merge inverts the partition");
  }
});

Deno.test("windowPartition and windowMerge refuse geometry that does not tile the map", () => {
  const x = tf.zeros([1, 6, 6, 2]) as tf.Tensor4D;
  assert.throws(() => windowPartition(x, 4), /window 4 must divide the side 6/);
  assert.throws(() => windowPartition(x, 3, { shift: 6 }), /shift 6 lie in \[0, 6\)/);
  assert.throws(() => windowPartition(tf.zeros([1, 6, 4, 2]) as tf.Tensor4D, 2), /not square/);
  const tokens = tf.zeros([4, 9, 2]) as tf.Tensor3D;
  assert.throws(() => windowMerge(tokens, 2, { side: 6 }), /not windows of 2×2/);
  assert.throws(() => windowMerge(tf.zeros([3, 9, 2]) as tf.Tensor3D, 3, { side: 6 }), /tokens/);
});

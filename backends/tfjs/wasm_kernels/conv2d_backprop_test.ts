import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { gradsOf, parity, randn } from "./testing.ts";
import { convGeometry, setWasmScratchBytes } from "./conv_geometry.ts";

type Pad = "same" | "valid" | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: number[];
  w: number[];
  stride: number | [number, number];
  pad: Pad;
}

const cases: Record<string, Case> = {
  "3x3 s1 same": { x: [2, 9, 9, 5], w: [3, 3, 5, 6], stride: 1, pad: "same" },
  "3x3 s2 same": { x: [2, 9, 9, 5], w: [3, 3, 5, 6], stride: 2, pad: "same" },
  "3x3 s2 valid": { x: [2, 10, 10, 4], w: [3, 3, 4, 3], stride: 2, pad: "valid" },
  "3x3 s(1,2) pad 1": { x: [1, 7, 8, 3], w: [3, 3, 3, 4], stride: [1, 2], pad: 1 },
  "1x1 s1 pointwise": { x: [3, 5, 5, 24], w: [1, 1, 24, 17], stride: 1, pad: "valid" },
  "1x1 s2": { x: [2, 8, 8, 8], w: [1, 1, 8, 16], stride: 2, pad: "valid" },
  "4x4 s4 patchify": { x: [2, 16, 16, 3], w: [4, 4, 3, 20], stride: 4, pad: "valid" },
  "7x7 s2 same stem": { x: [2, 15, 15, 3], w: [7, 7, 3, 8], stride: 2, pad: "same" },
  "2x2 s1 same (asymmetric)": { x: [2, 6, 6, 4], w: [2, 2, 4, 4], stride: 1, pad: "same" },
  "3x3 explicit pad": {
    x: [2, 7, 7, 4],
    w: [3, 3, 4, 5],
    stride: 2,
    pad: [[0, 0], [1, 2], [2, 1], [0, 0]],
  },
  "3x3 s1 explicit asymmetric pad": {
    x: [2, 6, 7, 3],
    w: [3, 3, 3, 4],
    stride: 1,
    pad: [[0, 0], [0, 2], [2, 0], [0, 0]],
  },
  "5x5 s1 valid": { x: [2, 9, 8, 3], w: [5, 5, 3, 4], stride: 1, pad: "valid" },
  "wide channels (subarray copies)": { x: [2, 6, 6, 32], w: [3, 3, 32, 8], stride: 1, pad: "same" },
};

for (const [name, c] of Object.entries(cases)) {
  Deno.test(`wasm conv2d gradients match cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const inputs = [randn(rng, c.x), randn(rng, c.w)];
    const fwd = (x: tf.Tensor, w: tf.Tensor) =>
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad as "same");
    const g = convGeometry(c.x, c.w, { strides: c.stride, pad: c.pad });
    const outShape = [g.batchSize, g.outHeight, g.outWidth, g.outChannels];
    const err = await parity(inputs, gradsOf(fwd, outShape));
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

Deno.test("wasm conv2d gradients match cpu when the batch is split into chunks", async () => {
  const previous = setWasmScratchBytes(512); // one image per chunk
  try {
    const rng = new Rng(3);
    // 2×2/2 takes the patch path for dW, 3×3/2 the patch path for dx.
    for (const [k, outSide] of [[2, 3], [3, 3]]) {
      const inputs = [randn(rng, [5, 6, 6, 4]), randn(rng, [k, k, 4, 6])];
      const fwd = (x: tf.Tensor, w: tf.Tensor) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same");
      const err = await parity(inputs, gradsOf(fwd, [5, outSide, outSide, 6]));
      assert.ok(err <= 1e-4, `${k}x${k}: relative error ${err}`);
    }
  } finally {
    setWasmScratchBytes(previous);
  }
});

Deno.test("wasm conv2dTranspose (Conv2DBackpropInput) matches cpu", async () => {
  const rng = new Rng(11);
  const inputs = [randn(rng, [2, 4, 4, 6]), randn(rng, [3, 3, 5, 6])];
  const err = await parity(
    inputs,
    (y, w) => tf.conv2dTranspose(y as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 5], 2, "same"),
  );
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

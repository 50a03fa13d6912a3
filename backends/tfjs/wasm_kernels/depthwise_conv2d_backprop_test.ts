import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { convGeometry } from "./conv_geometry.ts";
import { gradsOf, parity, randn, relError, runOn } from "./testing.ts";

interface Case {
  x: number[];
  w: number[];
  stride: number;
  pad: "same" | "valid" | number;
}

const cases: Record<string, Case> = {
  "7x7 s1 same (ConvNeXt)": { x: [2, 9, 9, 6], w: [7, 7, 6, 1], stride: 1, pad: "same" },
  "3x3 s2 same": { x: [2, 9, 9, 4], w: [3, 3, 4, 1], stride: 2, pad: "same" },
  "3x3 s1 valid": { x: [1, 6, 7, 3], w: [3, 3, 3, 1], stride: 1, pad: "valid" },
  "3x3 s1 pad 1, multiplier 2": { x: [2, 5, 5, 3], w: [3, 3, 3, 2], stride: 1, pad: 1 },
  "5x5 s2 same, multiplier 3": { x: [1, 8, 8, 2], w: [5, 5, 2, 3], stride: 2, pad: "same" },
};

for (const [name, c] of Object.entries(cases)) {
  Deno.test(`wasm depthwiseConv2d gradients match cpu: ${name}`, async () => {
    const rng = new Rng(name);
    const inputs = [randn(rng, c.x), randn(rng, c.w)];
    const fwd = (x: tf.Tensor, w: tf.Tensor) =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    const g = convGeometry(c.x, c.w, { strides: c.stride, pad: c.pad, depthwise: true });
    const outShape = [g.batchSize, g.outHeight, g.outWidth, g.outChannels];
    const err = await parity(inputs, gradsOf(fwd, outShape));
    assert.ok(err <= 1e-4, `relative error ${err}`);
  });
}

// tfjs' depthwise gradient refuses dilations > 1 and tfjs-cpu's backprop kernels ignore them,
// so the oracle is cpu on the equivalent undilated filter with zeros between the taps.
Deno.test("wasm depthwise backprop kernels handle dilation 2", async () => {
  const rng = new Rng(5);
  const [N, H, C, q, k, d] = [2, 9, 3, 2, 3, 2];
  const big = (k - 1) * d + 1;
  const x = randn(rng, [N, H, H, C]);
  const w = randn(rng, [k, k, C, q]);
  const wBig = new Float32Array(big * big * C * q);
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const src = (ky * k + kx) * C * q, dst = (ky * d * big + kx * d) * C * q;
      wBig.set(w.values.subarray(src, src + C * q) as Float32Array, dst);
    }
  }
  const dy = randn(rng, [N, H, H, C * q]); // stride 1, "same"
  const kernels =
    (dil: number, fShape: number[]) => (xt: tf.Tensor, wt: tf.Tensor, dyt: tf.Tensor) => {
      const attrs = { strides: [1, 1], dilations: [dil, dil], pad: "same" };
      return [
        tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x: xt, dy: dyt }, {
          ...attrs,
          filterShape: fShape,
        }) as tf.Tensor,
        tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy: dyt, filter: wt }, {
          ...attrs,
          inputShape: x.shape,
        }) as tf.Tensor,
      ];
    };
  const [dwGot, dxGot] = await runOn("wasm", [x, w, dy], kernels(d, w.shape));
  const bigW = { shape: [big, big, C, q], values: wBig, dtype: "float32" as const };
  const [dwBig, dxRef] = await runOn("cpu", [x, bigW, dy], kernels(1, bigW.shape));
  const dwRef = new Float32Array(w.values.length);
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const src = (ky * d * big + kx * d) * C * q;
      dwRef.set(dwBig.subarray(src, src + C * q), (ky * k + kx) * C * q);
    }
  }
  assert.ok(relError(dwGot, dwRef) <= 1e-4, `filter grad error ${relError(dwGot, dwRef)}`);
  assert.ok(relError(dxGot, dxRef) <= 1e-4, `input grad error ${relError(dxGot, dxRef)}`);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend.ts";
import { setWasmScratchBytes } from "./conv_geometry.ts";

function loss(x: tf.Tensor4D, ...p: tf.Tensor[]): tf.Scalar {
  const [w3, w1, w2, dw, a, b, table] = p as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor3D,
    tf.Tensor3D,
    tf.Tensor2D,
  ];
  const terms = [
    tf.conv2d(x, w3, 1, "same"), // dW and dx as convolutions
    tf.conv2d(x, w3, 2, "same"), // dW as a dilated convolution, dx via patches
    tf.conv2d(x, w1, 1, "valid"), // pointwise GEMMs
    tf.conv2d(x, w2, 2, "valid"), // dW via patches
    tf.depthwiseConv2d(x, dw, 1, "same"),
    tf.maxPool(x, 3, 2, "same"),
    tf.matMul(a, b, false, true), // batched XNNPACK products
    tf.gather(table, tf.tensor1d([0, 3, 3, 8], "int32")), // UnsortedSegmentSum
    tf.tile(table, [2, 3]),
  ];
  return tf.addN(terms.map((t) => tf.sum(t))) as tf.Scalar;
}

// Every kernel allocates scratch on the wasm heap; none may outlive the call.
Deno.test("wasm kernels free all their scratch tensors", async () => {
  await initBackend("wasm");
  const previous = setWasmScratchBytes(2048); // also exercise the chunked paths
  try {
    const x = tf.randomNormal([3, 8, 8, 4]) as tf.Tensor4D;
    const params = [
      [3, 3, 4, 5],
      [1, 1, 4, 5],
      [2, 2, 4, 5],
      [3, 3, 4, 1],
      [2, 40, 32],
      [2, 40, 32],
      [9, 2],
    ].map((s) => tf.randomNormal(s));
    // x is an argument too, so every input gradient (Conv2DBackpropInput, …) runs.
    const grad = tf.grads((xt: tf.Tensor, ...p: tf.Tensor[]) => loss(xt as tf.Tensor4D, ...p));
    tf.dispose(grad([x, ...params])); // the first call may set up persistent kernel state
    const before = tf.backend().numDataIds();
    tf.dispose(grad([x, ...params]));
    tf.dispose(grad([x, ...params]));
    assert.equal(tf.backend().numDataIds(), before);
    tf.dispose([x, ...params]);
  } finally {
    setWasmScratchBytes(previous);
  }
});

Deno.test("wasm clone shares data and survives disposing the original", async () => {
  await initBackend("wasm");
  const before = tf.backend().numDataIds();
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = a.clone();
  assert.equal(tf.backend().numDataIds(), before + 1);
  a.dispose();
  assert.deepEqual(Array.from(await b.data()), [1, 2, 3, 4]);
  b.dispose();
  assert.equal(tf.backend().numDataIds(), before);
});

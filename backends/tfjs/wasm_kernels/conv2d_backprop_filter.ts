/**
 * `Conv2DBackpropFilter` for tfjs-wasm (which has none): dW[K, Co] = im2col(x)ᵀ · dy, with the
 * GEMM on tfjs-wasm's XNNPACK path and the patch matrix built in chunks of images.
 *
 * @module
 */
import type { Conv2DBackpropFilterAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { convGeometry, imagesPerChunk, isPointwise } from "./conv_geometry.ts";
import {
  alloc,
  copyRows,
  f32,
  free,
  gemm,
  relabel,
  transpose2d,
  type WasmKernelArgs,
} from "./heap.ts";
import { im2col } from "./im2col.ts";

/**
 * The kernel function registered as `Conv2DBackpropFilter` on `wasm` (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const dw = tf.conv2DBackpropFilter(tf.ones([1, 3, 3, 1]), tf.ones([1, 3, 3, 1]), [3, 3, 1, 1], 1, "same");
 * console.assert(dw.dataSync()[4] === 9);
 * ```
 */
export function conv2dBackpropFilterWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const g = convGeometry(x.shape, attrs.filterShape, {
    strides: attrs.strides,
    pad: attrs.pad,
    dimRoundingMode: attrs.dimRoundingMode,
    dataFormat: attrs.dataFormat,
  });
  const { batchSize: N, outHeight: Ho, outWidth: Wo, outChannels: Co } = g;
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  const M = N * Ho * Wo;

  if (isPointwise(g)) {
    // dW[Ci, Co] = xᵀ[Ci, M] · dy[M, Co]: no patches needed.
    const xT = transpose2d(backend, x, M, K);
    const dyCopy = copyRows(backend, dy, 0, M, Co);
    const dw = gemm(backend, xT, dyCopy);
    free(backend, xT);
    free(backend, dyCopy);
    return relabel(dw, attrs.filterShape);
  }

  const chunk = imagesPerChunk(N, Ho * Wo * K);
  const rowsPerImage = Ho * Wo;
  let acc: TensorInfo | undefined;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const rows = (n1 - n0) * rowsPerImage;
    const cols = alloc(backend, [rows, K]);
    im2col(f32(backend, x), f32(backend, cols), g, { n0, n1 });
    const colsT = transpose2d(backend, cols, rows, K);
    free(backend, cols);
    const dyChunk = copyRows(backend, dy, n0 * rowsPerImage, rows, Co);
    const part = gemm(backend, colsT, dyChunk);
    free(backend, colsT);
    free(backend, dyChunk);
    if (acc === undefined) {
      acc = part;
    } else {
      const a = f32(backend, acc), p = f32(backend, part);
      for (let i = 0; i < a.length; i++) a[i] += p[i];
      free(backend, part);
    }
  }
  return relabel(acc!, attrs.filterShape);
}

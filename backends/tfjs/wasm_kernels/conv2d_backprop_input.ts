/**
 * `Conv2DBackpropInput` for tfjs-wasm, replacing its direct loop (~2 GFLOP/s):
 * dcols[M, K] = dy[M, Co] · Wᵀ[Co, K] on XNNPACK, then col2im. A 1×1 stride-1 conv needs no
 * col2im at all.
 *
 * @module
 */
import type { Conv2DBackpropInputAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { convGeometry, imagesPerChunk, isPointwise } from "./conv_geometry.ts";
import {
  copyRows,
  f32,
  free,
  gemm,
  relabel,
  transpose2d,
  type WasmKernelArgs,
  withShape,
  zeros,
} from "./heap.ts";
import { col2im } from "./im2col.ts";

/**
 * The kernel function registered as `Conv2DBackpropInput` on `wasm` (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const dx = tf.conv2dTranspose(tf.ones([1, 3, 3, 1]), tf.ones([3, 3, 1, 1]), [1, 3, 3, 1], 1, "same");
 * console.assert(dx.dataSync()[4] === 9);
 * ```
 */
export function conv2dBackpropInputWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const g = convGeometry(attrs.inputShape, filter.shape, {
    strides: attrs.strides,
    pad: attrs.pad,
    dimRoundingMode: attrs.dimRoundingMode,
    dataFormat: attrs.dataFormat,
  });
  const { batchSize: N, outHeight: Ho, outWidth: Wo, outChannels: Co } = g;
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  const M = N * Ho * Wo;
  // A fresh Wᵀ per call: XNNPACK caches packed weights under the b operand's id.
  const wT = transpose2d(backend, filter, K, Co);

  if (isPointwise(g)) {
    const dx = gemm(backend, withShape(dy, [M, Co]), wT);
    free(backend, wT);
    return relabel(dx, attrs.inputShape);
  }

  const dx = zeros(backend, [...attrs.inputShape]);
  const rowsPerImage = Ho * Wo;
  const chunk = imagesPerChunk(N, rowsPerImage * K);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const rows = (n1 - n0) * rowsPerImage;
    const a = chunk >= N
      ? withShape(dy, [M, Co])
      : copyRows(backend, dy, n0 * rowsPerImage, rows, Co);
    const dcols = gemm(backend, a, wT);
    if (a.dataId !== dy.dataId) free(backend, a);
    col2im(f32(backend, dcols), f32(backend, dx), g, { n0, n1 });
    free(backend, dcols);
  }
  free(backend, wT);
  return dx;
}

/**
 * `Conv2DBackpropInput` for tfjs-wasm, replacing its direct loop (~2 GFLOP/s), on XNNPACK:
 * - 1×1 stride 1: dx = dy · Wᵀ, one GEMM.
 * - stride 1: dx is the convolution of dy with the filter rotated by 180° and its channel
 *   axes swapped, so it runs on tfjs-wasm's Conv2D.
 * - otherwise: dcols = dy · Wᵀ, then col2im (scatter-add of the patches), in chunks of images.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { Conv2DBackpropInputAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { type ConvGeometry, convGeometry, imagesPerChunk, isPointwise } from "./conv_geometry.ts";
import {
  alloc,
  copyRows,
  f32,
  free,
  gemm,
  relabel,
  runWasm,
  transpose2d,
  type WasmKernelArgs,
  withShape,
  zeros,
} from "./heap.ts";
import { col2im } from "./im2col.ts";
import { flipFilter } from "./layout.ts";

/**
 * The kernel function registered as `Conv2DBackpropInput` on `wasm` (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const dx = tf.conv2dTranspose(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, [1, 3, 3, 1], 1, "same");
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
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  if (isPointwise(g)) {
    // A fresh Wᵀ per call: XNNPACK caches packed weights under the b operand's id.
    const wT = transpose2d(backend, filter, K, g.outChannels);
    const dx = gemm(
      backend,
      withShape(dy, [g.batchSize * g.outHeight * g.outWidth, g.outChannels]),
      wT,
    );
    free(backend, wT);
    return relabel(dx, attrs.inputShape);
  }
  if (g.strideHeight === 1 && g.strideWidth === 1) {
    const padBottom = g.inHeight - g.outHeight + g.filterHeight - 1 -
      (g.filterHeight - 1 - g.padTop);
    const padRight = g.inWidth - g.outWidth + g.filterWidth - 1 - (g.filterWidth - 1 - g.padLeft);
    if (g.padTop < g.filterHeight && g.padLeft < g.filterWidth && padBottom >= 0 && padRight >= 0) {
      return asConvolution(backend, dy, filter, g);
    }
  }
  return viaPatches(backend, dy, filter, g, attrs.inputShape);
}

function asConvolution(
  b: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = g;
  const flipped = alloc(b, [kh, kw, co, ci]);
  flipFilter(f32(b, filter), f32(b, flipped), [kh, kw, ci, co]);
  const top = kh - 1 - g.padTop, left = kw - 1 - g.padLeft;
  const out = runWasm("Conv2D", b, { x: dy, filter: flipped }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [[0, 0], [top, g.inHeight - g.outHeight + kh - 1 - top], [
      left,
      g.inWidth - g.outWidth + kw - 1 - left,
    ], [0, 0]],
    dataFormat: "NHWC",
  });
  free(b, flipped);
  return out;
}

function viaPatches(
  b: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  inputShape: readonly number[],
): TensorInfo {
  const { batchSize: N, outHeight: Ho, outWidth: Wo, outChannels: Co } = g;
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  const M = N * Ho * Wo;
  const wT = transpose2d(b, filter, K, Co);
  const dx = zeros(b, [...inputShape]);
  const rowsPerImage = Ho * Wo;
  const chunk = imagesPerChunk(N, rowsPerImage * K);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const rows = (n1 - n0) * rowsPerImage;
    const a = chunk >= N ? withShape(dy, [M, Co]) : copyRows(b, dy, n0 * rowsPerImage, rows, Co);
    const dcols = gemm(b, a, wT);
    if (a.dataId !== dy.dataId) free(b, a);
    col2im(f32(b, dcols), f32(b, dx), g, { n0, n1 });
    free(b, dcols);
  }
  free(b, wT);
  return dx;
}

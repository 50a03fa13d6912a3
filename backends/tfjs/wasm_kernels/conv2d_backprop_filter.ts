/**
 * `Conv2DBackpropFilter` for tfjs-wasm (which has none), three ways, all on XNNPACK:
 * - 1×1 stride 1: dW[Ci, Co] = xᵀ · dy, one GEMM.
 * - overlapping windows: dW is itself a convolution — of x laid out as [Ci, H, W, N] (Ci
 *   images of N channels) with dy laid out as the filter [Ho, Wo, N, Co], dilated by the
 *   stride — so it runs on tfjs-wasm's Conv2D with no patch matrix at all.
 * - non-overlapping windows (stride ≥ filter, e.g. a 4×4/4 patchify stem): dW = im2col(x)ᵀ · dy,
 *   the patch matrix (a permutation of x) built in chunks of images.
 *
 * @module
 */
import type { Conv2DBackpropFilterAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { type ConvGeometry, convGeometry, imagesPerChunk, isPointwise } from "./conv_geometry.ts";
import {
  alloc,
  copyRows,
  f32,
  free,
  relabel,
  runWasm,
  type WasmKernelArgs,
  withShape,
} from "./heap.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { im2col } from "./im2col.ts";
import { batchMatMulWasm } from "./batch_mat_mul.ts";
import { nhwcToCHWN, swapLeadingAxes } from "./layout.ts";

/**
 * The kernel function registered as `Conv2DBackpropFilter` on `wasm` (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const f = (w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, "same"));
 * console.assert(tf.grad(f)(tf.ones([3, 3, 1, 1])).dataSync()[4] === 9);
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
  if (isPointwise(g)) return pointwise(backend, x, dy, g);
  // Non-overlapping windows (patchify stems): the patch matrix is a mere permutation of x.
  if (g.strideHeight >= g.filterHeight && g.strideWidth >= g.filterWidth) {
    return viaPatches(backend, x, dy, g);
  }
  return asConvolution(backend, x, dy, g);
}

function pointwise(b: BackendWasm, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  // dW[Ci, Co] = xᵀ[Ci, M] · dy[M, Co]; the matmul kernel picks the cheaper operand layout.
  const M = g.batchSize * g.outHeight * g.outWidth;
  const dw = batchMatMulWasm({
    inputs: { a: withShape(x, [M, g.inChannels]), b: withShape(dy, [M, g.outChannels]) },
    backend: b,
    attrs: { transposeA: true, transposeB: false },
  });
  return relabel(dw, [1, 1, g.inChannels, g.outChannels]);
}

function asConvolution(
  b: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outChannels: Co } = g;
  const { outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw } = g;
  const { padTop: pt, padLeft: pl, strideHeight: sh, strideWidth: sw } = g;
  // Rows/columns of x past the last tap are never read; crop them so no padding is negative.
  const Hc = Math.min(H, (Ho - 1) * sh + kh - pt), Wc = Math.min(W, (Wo - 1) * sw + kw - pl);
  const pb = (Ho - 1) * sh + kh - Hc - pt, pr = (Wo - 1) * sw + kw - Wc - pl;
  const xT = alloc(b, [C, Hc, Wc, N]);
  nhwcToCHWN(f32(b, x), f32(b, xT), [N, H, W, C], [Hc, Wc]);
  const dyT = alloc(b, [Ho, Wo, N, Co]);
  swapLeadingAxes(f32(b, dy), f32(b, dyT), [N, Ho * Wo, Co]);
  const out = runWasm("Conv2D", b, { x: xT, filter: dyT }, {
    strides: [1, 1],
    dilations: [sh, sw],
    pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
    dataFormat: "NHWC",
  });
  free(b, xT);
  free(b, dyT);
  const dw = alloc(b, [kh, kw, C, Co]);
  swapLeadingAxes(f32(b, out), f32(b, dw), [C, kh * kw, Co]);
  free(b, out);
  return dw;
}

function viaPatches(b: BackendWasm, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const { batchSize: N, outHeight: Ho, outWidth: Wo, outChannels: Co } = g;
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  const rowsPerImage = Ho * Wo;
  const chunk = imagesPerChunk(N, rowsPerImage * K);
  let acc: TensorInfo | undefined;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const rows = (n1 - n0) * rowsPerImage;
    const cols = alloc(b, [rows, K]);
    im2col(f32(b, x), f32(b, cols), g, { n0, n1 });
    const dyPart = chunk >= N
      ? withShape(dy, [rows, Co])
      : copyRows(b, dy, n0 * rowsPerImage, rows, Co);
    // colsᵀ · dy; the matmul kernel picks the cheaper operand layout.
    const part = batchMatMulWasm({
      inputs: { a: cols, b: dyPart },
      backend: b,
      attrs: { transposeA: true, transposeB: false },
    });
    free(b, cols);
    if (dyPart.dataId !== dy.dataId) free(b, dyPart);
    if (acc === undefined) {
      acc = part;
    } else {
      const a = f32(b, acc), p = f32(b, part);
      for (let i = 0; i < a.length; i++) a[i] += p[i];
      free(b, part);
    }
  }
  return relabel(acc!, [g.filterHeight, g.filterWidth, g.inChannels, Co]);
}

/**
 * `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput` for tfjs-wasm
 * (which has neither). Depthwise convs do kh·kw multiply-adds per output element, too few for
 * a GEMM to pay off, so these are direct loops over contiguous channel runs, any stride,
 * dilation and channel multiplier.
 *
 * @module
 */
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  TensorInfo,
} from "@tensorflow/tfjs-core";
import { convGeometry } from "./conv_geometry.ts";
import { alloc, f32, type WasmKernelArgs, zeros } from "./heap.ts";

/**
 * The kernel function registered as `DepthwiseConv2dNativeBackpropFilter` on `wasm` (NHWC).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const f = (w: tf.Tensor) => tf.sum(tf.depthwiseConv2d(tf.ones([1, 3, 3, 2]) as tf.Tensor4D, w as tf.Tensor4D, 1, "same"));
 * const dw = tf.grad(f)(tf.ones([3, 3, 2, 1]));
 * console.assert(dw.dataSync()[8] === 9); // centre tap sees all 9 pixels
 * ```
 */
export function depthwiseConv2dBackpropFilterWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const g = convGeometry(x.shape, attrs.filterShape, {
    strides: attrs.strides,
    pad: attrs.pad,
    dilations: attrs.dilations,
    dimRoundingMode: attrs.dimRoundingMode,
    depthwise: true,
  });
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dwl, padTop: pt, padLeft: pl, channelMul: q } = g;
  const Co = C * q;
  // Sums run over N·Ho·Wo terms: accumulate in float64 so large batches stay accurate.
  const acc = new Float64Array(kh * kw * Co);
  const xv = f32(backend, x), dyv = f32(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const d0 = ((n * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dwl;
            if (ix < 0 || ix >= W) continue;
            const x0 = ((n * H + iy) * W + ix) * C;
            const w0 = (ky * kw + kx) * Co;
            if (q === 1) {
              for (let c = 0; c < C; c++) acc[w0 + c] += xv[x0 + c] * dyv[d0 + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xc = xv[x0 + c];
                for (let m = 0; m < q; m++) acc[w0 + c * q + m] += xc * dyv[d0 + c * q + m];
              }
            }
          }
        }
      }
    }
  }
  const out = alloc(backend, [...attrs.filterShape]);
  f32(backend, out).set(acc);
  return out;
}

/**
 * The kernel function registered as `DepthwiseConv2dNativeBackpropInput` on `wasm` (NHWC).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const f = (x: tf.Tensor) => tf.sum(tf.depthwiseConv2d(x as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, "same"));
 * const dx = tf.grad(f)(tf.ones([1, 3, 3, 2]));
 * console.assert(dx.dataSync()[8] === 9); // the centre pixel feeds all 9 outputs
 * ```
 */
export function depthwiseConv2dBackpropInputWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const g = convGeometry(attrs.inputShape, filter.shape, {
    strides: attrs.strides,
    pad: attrs.pad,
    dilations: attrs.dilations,
    dimRoundingMode: attrs.dimRoundingMode,
    depthwise: true,
  });
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dwl, padTop: pt, padLeft: pl, channelMul: q } = g;
  const Co = C * q;
  const dx = zeros(backend, [...attrs.inputShape]);
  const dxv = f32(backend, dx), dyv = f32(backend, dy), wv = f32(backend, filter);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const d0 = ((n * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dwl;
            if (ix < 0 || ix >= W) continue;
            const x0 = ((n * H + iy) * W + ix) * C;
            const w0 = (ky * kw + kx) * Co;
            if (q === 1) {
              for (let c = 0; c < C; c++) dxv[x0 + c] += dyv[d0 + c] * wv[w0 + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0; m < q; m++) s += dyv[d0 + c * q + m] * wv[w0 + c * q + m];
                dxv[x0 + c] += s;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

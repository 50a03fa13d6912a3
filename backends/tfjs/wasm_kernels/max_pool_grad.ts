/**
 * `MaxPoolGrad` for tfjs-wasm. Its own kernel starts the running maximum at FLT_MIN (the
 * smallest positive float), so windows whose values are all ≤ 0 send their gradient nowhere;
 * it is also slow (~40× the forward pass). This one routes each output's gradient to the
 * first maximum of its window in row-major order, exactly as tfjs-cpu and TensorFlow do.
 *
 * @module
 */
import { backend_util, type MaxPoolGradAttrs, type TensorInfo } from "@tensorflow/tfjs-core";
import { f32, type WasmKernelArgs, zeros } from "./heap.ts";

/**
 * The kernel function registered as `MaxPoolGrad` on `wasm` (NHWC).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const f = (x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, "valid"));
 * const dx = tf.grad(f)(tf.tensor4d([-3, -1, -2, -5], [1, 2, 2, 1]));
 * console.assert(dx.dataSync().join() === "0,1,0,0");
 * ```
 */
export function maxPoolGradWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { dy, input } = args.inputs;
  const attrs = args.attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } =
    info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const dx = zeros(backend, [...input.shape]);
  const dxv = f32(backend, dx), xv = f32(backend, input), dyv = f32(backend, dy);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        best.fill(-Infinity);
        where.fill(-1);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= W) continue;
            const base = ((n * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) {
              const v = xv[base + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const d0 = ((n * Ho + oy) * Wo + ox) * C;
        for (let c = 0; c < C; c++) if (where[c] >= 0) dxv[where[c]] += dyv[d0 + c];
      }
    }
  }
  return dx;
}

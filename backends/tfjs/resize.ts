/**
 * Image resize on tfjs tensors, with the conventions of the float64 reference in
 * `@efficienttrain/core` (PyTorch half-pixel centres; see `resizeMatrix`). Plain bilinear
 * uses tfjs's own `ResizeBilinear` kernel; every other filter (bicubic, area, Lanczos-3 and
 * antialiased bilinear) is a separable pair of cached weight matrices, applied with two GEMMs
 * like the low-frequency crop, so all run on every tfjs backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  assertFloat32Images,
  type ResizeFilterOptions,
  resizeMatrix,
  type ResizeOptions,
  validateResizeOptions,
} from "@efficienttrain/core";
import {
  applySeparable,
  assertFiniteTensor,
  cachedMatrix,
  type SeparableFactors,
} from "./separable.ts";

function filterKey(f: ResizeFilterOptions): string {
  return `${f.method}:${f.antialias ? 1 : 0}:${f.cubicCoefficient ?? ""}`;
}

/**
 * The cached float32 weight matrices of a resize from H×W to outH×outW.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resizeFactors } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const f = resizeFactors({ h: 8, w: 8, outH: 4, outW: 4, filter: { method: "lanczos" } });
 * console.assert(f.parts === 1 && f.left.shape.join() === "4,8");
 * ```
 */
export function resizeFactors(
  spec: { h: number; w: number; outH: number; outW: number; filter: ResizeFilterOptions },
): SeparableFactors {
  const { h, w, outH, outW, filter } = spec;
  const make = (i: number, o: number): tf.Tensor2D =>
    cachedMatrix(`resize:${i}:${o}:${filterKey(filter)}`, () => ({
      values: Float32Array.from(resizeMatrix(i, o, filter)),
      rows: o,
      cols: i,
    }));
  return { left: make(h, outH), right: make(w, outW), parts: 1 };
}

/**
 * Resize a float32 batch (NHWC by default, or NCHW) to `size` with `method` (`bilinear`,
 * `bicubic`, `area`, `lanczos`), up or down.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resize } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const x = tf.ones([1, 32, 32, 3]) as tf.Tensor4D;
 * const y = resize(x, { size: 24, method: "bicubic" });
 * console.assert(y.shape.join() === "1,24,24,3" && Math.abs(y.max().dataSync()[0] - 1) < 1e-6);
 * ```
 */
export function resize(images: tf.Tensor4D, options: ResizeOptions): tf.Tensor4D {
  const r = validateResizeOptions(images.shape, { ...options, dtype: images.dtype });
  assertFloat32Images(images);
  if (r.checkFinite) assertFiniteTensor(images, "images");
  if (r.filter.method === "bilinear" && !r.filter.antialias) {
    return tf.tidy(() => {
      const nhwc = r.layout === "NCHW" ? tf.transpose(images, [0, 2, 3, 1]) : images;
      const y = tf.image.resizeBilinear(nhwc as tf.Tensor4D, [r.outH, r.outW], false, true);
      return r.layout === "NCHW" ? tf.transpose(y, [0, 3, 1, 2]) : y;
    });
  }
  return applySeparable(images, r, resizeFactors(r));
}

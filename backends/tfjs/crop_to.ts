/**
 * One dispatcher from a curriculum stage's crop method to the tensor op: the low-frequency
 * crop (`fft`) or a resize (`resize:<method>`), nothing when the side already matches. The
 * trainer's pipeline and `deno task crop` both go through it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { CropMethod } from "@efficienttrain/core";
import { lowFrequencyCrop } from "./low_frequency_crop.ts";
import { resize } from "./resize.ts";

/**
 * A batch (NHWC) brought to side `size` by `method`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { cropTo, initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("cpu");
 * const y = cropTo(tf.ones([1, 8, 8, 1]) as tf.Tensor4D, 4, "resize:bilinear");
 * console.assert(y.shape.join() === "1,4,4,1");
 * ```
 */
export function cropTo(x: tf.Tensor4D, size: number, method: CropMethod | "none"): tf.Tensor4D {
  if (size === x.shape[1] || method === "none") return x;
  if (method === "fft") return lowFrequencyCrop(x, { size });
  const resizeMethod = method.slice("resize:".length) as Parameters<typeof resize>[1]["method"];
  return resize(x, { size, method: resizeMethod });
}

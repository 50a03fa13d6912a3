/**
 * Swin's window partition and its inverse, with the cyclic shift folded in: a map
 * `[B, side, side, C]` rolled by −shift and cut into `window × window` windows of tokens, and
 * back. A backend that registers {@link FUSED_KERNELS}`.windowPartition` and `.windowMerge`
 * (the webgpu one does) runs each as one gather (each is the other's gradient); elsewhere the
 * formula runs: the roll's slices and concatenations and a rank-4 transpose.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, type WindowAttrs } from "@efficienttrain/core";
import { fused, hasFusedKernel } from "./fused.ts";
import { roll2d } from "./layers.ts";

function validated(side: number, window: number, shift: number, what: string): WindowAttrs {
  const whole = (v: number): boolean => Number.isInteger(v) && v >= 0;
  if (!whole(window) || window < 1 || side % window !== 0 || !whole(shift) || shift >= side) {
    throw new RangeError(
      `${what}: window ${window} must divide the side ${side} and shift ${shift} lie in [0, ${side})`,
    );
  }
  return { side, window, shift };
}

/**
 * `x` `[B, side, side, C]` rolled by −`shift` on both spatial axes (`torch.roll`), then its
 * windows' tokens `[B·(side/window)², window², C]`, windows row-major per image.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { windowPartition } from "@efficienttrain/models";
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
 * const tokens = windowPartition(x, 1, { shift: 1 });
 * console.assert(tokens.shape.join() === "4,1,1" && tokens.dataSync().join() === "3,2,1,0");
 * ```
 */
export function windowPartition(
  x: tf.Tensor4D,
  window: number,
  options: { shift?: number } = {},
): tf.Tensor3D {
  const [b, side, width, c] = x.shape;
  if (width !== side) {
    throw new RangeError(`windowPartition: the map ${side}×${width} is not square`);
  }
  const attrs = validated(side, window, options.shift ?? 0, "windowPartition");
  const per = side / window;
  if (hasFusedKernel(FUSED_KERNELS.windowPartition, x)) {
    const [tokens] = fused(FUSED_KERNELS.windowPartition, { x }, attrs as never);
    return tokens as tf.Tensor3D;
  }
  const rolled = attrs.shift > 0 ? roll2d(x, -attrs.shift) : x;
  // rank-4 transposes only (rank-6 transposes are not on every backend)
  const rows = tf.transpose(tf.reshape(rolled, [b * per, window, per, window * c]), [0, 2, 1, 3]);
  return tf.reshape(rows, [b * per * per, window * window, c]);
}

/**
 * The inverse of {@link windowPartition}: windows' tokens back to `[B, side, side, C]`, rolled
 * by +`shift`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { windowMerge, windowPartition } from "@efficienttrain/models";
 * const x = tf.reshape(tf.range(0, 32), [2, 4, 4, 1]) as tf.Tensor4D;
 * const back = windowMerge(windowPartition(x, 2, { shift: 1 }), 2, { side: 4, shift: 1 });
 * console.assert(back.dataSync().join() === x.dataSync().join());
 * ```
 */
export function windowMerge(
  tokens: tf.Tensor3D,
  window: number,
  options: { side: number; shift?: number },
): tf.Tensor4D {
  const attrs = validated(options.side, window, options.shift ?? 0, "windowMerge");
  const [groups, n, c] = tokens.shape;
  const per = attrs.side / window;
  if (n !== window * window || groups % (per * per) !== 0) {
    throw new RangeError(
      `windowMerge: tokens [${tokens.shape}] are not windows of ${window}×${window} of a ` +
        `${attrs.side}-side map`,
    );
  }
  if (hasFusedKernel(FUSED_KERNELS.windowMerge, tokens)) {
    const [x] = fused(FUSED_KERNELS.windowMerge, { tokens }, attrs as never);
    return x as tf.Tensor4D;
  }
  const b = groups / (per * per);
  const rows = tf.transpose(tf.reshape(tokens, [b * per, per, window, window * c]), [0, 2, 1, 3]);
  const x = tf.reshape(rows, [b, attrs.side, attrs.side, c]) as tf.Tensor4D;
  return attrs.shift > 0 ? roll2d(x, attrs.shift) : x;
}

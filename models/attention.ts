/**
 * Multi-head attention's head split and merge, shared by DeiT and Swin: the fused qkv
 * projection's output `[B, N, 3·D]` to q, k, v as `[B, heads, N, D/heads]` (q already scaled),
 * and heads back to tokens. A backend that registers {@link FUSED_KERNELS}`.splitHeads` (the
 * webgpu one does) runs the split as one kernel each way; elsewhere the formula below runs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, type SplitHeadsAttrs } from "@efficienttrain/core";
import { fused, hasFusedKernel } from "./fused.ts";

/**
 * Split `qkv` `[B, N, 3·D]` (timm's order: q, k, v side by side, each `heads` heads of
 * `D/heads` channels) into `q·scale`, `k` and `v`, each `[B, heads, N, D/heads]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { splitHeads } from "@efficienttrain/models";
 * const [q, k, v] = splitHeads(tf.ones([2, 5, 12]), 2, { scale: 0.5 });
 * console.assert(q.shape.join() === "2,2,5,2" && q.dataSync()[0] === 0.5);
 * console.assert(k.dataSync()[0] === 1 && v.shape.join() === "2,2,5,2");
 * ```
 */
export function splitHeads(
  qkv: tf.Tensor3D,
  heads: number,
  options: { scale: number },
): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [b, n, width] = qkv.shape;
  if (!Number.isInteger(heads) || heads < 1 || width % (3 * heads) !== 0) {
    throw new RangeError(
      `splitHeads: qkv's last axis ${width} is not 3 × heads (${heads}) × a head width`,
    );
  }
  const attrs: SplitHeadsAttrs = { heads, scale: options.scale };
  if (hasFusedKernel(FUSED_KERNELS.splitHeads, qkv)) {
    const [q, k, v] = fused(
      FUSED_KERNELS.splitHeads,
      { qkv },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D[];
    return [q, k, v];
  }
  const [q, k, v] = tf.split(qkv, 3, 2).map((t) =>
    tf.transpose(tf.reshape(t, [b, n, heads, width / 3 / heads]), [0, 2, 1, 3]) as tf.Tensor4D
  );
  return [tf.mul(q, options.scale), k, v];
}

/**
 * Heads `[B, heads, N, headDim]` back to tokens `[B, N, heads·headDim]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { mergeHeads } from "@efficienttrain/models";
 * console.assert(mergeHeads(tf.zeros([2, 3, 5, 4])).shape.join() === "2,5,12");
 * ```
 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, heads, n, headDim] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, heads * headDim]);
}

/**
 * Multi-head attention's pieces, shared by DeiT and Swin: the fused qkv projection's output
 * `[B, N, 3·D]` to q, k, v as `[B, heads, N, D/heads]` (q already scaled), the scaled
 * dot-product attention itself, and heads back to tokens. A backend that registers
 * {@link FUSED_KERNELS}`.splitHeads` or `.attention` (the webgpu one does) runs each as one
 * kernel (two backward); elsewhere the formulas below run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type AttentionAttrs, FUSED_KERNELS, type SplitHeadsAttrs } from "@efficienttrain/core";
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

/**
 * Scaled dot-product attention over `q` (already scaled), `k` and `v`, each
 * `[G, heads, N, headDim]`, with the heads merged back: `[G, N, heads·headDim]`. `bias`
 * `[G', heads, N, N]` is added to the scores before the softmax, group g taking bias group
 * g mod G' (G' divides G): Swin's relative position bias (G' = 1) or bias and shift mask
 * (G' = windows per image, its groups being image-major).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { attention } from "@efficienttrain/models";
 * const q = tf.zeros([2, 3, 4, 5]) as tf.Tensor4D, kv = tf.ones([2, 3, 4, 5]) as tf.Tensor4D;
 * const out = attention(q, kv, kv, { bias: tf.zeros([1, 3, 4, 4]) as tf.Tensor4D });
 * console.assert(out.shape.join() === "2,4,15" && out.dataSync()[0] === 1);
 * ```
 */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  options: { bias?: tf.Tensor4D } = {},
): tf.Tensor3D {
  const [g, heads, n] = q.shape;
  const same = (t: tf.Tensor4D): boolean => t.shape.join() === q.shape.join();
  if (!same(k) || !same(v)) {
    throw new RangeError(`attention: q [${q.shape}], k [${k.shape}] and v [${v.shape}] differ`);
  }
  const { bias } = options;
  if (bias) {
    const [groups, ...rest] = bias.shape;
    if (rest.join() !== [heads, n, n].join() || groups < 1 || g % groups !== 0) {
      throw new RangeError(
        `attention: bias [${bias.shape}] is not [G', ${heads}, ${n}, ${n}] with G' dividing ${g}`,
      );
    }
  }
  const attrs: AttentionAttrs = { biasGroups: bias ? bias.shape[0] : 0 };
  if (hasFusedKernel(FUSED_KERNELS.attention, q)) {
    const [tokens] = fused(
      FUSED_KERNELS.attention,
      bias ? { q, k, v, bias } : { q, k, v },
      attrs as unknown as tf.NamedAttrMap,
    );
    return tokens as tf.Tensor3D;
  }
  let scores: tf.Tensor = tf.matMul(q, k, false, true);
  if (bias) {
    // added on flattened views so broadcasting stays rank ≤ 2
    const perBias = attrs.biasGroups * heads * n * n;
    scores = tf.reshape(
      tf.add(tf.reshape(scores, [g / attrs.biasGroups, perBias]), tf.reshape(bias, [-1])),
      [g, heads, n, n],
    );
  }
  return mergeHeads(tf.matMul(tf.softmax(scores) as tf.Tensor4D, v));
}

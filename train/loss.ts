/**
 * Losses and metrics on logits. Plain tfjs functions, safe inside `tf.variableGrads`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Mean soft-target cross-entropy, −Σ t·log softmax(z), the loss timm uses with Mixup/CutMix
 * and label smoothing.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { softTargetCrossEntropy } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * const loss = softTargetCrossEntropy(tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0]]));
 * console.assert(Math.abs(loss.dataSync()[0] - Math.log(2)) < 1e-6);
 * ```
 */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))));
}

/** Top-k hit counts of a batch. */
export interface TopKCounts {
  readonly top1: number;
  readonly top5: number;
  /** Sum (not mean) of the hard-label cross-entropy over the batch. */
  readonly lossSum: number;
}

/**
 * Count top-1 / top-5 hits and the summed cross-entropy for hard labels. The log-probabilities
 * are read back with `await data()`, the only read tfjs-webgpu supports under Deno.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { topKCounts } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * const counts = await topKCounts(tf.tensor2d([[3, 1, 0], [0, 1, 3]]), new Int32Array([0, 1]));
 * console.assert(counts.top1 === 1 && counts.top5 === 2);
 * ```
 */
export async function topKCounts(logits: tf.Tensor2D, labels: Int32Array): Promise<TopKCounts> {
  const [n, classes] = logits.shape;
  const logProbs = tf.tidy(() => tf.logSoftmax(logits));
  let values: Float32Array;
  try {
    values = await logProbs.data() as Float32Array;
  } finally {
    logProbs.dispose();
  }
  const k = Math.min(5, classes);
  let top1 = 0, top5 = 0, lossSum = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes, label = labels[i];
    const target = values[row + label];
    let greater = 0;
    for (let j = 0; j < classes; j++) {
      const v = values[row + j];
      // ties count against the label so a constant output never scores a hit
      if (v > target || (v === target && j < label)) greater++;
    }
    if (greater === 0) top1++;
    if (greater < k) top5++;
    lossSum -= target;
  }
  return { top1, top5, lossSum };
}

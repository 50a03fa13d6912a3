/**
 * Evaluation: top-1, top-5 and loss of a model on the test set, in batches, at the model's
 * current input side (the trainer sets the full side first).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { topKCounts } from "./loss.ts";
import type { TrainerParts } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";

/** Evaluation result over a test set. */
export interface EvalResult {
  readonly top1: number;
  readonly top5: number;
  readonly loss: number;
  readonly count: number;
}

/**
 * Evaluate the model on the test set at its current input size.
 *
 * @example
 * ```ts ignore
 * const { top1 } = await evaluate(parts, settings);
 * ```
 */
export async function evaluate(
  parts: Pick<TrainerParts, "model" | "pipeline" | "testSet">,
  settings: Pick<TrainSettings, "evalBatchSize">,
): Promise<EvalResult> {
  const { model, pipeline, testSet } = parts;
  let top1 = 0, top5 = 0, lossSum = 0;
  const batches = Math.ceil(testSet.count / settings.evalBatchSize);
  for (let b = 0; b < batches; b++) {
    const batch = testSet.batch(b, settings.evalBatchSize);
    const logits = tf.tidy(() => model.forward(pipeline.eval(batch), { training: false }));
    let counts;
    try {
      counts = await topKCounts(logits, batch.labels);
    } finally {
      logits.dispose();
    }
    top1 += counts.top1;
    top5 += counts.top5;
    lossSum += counts.lossSum;
    if (b % 4 === 3) await new Promise((r) => setTimeout(r, 0));
  }
  const n = Math.max(1, testSet.count);
  return { top1: top1 / n, top5: top5 / n, loss: lossSum / n, count: testSet.count };
}

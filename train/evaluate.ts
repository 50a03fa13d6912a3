/**
 * Evaluation: top-1, top-5 and loss of a model on the test set, in batches, at the model's
 * current input side or, mid-curriculum, at the run's full side.
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

/**
 * Evaluate at the run's full side `parts.imageSize` while the model trains at a smaller stage
 * side, then put the model back exactly as it was. `afterRestore` runs once the stage side is
 * back (the stepper re-reads the model's variables there). A model that cannot take the full
 * side is evaluated at its current one.
 *
 * @example
 * ```ts ignore
 * const result = await evaluateAtFullSize(parts, settings, () => stepper.refreshParams());
 * ```
 */
export async function evaluateAtFullSize(
  parts: Pick<TrainerParts, "model" | "pipeline" | "testSet" | "imageSize">,
  settings: Pick<TrainSettings, "evalBatchSize">,
  afterRestore: () => void,
): Promise<EvalResult> {
  const { model } = parts;
  const stageSize = model.inputSize;
  if (stageSize === parts.imageSize || !model.acceptsInputSize(parts.imageSize)) {
    return evaluate(parts, settings);
  }
  // Round-tripping resampled parameters would blur them; snapshot and restore instead.
  const snapshot = new Map([...model.params].map(([k, v]) => [k, tf.clone(v)]));
  model.setInputSize(parts.imageSize);
  try {
    return await evaluate(parts, settings);
  } finally {
    model.setInputSize(stageSize);
    afterRestore();
    for (const [k, t] of snapshot) {
      model.params.get(k)!.assign(t);
      t.dispose();
    }
  }
}

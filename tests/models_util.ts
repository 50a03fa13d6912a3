/**
 * Helpers for the models tests: the cpu backend with gradients registered (the
 * `@tensorflow/tfjs` bundle registers every gradient; `tfjs-core`'s node build does not),
 * and one training step as the trainer runs it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import type { Model } from "@efficienttrain/core";
import { Rng } from "@efficienttrain/core";

/** Select the cpu backend (idempotent). */
export async function useCpu(): Promise<void> {
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
}

/** Deterministic NHWC input. */
export function input(n: number, size: number, chans = 3, seed = 0): tf.Tensor4D {
  const r = new Rng(seed);
  const data = Float32Array.from({ length: n * size * size * chans }, () => r.normal());
  return tf.tensor4d(data, [n, size, size, chans]);
}

/** One training step: loss, and gradients of every parameter by name (caller disposes). */
export function trainStep(
  model: Model,
  x: tf.Tensor4D,
  options: { seed?: number } = {},
): { loss: number; grads: Map<string, tf.Tensor> } {
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const classes = Array.from({ length: x.shape[0] }, (_, i) => i);
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.forward(x, { training: true, seed: options.seed });
    const k = logits.shape[1];
    const labels = tf.oneHot(tf.tensor1d(classes.map((c) => c % k), "int32"), k);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }, vars);
  const loss = value.dataSync()[0];
  value.dispose();
  const byName = new Map<string, tf.Tensor>();
  names.forEach((n, i) => byName.set(n, grads[vars[i].name]));
  return { loss, grads: byName };
}

/** Names of gradients that are missing or not finite. */
export function badGrads(model: Model, grads: Map<string, tf.Tensor>): string[] {
  const bad: string[] = [];
  for (const name of model.params.keys()) {
    const g = grads.get(name);
    if (g === undefined || !g.dataSync().every(Number.isFinite)) bad.push(name);
  }
  return bad;
}

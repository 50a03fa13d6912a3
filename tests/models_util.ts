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

type RunKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: unknown) => unknown;

/** Every `Relu` input of one training-mode forward pass on the current backend (host copies). */
export function reluInputs(
  model: Model,
  x: tf.Tensor4D,
  options: { seed?: number } = {},
): Float32Array[] {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const runKernel = engine.runKernel;
  const seen: Float32Array[] = [];
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    if (name === "Relu") seen.push(Float32Array.from(inputs.x.dataSync()));
    return runKernel.call(this, name, inputs, attrs);
  };
  try {
    tf.tidy(() => void model.forward(x, { training: true, seed: options.seed }));
  } finally {
    engine.runKernel = runKernel;
  }
  return seen;
}

/**
 * ReLU inputs whose sign differs between two runs of the same forward pass. A gradient
 * step's ReLU masks are a step function of these values: where float rounding puts one
 * element on the other side of 0, two correct backends give gradients that differ by that
 * element's whole contribution, which no tolerance on rounding covers.
 */
export function reluSignFlips(a: readonly Float32Array[], b: readonly Float32Array[]): string[] {
  const flips: string[] = [];
  if (a.length !== b.length) return [`${a.length} vs ${b.length} ReLU calls`];
  a.forEach((va, k) => {
    for (let i = 0; i < va.length; i++) {
      if ((va[i] > 0) !== (b[k][i] > 0)) flips.push(`ReLU ${k}[${i}]: ${va[i]} vs ${b[k][i]}`);
    }
  });
  return flips;
}

/**
 * Test helpers: run the same computation on tfjs-cpu (the reference) and on tfjs-wasm and
 * compare. Not part of the published API.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { initBackend } from "../backend.ts";

/** A random input: shape plus values drawn once, so both backends see the same numbers. */
export interface Input {
  readonly shape: number[];
  readonly values: Float32Array | Int32Array;
  readonly dtype: "float32" | "int32";
}

/** Standard-normal float32 input. */
export function randn(rng: Rng, shape: number[]): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.normal();
  return { shape, values, dtype: "float32" };
}

/** int32 input from explicit values. */
export function ints(shape: number[], values: number[]): Input {
  return { shape, values: Int32Array.from(values), dtype: "int32" };
}

/** Run `f` on `backend` with fresh tensors made from `inputs`; return every output's values. */
export async function runOn(
  backend: "cpu" | "wasm",
  inputs: readonly Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await initBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype));
  const out = f(...xs);
  const outs = Array.isArray(out) ? out : [out];
  const values = await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([...xs, ...outs]);
  return values;
}

/** Gradients of `sum(f(xs) * r)` for a fixed random `r`, so dy is not all ones. */
export function gradsOf(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  outShape: number[],
  seed = 7,
): (...xs: tf.Tensor[]) => tf.Tensor[] {
  const r = randn(new Rng(seed), outShape);
  return (...xs: tf.Tensor[]) => {
    const rt = tf.tensor(r.values, r.shape);
    const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), rt)))(xs);
    rt.dispose();
    return g;
  };
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= num)) num = d; // NaN propagates as a failure
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** Compute on cpu and wasm; return the worst relative error over all outputs. */
export async function parity(
  inputs: readonly Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<number> {
  const ref = await runOn("cpu", inputs, f);
  const got = await runOn("wasm", inputs, f);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, relError(got[i], ref[i]));
  return worst;
}

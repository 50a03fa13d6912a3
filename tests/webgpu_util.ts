/**
 * Shared by the WebGPU tests: start tfjs-webgpu on whatever adapter exists (llvmpipe included),
 * seeded inputs, the error measure the kernel comparisons use and a dispatch counter.
 */
import { BackendError, initBackend } from "@efficienttrain/backend-tfjs";
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Rng } from "@efficienttrain/core";

/**
 * Make tfjs-webgpu the current backend; false when Deno has no `navigator.gpu`, no adapter, or
 * tfjs cannot start on it (the tests that need it are then skipped).
 */
export async function startWebgpu(): Promise<boolean> {
  if ((navigator as { gpu?: GPU }).gpu === undefined) return false;
  // initBackend's probe asks for the adapter (and points Mesa at a runtime dir first)
  try {
    await initBackend("webgpu", { allowFallbackAdapter: true });
    return true;
  } catch (e) {
    if (e instanceof BackendError) return false;
    throw e;
  }
}

/** Uniform values in (−scale, scale) for `shape`. */
export function random(shape: readonly number[], rng: Rng, scale: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** The largest absolute difference over the largest magnitude of `want` (absolute when 0). */
export function worstRelative(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let scale = 0, err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= err)) err = d;
  }
  return scale === 0 ? err : err / scale;
}

/** How many dispatches tfjs-webgpu records while `f` runs (the fused kernels' included). */
export function dispatchesOf(f: () => tf.Tensor | tf.Tensor[]): number {
  const backend = tf.backend() as unknown as { recordAndSubmit: (...args: unknown[]) => void };
  const record = backend.recordAndSubmit;
  let count = 0;
  backend.recordAndSubmit = (...args: unknown[]) => {
    count++;
    record.apply(backend, args);
  };
  try {
    tf.dispose(f());
  } finally {
    backend.recordAndSubmit = record;
  }
  return count;
}

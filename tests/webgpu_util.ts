/**
 * Shared by the WebGPU tests: start tfjs-webgpu on whatever adapter exists (llvmpipe included),
 * and seeded inputs.
 */
import { BackendError, initBackend } from "@efficienttrain/backend-tfjs";
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

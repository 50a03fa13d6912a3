/**
 * `@efficienttrain/backend-native`: a tfjs backend named `native` whose heavy kernels
 * (convolutions forward and backward, depthwise convolutions, matrix products, element-wise
 * chains and reductions) call oneDNN and OpenBLAS through Deno FFI, zero-copy on the tfjs-cpu
 * backend's Float32Arrays. Everything else runs as tfjs-cpu.
 *
 * Needs the Debian package `libdnnl2` (oneDNN 2.x) and Deno's `--allow-ffi`. GEMMs run in
 * oneDNN's sgemm; `ET_NATIVE_GEMM=openblas` switches them to OpenBLAS (`libopenblas0-pthread`).
 *
 * @module
 */
import { NATIVE_BACKEND_NAME, registerNative } from "./backend.ts";
import { loadNativeLibs } from "./ffi.ts";

export { NATIVE_BACKEND_NAME };
export { batchNormTraining, type BatchNormTrainingResult } from "./batch_norm.ts";
export { layerNormFused } from "./layer_norm.ts";
export { geluFused } from "./gelu.ts";

/** Whether the native backend can run here, and if not, why and how to fix it. */
export interface NativeProbe {
  readonly available: boolean;
  readonly reason: string;
}

/**
 * Check that the system libraries load.
 *
 * @example
 * ```ts
 * import { probeNative } from "@efficienttrain/backend-native";
 * console.assert(typeof probeNative().available === "boolean");
 * ```
 */
export function probeNative(): NativeProbe {
  const libs = loadNativeLibs();
  if (typeof libs === "string") return { available: false, reason: libs };
  return {
    available: true,
    reason: `oneDNN (libdnnl.so.2) loaded; GEMM: ${libs.gemm.name}`,
  };
}

/**
 * Register the tfjs backend named `native`. Throws when {@link probeNative} says unavailable.
 * Idempotent. Select it afterwards with `await tf.setBackend("native")`.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerNativeBackend } from "@efficienttrain/backend-native";
 * await registerNativeBackend();
 * await tf.setBackend("native");
 * ```
 */
export function registerNativeBackend(): Promise<void> {
  try {
    registerNative();
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * `@efficienttrain/backend-native`: a tfjs backend named `native` for training on the CPU. It
 * is tfjs-cpu's `MathBackendCPU` (every cpu kernel is registered for it too, on the same
 * Float32Arrays) with the heavy kernels replaced by oneDNN 2.x calls through Deno FFI,
 * zero-copy: convolutions forward and both gradients (regular, depthwise, fused bias+ReLU),
 * matrix products, broadcasting element-wise ops, reductions, transposes and splits, softmax,
 * ReLU and Sum/Mean gradients. Output buffers are pooled (fresh pages cost more than the
 * kernels). PyTorch uses the same library for its CPU convolutions.
 *
 * Three ops fuse what tfjs otherwise runs as chains of element-wise kernels (2 passes instead
 * of ~25 per norm layer): {@link batchNormTraining}, {@link layerNormFused}, {@link geluFused}.
 * On other backends they compute the plain tfjs formula, so model code can call them always.
 *
 * Needs the Debian package `libdnnl2` and Deno's `--allow-ffi` (and `--allow-env` to size the
 * thread pool). Environment: `OMP_NUM_THREADS` (threads; by default the cores other processes
 * leave idle at load time, by the 1-minute load average, at least 1),
 * `ET_NATIVE_GEMM=openblas` (GEMMs on OpenBLAS, `libopenblas0-pthread`, instead of oneDNN's
 * sgemm), `ET_NATIVE_DNNL=/path/libdnnl.so.2` (another oneDNN 2.x build), `ET_NATIVE_POOL_MB`
 * (the output-buffer pool's cap, default 2048), `ET_NATIVE_DENORMALS=keep` (IEEE subnormal
 * floats; by default they are flushed to zero, see {@link setFlushDenormals}).
 *
 * @module
 */
import { NATIVE_BACKEND_NAME, registerNative } from "./backend.ts";
import { loadNativeLibs, nativeThreads as threadsInUse } from "./ffi.ts";

export { NATIVE_BACKEND_NAME };
export { NativeBackendCPU, type NativeBackendOptions, poolCapFromEnv } from "./pool.ts";

/**
 * Threads the native kernels use (OMP_NUM_THREADS as set by the user or chosen at load time).
 *
 * @example
 * ```ts
 * import { nativeThreads } from "@efficienttrain/backend-native";
 * console.assert(nativeThreads() >= 1);
 * ```
 */
export function nativeThreads(): number {
  return threadsInUse();
}
export { batchNormTraining, type BatchNormTrainingResult } from "./batch_norm.ts";
export { layerNormFused } from "./layer_norm.ts";
export { geluFused } from "./gelu.ts";
export { setNativeMinElements } from "./kernel_util.ts";
export { denormalsFromEnv, flushingDenormals, setFlushDenormals } from "./denormals.ts";
export { choiceFromEnv, gemmFromEnv } from "./ffi.ts";

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
    reason: `oneDNN (libdnnl.so.2) loaded; ${threadsInUse()} thread(s); GEMM: ${libs.gemm.name}`,
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

/**
 * The `native` tfjs backend: a tfjs-cpu `MathBackendCPU` (so every cpu kernel works on it
 * unchanged, on the same Float32Arrays) whose heavy kernels are replaced by oneDNN / OpenBLAS
 * calls through Deno FFI.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerFusedGradients } from "@efficienttrain/core";
import "@tensorflow/tfjs-backend-cpu";
import { NativeBackendCPU, poolCapFromEnv } from "./pool.ts";
import { envGet, gemmFromEnv, loadNativeLibs } from "./ffi.ts";
import { denormalsFromEnv, setFlushDenormals } from "./denormals.ts";
import { dnnlContext } from "./dnnl.ts";
import { convKernels } from "./kernels_conv.ts";
import { matMulKernels } from "./kernels_matmul.ts";
import { elementwiseKernels } from "./kernels_elementwise.ts";
import { batchNormKernels } from "./batch_norm.ts";
import { registerReluGradient, reluGradKernel } from "./relu_grad.ts";
import { layoutKernels } from "./kernels_layout.ts";
import { maxPoolKernels } from "./max_pool.ts";
import { layerNormKernels } from "./layer_norm.ts";
import { geluKernels } from "./gelu.ts";
import { adamWKernel } from "./adamw.ts";
import { broadcastGradKernel, registerReduceGradients } from "./reduce_grad.ts";

/** The name the backend is registered under in tfjs. */
export const NATIVE_BACKEND_NAME = "native";

let registered = false;

/**
 * Register the backend and its kernels (idempotent). Throws with the probe's reason when the
 * libraries are missing.
 */
export function registerNative(priority = 0): void {
  if (registered) return;
  // Every setting is read before anything loads, so a bad value stops the run with its name.
  gemmFromEnv(envGet("ET_NATIVE_GEMM"));
  const flush = denormalsFromEnv(envGet("ET_NATIVE_DENORMALS")) === "flush";
  const maxPooledBytes = poolCapFromEnv(envGet("ET_NATIVE_POOL_MB"));
  const libs = loadNativeLibs();
  if (typeof libs === "string") throw new Error(libs);
  // Before oneDNN starts its OpenMP threads, which inherit this thread's setting. A DeiT-Tiny
  // trained 19 epochs stepped 1,330 ms at 96 px against 1,069 fresh; 1,046 with the flush.
  if (flush) setFlushDenormals(true);
  const ctx = dnnlContext(libs.dnnl);
  const name = NATIVE_BACKEND_NAME;
  const overrides = [
    ...convKernels(ctx, name),
    ...matMulKernels(ctx, name),
    ...elementwiseKernels(ctx, libs.gemm, name),
    ...batchNormKernels(ctx, name),
    reluGradKernel(ctx, name),
    ...layoutKernels(ctx, name),
    ...layerNormKernels(ctx, name),
    ...geluKernels(ctx, name),
    broadcastGradKernel(ctx, name),
    ...maxPoolKernels(name),
    adamWKernel(name),
  ];
  registerFusedGradients();
  registerReduceGradients(name);
  registerReluGradient(name);
  const overridden = new Set(overrides.map((k) => k.kernelName));
  tf.registerBackend(name, () => new NativeBackendCPU({ maxPooledBytes }), priority);
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (overridden.has(k.kernelName)) continue;
    tf.registerKernel({ ...k, backendName: name });
  }
  for (const k of overrides) tf.registerKernel(k);
  registered = true;
}

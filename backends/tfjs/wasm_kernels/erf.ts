/**
 * `Erf` for tfjs-wasm, which calls musl's `erff` per element (~35 M elements/s): exact GELU
 * (`0.5·x·(1 + erf(x/√2))`, used by ConvNeXt, DeiT and Swin on their widest activations)
 * spent most of its forward pass there. This is the rational approximation XLA and Eigen use
 * for float32 (odd degree-13 over even degree-8, input clamped to [−4, 4]; max abs error
 * 9.5e-8 against float64 erf, tfjs-cpu's Abramowitz–Stegun formula has 1.4e-7), with no
 * transcendental call.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { alloc, f32, runWasm, type WasmKernelArgs } from "./heap.ts";

/**
 * erf(x) for one float (the kernel's formula, exported for tests).
 *
 * @example
 * ```ts
 * import { erfApprox } from "./erf.ts";
 * console.assert(Math.abs(erfApprox(1) - 0.8427007929497149) < 1e-7);
 * ```
 */
export function erfApprox(x: number): number {
  const c = x > 4 ? 4 : x < -4 ? -4 : x;
  const x2 = c * c;
  const p = ((((((-2.72614225801306e-10 * x2 + 2.77068142495902e-08) * x2 -
                    2.10102402082508e-06) * x2 - 5.69250639462346e-05) * x2 -
            7.34990630326855e-04) * x2 -
        2.95459980854025e-03) * x2 - 1.60960333262415e-02) * c;
  const q = (((-1.45660718464996e-05 * x2 - 2.13374055278905e-04) * x2 -
            1.68282697438203e-03) * x2 - 7.37332916720468e-03) * x2 - 1.42647390514189e-02;
  return p / q;
}

/**
 * The kernel function registered as `Erf` on `wasm` (float32; other dtypes go to tfjs-wasm).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const y = tf.erf(tf.tensor1d([0, 0.5, -2])).dataSync();
 * console.assert(Math.abs(y[1] - 0.5204999) < 1e-6 && Math.abs(y[2] + 0.9953223) < 1e-6);
 * ```
 */
export function erfWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  if (x.dtype !== "float32") return runWasm("Erf", backend, { x });
  const out = alloc(backend, [...x.shape]);
  const xv = f32(backend, x), ov = f32(backend, out);
  for (let i = 0; i < xv.length; i++) ov[i] = erfApprox(xv[i]);
  return out;
}

/**
 * The native backend (oneDNN and OpenBLAS through Deno FFI, `@efficienttrain/backend-native`).
 * Available where the Debian libraries load and FFI is permitted.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeThreads, probeNative, registerNativeBackend } from "@efficienttrain/backend-native";
import { type BackendProvider, oneLine } from "./provider.ts";

/** The `native` backend. */
export const nativeProvider: BackendProvider = {
  name: "native",
  tfjsName: "native",
  auto: true,
  probe: () => {
    try {
      const p = probeNative();
      return Promise.resolve({ available: p.available, reason: oneLine(p.reason) });
    } catch (e) {
      // a missing permission (no --allow-ffi) is reported, not thrown
      return Promise.resolve({
        available: false,
        reason: oneLine(e instanceof Error ? e.message : String(e)),
      });
    }
  },
  register: async () => {
    if (tf.findBackendFactory("native") === null) await registerNativeBackend();
  },
  // The kernels run on OpenMP's pool (OpenBLAS only with ET_NATIVE_GEMM=openblas, and then
  // sized the same). Reading OPENBLAS_NUM_THREADS instead recorded 2 threads for runs that
  // computed on 1 (OMP_NUM_THREADS=1 set, OpenBLAS's count left to the load average).
  threads: () => nativeThreads(),
};

/**
 * The native backend (oneDNN and OpenBLAS through Deno FFI, `@efficienttrain/backend-native`).
 * Available where the Debian libraries load and FFI is permitted.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { probeNative, registerNativeBackend } from "@efficienttrain/backend-native";
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
  // OpenBLAS' pthread build uses every core unless OPENBLAS_NUM_THREADS says otherwise.
  threads: () => Number(Deno.env.get("OPENBLAS_NUM_THREADS")) || navigator.hardwareConcurrency || 1,
};

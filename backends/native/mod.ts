/**
 * `@efficienttrain/backend-native`: a tfjs backend whose heavy kernels call OpenBLAS through
 * Deno FFI. (Contract only; the kernels land with the CPU-engine work.)
 *
 * @module
 */

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
  return { available: false, reason: "native backend not built yet" };
}

/**
 * Register the tfjs backend named `native`. Throws when {@link probeNative} says unavailable.
 *
 * @example
 * ```ts ignore
 * import { registerNativeBackend } from "@efficienttrain/backend-native";
 * await registerNativeBackend();
 * ```
 */
export function registerNativeBackend(): Promise<void> {
  return Promise.reject(new Error(probeNative().reason));
}

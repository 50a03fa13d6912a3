/**
 * `@efficienttrain/core`: the backend-agnostic contracts (tensor ops, backend service, model
 * interface, crop methods), the float64 references of the crop and the resize, shared
 * errors, seeded RNG and atomic file writes. The curriculum algebra lives in
 * `@efficienttrain/curricula`.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./atomic.ts";
export * from "./checksum.ts";
export * from "./kernel_names.ts";
export * from "./fused_gradients.ts";
export * from "./ops.ts";
export * from "./backend.ts";
export * from "./model.ts";
export * from "./frequency.ts";
export * from "./resample.ts";
export * from "./npy.ts";

/**
 * `@efficienttrain/core`: the backend-agnostic contracts (tensor ops, backend service, model
 * interface), shared errors, seeded RNG and atomic file writes.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./atomic.ts";
export * from "./checksum.ts";
export * from "./kernel_names.ts";
export * from "./ops.ts";
export * from "./backend.ts";
export * from "./model.ts";
export * from "./frequency.ts";
export * from "./resample.ts";
export * from "./npy.ts";
export * from "./curriculum/mod.ts";

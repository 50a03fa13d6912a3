/**
 * `@efficienttrain/backend-tfjs`: tfjs on `cpu`, `wasm`, `webgpu` or `native` (initialised and
 * chosen by `initBackend`, provided as the core `Backend` service by `backendLayer`), the wasm
 * gradient kernels tfjs-wasm lacks, low-frequency cropping and resizing.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./wasm_kernels/register.ts";
export * from "./separable.ts";
export * from "./low_frequency_crop.ts";
export * from "./resize.ts";
export * from "./crop_to.ts";

/**
 * `@efficienttrain/backend-webgpu`: WGSL kernels on Deno's `navigator.gpu` — EfficientTrain's
 * low-frequency crop and the matrix resizes — plus the shared GPUDevice they run on, which
 * can be tfjs-webgpu's own device (`useDevice`) so buffers move between them without a copy
 * through the host.
 *
 * @module
 */
export * from "./device.ts";
export * from "./separable.ts";
export * from "./low_frequency_crop.ts";
export * from "./resize.ts";
export * from "./tfjs_interop.ts";

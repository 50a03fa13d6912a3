/**
 * `@efficienttrain/backend-webgpu`: WGSL kernels on Deno's `navigator.gpu` — EfficientTrain's
 * low-frequency crop, the matrix resizes and the training kernels tfjs-webgpu lacks or runs
 * naively (fused AdamW, batch norm, layer norm, GELU, attention's head split, scaled
 * dot-product attention, Swin's shifted window partition, softmax's gradient, the convolutions'
 * filter gradients, the norms' long column sums split over slices of the rows) — plus the
 * shared GPUDevice they run on, which can be tfjs-webgpu's own device (`useDevice`) so buffers
 * move between them without a copy through the host.
 *
 * @module
 */
export * from "./device.ts";
export * from "./separable.ts";
export * from "./low_frequency_crop.ts";
export * from "./resize.ts";
export * from "./tfjs_interop.ts";
export * from "./adamw.ts";
export * from "./batch_norm.ts";
export * from "./layer_norm.ts";
export * from "./gelu.ts";
export * from "./split_heads.ts";
export * from "./attention.ts";
export * from "./windows.ts";
export * from "./softmax.ts";
export * from "./conv_filter_grad.ts";
export * from "./column_sums.ts";
export * from "./training_kernels.ts";
export type { WebGPUBackendLike } from "./program.ts";

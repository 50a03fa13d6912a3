/**
 * `@efficienttrain/backend-tfjs/crop`: the stage crop on tfjs tensors (the low-frequency crop,
 * the resizes, and `cropTo`, which dispatches on a curriculum stage's crop method), with no
 * backend attached. The trainer imports this, so that importing it does not load tfjs-wasm,
 * tfjs-webgpu or the backend selection.
 *
 * @module
 */
export * from "./separable.ts";
export * from "./low_frequency_crop.ts";
export * from "./resize.ts";
export * from "./crop_to.ts";

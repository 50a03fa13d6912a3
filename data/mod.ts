/**
 * `@efficienttrain/data`: datasets (MNIST embedded, IDX, CIFAR binary, image folders and
 * tar archives, a decoded cache), timm-style augmentation with a curriculum-controlled
 * RandAugment magnitude, tensor-side normalisation / random erasing / Mixup–CutMix, and a
 * worker-backed deterministic batch loader.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./types.ts";
export * from "./io.ts";
export * from "./idx.ts";
export * from "./cifar.ts";
export * from "./tar.ts";
export * from "./decode.ts";
export * from "./resize.ts";
export * from "./folder.ts";
export * from "./cache.ts";
export * from "./dataset.ts";
export * from "./services.ts";
export * from "./image_ops.ts";
export * from "./rand_augment.ts";
export * from "./augment.ts";
export * from "./batch_ops.ts";
export * from "./batch.ts";
export * from "./loader.ts";

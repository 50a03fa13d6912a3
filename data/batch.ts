/**
 * What the loader produces and how one batch is computed; shared by the inline path and the
 * augmentation workers so both give byte-identical batches.
 *
 * @module
 */
import { Rng } from "@efficienttrain/core";
import { type AugmentConfig, augmentImage, augmentOutputSize } from "./augment.ts";
import type { HWC } from "./resize.ts";

/** A batch of decoded, augmented images on the host: NHWC uint8 pixels and their labels. */
export interface HostBatch {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** A batch from the loader: a {@link HostBatch} plus the dataset indices used. */
export interface LoaderBatch extends HostBatch {
  readonly indices: Int32Array;
  readonly epoch: number;
  readonly index: number;
}

/**
 * The generator for batch `batch` of epoch `epoch`: a pure function of the three numbers, so
 * any worker (or a resumed run) draws the same augmentations.
 *
 * @example
 * ```ts
 * import { batchRng } from "@efficienttrain/data";
 * console.assert(batchRng(1, 2, 3).next() === batchRng(1, 2, 3).next());
 * ```
 */
export function batchRng(seed: number, epoch: number, batch: number): Rng {
  return new Rng(`batch:${seed}:${epoch}:${batch}`);
}

/**
 * The order of epoch `epoch`: a seeded permutation (or the identity without shuffling).
 *
 * @example
 * ```ts
 * import { epochOrder } from "@efficienttrain/data";
 * console.assert(epochOrder(5, { seed: 0, epoch: 0, shuffle: false }).join() === "0,1,2,3,4");
 * ```
 */
export function epochOrder(
  count: number,
  options: { seed: number; epoch: number; shuffle: boolean },
): Int32Array {
  if (!options.shuffle) return Int32Array.from({ length: count }, (_, i) => i);
  return new Rng(`epoch:${options.seed}:${options.epoch}`).permutation(count);
}

/**
 * Augment the images at `indices` of an NHWC buffer into one output batch buffer.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { augmentBatch } from "@efficienttrain/data";
 * const images = new Uint8Array(3 * 4 * 4 * 1).fill(7);
 * const out = augmentBatch(images, { height: 4, width: 4, channels: 1 }, Int32Array.of(2, 0), {}, new Rng(0));
 * console.assert(out.length === 2 * 16 && out[0] === 7);
 * ```
 */
export function augmentBatch(
  images: Uint8Array,
  shape: HWC,
  indices: Int32Array,
  config: AugmentConfig,
  rng: Rng,
): Uint8Array {
  const per = shape.height * shape.width * shape.channels;
  const side = augmentOutputSize(config, shape);
  const outW = (config.crop?.kind ?? "none") === "none" ? shape.width : side;
  const outPer = side * outW * shape.channels;
  const out = new Uint8Array(indices.length * outPer);
  const plain = (config.crop?.kind ?? "none") === "none" && !(config.hflip! > 0) &&
    !(config.randAugment && config.randAugment.magnitude >= 0);
  for (let i = 0; i < indices.length; i++) {
    const src = images.subarray(indices[i] * per, (indices[i] + 1) * per);
    out.set(plain ? src : augmentImage(src, shape, config, rng), i * outPer);
  }
  return out;
}

/**
 * Config with the RandAugment magnitude replaced (`undefined` leaves it).
 *
 * @example
 * ```ts
 * import { withMagnitude } from "@efficienttrain/data";
 * console.assert(withMagnitude({ randAugment: { magnitude: 1 } }, 5).randAugment?.magnitude === 5);
 * ```
 */
export function withMagnitude(config: AugmentConfig, magnitude: number | undefined): AugmentConfig {
  if (magnitude === undefined || !config.randAugment) return config;
  return { ...config, randAugment: { ...config.randAugment, magnitude } };
}

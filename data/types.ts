/**
 * The in-memory representation the trainer consumes: a split is one contiguous uint8 NHWC
 * buffer plus int32 labels, so batches are slices and workers can share it without copies.
 *
 * @module
 */
import { InvalidArgumentError, Rng } from "@efficienttrain/core";

/** One split of a dataset, decoded: `images` is N·H·W·C bytes in NHWC order. */
export interface ImageSet {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** Per-split image counts. */
export interface SplitCounts {
  readonly train: number;
  readonly test: number;
}

/** Metadata of a loaded dataset. `mean`/`std` are per channel in 0–1 units (train split). */
export interface DatasetInfo {
  readonly name: string;
  readonly classes: readonly string[];
  readonly splits: SplitCounts;
  /** `[height, width, channels]`. */
  readonly imageShape: readonly [number, number, number];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** A loaded dataset: metadata plus both splits. */
export interface LoadedDataset {
  readonly info: DatasetInfo;
  readonly train: ImageSet;
  readonly test: ImageSet;
}

/**
 * Build an {@link ImageSet}, checking that buffer sizes agree with the shape.
 *
 * @example
 * ```ts
 * import { imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array(2 * 4 * 4 * 3), new Int32Array([0, 1]), { height: 4, width: 4, channels: 3 });
 * console.assert(s.count === 2);
 * ```
 */
export function imageSet(
  images: Uint8Array,
  labels: Int32Array,
  shape: { height: number; width: number; channels: number },
): ImageSet {
  const { height, width, channels } = shape;
  const count = labels.length;
  if (images.length !== count * height * width * channels) {
    throw new InvalidArgumentError({
      argument: "images",
      value: `${images.length} bytes`,
      reason: `expected ${count}×${height}×${width}×${channels} = ${
        count * height * width * channels
      }`,
    });
  }
  return { images, labels, count, height, width, channels };
}

/**
 * The first `n` images of a split (a view, no copy), for fast tests and quick runs.
 *
 * @example
 * ```ts
 * import { imageSet, subset } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array(3 * 2 * 2), new Int32Array([0, 1, 2]), { height: 2, width: 2, channels: 1 });
 * console.assert(subset(s, 2).count === 2);
 * ```
 */
export function subset(set: ImageSet, n: number): ImageSet {
  const count = Math.max(0, Math.min(set.count, Math.floor(n)));
  const per = set.height * set.width * set.channels;
  return {
    ...set,
    images: set.images.subarray(0, count * per),
    labels: set.labels.subarray(0, count),
    count,
  };
}

/**
 * `n` images drawn without replacement by a seeded shuffle (a copy, in the original order).
 * Use it to limit a split: datasets read from class folders are sorted by class, so the first
 * `n` images ({@link subset}) can hold a single class.
 *
 * @example
 * ```ts
 * import { imageSet, sampleSubset } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array([0, 1, 2, 3]), new Int32Array([0, 0, 1, 1]), { height: 1, width: 1, channels: 1 });
 * const picked = sampleSubset(s, 2, { seed: 3 });
 * console.assert(picked.count === 2 && picked.images[0] === picked.labels[0] * 2 + (picked.images[0] % 2));
 * ```
 */
export function sampleSubset(set: ImageSet, n: number, options: { seed: number }): ImageSet {
  const count = Math.max(0, Math.min(set.count, Math.floor(n)));
  if (count === set.count) return set;
  const chosen = new Rng(options.seed).permutation(set.count).subarray(0, count).sort();
  const per = set.height * set.width * set.channels;
  const images = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  chosen.forEach((j, i) => {
    images.set(set.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = set.labels[j];
  });
  return { ...set, images, labels, count };
}

/**
 * Per-channel mean and standard deviation in 0–1 units (population std, like
 * `torch.std(unbiased=False)` over all pixels), accumulated in float64.
 *
 * @example
 * ```ts
 * import { channelStats, imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array([0, 255]), new Int32Array([0, 1]), { height: 1, width: 1, channels: 1 });
 * const { mean, std } = channelStats(s);
 * console.assert(Math.abs(mean[0] - 0.5) < 1e-9 && Math.abs(std[0] - 0.5) < 1e-9);
 * ```
 */
export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const c = set.channels;
  // integer histograms are exact and much faster than summing floats per pixel
  const hist = new Float64Array(256 * c);
  const img = set.images;
  for (let i = 0; i < img.length; i += c) {
    for (let k = 0; k < c; k++) hist[k * 256 + img[i + k]]++;
  }
  const mean: number[] = [], std: number[] = [];
  for (let k = 0; k < c; k++) {
    let n = 0, s = 0, s2 = 0;
    for (let v = 0; v < 256; v++) {
      const h = hist[k * 256 + v];
      n += h;
      s += h * v;
      s2 += h * v * v;
    }
    const m = n > 0 ? s / n : 0;
    const variance = n > 0 ? Math.max(0, s2 / n - m * m) : 0;
    mean.push(m / 255);
    std.push(Math.sqrt(variance) / 255);
  }
  return { mean, std };
}

/**
 * Images per class label.
 *
 * @example
 * ```ts
 * import { classCounts, imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array(3), new Int32Array([0, 1, 1]), { height: 1, width: 1, channels: 1 });
 * console.assert(classCounts(s, 2).join() === "1,2");
 * ```
 */
export function classCounts(set: ImageSet, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of set.labels) counts[l]++;
  return counts;
}

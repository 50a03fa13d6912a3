/**
 * Per-batch tensor work after the host pipeline, on whatever tfjs backend is active:
 * normalisation, timm's RandomErasing ('pixel' mode) and Mixup/CutMix with label smoothing.
 * All randomness is drawn on the host from core's `Rng` and uploaded, so the same seed gives
 * the same batch on every backend.
 *
 * @module
 */
import type { HostBatch } from "./batch.ts";
import * as tf from "@tensorflow/tfjs-core";
import { InvalidArgumentError, type Rng } from "@efficienttrain/core";

/** A host batch shape (the loader's output). */
export type BatchLike = Omit<HostBatch, "labels">;

function checkedLength(batch: BatchLike): number {
  const { n, height, width, channels } = batch;
  const need = n * height * width * channels;
  if (batch.images.length < need) {
    throw new InvalidArgumentError({
      argument: "batch.images",
      value: `${batch.images.length} bytes`,
      reason: `shape ${n}×${height}×${width}×${channels} needs ${need}`,
    });
  }
  return need;
}

function hostToFloat(batch: BatchLike): tf.Tensor4D {
  const { n, height, width, channels } = batch;
  const need = checkedLength(batch);
  return tf.tensor4d(Float32Array.from(batch.images.subarray(0, need)), [
    n,
    height,
    width,
    channels,
  ]);
}

/**
 * `(x / 255 − mean) / std` per channel, from a uint8 host batch or a float tensor in 0–255,
 * returning float32 NHWC.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { normalizeBatch } from "@efficienttrain/data";
 * const b = { images: new Uint8Array([0, 255]), n: 2, height: 1, width: 1, channels: 1 };
 * const x = normalizeBatch(b, { mean: [0.5], std: [0.5] });
 * console.assert(Math.abs(x.dataSync()[1] - 1) < 1e-6);
 * x.dispose();
 * ```
 */
export function normalizeBatch(
  batch: BatchLike | tf.Tensor4D,
  options: { mean: readonly number[]; std: readonly number[] },
): tf.Tensor4D {
  const c = batch instanceof tf.Tensor ? batch.shape[3] : batch.channels;
  if (options.mean.length !== c || options.std.length !== c) {
    throw new InvalidArgumentError({
      argument: "mean/std",
      value: `${options.mean.length}/${options.std.length} values`,
      reason: `batch has ${c} channels`,
    });
  }
  const scale = Float32Array.from(options.std, (s) => 1 / (255 * s));
  const bias = Float32Array.from(options.mean, (m, i) => -m / options.std[i]);
  if (!(batch instanceof tf.Tensor)) return normalizeHost(batch, scale, bias);
  return tf.tidy(() =>
    tf.add(tf.mul(tf.cast(batch, "float32"), tf.tensor1d(scale)), tf.tensor1d(bias)) as tf.Tensor4D
  );
}

/**
 * The host batch's normalisation in one pass, bit for bit the float32 `x·scale + bias` of the
 * tensor path: a double carries more than 2·24 + 2 bits, so a float32 product or sum done in
 * double and rounded once (`Math.fround`, the store) is float32's correctly rounded result.
 * It replaces three tensor passes (cast, multiply, add) and their allocations.
 */
function normalizeHost(batch: BatchLike, scale: Float32Array, bias: Float32Array): tf.Tensor4D {
  const { n, height, width, channels } = batch;
  const need = checkedLength(batch);
  const src = batch.images, out = new Float32Array(need);
  if (channels === 3) {
    const s0 = scale[0], s1 = scale[1], s2 = scale[2], b0 = bias[0], b1 = bias[1], b2 = bias[2];
    for (let i = 0; i < need; i += 3) {
      out[i] = Math.fround(src[i] * s0) + b0;
      out[i + 1] = Math.fround(src[i + 1] * s1) + b1;
      out[i + 2] = Math.fround(src[i + 2] * s2) + b2;
    }
  } else {
    for (let i = 0; i < need; i++) {
      const k = i % channels;
      out[i] = Math.fround(src[i] * scale[k]) + bias[k];
    }
  }
  return tf.tensor4d(out, [n, height, width, channels]);
}

/** timm RandomErasing settings (defaults: p 0.25, area 0.02–1/3, aspect 0.3–1/0.3). */
export interface RandomErasingOptions {
  readonly probability?: number;
  readonly minArea?: number;
  readonly maxArea?: number;
  readonly minAspect?: number;
  readonly maxAspect?: number;
  /** `pixel` (default, per-pixel N(0,1)), `rand` (per-channel N(0,1)), `const` (zeros). */
  readonly mode?: "pixel" | "rand" | "const";
}

/**
 * The erased rectangles timm's RandomErasing would pick for a batch (one image at most one
 * box, count 1), without touching pixels.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { randomErasingBoxes } from "@efficienttrain/data";
 * const boxes = randomErasingBoxes(new Rng(0), { n: 8, height: 32, width: 32 }, { probability: 1 });
 * console.assert(boxes.every((b) => b !== undefined));
 * ```
 */
export function randomErasingBoxes(
  rng: Rng,
  shape: { n: number; height: number; width: number },
  options: RandomErasingOptions = {},
): ({ top: number; left: number; height: number; width: number } | undefined)[] {
  const p = options.probability ?? 0.25;
  const minArea = options.minArea ?? 0.02, maxArea = options.maxArea ?? 1 / 3;
  const minAspect = options.minAspect ?? 0.3;
  const maxAspect = options.maxAspect ?? 1 / minAspect;
  const [la, lb] = [Math.log(minAspect), Math.log(maxAspect)];
  const { height: H, width: W } = shape;
  const boxes: ({ top: number; left: number; height: number; width: number } | undefined)[] = [];
  for (let i = 0; i < shape.n; i++) {
    let box: { top: number; left: number; height: number; width: number } | undefined;
    if (rng.next() <= p) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const target = rng.uniform(minArea, maxArea) * H * W;
        const aspect = Math.exp(rng.uniform(la, lb));
        const h = Math.round(Math.sqrt(target * aspect));
        const w = Math.round(Math.sqrt(target / aspect));
        if (w < W && h < H) {
          box = { top: rng.int(0, H - h), left: rng.int(0, W - w), height: h, width: w };
          break;
        }
      }
    }
    boxes.push(box);
  }
  return boxes;
}

/**
 * timm RandomErasing on a normalised NHWC batch: each image, with probability p, gets one
 * rectangle replaced by random normal values (per pixel in `pixel` mode).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { Rng } from "@efficienttrain/core";
 * import { randomErasing } from "@efficienttrain/data";
 * const x = tf.zeros([4, 16, 16, 3]) as tf.Tensor4D;
 * const y = randomErasing(x, new Rng(1), { probability: 1 });
 * console.assert(y.shape.join() === "4,16,16,3");
 * ```
 */
export function randomErasing(
  x: tf.Tensor4D,
  rng: Rng,
  options: RandomErasingOptions = {},
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const boxes = randomErasingBoxes(rng, { n, height: h, width: w }, options);
  if (boxes.every((b) => b === undefined)) return tf.clone(x);
  const mode = options.mode ?? "pixel";
  const keep = new Float32Array(n * h * w * c).fill(1);
  const values = new Float32Array(n * h * w * c);
  boxes.forEach((b, i) => {
    if (!b) return;
    const perChannel = mode === "rand" ? Array.from({ length: c }, () => rng.normal()) : undefined;
    for (let y = b.top; y < b.top + b.height; y++) {
      for (let xx = b.left; xx < b.left + b.width; xx++) {
        const o = ((i * h + y) * w + xx) * c;
        for (let k = 0; k < c; k++) {
          keep[o + k] = 0;
          values[o + k] = mode === "pixel" ? rng.normal() : perChannel ? perChannel[k] : 0;
        }
      }
    }
  });
  return tf.tidy(() =>
    tf.add(tf.mul(x, tf.tensor4d(keep, x.shape)), tf.tensor4d(values, x.shape)) as tf.Tensor4D
  );
}

/**
 * One-hot targets with label smoothing: `1 − s + s/K` on the label, `s/K` elsewhere.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { softTargets } from "@efficienttrain/data";
 * const t = softTargets(new Int32Array([1]), 4, 0.1);
 * console.assert(Math.abs(t.dataSync()[1] - 0.925) < 1e-6);
 * ```
 */
export function softTargets(labels: Int32Array, numClasses: number, smoothing = 0): tf.Tensor2D {
  return tf.tensor2d(softTargetArray(labels, numClasses, { smoothing }), [
    labels.length,
    numClasses,
  ]);
}

function softTargetArray(
  labels: Int32Array,
  numClasses: number,
  options: { smoothing: number; lam?: number },
): Float32Array {
  const n = labels.length;
  const off = options.smoothing / numClasses, on = 1 - options.smoothing + off;
  const lam = options.lam ?? 1;
  const out = new Float32Array(n * numClasses).fill(off);
  for (let i = 0; i < n; i++) {
    const a = labels[i], b = labels[n - 1 - i];
    if (a < 0 || a >= numClasses) {
      throw new InvalidArgumentError({
        argument: "labels",
        value: String(a),
        reason: `outside 0..${numClasses - 1}`,
      });
    }
    // timm mixes y with y.flip(0): off·λ + off·(1−λ) = off everywhere else
    out[i * numClasses + a] += (on - off) * lam;
    out[i * numClasses + b] += (on - off) * (1 - lam);
  }
  return out;
}

/** timm Mixup/CutMix settings (batch mode). Defaults: the DeiT/EfficientTrain recipe. */
export interface MixupOptions {
  readonly numClasses: number;
  readonly mixupAlpha?: number;
  readonly cutmixAlpha?: number;
  /** Probability of mixing a batch at all (timm `prob`, default 1). */
  readonly prob?: number;
  /** Probability of CutMix rather than Mixup when both are on (default 0.5). */
  readonly switchProb?: number;
  readonly labelSmoothing?: number;
  /** Recompute λ from the clipped box area (timm `correct_lam`, default true). */
  readonly correctLam?: boolean;
}

/** Result of {@link mixupCutmix}. */
export interface MixedBatch {
  readonly images: tf.Tensor4D;
  /** Soft targets [N, numClasses]; each row sums to 1. */
  readonly targets: tf.Tensor2D;
  readonly lam: number;
  readonly mode: "mixup" | "cutmix" | "none";
  readonly box?: { top: number; left: number; height: number; width: number };
}

/**
 * timm `Mixup` in batch mode: one λ per batch; the batch is mixed with its reverse
 * (`x.flip(0)`); CutMix pastes a box of area ≈ 1−λ and corrects λ to the clipped area.
 * Scale both alphas by a curriculum factor by passing smaller `mixupAlpha`/`cutmixAlpha`.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { Rng } from "@efficienttrain/core";
 * import { mixupCutmix } from "@efficienttrain/data";
 * const x = tf.randomUniform([4, 8, 8, 3]) as tf.Tensor4D;
 * const m = mixupCutmix(x, new Int32Array([0, 1, 2, 3]), new Rng(0), { numClasses: 4 });
 * const rows = tf.sum(m.targets, 1).dataSync();
 * console.assert(rows.every((s) => Math.abs(s - 1) < 1e-5));
 * ```
 */
export function mixupCutmix(
  x: tf.Tensor4D,
  labels: Int32Array,
  rng: Rng,
  options: MixupOptions,
): MixedBatch {
  const mixupAlpha = options.mixupAlpha ?? 0.8, cutmixAlpha = options.cutmixAlpha ?? 1.0;
  const prob = options.prob ?? 1, switchProb = options.switchProb ?? 0.5;
  const smoothing = options.labelSmoothing ?? 0.1;
  const [n, h, w] = x.shape;
  if (labels.length !== n) {
    throw new InvalidArgumentError({
      argument: "labels",
      value: `${labels.length} labels`,
      reason: `batch has ${n} images`,
    });
  }
  let lam = 1;
  let mode: MixedBatch["mode"] = "none";
  if ((mixupAlpha > 0 || cutmixAlpha > 0) && rng.next() < prob) {
    let useCutmix: boolean;
    if (mixupAlpha > 0 && cutmixAlpha > 0) useCutmix = rng.next() < switchProb;
    else useCutmix = cutmixAlpha > 0;
    lam = useCutmix ? rng.beta(cutmixAlpha, cutmixAlpha) : rng.beta(mixupAlpha, mixupAlpha);
    mode = useCutmix ? "cutmix" : "mixup";
  }
  if (mode === "none" || lam === 1) {
    return {
      images: tf.clone(x),
      targets: tf.tensor2d(softTargetArray(labels, options.numClasses, { smoothing }), [
        n,
        options.numClasses,
      ]),
      lam: 1,
      mode: "none",
    };
  }
  if (mode === "mixup") {
    const images = tf.tidy(() =>
      tf.add(tf.mul(x, lam), tf.mul(tf.reverse(x, 0), 1 - lam)) as tf.Tensor4D
    );
    const targets = tf.tensor2d(
      softTargetArray(labels, options.numClasses, { smoothing, lam }),
      [n, options.numClasses],
    );
    return { images, targets, lam, mode };
  }
  // timm rand_bbox: centre uniform over the image, sides √(1−λ)·H, clipped at the borders
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(h * ratio), cutW = Math.trunc(w * ratio);
  const cy = rng.int(0, h - 1), cx = rng.int(0, w - 1);
  const y0 = Math.min(Math.max(cy - (cutH >> 1), 0), h),
    y1 = Math.min(Math.max(cy + (cutH >> 1), 0), h);
  const x0 = Math.min(Math.max(cx - (cutW >> 1), 0), w),
    x1 = Math.min(Math.max(cx + (cutW >> 1), 0), w);
  if (options.correctLam ?? true) lam = 1 - ((y1 - y0) * (x1 - x0)) / (h * w);
  const mask = new Float32Array(h * w);
  for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) mask[y * w + xx] = 1;
  const images = tf.tidy(() => {
    const m = tf.tensor4d(mask, [1, h, w, 1]);
    return tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(tf.reverse(x, 0), m)) as tf.Tensor4D;
  });
  const targets = tf.tensor2d(
    softTargetArray(labels, options.numClasses, { smoothing, lam }),
    [n, options.numClasses],
  );
  return {
    images,
    targets,
    lam,
    mode,
    box: { top: y0, left: x0, height: y1 - y0, width: x1 - x0 },
  };
}

/**
 * Host batch → tfjs tensors: images float32 NHWC (0–255, not normalised) and int32 labels.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { toTensors } from "@efficienttrain/data";
 * const t = toTensors({ images: new Uint8Array(2 * 3), labels: new Int32Array([0, 1]), n: 2, height: 1, width: 1, channels: 3 });
 * console.assert(t.images.shape.join() === "2,1,1,3" && t.labels.dtype === "int32");
 * ```
 */
export function toTensors(
  batch: BatchLike & { readonly labels: Int32Array },
): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const images = hostToFloat(batch);
  return { images, labels: tf.tensor1d(batch.labels, "int32") };
}

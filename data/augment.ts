/**
 * Per-image training augmentation on the host, in timm's order: crop (RandomResizedCrop,
 * or pad-and-random-crop for 28–32 px data) → horizontal flip → RandAugment. Plain
 * functions on uint8 HWC buffers, seeded by core's `Rng`.
 *
 * @module
 */
import type { Rng } from "@efficienttrain/core";
import { type Box, type HWC, type Interpolation, resizeImage } from "./resize.ts";
import { hflip } from "./image_ops.ts";
import { randAugment, type RandAugmentConfig } from "./rand_augment.ts";

/** RandomResizedCrop settings (timm defaults: scale 0.08–1, ratio 3/4–4/3). */
export interface RandomResizedCropOptions {
  /** Output side. */
  readonly size: number;
  readonly scale?: readonly [number, number];
  readonly ratio?: readonly [number, number];
  /** `random` picks bilinear or bicubic per image (timm's train default). */
  readonly interpolation?: "random" | Interpolation;
}

/**
 * torchvision/timm `RandomResizedCrop.get_params`: up to 10 tries for a box with area in
 * `scale`·H·W and log-uniform aspect ratio in `ratio`, then a centre-crop fallback clamped
 * to the ratio range.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { randomResizedCropBox } from "@efficienttrain/data";
 * const box = randomResizedCropBox(new Rng(0), 32, 32, {});
 * console.assert(box.top + box.height <= 32 && box.left + box.width <= 32);
 * ```
 */
export function randomResizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  options: { scale?: readonly [number, number]; ratio?: readonly [number, number] },
): Box {
  const [s0, s1] = options.scale ?? [0.08, 1];
  const [r0, r1] = options.ratio ?? [3 / 4, 4 / 3];
  const area = height * width;
  const lr0 = Math.log(r0), lr1 = Math.log(r1);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = rng.uniform(s0, s1) * area;
    const aspect = Math.exp(rng.uniform(lr0, lr1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { top: rng.int(0, height - h), left: rng.int(0, width - w), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < Math.min(r0, r1)) {
    w = width;
    h = Math.round(w / Math.min(r0, r1));
  } else if (inRatio > Math.max(r0, r1)) {
    h = height;
    w = Math.round(h * Math.max(r0, r1));
  } else {
    w = width;
    h = height;
  }
  return {
    top: Math.floor((height - h) / 2),
    left: Math.floor((width - w) / 2),
    height: h,
    width: w,
  };
}

/**
 * RandomResizedCrop: a random box (see {@link randomResizedCropBox}) resized to
 * `size × size` with PIL-style antialiased resampling.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { randomResizedCrop } from "@efficienttrain/data";
 * const out = randomResizedCrop(new Uint8Array(40 * 40 * 3), { height: 40, width: 40, channels: 3 }, { size: 32 }, new Rng(0));
 * console.assert(out.length === 32 * 32 * 3);
 * ```
 */
export function randomResizedCrop(
  src: Uint8Array,
  shape: HWC,
  options: RandomResizedCropOptions,
  rng: Rng,
): Uint8Array {
  const box = randomResizedCropBox(rng, shape.height, shape.width, options);
  const mode = options.interpolation ?? "random";
  const interpolation: Interpolation = mode === "random"
    ? (rng.next() < 0.5 ? "bilinear" : "bicubic")
    : mode;
  return resizeImage(src, shape, {
    outHeight: options.size,
    outWidth: options.size,
    box,
    interpolation,
  });
}

/** Pad-and-random-crop settings (the CIFAR recipe: pad 4, crop back to the input size). */
export interface PadCropOptions {
  /** Output side (default: the input height). */
  readonly size?: number;
  /** Pixels added on every side (default 4). */
  readonly padding?: number;
  /**
   * `zero` (default; torchvision `RandomCrop(32, padding=4)`, the usual CIFAR recipe) or
   * `reflect` (mirror without repeating the edge, like numpy/torch "reflect").
   */
  readonly mode?: "zero" | "reflect";
}

/**
 * Pad by `padding` on each side, then crop a uniformly placed `size × size` window.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { padRandomCrop } from "@efficienttrain/data";
 * const out = padRandomCrop(new Uint8Array(32 * 32 * 3).fill(9), { height: 32, width: 32, channels: 3 }, {}, new Rng(0));
 * console.assert(out.length === 32 * 32 * 3);
 * ```
 */
export function padRandomCrop(
  src: Uint8Array,
  shape: HWC,
  options: PadCropOptions,
  rng: Rng,
): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const pad = options.padding ?? 4;
  const size = options.size ?? h;
  const ph = h + 2 * pad, pw = w + 2 * pad;
  const top = rng.int(0, ph - size), left = rng.int(0, pw - size);
  const reflect = options.mode === "reflect";
  const out = new Uint8Array(size * size * c);
  const mirror = (i: number, n: number): number => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    i = ((i % period) + period) % period;
    return i < n ? i : period - i;
  };
  for (let y = 0; y < size; y++) {
    const sy = top + y - pad;
    for (let x = 0; x < size; x++) {
      const sx = left + x - pad;
      const o = (y * size + x) * c;
      let yy = sy, xx = sx;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        if (!reflect) continue; // zeros
        yy = mirror(sy, h);
        xx = mirror(sx, w);
      }
      const s = (yy * w + xx) * c;
      for (let k = 0; k < c; k++) out[o + k] = src[s + k];
    }
  }
  return out;
}

/** The per-image training pipeline. */
export interface AugmentConfig {
  /** Crop stage: RandomResizedCrop, pad-and-crop, or none (image passes at its size). */
  readonly crop?:
    | ({ readonly kind: "rrc" } & RandomResizedCropOptions)
    | ({ readonly kind: "pad" } & PadCropOptions)
    | { readonly kind: "none" };
  /** Horizontal flip probability (0 disables; 0.5 is timm's default). */
  readonly hflip?: number;
  /** RandAugment; omitted or magnitude < 0 disables it. */
  readonly randAugment?: RandAugmentConfig;
}

/**
 * Output side length of `config` for an input of `shape`.
 *
 * @example
 * ```ts
 * import { augmentOutputSize } from "@efficienttrain/data";
 * console.assert(augmentOutputSize({ crop: { kind: "rrc", size: 224 } }, { height: 256, width: 256, channels: 3 }) === 224);
 * ```
 */
export function augmentOutputSize(config: AugmentConfig, shape: HWC): number {
  const crop = config.crop ?? { kind: "none" };
  if (crop.kind === "rrc") return crop.size;
  if (crop.kind === "pad") return crop.size ?? shape.height;
  return shape.height;
}

/**
 * Augment one image: crop → flip → RandAugment. The result is `out × out × channels` with
 * `out` = {@link augmentOutputSize}.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { augmentImage } from "@efficienttrain/data";
 * const shape = { height: 32, width: 32, channels: 3 };
 * const cfg = { crop: { kind: "pad" as const, padding: 4 }, hflip: 0.5, randAugment: { magnitude: 9 } };
 * const out = augmentImage(new Uint8Array(32 * 32 * 3), shape, cfg, new Rng(3));
 * console.assert(out.length === 32 * 32 * 3);
 * ```
 */
export function augmentImage(
  src: Uint8Array,
  shape: HWC,
  config: AugmentConfig,
  rng: Rng,
): Uint8Array {
  const crop = config.crop ?? { kind: "none" };
  let img = src;
  let side = shape.height;
  if (crop.kind === "rrc") {
    img = randomResizedCrop(src, shape, crop, rng);
    side = crop.size;
  } else if (crop.kind === "pad") {
    img = padRandomCrop(src, shape, crop, rng);
    side = crop.size ?? shape.height;
  } else if (shape.height !== shape.width) {
    side = shape.height;
  }
  const cur: HWC = {
    height: side,
    width: crop.kind === "none" ? shape.width : side,
    channels: shape.channels,
  };
  if ((config.hflip ?? 0) > 0 && rng.next() < (config.hflip ?? 0)) img = hflip(img, cur);
  const ra = config.randAugment;
  if (ra && ra.magnitude >= 0) img = randAugment(img, cur, ra, rng);
  return img === src ? src.slice() : img;
}

/**
 * The timm training recipe for an image size: RandomResizedCrop for large images,
 * pad-4-and-crop for ≤ 64 px, flip except for single-channel (digit-like) data, and
 * RandAugment `rand-m{m}-n2-mstd0.5-inc1` filled with the dataset mean.
 *
 * @example
 * ```ts
 * import { defaultAugment } from "@efficienttrain/data";
 * const cfg = defaultAugment({ height: 28, width: 28, channels: 1 }, { magnitude: 9, mean: [0.13] });
 * console.assert(cfg.hflip === 0 && cfg.crop?.kind === "pad");
 * ```
 */
export function defaultAugment(
  shape: HWC,
  options: {
    magnitude: number;
    mean?: readonly number[];
    size?: number;
    /** RandomResizedCrop's smallest area fraction (timm's default 0.08). */
    minScale?: number;
  },
): AugmentConfig {
  const small = shape.height <= 64;
  const size = options.size ?? shape.height;
  return {
    crop: small
      ? { kind: "pad", padding: 4, size, mode: "zero" }
      : { kind: "rrc", size, scale: [options.minScale ?? 0.08, 1] },
    hflip: shape.channels === 1 ? 0 : 0.5,
    randAugment: {
      magnitude: options.magnitude,
      numOps: 2,
      magnitudeStd: 0.5,
      fill: (options.mean ?? [0.5, 0.5, 0.5]).map((m) => Math.round(m * 255)),
    },
  };
}

/**
 * RandAugment as timm's `rand-m{m}-n2-mstd0.5-inc1`: two ops drawn with replacement from
 * `_RAND_INCREASING_TRANSFORMS`, each applied with probability 0.5 at a magnitude drawn from
 * N(m, 0.5) clipped to [0, 10], mapped to op arguments by timm's `LEVEL_TO_ARG` functions
 * (with a random sign for the signed ops). The magnitude m is what a curriculum changes per
 * stage.
 *
 * @module
 */
import { InvalidArgumentError, type Rng } from "@efficienttrain/core";
import type { HWC } from "./resize.ts";
import {
  affine,
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  invert,
  posterize,
  rotate,
  sharpness,
  solarize,
  solarizeAdd,
  type WarpInterpolation,
} from "./image_ops.ts";

/**
 * timm's `_RAND_INCREASING_TRANSFORMS`, in timm's order.
 *
 * @example
 * ```ts
 * import { RAND_INCREASING_OPS } from "@efficienttrain/data";
 * console.assert(RAND_INCREASING_OPS.length === 15);
 * ```
 */
export const RAND_INCREASING_OPS = [
  "AutoContrast",
  "Equalize",
  "Invert",
  "Rotate",
  "PosterizeIncreasing",
  "SolarizeIncreasing",
  "SolarizeAdd",
  "ColorIncreasing",
  "ContrastIncreasing",
  "BrightnessIncreasing",
  "SharpnessIncreasing",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
] as const;

/** One RandAugment op name. */
export type RandAugmentOp = typeof RAND_INCREASING_OPS[number];

/** RandAugment settings; defaults are timm's `rand-m9-n2-mstd0.5-inc1`. */
export interface RandAugmentConfig {
  /** Magnitude m in [0, magnitudeMax] (timm levels: 10 is the strongest). */
  readonly magnitude: number;
  /** Ops per image (n), default 2. */
  readonly numOps?: number;
  /** Std of the Gaussian magnitude noise, default 0.5 (0: fixed magnitude). */
  readonly magnitudeStd?: number;
  /** Upper clip of the noisy magnitude, default 10. */
  readonly magnitudeMax?: number;
  /** Probability each chosen op is applied, default 0.5 (timm's `rand_augment_ops`). */
  readonly prob?: number;
  /** Fill for pixels warped in from outside (timm: the dataset mean ×255), default 128. */
  readonly fill?: readonly number[];
  /** Resampling of the geometric ops; `random` picks bilinear or bicubic per op (timm). */
  readonly interpolation?: "random" | WarpInterpolation;
  /** Max translation as a fraction of the side, default 0.45. */
  readonly translatePct?: number;
}

const LEVEL_DENOM = 10;

/**
 * Parse a timm RandAugment string like `rand-m9-n2-mstd0.5-inc1`. Only the increasing op
 * set is implemented, so `inc0` is rejected.
 *
 * @example
 * ```ts
 * import { parseRandAugment } from "@efficienttrain/data";
 * const c = parseRandAugment("rand-m7-n2-mstd0.5-inc1");
 * console.assert(c.magnitude === 7 && c.numOps === 2 && c.magnitudeStd === 0.5);
 * ```
 */
export function parseRandAugment(config: string): RandAugmentConfig {
  const parts = config.split("-");
  const bad = (reason: string) =>
    new InvalidArgumentError({ argument: "randAugment", value: config, reason });
  if (parts[0] !== "rand") throw bad('must start with "rand"');
  let magnitude = 10, numOps = 2, magnitudeStd = 0, magnitudeMax = 10, inc = false;
  for (const p of parts.slice(1)) {
    const m = /^([a-z]+)([\d.]+)$/.exec(p);
    if (!m) throw bad(`bad section "${p}"`);
    const v = Number(m[2]);
    if (m[1] === "m") magnitude = v;
    else if (m[1] === "n") numOps = v;
    else if (m[1] === "mstd") magnitudeStd = v > 100 ? Infinity : v;
    else if (m[1] === "mmax") magnitudeMax = v;
    else if (m[1] === "inc") inc = v !== 0;
    else throw bad(`unknown section "${m[1]}"`);
  }
  if (!inc) throw bad("only the increasing op set (inc1) is implemented");
  return { magnitude, numOps, magnitudeStd, magnitudeMax };
}

function signed(v: number, rng: Rng | undefined, negate?: boolean): number {
  // timm: `-v if random.random() > 0.5 else v`
  const neg = negate ?? (rng !== undefined && rng.next() > 0.5);
  return neg ? -v : v;
}

/**
 * The argument timm's `LEVEL_TO_ARG` gives `op` at `level` (0–10); `negate` fixes the random
 * sign of signed ops (otherwise drawn from `rng`, or positive without one). `undefined` for
 * ops without an argument.
 *
 * @example
 * ```ts
 * import { randAugmentArgument } from "@efficienttrain/data";
 * console.assert(randAugmentArgument("Rotate", 10, { negate: false }) === 30);
 * console.assert(randAugmentArgument("PosterizeIncreasing", 10) === 0);
 * ```
 */
export function randAugmentArgument(
  op: RandAugmentOp,
  level: number,
  options: { rng?: Rng; negate?: boolean; translatePct?: number } = {},
): number | undefined {
  const { rng, negate } = options;
  const f = level / LEVEL_DENOM;
  switch (op) {
    case "AutoContrast":
    case "Equalize":
    case "Invert":
      return undefined;
    case "Rotate":
      return signed(f * 30, rng, negate);
    case "PosterizeIncreasing":
      return 4 - Math.trunc(f * 4);
    case "SolarizeIncreasing":
      return 256 - Math.trunc(f * 256);
    case "SolarizeAdd":
      return Math.trunc(f * 110);
    case "ColorIncreasing":
    case "ContrastIncreasing":
    case "BrightnessIncreasing":
    case "SharpnessIncreasing":
      // 1.0 is "no change"; the sign picks towards 0.1 or 1.9
      return Math.max(0.1, 1 + signed(f * 0.9, rng, negate));
    case "ShearX":
    case "ShearY":
      return signed(f * 0.3, rng, negate);
    case "TranslateXRel":
    case "TranslateYRel":
      return signed(f * (options.translatePct ?? 0.45), rng, negate);
  }
}

/**
 * Apply one op with an explicit argument (as returned by {@link randAugmentArgument}).
 *
 * @example
 * ```ts
 * import { applyRandAugmentOp } from "@efficienttrain/data";
 * const img = new Uint8Array([0, 100, 200, 255]);
 * const out = applyRandAugmentOp("Invert", img, { height: 2, width: 2, channels: 1 });
 * console.assert(out.join() === "255,155,55,0");
 * ```
 */
export function applyRandAugmentOp(
  op: RandAugmentOp,
  src: Uint8Array,
  shape: HWC,
  options: { argument?: number; fill?: readonly number[]; interpolation?: WarpInterpolation } = {},
): Uint8Array {
  const arg = options.argument ?? 0;
  const warp = { fill: options.fill ?? [128], interpolation: options.interpolation ?? "bilinear" };
  switch (op) {
    case "AutoContrast":
      return autoContrast(src, shape);
    case "Equalize":
      return equalize(src, shape);
    case "Invert":
      return invert(src);
    case "Rotate":
      return rotate(src, shape, arg, warp);
    case "PosterizeIncreasing":
      return posterize(src, arg);
    case "SolarizeIncreasing":
      return solarize(src, arg);
    case "SolarizeAdd":
      return solarizeAdd(src, arg);
    case "ColorIncreasing":
      return color(src, shape, arg);
    case "ContrastIncreasing":
      return contrast(src, shape, arg);
    case "BrightnessIncreasing":
      return brightness(src, arg);
    case "SharpnessIncreasing":
      return sharpness(src, shape, arg);
    case "ShearX":
      return affine(src, shape, [1, arg, 0, 0, 1, 0], warp);
    case "ShearY":
      return affine(src, shape, [1, 0, 0, arg, 1, 0], warp);
    case "TranslateXRel":
      return affine(src, shape, [1, 0, arg * shape.width, 0, 1, 0], warp);
    case "TranslateYRel":
      return affine(src, shape, [1, 0, 0, 0, 1, arg * shape.height], warp);
  }
}

/**
 * The ops that move pixels (affine warps): the ones whose resampling filter timm draws per image
 * (bilinear or bicubic).
 *
 * @example
 * ```ts
 * import { GEOMETRIC_OPS } from "@efficienttrain/data";
 * console.assert(GEOMETRIC_OPS.has("Rotate") && !GEOMETRIC_OPS.has("Equalize"));
 * ```
 */
export const GEOMETRIC_OPS: ReadonlySet<RandAugmentOp> = new Set<RandAugmentOp>([
  "Rotate",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
]);

/**
 * RandAugment one HWC image (returns a new buffer, or `src` itself when no op fired).
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { randAugment } from "@efficienttrain/data";
 * const img = new Uint8Array(8 * 8 * 3).map((_, i) => i % 256);
 * const a = randAugment(img, { height: 8, width: 8, channels: 3 }, { magnitude: 9, magnitudeStd: 0.5 }, new Rng(1));
 * const b = randAugment(img, { height: 8, width: 8, channels: 3 }, { magnitude: 9, magnitudeStd: 0.5 }, new Rng(1));
 * console.assert(a.join() === b.join());
 * ```
 */
export function randAugment(
  src: Uint8Array,
  shape: HWC,
  config: RandAugmentConfig,
  rng: Rng,
): Uint8Array {
  const n = config.numOps ?? 2;
  const prob = config.prob ?? 0.5;
  const std = config.magnitudeStd ?? 0.5;
  const max = config.magnitudeMax ?? LEVEL_DENOM;
  const ops: RandAugmentOp[] = [];
  for (let i = 0; i < n; i++) {
    ops.push(RAND_INCREASING_OPS[Math.floor(rng.next() * RAND_INCREASING_OPS.length)]);
  }
  let img = src;
  for (const op of ops) {
    if (prob < 1 && rng.next() > prob) continue;
    let m = config.magnitude;
    if (std === Infinity) m = rng.uniform(0, m);
    else if (std > 0) m = rng.normal(m, std);
    m = Math.max(0, Math.min(m, max));
    const argument = randAugmentArgument(op, m, { rng, translatePct: config.translatePct });
    let interpolation: WarpInterpolation = "bilinear";
    if (GEOMETRIC_OPS.has(op)) {
      const mode = config.interpolation ?? "random";
      interpolation = mode === "random" ? (rng.next() < 0.5 ? "bilinear" : "bicubic") : mode;
    }
    img = applyRandAugmentOp(op, img, shape, { argument, fill: config.fill, interpolation });
  }
  return img;
}

/**
 * Input sides: what a size spec means at a full size H, and the legal side nearest to it.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import type { SizeSpec } from "./types.ts";

const EPS = 1e-9;

function bad(argument: string, value: unknown, reason: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, value: showValue(value), reason });
}

/** Which input sides are legal: a multiple of `multipleOf` that the model accepts. */
export interface SizeRules {
  /** Sizes are multiples of this (default 2: the paper's crop keeps B/2 × B/2 corners). */
  readonly multipleOf?: number;
  /** Whether the model accepts a side (e.g. `model.acceptsInputSize`). */
  readonly accepts?: (size: number) => boolean;
  /** The model's nearest legal side (e.g. `model.nearestInputSize`); used when `accepts` is absent. */
  readonly nearestInputSize?: (size: number) => number;
  /** No side below this one (e.g. `--min-image-size`; H itself is always legal). */
  readonly minSize?: number;
}

/**
 * The legal side nearest to `exact` (ties go to the larger), among multiples of
 * `multipleOf` in [max(multipleOf, minSize), H] that the model accepts. `exact` = H always gives H, so a
 * full-size stage is exactly the baseline.
 *
 * @example
 * ```ts
 * import { legalSize } from "@efficienttrain/curricula";
 * console.assert(legalSize(160 / 224 * 32, 32) === 22); // 22.86 → nearest even
 * console.assert(legalSize(192 / 224 * 32, 32) === 28);
 * console.assert(legalSize(100, 224, { multipleOf: 32 }) === 96);
 * console.assert(legalSize(48, 128, { multipleOf: 16, minSize: 64 }) === 64);
 * ```
 */
export function legalSize(exact: number, imageSize: number, rules: SizeRules = {}): number {
  const m = rules.multipleOf ?? 2;
  if (!Number.isInteger(m) || m < 1) throw bad("multipleOf", m, "must be a positive integer");
  if (!Number.isFinite(exact) || exact <= 0) throw bad("size", exact, "must be > 0");
  if (Math.abs(exact - imageSize) < EPS) return imageSize;
  const model = rules.accepts ??
    (rules.nearestInputSize ? (s: number) => rules.nearestInputSize!(s) === s : () => true);
  const minSize = rules.minSize ?? 0;
  const accepts = (s: number) => s >= minSize && model(s);
  const lowK = Math.floor(exact / m);
  const maxK = Math.floor(imageSize / m);
  // Walk outward from the two multiples around `exact`, nearer first, larger first on ties.
  let lo = Math.min(lowK, maxK);
  let hi = lowK + 1;
  while (lo >= 1 || hi <= maxK) {
    const dLo = lo >= 1 ? exact - lo * m : Infinity;
    const dHi = hi <= maxK ? hi * m - exact : Infinity;
    if (dHi <= dLo) {
      if (accepts(hi * m)) return hi * m;
      hi++;
    } else {
      if (accepts(lo * m)) return lo * m;
      lo--;
    }
  }
  if (accepts(imageSize)) return imageSize;
  throw bad("size", exact, `no legal input side (multiple of ${m}, ≤ ${imageSize}) is accepted`);
}

/**
 * The exact (unrounded) side a size spec denotes at full size H. Absolute sizes scale with H
 * when the curriculum names its reference size `refSize`.
 *
 * @example
 * ```ts
 * import { specToPixels } from "@efficienttrain/curricula";
 * console.assert(specToPixels({ ratio: 0.5 }, 64) === 32);
 * console.assert(specToPixels(160, 28, { refSize: 224 }) === 20);
 * ```
 */
export function specToPixels(
  spec: SizeSpec,
  imageSize: number,
  options: { refSize?: number } = {},
): number {
  const px = typeof spec === "number"
    ? (options.refSize === undefined ? spec : (spec / options.refSize) * imageSize)
    : spec.ratio * imageSize;
  if (px > imageSize + EPS) {
    throw bad("size", spec, `exceeds the full image size ${imageSize}`);
  }
  return px;
}

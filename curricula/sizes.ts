/**
 * The input sides a curriculum asks of a model: what the whole-model conformance test sweeps
 * and what the trainer checks each stage's feature maps against before it starts.
 *
 * @module
 */
import { resolveCurriculum, type ResolvedCurriculum } from "./resolve.ts";
import type { SizeRules } from "./size_spec.ts";
import { getPreset, presetNames } from "./presets.ts";

/**
 * The distinct input sides of a resolved curriculum, ascending.
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { getPreset, stageSizes } from "@efficienttrain/curricula";
 * const r = resolveCurriculum(getPreset("efficienttrain"), { epochs: 10, imageSize: 32 });
 * console.assert(stageSizes(r).join() === "22,28,32");
 * ```
 */
export function stageSizes(resolved: ResolvedCurriculum): number[] {
  return [...new Set(resolved.stages.map((s) => s.imageSize))].sort((a, b) => a - b);
}

/** Options of {@link presetSizes}. */
export interface PresetSizesOptions extends SizeRules {
  /** Full side H. */
  readonly imageSize: number;
  /** Model name or family (selects a preset's per-family size list). */
  readonly modelFamily?: string;
  /** Budgets (epochs) to resolve every preset at; ramps reach more sides with more epochs. */
  readonly budgets?: readonly number[];
}

/**
 * Every side any preset curriculum asks of a model at full side H, over a few budgets,
 * ascending: the sizes a model must train correctly at.
 *
 * @example
 * ```ts
 * import { presetSizes } from "@efficienttrain/curricula";
 * const sides = presetSizes({ imageSize: 32, accepts: (s) => s % 4 === 0 });
 * console.assert(sides[0] >= 4 && sides[sides.length - 1] === 32);
 * ```
 */
export function presetSizes(options: PresetSizesOptions): number[] {
  const sides = new Set<number>();
  for (const name of presetNames) {
    for (const epochs of options.budgets ?? [3, 8, 30, 300]) {
      const resolved = resolveCurriculum(getPreset(name), { ...options, epochs });
      for (const s of stageSizes(resolved)) sides.add(s);
    }
  }
  return [...sides].sort((a, b) => a - b);
}

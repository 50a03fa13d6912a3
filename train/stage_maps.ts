/**
 * The trainer's start-up check of a curriculum against a model: at every stage's input side,
 * each stage of the model must keep a feature map of at least 1×1. A side that leaves a map
 * at 0 is refused before any data is loaded; a 1×1 map is legal (a global pool over one
 * pixel) and reported in the stage table, since a bug there once hid for a long time.
 *
 * @module
 */
import { InvalidArgumentError, type Model } from "@efficienttrain/core";
import type { ResolvedCurriculum } from "@efficienttrain/curricula";

/** The model's feature maps at one curriculum stage. */
export interface StageMaps {
  /** 0-based stage index. */
  readonly stage: number;
  readonly imageSize: number;
  /** Side of each model stage's feature map. */
  readonly sides: readonly number[];
  /** Whether some map is 1×1. */
  readonly collapsed: boolean;
}

/**
 * Feature-map sides at every stage of `resolved`; fails with an {@link InvalidArgumentError}
 * naming the model, the curriculum stage and its side when a map would be 0×0.
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { checkStageMaps } from "@efficienttrain/train";
 * const model = { name: "toy", featureMapSides: (s?: number) => [s! / 2, s! / 4] };
 * const r = resolveCurriculum({ progress: "epochs", segments: [{ kind: "stage", size: 4, magnitude: 9, length: 1 }] }, { epochs: 1, imageSize: 4 });
 * console.assert(checkStageMaps(model, r)[0].collapsed);
 * ```
 */
export function checkStageMaps(
  model: Pick<Model, "name" | "featureMapSides">,
  resolved: ResolvedCurriculum,
): StageMaps[] {
  return resolved.stages.map((s) => {
    const sides = model.featureMapSides(s.imageSize);
    const vanished = sides.findIndex((d) => d < 1);
    if (vanished >= 0) {
      throw new InvalidArgumentError({
        argument: "curriculum",
        value: `${resolved.name} stage ${s.index + 1} (B=${s.imageSize})`,
        reason: `${model.name}'s stage ${vanished + 1} feature map would be 0×0 at ` +
          `${s.imageSize} px (maps ${sides.join(", ")}); use a larger B for this model`,
      });
    }
    return { stage: s.index, imageSize: s.imageSize, sides, collapsed: sides.some((d) => d === 1) };
  });
}

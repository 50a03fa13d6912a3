/**
 * The preset registry: the curricula of the EfficientTrain papers and of their peers, as
 * plain data (see `curricula/README.md` for the sources of every number).
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import { constant, equalComputeStages, equalEpochStages, linearRamp, sequence } from "./algebra.ts";
import type { Curriculum } from "./types.ts";

const ET_SIZES = [160, 160, 160, 192, 224];
const ETPP_SIZES = [96, 96, 160, 160, 160, 160, 224, 224, 224, 224];
const ETPP_FAMILIES = {
  convnext: [160, 160, 160, 160, 160, 160, 224, 224, 224, 224],
  deit_small: [96, 96, 160, 160, 160, 160, 192, 192, 224, 224],
};

function efficientTrain(
  name: string,
  description: string,
  cropMethod?: Curriculum["cropMethod"],
): Curriculum {
  return equalEpochStages(
    ET_SIZES.map((size, k) => ({ size, magnitude: 2 * k + 1 })),
    { name, description, imageSize: 224, ...(cropMethod === undefined ? {} : { cropMethod }) },
  );
}

function efficientTrainPlusPlus(name: string, description: string, replay?: number): Curriculum {
  const c = equalComputeStages(
    ETPP_SIZES.map((size, k) => ({
      size,
      magnitude: k,
      ...(replay !== undefined && k < 2 ? { replay } : {}),
    })),
    { name, description, imageSize: 224, lrProgress: "compute" },
  );
  return { ...c, families: ETPP_FAMILIES };
}

// FFCV rn50_88_epochs.yaml: min_res 160, start_ramp 65, max_res 192, end_ramp 76 of 88 epochs;
// the resolution is interpolated per epoch and rounded to a multiple of 32.
const ffcv: Curriculum = sequence([
  constant({ size: 160, magnitude: 9, length: 65 }, { imageSize: 224 }),
  linearRamp({ from: 160, to: 192, step: 32, snap: "unit", magnitude: 9, length: 11 }, {
    imageSize: 224,
  }),
  constant({ size: 192, magnitude: 9, length: 12 }, { imageSize: 224 }),
], {
  name: "ffcv-progressive",
  description: "FFCV ResNet-50: 160 px, linear ramp to 192 px (steps of 32) between 65/88 and " +
    "76/88 of training, per epoch; evaluation at full size.",
  imageSize: 224,
  cropMethod: "resize:area",
});

// Composer ProgressiveResizing defaults: initial_scale 0.5, delay_fraction 0.5,
// finetune_fraction 0.2, size_increment 4 (absolute pixels), changed per batch.
const composer: Curriculum = sequence([
  constant({ size: { ratio: 0.5 }, magnitude: 9, length: 0.5 }),
  linearRamp({
    from: { ratio: 0.5 },
    to: { ratio: 1 },
    step: 4,
    snap: "continuous",
    magnitude: 9,
    length: 0.3,
  }),
  constant({ size: { ratio: 1 }, magnitude: 9, length: 0.2 }),
], {
  name: "composer-progressive",
  description:
    "MosaicML Composer progressive resizing: scale 0.5 until 50 %, linear to 1.0 at 80 % " +
    "(sizes in steps of 4 px, per batch), full size for the last 20 %.",
  cropMethod: "resize:bilinear",
  boundaries: "exact",
});

/** Names of the presets. */
export type PresetName =
  | "baseline"
  | "efficienttrain"
  | "efficienttrain-resize"
  | "efficienttrain++"
  | "efficienttrain++-replay"
  | "ffcv-progressive"
  | "composer-progressive";

/**
 * The preset curricula, keyed by name.
 *
 * @example
 * ```ts
 * import { presets } from "@efficienttrain/curricula";
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
 * console.assert(r.stages.map((s) => s.endEpoch).join() === "60,120,180,240,300");
 * ```
 */
export const presets: { readonly [K in PresetName]: Curriculum } = {
  baseline: constant({ size: { ratio: 1 }, magnitude: 9 }, {
    name: "baseline",
    description: "Full size, RandAugment m = 9 throughout.",
  }),
  efficienttrain: efficientTrain(
    "efficienttrain",
    "EfficientTrain (ICCV 2023): 5 equal-epoch stages, B = 160,160,160,192,224 of 224, m = 1,3,5,7,9, " +
      "low-frequency (FFT) crop.",
  ),
  "efficienttrain-resize": efficientTrain(
    "efficienttrain-resize",
    "The EfficientTrain schedule with a Lanczos resize in place of the low-frequency crop (the " +
      "paper's cropping-vs-downsampling ablation; Lanczos is EfficientTrain++'s CPU-side choice).",
    "resize:lanczos",
  ),
  "efficienttrain++": efficientTrainPlusPlus(
    "efficienttrain++",
    "EfficientTrain++ (TPAMI 2024): 10 equal-compute stages, B = 96×2,160×4,224×4 of 224 " +
      "(ConvNeXt 160×6,224×4; DeiT-S 96×2,160×4,192×2,224×2), m = 0…9, LR by compute fraction.",
  ),
  "efficienttrain++-replay": efficientTrainPlusPlus(
    "efficienttrain++-replay",
    "EfficientTrain++ with the replay buffer of the authors' launcher: each loaded sample is " +
      "used twice in the first two (lowest-resolution) stages.",
    2,
  ),
  "ffcv-progressive": ffcv,
  "composer-progressive": composer,
};

/** The preset names, in registry order. */
export const presetNames: readonly PresetName[] = Object.keys(presets) as PresetName[];

/**
 * Look a preset up by name; an unknown name is an `InvalidArgumentError` listing the known ones.
 *
 * @example
 * ```ts
 * import { getPreset } from "@efficienttrain/curricula";
 * console.assert(getPreset("baseline").segments.length === 1);
 * ```
 */
export function getPreset(name: string): Curriculum {
  if (!Object.hasOwn(presets, name)) {
    throw new InvalidArgumentError({
      argument: "curriculum",
      value: showValue(name),
      reason: `unknown preset; known: ${presetNames.join(", ")}`,
    });
  }
  return presets[name as PresetName];
}

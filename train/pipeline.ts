/**
 * The recipe on tensors, between the loader and the model: normalise, random erasing, the
 * stage's crop to its side B (low-frequency crop or resize), then soft targets or Mixup/CutMix
 * at the stage's strength. Evaluation only normalises.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "@efficienttrain/core";
import {
  type AugmentConfig,
  defaultAugment,
  type HWC,
  mixupCutmix,
  normalizeBatch,
  randomErasing,
  softTargets,
} from "@efficienttrain/data";
import { cropTo } from "@efficienttrain/backend-tfjs/crop";
import type { HostBatch, StagePoint, TensorPipeline } from "./parts.ts";
import type { TrainSettings } from "./settings.ts";

/**
 * The run's per-image augmentation on the host (the loader's half of the recipe): timm's
 * crop, flip and RandAugment to the final side `imageSize`, with the settings' RandomResizedCrop
 * scale, starting at `magnitude` (each stage sets its own as the run goes).
 *
 * @example
 * ```ts
 * import { DEFAULT_TRAIN_SETTINGS, hostAugment } from "@efficienttrain/train";
 * const shape = { height: 224, width: 224, channels: 3 };
 * const augment = hostAugment({ ...DEFAULT_TRAIN_SETTINGS, rrcScale: 0.35 }, shape, { imageSize: 128, magnitude: 1, mean: [0.5, 0.5, 0.5] });
 * console.assert(augment.crop?.kind === "rrc" && augment.crop.scale?.[0] === 0.35);
 * ```
 */
export function hostAugment(
  settings: Pick<TrainSettings, "rrcScale">,
  stored: HWC,
  options: { imageSize: number; magnitude: number; mean: readonly number[] },
): AugmentConfig {
  return defaultAugment(stored, {
    magnitude: options.magnitude,
    mean: options.mean,
    size: options.imageSize,
    minScale: settings.rrcScale,
  });
}

/**
 * The training and evaluation tensor pipeline of a run.
 *
 * @example
 * ```ts
 * import { tensorPipeline } from "@efficienttrain/train";
 * import { DEFAULT_TRAIN_SETTINGS } from "@efficienttrain/train";
 * const p = tensorPipeline(DEFAULT_TRAIN_SETTINGS, { mean: [0.5], std: [0.25] }, 10);
 * console.assert(typeof p.train === "function" && typeof p.eval === "function");
 * ```
 */
export function tensorPipeline(
  settings: TrainSettings,
  info: { mean: readonly number[]; std: readonly number[] },
  numClasses: number,
): TensorPipeline {
  const stats = { mean: info.mean, std: info.std };
  return {
    train(batch: HostBatch, { rng, stage }: { rng: Rng; stage: StagePoint }) {
      return tf.tidy(() => {
        let x = normalizeBatch(batch, stats);
        if (settings.randomErasing > 0) {
          x = randomErasing(x, rng, { probability: settings.randomErasing });
        }
        x = cropTo(x, stage.imageSize, stage.cropMethod);
        const mixing = (settings.mixup > 0 || settings.cutmix > 0) && stage.mixupScale > 0;
        if (!mixing) {
          return {
            images: x,
            targets: softTargets(batch.labels, numClasses, settings.labelSmoothing),
          };
        }
        const mixed = mixupCutmix(x, batch.labels, rng, {
          numClasses,
          mixupAlpha: settings.mixup * stage.mixupScale,
          cutmixAlpha: settings.cutmix * stage.mixupScale,
          switchProb: settings.mixupSwitchProb,
          labelSmoothing: settings.labelSmoothing,
        });
        return { images: mixed.images, targets: mixed.targets };
      });
    },
    eval: (batch) => normalizeBatch(batch, stats),
  };
}

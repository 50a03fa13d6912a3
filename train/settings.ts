/**
 * The recipe and run settings of one training run, decoded once at the edge with Schema.
 *
 * @module
 */
import { Schema } from "effect";
import { BACKEND_NAMES, type BackendName } from "@efficienttrain/core";
import { OPTIMIZER_NAMES, type OptimizerName } from "./optimizer.ts";

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0));
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));
const Fraction = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }));

const TrainSettingsSchema = Schema.Struct({
  model: Schema.String,
  data: Schema.String,
  curriculum: Schema.String,
  boundaries: Schema.Literals(["curriculum", "floor", "exact"]),
  epochs: Schema.Finite.check(Schema.isGreaterThan(0)),
  imageSize: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  cropPct: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
  minImageSize: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  sizeMultiple: PositiveInt,
  maxMagnitude: NonNegative,
  batchSize: PositiveInt,
  accumulate: PositiveInt,
  optimizer: Schema.Literals(OPTIMIZER_NAMES),
  momentum: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)),
  lr: Schema.Finite.check(Schema.isGreaterThan(0)),
  minLr: NonNegative,
  warmupEpochs: NonNegative,
  weightDecay: NonNegative,
  labelSmoothing: Fraction,
  mixup: NonNegative,
  cutmix: NonNegative,
  mixupSwitchProb: Fraction,
  randomErasing: Fraction,
  rrcScale: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
  dropPath: Fraction,
  ema: Schema.Boolean,
  emaDecay: Fraction,
  clipGrad: NonNegative,
  backend: Schema.Literals(BACKEND_NAMES),
  seed: Schema.Int,
  out: Schema.String,
  workers: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  limitTrain: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  limitTest: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  maxHours: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  evalBatchSize: PositiveInt,
  checkpointMinutes: NonNegative,
  checkpointSteps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  logEverySteps: PositiveInt,
  lossReadEvery: PositiveInt,
  skipBadImages: Schema.Boolean,
});

/** Resolved settings of a run (what `config.json` records). */
export interface TrainSettings {
  readonly model: string;
  readonly data: string;
  readonly curriculum: string;
  /**
   * Stage boundaries of epoch-progress curricula: the curriculum's own (`floor`, the authors'
   * `int(E/5·(k+1))`, for the presets), or `exact` fractional epochs — short schedules need
   * these, since flooring 3 epochs into 5 stages drops one.
   */
  readonly boundaries: "curriculum" | "floor" | "exact";
  readonly epochs: number;
  /**
   * Final training side; 0 trains at the stored images' side. Smaller than the stored side,
   * training crops with RandomResizedCrop to it and the test images get timm's eval
   * transform (resize to `imageSize / cropPct`, centre crop).
   */
  readonly imageSize: number;
  /** timm's `crop_pct` of that eval transform. */
  readonly cropPct: number;
  /**
   * No curriculum stage trains below this side (0: the model's own minimum). A preset scaled
   * down from 224 px can reach sides where a patch model sees a 3×3 token grid; a floor keeps
   * its early stages at a grid it can learn from, at the cost of some of the saving.
   */
  readonly minImageSize: number;
  /**
   * Every curriculum side below the final one is a multiple of this. 2 keeps a scaled preset
   * close to the authors' ratios. ConvNeXt's unpadded 2×2 stride-2 downsamples drop the last row
   * and column of an odd map; its total stride (32) keeps every map even, as the authors'
   * 160/192/224 do. (ResNet's padded stride-2 layers round up and drop nothing.)
   */
  readonly sizeMultiple: number;
  /**
   * RandAugment magnitude of the curriculum's strongest stage (timm's `rand-mM`); every stage
   * scales with it, so a curriculum keeps its shape. 0 keeps the curriculum's own (the presets
   * end at 9, which a 20-epoch run on 9.5 k images may under-fit).
   */
  readonly maxMagnitude: number;
  readonly batchSize: number;
  /** Micro-batches per optimizer step (effective batch = batchSize × accumulate). */
  readonly accumulate: number;
  /** `adamw`, or `sgd` (Nesterov momentum, L2 weight decay as PyTorch's). */
  readonly optimizer: OptimizerName;
  /** SGD's momentum factor (AdamW ignores it). */
  readonly momentum: number;
  readonly lr: number;
  readonly minLr: number;
  readonly warmupEpochs: number;
  /**
   * AdamW: decoupled decay per unit learning rate; SGD: L2 added to the gradient. `--opt sgd`
   * without `--weight-decay` takes {@link SGD_WEIGHT_DECAY}, not AdamW's 0.05.
   */
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  readonly mixup: number;
  readonly cutmix: number;
  readonly mixupSwitchProb: number;
  readonly randomErasing: number;
  /**
   * RandomResizedCrop's smallest area fraction (timm's `--scale` lower bound; the upper is 1).
   * Only images larger than 64 px are cropped this way; small ones get pad-and-crop.
   */
  readonly rrcScale: number;
  readonly dropPath: number;
  readonly ema: boolean;
  readonly emaDecay: number;
  /** Max global gradient norm; 0 disables clipping. */
  readonly clipGrad: number;
  readonly backend: BackendName;
  readonly seed: number;
  readonly out: string;
  readonly workers: number;
  /** Use only the first N training images (0 = all). */
  readonly limitTrain: number;
  /** Use only the first N test images (0 = all). */
  readonly limitTest: number;
  /**
   * Refuse to start when the predicted wall time (training from the measured step-time
   * profile plus evaluation) exceeds this many hours; 0 never refuses.
   */
  readonly maxHours: number;
  readonly evalBatchSize: number;
  readonly checkpointMinutes: number;
  /** Also checkpoint every N steps (0 = only per epoch / per minutes). */
  readonly checkpointSteps: number;
  readonly logEverySteps: number;
  /**
   * Read the loss back every N micro-steps (1: every step, as on a CPU, where a read costs
   * nothing). On a GPU each read waits for the step's kernels; reading every N lets the device
   * run N steps ahead of the host. Metric lines, epoch ends and checkpoints always read, so a
   * non-finite loss still stops the run before anything is saved, up to N − 1 steps later.
   */
  readonly lossReadEvery: number;
  /** Leave out unreadable images (listed in the run directory's `skipped_images.txt`). */
  readonly skipBadImages: boolean;
}

/**
 * The main job's defaults: MNIST, a CIFAR-style ResNet, the EfficientTrain curriculum.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRAIN_SETTINGS } from "@efficienttrain/train";
 * console.assert(DEFAULT_TRAIN_SETTINGS.data === "mnist");
 * ```
 */
export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  model: "resnet8_cifar",
  data: "mnist",
  curriculum: "efficienttrain",
  boundaries: "curriculum",
  epochs: 4,
  imageSize: 0,
  cropPct: 0.875,
  minImageSize: 0,
  sizeMultiple: 2,
  maxMagnitude: 0,
  batchSize: 128,
  accumulate: 1,
  optimizer: "adamw",
  momentum: 0.9,
  lr: 4e-3,
  minLr: 1e-5,
  warmupEpochs: 0.2,
  weightDecay: 0.05,
  labelSmoothing: 0.1,
  mixup: 0,
  cutmix: 0,
  mixupSwitchProb: 0.5,
  randomErasing: 0,
  rrcScale: 0.08,
  dropPath: 0,
  ema: false,
  emaDecay: 0.999,
  clipGrad: 0,
  backend: "auto",
  seed: 0,
  out: "runs",
  workers: 1,
  limitTrain: 0,
  limitTest: 0,
  maxHours: 0,
  evalBatchSize: 500,
  checkpointMinutes: 5,
  checkpointSteps: 0,
  logEverySteps: 20,
  lossReadEvery: 1,
  skipBadImages: false,
};

/**
 * SGD's weight decay when none is given: L2 on the gradient wants ~100× less than AdamW's
 * decoupled 0.05 (the common short-schedule ResNet value; PyTorch's ImageNet recipe uses 1e-4).
 *
 * @example
 * ```ts
 * import { decodeTrainSettings, SGD_WEIGHT_DECAY } from "@efficienttrain/train";
 * console.assert(decodeTrainSettings({ optimizer: "sgd" }).weightDecay === SGD_WEIGHT_DECAY);
 * ```
 */
export const SGD_WEIGHT_DECAY = 5e-4;

/**
 * Decode settings (defaults filled in) or throw a Schema error naming the field and value.
 * `optimizer: "sgd"` without a weight decay takes {@link SGD_WEIGHT_DECAY}.
 *
 * @example
 * ```ts
 * import { decodeTrainSettings } from "@efficienttrain/train";
 * console.assert(decodeTrainSettings({ epochs: 3 }).epochs === 3);
 * ```
 */
export function decodeTrainSettings(
  input: Partial<Record<keyof TrainSettings, unknown>>,
): TrainSettings {
  const decoded: TrainSettings = Schema.decodeUnknownSync(TrainSettingsSchema)({
    ...DEFAULT_TRAIN_SETTINGS,
    ...(input.optimizer === "sgd" ? { weightDecay: SGD_WEIGHT_DECAY } : {}),
    ...input,
  });
  return decoded;
}

/**
 * efficienttrain: EfficientTrain / EfficientTrain++ generalized curriculum learning for
 * TypeScript. The root module holds what a first program needs: a backend, the low-frequency
 * crop, a curriculum resolved for a budget, a model, and the training job. Everything else
 * lives in the packages (`@efficienttrain/core`, `…/models`, `…/data`, `…/curricula`,
 * `…/train`, `…/backend-tfjs`, `…/backend-native`, `…/backend-webgpu`); import those
 * directly for the rest, and to keep the module graph small.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import { createModel, initBackend, lowFrequencyCrop, presets, resolveCurriculum, stageAt } from "./mod.ts";
 * await initBackend("auto");
 * const plan = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
 * const model = createModel("resnet50", { numClasses: 1000 });
 * const easy = lowFrequencyCrop(tf.randomNormal([8, 224, 224, 3]), { size: stageAt(plan, 0).imageSize });
 * model.forward(easy, { training: false });
 * ```
 *
 * @module
 */
export { initBackend, lowFrequencyCrop } from "@efficienttrain/backend-tfjs";
export { createModel, listModels, modelInfo, type ModelName } from "@efficienttrain/models";
export {
  presetNames,
  presets,
  resolveCurriculum,
  type ResolvedCurriculum,
  stageAt,
} from "@efficienttrain/curricula";
export { DEFAULT_TRAIN_SETTINGS, train, trainJob, type TrainSettings } from "@efficienttrain/train";

/**
 * `@efficienttrain/models`: ResNet, ConvNeXt, DeiT (ViT) and Swin as plain functions over
 * tfjs, trainable at every input size a curriculum asks for, with a registry keyed by timm
 * names, safetensors weights and a `ModelRegistry` service.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createModel } from "@efficienttrain/models";
 * const m = createModel("test_swin");
 * m.setInputSize(24);
 * console.assert(m.forward(tf.zeros([1, 24, 24, 3]), { training: false }).shape[1] === 10);
 * m.dispose();
 * ```
 *
 * @module
 */
export {
  acceptsSize,
  type CreateModelOptions,
  defaultNumClasses,
  type FamilyName,
  type InputRule,
  type ModelFamily,
  nearestSize,
  resolveCreateOptions,
  type ResolvedOptions,
  type VariantConfig,
} from "./base.ts";
export * from "./layers.ts";
export * from "./attention.ts";
export * from "./windows.ts";
export * from "./resample.ts";
export * from "./resnet.ts";
export * from "./convnext.ts";
export * from "./vit.ts";
export * from "./swin.ts";
export * from "./registry.ts";
export * from "./safetensors.ts";
export * from "./services.ts";

/**
 * efficienttrain: EfficientTrain / EfficientTrain++ generalized curriculum learning for
 * TypeScript. This root module re-exports the public API of every package; import a single
 * package (`@efficienttrain/core`, `…/models`, …) to keep the dependency graph small.
 *
 * @example
 * ```ts ignore
 * import { initBackend, lowFrequencyCrop } from "./mod.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * await initBackend("auto");
 * const low = lowFrequencyCrop(tf.randomNormal([8, 32, 32, 3]), { size: 24 });
 * ```
 *
 * @module
 */
export * from "@efficienttrain/core";
export * from "@efficienttrain/backend-tfjs";
export * from "@efficienttrain/backend-native";
export * from "@efficienttrain/backend-webgpu";
export * from "@efficienttrain/models";
export * from "@efficienttrain/curricula";
export * from "@efficienttrain/data";
export * from "@efficienttrain/train";

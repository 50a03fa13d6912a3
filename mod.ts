/**
 * efficienttrain: EfficientTrain-style generalized curriculum learning for TypeScript.
 *
 * @module
 */
export * from "@efficienttrain/core";

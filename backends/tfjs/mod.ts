/** Placeholder until this package lands. @module */
export {};
export * from "./separable.ts";
export * from "./low_frequency_crop.ts";
export * from "./resize.ts";

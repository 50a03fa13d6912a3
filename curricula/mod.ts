/**
 * `@efficienttrain/curricula`: the preset curricula (baseline, EfficientTrain,
 * EfficientTrain++, FFCV and Composer progressive resizing), the greedy curriculum search,
 * and export to the authors' PyTorch launcher and timm. The algebra itself lives in
 * `@efficienttrain/core`.
 *
 * @module
 */
export * from "./presets.ts";
export * from "./sizes.ts";
export * from "./export.ts";
export * from "./search.ts";
export * from "./search_report.ts";
export * from "./fake_runner.ts";
export * from "./load.ts";
export * from "./services.ts";

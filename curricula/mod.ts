/**
 * `@efficienttrain/curricula`: the curriculum algebra (stages, ramps, combinators, the JSON
 * form), its resolution for a budget, image size and model, the cost model, the preset
 * curricula (baseline, EfficientTrain, EfficientTrain++, FFCV and Composer progressive
 * resizing), the greedy curriculum search, and export to the authors' PyTorch launcher and
 * timm.
 *
 * @module
 */
export * from "./types.ts";
export * from "./size_spec.ts";
export * from "./resolve.ts";
export * from "./algebra.ts";
export * from "./cost.ts";
export * from "./table.ts";
export * from "./presets.ts";
export * from "./sizes.ts";
export * from "./export.ts";
export * from "./search.ts";
export * from "./search_report.ts";
export * from "./fake_runner.ts";
export * from "./load.ts";
export * from "./services.ts";

/**
 * `@efficienttrain/train`: the training loop, its recipe (AdamW or SGD, cosine schedule, EMA,
 * soft-target loss), checkpoints, run directories, progress and plots.
 *
 * @module
 */
export * from "./settings.ts";
export * from "./schedule.ts";
export * from "./loss.ts";
export * from "./optimizer.ts";
export * from "./ema.ts";
export * from "./errors.ts";
export * from "./parts.ts";
export * from "./checkpoint.ts";
export * from "./trainer.ts";
export * from "./evaluate.ts";
export * from "./pipeline.ts";
export * from "./progress.ts";
export * from "./plots.ts";
export * from "./run_dir.ts";
export * from "./flags.ts";
export * from "./assemble.ts";
export * from "./compare.ts";
export * from "./services.ts";
export * from "./job.ts";
export * from "./profile.ts";
export * from "./stage_maps.ts";
export * from "./resume.ts";
export * from "./run_lock.ts";
export * from "./compare_job.ts";
export * from "./replay.ts";

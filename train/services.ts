/**
 * The orchestration tier's services: `Trainer` runs the loop, `Reporter` shows and records
 * it. Each is an interface, a same-named key and a `layer`; tests swap either.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { train, type TrainOptions, type TrainResult } from "./trainer.ts";
import type { TrainerParts } from "./parts.ts";
import {
  CheckpointError,
  NoGradientsError,
  OutOfMemoryError,
  TrainingDivergedError,
} from "./errors.ts";
import { ProgressDisplay } from "./progress.ts";

/** Errors a training run can end with. */
export type TrainError =
  | TrainingDivergedError
  | CheckpointError
  | OutOfMemoryError
  | NoGradientsError;

/** Runs the training loop. */
export interface Trainer {
  run(parts: TrainerParts, options: TrainOptions): Effect.Effect<TrainResult, TrainError>;
}

/**
 * Service key for {@link Trainer}.
 *
 * @example
 * ```ts
 * import { Trainer } from "@efficienttrain/train";
 * console.assert(Trainer.key === "@efficienttrain/train/Trainer");
 * ```
 */
export const Trainer: Context.Service<Trainer, Trainer> = Context.Service<Trainer>(
  "@efficienttrain/train/Trainer",
);

/**
 * The real loop. Errors that are not the loop's own (a bug, a kernel failure) stay defects.
 *
 * @example
 * ```ts
 * import { trainerLayer } from "@efficienttrain/train";
 * console.assert(trainerLayer !== undefined);
 * ```
 */
export const trainerLayer: Layer.Layer<Trainer> = Layer.succeed(Trainer, {
  run: (parts, options) =>
    Effect.tryPromise({
      try: () => train(parts, options),
      catch: (e) => e,
    }).pipe(
      Effect.catch((e) =>
        e instanceof TrainingDivergedError || e instanceof CheckpointError ||
          e instanceof OutOfMemoryError || e instanceof NoGradientsError
          ? Effect.fail(e)
          : Effect.die(e)
      ),
    ),
});

/** Where a run's human-facing output goes. */
export interface Reporter {
  /** A line for people (stderr when printing JSON). */
  info(line: string): void;
  /** The progress display the loop updates. */
  readonly progress: ProgressDisplay;
}

/**
 * Service key for {@link Reporter}.
 *
 * @example
 * ```ts
 * import { Reporter } from "@efficienttrain/train";
 * console.assert(Reporter.key === "@efficienttrain/train/Reporter");
 * ```
 */
export const Reporter: Context.Service<Reporter, Reporter> = Context.Service<Reporter>(
  "@efficienttrain/train/Reporter",
);

/**
 * Terminal reporter: a progress bar on a TTY, plain lines otherwise; `quiet` sends lines to
 * stderr so stdout can carry JSON.
 *
 * @example
 * ```ts
 * import { reporterLayer } from "@efficienttrain/train";
 * console.assert(reporterLayer({ quiet: true }) !== undefined);
 * ```
 */
export function reporterLayer(options: { quiet: boolean }): Layer.Layer<Reporter> {
  const encoder = new TextEncoder();
  const write = options.quiet
    ? (t: string) => Deno.stderr.writeSync(encoder.encode(t))
    : (t: string) => Deno.stdout.writeSync(encoder.encode(t));
  const progress = new ProgressDisplay({
    tty: options.quiet ? Deno.stderr.isTerminal() : Deno.stdout.isTerminal(),
    write,
  });
  return Layer.succeed(Reporter, { info: (line) => progress.log(line), progress });
}

/**
 * The `Curricula` service: presets, curriculum files and resolution as an Effect service, so
 * orchestration code depends on an interface and tests can substitute their own curricula.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { FileError, InvalidArgumentError } from "@efficienttrain/core";
import { resolveCurriculum, type ResolvedCurriculum, type ResolveOptions } from "./resolve.ts";
import { type Curriculum, CurriculumDecodeError } from "./types.ts";
import { loadCurriculum } from "./load.ts";
import { presetNames } from "./presets.ts";

/** Errors of loading a curriculum. */
export type CurriculumLoadError = InvalidArgumentError | FileError | CurriculumDecodeError;

/**
 * Curricula by name or file, and their resolution for a run.
 *
 * @example
 * ```ts
 * import { Curricula } from "@efficienttrain/curricula";
 * console.assert(Curricula.key === "@efficienttrain/curricula/Curricula");
 * ```
 */
export interface Curricula {
  /** Preset names. */
  readonly names: readonly string[];
  /** A preset by name or a curriculum JSON file by path. */
  load(ref: string): Effect.Effect<Curriculum, CurriculumLoadError>;
  /** Resolve for a budget, image size and model (see `resolveCurriculum`). */
  resolve(
    curriculum: Curriculum,
    options: ResolveOptions,
  ): Effect.Effect<ResolvedCurriculum, InvalidArgumentError>;
}

/** Service key for {@link Curricula}. */
export const Curricula: Context.Service<Curricula, Curricula> = Context.Service<Curricula>(
  "@efficienttrain/curricula/Curricula",
);

function known(e: unknown): e is CurriculumLoadError {
  return e instanceof InvalidArgumentError || e instanceof FileError ||
    e instanceof CurriculumDecodeError;
}

/**
 * The presets of this package and JSON files from disk, as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Curricula, curriculaLayer } from "@efficienttrain/curricula";
 * const program = Effect.gen(function* () {
 *   const curricula = yield* Curricula;
 *   const c = yield* curricula.load("efficienttrain");
 *   return yield* curricula.resolve(c, { epochs: 300, imageSize: 224 });
 * });
 * const r = await Effect.runPromise(Effect.provide(program, curriculaLayer));
 * console.assert(r.stages.length === 5);
 * ```
 */
export const curriculaLayer: Layer.Layer<Curricula> = Layer.succeed(Curricula, {
  names: presetNames,
  load: (ref) =>
    Effect.tryPromise({
      try: () => loadCurriculum(ref),
      catch: (e) => {
        if (known(e)) return e;
        throw e;
      },
    }),
  resolve: (curriculum, options) =>
    Effect.try({
      try: () => resolveCurriculum(curriculum, options),
      catch: (e) => {
        if (e instanceof InvalidArgumentError) return e;
        throw e;
      },
    }),
});

/**
 * The `ModelRegistry` service: the registry as an Effect service, so orchestration code
 * depends on an interface and tests can substitute a registry of fakes.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { InvalidArgumentError, type Model } from "@efficienttrain/core";
import type { CreateModelOptions } from "./base.ts";
import {
  createModel,
  listModels,
  type ModelInfo,
  modelInfo,
  UnknownModelError,
} from "./registry.ts";

/**
 * Names, facts and constructors of the available models.
 *
 * @example
 * ```ts
 * import { ModelRegistry } from "@efficienttrain/models";
 * console.assert(ModelRegistry.key === "@efficienttrain/models/ModelRegistry");
 * ```
 */
export interface ModelRegistry {
  /** Registered names. */
  readonly names: readonly string[];
  /** Parameter count, FLOPs and legal sizes, without allocating. */
  info(
    name: string,
    options?: CreateModelOptions,
  ): Effect.Effect<ModelInfo, UnknownModelError | InvalidArgumentError>;
  /** Build and initialise a model. */
  create(
    name: string,
    options?: CreateModelOptions,
  ): Effect.Effect<Model, UnknownModelError | InvalidArgumentError>;
}

/** Service key for {@link ModelRegistry}. */
export const ModelRegistry: Context.Service<ModelRegistry, ModelRegistry> = Context.Service<
  ModelRegistry
>("@efficienttrain/models/ModelRegistry");

function attempt<A>(f: () => A): Effect.Effect<A, UnknownModelError | InvalidArgumentError> {
  return Effect.try({
    try: f,
    catch: (e) => {
      if (e instanceof UnknownModelError || e instanceof InvalidArgumentError) return e;
      throw e;
    },
  });
}

/**
 * The registry of this package as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { layer, ModelRegistry } from "@efficienttrain/models";
 * const names = Effect.runSync(
 *   Effect.provide(ModelRegistry.useSync((r) => r.names), layer),
 * );
 * console.assert(names.includes("resnet50"));
 * ```
 */
export const layer: Layer.Layer<ModelRegistry> = Layer.succeed(ModelRegistry, {
  names: listModels(),
  info: (name, options) => attempt(() => modelInfo(name, options)),
  create: (name, options) => attempt(() => createModel(name, options)),
});

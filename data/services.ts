/**
 * The `Dataset` service for the Effect orchestration layer: the loaded dataset as a value
 * in the context, built by a layer from a spec. Loading is plain async code; Effect only
 * carries the result and the typed error.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { DatasetError } from "./errors.ts";
import { type DatasetLoadResult, loadDataset, type LoadDatasetOptions } from "./dataset.ts";
import type { DatasetInfo, ImageSet } from "./types.ts";
import type { SkippedFile } from "./cache.ts";

/** A loaded dataset available to the trainer. */
export interface Dataset {
  readonly spec: string;
  readonly info: DatasetInfo;
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** Images skipped under `skipBadImages`. */
  readonly skipped: number;
  /** Which images were skipped, and why. */
  readonly skippedFiles?: readonly SkippedFile[];
  readonly fromCache: boolean;
}

/**
 * Service key for {@link Dataset}.
 *
 * @example
 * ```ts
 * import { Dataset } from "@efficienttrain/data";
 * console.assert(Dataset.key === "@efficienttrain/data/Dataset");
 * ```
 */
export const Dataset: Context.Service<Dataset, Dataset> = Context.Service<Dataset>(
  "@efficienttrain/data/Dataset",
);

/**
 * Load a spec as an Effect; failures other than {@link DatasetError} (e.g. a bad spec) are
 * wrapped into one naming the spec.
 *
 * @example
 * ```ts ignore
 * import { Effect } from "effect";
 * import { loadDatasetEffect } from "@efficienttrain/data";
 * const ds = await Effect.runPromise(loadDatasetEffect("mnist"));
 * ```
 */
export function loadDatasetEffect(
  spec: string,
  options: LoadDatasetOptions = {},
): Effect.Effect<Dataset, DatasetError> {
  return Effect.tryPromise({
    try: () => loadDataset(spec, options),
    catch: (e) =>
      e instanceof DatasetError
        ? e
        : new DatasetError({ path: spec, reason: e instanceof Error ? e.message : String(e) }),
  }).pipe(Effect.map((ds: DatasetLoadResult): Dataset => ({ spec, ...ds })));
}

/**
 * A layer providing {@link Dataset} loaded from `spec` (any source `loadDataset` accepts).
 *
 * @example
 * ```ts ignore
 * import { Effect } from "effect";
 * import { Dataset, datasetLayer } from "@efficienttrain/data";
 * const info = await Effect.runPromise(
 *   Effect.map(Dataset.asEffect(), (d) => d.info).pipe(Effect.provide(datasetLayer("mnist"))),
 * );
 * ```
 */
export function datasetLayer(
  spec: string,
  options: LoadDatasetOptions = {},
): Layer.Layer<Dataset, DatasetError> {
  return Layer.effect(Dataset, loadDatasetEffect(spec, options));
}

/**
 * A layer providing an already-loaded dataset (tests, or data built in memory).
 *
 * @example
 * ```ts
 * import { Dataset, datasetLayerFrom, imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array(1), new Int32Array(1), { height: 1, width: 1, channels: 1 });
 * const info = { name: "t", classes: ["a"], splits: { train: 1, test: 1 }, imageShape: [1, 1, 1] as const, mean: [0], std: [1] };
 * const layer = datasetLayerFrom({ spec: "t", info, train: s, test: s, skipped: 0, fromCache: false });
 * console.assert(layer !== undefined && Dataset.key.length > 0);
 * ```
 */
export function datasetLayerFrom(dataset: Dataset): Layer.Layer<Dataset> {
  return Layer.succeed(Dataset, dataset);
}

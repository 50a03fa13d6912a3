/**
 * The application's layers for a training command: the six services, configured once from the
 * decoded settings. Shared by `train` and `compare`.
 *
 * @module
 */
import { Layer } from "effect";
import type { Backend } from "@efficienttrain/core";
import { type BackendError, backendLayer } from "@efficienttrain/backend-tfjs";
import { type Dataset, type DatasetError, datasetLayer } from "@efficienttrain/data";
import { layer as modelRegistryLayer, type ModelRegistry } from "@efficienttrain/models";
import { type Curricula, curriculaLayer } from "@efficienttrain/curricula";
import {
  type Reporter,
  reporterLayer,
  type Trainer,
  trainerLayer,
  type TrainSettings,
} from "@efficienttrain/train";
import type { InvalidArgumentError } from "@efficienttrain/core";

/** Every service a training command needs, from its settings. */
export function trainingLayers(
  settings: TrainSettings,
  options: { quiet: boolean },
): Layer.Layer<
  Backend | Dataset | ModelRegistry | Curricula | Trainer | Reporter,
  BackendError | InvalidArgumentError | DatasetError
> {
  return Layer.mergeAll(
    backendLayer(settings.backend),
    datasetLayer(settings.data, {
      log: (line) => console.error(line),
      skipBadImages: settings.skipBadImages,
    }),
    modelRegistryLayer,
    curriculaLayer,
    trainerLayer,
    reporterLayer(options),
  );
}

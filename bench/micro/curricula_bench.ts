// Per-step cost of the curriculum queries the training loop makes, and of resolving presets.
import { lrProgress, resolveCurriculum, stageAt } from "@efficienttrain/curricula";
import { presets } from "@efficienttrain/curricula";

const et = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
const etpp = resolveCurriculum(presets["efficienttrain++"], { epochs: 200, imageSize: 224 });
const composer = resolveCurriculum(presets["composer-progressive"], {
  epochs: 300,
  imageSize: 224,
});
let sink = 0;

Deno.bench("stageAt (efficienttrain, 5 stages)", () => {
  for (let i = 0; i < 1000; i++) sink += stageAt(et, (i * 0.2999) % 300).imageSize;
});
Deno.bench("stageAt (composer-progressive, 29 stages)", () => {
  for (let i = 0; i < 1000; i++) sink += stageAt(composer, (i * 0.2999) % 300).imageSize;
});
Deno.bench("lrProgress (efficienttrain++, compute fraction)", () => {
  for (let i = 0; i < 1000; i++) sink += lrProgress(etpp, (i * 0.4545) % 454);
});
Deno.bench("resolveCurriculum (efficienttrain++, per family)", () => {
  sink += resolveCurriculum(presets["efficienttrain++"], {
    epochs: 200,
    imageSize: 224,
    modelFamily: "deit_small",
  })
    .totalEpochs;
});
Deno.bench("resolveCurriculum (composer-progressive ramp)", () => {
  sink +=
    resolveCurriculum(presets["composer-progressive"], { epochs: 300, imageSize: 224 }).totalEpochs;
});
globalThis.addEventListener("unload", () => console.assert(Number.isFinite(sink)));

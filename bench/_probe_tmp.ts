import { timeSteps, useBackend } from "./step_runner.ts";
import {
  createConvNeXt,
  createResNet,
  createSwin,
  createViT,
  SWIN_CONFIGS,
  VIT_CONFIGS,
} from "@efficienttrain/models";
import type { Model } from "@efficienttrain/core";
await useBackend("native");
const size = Number(Deno.env.get("SIZE") ?? 128);
const T = SWIN_CONFIGS.swin_micro_patch2_window4_32;
const cands: Record<string, () => Model> = {
  r18half: () =>
    createResNet("a", {
      block: "basic",
      layers: [2, 2, 2, 2],
      widths: [32, 64, 128, 256],
      stem: "imagenet",
      stemWidth: 32,
    }, { numClasses: 10 }),
  r10: () =>
    createResNet("b", {
      block: "basic",
      layers: [1, 1, 1, 1],
      widths: [64, 128, 256, 512],
      stem: "imagenet",
      stemWidth: 64,
    }, { numClasses: 10 }),
  r10half: () =>
    createResNet("b2", {
      block: "basic",
      layers: [1, 1, 1, 1],
      widths: [32, 64, 128, 256],
      stem: "imagenet",
      stemWidth: 32,
    }, { numClasses: 10 }),
  cnx_atto: () =>
    createConvNeXt("c", {
      depths: [2, 2, 6, 2],
      dims: [40, 80, 160, 320],
      patch: 4,
      defaultSize: 128,
    }, { numClasses: 10 }),
  cnx_micro: () =>
    createConvNeXt("d", {
      depths: [1, 1, 3, 1],
      dims: [32, 64, 128, 256],
      patch: 4,
      defaultSize: 128,
    }, { numClasses: 10 }),
  swin_micro: () =>
    createSwin("e", {
      ...T,
      patch: 4,
      dim: 48,
      depths: [1, 1, 3, 1],
      heads: [2, 4, 8, 16],
      defaultSize: 128,
      window: 4,
    }, { numClasses: 10 }),
  swin_atto: () =>
    createSwin("f", {
      ...T,
      patch: 4,
      dim: 64,
      depths: [2, 2, 4, 2],
      heads: [2, 4, 8, 16],
      defaultSize: 128,
      window: 4,
    }, { numClasses: 10 }),
  deit_tiny: () =>
    createViT("g", VIT_CONFIGS.deit_tiny_patch16_224, { numClasses: 10, imgSize: 128 }),
  deit_micro16: () =>
    createViT("h", { ...VIT_CONFIGS.deit_tiny_patch16_224, dim: 128, heads: 2, depth: 8 }, {
      numClasses: 10,
      imgSize: 128,
    }),
};
for (const name of Deno.args) {
  const model = cands[name]();
  if (model.inputSize !== size) model.setInputSize(size);
  const net = {
    name,
    variables: [...model.params.values()],
    forward: (x: never) => model.forward(x, { training: true }),
    dispose: () => model.dispose(),
  };
  const params = net.variables.reduce((a, v) => a + v.size, 0);
  const t = timeSteps(net as never, { size, batch: 64, steps: 3, warmup: 1 });
  console.log(`${name} @${size}: ${(params / 1e6).toFixed(2)}M ${t.imagesPerS.toFixed(1)} img/s`);
  net.dispose();
}
if (Deno.env.get("BREAK")) {
  const { kernelBreakdown } = await import("./step_runner.ts");
  const model = cands[Deno.env.get("BREAK")!]();
  if (model.inputSize !== size) model.setInputSize(size);
  const net = {
    name: "x",
    variables: [...model.params.values()],
    forward: (x: never) => model.forward(x, { training: true }),
    dispose: () => model.dispose(),
  };
  const b = kernelBreakdown(net as never, { size, batch: 64, steps: 1 });
  console.log(`step ${b.stepMs.toFixed(0)} ms, kernels ${b.totalMs.toFixed(0)}`);
  for (const k of b.kernels.slice(0, 12)) {
    console.log(`  ${k.kernel} ${k.ms.toFixed(0)} ms ×${k.calls}`);
  }
}

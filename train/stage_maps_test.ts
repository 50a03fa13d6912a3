import assert from "node:assert/strict";
import "@tensorflow/tfjs-backend-cpu";
import { InvalidArgumentError } from "@efficienttrain/core";
import { type Curriculum, resolveCurriculum } from "@efficienttrain/curricula";
import { createModel } from "@efficienttrain/models";
import { checkStageMaps } from "./stage_maps.ts";

const twoStages = (small: number): Curriculum => ({
  name: "two-stage",
  progress: "epochs",
  segments: [
    { kind: "stage", size: small, magnitude: 5, length: 1 },
    { kind: "stage", size: 32, magnitude: 9, length: 1 },
  ],
});

Deno.test("feature-map sides per family, down to 1×1 and past it", () => {
  const sides = (name: string, size: number) => {
    const m = createModel(name, { seed: 0 });
    try {
      return m.featureMapSides(size).join();
    } finally {
      m.dispose();
    }
  };
  assert.equal(sides("convnext_micro_patch2_32", 32), "16,8,4,2");
  assert.equal(sides("convnext_micro_patch2_32", 16), "8,4,2,1");
  assert.equal(sides("convnext_micro_patch2_32", 22), "11,5,2,1");
  assert.equal(sides("convnext_micro_patch2_32", 12), "6,3,1,0");
  assert.equal(sides("swin_micro_patch2_window4_32", 16), "8,4,2,1");
  assert.equal(sides("resnet8_cifar", 16), "16,16,8,4");
  assert.equal(sides("deit_micro_patch4_32", 24), "6");
});

Deno.test("a curriculum stage that leaves a map at 0 is refused, naming model, stage and size", () => {
  const m = createModel("convnext_micro_patch2_32", { seed: 0 });
  try {
    const bad = resolveCurriculum(twoStages(12), { epochs: 2, imageSize: 32 });
    assert.throws(
      () => checkStageMaps(m, bad),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        /two-stage stage 1 \(B=12\)/.test(e.message) &&
        /convnext_micro_patch2_32's stage 4 feature map would be 0×0 at 12 px/.test(e.message),
    );
    // 16 px: the last stage's map is 1×1, allowed and reported.
    const ok = checkStageMaps(m, resolveCurriculum(twoStages(16), { epochs: 2, imageSize: 32 }));
    assert.deepEqual(ok.map((s) => [s.imageSize, s.sides.join(), s.collapsed]), [
      [16, "8,4,2,1", true],
      [32, "16,8,4,2", false],
    ]);
  } finally {
    m.dispose();
  }
});

import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import {
  computeBySize,
  predictedSpeedup,
  predictWallTime,
  relativeCompute,
  resolveCurriculum,
  secondsPerImage,
} from "@efficienttrain/curricula";
import { presets } from "@efficienttrain/curricula";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("relative compute of EfficientTrain: 0.6·(160/224)² + 0.2·(192/224)² + 0.2", () => {
  const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
  const hand = 0.6 * (160 / 224) ** 2 + 0.2 * (192 / 224) ** 2 + 0.2;
  close(r.relativeCompute, hand);
  close(relativeCompute(r), hand);
  assert.ok(Math.abs(r.relativeCompute - 0.653) < 0.001);
  // The same ratios at 28 px are exact (20/28 = 160/224, 24/28 = 192/224).
  close(
    resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 28 }).relativeCompute,
    hand,
  );
});

Deno.test("relative compute with a model's FLOPs function and another baseline", () => {
  const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
  // FLOPs = a·B² + c (a fixed head cost): hand-computed weighted mean.
  const flops = (b: number) => 3 * b * b + 50_000;
  const hand = (180 * flops(160) + 60 * flops(192) + 60 * flops(224)) / (300 * flops(224));
  close(relativeCompute(r, { flops }), hand);
  close(
    resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224, flops })
      .relativeCompute,
    hand,
  );
  close(relativeCompute(r, { baselineEpochs: 600 }), r.relativeCompute / 2);
  // EfficientTrain++ at 200 equivalent epochs against the 300-epoch baseline: 2/3.
  const pp = resolveCurriculum(presets["efficienttrain++"], {
    epochs: 200,
    imageSize: 224,
    baselineEpochs: 300,
  });
  close(pp.relativeCompute, 2 / 3, 1e-9);
});

Deno.test("EfficientTrain++ at 200 equivalent epochs for Swin: 96/160/224 with 20/40/40 % of compute", () => {
  const r = resolveCurriculum(presets["efficienttrain++"], {
    epochs: 200,
    imageSize: 224,
    modelFamily: "swin_tiny_patch4_window7_224",
  });
  const shares = computeBySize(r);
  assert.deepEqual(shares.map((s) => s.imageSize), [96, 160, 224]);
  close(shares[0].fraction, 0.2, 1e-12);
  close(shares[1].fraction, 0.4, 1e-12);
  close(shares[2].fraction, 0.4, 1e-12);
  close(shares[0].epochs, 40 * (224 / 96) ** 2, 1e-9);
  close(shares[1].epochs, 80 * (224 / 160) ** 2, 1e-9);
  close(shares[2].epochs, 80, 1e-9);
  close(r.equivalentEpochs, 200, 1e-9);
});

Deno.test("secondsPerImage: exact, linear in B² between points, ∝ B² outside", () => {
  const p = { 16: 1, 32: 4, 64: 10 };
  assert.equal(secondsPerImage(p, 32), 4);
  close(secondsPerImage(p, 24), 1 + ((576 - 256) / (1024 - 256)) * 3);
  close(secondsPerImage(p, 48), 4 + ((2304 - 1024) / (4096 - 1024)) * 6);
  close(secondsPerImage(p, 8), 0.25);
  close(secondsPerImage(p, 128), 40);
  assert.throws(() => secondsPerImage({}, 8), InvalidArgumentError);
});

Deno.test("predictWallTime and predictedSpeedup against hand-computed values", () => {
  const r = resolveCurriculum(presets.efficienttrain, { epochs: 10, imageSize: 224 });
  const profile = { 160: 0.002, 192: 0.003, 224: 0.004 };
  const w = predictWallTime(r, profile, { imagesPerEpoch: 1000, overheadSecondsPerEpoch: 1 });
  const hand = 6 * (1000 * 0.002 + 1) + 2 * (1000 * 0.003 + 1) + 2 * (1000 * 0.004 + 1);
  close(w.seconds, hand, 1e-9);
  assert.deepEqual(w.stages.map((s) => s.imageSize), [160, 160, 160, 192, 224]);
  close(w.stages[3].seconds, 2 * (3 + 1), 1e-9);
  const speedup = predictedSpeedup(r, profile, {
    imagesPerEpoch: 1000,
    overheadSecondsPerEpoch: 1,
  });
  close(speedup, (10 * 5) / hand, 1e-12);
  assert.throws(() => predictWallTime(r, profile, { imagesPerEpoch: 0 }), InvalidArgumentError);
});

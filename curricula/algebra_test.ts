import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import {
  constant,
  cosineRamp,
  type Curriculum,
  equalComputeStages,
  equalEpochStages,
  legalSize,
  linearRamp,
  lrProgress,
  piecewise,
  ratio,
  repeat,
  resolveCurriculum,
  scaleToEpochs,
  scaleToImageSize,
  sequence,
  specToPixels,
  stageAt,
} from "@efficienttrain/curricula";

const sizes = (c: Curriculum, o: { epochs: number; imageSize: number }) =>
  resolveCurriculum(c, o).stages.map((s) => s.imageSize);
const ends = (c: Curriculum, o: { epochs: number; imageSize: number }) =>
  resolveCurriculum(c, o).stages.map((s) => s.endEpoch);

Deno.test("legalSize: nearest multiple, ties up, H exact, accepts and nearestInputSize", () => {
  assert.equal(legalSize(22.857, 32), 22);
  assert.equal(legalSize(27.43, 32), 28);
  assert.equal(legalSize(23, 32), 24); // tie between 22 and 24 goes up
  assert.equal(legalSize(224, 224), 224);
  assert.equal(legalSize(224, 224, { multipleOf: 32 }), 224);
  assert.equal(legalSize(175, 224, { multipleOf: 32 }), 160);
  assert.equal(legalSize(176, 224, { multipleOf: 32 }), 192);
  // A model that only takes multiples of 32 (e.g. Swin): 150 → 160 even though 150 is even.
  assert.equal(legalSize(150, 224, { accepts: (b) => b % 32 === 0 }), 160);
  assert.equal(legalSize(150, 224, { nearestInputSize: (b) => Math.round(b / 16) * 16 }), 144);
  assert.equal(legalSize(1, 32), 2);
  assert.throws(() => legalSize(10, 32, { accepts: () => false }), InvalidArgumentError);
  assert.throws(() => legalSize(-1, 32), InvalidArgumentError);
});

Deno.test("specToPixels: ratios, absolute with and without a reference size, too large", () => {
  assert.equal(specToPixels({ ratio: 0.25 }, 32), 8);
  assert.equal(specToPixels(192, 28, { refSize: 224 }), 24);
  assert.equal(specToPixels(20, 32), 20);
  assert.throws(() => specToPixels(40, 32), InvalidArgumentError);
});

Deno.test("constant: one stage; B = H is exactly the baseline (no crop)", () => {
  const c = constant({ size: { ratio: 1 }, magnitude: 9 });
  const r = resolveCurriculum(c, { epochs: 90, imageSize: 224 });
  assert.equal(r.stages.length, 1);
  assert.deepEqual(
    { ...r.stages[0] },
    {
      index: 0,
      segment: 0,
      startEpoch: 0,
      endEpoch: 90,
      startEquivalent: 0,
      endEquivalent: 90,
      imageSize: 224,
      magnitude: 9,
      cropMethod: "none",
    },
  );
  assert.equal(r.relativeCompute, 1);
  const half = resolveCurriculum(
    constant({ size: { ratio: 0.5 }, magnitude: 3, cropMethod: "resize:area" }),
    {
      epochs: 10,
      imageSize: 32,
    },
  );
  assert.equal(half.stages[0].cropMethod, "resize:area");
  assert.equal(half.relativeCompute, 0.25);
});

Deno.test("equalEpochStages: floor(E·k/N) boundaries for many E", () => {
  const c = equalEpochStages(
    [1, 2, 3, 4, 5].map((k) => ({ size: { ratio: k / 5 }, magnitude: k })),
  );
  for (let E = 5; E <= 400; E++) {
    const r = resolveCurriculum(c, { epochs: E, imageSize: 320, multipleOf: 1 });
    assert.deepEqual(
      r.stages.map((s) => s.endEpoch),
      [1, 2, 3, 4, 5].map((k) => Math.floor((E / 5) * k)),
    );
    assert.equal(r.totalEpochs, E);
  }
  // Too few epochs: empty stages vanish, the rest keep their boundaries.
  assert.deepEqual(ends(c, { epochs: 3, imageSize: 320 }), [1, 2, 3]);
  assert.throws(() => equalEpochStages([]), InvalidArgumentError);
});

Deno.test("equalComputeStages: a stage at B runs (H/B)² epochs per unit; LR by compute", () => {
  const c = equalComputeStages([{ size: { ratio: 0.5 }, magnitude: 0 }, {
    size: { ratio: 1 },
    magnitude: 9,
  }]);
  const r = resolveCurriculum(c, { epochs: 10, imageSize: 64 });
  assert.deepEqual(r.stages.map((s) => [s.startEpoch, s.endEpoch, s.imageSize]), [[0, 20, 32], [
    20,
    25,
    64,
  ]]);
  assert.equal(r.totalEpochs, 25);
  assert.equal(r.equivalentEpochs, 10);
  assert.equal(r.lrProgress, "compute");
  assert.equal(lrProgress(r, 10), 0.25);
  assert.equal(lrProgress(r, 20), 0.5);
  assert.equal(lrProgress(r, 22.5), 0.75);
  assert.equal(lrProgress(r, 25), 1);
  assert.equal(lrProgress(r, -1), 0);
  const byEpoch = resolveCurriculum({ ...c, lrProgress: "epochs" }, { epochs: 10, imageSize: 64 });
  assert.equal(lrProgress(byEpoch, 10), 0.4);
});

Deno.test("stageAt: half-open ranges, clamped at both ends, fractional epochs", () => {
  const c = equalComputeStages([16, 24, 32].map((size) => ({ size, magnitude: size / 4 })));
  const r = resolveCurriculum(c, { epochs: 3, imageSize: 32 });
  for (const s of r.stages) {
    assert.equal(stageAt(r, s.startEpoch), s);
    assert.equal(stageAt(r, (s.startEpoch + s.endEpoch) / 2), s);
    assert.equal(stageAt(r, s.endEpoch - 1e-9), s);
  }
  assert.equal(stageAt(r, -5), r.stages[0]);
  assert.equal(stageAt(r, 1e9), r.stages[2]);
  assert.equal(stageAt(r, r.totalEpochs).index, 2);
});

Deno.test("linearRamp: continuous breakpoints where the line crosses grid midpoints", () => {
  const c = linearRamp({ from: 16, to: 32, step: 8, magnitude: { from: 0, to: 8 } });
  const r = resolveCurriculum(c, { epochs: 16, imageSize: 32 });
  // Size 16 → 32 over 16 epochs: crosses 20 at epoch 4 and 28 at epoch 12.
  assert.deepEqual(r.stages.map((s) => [s.startEpoch, s.endEpoch, s.imageSize]), [[0, 4, 16], [
    4,
    12,
    24,
  ], [12, 16, 32]]);
  assert.deepEqual(r.stages.map((s) => s.magnitude), [0, 2, 6]);
  assert.equal(r.stages[2].cropMethod, "none");
});

Deno.test("linearRamp with unit snap: the size of an epoch is the line's value at its start", () => {
  const c = linearRamp({ from: 16, to: 32, step: 8, snap: "unit", magnitude: 9 });
  const r = resolveCurriculum(c, { epochs: 10, imageSize: 32 });
  for (let e = 0; e < 10; e++) {
    const v = 16 + (16 * e) / 10;
    const expected = v >= 28 ? 32 : v >= 20 ? 24 : 16;
    assert.equal(stageAt(r, e + 0.5).imageSize, expected, `epoch ${e}`);
    assert.ok(
      r.stages.every((s) => Number.isInteger(s.startEpoch) && Number.isInteger(s.endEpoch)),
    );
  }
});

Deno.test("cosineRamp: breakpoints follow (1 − cos πp)/2", () => {
  const r = resolveCurriculum(cosineRamp({ from: 16, to: 32, step: 16, magnitude: 9 }), {
    epochs: 10,
    imageSize: 32,
  });
  assert.equal(r.stages.length, 2);
  assert.ok(Math.abs(r.stages[0].endEpoch - 5) < 1e-9); // midpoint 24 is reached halfway
  const r2 = resolveCurriculum(cosineRamp({ from: 16, to: 32, step: 8, magnitude: 9 }), {
    epochs: 10,
    imageSize: 32,
  });
  const p = Math.acos(1 - 2 * 0.25) / Math.PI; // crossing 20 = 16 + 16·0.25
  assert.ok(Math.abs(r2.stages[0].endEpoch - 10 * p) < 1e-9);
  // A decreasing ramp works too.
  const down = resolveCurriculum(linearRamp({ from: 32, to: 16, step: 16, magnitude: 9 }), {
    epochs: 10,
    imageSize: 32,
  });
  assert.deepEqual(down.stages.map((s) => s.imageSize), [32, 16]);
});

Deno.test("piecewise: segments start at the given fractions", () => {
  const c = piecewise([
    [0, { kind: "stage", size: { ratio: 0.5 }, magnitude: 1, length: 1 }],
    [0.5, {
      kind: "ramp",
      shape: "linear",
      from: { ratio: 0.5 },
      to: { ratio: 1 },
      step: 16,
      magnitude: 5,
      length: 1,
    }],
    [0.9, { kind: "stage", size: { ratio: 1 }, magnitude: 9, length: 1 }],
  ]);
  const r = resolveCurriculum(c, { epochs: 100, imageSize: 64 });
  assert.deepEqual(r.stages.map((s) => s.imageSize), [32, 32, 48, 64, 64]);
  assert.equal(r.stages[0].endEpoch, 50);
  assert.equal(r.stages[r.stages.length - 1].startEpoch, 90);
  assert.throws(() => piecewise([[0.1, c.segments[0]]]), InvalidArgumentError);
  assert.throws(() => piecewise([[0, c.segments[0]], [0, c.segments[1]]]), InvalidArgumentError);
});

Deno.test("sequence: weights, proportions kept, progress kinds must agree, families merged", () => {
  const a = equalEpochStages([{ size: 16, magnitude: 1 }, { size: 24, magnitude: 2 }]);
  const b = constant({ size: 32, magnitude: 9 });
  const s = sequence([a, b], { weights: [8, 2] });
  assert.deepEqual(s.segments.map((x) => x.length), [4, 4, 2]);
  assert.deepEqual(ends(s, { epochs: 10, imageSize: 32 }), [4, 8, 10]);
  assert.deepEqual(sequence([a, b]).segments.map((x) => x.length), [1, 1, 1]);
  assert.throws(
    () => sequence([a, equalComputeStages([{ size: 16, magnitude: 1 }])]),
    InvalidArgumentError,
  );
  assert.throws(() => sequence([a, b], { weights: [1] }), InvalidArgumentError);
  assert.throws(() => sequence([]), InvalidArgumentError);
  const withFamily: Curriculum = { ...a, imageSize: 32, families: { convnext: [24, 24] } };
  const merged = sequence([withFamily, { ...b, imageSize: 32 }]);
  assert.deepEqual(merged.families, { convnext: [24, 24, null] });
  assert.deepEqual(sizes(merged, { epochs: 3, imageSize: 32 }), [16, 24, 32]);
  assert.deepEqual(
    resolveCurriculum(merged, { epochs: 3, imageSize: 32, modelFamily: "convnext_tiny" }).stages
      .map((x) => x.imageSize),
    [24, 24, 32],
  );
  // Crop methods of the parts survive concatenation.
  const mixed = sequence([{ ...b, cropMethod: "resize:bicubic" }, b], { weights: [1, 1] });
  const mr = resolveCurriculum(mixed, { epochs: 2, imageSize: 64 });
  assert.deepEqual(mr.stages.map((x) => x.cropMethod), ["resize:bicubic", "fft"]);
});

Deno.test("repeat and scaleToEpochs", () => {
  const c = equalEpochStages([{ size: 16, magnitude: 1 }, { size: 32, magnitude: 9 }], {
    name: "two",
  });
  const r3 = repeat(c, 3);
  assert.equal(r3.name, "two×3");
  assert.deepEqual(sizes(r3, { epochs: 6, imageSize: 32 }), [16, 32, 16, 32, 16, 32]);
  assert.throws(() => repeat(c, 0), InvalidArgumentError);
  const scaled = scaleToEpochs(c, 300);
  assert.deepEqual(scaled.segments.map((s) => s.length), [150, 150]);
  // Resolving without a budget runs the scaled length.
  assert.equal(resolveCurriculum(scaled, { imageSize: 32 }).totalEpochs, 300);
  assert.throws(() => scaleToEpochs(c, 0), InvalidArgumentError);
});

Deno.test("scaleToImageSize keeps ratios and rounds to legal sizes", () => {
  const et = equalEpochStages(
    [160, 160, 160, 192, 224].map((b, k) => ({ size: ratio(b, 224), magnitude: 2 * k + 1 })),
  );
  const stageSizes = (c: Curriculum) => c.segments.map((s) => (s.kind === "stage" ? s.size : -1));
  assert.deepEqual(stageSizes(scaleToImageSize(et, 28)), [20, 20, 20, 24, 28]);
  assert.deepEqual(stageSizes(scaleToImageSize(et, 32)), [22, 22, 22, 28, 32]);
  assert.deepEqual(stageSizes(scaleToImageSize(et, 224)), [160, 160, 160, 192, 224]);
  assert.deepEqual(stageSizes(scaleToImageSize(et, 32, { multipleOf: 4 })), [24, 24, 24, 28, 32]);
  assert.deepEqual(stageSizes(scaleToImageSize(et, 224, { multipleOf: 32 })), [
    160,
    160,
    160,
    192,
    224,
  ]);
  // Scaled curricula resolve to the same sizes at that H.
  const scaled = scaleToImageSize(et, 32);
  assert.equal(scaled.imageSize, 32);
  assert.deepEqual(sizes(scaled, { epochs: 5, imageSize: 32 }), [22, 22, 22, 28, 32]);
  const rampScaled = scaleToImageSize(
    linearRamp({ from: { ratio: 0.5 }, to: { ratio: 1 }, step: { ratio: 32 / 224 }, magnitude: 9 }),
    32,
  );
  assert.deepEqual(rampScaled.segments[0], {
    kind: "ramp",
    shape: "linear",
    from: 16,
    to: 32,
    step: 4,
    magnitude: 9,
    length: 1,
  });
});

Deno.test("absolute sizes with a reference size scale with H", () => {
  const c = equalEpochStages([{ size: 160, magnitude: 1 }, { size: 224, magnitude: 9 }], {
    imageSize: 224,
  });
  assert.deepEqual(sizes(c, { epochs: 2, imageSize: 28 }), [20, 28]);
  assert.deepEqual(sizes(c, { epochs: 2, imageSize: 448 }), [320, 448]);
  // Without a reference size they are literal pixels.
  const literal = equalEpochStages([{ size: 20, magnitude: 1 }, { size: 28, magnitude: 9 }]);
  assert.deepEqual(sizes(literal, { epochs: 2, imageSize: 28 }), [20, 28]);
  assert.throws(
    () => resolveCurriculum(literal, { epochs: 2, imageSize: 24 }),
    InvalidArgumentError,
  );
});

Deno.test("knobs travel to resolved stages; identical neighbours merge", () => {
  const c = equalEpochStages([
    { size: 16, magnitude: 1, mixupScale: 0.5, batchSize: 256, replay: 2 },
    { size: 16, magnitude: 1, mixupScale: 0.5, batchSize: 256, replay: 2 },
    { size: 32, magnitude: 9 },
  ]);
  const r = resolveCurriculum(c, { epochs: 30, imageSize: 32 });
  assert.equal(r.stages.length, 2);
  assert.deepEqual(
    [r.stages[0].mixupScale, r.stages[0].batchSize, r.stages[0].replay, r.stages[0].endEpoch],
    [0.5, 256, 2, 20],
  );
  assert.equal(r.stages[1].mixupScale, undefined);
  assert.throws(() => resolveCurriculum(c, { epochs: 0, imageSize: 32 }), InvalidArgumentError);
  assert.throws(() => resolveCurriculum(c, { epochs: 3, imageSize: 0 }), InvalidArgumentError);
});

Deno.test("a fractional budget: inner boundaries floored, the end kept exact", () => {
  const c = equalEpochStages([{ size: 16, magnitude: 1 }, { size: 24, magnitude: 5 }, {
    size: 32,
    magnitude: 9,
  }]);
  assert.deepEqual(ends(c, { epochs: 7.5, imageSize: 32 }), [2, 5, 7.5]);
  assert.equal(resolveCurriculum(c, { epochs: 7.5, imageSize: 32 }).totalEpochs, 7.5);
});

Deno.test("maxMagnitude scales every stage and ramp so the largest magnitude becomes it", () => {
  const stages = equalEpochStages([{ size: 16, magnitude: 1 }, { size: 24, magnitude: 5 }, {
    size: 32,
    magnitude: 9,
  }]);
  const mags = (c: Curriculum, maxMagnitude?: number) =>
    resolveCurriculum(c, { epochs: 9, imageSize: 32, maxMagnitude }).stages.map((s) => s.magnitude);
  assert.deepEqual(mags(stages), [1, 5, 9]);
  assert.deepEqual(mags(stages, 4.5), [0.5, 2.5, 4.5]);
  assert.deepEqual(mags(stages, 0), [0, 0, 0]);
  // a ramp's interpolated magnitudes scale too, and the schedule of sizes is untouched
  const ramp = linearRamp({ from: 16, to: 32, step: 8, magnitude: { from: 3, to: 6 } });
  const plain = resolveCurriculum(ramp, { epochs: 6, imageSize: 32 });
  const scaled = resolveCurriculum(ramp, { epochs: 6, imageSize: 32, maxMagnitude: 2 });
  assert.deepEqual(scaled.stages.map((s) => s.imageSize), plain.stages.map((s) => s.imageSize));
  assert.deepEqual(
    scaled.stages.map((s) => s.magnitude),
    plain.stages.map((s) => (s.magnitude * 2) / Math.max(...plain.stages.map((t) => t.magnitude))),
  );
  // nothing to scale: a curriculum at magnitude 0 stays at 0
  assert.deepEqual(mags(constant({ size: 32, magnitude: 0 }), 9), [0]);
  for (const bad of [-1, Number.NaN, Infinity]) {
    assert.throws(
      () => resolveCurriculum(stages, { epochs: 9, imageSize: 32, maxMagnitude: bad }),
      InvalidArgumentError,
    );
  }
});

import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import { lrProgress, resolveCurriculum, stageAt } from "@efficienttrain/curricula";
import { getPreset, presetNames, presets } from "@efficienttrain/curricula";
import { runCurriculumCli } from "../cli/curriculum.ts";

Deno.test("EfficientTrain at 300 epochs: the authors' boundaries, sizes, magnitudes and compute", () => {
  const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
  assert.deepEqual(r.stages.map((s) => s.startEpoch), [0, 60, 120, 180, 240]);
  assert.deepEqual(r.stages.map((s) => s.endEpoch), [60, 120, 180, 240, 300]);
  assert.deepEqual(r.stages.map((s) => s.imageSize), [160, 160, 160, 192, 224]);
  assert.deepEqual(r.stages.map((s) => s.magnitude), [1, 3, 5, 7, 9]);
  assert.deepEqual(r.stages.map((s) => s.cropMethod), ["fft", "fft", "fft", "fft", "none"]);
  assert.ok(Math.abs(r.relativeCompute - 0.653) <= 0.001);
  assert.equal(lrProgress(r, 150), 0.5);
});

Deno.test("EfficientTrain: stage k ends at int(E/5·(k+1)) for every E, as ET_training.py computes it", () => {
  for (let E = 5; E <= 600; E += 1) {
    const r = resolveCurriculum(presets.efficienttrain, { epochs: E, imageSize: 224 });
    assert.deepEqual(
      r.stages.map((s) => s.endEpoch),
      [0, 1, 2, 3, 4].map((k) => Math.trunc((E / 5) * (k + 1))),
    );
  }
});

Deno.test("EfficientTrain scaled to small images keeps the ratios (even sizes)", () => {
  const at = (H: number) =>
    resolveCurriculum(presets.efficienttrain, { epochs: 50, imageSize: H }).stages.map((s) =>
      s.imageSize
    );
  assert.deepEqual(at(28), [20, 20, 20, 24, 28]);
  assert.deepEqual(at(32), [22, 22, 22, 28, 32]);
  assert.deepEqual(at(64), [46, 46, 46, 54, 64]);
  const resize = resolveCurriculum(presets["efficienttrain-resize"], {
    epochs: 300,
    imageSize: 224,
  });
  assert.deepEqual(resize.stages.map((s) => s.cropMethod), [
    ...Array(4).fill("resize:lanczos"),
    "none",
  ]);
});

Deno.test("EfficientTrain++: per-family size lists, m = 0…9, replay in the low-resolution stages", () => {
  const sizesFor = (model: string) =>
    resolveCurriculum(presets["efficienttrain++"], {
      epochs: 200,
      imageSize: 224,
      modelFamily: model,
    })
      .stages.map((s) => s.imageSize);
  assert.deepEqual(sizesFor("swin_tiny_patch4_window7_224"), [
    96,
    96,
    160,
    160,
    160,
    160,
    224,
    224,
    224,
    224,
  ]);
  assert.deepEqual(sizesFor("resnet50"), [96, 96, 160, 160, 160, 160, 224, 224, 224, 224]);
  assert.deepEqual(sizesFor("convnext_tiny"), [160, 160, 160, 160, 160, 160, 224, 224, 224, 224]);
  assert.deepEqual(sizesFor("deit_small_patch16_224"), [
    96,
    96,
    160,
    160,
    160,
    160,
    192,
    192,
    224,
    224,
  ]);
  assert.deepEqual(sizesFor("deit_tiny_patch16_224"), [
    96,
    96,
    160,
    160,
    160,
    160,
    224,
    224,
    224,
    224,
  ]);
  const r = resolveCurriculum(presets["efficienttrain++"], { epochs: 200, imageSize: 224 });
  assert.deepEqual(r.stages.map((s) => s.magnitude), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(r.lrProgress, "compute");
  // Equal compute: every stage spends 20 equivalent epochs; LR progress is k/10 at stage k's start.
  r.stages.forEach((s, k) => {
    assert.ok(Math.abs(s.endEquivalent - s.startEquivalent - 20) < 1e-9);
    assert.ok(Math.abs(lrProgress(r, s.startEpoch) - k / 10) < 1e-12);
  });
  const replay = resolveCurriculum(presets["efficienttrain++-replay"], {
    epochs: 200,
    imageSize: 224,
  });
  assert.deepEqual(replay.stages.map((s) => s.replay ?? 1), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
});

// FFCV's get_resolution (train_imagenet.py), evaluated at the start of each epoch.
function ffcvResolution(
  epoch: number,
  c: { start: number; end: number; min: number; max: number },
): number {
  if (epoch <= c.start) return c.min;
  if (epoch >= c.end) return c.max;
  const interp = c.min + ((epoch - c.start) / (c.end - c.start)) * (c.max - c.min);
  return Math.round(interp / 32) * 32; // no exact .5 ties occur for these configs
}

Deno.test("ffcv-progressive reproduces FFCV's per-epoch resolution for the 88- and 16-epoch configs", () => {
  for (const cfg of [{ epochs: 88, start: 65, end: 76 }, { epochs: 16, start: 11, end: 13 }]) {
    const r = resolveCurriculum(presets["ffcv-progressive"], {
      epochs: cfg.epochs,
      imageSize: 224,
    });
    for (let e = 0; e < cfg.epochs; e++) {
      const expected = ffcvResolution(e, { ...cfg, min: 160, max: 192 });
      assert.equal(stageAt(r, e).imageSize, expected, `${cfg.epochs} epochs, epoch ${e}`);
      assert.equal(stageAt(r, e + 0.999).imageSize, expected);
    }
    assert.equal(r.stages[r.stages.length - 1].imageSize, 192); // never the full 224: eval at full size
  }
  const small = resolveCurriculum(presets["ffcv-progressive"], { epochs: 88, imageSize: 32 });
  assert.deepEqual(small.stages.map((s) => s.imageSize), [22, 26, 28]);
});

Deno.test("composer-progressive matches Composer's per-batch size away from rounding ties", () => {
  const E = 90;
  const r = resolveCurriculum(presets["composer-progressive"], { epochs: E, imageSize: 224 });
  for (let i = 0; i < 2000; i++) {
    const epoch = (i + 0.37) * (E / 2000);
    const t = epoch / E;
    const frac = t >= 0.5 ? Math.min((t - 0.5) / (1 - 0.2 - 0.5), 1) : 0;
    const scale = 0.5 + 0.5 * frac;
    const exact = (224 * scale) / 4;
    if (Math.abs(exact - Math.floor(exact) - 0.5) < 1e-6) continue;
    assert.equal(stageAt(r, epoch).imageSize, Math.round(exact) * 4, `epoch ${epoch}`);
  }
  assert.equal(stageAt(r, 0).cropMethod, "resize:bilinear");
});

Deno.test("baseline, registry lookup, ET++ scaled to 32 px", () => {
  const r = resolveCurriculum(presets.baseline, { epochs: 100, imageSize: 32 });
  assert.deepEqual(r.stages.map((s) => [s.imageSize, s.magnitude, s.cropMethod]), [[
    32,
    9,
    "none",
  ]]);
  assert.deepEqual([...presetNames].sort(), Object.keys(presets).sort());
  assert.throws(() => getPreset("efficientrain"), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.match(e.message, /"efficientrain".*efficienttrain\+\+/);
    return true;
  });
  const replay = resolveCurriculum(presets["efficienttrain++-replay"], {
    epochs: 20,
    imageSize: 32,
  });
  assert.equal(replay.stages.length, 10);
  assert.deepEqual([
    replay.stages[0].imageSize,
    replay.stages[0].replay,
    replay.stages[0].mixupScale,
  ], [14, 2, undefined]);
  assert.equal(lrProgress(replay, replay.totalEpochs), 1);
});

Deno.test("deno task curriculum show efficienttrain --epochs 300 --image-size 224 --json", async () => {
  let text = "";
  const code = await runCurriculumCli(
    ["show", "efficienttrain", "--epochs", "300", "--image-size", "224", "--json"],
    { stdout: (t) => (text += t) },
  );
  assert.equal(code, 0);
  const shown = JSON.parse(text);
  assert.deepEqual(
    [0, ...shown.stages.map((s: { endEpoch: number }) => s.endEpoch)],
    [0, 60, 120, 180, 240, 300],
  );
  assert.deepEqual(shown.stages.map((s: { imageSize: number }) => s.imageSize), [
    160,
    160,
    160,
    192,
    224,
  ]);
  assert.deepEqual(shown.stages.map((s: { magnitude: number }) => s.magnitude), [1, 3, 5, 7, 9]);
  assert.ok(Math.abs(shown.relativeCompute - 0.653) <= 0.001);
});

/** The distinct sides `deno task curriculum show` resolves, in stage order. */
async function shownSides(args: string[]): Promise<number[]> {
  let text = "";
  const code = await runCurriculumCli(["show", ...args, "--json"], {
    stdout: (t) => (text += t),
  });
  assert.equal(code, 0);
  return [
    ...new Set<number>(JSON.parse(text).stages.map((s: { imageSize: number }) => s.imageSize)),
  ];
}

Deno.test("curriculum CLI: --min-image-size keeps DeiT's ET++ at 128 px off a 3×3 token grid", async () => {
  const sides = (extra: string[]) =>
    shownSides([
      "efficienttrain++",
      "--epochs",
      "10",
      "--image-size",
      "128",
      ...extra,
      "--model",
      "deit_tiny_patch16_224",
    ]);
  // 96/224 of 128 is 55: the nearest multiple of the 16-px patch is 48, three tokens a side
  assert.equal((await sides([]))[0], 48);
  assert.equal((await sides(["--min-image-size", "64"]))[0], 64);
  let err = "";
  const code = await runCurriculumCli(
    ["show", "efficienttrain", "--image-size", "64", "--min-image-size", "96"],
    { stderr: (t) => (err += t) },
  );
  assert.equal(code, 2);
  assert.match(err, /--min-image-size.*96.*exceeds --image-size 64/);
});

Deno.test("curriculum CLI: --size-multiple 32 keeps ConvNeXt's sides at 128 px whole multiples of its stride", async () => {
  const sides = (extra: string[]) =>
    shownSides([
      "efficienttrain",
      "--epochs",
      "20",
      "--image-size",
      "128",
      ...extra,
      "--model",
      "convnext_atto",
    ]);
  // 160/224 and 192/224 of 128 are 91.4 and 109.7: 92 and 110 by default, whose maps after the
  // stem (23, 27) are odd and lose their last row at the next stride-2 downsample
  assert.deepEqual(await sides([]), [92, 110, 128]);
  assert.deepEqual(await sides(["--size-multiple", "32"]), [96, 128]);
  assert.deepEqual(await sides(["--multiple-of", "32"]), [96, 128]);
  let err = "";
  const code = await runCurriculumCli(
    ["show", "efficienttrain", "--image-size", "128", "--size-multiple", "0"],
    { stderr: (t) => (err += t) },
  );
  assert.equal(code, 2);
  assert.match(err, /--size-multiple.*0/);
});

Deno.test("curriculum CLI: --max-magnitude scales EfficientTrain's m schedule, sides untouched", async () => {
  const show = async (extra: string[]): Promise<{ imageSize: number; magnitude: number }[]> => {
    let text = "";
    const code = await runCurriculumCli(
      ["show", "efficienttrain", "--epochs", "300", "--json", ...extra],
      { stdout: (t) => (text += t) },
    );
    assert.equal(code, 0);
    return JSON.parse(text).stages;
  };
  const scaled = await show(["--max-magnitude", "4.5"]);
  assert.deepEqual(scaled.map((s) => s.magnitude), [0.5, 1.5, 2.5, 3.5, 4.5]);
  const own = await show([]);
  assert.deepEqual(scaled.map((s) => s.imageSize), own.map((s) => s.imageSize));
  // 0 means the curriculum's own, as in `deno task train`
  assert.deepEqual(await show(["--max-magnitude", "0"]), own);
  let err = "";
  const code = await runCurriculumCli(
    ["show", "efficienttrain", "--max-magnitude=-1"],
    { stderr: (t) => (err += t) },
  );
  assert.equal(code, 2);
  assert.match(err, /--max-magnitude.*-1/);
});

Deno.test("curriculum CLI: table, ET++ split for Swin, bad input exits 2 naming the value", async () => {
  let text = "";
  assert.equal(
    await runCurriculumCli([
      "show",
      "efficienttrain++",
      "--epochs",
      "200",
      "--model",
      "swin_tiny_patch4_window7_224",
    ], {
      stdout: (t) => (text += t),
    }),
    0,
  );
  assert.match(text, /compute by size: 96px 20\.0%, 160px 40\.0%, 224px 40\.0%/);
  let err = "";
  assert.equal(
    await runCurriculumCli(["show", "efficienttrain", "--epochs", "abc"], {
      stderr: (t) => (err += t),
    }),
    2,
  );
  assert.match(err, /--epochs = "abc"/);
  err = "";
  assert.equal(
    await runCurriculumCli(["show", "missing-file.json"], { stderr: (t) => (err += t) }),
    2,
  );
  assert.match(err, /missing-file\.json/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({
      progress: "epochs",
      segments: [{ kind: "stage", size: 0, magnitude: 1, length: 1 }],
    }),
  );
  err = "";
  assert.equal(await runCurriculumCli(["show", `${dir}/c.json`], { stderr: (t) => (err += t) }), 2);
  assert.match(err, /segments\[0\]\.size.*got 0/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("curriculum CLI with a registered --model uses its legal sizes and FLOPs", async () => {
  const { modelInfo } = await import("@efficienttrain/models");
  const name = "swin_tiny_patch4_window7_224";
  let text = "";
  const code = await runCurriculumCli(
    ["show", "efficienttrain", "--epochs", "300", "--model", name, "--json"],
    { stdout: (t) => (text += t) },
  );
  assert.equal(code, 0);
  const shown = JSON.parse(text);
  const f = (b: number) => modelInfo(name, { imgSize: b }).flops;
  const hand = (180 * f(160) + 60 * f(192) + 60 * f(224)) / (300 * f(224));
  assert.ok(Math.abs(shown.relativeCompute - hand) < 1e-12);
  assert.equal(shown.computeBySizeModelFlops.length, 3);
  // At 32 px Swin accepts only multiples of 32, so every stage is the full size.
  text = "";
  await runCurriculumCli([
    "show",
    "efficienttrain",
    "--image-size",
    "32",
    "--model",
    name,
    "--json",
  ], {
    stdout: (t) => (text += t),
  });
  assert.deepEqual(JSON.parse(text).stages.map((s: { imageSize: number }) => s.imageSize), [
    32,
    32,
    32,
    32,
    32,
  ]);
});

import assert from "node:assert/strict";
import { Rng } from "@efficienttrain/core";
import {
  applyRandAugmentOp,
  augmentImage,
  defaultAugment,
  padRandomCrop,
  parseRandAugment,
  RAND_INCREASING_OPS,
  randAugment,
  randAugmentArgument,
  type RandAugmentOp,
  randomResizedCrop,
  randomResizedCropBox,
  resizeImage,
} from "@efficienttrain/data";

const G = { height: 6, width: 6, channels: 1 };
const RGB = { height: 6, width: 6, channels: 3 };
const gray = Uint8Array.from({ length: 36 }, (_, i) => 40 + i * 5); // 40..215
const rgb = Uint8Array.from({ length: 108 }, (_, i) => (i * 29 + 17) % 256);

function op(name: RandAugmentOp, level: number, img = gray, shape = G, negate = false): Uint8Array {
  const argument = randAugmentArgument(name, level, { negate });
  return applyRandAugmentOp(name, img, shape, { argument, fill: [128, 128, 128] });
}

Deno.test("RandAugment level → argument mappings are timm's", () => {
  const arg = (n: RandAugmentOp, l: number, negate = false) =>
    randAugmentArgument(n, l, { negate });
  assert.equal(arg("Rotate", 0), 0);
  assert.equal(arg("Rotate", 10), 30);
  assert.equal(arg("Rotate", 10, true), -30);
  assert.equal(arg("PosterizeIncreasing", 0), 4);
  assert.equal(arg("PosterizeIncreasing", 10), 0);
  assert.equal(arg("PosterizeIncreasing", 5), 2);
  assert.equal(arg("SolarizeIncreasing", 0), 256);
  assert.equal(arg("SolarizeIncreasing", 10), 0);
  assert.equal(arg("SolarizeIncreasing", 9), 256 - 230);
  assert.equal(arg("SolarizeAdd", 10), 110);
  assert.equal(arg("SolarizeAdd", 9), 99);
  for (
    const e of [
      "ColorIncreasing",
      "ContrastIncreasing",
      "BrightnessIncreasing",
      "SharpnessIncreasing",
    ] as const
  ) {
    assert.equal(arg(e, 0), 1);
    assert.ok(Math.abs(arg(e, 10)! - 1.9) < 1e-12);
    assert.ok(Math.abs(arg(e, 10, true)! - 0.1) < 1e-12);
  }
  assert.ok(Math.abs(arg("ShearX", 10)! - 0.3) < 1e-12);
  assert.ok(Math.abs(arg("TranslateYRel", 10, true)! + 0.45) < 1e-12);
  assert.equal(arg("Equalize", 10), undefined);
  assert.equal(RAND_INCREASING_OPS.length, 15);
});

Deno.test("RandAugment ops at magnitude 0 leave the image unchanged (except the 3 parameter-free ops)", () => {
  for (const name of RAND_INCREASING_OPS) {
    // timm: these have no "off" level (PosterizeIncreasing at 0 still keeps only 4 bits)
    if (["AutoContrast", "Equalize", "Invert", "PosterizeIncreasing"].includes(name)) continue;
    assert.deepEqual(op(name, 0), gray, name);
    assert.deepEqual(op(name, 0, rgb, RGB), rgb, `${name} rgb`);
  }
});

Deno.test("RandAugment ops at magnitude 10 do what PIL/timm do", () => {
  assert.deepEqual(op("PosterizeIncreasing", 10), new Uint8Array(36)); // 0 bits kept
  assert.deepEqual(
    op("PosterizeIncreasing", 0).map((v, i) => v ^ (gray[i] & 0xf0)),
    new Uint8Array(36),
  );
  assert.deepEqual(op("SolarizeIncreasing", 10), gray.map((v) => 255 - v)); // threshold 0
  assert.deepEqual(op("SolarizeAdd", 10), gray.map((v) => (v < 128 ? Math.min(255, v + 110) : v)));
  assert.deepEqual(op("Invert", 10), gray.map((v) => 255 - v));
  assert.deepEqual(
    op("BrightnessIncreasing", 10, gray, G, true),
    gray.map((v) => Math.trunc(v * 0.1)),
  );
  assert.deepEqual(
    op("BrightnessIncreasing", 10),
    gray.map((v) => Math.min(255, Math.trunc(v * 1.9))),
  );
  // contrast 0.1 pulls every pixel towards the rounded mean (127.5 → 128)
  const c = op("ContrastIncreasing", 10, gray, G, true);
  assert.ok(c.every((v, i) => Math.abs(v - 128) <= Math.abs(gray[i] - 128)));
  assert.deepEqual(op("ColorIncreasing", 10, gray, G), gray); // no colour in a 1-channel image
  const grey = op("ColorIncreasing", 10, rgb, RGB, true);
  for (let p = 0; p < 36; p++) { // factor 0.1: channels close to each other
    const [r, g, b] = grey.subarray(3 * p, 3 * p + 3);
    assert.ok(Math.max(r, g, b) - Math.min(r, g, b) <= Math.ceil(0.1 * 255) + 1);
  }
  const auto = op("AutoContrast", 0);
  assert.equal(Math.min(...auto), 0);
  assert.equal(Math.max(...auto), 255);
  // PIL: a histogram too sparse for a step of ≥ 1 leaves the image unchanged
  assert.deepEqual(op("Equalize", 0), gray);
  const narrow = Uint8Array.from({ length: 1024 }, (_, i) => 100 + (i % 10));
  const eq = applyRandAugmentOp("Equalize", narrow, { height: 32, width: 32, channels: 1 });
  assert.equal(Math.min(...eq), 0);
  // step = (1024 − 102) // 255 = 3; the top two levels overshoot 255 and clip, as in PIL
  assert.deepEqual([...new Set(eq)].sort((a, b) => a - b), [
    0,
    34,
    69,
    103,
    137,
    171,
    205,
    239,
    255,
  ]);
  // sharpness 1.9 extrapolates away from the 3×3 smooth; borders are untouched (PIL)
  const sh = op("SharpnessIncreasing", 10, rgb, RGB);
  assert.deepEqual(sh.subarray(0, 18), rgb.subarray(0, 18));
  assert.notDeepEqual(sh, rgb);
});

Deno.test("geometric ops: rotate 90 is exact, translate/shear fill with the mean", () => {
  const n = 6;
  const shape = { height: n, width: n, channels: 1 };
  const rot = applyRandAugmentOp("Rotate", gray, shape, { argument: 90, fill: [0] });
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) assert.equal(rot[y * n + x], gray[x * n + (n - 1 - y)]); // counter-clockwise
  }
  assert.deepEqual(op("Rotate", 10, gray, G).length, 36);
  // TranslateXRel by 0.5 of 6 px: output x samples input x + 3
  const tr = applyRandAugmentOp("TranslateXRel", gray, shape, { argument: 0.5, fill: [7] });
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) assert.equal(tr[y * n + x], x + 3 < n ? gray[y * n + x + 3] : 7);
  }
  const sh = applyRandAugmentOp("ShearX", gray, shape, { argument: 0.3, fill: [9] });
  // pixel (0,0) samples x = 0.5 + 0.3·0.5 = 0.65 → bilinear between columns 0 and 1
  assert.equal(sh[0], Math.round(gray[0] * 0.85 + gray[1] * 0.15));
  assert.ok(sh.includes(9)); // bottom rows pull in fill from the right
});

Deno.test("randAugment: seeded, magnitude matters, n ops with p 0.5", () => {
  const img = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 7) % 256);
  const shape = { height: 16, width: 16, channels: 3 };
  const a = randAugment(img, shape, { magnitude: 9 }, new Rng(5));
  const b = randAugment(img, shape, { magnitude: 9 }, new Rng(5));
  assert.deepEqual(a, b);
  let changed = 0;
  for (let s = 0; s < 200; s++) {
    if (
      randAugment(img, shape, { magnitude: 9, magnitudeStd: 0 }, new Rng(s)).some((v, i) =>
        v !== img[i]
      )
    ) changed++;
  }
  // P(no op fires) = 0.25, plus the rare op that is the identity on this image
  assert.ok(changed > 120 && changed < 175, `changed ${changed}/200`);
  assert.deepEqual(parseRandAugment("rand-m9-n2-mstd0.5-inc1"), {
    magnitude: 9,
    numOps: 2,
    magnitudeStd: 0.5,
    magnitudeMax: 10,
  });
  assert.throws(() => parseRandAugment("rand-m9-inc0"), /increasing/);
});

Deno.test("RandomResizedCrop box follows scale/ratio; fallback is a centre crop", () => {
  const rng = new Rng(11);
  for (let i = 0; i < 500; i++) {
    const b = randomResizedCropBox(rng, 100, 80, { scale: [0.25, 0.5], ratio: [0.5, 2] });
    const area = (b.width * b.height) / 8000;
    assert.ok(area > 0.2 && area < 0.56, `area ${area}`);
    assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= 100 && b.left + b.width <= 80);
  }
  const fb = randomResizedCropBox(new Rng(0), 10, 100, { scale: [1, 1], ratio: [1, 1] });
  assert.deepEqual(fb, { top: 0, left: 45, height: 10, width: 10 });
  const out = randomResizedCrop(
    new Uint8Array(50 * 40 * 3).fill(77),
    { height: 50, width: 40, channels: 3 },
    { size: 24 },
    new Rng(1),
  );
  assert.equal(out.length, 24 * 24 * 3);
  assert.ok(out.every((v) => v === 77)); // a flat image stays flat under any resampling
});

Deno.test("defaultAugment: RandomResizedCrop's smallest area is the minScale given (timm's 0.08 otherwise)", () => {
  const shape = { height: 64 + 36, width: 100, channels: 3 };
  const crop = (minScale?: number) => defaultAugment(shape, { magnitude: 0, minScale }).crop;
  assert.deepEqual(crop(), { kind: "rrc", size: 100, scale: [0.08, 1] });
  assert.deepEqual(crop(0.35), { kind: "rrc", size: 100, scale: [0.35, 1] });
  // the small-image recipe has no area to scale
  assert.equal(
    defaultAugment({ height: 32, width: 32, channels: 3 }, { magnitude: 0, minScale: 0.5 }).crop
      ?.kind,
    "pad",
  );
});

Deno.test("resize: PIL's antialiased bilinear (triangle kernel widened by the scale)", () => {
  const src = Uint8Array.from([0, 100, 10, 30, 100, 0, 30, 10]); // 2×4, 1 channel
  const out = resizeImage(src, { height: 2, width: 4, channels: 1 }, { outHeight: 1, outWidth: 2 });
  // 2× down: support 2 px, taps at distances .25/.25/.75 → weights .75/.75/.25 (÷1.75);
  // row 0 → 44.29, 31.43; row 1 → 47.14, 17.14; vertical taps equal → 45.71, 24.29
  assert.deepEqual([...out], [46, 24]);
});

Deno.test("pad-and-crop: zero and reflect padding, bounded shift", () => {
  const shape = { height: 4, width: 4, channels: 1 };
  const img = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const seen = new Set<string>();
  for (let s = 0; s < 300; s++) {
    const z = padRandomCrop(img, shape, { padding: 2 }, new Rng(s));
    seen.add(z.join());
    const zeros = z.filter((v) => v === 0).length;
    assert.ok(zeros <= 16 - 4); // at most 2 rows/cols shifted out each way
    const r = padRandomCrop(img, shape, { padding: 2, mode: "reflect" }, new Rng(s));
    assert.ok(r.every((v) => v >= 1)); // reflect never introduces zeros
  }
  assert.equal(seen.size, 25); // every offset in 0..4 × 0..4 occurs
  assert.deepEqual(padRandomCrop(img, shape, { padding: 0 }, new Rng(0)), img);
});

Deno.test("augmentImage: deterministic per seed; defaults by image kind", () => {
  const shape = { height: 32, width: 32, channels: 3 };
  const img = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 13) % 256);
  const cfg = defaultAugment(shape, { magnitude: 9, mean: [0.49, 0.48, 0.45] });
  assert.equal(cfg.crop?.kind, "pad");
  assert.equal(cfg.hflip, 0.5);
  assert.deepEqual(cfg.randAugment?.fill, [125, 122, 115]);
  assert.deepEqual(
    augmentImage(img, shape, cfg, new Rng(3)),
    augmentImage(img, shape, cfg, new Rng(3)),
  );
  assert.notDeepEqual(
    augmentImage(img, shape, cfg, new Rng(3)),
    augmentImage(img, shape, cfg, new Rng(4)),
  );
  const big = defaultAugment({ height: 256, width: 256, channels: 3 }, { magnitude: 9, size: 224 });
  assert.equal(big.crop?.kind, "rrc");
  assert.equal(defaultAugment({ height: 28, width: 28, channels: 1 }, { magnitude: 1 }).hflip, 0);
  // flip-only pipeline mirrors about half the time
  const flips = Array.from(
    { length: 100 },
    (_, s) => augmentImage(img, shape, { hflip: 0.5 }, new Rng(s))[0] !== img[0],
  );
  const k = flips.filter(Boolean).length;
  assert.ok(k > 30 && k < 70);
});

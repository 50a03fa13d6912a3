/**
 * `deno bench -A bench/micro/rand_augment_bench.ts`: where the Imagenette augmentation's time
 * goes, per piece, at the recipe's shapes (a 224-px source, 128-px output). Each bench handles
 * `N` images, so ms per image = time per iteration / N. The image is smooth noise with
 * edges, so the histogram ops see a spread of values.
 *
 * The whole pipeline (RandomResizedCrop 224→128, flip, RandAugment m=9 n=2) is the baseline's
 * per-image cost; the rows below it split it into the crop (bilinear and bicubic, each drawn
 * half the time) and each of RandAugment's 15 ops at the recipe's magnitude (geometric ops in
 * both interpolations, also drawn half the time each).
 */
import { Rng } from "@efficienttrain/core";
import {
  applyRandAugmentOp,
  augmentImage,
  defaultAugment,
  GEOMETRIC_OPS,
  RAND_INCREASING_OPS,
  randAugmentArgument,
  resizeImage,
} from "@efficienttrain/data";

const N = 64;
const SOURCE = { height: 224, width: 224, channels: 3 };
const OUT = { height: 128, width: 128, channels: 3 };

function naturalish(side: number, seed: number): Uint8Array {
  const rng = new Rng(seed), img = new Uint8Array(side * side * 3);
  const fx = 1 + rng.next() * 6, fy = 1 + rng.next() * 6;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let k = 0; k < 3; k++) {
        const wave = Math.sin((x * fx + k * 40) / side * Math.PI) *
          Math.cos(y * fy / side * Math.PI);
        const edge = x > side / 2 ? 40 : 0;
        img[(y * side + x) * 3 + k] = Math.max(
          0,
          Math.min(255, 110 + 90 * wave + edge + rng.normal(0, 12)),
        );
      }
    }
  }
  return img;
}

const sources = Array.from({ length: N }, (_, i) => naturalish(224, i));
const crops = sources.map((s) => resizeImage(s, SOURCE, { outHeight: 128, outWidth: 128 }));
const recipe = defaultAugment(SOURCE, { magnitude: 9, size: 128, mean: [0.462, 0.458, 0.430] });
const fill = recipe.randAugment?.fill ?? [128];

Deno.bench(`RRC 224→128 + flip + RandAugment m=9 (${N} images)`, {
  group: "pipeline",
  baseline: true,
}, () => {
  const rng = new Rng(1);
  for (const s of sources) augmentImage(s, SOURCE, recipe, rng);
});

for (const interpolation of ["bilinear", "bicubic"] as const) {
  Deno.bench(`RRC 224→128, ${interpolation}, box of ~half the area (${N} images)`, {
    group: "pipeline",
  }, () => {
    for (const s of sources) {
      resizeImage(s, SOURCE, {
        outHeight: 128,
        outWidth: 128,
        box: { top: 30, left: 20, height: 160, width: 150 },
        interpolation,
      });
    }
  });
}

for (const op of RAND_INCREASING_OPS) {
  const argument = randAugmentArgument(op, 9, { negate: false });
  const modes = GEOMETRIC_OPS.has(op) ? ["bilinear", "bicubic"] as const : ["bilinear"] as const;
  for (const interpolation of modes) {
    const label = GEOMETRIC_OPS.has(op) ? `${op} ${interpolation}` : op;
    Deno.bench(`${label} at 128 px (${N} images)`, { group: "ops" }, () => {
      for (const c of crops) applyRandAugmentOp(op, c, OUT, { argument, fill, interpolation });
    });
  }
}

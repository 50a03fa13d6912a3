import assert from "node:assert/strict";
import {
  DatasetError,
  evalCrop,
  evalCropSet,
  IMAGENETTE_CLASSES,
  imageSet,
  loadDataset,
  resizeImage,
} from "@efficienttrain/data";
import { makeFolder } from "./data_fixtures.ts";

const IMAGENETTE_TAR = "../shared/data/imagenette2-224.tar.gz";
const hasImagenette = (() => {
  try {
    return Deno.statSync(IMAGENETTE_TAR).isFile;
  } catch {
    return false;
  }
})();

function ramp(h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out.set([x % 256, y % 256, (x + y) % 256], (y * w + x) * 3);
    }
  }
  return out;
}

Deno.test("evalCrop is timm's resize to size/crop_pct then a centred crop", () => {
  const src = ramp(224, 224), shape = { height: 224, width: 224, channels: 3 };
  const out = evalCrop(src, shape, 128);
  // 128 / 0.875 = 146.3 → 146; (146 − 128) / 2 = 9
  const resized = resizeImage(src, shape, {
    outHeight: 146,
    outWidth: 146,
    interpolation: "bicubic",
  });
  for (const [y, x] of [[0, 0], [0, 127], [127, 0], [64, 64], [127, 127]]) {
    for (let c = 0; c < 3; c++) {
      assert.equal(out[(y * 128 + x) * 3 + c], resized[((y + 9) * 146 + x + 9) * 3 + c]);
    }
  }
  // the red channel is x: the crop's left edge sits 9/146 of the way in
  assert.ok(Math.abs(out[0] - (9 + 0.5) * (224 / 146)) < 2, `left edge ${out[0]}`);
});

Deno.test("evalCrop keeps the aspect on non-square images and rounds offsets half to even", () => {
  const shape = { height: 100, width: 200, channels: 3 };
  // 8 / 0.8 = 10: 10 × 20, offsets (1, 6)
  const out = evalCrop(ramp(100, 200), shape, 8, { cropPct: 0.8 });
  const resized = resizeImage(ramp(100, 200), shape, {
    outHeight: 10,
    outWidth: 20,
    interpolation: "bicubic",
  });
  assert.equal(out.length, 8 * 8 * 3);
  assert.equal(out[0], resized[(1 * 20 + 6) * 3]);
  // 9 → 9 / 0.9 = 10, (10 − 9) / 2 = 0.5 rounds to 0 (Python's round), not 1
  const square = { height: 10, width: 10, channels: 3 };
  const nine = evalCrop(ramp(10, 10), square, 9, { cropPct: 0.9 });
  assert.equal(nine[0], 0);
  assert.throws(() => evalCrop(ramp(10, 10), square, 8, { cropPct: 0 }), /cropPct/);
});

Deno.test("evalCropSet maps every image and keeps the labels", () => {
  const one = ramp(16, 16);
  const set = imageSet(new Uint8Array([...one, ...one]), new Int32Array([3, 7]), {
    height: 16,
    width: 16,
    channels: 3,
  });
  const out = evalCropSet(set, 8, { cropPct: 1 });
  assert.equal(out.height, 8);
  assert.deepEqual([...out.labels], [3, 7]);
  assert.deepEqual(out.images.subarray(0, 192), out.images.subarray(192));
});

Deno.test("imagenette: a folder without its ten classes is refused, naming them", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeFolder(root, {
      classes: ["cat", "dog"],
      perClass: 1,
      size: 4,
      splits: ["train", "val"],
    });
    await assert.rejects(
      () => loadDataset(`imagenette:${root}`, { cache: false }),
      (e: unknown) =>
        e instanceof DatasetError &&
        /imagenette needs the 10 class folders n01440764/.test(e.reason) &&
        /found 2: cat, dog/.test(e.reason),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "imagenette archive: ten classes, 224×224 RGB, train and val",
  ignore: !hasImagenette,
  fn: async () => {
    const ds = await loadDataset(`imagenette:${IMAGENETTE_TAR}`, { limitPerClass: 2 });
    assert.deepEqual(ds.info.classes, Object.keys(IMAGENETTE_CLASSES));
    assert.deepEqual(ds.info.imageShape, [224, 224, 3]);
    assert.deepEqual(ds.info.splits, { train: 20, test: 20 });
  },
});

/**
 * `deno bench -A bench/micro/data_bench.ts`: throughput of the data pipeline. Each bench handles
 * a fixed number of images (in its name), so images/s = count / time-per-iteration.
 * Uses the first 512 JPEGs of ../shared/data/cifar10-jpg.tar.gz (32 px) and 224/256 px
 * JPEGs made from them (upsampled, mozjpeg q85) for the ImageNet-sized rows.
 */
import encodeJpeg, { init as initJpegEncoder } from "@jsquash/jpeg/encode.js";
import { Rng } from "@efficienttrain/core";
import {
  augmentImage,
  decodeImage,
  defaultAugment,
  imageSet,
  initImageCodecs,
  Loader,
  openTar,
  readTar,
  resizeImage,
} from "@efficienttrain/data";

const ARCHIVE = "../shared/data/cifar10-jpg.tar.gz";
const N32 = 512, N224 = 64;

await initImageCodecs();
const jpegs32: Uint8Array[] = [];
for await (const e of readTar(await openTar(ARCHIVE), ARCHIVE)) {
  if (e.type === "file" && e.name.endsWith(".jpg")) jpegs32.push(e.data!);
  if (jpegs32.length === N32) break;
}
const decoded32 = await Promise.all(jpegs32.map((b, i) => decodeImage(b, `#${i}`)));
const set32 = imageSet(
  new Uint8Array(decoded32.flatMap((d) => [...d.data])),
  new Int32Array(N32),
  { height: 32, width: 32, channels: 3 },
);

const encWasm = await WebAssembly.compile(
  await Deno.readFile(
    new URL("./codec/enc/mozjpeg_enc.wasm", import.meta.resolve("@jsquash/jpeg/encode.js")),
  ),
);
await (initJpegEncoder as unknown as (m: WebAssembly.Module, o: object) => Promise<void>)(
  encWasm,
  {},
);
const big = (d: { data: Uint8Array }, side: number) =>
  resizeImage(d.data, { height: 32, width: 32, channels: 3 }, {
    outHeight: side,
    outWidth: side,
    interpolation: "bicubic",
  });
const jpegs224: Uint8Array[] = [];
for (let i = 0; i < N224; i++) {
  const rgb = big(decoded32[i], 224);
  const rgba = new Uint8ClampedArray(224 * 224 * 4);
  for (let p = 0; p < 224 * 224; p++) {
    rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  jpegs224.push(
    new Uint8Array(
      await encodeJpeg({ data: rgba, width: 224, height: 224, colorSpace: "srgb" } as ImageData, {
        quality: 85,
      }),
    ),
  );
}
const src256 = imageSet(
  new Uint8Array(Array.from({ length: N224 }, (_, i) => [...big(decoded32[i], 256)]).flat()),
  new Int32Array(N224),
  { height: 256, width: 256, channels: 3 },
);

const mean = [0.4914, 0.4822, 0.4465];
const aug32 = (m: number | undefined) => {
  const c = defaultAugment(set32, { magnitude: m ?? 0, mean });
  return m === undefined ? { ...c, randAugment: undefined } : c;
};
const aug224 = (m: number | undefined) => {
  const c = defaultAugment(src256, { magnitude: m ?? 0, mean, size: 224 });
  return m === undefined ? { ...c, randAugment: undefined } : c;
};

Deno.bench(`decode JPEG 32px (${N32} images)`, { group: "decode", n: 20, warmup: 2 }, async () => {
  for (let i = 0; i < N32; i++) await decodeImage(jpegs32[i], "x");
});
Deno.bench(
  `decode JPEG 224px (${N224} images)`,
  { group: "decode", n: 20, warmup: 2 },
  async () => {
    for (let i = 0; i < N224; i++) await decodeImage(jpegs224[i], "x");
  },
);

for (const [label, m] of [["no RandAugment", undefined], ["RandAugment m=9", 9]] as const) {
  Deno.bench(`augment 32px pad-crop+flip, ${label} (${N32} images)`, {
    group: "augment",
    n: 20,
    warmup: 2,
  }, () => {
    const cfg = aug32(m), rng = new Rng(1), per = 32 * 32 * 3;
    for (let i = 0; i < N32; i++) {
      augmentImage(set32.images.subarray(i * per, (i + 1) * per), set32, cfg, rng);
    }
  });
  Deno.bench(`augment 256→224px RRC+flip, ${label} (${N224} images)`, {
    group: "augment",
    n: 10,
    warmup: 1,
  }, () => {
    const cfg = aug224(m), rng = new Rng(1), per = 256 * 256 * 3;
    for (let i = 0; i < N224; i++) {
      augmentImage(src256.images.subarray(i * per, (i + 1) * per), src256, cfg, rng);
    }
  });
}

/** A loader kept across iterations (steady state: workers started and JIT-warm); the
 * bench runner exits with its workers still alive, which ends them. */
function loaderBench(
  name: string,
  make: () => Loader,
  options: { n: number; warmup: number },
): void {
  let loader: Loader | undefined;
  let epoch = 0;
  Deno.bench(name, { group: "loader", ...options }, async (b) => {
    if (!loader) {
      loader = make();
      for await (const _ of loader.epoch(epoch++)) { /* warm the workers' JIT */ }
    }
    b.start();
    for await (const _ of loader.epoch(epoch++)) { /* consume */ }
    b.end();
  });
}

for (const workers of [0, 2]) {
  loaderBench(
    `loader 32px RA m=9, ${workers} workers (${N32} images)`,
    () => new Loader(set32, { batchSize: 128, seed: 0, augment: aug32(9), workers }),
    { n: 10, warmup: 1 },
  );
  loaderBench(
    `loader 256→224px RA m=9, ${workers} workers (${N224} images)`,
    () => new Loader(src256, { batchSize: 16, seed: 0, augment: aug224(9), workers }),
    { n: 5, warmup: 1 },
  );
}

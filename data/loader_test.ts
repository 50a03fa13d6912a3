import assert from "node:assert/strict";
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import {
  defaultAugment,
  imageSet,
  Loader,
  type LoaderBatch,
  mixupCutmix,
  normalizeBatch,
  randomErasing,
  randomErasingBoxes,
  softTargets,
  toTensors,
} from "@efficienttrain/data";

await tf.setBackend("cpu");

function synthetic(n: number, side: number, channels = 3) {
  const per = side * side * channels;
  const images = new Uint8Array(n * per);
  for (let i = 0; i < images.length; i++) images[i] = (i * 31 + (i / per | 0) * 7) % 256;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return imageSet(images, labels, { height: side, width: side, channels });
}

async function collect(it: AsyncIterable<LoaderBatch>): Promise<LoaderBatch[]> {
  const out: LoaderBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

Deno.test("loader: same batches with 0 or 2 workers; resumes from any batch", async () => {
  const set = synthetic(45, 16);
  const augment = defaultAugment(set, { magnitude: 9, mean: [0.5, 0.5, 0.5] });
  const inline = new Loader(set, { batchSize: 8, seed: 3, augment });
  const pooled = new Loader(set, { batchSize: 8, seed: 3, augment, workers: 2, prefetch: 3 });
  try {
    const a = await collect(inline.epoch(1));
    const b = await collect(pooled.epoch(1));
    assert.equal(a.length, 6);
    assert.equal(a[5].n, 5); // last partial batch kept
    for (let i = 0; i < a.length; i++) {
      assert.deepEqual(b[i].images, a[i].images, `batch ${i}`);
      assert.deepEqual(b[i].labels, a[i].labels);
    }
    const resumed = await collect(pooled.epoch(1, { startBatch: 4 }));
    assert.deepEqual(resumed.map((r) => r.index), [4, 5]);
    assert.deepEqual(resumed[0].images, a[4].images);
    assert.deepEqual((await inline.batchAt(1, 2)).images, a[2].images);
    // labels follow the sampled indices
    for (const batch of a) {
      batch.indices.forEach((ix, j) => assert.equal(batch.labels[j], set.labels[ix]));
    }
    // each epoch reshuffles and covers every image once
    const e2 = await collect(inline.epoch(2));
    assert.notDeepEqual(e2[0].indices, a[0].indices);
    const seen = e2.flatMap((x) => [...x.indices]).sort((p, q) => p - q);
    assert.deepEqual(seen, Array.from({ length: 45 }, (_, i) => i));
  } finally {
    await inline.close();
    await pooled.close();
  }
});

Deno.test("loader: dropLast, magnitude per stage, plain evaluation batches", async () => {
  const set = synthetic(20, 8);
  const augment = defaultAugment(set, { magnitude: 0, mean: [0.5, 0.5, 0.5] });
  const l = new Loader(set, { batchSize: 6, dropLast: true, augment, seed: 9 });
  assert.equal(l.batchesPerEpoch, 3);
  assert.equal(l.imagesPerEpoch, 18);
  const low = (await collect(l.epoch(0))).map((b) => b.images);
  l.setMagnitude(10);
  const high = (await collect(l.epoch(0))).map((b) => b.images);
  assert.equal(l.magnitude, 10);
  assert.notDeepEqual(high, low);
  const again = (await collect(l.epoch(0, { magnitude: 0 }))).map((b) => b.images);
  assert.deepEqual(again, low);
  assert.throws(() => l.setMagnitude(-1), /magnitude/);
  await l.close();
  const evalLoader = new Loader(set, { batchSize: 6, shuffle: false });
  const ev = await collect(evalLoader.epoch(0));
  assert.deepEqual(ev.map((b) => b.n), [6, 6, 6, 2]);
  assert.deepEqual(ev[3].images, set.images.subarray(18 * 192));
  const t = toTensors(ev[0]);
  assert.deepEqual(t.images.shape, [6, 8, 8, 3]);
  assert.equal(t.images.dataSync()[5], set.images[5]);
  tf.dispose([t.images, t.labels]);
  await evalLoader.close();
  assert.throws(() => new Loader(set, { batchSize: 0 }), /batchSize/);
});

Deno.test("normalizeBatch and softTargets", () => {
  const b = {
    images: Uint8Array.of(0, 128, 255, 51, 102, 153),
    n: 2,
    height: 1,
    width: 1,
    channels: 3,
  };
  const x = normalizeBatch(b, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] });
  const v = x.dataSync();
  const want = [(0 - 0.5) / 0.25, (128 / 255 - 0.5) / 0.5, (1 - 0.5) / 1];
  want.forEach((w, i) => assert.ok(Math.abs(v[i] - w) < 1e-5));
  assert.throws(() => normalizeBatch(b, { mean: [0.5], std: [0.5] }), /channels/);
  const t = softTargets(Int32Array.of(2, 0), 4, 0.1).arraySync();
  assert.deepEqual(t[0].map((q) => Number(q.toFixed(4))), [0.025, 0.025, 0.925, 0.025]);
  tf.dispose(x);
});

Deno.test("normalizeBatch: the host pass equals the tensor path bit for bit", () => {
  const rng = new Rng(11);
  for (const channels of [1, 3, 4]) {
    const n = 3, height = 5, width = 7;
    const images = new Uint8Array(n * height * width * channels);
    for (let i = 0; i < images.length; i++) images[i] = i < 256 ? i : Math.floor(rng.next() * 256);
    const stats = {
      mean: Array.from({ length: channels }, () => rng.next()),
      std: Array.from({ length: channels }, () => 0.05 + rng.next()),
    };
    const host = normalizeBatch({ images, n, height, width, channels }, stats);
    const tensor = tf.tensor4d(images, [n, height, width, channels], "int32");
    const viaOps = normalizeBatch(tensor, stats);
    assert.deepEqual(host.shape, [n, height, width, channels]);
    assert.deepEqual(host.dataSync(), viaOps.dataSync(), `${channels} channels`);
    tf.dispose([host, tensor, viaOps]);
  }
});

Deno.test("mixup/cutmix: rows sum to 1, λ matches the pasted area, seeded", () => {
  const n = 6, h = 10, w = 10;
  const data = new Float32Array(n * h * w).map((_, i) => Math.floor(i / (h * w))); // image i is all i
  const x = tf.tensor4d(data, [n, h, w, 1]);
  const labels = Int32Array.of(0, 1, 2, 3, 4, 5);
  const modes = new Set<string>();
  for (let s = 0; s < 40; s++) {
    const m = mixupCutmix(x, labels, new Rng(s), { numClasses: 8 });
    modes.add(m.mode);
    const rows = tf.sum(m.targets, 1).dataSync();
    assert.ok(rows.every((r) => Math.abs(r - 1) < 1e-5));
    const t = m.targets.arraySync();
    const off = 0.1 / 8;
    // label weight = λ·(1−s) + s/K, partner (reversed batch) weight = (1−λ)·(1−s) + s/K
    assert.ok(Math.abs(t[0][0] - (m.lam * 0.9 + off)) < 1e-5);
    assert.ok(Math.abs(t[0][5] - ((1 - m.lam) * 0.9 + off)) < 1e-5);
    const img0 = Array.from(m.images.dataSync().slice(0, h * w));
    if (m.mode === "cutmix") {
      const pasted = img0.filter((p) => p === 5).length; // from image n−1
      assert.equal(pasted, m.box!.height * m.box!.width);
      assert.ok(Math.abs(1 - pasted / (h * w) - m.lam) < 1e-9);
    } else if (m.mode === "mixup") {
      assert.ok(img0.every((p) => Math.abs(p - 5 * (1 - m.lam)) < 1e-4));
    }
    const again = mixupCutmix(x, labels, new Rng(s), { numClasses: 8 });
    assert.deepEqual(again.images.dataSync(), m.images.dataSync());
    tf.dispose([m.images, m.targets, again.images, again.targets]);
  }
  assert.ok(modes.has("mixup") && modes.has("cutmix"));
  const off = mixupCutmix(x, labels, new Rng(0), { numClasses: 8, mixupAlpha: 0, cutmixAlpha: 0 });
  assert.equal(off.mode, "none");
  assert.deepEqual(off.images.dataSync(), x.dataSync());
  tf.dispose([x, off.images, off.targets]);
});

Deno.test("random erasing: timm box sizes, per-pixel normal values, seeded", () => {
  const boxes = randomErasingBoxes(new Rng(1), { n: 2000, height: 32, width: 32 }, {});
  const hit = boxes.filter((b) => b !== undefined);
  assert.ok(hit.length > 400 && hit.length < 600, `${hit.length} of 2000 at p 0.25`);
  for (const b of hit) {
    const area = (b!.height * b!.width) / 1024;
    assert.ok(area >= 0.01 && area <= 0.4, `area ${area}`);
    const aspect = b!.height / b!.width;
    assert.ok(aspect > 0.2 && aspect < 5);
  }
  const x = tf.zeros([4, 16, 16, 3]) as tf.Tensor4D;
  const y = randomErasing(x, new Rng(7), { probability: 1 });
  const v = Array.from(y.dataSync());
  const erased = v.filter((q) => q !== 0).length;
  assert.ok(erased >= 4 * 0.02 * 256 * 3 * 0.9);
  const mean = v.reduce((s, q) => s + q, 0) / erased,
    sd = Math.sqrt(v.reduce((s, q) => s + q * q, 0) / erased);
  assert.ok(Math.abs(mean) < 0.2 && Math.abs(sd - 1) < 0.2, `mean ${mean} sd ${sd}`);
  assert.deepEqual(Array.from(randomErasing(x, new Rng(7), { probability: 1 }).dataSync()), v);
  assert.deepEqual(randomErasing(x, new Rng(7), { probability: 0 }).dataSync(), x.dataSync());
  tf.dispose([x, y]);
});

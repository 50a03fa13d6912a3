import assert from "node:assert/strict";
import {
  channelStats,
  decodeCacheSplit,
  decodeImage,
  encodeCacheSplit,
  imageSet,
  loadDataset,
  loadImageFolder,
  openTar,
  parseCifarBatches,
  parseDatasetSpec,
  parseIdx,
  readIdx,
  readTar,
} from "@efficienttrain/data";
import { DatasetError } from "@efficienttrain/data";
import {
  CIFAR_TAR,
  gzip,
  hasCifarTar,
  idxBytes,
  makeFolder,
  pattern,
  png,
  tarDir,
} from "./data_fixtures.ts";

function rejectsDataset(reason: RegExp, path?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${e}`);
    assert.match(e.reason, reason);
    if (path) assert.match(e.path, path);
    return true;
  };
}

Deno.test("IDX: parses, and rejects wrong magic, truncation, extra bytes", () => {
  const ok = parseIdx(idxBytes([2, 2, 3], new Uint8Array(12).fill(5)), "a");
  assert.deepEqual(ok.dims, [2, 2, 3]);
  assert.equal(ok.data.length, 12);
  const bad = idxBytes([2], new Uint8Array(2));
  bad[0] = 0x50;
  assert.throws(() => parseIdx(bad, "m.idx"), rejectsDataset(/not an IDX file/, /m\.idx/));
  assert.throws(
    () => parseIdx(idxBytes([4, 2, 2], new Uint8Array(15)), "t.idx"),
    rejectsDataset(/truncated/, /t\.idx/),
  );
  assert.throws(
    () => parseIdx(idxBytes([1, 2, 2], new Uint8Array(5)), "x.idx"),
    rejectsDataset(/size mismatch/),
  );
  assert.throws(() => parseIdx(new Uint8Array(2), "h"), rejectsDataset(/truncated/));
  const float = idxBytes([1], new Uint8Array(1));
  float[2] = 0x0d;
  assert.throws(() => parseIdx(float, "f"), rejectsDataset(/element type/));
});

Deno.test("IDX directory: raw and gz, label count ≠ image count is an error", async () => {
  const dir = await Deno.makeTempDir();
  const imgs = new Uint8Array(3 * 4 * 4).map((_, i) => i);
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, await gzip(idxBytes([3, 4, 4], imgs)));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idxBytes([3], new Uint8Array([1, 2, 3])));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idxBytes([1, 4, 4], new Uint8Array(16)));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idxBytes([1], new Uint8Array([9])));
  const ds = await loadDataset(`fashion-mnist:${dir}`);
  assert.equal(ds.info.classes[9], "Ankle boot");
  assert.deepEqual(ds.info.imageShape, [4, 4, 1]);
  assert.deepEqual([...ds.train.labels], [1, 2, 3]);
  assert.equal(ds.train.images[47], 47);
  assert.equal((await readIdx(`${dir}/train-images-idx3-ubyte.gz`)).dims[0], 3);
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idxBytes([2], new Uint8Array([1, 2])));
  await assert.rejects(
    () => loadDataset(`mnist:${dir}`),
    rejectsDataset(/label count 2 ≠ image count 1/, /t10k-labels/),
  );
  // a truncated gzip layer
  const gz = await gzip(idxBytes([3], new Uint8Array([1, 2, 3])));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, gz.subarray(0, gz.length - 12));
  await assert.rejects(() => loadDataset(`mnist:${dir}`), DatasetError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("MNIST is embedded: 60,000 / 10,000 of 28×28×1", async () => {
  const ds = await loadDataset("mnist");
  assert.deepEqual(ds.info.splits, { train: 60000, test: 10000 });
  assert.deepEqual(ds.info.imageShape, [28, 28, 1]);
  assert.ok(Math.abs(ds.info.mean[0] - 0.1307) < 1e-3);
  assert.ok(Math.abs(ds.info.std[0] - 0.3081) < 1e-3);
  assert.equal(ds.train.labels[0], 5); // the famous first digit
});

Deno.test("CIFAR binary: CHW→HWC, variants, truncation and bad labels", async () => {
  const rec = (label: number, seed: number) => {
    const r = new Uint8Array(3073);
    r[0] = label;
    for (let i = 0; i < 3072; i++) r[1 + i] = (i + seed) % 251;
    return r;
  };
  const set = parseCifarBatches([{
    path: "b",
    bytes: new Uint8Array([...rec(3, 0), ...rec(9, 1)]),
  }], "cifar10");
  assert.equal(set.count, 2);
  assert.deepEqual([...set.labels], [3, 9]);
  // pixel (0, 1) of image 0: R at plane offset 1, G at 1024 + 1, B at 2048 + 1
  assert.deepEqual([...set.images.subarray(3, 6)], [1, 1025 % 251, 2049 % 251]);
  assert.throws(
    () => parseCifarBatches([{ path: "t.bin", bytes: rec(1, 0).subarray(0, 3000) }], "cifar10"),
    rejectsDataset(/not a multiple/, /t\.bin/),
  );
  assert.throws(
    () => parseCifarBatches([{ path: "l.bin", bytes: rec(12, 0) }], "cifar10"),
    rejectsDataset(/label 12/),
  );
  const c100 = new Uint8Array(3074);
  c100[0] = 4;
  c100[1] = 77;
  assert.equal(parseCifarBatches([{ path: "c", bytes: c100 }], "cifar100").labels[0], 77);
  const dir = await Deno.makeTempDir();
  for (let i = 1; i <= 5; i++) await Deno.writeFile(`${dir}/data_batch_${i}.bin`, rec(i, i));
  await Deno.writeFile(`${dir}/test_batch.bin`, rec(0, 0));
  const ds = await loadDataset(dir);
  assert.equal(ds.info.name, "cifar10");
  assert.deepEqual(ds.info.splits, { train: 5, test: 1 });
  await Deno.writeFile(`${dir}/data_batch_3.bin`, rec(3, 3).subarray(0, 100));
  await assert.rejects(
    () => loadDataset(`cifar10:${dir}`),
    rejectsDataset(/not a multiple/, /data_batch_3/),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("image folder from directory, .tar and .tar.gz give the same data", async () => {
  const root = await Deno.makeTempDir();
  const src = `${root}/ds`;
  await makeFolder(src, { classes: ["cat", "ant", "bee"], perClass: 2, size: 6 });
  const a = await loadImageFolder(src);
  assert.deepEqual(a.info.classes, ["ant", "bee", "cat"]);
  assert.deepEqual(a.info.splits, { train: 6, test: 6 });
  assert.deepEqual(a.info.imageShape, [6, 6, 3]);
  assert.deepEqual([...a.train.labels], [0, 0, 1, 1, 2, 2]);
  // PNG is lossless: the first "ant" image is pattern seed 100
  assert.deepEqual(a.train.images.subarray(0, 108), pattern(6, 6, 100));
  await tarDir(src, `${root}/ds.tar`, false);
  await tarDir(src, `${root}/ds.tar.gz`, true);
  for (const archive of [`${root}/ds.tar`, `${root}/ds.tar.gz`]) {
    const b = await loadImageFolder(archive);
    assert.deepEqual(b.info.classes, a.info.classes);
    assert.deepEqual(b.train.images, a.train.images);
    assert.deepEqual(b.test.labels, a.test.labels);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("image folder bad input: non-image, corrupt JPEG, empty class, size mismatch; --skip-bad-images counts", async () => {
  const root = await Deno.makeTempDir();
  await makeFolder(root, { classes: ["a", "b"], perClass: 2, size: 4 });
  await Deno.writeTextFile(`${root}/train/a/notes.txt`, "not a picture");
  await assert.rejects(
    () => loadImageFolder(root),
    rejectsDataset(/not a JPEG or PNG/, /notes\.txt/),
  );
  await Deno.remove(`${root}/train/a/notes.txt`);
  await Deno.writeFile(
    `${root}/train/b/bad.jpg`,
    new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]),
  );
  await assert.rejects(() => loadImageFolder(root), rejectsDataset(/corrupt JPEG/, /bad\.jpg/));
  const skipped = await loadImageFolder(root, { skipBadImages: true });
  assert.equal(skipped.skipped.length, 1);
  assert.equal(skipped.info.splits.train, 4);
  await Deno.remove(`${root}/train/b/bad.jpg`);
  await Deno.writeFile(`${root}/test/b/x.png`, (await png(pattern(4, 4, 1), 4, 4)).subarray(0, 40));
  await assert.rejects(() => loadImageFolder(root), rejectsDataset(/corrupt PNG/, /x\.png/));
  await Deno.remove(`${root}/test/b/x.png`);
  await Deno.writeFile(`${root}/test/b/big.png`, await png(pattern(5, 5, 1), 5, 5));
  await assert.rejects(() => loadImageFolder(root), rejectsDataset(/5×5, others are 4×4/));
  assert.equal((await loadImageFolder(root, { imageSize: 3 })).info.imageShape[0], 3);
  await Deno.remove(`${root}/test/b/big.png`);
  await Deno.mkdir(`${root}/train/empty`);
  await assert.rejects(() => loadImageFolder(root), rejectsDataset(/empty class folder/, /empty/));
  await Deno.remove(`${root}/train/empty`);
  await Deno.mkdir(`${root}/test/zebra`);
  await Deno.writeFile(`${root}/test/zebra/z.png`, await png(pattern(4, 4, 2), 4, 4));
  await assert.rejects(() => loadImageFolder(root), rejectsDataset(/not in train/));
  await Deno.remove(root, { recursive: true });
});

Deno.test("unreadable archives are DatasetErrors", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeFile(`${root}/junk.tar`, new Uint8Array(2048).map((_, i) => (i * 13) % 256));
  await assert.rejects(
    () => loadImageFolder(`${root}/junk.tar`),
    rejectsDataset(/not a tar archive/),
  );
  await Deno.writeFile(
    `${root}/junk.tar.gz`,
    new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]),
  );
  await assert.rejects(
    () => loadImageFolder(`${root}/junk.tar.gz`),
    rejectsDataset(/unreadable archive/),
  );
  await makeFolder(`${root}/src`, { classes: ["a"], perClass: 3, size: 8 });
  await tarDir(`${root}/src`, `${root}/ok.tar`, false);
  const whole = await Deno.readFile(`${root}/ok.tar`);
  await Deno.writeFile(`${root}/cut.tar`, whole.subarray(0, 1800));
  await assert.rejects(() => loadImageFolder(`${root}/cut.tar`), rejectsDataset(/truncated tar/));
  await assert.rejects(
    () => loadImageFolder(`${root}/missing.tar.gz`),
    rejectsDataset(/cannot open/),
  );
  let n = 0;
  const empty = new Blob([new Uint8Array(1024)]).stream();
  for await (const _ of readTar(empty, "e.tar")) n++;
  assert.equal(n, 0);
  await Deno.remove(root, { recursive: true });
});

Deno.test("decoded cache: hit on second load, rebuilt when the source or version changes", async () => {
  const root = await Deno.makeTempDir();
  const cacheDir = `${root}/cache`;
  await makeFolder(`${root}/src`, { classes: ["a", "b"], perClass: 2, size: 4 });
  await tarDir(`${root}/src`, `${root}/d.tar.gz`, true);
  const first = await loadDataset(`folder:${root}/d.tar.gz`, { cacheDir });
  assert.equal(first.fromCache, false);
  const second = await loadDataset(`folder:${root}/d.tar.gz`, { cacheDir });
  assert.equal(second.fromCache, true);
  assert.deepEqual(second.train.images, first.train.images);
  // read straight into shared memory, so the loader's workers need no copy of the split
  assert.ok(second.train.images.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(second.info, first.info);
  // another cache version in a split file: reading it fails, loading rebuilds
  const [entry] = await Array.fromAsync(Deno.readDir(cacheDir));
  const split = `${cacheDir}/${entry.name}/train.bin`;
  const bytes = await Deno.readFile(split);
  new DataView(bytes.buffer).setUint32(8, 999, true);
  await Deno.writeFile(split, bytes);
  assert.throws(
    () => decodeCacheSplit(bytes, split),
    rejectsDataset(/another version/, /train\.bin/),
  );
  const lines: string[] = [];
  const third = await loadDataset(`folder:${root}/d.tar.gz`, {
    cacheDir,
    log: (l) => lines.push(l),
  });
  assert.equal(third.fromCache, false);
  assert.ok(lines.some((l) => /another version/.test(l)));
  assert.equal((await loadDataset(`folder:${root}/d.tar.gz`, { cacheDir })).fromCache, true);
  // a changed source (new file → new size/mtime) misses the cache
  await Deno.writeFile(`${root}/src/train/a/new.png`, await png(pattern(4, 4, 9), 4, 4));
  await tarDir(`${root}/src`, `${root}/d.tar.gz`, true);
  const fourth = await loadDataset(`folder:${root}/d.tar.gz`, { cacheDir });
  assert.equal(fourth.fromCache, false);
  assert.equal(fourth.info.splits.train, 5);
  assert.throws(() => decodeCacheSplit(new Uint8Array(40), "x"), rejectsDataset(/bad magic/));
  const s = imageSet(new Uint8Array(8), new Int32Array(2), { height: 2, width: 2, channels: 1 });
  assert.throws(
    () => decodeCacheSplit(encodeCacheSplit(s).subarray(0, 40), "y"),
    rejectsDataset(/truncated/),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("dataset specs", async () => {
  assert.deepEqual(parseDatasetSpec("mnist"), { kind: "mnist", path: "" });
  assert.deepEqual(parseDatasetSpec("cifar100:/x/y"), { kind: "cifar100", path: "/x/y" });
  assert.equal(parseDatasetSpec("some/dir").kind, "auto");
  assert.throws(() => parseDatasetSpec("imagenet:/x"), /unknown dataset kind/);
  await assert.rejects(() => loadDataset("folder:/definitely/not/here"), rejectsDataset(/no such/));
});

Deno.test({
  name: "CIFAR-10 JPEG archive: a per-class subset streams and decodes",
  ignore: !hasCifarTar,
  fn: async () => {
    const ds = await loadImageFolder(CIFAR_TAR, { limitPerClass: 3, name: "cifar10" });
    assert.equal(ds.info.classes.length, 10);
    assert.deepEqual(ds.info.splits, { train: 30, test: 30 });
    assert.deepEqual(ds.info.imageShape, [32, 32, 3]);
    const { mean } = channelStats(ds.train);
    assert.ok(mean.every((m) => m > 0.2 && m < 0.8));
  },
});

Deno.test({
  name: "a truncated JPEG says why, and a class folder of only bad images is not called empty",
  ignore: !hasCifarTar,
  async fn() {
    let jpeg: Uint8Array | undefined;
    for await (const e of readTar(await openTar(CIFAR_TAR), CIFAR_TAR)) {
      if (e.type === "file" && e.name.endsWith(".jpg")) {
        jpeg = e.data!;
        break;
      }
    }
    assert.ok(jpeg !== undefined);
    for (const cut of [jpeg.length >> 1, 200, 20]) {
      await assert.rejects(() => decodeImage(jpeg!.subarray(0, cut), "cut.jpg"), (e: unknown) => {
        assert.ok(e instanceof DatasetError);
        assert.match(e.reason, /^corrupt JPEG \(/);
        assert.doesNotMatch(e.reason, /\[object Object\]/);
        return true;
      });
    }
    const root = await Deno.makeTempDir();
    await makeFolder(root, { classes: ["a", "b"], perClass: 2, size: 4 });
    for (const f of Deno.readDirSync(`${root}/train/b`)) {
      await Deno.remove(`${root}/train/b/${f.name}`);
    }
    await Deno.writeFile(`${root}/train/b/cut.jpg`, jpeg.subarray(0, 200));
    await assert.rejects(
      () => loadImageFolder(root, { skipBadImages: true }),
      rejectsDataset(/all 1 files in this class folder were skipped/, /train\/b/),
    );
    await Deno.remove(`${root}/train/b/cut.jpg`);
    await assert.rejects(
      () => loadImageFolder(root, { skipBadImages: true }),
      rejectsDataset(/^empty class folder$/, /train\/b/),
    );
    await Deno.remove(root, { recursive: true });
  },
});

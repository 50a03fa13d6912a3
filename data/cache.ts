/**
 * The decoded-dataset cache: one uint8 file per split plus a small JSON index, all written
 * atomically, keyed by the source's identity (path, size, mtime) and the decode options, so
 * a second run starts in about the time it takes to read the pixels back.
 *
 * @module
 */
import { writeFileAtomic, writeTextFileAtomic } from "@efficienttrain/core";
import { DatasetError } from "./errors.ts";
import type { DatasetInfo, ImageSet } from "./types.ts";
import { imageSet } from "./types.ts";

/**
 * Bump when the split file layout or the decoding changes; older caches are rebuilt.
 *
 * @example
 * ```ts
 * import { CACHE_VERSION } from "@efficienttrain/data";
 * console.assert(CACHE_VERSION >= 1);
 * ```
 */
export const CACHE_VERSION = 1;

const MAGIC = "ETDCACHE";
const HEADER_BYTES = 8 + 4 * 5;

/**
 * The cache root: `$XDG_CACHE_HOME/efficienttrain` when set, else `.cache/efficienttrain`
 * under the current directory (the repository root for `deno task`).
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from "@efficienttrain/data";
 * console.assert(defaultCacheDir().endsWith("efficienttrain"));
 * ```
 */
export function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return xdg ? `${xdg}/efficienttrain` : `${Deno.cwd()}/.cache/efficienttrain`;
}

/**
 * Serialise a split: magic, version, count, height, width, channels, int32 labels (LE),
 * then the NHWC pixels.
 *
 * @example
 * ```ts
 * import { encodeCacheSplit, decodeCacheSplit, imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array([1, 2]), new Int32Array([0, 1]), { height: 1, width: 1, channels: 1 });
 * console.assert(decodeCacheSplit(encodeCacheSplit(s), "x").labels[1] === 1);
 * ```
 */
export function encodeCacheSplit(set: ImageSet): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + 4 * set.count + set.images.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  [CACHE_VERSION, set.count, set.height, set.width, set.channels].forEach((v, i) =>
    view.setUint32(8 + 4 * i, v, true)
  );
  for (let i = 0; i < set.count; i++) view.setInt32(HEADER_BYTES + 4 * i, set.labels[i], true);
  out.set(set.images, HEADER_BYTES + 4 * set.count);
  return out;
}

/**
 * Parse a split written by {@link encodeCacheSplit}. A foreign file, a file from another
 * cache version or a truncated one is a {@link DatasetError} naming `path`.
 *
 * @example
 * ```ts
 * import { decodeCacheSplit, DatasetError } from "@efficienttrain/data";
 * try { decodeCacheSplit(new Uint8Array(4), "x.bin"); } catch (e) { console.assert(e instanceof DatasetError); }
 * ```
 */
export function decodeCacheSplit(bytes: Uint8Array, path: string): ImageSet {
  if (bytes.length < HEADER_BYTES) {
    throw new DatasetError({ path, reason: "truncated cache file (no header)" });
  }
  // a copy: TextDecoder refuses views of shared memory, which readCache reads into
  if (new TextDecoder().decode(bytes.slice(0, 8)) !== MAGIC) {
    throw new DatasetError({ path, reason: "not an efficienttrain cache file (bad magic)" });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [version, count, height, width, channels] = [0, 1, 2, 3, 4].map((i) =>
    view.getUint32(8 + 4 * i, true)
  );
  if (version !== CACHE_VERSION) {
    throw new DatasetError({
      path,
      reason: `cache file from another version (${version}, this build reads ${CACHE_VERSION})`,
    });
  }
  const want = HEADER_BYTES + 4 * count + count * height * width * channels;
  if (bytes.length !== want) {
    throw new DatasetError({
      path,
      reason: `truncated cache file: ${bytes.length} bytes, header says ${want}`,
    });
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = view.getInt32(HEADER_BYTES + 4 * i, true);
  const images = bytes.subarray(HEADER_BYTES + 4 * count);
  return imageSet(images, labels, { height, width, channels });
}

/** Size, newest mtime and file count of a source (the count catches deletions/renames). */
export interface SourceFingerprint {
  readonly size: number;
  readonly mtimeMs: number;
  readonly entries: number;
}

/** What identifies a cache entry: the source and every option that changes the pixels. */
export interface CacheKey {
  readonly source: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly entries: number;
  readonly options: Readonly<Record<string, unknown>>;
}

interface CacheIndex {
  version: number;
  key: CacheKey;
  info: DatasetInfo;
  skipped: number;
  skippedFiles?: SkippedFile[];
}

/** An image left out under `skipBadImages`, and why. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

async function keyDir(root: string, key: CacheKey): Promise<string> {
  const text = JSON.stringify({ v: CACHE_VERSION, ...key });
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  const hex = Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const base = key.source.replace(/\/+$/, "").split("/").pop()!.replace(/[^A-Za-z0-9._-]/g, "_");
  return `${root}/${base}-${hex}`;
}

/** A dataset restored from the cache. */
export interface CachedDataset {
  readonly info: DatasetInfo;
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly skipped: number;
  /** The skipped files (absent in caches written before the list was kept). */
  readonly skippedFiles?: readonly SkippedFile[];
}

/**
 * Read a cache entry; `undefined` when there is none for this key. A present but unusable
 * entry (other version, truncated, mismatched index) is a {@link DatasetError}.
 *
 * @example
 * ```ts
 * import { readCache } from "@efficienttrain/data";
 * const miss = await readCache(await Deno.makeTempDir(), { source: "x", size: 1, mtimeMs: 0, entries: 1, options: {} });
 * console.assert(miss === undefined);
 * ```
 */
export async function readCache(
  root: string,
  key: CacheKey,
): Promise<CachedDataset | undefined> {
  const dir = await keyDir(root, key);
  let index: CacheIndex;
  try {
    index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new DatasetError({ path: `${dir}/index.json`, reason: "unreadable cache index" });
  }
  if (index.version !== CACHE_VERSION) {
    throw new DatasetError({
      path: `${dir}/index.json`,
      reason: `cache index from another version (${index.version}, expected ${CACHE_VERSION})`,
    });
  }
  if (JSON.stringify(index.key) !== JSON.stringify(key)) {
    throw new DatasetError({
      path: `${dir}/index.json`,
      reason: "cache index is for another source",
    });
  }
  const read = async (split: "train" | "test") => {
    const path = `${dir}/${split}.bin`;
    let bytes: Uint8Array;
    try {
      bytes = await readFileShared(path);
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError({ path, reason: `missing cache split: ${(e as Error).message}` });
    }
    return decodeCacheSplit(bytes, path);
  };
  const train = await read("train");
  const test = await read("test");
  if (train.count !== index.info.splits.train || test.count !== index.info.splits.test) {
    throw new DatasetError({ path: dir, reason: "cache splits disagree with the index" });
  }
  return {
    info: index.info,
    train,
    test,
    skipped: index.skipped,
    skippedFiles: index.skippedFiles,
  };
}

/**
 * Write a cache entry: the split files first, the index last, each atomically, so a crash
 * leaves no index pointing at half-written data.
 *
 * @example
 * ```ts
 * import { imageSet, readCache, writeCache } from "@efficienttrain/data";
 * const root = await Deno.makeTempDir();
 * const s = imageSet(new Uint8Array(1), new Int32Array(1), { height: 1, width: 1, channels: 1 });
 * const info = { name: "t", classes: ["a"], splits: { train: 1, test: 1 }, imageShape: [1, 1, 1] as const, mean: [0], std: [0] };
 * const key = { source: "t", size: 1, mtimeMs: 0, entries: 1, options: {} };
 * await writeCache(root, key, { info, train: s, test: s, skipped: 0 });
 * console.assert((await readCache(root, key))?.train.count === 1);
 * ```
 */
export async function writeCache(
  root: string,
  key: CacheKey,
  data: CachedDataset,
): Promise<string> {
  const dir = await keyDir(root, key);
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(`${dir}/train.bin`, encodeCacheSplit(data.train));
  await writeFileAtomic(`${dir}/test.bin`, encodeCacheSplit(data.test));
  const index: CacheIndex = {
    version: CACHE_VERSION,
    key,
    info: data.info,
    skipped: data.skipped,
    skippedFiles: [...(data.skippedFiles ?? [])],
  };
  await writeTextFileAtomic(`${dir}/index.json`, JSON.stringify(index, null, 2));
  return dir;
}

/**
 * The identity of a source for cache invalidation: a file's size and mtime, or for a folder
 * the total size and newest mtime of every file beneath it.
 *
 * @example
 * ```ts
 * import { sourceFingerprint } from "@efficienttrain/data";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a`, "xy");
 * console.assert((await sourceFingerprint(dir)).size === 2);
 * ```
 */
export async function sourceFingerprint(path: string): Promise<SourceFingerprint> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    throw new DatasetError({ path, reason: `cannot stat: ${(e as Error).message}` });
  }
  if (!st.isDirectory) return { size: st.size, mtimeMs: st.mtime?.getTime() ?? 0, entries: 1 };
  let size = 0, mtimeMs = st.mtime?.getTime() ?? 0, files = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      const s = await Deno.stat(p);
      mtimeMs = Math.max(mtimeMs, s.mtime?.getTime() ?? 0);
      if (e.isDirectory) await walk(p);
      else {
        size += s.size;
        files++;
      }
    }
  };
  await walk(path);
  return { size, mtimeMs, entries: files };
}

/**
 * A whole file read straight into shared memory. The loader's augmentation workers read the
 * train split through one SharedArrayBuffer; reading it there at once spares a copy the size
 * of the split (1.4 GB for Imagenette at 224 px).
 */
async function readFileShared(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const { size } = await file.stat();
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  let filled = 0;
  while (filled < size) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) {
      throw new DatasetError({
        path,
        reason: `truncated while reading: ${filled} of ${size} bytes`,
      });
    }
    filled += n;
  }
  return bytes;
}

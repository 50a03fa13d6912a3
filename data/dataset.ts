/**
 * One entry point for every source: `loadDataset(spec)` with `spec` one of `mnist`,
 * `mnist:<dir>`, `fashion-mnist:<dir>`, `cifar10:<path>`, `cifar100:<path>`,
 * `imagenette:<path>`, `folder:<path>` or a plain path whose kind is detected from its contents. Image-folder
 * sources go through the decoded cache.
 *
 * @module
 */
import { InvalidArgumentError } from "@efficienttrain/core";
import { DatasetError } from "./errors.ts";
import { statOrUndefined } from "./io.ts";
import { FASHION_MNIST_CLASSES, loadIdxDirectory, loadMnist, MNIST_CLASSES } from "./idx.ts";
import {
  CIFAR100_CLASSES,
  CIFAR10_CLASSES,
  cifarBatchNames,
  type CifarVariant,
  isCifarBinaryDirectory,
  loadCifarBinary,
  parseCifarBatches,
} from "./cifar.ts";
import { type ImageFolderOptions, isTarPath, loadImageFolder } from "./folder.ts";
import { openTar, readTar } from "./tar.ts";
import {
  defaultCacheDir,
  readCache,
  type SkippedFile,
  sourceFingerprint,
  writeCache,
} from "./cache.ts";
import { channelStats, type LoadedDataset } from "./types.ts";

/** Options for {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Use the decoded cache for image folders/archives (default true). */
  readonly cache?: boolean;
  /** Cache root (default {@link defaultCacheDir}). */
  readonly cacheDir?: string;
  /** Skip and count corrupt images instead of failing. */
  readonly skipBadImages?: boolean;
  /** Resize folder images to `imageSize²` (shorter side + centre crop). */
  readonly imageSize?: number;
  /** Keep at most this many images per class and split (folders only; bypasses the cache). */
  readonly limitPerClass?: number;
  /** Hold-out fraction for folders without train/test sub-folders. */
  readonly holdout?: number;
  /** Called with progress lines (cache hits, rebuilds). */
  readonly log?: (line: string) => void;
}

/** A loaded dataset plus where it came from. */
export interface DatasetLoadResult extends LoadedDataset {
  /** Images skipped under `skipBadImages`. */
  readonly skipped: number;
  /** Which, and why (empty when none, or when an older cache did not record them). */
  readonly skippedFiles: readonly SkippedFile[];
  /** True when the pixels came from the decoded cache. */
  readonly fromCache: boolean;
}

/** The parsed form of a dataset spec. */
export interface DatasetSpec {
  readonly kind: (typeof KINDS)[number] | "auto";
  /** Empty for the embedded MNIST. */
  readonly path: string;
}

const KINDS = ["mnist", "fashion-mnist", "cifar10", "cifar100", "imagenette", "folder"] as const;

/**
 * Imagenette's ten ImageNet classes: folder name (WordNet id) to the class's name, in the
 * sorted order that gives the labels.
 *
 * @example
 * ```ts
 * import { IMAGENETTE_CLASSES } from "@efficienttrain/data";
 * console.assert(IMAGENETTE_CLASSES.n01440764 === "tench");
 * ```
 */
export const IMAGENETTE_CLASSES: Readonly<Record<string, string>> = {
  n01440764: "tench",
  n02102040: "English springer",
  n02979186: "cassette player",
  n03000684: "chain saw",
  n03028079: "church",
  n03394916: "French horn",
  n03417042: "garbage truck",
  n03425413: "gas pump",
  n03445777: "golf ball",
  n03888257: "parachute",
};

/**
 * Parse `kind:path`, `mnist` or a plain path. An unknown `kind:` is an
 * {@link InvalidArgumentError} naming the `--data` value.
 *
 * @example
 * ```ts
 * import { parseDatasetSpec } from "@efficienttrain/data";
 * console.assert(parseDatasetSpec("cifar10:/d").kind === "cifar10");
 * console.assert(parseDatasetSpec("./imgs").kind === "auto");
 * ```
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  const s = spec.trim();
  if (s === "") {
    throw new InvalidArgumentError({ argument: "--data", value: '""', reason: "empty spec" });
  }
  if (s === "mnist") return { kind: "mnist", path: "" };
  const m = /^([a-z0-9-]+):(.*)$/i.exec(s);
  if (m && !/^[a-z]:[\\/]/i.test(s)) {
    const kind = m[1].toLowerCase();
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError({
        argument: "--data",
        value: spec,
        reason: `unknown dataset kind "${kind}" (use ${KINDS.join(", ")} or a path)`,
      });
    }
    if (m[2] === "" && kind !== "mnist") {
      throw new InvalidArgumentError({ argument: "--data", value: spec, reason: "missing path" });
    }
    return { kind: kind as DatasetSpec["kind"], path: m[2] };
  }
  return { kind: "auto", path: s };
}

async function tarHoldsCifarBatches(path: string): Promise<boolean> {
  for await (const e of readTar(await openTar(path), path)) {
    if (e.type === "file") return /\.bin$/.test(e.name) || /batches\.meta/.test(e.name);
  }
  return false;
}

async function loadCifarArchive(path: string, variant: CifarVariant): Promise<LoadedDataset> {
  const names = cifarBatchNames(variant);
  const found = new Map<string, Uint8Array>();
  for await (const e of readTar(await openTar(path), path)) {
    if (e.type !== "file") continue;
    const base = e.name.split("/").pop()!;
    if (names.train.includes(base) || names.test.includes(base)) found.set(base, e.data!);
  }
  const pick = (list: string[]) =>
    list.map((n) => {
      const bytes = found.get(n);
      if (!bytes) throw new DatasetError({ path, reason: `archive lacks ${n}` });
      return { path: `${path}:${n}`, bytes };
    });
  const train = parseCifarBatches(pick(names.train), variant);
  const test = parseCifarBatches(pick(names.test), variant);
  const { mean, std } = channelStats(train);
  return {
    info: {
      name: variant,
      classes: variant === "cifar10" ? CIFAR10_CLASSES : CIFAR100_CLASSES,
      splits: { train: train.count, test: test.count },
      imageShape: [32, 32, 3],
      mean,
      std,
    },
    train,
    test,
  };
}

async function hasIdx(dir: string): Promise<boolean> {
  for (const f of ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]) {
    if ((await statOrUndefined(`${dir}/${f}`))?.isFile) return true;
  }
  return false;
}

async function loadFolderCached(
  path: string,
  name: string | undefined,
  options: LoadDatasetOptions,
): Promise<DatasetLoadResult> {
  const folderOptions: ImageFolderOptions = {
    name,
    imageSize: options.imageSize,
    skipBadImages: options.skipBadImages,
    limitPerClass: options.limitPerClass,
    holdout: options.holdout,
  };
  const useCache = options.cache !== false && options.limitPerClass === undefined;
  if (!useCache) {
    const ds = await loadImageFolder(path, folderOptions);
    return { ...ds, skipped: ds.skipped.length, skippedFiles: ds.skipped, fromCache: false };
  }
  const root = options.cacheDir ?? defaultCacheDir();
  const fp = await sourceFingerprint(path);
  const key = {
    source: await Deno.realPath(path),
    ...fp,
    options: {
      name: name ?? null,
      imageSize: options.imageSize ?? null,
      skipBadImages: options.skipBadImages ?? false,
      holdout: options.holdout ?? null,
    },
  };
  try {
    const hit = await readCache(root, key);
    if (hit) {
      options.log?.(`cache hit: ${path}`);
      return { ...hit, skippedFiles: hit.skippedFiles ?? [], fromCache: true };
    }
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    options.log?.(`cache unusable, rebuilding (${e.message})`);
  }
  const ds = await loadImageFolder(path, folderOptions);
  try {
    await writeCache(root, key, {
      info: ds.info,
      train: ds.train,
      test: ds.test,
      skipped: ds.skipped.length,
      skippedFiles: ds.skipped,
    });
  } catch (e) {
    // a read-only cache location must not stop training
    options.log?.(`cache not written: ${(e as Error).message}`);
  }
  return { ...ds, skipped: ds.skipped.length, skippedFiles: ds.skipped, fromCache: false };
}

/**
 * Load a dataset from a spec (see module docs). Every bad input is a {@link DatasetError}
 * naming the file; an unknown spec kind is an {@link InvalidArgumentError}.
 *
 * @example
 * ```ts ignore
 * import { loadDataset } from "@efficienttrain/data";
 * const { info, train, test } = await loadDataset("cifar10:../shared/data/cifar10-jpg.tar.gz");
 * console.log(info.classes.length, train.count, test.count); // 10 50000 10000
 * ```
 */
export async function loadDataset(
  spec: string,
  options: LoadDatasetOptions = {},
): Promise<DatasetLoadResult> {
  const parsed = parseDatasetSpec(spec);
  const plain = (ds: LoadedDataset): DatasetLoadResult => ({
    ...ds,
    skipped: 0,
    skippedFiles: [],
    fromCache: false,
  });
  const { kind, path } = parsed;
  if (kind === "mnist") {
    return plain(
      path === ""
        ? await loadMnist()
        : await loadIdxDirectory(path, { name: "mnist", classes: MNIST_CLASSES }),
    );
  }
  if (kind === "fashion-mnist") {
    return plain(
      await loadIdxDirectory(path, { name: "fashion-mnist", classes: FASHION_MNIST_CLASSES }),
    );
  }
  const st = await statOrUndefined(path);
  if (!st) throw new DatasetError({ path, reason: "no such file or folder" });
  if (kind === "cifar10" || kind === "cifar100") {
    if (st.isDirectory && await isCifarBinaryDirectory(path, kind)) {
      return plain(await loadCifarBinary(path, kind));
    }
    if (st.isFile && isTarPath(path) && await tarHoldsCifarBatches(path)) {
      return plain(await loadCifarArchive(path, kind));
    }
    const ds = await loadFolderCached(path, kind, options);
    const want = kind === "cifar10" ? 10 : 100;
    if (ds.info.classes.length !== want) {
      throw new DatasetError({
        path,
        reason: `${kind} needs ${want} class folders, found ${ds.info.classes.length}`,
      });
    }
    return ds;
  }
  if (kind === "imagenette") {
    const ds = await loadFolderCached(path, kind, options);
    const want = Object.keys(IMAGENETTE_CLASSES);
    const found = ds.info.classes;
    if (found.length !== want.length || found.some((c) => !(c in IMAGENETTE_CLASSES))) {
      throw new DatasetError({
        path,
        reason: `imagenette needs the ${want.length} class folders ${want.join(", ")}; ` +
          `found ${found.length}: ${found.slice(0, 12).join(", ")}`,
      });
    }
    return ds;
  }
  if (kind === "folder") return loadFolderCached(path, undefined, options);
  // auto-detection from contents
  if (st.isDirectory) {
    if (await isCifarBinaryDirectory(path, "cifar10")) {
      return plain(await loadCifarBinary(path, "cifar10"));
    }
    if (await isCifarBinaryDirectory(path, "cifar100")) {
      return plain(await loadCifarBinary(path, "cifar100"));
    }
    if (await hasIdx(path)) {
      return plain(await loadIdxDirectory(path, { name: "idx", classes: MNIST_CLASSES }));
    }
    return loadFolderCached(path, undefined, options);
  }
  if (isTarPath(path)) {
    if (await tarHoldsCifarBatches(path)) {
      const variant: CifarVariant = /100/.test(path) ? "cifar100" : "cifar10";
      return plain(await loadCifarArchive(path, variant));
    }
    return loadFolderCached(path, undefined, options);
  }
  throw new DatasetError({
    path,
    reason:
      "cannot tell the dataset kind; use mnist:, fashion-mnist:, cifar10:, cifar100: or folder:",
  });
}

/**
 * Class-per-folder image datasets (the ImageNet / torchvision `ImageFolder` layout), read
 * from a directory or straight from a `.tar` / `.tar.gz` archive:
 * `[top/]{train,test|val}/<class>/<image>`, classes sorted by name, images by path.
 *
 * @module
 */
import { DatasetError } from "./errors.ts";
import { decodeImage } from "./decode.ts";
import { openTar, readTar } from "./tar.ts";
import { type Interpolation, resizeShorterCenterCrop } from "./resize.ts";
import { channelStats, type ImageSet, imageSet, type LoadedDataset } from "./types.ts";

/** Options for {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Dataset name reported in `info` (default: the folder/archive name). */
  readonly name?: string;
  /** Resize every image (shorter side, then centre crop) to `imageSize²`; default: keep,
   * and all images must then share one size. */
  readonly imageSize?: number;
  /** Interpolation for `imageSize` (default bicubic, timm's eval default). */
  readonly interpolation?: Interpolation;
  /** 3 (RGB, default) or 1 (luma). */
  readonly channels?: 1 | 3;
  /** Skip and count corrupt / non-image files instead of failing. */
  readonly skipBadImages?: boolean;
  /** Keep only the first `n` files (archive/sort order) of each class in each split. */
  readonly limitPerClass?: number;
  /** For a layout without split folders: fraction of each class held out as the test split
   * (the last images of each class by path). */
  readonly holdout?: number;
}

/** A file the loader skipped with `skipBadImages`. */
export interface SkippedImage {
  readonly path: string;
  readonly reason: string;
}

/** {@link LoadedDataset} plus the images skipped under `skipBadImages`. */
export interface FolderDataset extends LoadedDataset {
  readonly skipped: readonly SkippedImage[];
}

interface SourceEntry {
  readonly path: string;
  readonly isDirectory: boolean;
  readonly read?: () => Promise<Uint8Array>;
}

const TRAIN_NAMES = new Set(["train"]);
const TEST_NAMES = new Set(["test", "val", "valid", "validation"]);

/**
 * True for names of `.tar`, `.tar.gz` and `.tgz` archives.
 *
 * @example
 * ```ts
 * import { isTarPath } from "@efficienttrain/data";
 * console.assert(isTarPath("a.tar.gz") && !isTarPath("a/"));
 * ```
 */
export function isTarPath(path: string): boolean {
  return /\.(tar|tar\.gz|tgz)$/i.test(path);
}

async function* walkDirectory(root: string, rel = ""): AsyncGenerator<SourceEntry> {
  const dir = rel ? `${root}/${rel}` : root;
  let names: Deno.DirEntry[];
  try {
    names = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    throw new DatasetError({ path: dir, reason: `cannot read folder: ${(e as Error).message}` });
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of names) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      yield { path, isDirectory: true };
      yield* walkDirectory(root, path);
    } else if (e.isFile || e.isSymlink) {
      const full = `${root}/${path}`;
      yield {
        path,
        isDirectory: false,
        read: async () => {
          try {
            return await Deno.readFile(full);
          } catch (e) {
            throw new DatasetError({ path: full, reason: `cannot read: ${(e as Error).message}` });
          }
        },
      };
    }
  }
}

async function* tarEntries(archive: string): AsyncGenerator<SourceEntry> {
  for await (const e of readTar(await openTar(archive), archive)) {
    const path = e.name.replace(/^\.\//, "").replace(/\/+$/, "");
    if (path === "" || path === ".") continue;
    if (e.type === "directory") yield { path, isDirectory: true };
    else if (e.type === "file") {
      const data = e.data!;
      yield { path, isDirectory: false, read: () => Promise.resolve(data) };
    }
  }
}

interface Pending {
  split: "train" | "test";
  className: string;
  path: string;
  data: Uint8Array;
  height: number;
  width: number;
}

/**
 * Split a relative member path into (split, class) or say it is not an image slot. Top-level
 * folders that are not split names are peeled off (`cifar10/train/cat/1.jpg`).
 */
function classify(
  parts: string[],
  splitLayout: boolean,
): { split: "train" | "test"; className: string } | undefined {
  if (splitLayout) {
    const i = parts.findIndex((p) => TRAIN_NAMES.has(p) || TEST_NAMES.has(p));
    if (i < 0 || parts.length < i + 3) return undefined;
    return { split: TRAIN_NAMES.has(parts[i]) ? "train" : "test", className: parts[i + 1] };
  }
  if (parts.length < 2) return undefined;
  return { split: "train", className: parts[0] };
}

function commonTop(paths: string[]): number {
  // number of leading path components shared by all entries that are single folders
  let depth = 0;
  for (;;) {
    let name: string | undefined;
    for (const p of paths) {
      const parts = p.split("/");
      if (parts.length <= depth + 1) return depth;
      if (name === undefined) name = parts[depth];
      else if (parts[depth] !== name) return depth;
    }
    if (name === undefined) return depth;
    if (TRAIN_NAMES.has(name) || TEST_NAMES.has(name)) return depth;
    depth++;
  }
}

/**
 * Load a class-per-folder image dataset from a directory or a tar(.gz) archive. Non-image
 * or corrupt files, empty class folders and unreadable archives are {@link DatasetError}s
 * (corrupt/non-image files are skipped and listed in `skipped` under `skipBadImages`).
 *
 * @example
 * ```ts ignore
 * import { loadImageFolder } from "@efficienttrain/data";
 * const ds = await loadImageFolder("../shared/data/cifar10-jpg.tar.gz", { limitPerClass: 10 });
 * console.log(ds.info.classes, ds.train.count);
 * ```
 */
export async function loadImageFolder(
  source: string,
  options: ImageFolderOptions = {},
): Promise<FolderDataset> {
  const channels = options.channels ?? 3;
  const limit = options.limitPerClass ?? Infinity;
  const tar = isTarPath(source);
  if (!tar) {
    const st = await Deno.stat(source).catch(() => undefined);
    if (!st) throw new DatasetError({ path: source, reason: "no such file or folder" });
    if (!st.isDirectory) {
      throw new DatasetError({
        path: source,
        reason: "not a folder or a .tar/.tar.gz/.tgz archive",
      });
    }
  }
  const label = (rel: string) => (tar ? `${source}:${rel}` : `${source}/${rel}`);
  // a directory listing is cheap, so the layout is known before any image is decoded; an
  // archive is streamed once, so entries are buffered until the layout is known
  const entries: SourceEntry[] = [];
  for await (const e of tar ? tarEntries(source) : walkDirectory(source)) {
    if (e.path.split("/").some((p) => p.startsWith("."))) continue; // .DS_Store, ._x, .git
    entries.push(e);
  }
  const top = commonTop(entries.filter((e) => !e.isDirectory).map((e) => e.path));
  const rel = entries.map((e) => e.path.split("/").slice(top));
  const splitLayout = rel.some((p) => p.length >= 2 && TRAIN_NAMES.has(p[0])) &&
    rel.some((p) => p.length >= 2 && TEST_NAMES.has(p[0]));
  if (!splitLayout && !(options.holdout !== undefined && options.holdout > 0)) {
    const hasTrain = rel.some((p) => TRAIN_NAMES.has(p[0]));
    throw new DatasetError({
      path: source,
      reason: hasTrain
        ? "has train/ but no test/ or val/ folder"
        : "no train/ and test/ (or val/) folders; pass a holdout fraction to split one",
    });
  }
  const classFolders = { train: new Set<string>(), test: new Set<string>() };
  const pending: Pending[] = [];
  const skipped: SkippedImage[] = [];
  const taken = new Map<string, number>();
  const skippedIn = new Map<string, number>();
  let shape: { height: number; width: number } | undefined;
  if (options.imageSize !== undefined) {
    shape = { height: options.imageSize, width: options.imageSize };
  }
  for (let i = 0; i < entries.length; i++) {
    const parts = rel[i];
    const where = classify(parts, splitLayout);
    const e = entries[i];
    if (e.isDirectory) {
      if (splitLayout && parts.length === 2) {
        if (TRAIN_NAMES.has(parts[0])) classFolders.train.add(parts[1]);
        else if (TEST_NAMES.has(parts[0])) classFolders.test.add(parts[1]);
      } else if (!splitLayout && parts.length === 1) classFolders.train.add(parts[0]);
      continue;
    }
    if (where === undefined) continue; // READMEs and other files outside class folders
    classFolders[where.split].add(where.className);
    const key = `${where.split}/${where.className}`;
    const n = taken.get(key) ?? 0;
    if (n >= limit) continue;
    taken.set(key, n + 1);
    const path = label(e.path);
    try {
      const bytes = await e.read!();
      const img = await decodeImage(bytes, path, { channels });
      let data = img.data;
      if (options.imageSize !== undefined) {
        if (img.height !== options.imageSize || img.width !== options.imageSize) {
          data = resizeShorterCenterCrop(data, img, options.imageSize, {
            interpolation: options.interpolation,
          });
        }
      } else if (shape === undefined) {
        shape = { height: img.height, width: img.width };
      } else if (img.height !== shape.height || img.width !== shape.width) {
        throw new DatasetError({
          path,
          reason: `image is ${img.height}×${img.width}, others are ${shape.height}×${shape.width}` +
            " (set imageSize to resize)",
        });
      }
      pending.push({
        split: where.split,
        className: where.className,
        path: e.path,
        data,
        height: shape!.height,
        width: shape!.width,
      });
    } catch (err) {
      if (!(err instanceof DatasetError) || !options.skipBadImages) throw err;
      skipped.push({ path: err.path, reason: err.reason });
      skippedIn.set(key, (skippedIn.get(key) ?? 0) + 1);
    }
  }
  const classes = [...classFolders.train].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  for (const c of classFolders.test) {
    if (!index.has(c)) {
      throw new DatasetError({
        path: label(c),
        reason: `class folder "${c}" exists in the test split but not in train`,
      });
    }
  }
  if (classes.length === 0) throw new DatasetError({ path: source, reason: "no class folders" });
  const counts = new Map<string, number>();
  for (const p of pending) {
    counts.set(`${p.split}/${p.className}`, (counts.get(`${p.split}/${p.className}`) ?? 0) + 1);
  }
  const splitsToCheck: ("train" | "test")[] = splitLayout ? ["train", "test"] : ["train"];
  for (const s of splitsToCheck) {
    for (const c of classFolders[s]) {
      if (!counts.get(`${s}/${c}`)) {
        const bad = skippedIn.get(`${s}/${c}`) ?? 0;
        throw new DatasetError({
          path: label(`${s === "train" ? "train" : "test"}/${c}`),
          reason: bad > 0
            ? `no usable image: all ${bad} files in this class folder were skipped as unreadable`
            : "empty class folder",
        });
      }
    }
  }
  pending.sort((a, b) =>
    index.get(a.className)! - index.get(b.className)! ||
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
  let trainItems = pending.filter((p) => p.split === "train");
  let testItems = pending.filter((p) => p.split === "test");
  if (!splitLayout) {
    const frac = options.holdout!;
    const keep: Pending[] = [], held: Pending[] = [];
    for (const c of classes) {
      const items = trainItems.filter((p) => p.className === c);
      const nTest = Math.min(items.length - 1, Math.round(items.length * frac));
      keep.push(...items.slice(0, items.length - nTest));
      held.push(...items.slice(items.length - nTest));
    }
    trainItems = keep;
    testItems = held;
  }
  const h = shape?.height ?? 0, w = shape?.width ?? 0;
  const assemble = (items: Pending[]): ImageSet => {
    const per = h * w * channels;
    const images = new Uint8Array(items.length * per);
    const labels = new Int32Array(items.length);
    items.forEach((p, i) => {
      images.set(p.data, i * per);
      labels[i] = index.get(p.className)!;
    });
    return imageSet(images, labels, { height: h, width: w, channels });
  };
  const train = assemble(trainItems);
  const test = assemble(testItems);
  const { mean, std } = channelStats(train);
  const base = source.replace(/\/+$/, "").split("/").pop()!.replace(/\.(tar|tar\.gz|tgz)$/i, "");
  return {
    info: {
      name: options.name ?? base,
      classes,
      splits: { train: train.count, test: test.count },
      imageShape: [h, w, channels],
      mean,
      std,
    },
    train,
    test,
    skipped,
  };
}

/**
 * CIFAR-10 / CIFAR-100 binary batches (the "binary version" of the official release):
 * fixed-size records of label byte(s) then a 32×32×3 image stored channel-planar (CHW),
 * converted here to the package's NHWC layout.
 *
 * @module
 */
import { DatasetError } from "./errors.ts";
import { maybeGunzip, readBytes, statOrUndefined } from "./io.ts";
import { channelStats, type ImageSet, imageSet, type LoadedDataset } from "./types.ts";

/** Which CIFAR release a batch file belongs to. */
export type CifarVariant = "cifar10" | "cifar100";

const PIXELS = 32 * 32;
const IMAGE_BYTES = PIXELS * 3;

/**
 * Class names of CIFAR-10 in label order.
 *
 * @example
 * ```ts
 * import { CIFAR10_CLASSES } from "@efficienttrain/data";
 * console.assert(CIFAR10_CLASSES[3] === "cat");
 * ```
 */
export const CIFAR10_CLASSES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/**
 * Fine class names of CIFAR-100 in label order.
 *
 * @example
 * ```ts
 * import { CIFAR100_CLASSES } from "@efficienttrain/data";
 * console.assert(CIFAR100_CLASSES.length === 100);
 * ```
 */
export const CIFAR100_CLASSES: readonly string[] = (
  "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus " +
  "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch " +
  "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo " +
  "keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse " +
  "mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy " +
  "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper " +
  "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television " +
  "tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split(" ");

/**
 * Parse one or more CIFAR binary batch buffers into an {@link ImageSet}. CIFAR-100 records
 * carry (coarse, fine) labels; the fine label is used. A size that is not a whole number of
 * records, or a label outside the class range, is a {@link DatasetError} naming the file.
 *
 * @example
 * ```ts
 * import { parseCifarBatches } from "@efficienttrain/data";
 * const rec = new Uint8Array(1 + 3072);
 * rec[0] = 7;
 * const set = parseCifarBatches([{ path: "b.bin", bytes: rec }], "cifar10");
 * console.assert(set.count === 1 && set.labels[0] === 7 && set.height === 32);
 * ```
 */
export function parseCifarBatches(
  files: readonly { path: string; bytes: Uint8Array }[],
  variant: CifarVariant,
): ImageSet {
  const labelBytes = variant === "cifar10" ? 1 : 2;
  const numClasses = variant === "cifar10" ? 10 : 100;
  const record = labelBytes + IMAGE_BYTES;
  let total = 0;
  for (const { path, bytes } of files) {
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw new DatasetError({
        path,
        reason: `size ${bytes.length} is not a multiple of the ${variant} record size ${record}` +
          (bytes.length % record !== 0 ? " (truncated or wrong variant)" : ""),
      });
    }
    total += bytes.length / record;
  }
  const images = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Int32Array(total);
  let n = 0;
  for (const { path, bytes } of files) {
    const count = bytes.length / record;
    for (let r = 0; r < count; r++, n++) {
      const off = r * record;
      const label = bytes[off + labelBytes - 1];
      if (label >= numClasses) {
        throw new DatasetError({
          path,
          reason: `record ${r}: label ${label} outside 0..${numClasses - 1} (wrong variant?)`,
        });
      }
      labels[n] = label;
      const src = off + labelBytes;
      const dst = n * IMAGE_BYTES;
      for (let p = 0; p < PIXELS; p++) {
        images[dst + 3 * p] = bytes[src + p];
        images[dst + 3 * p + 1] = bytes[src + PIXELS + p];
        images[dst + 3 * p + 2] = bytes[src + 2 * PIXELS + p];
      }
    }
  }
  return imageSet(images, labels, { height: 32, width: 32, channels: 3 });
}

/**
 * File names of each split in the official binary releases.
 *
 * @example
 * ```ts
 * import { cifarBatchNames } from "@efficienttrain/data";
 * console.assert(cifarBatchNames("cifar10").train.length === 5);
 * ```
 */
export function cifarBatchNames(variant: CifarVariant): { train: string[]; test: string[] } {
  return variant === "cifar10"
    ? { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ["test_batch.bin"] }
    : { train: ["train.bin"], test: ["test.bin"] };
}

async function batchDirectory(dir: string, variant: CifarVariant): Promise<string | undefined> {
  const first = cifarBatchNames(variant).test[0];
  const nested = variant === "cifar10" ? "cifar-10-batches-bin" : "cifar-100-binary";
  for (const d of [dir, `${dir}/${nested}`]) {
    if ((await statOrUndefined(`${d}/${first}`))?.isFile) return d;
  }
  return undefined;
}

/**
 * True when `dir` (or its official sub-folder) holds the binary batches of `variant`.
 *
 * @example
 * ```ts
 * import { isCifarBinaryDirectory } from "@efficienttrain/data";
 * console.assert(!(await isCifarBinaryDirectory(await Deno.makeTempDir(), "cifar10")));
 * ```
 */
export async function isCifarBinaryDirectory(
  dir: string,
  variant: CifarVariant,
): Promise<boolean> {
  return (await batchDirectory(dir, variant)) !== undefined;
}

async function classNames(dir: string, variant: CifarVariant): Promise<readonly string[]> {
  const file = variant === "cifar10" ? "batches.meta.txt" : "fine_label_names.txt";
  const fallback = variant === "cifar10" ? CIFAR10_CLASSES : CIFAR100_CLASSES;
  try {
    const names = (await Deno.readTextFile(`${dir}/${file}`)).split(/\r?\n/).map((s) => s.trim())
      .filter((s) => s.length > 0);
    return names.length === fallback.length ? names : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Load the CIFAR binary release from a directory (`cifar-10-batches-bin/` or
 * `cifar-100-binary/`, or their parent). Batch files may be gzipped.
 *
 * @example
 * ```ts ignore
 * import { loadCifarBinary } from "@efficienttrain/data";
 * const { info } = await loadCifarBinary("data/cifar-10-batches-bin", "cifar10");
 * ```
 */
export async function loadCifarBinary(
  dir: string,
  variant: CifarVariant,
): Promise<LoadedDataset> {
  const root = await batchDirectory(dir, variant);
  if (root === undefined) {
    throw new DatasetError({
      path: dir,
      reason: `no ${variant} binary batches (${cifarBatchNames(variant).test[0]}) found`,
    });
  }
  const names = cifarBatchNames(variant);
  const read = (list: string[]) =>
    Promise.all(list.map(async (name) => {
      const path = `${root}/${name}`;
      return { path, bytes: await maybeGunzip(await readBytes(path), path) };
    }));
  const train = parseCifarBatches(await read(names.train), variant);
  const test = parseCifarBatches(await read(names.test), variant);
  const { mean, std } = channelStats(train);
  return {
    info: {
      name: variant,
      classes: await classNames(root, variant),
      splits: { train: train.count, test: test.count },
      imageShape: [32, 32, 3],
      mean,
      std,
    },
    train,
    test,
  };
}

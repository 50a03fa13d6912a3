/**
 * File helpers shared by the dataset readers: whole-file reads and gzip detection, both
 * turning failures into {@link DatasetError}s that name the file.
 *
 * @module
 */
import { DatasetError } from "./errors.ts";

/**
 * Read a whole file, mapping "not found"/permission errors to a {@link DatasetError}.
 *
 * @example
 * ```ts
 * import { readBytes } from "@efficienttrain/data";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/a.bin`, new Uint8Array([1, 2]));
 * console.assert((await readBytes(`${dir}/a.bin`)).length === 2);
 * ```
 */
export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new DatasetError({ path, reason: `cannot read: ${(e as Error).message}` });
  }
}

/**
 * True when `bytes` starts with the gzip magic 1f 8b.
 *
 * @example
 * ```ts
 * import { isGzip } from "@efficienttrain/data";
 * console.assert(isGzip(new Uint8Array([0x1f, 0x8b, 8])) && !isGzip(new Uint8Array([0])));
 * ```
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzip `bytes` if they carry the gzip magic (whatever the file name says), else return
 * them unchanged. A corrupt or truncated stream is a {@link DatasetError}.
 *
 * @example
 * ```ts
 * import { maybeGunzip } from "@efficienttrain/data";
 * const raw = new Uint8Array([1, 2, 3]);
 * console.assert((await maybeGunzip(raw, "x")) === raw);
 * ```
 */
export async function maybeGunzip(bytes: Uint8Array, path: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DatasetError({ path, reason: `corrupt gzip stream: ${(e as Error).message}` });
  }
}

/**
 * `stat` that answers `undefined` for a missing path instead of throwing.
 *
 * @example
 * ```ts
 * import { statOrUndefined } from "@efficienttrain/data";
 * console.assert((await statOrUndefined("/no/such/path")) === undefined);
 * ```
 */
export async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}

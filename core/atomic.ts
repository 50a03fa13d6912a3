/**
 * Atomic file writes: write beside the target, then rename over it. A crash at any moment
 * leaves either the old file or the new one, never a torn one.
 *
 * @module
 */

/**
 * Write `data` to `path` atomically (temp file in the same directory, fsync, rename). With
 * `keepPrevious`, the file being replaced is first renamed to that path.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "@efficienttrain/core";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, new TextEncoder().encode("{}"));
 * console.assert(await Deno.readTextFile(`${dir}/a.json`) === "{}");
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: { keepPrevious?: string } = {},
): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < data.length) written += await file.write(data.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    // The old file moves aside only once the new one is complete on disk: a crash between the
    // two renames leaves the previous copy, which readers fall back to.
    if (options.keepPrevious !== undefined) {
      await Deno.rename(path, options.keepPrevious).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Write text atomically (UTF-8).
 *
 * @example
 * ```ts
 * import { writeTextFileAtomic } from "@efficienttrain/core";
 * const dir = await Deno.makeTempDir();
 * await writeTextFileAtomic(`${dir}/b.txt`, "hi");
 * console.assert(await Deno.readTextFile(`${dir}/b.txt`) === "hi");
 * ```
 */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Whether a path exists (any kind of entry). Other errors than "not found" propagate.
 *
 * @example
 * ```ts
 * import { pathExists } from "@efficienttrain/core";
 * console.assert(await pathExists(Deno.cwd()));
 * console.assert(!(await pathExists(`${Deno.cwd()}/no/such/file`)));
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Helpers that build small datasets on disk for the data tests: PNG class folders, IDX and
 * CIFAR binary files, tar archives.
 *
 * @module
 */
import encodePng from "@jsquash/png/encode.js";
import { initImageCodecs } from "@efficienttrain/data";

/** The shared CIFAR-10 JPEG archive, or undefined when this checkout has none. */
export const CIFAR_TAR = "../shared/data/cifar10-jpg.tar.gz";
export const hasCifarTar: boolean = (() => {
  try {
    return Deno.statSync(CIFAR_TAR).isFile;
  } catch {
    return false;
  }
})();

/** A deterministic RGB test pattern. */
export function pattern(h: number, w: number, seed: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + seed * 101) % 256;
  return out;
}

/** Encode RGB HWC pixels as PNG bytes. */
export async function png(rgb: Uint8Array, h: number, w: number): Promise<Uint8Array> {
  await initImageCodecs();
  const data = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    data[4 * p] = rgb[3 * p];
    data[4 * p + 1] = rgb[3 * p + 1];
    data[4 * p + 2] = rgb[3 * p + 2];
    data[4 * p + 3] = 255;
  }
  return new Uint8Array(
    await encodePng({ data, width: w, height: h, colorSpace: "srgb" } as ImageData),
  );
}

/** Write `{split}/{class}/{i}.png` with `perClass` images of `size²` each. */
export async function makeFolder(
  root: string,
  options: { classes: string[]; perClass: number; size: number; splits?: string[] },
): Promise<void> {
  for (const split of options.splits ?? ["train", "test"]) {
    for (const [ci, c] of options.classes.entries()) {
      await Deno.mkdir(`${root}/${split}/${c}`, { recursive: true });
      for (let i = 0; i < options.perClass; i++) {
        const bytes = await png(
          pattern(options.size, options.size, ci * 100 + i),
          options.size,
          options.size,
        );
        await Deno.writeFile(`${root}/${split}/${c}/${String(i).padStart(3, "0")}.png`, bytes);
      }
    }
  }
}

/** Build an IDX file (type ubyte). */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 8;
  out[3] = dims.length;
  const v = new DataView(out.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** gzip bytes with the platform's CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** `tar -c[z]f archive -C dir .` with the system tar. */
export async function tarDir(dir: string, archive: string, gz: boolean): Promise<void> {
  const { code, stderr } = await new Deno.Command("tar", {
    args: [gz ? "-czf" : "-cf", archive, "-C", dir, "."],
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
}

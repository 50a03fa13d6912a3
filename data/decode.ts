/**
 * JPEG and PNG decoding with the maintained wasm codecs `@jsquash/jpeg` (mozjpeg) and
 * `@jsquash/png` (squoosh). Their wasm is compiled from the files inside the npm packages on
 * disk, so decoding never touches the network. The format is detected from magic bytes,
 * not file names.
 *
 * @module
 */
import decodeJpegWasm, { init as initJpeg } from "@jsquash/jpeg/decode.js";
import decodePngWasm, { init as initPng } from "@jsquash/png/decode.js";
import { DatasetError } from "./errors.ts";

/** A decoded image, HWC uint8 with the requested channel count. */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** Image container formats recognised by {@link sniffImageFormat}. */
export type ImageFormat = "jpeg" | "png";

/**
 * Identify JPEG (FF D8 FF) or PNG (89 50 4E 47 0D 0A 1A 0A) by magic bytes.
 *
 * @example
 * ```ts
 * import { sniffImageFormat } from "@efficienttrain/data";
 * console.assert(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])) === "jpeg");
 * console.assert(sniffImageFormat(new TextEncoder().encode("hello")) === undefined);
 * ```
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  return undefined;
}

let ready: Promise<void> | undefined;

async function compileFrom(specifierUrl: string, relative: string): Promise<WebAssembly.Module> {
  const url = new URL(relative, specifierUrl);
  return await WebAssembly.compile(await Deno.readFile(url));
}

/**
 * Load both codecs' wasm from the npm packages on disk (idempotent). Called lazily by
 * {@link decodeImage}; call it up front to pay the compile cost outside a timed region.
 *
 * @example
 * ```ts
 * import { initImageCodecs } from "@efficienttrain/data";
 * await initImageCodecs();
 * ```
 */
export function initImageCodecs(): Promise<void> {
  ready ??= (async () => {
    const [jpeg, png] = await Promise.all([
      compileFrom(import.meta.resolve("@jsquash/jpeg/decode.js"), "./codec/dec/mozjpeg_dec.wasm"),
      compileFrom(import.meta.resolve("@jsquash/png/decode.js"), "./codec/pkg/squoosh_png_bg.wasm"),
    ]);
    // mozjpeg reports corrupt data on stderr; the error we throw already says it
    // the implementation takes (module, overrides); its .d.ts only declares the overrides
    const init = initJpeg as unknown as (m: WebAssembly.Module, o: object) => Promise<void>;
    await init(jpeg, { print: () => {}, printErr: () => {} });
    await initPng(png);
  })();
  return ready;
}

/**
 * What a codec threw, as text: the wasm codecs throw Errors, plain objects or numbers
 * (an emscripten abort), and `String()` of an object says only "[object Object]".
 */
function decoderFailure(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  if (typeof e === "string" && e) return e;
  if (e && typeof e === "object") {
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && message) return message;
    try {
      const json = JSON.stringify(e);
      if (json && json !== "{}") return json;
    } catch {
      // cyclic: fall through
    }
  }
  return "truncated or invalid data: the decoder gave up";
}

function fromRgba(
  rgba: ArrayLike<number>,
  pixels: number,
  channels: number,
): Uint8Array {
  const out = new Uint8Array(pixels * channels);
  if (channels === 3) {
    for (let p = 0, q = 0; p < pixels; p++, q += 3) {
      const s = 4 * p;
      out[q] = rgba[s];
      out[q + 1] = rgba[s + 1];
      out[q + 2] = rgba[s + 2];
    }
  } else if (channels === 1) {
    // PIL's "L" conversion: ITU-R 601-2 luma in 16-bit fixed point
    for (let p = 0; p < pixels; p++) {
      const s = 4 * p;
      out[p] = (rgba[s] * 19595 + rgba[s + 1] * 38470 + rgba[s + 2] * 7471 + 0x8000) >>> 16;
    }
  } else {
    for (let i = 0; i < pixels * 4; i++) out[i] = rgba[i];
  }
  return out;
}

/**
 * Decode a JPEG or PNG file's bytes to HWC uint8 with 1 (luma), 3 (RGB) or 4 (RGBA)
 * channels. Anything else, or corrupt data, is a {@link DatasetError} naming `path`.
 *
 * @example
 * ```ts
 * import { decodeImage, DatasetError } from "@efficienttrain/data";
 * try {
 *   await decodeImage(new TextEncoder().encode("not an image"), "notes.txt");
 * } catch (e) {
 *   console.assert(e instanceof DatasetError);
 * }
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  path: string,
  options: { channels?: 1 | 3 | 4 } = {},
): Promise<DecodedImage> {
  const channels = options.channels ?? 3;
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new DatasetError({ path, reason: "not a JPEG or PNG image (unknown magic bytes)" });
  }
  await initImageCodecs();
  // the codecs take an ArrayBuffer; copy only when `bytes` is a view into a larger buffer
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer;
  let img: { data: ArrayLike<number>; width: number; height: number };
  try {
    img = format === "jpeg" ? await decodeJpegWasm(buffer) : await decodePngWasm(buffer);
  } catch (e) {
    throw new DatasetError({
      path,
      reason: `corrupt ${format.toUpperCase()} (${decoderFailure(e)})`,
    });
  }
  if (!img || !(img.width > 0) || !(img.height > 0)) {
    throw new DatasetError({ path, reason: `corrupt ${format.toUpperCase()} (empty image)` });
  }
  const pixels = img.width * img.height;
  return {
    data: fromRgba(img.data, pixels, channels),
    height: img.height,
    width: img.width,
    channels,
  };
}

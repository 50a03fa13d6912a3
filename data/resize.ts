/**
 * Resampling of uint8 HWC images with PIL's algorithm (separable convolution whose kernel
 * widens with the downscale factor, i.e. antialiased), so crops and resizes match what
 * timm's PIL pipeline produces up to rounding.
 *
 * @module
 */
import { cubicKernel } from "@efficienttrain/core";
import { type ImageSet, imageSet } from "./types.ts";

/** Resampling filters (PIL's BILINEAR, BICUBIC with a = −0.5, NEAREST). */
export type Interpolation = "bilinear" | "bicubic" | "nearest";

/** Height, width and channels of an HWC buffer. */
export interface HWC {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** An integer rectangle of the source image. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

function bilinear(x: number): number {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

/** PIL's BICUBIC (a = −0.5). */
function bicubic(x: number): number {
  return cubicKernel(x, -0.5);
}

interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  ksize: number;
}

/** PIL `precompute_coeffs`, restricted to the source range [in0, in1). */
function coeffs(in0: number, in1: number, outSize: number, interp: Interpolation): Coeffs {
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  const scale = (in1 - in0) / outSize;
  if (interp === "nearest") {
    const weights = new Float32Array(outSize).fill(1);
    for (let i = 0; i < outSize; i++) {
      start[i] = Math.min(in1 - 1, in0 + Math.floor((i + 0.5) * scale));
      count[i] = 1;
    }
    return { start, count, weights, ksize: 1 };
  }
  const filter = interp === "bicubic" ? bicubic : bilinear;
  const filterSupport = interp === "bicubic" ? 2 : 1;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const weights = new Float32Array(outSize * ksize);
  const ss = 1 / filterScale;
  for (let i = 0; i < outSize; i++) {
    const center = in0 + (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), in0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), in1) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * ss);
      weights[i * ksize + x] = w;
      total += w;
    }
    if (total !== 0) { for (let x = 0; x < xmax; x++) weights[i * ksize + x] /= total; }
    start[i] = xmin;
    count[i] = xmax;
  }
  return { start, count, weights, ksize };
}

/**
 * Resize the `box` region of an HWC uint8 image to `outHeight × outWidth` (whole image when
 * `box` is omitted). Equivalent to crop-then-resize with PIL at the given interpolation.
 *
 * @example
 * ```ts
 * import { resizeImage } from "@efficienttrain/data";
 * const src = new Uint8Array(4 * 4).fill(100);
 * const out = resizeImage(src, { height: 4, width: 4, channels: 1 }, { outHeight: 2, outWidth: 2 });
 * console.assert(out.length === 4 && out[0] === 100);
 * ```
 */
export function resizeImage(
  src: Uint8Array,
  shape: HWC,
  options: { outHeight: number; outWidth: number; box?: Box; interpolation?: Interpolation },
): Uint8Array {
  const { outHeight: oh, outWidth: ow } = options;
  const interp = options.interpolation ?? "bilinear";
  const c = shape.channels, sw = shape.width;
  const box = options.box ?? { top: 0, left: 0, height: shape.height, width: shape.width };
  const out = new Uint8Array(oh * ow * c);
  if (box.height === oh && box.width === ow) {
    // pure crop: no resampling needed
    for (let y = 0; y < oh; y++) {
      const s = ((box.top + y) * sw + box.left) * c;
      out.set(src.subarray(s, s + ow * c), y * ow * c);
    }
    return out;
  }
  const cx = coeffs(box.left, box.left + box.width, ow, interp);
  const cy = coeffs(box.top, box.top + box.height, oh, interp);
  // horizontal pass over only the rows the vertical pass reads
  const rowLo = box.top, rows = box.height;
  const stride = ow * c;
  const tmp = new Float32Array(rows * stride);
  const { start: xs, count: xn, weights: xw, ksize: xk } = cx;
  for (let y = 0; y < rows; y++) {
    const srow = (rowLo + y) * sw * c;
    const trow = y * stride;
    if (c === 3) {
      for (let x = 0; x < ow; x++) {
        let a0 = 0, a1 = 0, a2 = 0;
        const n = xn[x], wo = x * xk;
        let p = srow + xs[x] * 3;
        for (let t = 0; t < n; t++, p += 3) {
          const wt = xw[wo + t];
          a0 += wt * src[p];
          a1 += wt * src[p + 1];
          a2 += wt * src[p + 2];
        }
        const o = trow + x * 3;
        tmp[o] = a0;
        tmp[o + 1] = a1;
        tmp[o + 2] = a2;
      }
    } else {
      for (let x = 0; x < ow; x++) {
        const s0 = xs[x], n = xn[x], wo = x * xk;
        for (let k = 0; k < c; k++) {
          let acc = 0;
          for (let t = 0; t < n; t++) acc += xw[wo + t] * src[srow + (s0 + t) * c + k];
          tmp[trow + x * c + k] = acc;
        }
      }
    }
  }
  // vertical pass row by row: contiguous reads of whole tmp rows
  const acc = new Float32Array(stride);
  for (let y = 0; y < oh; y++) {
    const s0 = cy.start[y] - rowLo, n = cy.count[y], wo = y * cy.ksize;
    acc.fill(0);
    for (let t = 0; t < n; t++) {
      const wt = cy.weights[wo + t];
      const r = (s0 + t) * stride;
      for (let i = 0; i < stride; i++) acc[i] += wt * tmp[r + i];
    }
    const orow = y * stride;
    for (let i = 0; i < stride; i++) {
      const v = Math.round(acc[i]);
      out[orow + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/**
 * Resize so the shorter side is `size`, then take the centred `size × size` crop (timm's
 * eval transform at crop_pct 1). Used to bring folder images of mixed sizes to one shape.
 *
 * @example
 * ```ts
 * import { resizeShorterCenterCrop } from "@efficienttrain/data";
 * const out = resizeShorterCenterCrop(new Uint8Array(4 * 8 * 3), { height: 4, width: 8, channels: 3 }, 2);
 * console.assert(out.length === 2 * 2 * 3);
 * ```
 */
export function resizeShorterCenterCrop(
  src: Uint8Array,
  shape: HWC,
  size: number,
  options: { interpolation?: Interpolation } = {},
): Uint8Array {
  const { height: h, width: w } = shape;
  // crop the source to the aspect of the target first, then one resampling pass
  const side = Math.min(h, w);
  const top = Math.floor((h - side) / 2), left = Math.floor((w - side) / 2);
  return resizeImage(src, shape, {
    outHeight: size,
    outWidth: size,
    box: { top, left, height: side, width: side },
    interpolation: options.interpolation ?? "bicubic",
  });
}

/** Python's `round`, which torchvision's `CenterCrop` uses for its offsets. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  return v - f !== 0.5 ? Math.round(v) : f % 2 === 0 ? f : f + 1;
}

/**
 * timm's eval transform: resize the shorter side to `floor(size / cropPct)` (the longer side
 * in proportion, truncated as torchvision does), then take the centred `size × size` crop
 * (offsets rounded half to even, as `CenterCrop`'s Python `round`). `cropPct` 0.875 is timm's default.
 *
 * @example
 * ```ts
 * import { evalCrop } from "@efficienttrain/data";
 * const out = evalCrop(new Uint8Array(224 * 224 * 3), { height: 224, width: 224, channels: 3 }, 128);
 * console.assert(out.length === 128 * 128 * 3);
 * ```
 */
export function evalCrop(
  src: Uint8Array,
  shape: HWC,
  size: number,
  options: { cropPct?: number; interpolation?: Interpolation } = {},
): Uint8Array {
  const cropPct = options.cropPct ?? 0.875;
  if (!(cropPct > 0 && cropPct <= 1)) {
    throw new RangeError(`evalCrop: cropPct must be in (0, 1], got ${cropPct}`);
  }
  const { height: h, width: w, channels } = shape;
  const scale = Math.floor(size / cropPct);
  const short = Math.min(h, w);
  const outHeight = h === short ? scale : Math.floor((scale * h) / short);
  const outWidth = w === short ? scale : Math.floor((scale * w) / short);
  const resized = resizeImage(src, shape, {
    outHeight,
    outWidth,
    interpolation: options.interpolation ?? "bicubic",
  });
  const top = roundHalfEven((outHeight - size) / 2), left = roundHalfEven((outWidth - size) / 2);
  // The centre crop is a copy of rows, not a second resampling pass.
  const rowBytes = size * channels;
  const out = new Uint8Array(size * rowBytes);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * outWidth + left) * channels;
    out.set(resized.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}

/**
 * {@link evalCrop} over a whole split: the test images a run at `size` evaluates on, made
 * once when the stored images are larger than the run's size.
 *
 * @example
 * ```ts
 * import { evalCropSet, imageSet } from "@efficienttrain/data";
 * const s = imageSet(new Uint8Array(2 * 16 * 16 * 3), new Int32Array([0, 1]), { height: 16, width: 16, channels: 3 });
 * console.assert(evalCropSet(s, 8).height === 8);
 * ```
 */
export function evalCropSet(
  set: ImageSet,
  size: number,
  options: { cropPct?: number; interpolation?: Interpolation } = {},
): ImageSet {
  const shape = { height: set.height, width: set.width, channels: set.channels };
  const pixels = set.height * set.width * set.channels, outPixels = size * size * set.channels;
  const out = new Uint8Array(set.count * outPixels);
  for (let i = 0; i < set.count; i++) {
    const image = set.images.subarray(i * pixels, (i + 1) * pixels);
    out.set(evalCrop(image, shape, size, options), i * outPixels);
  }
  return imageSet(out, set.labels, { height: size, width: size, channels: set.channels });
}

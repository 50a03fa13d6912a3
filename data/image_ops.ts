/**
 * Pixel operations on uint8 HWC images with PIL's semantics (the library timm's
 * augmentations run on): affine warps with PIL's sampling rules, point LUTs, histogram ops
 * and `ImageEnhance` blends. Each returns a new buffer.
 *
 * @module
 */
import { cubicKernel } from "@efficienttrain/core";
import type { HWC } from "./resize.ts";

/** Interpolation for affine warps (PIL BILINEAR / BICUBIC / NEAREST). */
export type WarpInterpolation = "bilinear" | "bicubic" | "nearest";

/** PIL's BICUBIC (a = −0.5). */
function cubicWeight(x: number): number {
  return cubicKernel(x, -0.5);
}

/**
 * PIL `Image.transform(size, AFFINE, (a, b, c, d, e, f))`: output pixel (x, y) samples the
 * input at (a·x' + b·y' + c, d·x' + e·y' + f) with x' = x + 0.5 (pixel centres); samples
 * outside the image take `fill`.
 *
 * @example
 * ```ts
 * import { affine } from "@efficienttrain/data";
 * const img = new Uint8Array([1, 2, 3, 4]);
 * const same = affine(img, { height: 2, width: 2, channels: 1 }, [1, 0, 0, 0, 1, 0], { fill: [0] });
 * console.assert(same.join() === "1,2,3,4");
 * ```
 */
export function affine(
  src: Uint8Array,
  shape: HWC,
  matrix: readonly [number, number, number, number, number, number],
  options: { fill: readonly number[]; interpolation?: WarpInterpolation },
): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const [a, b, cc, d, e, f] = matrix;
  const interp = options.interpolation ?? "bilinear";
  const out = new Uint8Array(h * w * c);
  const fill = Array.from({ length: c }, (_, k) => options.fill[k] ?? options.fill[0] ?? 0);
  const rowStride = w * c;
  // Bicubic weights depend only on the fractional offsets, which repeat along a row or column
  // for translations and shears: recomputed only when an offset changes (same inputs, same bits).
  let lastDx = NaN, lastDy = NaN;
  let wx0 = 0, wx1 = 0, wx2 = 0, wx3 = 0, wy0 = 0, wy1 = 0, wy2 = 0, wy3 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      const xin = a * (x + 0.5) + b * (y + 0.5) + cc;
      const yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        for (let k = 0; k < c; k++) out[o + k] = fill[k];
        continue;
      }
      if (interp === "nearest") {
        const s = (Math.floor(yin) * w + Math.floor(xin)) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k];
        continue;
      }
      const xs = xin - 0.5, ys = yin - 0.5;
      const x0 = Math.floor(xs), y0 = Math.floor(ys);
      const dx = xs - x0, dy = ys - y0;
      if (interp === "bilinear") {
        const xa = Math.min(Math.max(x0, 0), w - 1), xb = Math.min(Math.max(x0 + 1, 0), w - 1);
        const ya = Math.min(Math.max(y0, 0), h - 1), yb = Math.min(Math.max(y0 + 1, 0), h - 1);
        const pa = ya * rowStride, pb = yb * rowStride;
        const qa = xa * c, qb = xb * c;
        const ex = 1 - dx, ey = 1 - dy;
        for (let k = 0; k < c; k++) {
          const v1 = src[pa + qa + k] * ex + src[pa + qb + k] * dx;
          const v2 = src[pb + qa + k] * ex + src[pb + qb + k] * dx;
          const v = Math.round(v1 * ey + v2 * dy);
          out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
        continue;
      }
      // `dx - 1 + 1` is not `dx` in floating point: the weights keep the arguments the warp's
      // runs of record were computed with.
      if (dx !== lastDx) {
        lastDx = dx;
        wx0 = cubicWeight(dx + 1);
        wx1 = cubicWeight(dx - 1 + 1);
        wx2 = cubicWeight(dx - 2 + 1);
        wx3 = cubicWeight(dx - 3 + 1);
      }
      if (dy !== lastDy) {
        lastDy = dy;
        wy0 = cubicWeight(dy + 1);
        wy1 = cubicWeight(dy - 1 + 1);
        wy2 = cubicWeight(dy - 2 + 1);
        wy3 = cubicWeight(dy - 3 + 1);
      }
      const t0 = Math.min(Math.max(x0 - 1, 0), w - 1) * c;
      const t1 = Math.min(Math.max(x0, 0), w - 1) * c;
      const t2 = Math.min(Math.max(x0 + 1, 0), w - 1) * c;
      const t3 = Math.min(Math.max(x0 + 2, 0), w - 1) * c;
      const r0 = Math.min(Math.max(y0 - 1, 0), h - 1) * rowStride;
      const r1 = Math.min(Math.max(y0, 0), h - 1) * rowStride;
      const r2 = Math.min(Math.max(y0 + 1, 0), h - 1) * rowStride;
      const r3 = Math.min(Math.max(y0 + 2, 0), h - 1) * rowStride;
      for (let k = 0; k < c; k++) {
        // Left to right, as the weighted sums were always accumulated.
        const p0 = r0 + k, p1 = r1 + k, p2 = r2 + k, p3 = r3 + k;
        const row0 = 0 + wx0 * src[p0 + t0] + wx1 * src[p0 + t1] + wx2 * src[p0 + t2] +
          wx3 * src[p0 + t3];
        const row1 = 0 + wx0 * src[p1 + t0] + wx1 * src[p1 + t1] + wx2 * src[p1 + t2] +
          wx3 * src[p1 + t3];
        const row2 = 0 + wx0 * src[p2 + t0] + wx1 * src[p2 + t1] + wx2 * src[p2 + t2] +
          wx3 * src[p2 + t3];
        const row3 = 0 + wx0 * src[p3 + t0] + wx1 * src[p3 + t1] + wx2 * src[p3 + t2] +
          wx3 * src[p3 + t3];
        const v = Math.round(0 + wy0 * row0 + wy1 * row1 + wy2 * row2 + wy3 * row3);
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

/**
 * PIL `rotate(degrees)` about the image centre, counter-clockwise, same canvas size.
 *
 * @example
 * ```ts
 * import { rotate } from "@efficienttrain/data";
 * const img = new Uint8Array([1, 2, 3, 4]);
 * console.assert(rotate(img, { height: 2, width: 2, channels: 1 }, 0, { fill: [0] }).join() === "1,2,3,4");
 * ```
 */
export function rotate(
  src: Uint8Array,
  shape: HWC,
  degrees: number,
  options: { fill: readonly number[]; interpolation?: WarpInterpolation },
): Uint8Array {
  const cx = shape.width / 2, cy = shape.height / 2;
  const angle = -((degrees % 360) * Math.PI) / 180;
  // PIL rounds the matrix to 15 decimals so multiples of 90° are exact
  const r = (v: number) => Math.round(v * 1e15) / 1e15;
  const a = r(Math.cos(angle)),
    b = r(Math.sin(angle)),
    d = r(-Math.sin(angle)),
    e = r(Math.cos(angle));
  const c = a * -cx + b * -cy + cx;
  const f = d * -cx + e * -cy + cy;
  return affine(src, shape, [a, b, c, d, e, f], options);
}

/**
 * Apply a 256-entry lookup table to every channel.
 *
 * @example
 * ```ts
 * import { applyLut } from "@efficienttrain/data";
 * const lut = new Uint8Array(256).map((_, i) => 255 - i);
 * console.assert(applyLut(new Uint8Array([0]), lut)[0] === 255);
 * ```
 */
export function applyLut(src: Uint8Array, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return out;
}

function perChannelLut(src: Uint8Array, c: number, luts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += c) {
    for (let k = 0; k < c; k++) out[i + k] = luts[k][src[i + k]];
  }
  return out;
}

function histograms(src: Uint8Array, c: number): Float64Array[] {
  const h = Array.from({ length: c }, () => new Float64Array(256));
  for (let i = 0; i < src.length; i += c) for (let k = 0; k < c; k++) h[k][src[i + k]]++;
  return h;
}

/**
 * `ImageOps.autocontrast` (cutoff 0): per channel, stretch [min, max] to [0, 255].
 *
 * @example
 * ```ts
 * import { autoContrast } from "@efficienttrain/data";
 * console.assert(autoContrast(new Uint8Array([100, 150]), { height: 1, width: 2, channels: 1 }).join() === "0,255");
 * ```
 */
export function autoContrast(src: Uint8Array, shape: HWC): Uint8Array {
  const luts = histograms(src, shape.channels).map((h) => {
    let lo = 0, hi = 255;
    while (lo < 256 && h[lo] === 0) lo++;
    while (hi >= 0 && h[hi] === 0) hi--;
    const lut = new Uint8Array(256);
    if (hi <= lo) { for (let i = 0; i < 256; i++) lut[i] = i; }
    else {
      const scale = 255 / (hi - lo), offset = -lo * scale;
      for (let i = 0; i < 256; i++) {
        lut[i] = Math.min(255, Math.max(0, Math.trunc(i * scale + offset)));
      }
    }
    return lut;
  });
  return perChannelLut(src, shape.channels, luts);
}

/**
 * `ImageOps.equalize`: per-channel histogram equalisation with PIL's step rule.
 *
 * @example
 * ```ts
 * import { equalize } from "@efficienttrain/data";
 * const out = equalize(new Uint8Array([10, 10, 20, 30]), { height: 2, width: 2, channels: 1 });
 * console.assert(out.length === 4);
 * ```
 */
export function equalize(src: Uint8Array, shape: HWC): Uint8Array {
  const luts = histograms(src, shape.channels).map((h) => {
    const lut = new Uint8Array(256);
    const nonzero: number[] = [];
    for (let i = 0; i < 256; i++) if (h[i]) nonzero.push(h[i]);
    let step = 0;
    if (nonzero.length > 1) {
      step = Math.floor((nonzero.reduce((s, v) => s + v, 0) - nonzero[nonzero.length - 1]) / 255);
    }
    if (step === 0) { for (let i = 0; i < 256; i++) lut[i] = i; }
    else {
      let n = Math.floor(step / 2);
      for (let i = 0; i < 256; i++) {
        lut[i] = Math.min(255, Math.floor(n / step));
        n += h[i];
      }
    }
    return lut;
  });
  return perChannelLut(src, shape.channels, luts);
}

/**
 * `ImageOps.invert`: 255 − v.
 *
 * @example
 * ```ts
 * import { invert } from "@efficienttrain/data";
 * console.assert(invert(new Uint8Array([10]))[0] === 245);
 * ```
 */
export function invert(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = 255 - src[i];
  return out;
}

/**
 * `ImageOps.posterize`: keep the top `bits` bits (8 or more: unchanged, 0: black).
 *
 * @example
 * ```ts
 * import { posterize } from "@efficienttrain/data";
 * console.assert(posterize(new Uint8Array([0xff]), 4)[0] === 0xf0);
 * ```
 */
export function posterize(src: Uint8Array, bits: number): Uint8Array {
  if (bits >= 8) return src.slice();
  const mask = ~((1 << (8 - Math.max(0, bits))) - 1) & 0xff;
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i & mask;
  return applyLut(src, lut);
}

/**
 * `ImageOps.solarize`: invert values ≥ `threshold`.
 *
 * @example
 * ```ts
 * import { solarize } from "@efficienttrain/data";
 * console.assert(solarize(new Uint8Array([100, 200]), 128).join() === "100,55");
 * ```
 */
export function solarize(src: Uint8Array, threshold: number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i < threshold ? i : 255 - i;
  return applyLut(src, lut);
}

/**
 * timm `solarize_add`: add `add` (clipped at 255) to values below `threshold`.
 *
 * @example
 * ```ts
 * import { solarizeAdd } from "@efficienttrain/data";
 * console.assert(solarizeAdd(new Uint8Array([100, 200]), 50).join() === "150,200");
 * ```
 */
export function solarizeAdd(src: Uint8Array, add: number, threshold = 128): Uint8Array {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i < threshold ? Math.min(255, i + add) : i;
  return applyLut(src, lut);
}

/**
 * PIL `Image.blend(degenerate, image, factor)` with its truncation and clipping.
 *
 * @example
 * ```ts
 * import { blend } from "@efficienttrain/data";
 * console.assert(blend(new Uint8Array([0]), new Uint8Array([100]), 0.5)[0] === 50);
 * ```
 */
export function blend(degenerate: Uint8Array, image: Uint8Array, factor: number): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = degenerate[i] + factor * (image[i] - degenerate[i]);
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}

function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/**
 * `ImageEnhance.Color`: blend with the greyscale image (identity for 1 channel).
 *
 * @example
 * ```ts
 * import { color } from "@efficienttrain/data";
 * const out = color(new Uint8Array([255, 0, 0]), { height: 1, width: 1, channels: 3 }, 0);
 * console.assert(out[0] === out[1] && out[1] === out[2]);
 * ```
 */
export function color(src: Uint8Array, shape: HWC, factor: number): Uint8Array {
  if (shape.channels < 3) return src.slice();
  const c = shape.channels;
  const grey = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += c) {
    const l = luma(src[i], src[i + 1], src[i + 2]);
    grey[i] = grey[i + 1] = grey[i + 2] = l;
    for (let k = 3; k < c; k++) grey[i + k] = src[i + k];
  }
  return blend(grey, src, factor);
}

/**
 * `ImageEnhance.Contrast`: blend with a flat image at the rounded mean luma.
 *
 * @example
 * ```ts
 * import { contrast } from "@efficienttrain/data";
 * const out = contrast(new Uint8Array([0, 255]), { height: 1, width: 2, channels: 1 }, 0);
 * console.assert(out[0] === out[1]);
 * ```
 */
export function contrast(src: Uint8Array, shape: HWC, factor: number): Uint8Array {
  const c = shape.channels;
  let sum = 0;
  const n = src.length / c;
  for (let i = 0; i < src.length; i += c) {
    sum += c >= 3 ? luma(src[i], src[i + 1], src[i + 2]) : src[i];
  }
  const mean = Math.trunc(sum / n + 0.5);
  return blend(new Uint8Array(src.length).fill(mean), src, factor);
}

/**
 * `ImageEnhance.Brightness`: blend with black.
 *
 * @example
 * ```ts
 * import { brightness } from "@efficienttrain/data";
 * console.assert(brightness(new Uint8Array([200]), 0.5)[0] === 100);
 * ```
 */
export function brightness(src: Uint8Array, factor: number): Uint8Array {
  return blend(new Uint8Array(src.length), src, factor);
}

/**
 * `ImageEnhance.Sharpness`: blend with PIL's SMOOTH-filtered image (borders unfiltered).
 *
 * @example
 * ```ts
 * import { sharpness } from "@efficienttrain/data";
 * const img = new Uint8Array(9).fill(50);
 * console.assert(sharpness(img, { height: 3, width: 3, channels: 1 }, 2).every((v) => v === 50));
 * ```
 */
export function sharpness(src: Uint8Array, shape: HWC, factor: number): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const smooth = src.slice();
  const up = w * c;
  for (let y = 1; y < h - 1; y++) {
    // The interior of one row, every channel: the sums are integers, so their order is free.
    const end = (y * w + w - 1) * c;
    for (let p = (y * w + 1) * c; p < end; p++) {
      const s = src[p - up - c] + src[p - up] + src[p - up + c] + src[p - c] + 5 * src[p] +
        src[p + c] + src[p + up - c] + src[p + up] + src[p + up + c];
      smooth[p] = Math.min(255, Math.round(s / 13));
    }
  }
  return blend(smooth, src, factor);
}

/**
 * Mirror left–right.
 *
 * @example
 * ```ts
 * import { hflip } from "@efficienttrain/data";
 * console.assert(hflip(new Uint8Array([1, 2]), { height: 1, width: 2, channels: 1 }).join() === "2,1");
 * ```
 */
export function hflip(src: Uint8Array, shape: HWC): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * c, d = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k];
    }
  }
  return out;
}

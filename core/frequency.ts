/**
 * Low-frequency cropping (EfficientTrain's `freq_crop`): the float64 reference every backend
 * is measured against, the DFT-crop matrices the fast backends multiply by, and the one
 * shared validation of crop options (Keras 3 style: ops validate once, above the kernels).
 *
 * Conventions, following the authors' PyTorch code (shared doc §2):
 * - `paper`: X = fft2(x); keep frequencies −B/2 … B/2−1 on each axis (the four B/2 corners);
 *   multiply by (B/H)²; y = real(ifft2(kept)). Needs an even B. The unpaired −B/2 (Nyquist)
 *   bin makes the discarded imaginary part non-zero.
 * - `hermitian`: as `paper`, but an even B keeps ½·X[B/2] + ½·X[−B/2] in the Nyquist bin, so
 *   the band is conjugate-symmetric and the result is exactly real; odd B keeps −(B−1)/2 …
 *   (B−1)/2. For B = H both modes are the identity.
 *
 * Per axis the operation is a B×H complex matrix A ("DFT, keep the band, inverse DFT"), and
 * the whole crop is y = Re(A_h x A_wᵀ) — see {@link lowFrequencyCropMatrix}.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "./errors.ts";

/** Memory order of a batch of images: channels last (tfjs default) or first (PyTorch). */
export type ImageLayout = "NHWC" | "NCHW";

/** Which low-frequency crop: the authors' exact operation, or the exactly-real variant. */
export type CropMode = "paper" | "hermitian";

/** Output size: `B` for a square B×B result or `[Bh, Bw]`. */
export type CropSize = number | readonly [number, number];

/** Options of every low-frequency crop implementation. */
export interface CropOptions {
  /** The bandwidth B (or `[Bh, Bw]`): the output height and width. */
  readonly size: CropSize;
  /** Default `"NHWC"`. */
  readonly layout?: ImageLayout;
  /** Default `"paper"`. */
  readonly mode?: CropMode;
  /** Reject inputs holding NaN or ±Infinity (costs one pass over the data). Default false. */
  readonly checkFinite?: boolean;
}

/** Batch geometry decoded from a shape and a layout. */
export interface ImageGeometry {
  readonly layout: ImageLayout;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** Validated crop options: the input geometry plus the output size and mode. */
export interface ResolvedCrop extends ImageGeometry {
  readonly outH: number;
  readonly outW: number;
  readonly mode: CropMode;
  readonly checkFinite: boolean;
}

const LAYOUTS: readonly string[] = ["NHWC", "NCHW"];
const MODES: readonly string[] = ["paper", "hermitian"];
const FLOAT_DTYPES: readonly string[] = ["float32", "float64"];

/**
 * Decode a 4-D shape under a layout, rejecting anything that is not a batch of images.
 *
 * @example
 * ```ts
 * import { imageGeometry } from "@efficienttrain/core";
 * const g = imageGeometry([2, 3, 8, 6], "NCHW");
 * console.assert(g.c === 3 && g.h === 8 && g.w === 6);
 * ```
 */
export function imageGeometry(
  shape: readonly number[],
  layout: ImageLayout | undefined,
): ImageGeometry {
  const l = layout ?? "NHWC";
  if (!LAYOUTS.includes(l)) {
    throw new InvalidArgumentError({
      argument: "layout",
      value: showValue(l),
      reason: 'must be "NHWC" or "NCHW"',
    });
  }
  if (shape.length !== 4) {
    throw new InvalidArgumentError({
      argument: "images.shape",
      value: showValue(shape),
      reason: `must have rank 4 (${l}), got rank ${shape.length}`,
    });
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) {
      throw new InvalidArgumentError({
        argument: "images.shape",
        value: showValue(shape),
        reason: "every dimension must be a positive integer",
      });
    }
  }
  const [n, a, b, c] = shape as [number, number, number, number];
  return l === "NHWC" ? { layout: l, n, h: a, w: b, c } : { layout: l, n, c: a, h: b, w: c };
}

/**
 * Decode an output size (`B` or `[Bh, Bw]`), requiring positive integers. Returns `[Bh, Bw]`.
 *
 * @example
 * ```ts
 * import { resolveOutputSize } from "@efficienttrain/core";
 * console.assert(resolveOutputSize(4).join() === "4,4");
 * ```
 */
export function resolveOutputSize(size: CropSize, argument = "size"): [number, number] {
  const pair = typeof size === "number" ? [size, size] : size;
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new InvalidArgumentError({
      argument,
      value: showValue(size),
      reason: "must be an integer B or a pair [Bh, Bw]",
    });
  }
  const names = ["height", "width"];
  for (let i = 0; i < 2; i++) {
    const b = pair[i];
    if (typeof b !== "number" || !Number.isInteger(b)) {
      throw new InvalidArgumentError({
        argument,
        value: showValue(size),
        reason: `${names[i]} must be an integer`,
      });
    }
    if (b <= 0) {
      throw new InvalidArgumentError({ argument, value: showValue(size), reason: "must be > 0" });
    }
  }
  return [pair[0] as number, pair[1] as number];
}

/**
 * The single validation of low-frequency-crop arguments used by every implementation.
 * Throws an {@link InvalidArgumentError} naming the value for: rank ≠ 4, a non-positive or
 * non-integer dimension, a non-float dtype, B ≤ 0, B > H (or W), odd B in `paper` mode, an
 * unknown layout or mode.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError, validateCropOptions } from "@efficienttrain/core";
 * const r = validateCropOptions([2, 32, 32, 3], { size: 24 });
 * console.assert(r.outH === 24 && r.c === 3 && r.mode === "paper");
 * try {
 *   validateCropOptions([2, 32, 32, 3], { size: 23 });
 * } catch (e) {
 *   console.assert(e instanceof InvalidArgumentError && e.message.includes("23"));
 * }
 * ```
 */
export function validateCropOptions(
  shape: readonly number[],
  options: CropOptions & { readonly dtype?: string },
): ResolvedCrop {
  const geometry = imageGeometry(shape, options.layout);
  if (options.dtype !== undefined && !FLOAT_DTYPES.includes(options.dtype)) {
    throw new InvalidArgumentError({
      argument: "images.dtype",
      value: showValue(options.dtype),
      reason: "low-frequency cropping needs float32 or float64 images",
    });
  }
  const mode = options.mode ?? "paper";
  if (!MODES.includes(mode)) {
    throw new InvalidArgumentError({
      argument: "mode",
      value: showValue(mode),
      reason: 'must be "paper" or "hermitian"',
    });
  }
  const [outH, outW] = resolveOutputSize(options.size);
  const checks: Array<[number, number, string]> = [[outH, geometry.h, "H"], [
    outW,
    geometry.w,
    "W",
  ]];
  for (const [b, extent, axis] of checks) {
    if (b > extent) {
      throw new InvalidArgumentError({
        argument: "size",
        value: showValue(options.size),
        reason: `the bandwidth cannot exceed the input ${axis} = ${extent}`,
      });
    }
    if (mode === "paper" && b % 2 !== 0) {
      throw new InvalidArgumentError({
        argument: "size",
        value: showValue(options.size),
        reason: `paper mode keeps frequencies −B/2…B/2−1 and needs an even B (got ${b}); ` +
          'use mode "hermitian" for odd B',
      });
    }
  }
  return { ...geometry, outH, outW, mode, checkFinite: options.checkFinite ?? false };
}

/**
 * The backends' crop and resize take float32 tensors only: anything else is an
 * {@link InvalidArgumentError} naming the dtype.
 *
 * @example
 * ```ts
 * import { assertFloat32Images } from "@efficienttrain/core";
 * assertFloat32Images({ dtype: "float32" });
 * ```
 */
export function assertFloat32Images(images: { readonly dtype: string }): void {
  if (images.dtype !== "float32") {
    throw new InvalidArgumentError({
      argument: "images.dtype",
      value: JSON.stringify(images.dtype),
      reason: "tfjs tensors must be float32",
    });
  }
}

/**
 * Check a reference op's input: `data` holds exactly the elements of `shape` (geometry `g`),
 * and, when `checkFinite` is on, none of them is NaN or ±Infinity.
 *
 * @example
 * ```ts
 * import { assertReferenceInput, imageGeometry } from "@efficienttrain/core";
 * const g = imageGeometry([1, 2, 2, 1], "NHWC");
 * assertReferenceInput(new Float64Array(4), [1, 2, 2, 1], { ...g, checkFinite: true });
 * ```
 */
export function assertReferenceInput(
  data: ArrayLike<number>,
  shape: readonly number[],
  g: { n: number; c: number; h: number; w: number; checkFinite: boolean },
): void {
  if (data.length !== g.n * g.c * g.h * g.w) {
    throw new InvalidArgumentError({
      argument: "data.length",
      value: String(data.length),
      reason: `shape ${showValue(shape)} needs ${g.n * g.c * g.h * g.w} elements`,
    });
  }
  if (g.checkFinite) assertFiniteData(data, "images");
}

/**
 * Throw an {@link InvalidArgumentError} if any element is NaN or ±Infinity.
 *
 * @example
 * ```ts
 * import { assertFiniteData } from "@efficienttrain/core";
 * assertFiniteData(new Float32Array([0, 1]), "images");
 * ```
 */
export function assertFiniteData(data: ArrayLike<number>, argument: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) {
      throw new InvalidArgumentError({
        argument,
        value: `${v} at flat index ${i}`,
        reason: "images must be finite (checkFinite is on)",
      });
    }
  }
}

/** One kept frequency: input bin `from` (signed), output bin `to` (signed), weight. */
export interface BandEntry {
  readonly from: number;
  readonly to: number;
  readonly weight: number;
}

/**
 * The frequencies a crop from `inSize` to `outSize` keeps, with their weights.
 *
 * @example
 * ```ts
 * import { cropBand } from "@efficienttrain/core";
 * console.assert(cropBand(8, 4, "paper").map((e) => e.from).join() === "-2,-1,0,1");
 * console.assert(cropBand(8, 4, "hermitian").length === 5);
 * ```
 */
export function cropBand(inSize: number, outSize: number, mode: CropMode): BandEntry[] {
  const band: BandEntry[] = [];
  const half = Math.floor(outSize / 2);
  if (outSize % 2 === 1) {
    for (let f = -half; f <= half; f++) band.push({ from: f, to: f, weight: 1 });
  } else if (mode === "paper") {
    for (let f = -half; f < half; f++) band.push({ from: f, to: f, weight: 1 });
  } else if (outSize === inSize) {
    // the two Nyquist halves are the same input bin: keep it once, whole
    for (let f = -half; f < half; f++) band.push({ from: f, to: f, weight: 1 });
  } else {
    band.push({ from: -half, to: -half, weight: 0.5 });
    for (let f = -half + 1; f < half; f++) band.push({ from: f, to: f, weight: 1 });
    band.push({ from: half, to: -half, weight: 0.5 });
  }
  return band;
}

/** A dense row-major complex matrix; `im` is absent when the matrix is real. */
export interface ComplexMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly re: Float64Array;
  readonly im: Float64Array | undefined;
}

/**
 * The B×H matrix A of one axis of the crop: A[k, n] = (1/H) Σ_band w·e^{2πi(g·k/B − f·n/H)},
 * so that y = Re(A_h · x · A_wᵀ) equals the crop of a plane x. The (B/H) scale of each axis
 * is folded in. Hermitian bands give a real matrix (`im` undefined).
 *
 * @example
 * ```ts
 * import { lowFrequencyCropMatrix } from "@efficienttrain/core";
 * const a = lowFrequencyCropMatrix(4, 4, "paper");
 * console.assert(Math.abs(a.re[0] - 1) < 1e-12 && Math.abs(a.re[1]) < 1e-12);
 * ```
 */
export function lowFrequencyCropMatrix(
  inSize: number,
  outSize: number,
  mode: CropMode,
): ComplexMatrix {
  const band = cropBand(inSize, outSize, mode);
  const re = new Float64Array(outSize * inSize);
  const im = new Float64Array(outSize * inSize);
  for (let k = 0; k < outSize; k++) {
    for (let n = 0; n < inSize; n++) {
      let sr = 0, si = 0;
      for (const { from, to, weight } of band) {
        // reduce the phases modulo one turn before scaling by 2π to keep float64 exact-ish
        const turns = mod(to * k, outSize) / outSize - mod(from * n, inSize) / inSize;
        const angle = 2 * Math.PI * turns;
        sr += weight * Math.cos(angle);
        si += weight * Math.sin(angle);
      }
      re[k * inSize + n] = sr / inSize;
      im[k * inSize + n] = si / inSize;
    }
  }
  const real = cropBandIsSymmetric(band);
  return { rows: outSize, cols: inSize, re, im: real ? undefined : im };
}

/**
 * In paper mode the imaginary part of the crop matrix is rank one: only the unpaired −B/2
 * bin contributes, Im A[k, n] = (−1)^k · sin(π·B·n/H) / H. This returns v[n] = sin(π·B·n/H)
 * (all zeros for odd B or B = H, where A is real). It lets fast backends compute
 * Re(A_h x A_wᵀ) = Re A_h·x·Re A_wᵀ − s·(−1)^(k+l)/(H·W) with s = v_hᵀ·x·v_w: one real
 * separable product plus a scalar per plane, instead of two.
 *
 * @example
 * ```ts
 * import { lowFrequencyCropMatrix, nyquistSineVector } from "@efficienttrain/core";
 * const [h, b] = [8, 4];
 * const v = nyquistSineVector(h, b);
 * const a = lowFrequencyCropMatrix(h, b, "paper");
 * console.assert(Math.abs(a.im![1 * h + 3] - (-1) * v[3] / h) < 1e-12);
 * ```
 */
export function nyquistSineVector(inSize: number, outSize: number): Float64Array {
  const v = new Float64Array(inSize);
  if (outSize % 2 === 1 || outSize === inSize) return v;
  // sin(π·B·n/H) with the phase B·n reduced modulo 2H first, for accuracy
  for (let n = 0; n < inSize; n++) {
    v[n] = Math.sin((Math.PI * mod(outSize * n, 2 * inSize)) / inSize);
  }
  return v;
}

function cropBandIsSymmetric(band: readonly BandEntry[]): boolean {
  const key = (f: number, w: number): string => `${f}:${w}`;
  const set = new Set(band.map((e) => key(e.from, e.weight)));
  return band.every((e) => set.has(key(-e.from, e.weight)));
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

/**
 * In-place-free discrete Fourier transform of any length (mixed-radix Cooley–Tukey, naive
 * DFT on prime factors), float64. NumPy conventions: forward unnormalised, inverse ÷ n.
 *
 * @example
 * ```ts
 * import { fftReference } from "@efficienttrain/core";
 * const { re } = fftReference(new Float64Array([1, 2, 3]), new Float64Array(3));
 * console.assert(re[0] === 6);
 * ```
 */
export function fftReference(
  re: Float64Array,
  im: Float64Array,
  options: { readonly inverse?: boolean } = {},
): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const sign = options.inverse ? 1 : -1;
  const out = { re: new Float64Array(n), im: new Float64Array(n) };
  if (n === 0) return out;
  const tw = twiddles(n);
  fftInto(re, im, 0, 1, n, { sign, tw, n }, out, 0);
  if (options.inverse) {
    for (let i = 0; i < n; i++) {
      out.re[i]! /= n;
      out.im[i]! /= n;
    }
  }
  return out;
}

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** cos and sin of 2π·j/n for j < n, computed once per length. */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddleCache.get(n);
  if (!t) {
    t = { cos: new Float64Array(n), sin: new Float64Array(n) };
    for (let j = 0; j < n; j++) {
      t.cos[j] = Math.cos((2 * Math.PI * j) / n);
      t.sin[j] = Math.sin((2 * Math.PI * j) / n);
    }
    if (twiddleCache.size > 64) twiddleCache.clear();
    twiddleCache.set(n, t);
  }
  return t;
}

function smallestFactor(n: number): number {
  if (n % 2 === 0) return 2;
  for (let p = 3; p * p <= n; p += 2) if (n % p === 0) return p;
  return n;
}

/**
 * Decimation in time: the length-`len` transform of x[offset + j·stride] is written to
 * out[at … at+len). The p sub-transforms of length len/p land in consecutive blocks of `out`
 * first, then are combined with twiddles e^{sign·2πi·r·k/len} = table[(r·k·(N/len)) mod N].
 */
function fftInto(
  re: Float64Array,
  im: Float64Array,
  offset: number,
  stride: number,
  len: number,
  ctx: { sign: number; tw: { cos: Float64Array; sin: Float64Array }; n: number },
  out: { re: Float64Array; im: Float64Array },
  at: number,
): void {
  if (len === 1) {
    out.re[at] = re[offset]!;
    out.im[at] = im[offset]!;
    return;
  }
  const p = smallestFactor(len);
  const m = len / p;
  for (let r = 0; r < p; r++) {
    fftInto(re, im, offset + r * stride, stride * p, m, ctx, out, at + r * m);
  }
  const subRe = out.re.slice(at, at + len), subIm = out.im.slice(at, at + len);
  const scale = ctx.n / len;
  const { cos, sin } = ctx.tw;
  for (let k = 0; k < len; k++) {
    let sr = 0, si = 0;
    const km = k % m;
    for (let r = 0; r < p; r++) {
      const j = ((r * k) % len) * scale;
      const c = cos[j]!, s = ctx.sign * sin[j]!;
      const yr = subRe[r * m + km]!, yi = subIm[r * m + km]!;
      sr += yr * c - yi * s;
      si += yr * s + yi * c;
    }
    out.re[at + k] = sr;
    out.im[at + k] = si;
  }
}

/** Flat index of element (n, c, y, x) under a geometry's layout. */
export function imageIndex(g: ImageGeometry, n: number, c: number, y: number, x: number): number {
  return g.layout === "NHWC"
    ? ((n * g.h + y) * g.w + x) * g.c + c
    : ((n * g.c + c) * g.h + y) * g.w + x;
}

/**
 * The float64 oracle of low-frequency cropping, a literal transcription of the authors'
 * `freq_crop` through an FFT (not through {@link lowFrequencyCropMatrix}, so the two check
 * each other). `data` is a batch in `layout` order; the result has the same layout.
 *
 * @example
 * ```ts
 * import { lowFrequencyCropReference } from "@efficienttrain/core";
 * const x = Float64Array.from({ length: 16 }, (_, i) => i % 3);
 * const y = lowFrequencyCropReference(x, [1, 4, 4, 1], { size: 2 });
 * const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
 * console.assert(y.length === 4 && Math.abs(mean(y) - mean(x)) < 1e-12);
 * ```
 */
export function lowFrequencyCropReference(
  data: Float64Array | Float32Array,
  shape: readonly number[],
  options: CropOptions,
): Float64Array {
  const r = validateCropOptions(shape, options);
  assertReferenceInput(data, shape, r);
  const outGeometry: ImageGeometry = { ...r, h: r.outH, w: r.outW };
  const out = new Float64Array(r.n * r.c * r.outH * r.outW);
  const bandH = cropBand(r.h, r.outH, r.mode);
  const bandW = cropBand(r.w, r.outW, r.mode);
  const scale = (r.outH * r.outW) / (r.h * r.w);
  const zerosW = new Float64Array(r.w);
  for (let n = 0; n < r.n; n++) {
    for (let c = 0; c < r.c; c++) {
      // 1. FFT of every row, then keep the W band: H × outW complex
      const rowsRe = new Float64Array(r.h * r.outW);
      const rowsIm = new Float64Array(r.h * r.outW);
      const row = new Float64Array(r.w);
      for (let y = 0; y < r.h; y++) {
        for (let x = 0; x < r.w; x++) row[x] = data[imageIndex(r, n, c, y, x)]!;
        const f = fftReference(row, zerosW);
        for (const e of bandW) {
          const src = mod(e.from, r.w), dst = y * r.outW + mod(e.to, r.outW);
          rowsRe[dst]! += e.weight * f.re[src]!;
          rowsIm[dst]! += e.weight * f.im[src]!;
        }
      }
      // 2. FFT of every kept column, keep the H band, scale, inverse FFT of the column
      const kept = { re: new Float64Array(r.outH * r.outW), im: new Float64Array(r.outH * r.outW) };
      const colRe = new Float64Array(r.h), colIm = new Float64Array(r.h);
      for (let x = 0; x < r.outW; x++) {
        for (let y = 0; y < r.h; y++) {
          colRe[y] = rowsRe[y * r.outW + x]!;
          colIm[y] = rowsIm[y * r.outW + x]!;
        }
        const f = fftReference(colRe, colIm);
        const bRe = new Float64Array(r.outH), bIm = new Float64Array(r.outH);
        for (const e of bandH) {
          const src = mod(e.from, r.h), dst = mod(e.to, r.outH);
          bRe[dst]! += e.weight * f.re[src]! * scale;
          bIm[dst]! += e.weight * f.im[src]! * scale;
        }
        const inv = fftReference(bRe, bIm, { inverse: true });
        for (let y = 0; y < r.outH; y++) {
          kept.re[y * r.outW + x] = inv.re[y]!;
          kept.im[y * r.outW + x] = inv.im[y]!;
        }
      }
      // 3. inverse FFT of every output row; keep the real part
      const oRe = new Float64Array(r.outW), oIm = new Float64Array(r.outW);
      for (let y = 0; y < r.outH; y++) {
        oRe.set(kept.re.subarray(y * r.outW, (y + 1) * r.outW));
        oIm.set(kept.im.subarray(y * r.outW, (y + 1) * r.outW));
        const inv = fftReference(oRe, oIm, { inverse: true });
        for (let x = 0; x < r.outW; x++) out[imageIndex(outGeometry, n, c, y, x)] = inv.re[x]!;
      }
    }
  }
  return out;
}

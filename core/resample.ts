/**
 * Image resizing as separable weight matrices (float64), for the paper's "cropping beats
 * plain downsampling" comparison and for EfficientTrain++'s Lanczos resize.
 *
 * Conventions (PyTorch `F.interpolate(align_corners=False)` / PIL, half-pixel centres):
 * - `bilinear`, `bicubic` with `antialias: false` (the default, as in PyTorch and
 *   `tf.image.resizeBilinear`): 2- and 4-tap interpolation at src = (i + ½)·in/out − ½;
 *   bilinear clamps src at 0, bicubic replicates the border; the cubic coefficient is
 *   a = −0.75 (PyTorch, timm).
 * - `antialias: true`: PyTorch's `antialias=True` / PIL: the filter is stretched by in/out
 *   when downsampling and every row of weights is normalised; bicubic then uses a = −0.5,
 *   as PyTorch and PIL do (override with `cubicCoefficient`).
 * - `area`: PyTorch `mode="area"` (adaptive average pooling: row i averages input
 *   floor(i·in/out) … ceil((i+1)·in/out) − 1).
 * - `lanczos`: Lanczos-3 (PIL `LANCZOS`), always antialiased and normalised.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "./errors.ts";
import {
  assertReferenceInput,
  type CropSize,
  type ImageGeometry,
  imageGeometry,
  imageIndex,
  type ImageLayout,
  resolveOutputSize,
} from "./frequency.ts";

/** The resize filters on offer. */
export type ResizeMethod = "bilinear" | "bicubic" | "area" | "lanczos";

/** How a stage shrinks a full-size batch to B×B: the paper's low-frequency crop or a resize. */
export type CropMethod = "fft" | `resize:${ResizeMethod}`;

/** Every resize method, for flag parsing and tests. */
export const RESIZE_METHODS: readonly ResizeMethod[] = ["bilinear", "bicubic", "area", "lanczos"];

/** Filter settings of one axis. */
export interface ResizeFilterOptions {
  readonly method: ResizeMethod;
  /** Stretch the filter when downsampling (PyTorch `antialias`). Default false; lanczos and
   * area are always antialiased. */
  readonly antialias?: boolean;
  /** The cubic kernel's a. Default −0.75 without antialias, −0.5 with it (PyTorch). */
  readonly cubicCoefficient?: number;
}

/** Options of every resize implementation. */
export interface ResizeOptions extends ResizeFilterOptions {
  /** Output size B or `[Bh, Bw]`. Up- and downsampling are both allowed. */
  readonly size: CropSize;
  /** Default `"NHWC"`. */
  readonly layout?: ImageLayout;
  /** Reject NaN / ±Infinity in the input. Default false. */
  readonly checkFinite?: boolean;
}

/** Validated resize options. */
export interface ResolvedResize extends ImageGeometry {
  readonly outH: number;
  readonly outW: number;
  readonly filter: ResizeFilterOptions;
  readonly checkFinite: boolean;
}

/**
 * Validate resize arguments once, for every implementation.
 *
 * @example
 * ```ts
 * import { validateResizeOptions } from "@efficienttrain/core";
 * const r = validateResizeOptions([1, 3, 8, 8], { size: 5, method: "area", layout: "NCHW" });
 * console.assert(r.outW === 5 && r.c === 3);
 * ```
 */
export function validateResizeOptions(
  shape: readonly number[],
  options: ResizeOptions & { readonly dtype?: string },
): ResolvedResize {
  const g = imageGeometry(shape, options.layout);
  if (options.dtype !== undefined && options.dtype !== "float32" && options.dtype !== "float64") {
    throw new InvalidArgumentError({
      argument: "images.dtype",
      value: showValue(options.dtype),
      reason: "resize needs float32 or float64 images",
    });
  }
  if (!RESIZE_METHODS.includes(options.method)) {
    throw new InvalidArgumentError({
      argument: "method",
      value: showValue(options.method),
      reason: `must be one of ${RESIZE_METHODS.join(", ")}`,
    });
  }
  const a = options.cubicCoefficient;
  if (a !== undefined && !Number.isFinite(a)) {
    throw new InvalidArgumentError({
      argument: "cubicCoefficient",
      value: showValue(a),
      reason: "must be a finite number",
    });
  }
  const [outH, outW] = resolveOutputSize(options.size);
  return {
    ...g,
    outH,
    outW,
    filter: {
      method: options.method,
      antialias: options.antialias ?? false,
      ...(a === undefined ? {} : { cubicCoefficient: a }),
    },
    checkFinite: options.checkFinite ?? false,
  };
}

/**
 * Keys' cubic convolution kernel with coefficient `a`: −0.5 is PIL's BICUBIC, −0.75 PyTorch's
 * `bicubic` and OpenCV's. The one definition every resampler in the project uses.
 *
 * @example
 * ```ts
 * import { cubicKernel } from "@efficienttrain/core";
 * console.assert(cubicKernel(0, -0.5) === 1 && cubicKernel(1, -0.5) === 0 && cubicKernel(2.5, -0.5) === 0);
 * ```
 */
export function cubicKernel(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function lanczos3(x: number): number {
  return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
}

function triangle(x: number): number {
  return Math.max(0, 1 - Math.abs(x));
}

/**
 * The out×in row-major weight matrix of one axis: y = M·x resizes a line of `inSize`
 * samples to `outSize`. Every row sums to 1.
 *
 * @example
 * ```ts
 * import { resizeMatrix } from "@efficienttrain/core";
 * const m = resizeMatrix(4, 2, { method: "area" });
 * console.assert(m.join() === "0.5,0.5,0,0,0,0,0.5,0.5");
 * ```
 */
export function resizeMatrix(
  inSize: number,
  outSize: number,
  options: ResizeFilterOptions,
): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  const clampIndex = (j: number): number => Math.min(Math.max(j, 0), inSize - 1);
  const method = options.method;
  if (method === "area") {
    for (let i = 0; i < outSize; i++) {
      const start = Math.floor((i * inSize) / outSize);
      const end = Math.ceil(((i + 1) * inSize) / outSize);
      for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
    }
    return m;
  }
  if (method === "lanczos" || options.antialias) {
    const [filter, radius]: [(x: number) => number, number] = method === "bilinear"
      ? [triangle, 1]
      : method === "bicubic"
      ? [(x) => cubicKernel(x, options.cubicCoefficient ?? -0.5), 2]
      : [lanczos3, 3];
    const stretch = Math.max(scale, 1);
    const support = radius * stretch;
    for (let i = 0; i < outSize; i++) {
      const center = scale * (i + 0.5);
      // truncation toward zero, then clamping, exactly as PyTorch's _compute_indices_weights_aa
      const lo = Math.max(Math.trunc(center - support + 0.5), 0);
      const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
      let total = 0;
      for (let j = lo; j < hi; j++) total += filter((j - center + 0.5) / stretch);
      for (let j = lo; j < hi; j++) {
        m[i * inSize + j] = total === 0 ? 0 : filter((j - center + 0.5) / stretch) / total;
      }
    }
    return m;
  }
  for (let i = 0; i < outSize; i++) {
    const src = (i + 0.5) * scale - 0.5;
    if (method === "bilinear") {
      const s = Math.max(src, 0);
      const i0 = Math.min(Math.floor(s), inSize - 1);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const l = s - i0;
      m[i * inSize + i0]! += 1 - l;
      m[i * inSize + i1]! += l;
    } else {
      const a = options.cubicCoefficient ?? -0.75;
      const f = Math.floor(src);
      const t = src - f;
      for (let k = -1; k <= 2; k++) m[i * inSize + clampIndex(f + k)]! += cubicKernel(t - k, a);
    }
  }
  return m;
}

/**
 * Apply a real separable operator y = M_h · x · M_wᵀ to every plane of a batch (float64).
 *
 * @example
 * ```ts
 * import { applySeparableReference, imageGeometry } from "@efficienttrain/core";
 * const g = imageGeometry([1, 2, 2, 1], "NHWC");
 * const id = new Float64Array([1, 0, 0, 1]);
 * const y = applySeparableReference(new Float64Array([1, 2, 3, 4]), g, { mh: id, mw: id, outH: 2, outW: 2 });
 * console.assert(y.join() === "1,2,3,4");
 * ```
 */
export function applySeparableReference(
  data: ArrayLike<number>,
  g: ImageGeometry,
  ops: {
    readonly mh: Float64Array;
    readonly mw: Float64Array;
    readonly outH: number;
    readonly outW: number;
  },
): Float64Array {
  const { mh, mw, outH, outW } = ops;
  const og: ImageGeometry = { ...g, h: outH, w: outW };
  const out = new Float64Array(g.n * g.c * outH * outW);
  const tmp = new Float64Array(outH * g.w);
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      tmp.fill(0);
      for (let k = 0; k < outH; k++) {
        for (let y = 0; y < g.h; y++) {
          const a = mh[k * g.h + y]!;
          if (a === 0) continue;
          for (let x = 0; x < g.w; x++) tmp[k * g.w + x]! += a * data[imageIndex(g, n, c, y, x)]!;
        }
      }
      for (let k = 0; k < outH; k++) {
        for (let l = 0; l < outW; l++) {
          let s = 0;
          for (let x = 0; x < g.w; x++) s += tmp[k * g.w + x]! * mw[l * g.w + x]!;
          out[imageIndex(og, n, c, k, l)] = s;
        }
      }
    }
  }
  return out;
}

/**
 * The float64 reference resize of a batch in `layout` order (see the module notes for the
 * exact conventions of each method).
 *
 * @example
 * ```ts
 * import { resizeReference } from "@efficienttrain/core";
 * const y = resizeReference(new Float64Array([1, 3, 5, 7]), [1, 2, 2, 1], { size: 1, method: "area" });
 * console.assert(y[0] === 4);
 * ```
 */
export function resizeReference(
  data: Float64Array | Float32Array,
  shape: readonly number[],
  options: ResizeOptions,
): Float64Array {
  const r = validateResizeOptions(shape, options);
  assertReferenceInput(data, shape, r);
  return applySeparableReference(data, r, {
    mh: resizeMatrix(r.h, r.outH, r.filter),
    mw: resizeMatrix(r.w, r.outW, r.filter),
    outH: r.outH,
    outW: r.outW,
  });
}

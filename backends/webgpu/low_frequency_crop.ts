/**
 * EfficientTrain's low-frequency crop as a WGSL kernel on Deno's WebGPU: the DFT-crop
 * matrices of `@efficienttrain/core` (float64, cast to f32 once per device) applied with the
 * two-pass separable kernel of separable.ts. Validation is the core's `validateCropOptions`.
 *
 * @module
 */
import {
  assertFiniteData,
  type CropOptions,
  type ImageGeometry,
  InvalidArgumentError,
  lowFrequencyCropMatrix,
  type ResolvedCrop,
  validateCropOptions,
} from "@efficienttrain/core";
import { resolveDevice } from "./device.ts";
import {
  applySeparableGPU,
  applySeparableHost,
  cachedGPUMatrix,
  type GPUSeparableFactors,
  transposeFactor,
} from "./separable.ts";

/** Options of {@link lowFrequencyCropWebGPU}: the crop options plus the input shape. */
export interface WebGPUCropOptions extends CropOptions {
  /** Shape of `data` in `layout` order. */
  readonly shape: readonly number[];
  /** The device to run on; default: the shared one (see `getWebGPUDevice`/`useDevice`). */
  readonly device?: GPUDevice;
}

function interleaveRows(
  re: Float64Array,
  im: Float64Array,
  rows: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(2 * rows * cols);
  for (let k = 0; k < rows; k++) {
    for (let j = 0; j < cols; j++) {
      out[2 * k * cols + j] = re[k * cols + j]!;
      out[(2 * k + 1) * cols + j] = im[k * cols + j]!;
    }
  }
  return out;
}

function reMinusIm(re: Float64Array, im: Float64Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(2 * rows * cols);
  for (let l = 0; l < rows; l++) {
    for (let j = 0; j < cols; j++) {
      out[2 * l * cols + j] = re[l * cols + j]!;
      out[(2 * l + 1) * cols + j] = -im[l * cols + j]!;
    }
  }
  return out;
}

/**
 * The crop's factors as cached GPU buffers on `device`.
 *
 * @example
 * ```ts ignore
 * const f = lowFrequencyCropGPUFactors(device, { h: 32, w: 32, outH: 24, outW: 24, mode: "paper" });
 * ```
 */
export function lowFrequencyCropGPUFactors(
  device: GPUDevice,
  r: Pick<ResolvedCrop, "h" | "w" | "outH" | "outW" | "mode">,
): GPUSeparableFactors {
  const parts: 1 | 2 = r.mode === "paper" ? 2 : 1;
  const matrix = (i: number, o: number) => {
    const m = lowFrequencyCropMatrix(i, o, r.mode);
    return { re: m.re, im: m.im ?? new Float64Array(m.re.length) };
  };
  const left = cachedGPUMatrix(device, `crop:L:${r.h}:${r.outH}:${r.mode}`, () => {
    const m = matrix(r.h, r.outH);
    return parts === 2 ? interleaveRows(m.re, m.im, r.outH, r.h) : Float32Array.from(m.re);
  });
  const right = cachedGPUMatrix(device, `crop:RT:${r.w}:${r.outW}:${r.mode}`, () => {
    const m = matrix(r.w, r.outW);
    const rows = parts === 2 ? reMinusIm(m.re, m.im, r.outW, r.w) : Float32Array.from(m.re);
    return transposeFactor(rows, r.outW, parts * r.w);
  });
  return { left, right, parts, outH: r.outH, outW: r.outW };
}

/**
 * Low-frequency crop of a float32 batch held on the host, computed on the GPU; resolves to
 * the cropped batch in the same layout. `paper` mode is the authors' `freq_crop`,
 * `hermitian` the exactly-real variant; B = H returns a copy.
 *
 * @example
 * ```ts ignore
 * import { lowFrequencyCropWebGPU } from "@efficienttrain/backend-webgpu";
 * const x = new Float32Array(2 * 32 * 32 * 3).map(() => Math.random());
 * const y = await lowFrequencyCropWebGPU(x, { shape: [2, 32, 32, 3], size: 24 });
 * console.assert(y.length === 2 * 24 * 24 * 3);
 * ```
 */
export async function lowFrequencyCropWebGPU(
  data: Float32Array,
  options: WebGPUCropOptions,
): Promise<Float32Array> {
  const r = validateCropOptions(options.shape, { ...options, dtype: "float32" });
  if (!(data instanceof Float32Array)) {
    throw new InvalidArgumentError({
      argument: "data",
      value: Object.prototype.toString.call(data),
      reason: "must be a Float32Array",
    });
  }
  if (data.length !== r.n * r.c * r.h * r.w) {
    throw new InvalidArgumentError({
      argument: "data.length",
      value: String(data.length),
      reason: `shape [${options.shape}] needs ${r.n * r.c * r.h * r.w} elements`,
    });
  }
  if (r.checkFinite) assertFiniteData(data, "images");
  if (r.outH === r.h && r.outW === r.w) return data.slice();
  const device = await resolveDevice(options.device);
  return await applySeparableHost(device, data, {
    geometry: r,
    factors: lowFrequencyCropGPUFactors(device, r),
  });
}

/**
 * The crop on a batch already in a GPU storage buffer (for example a tfjs-webgpu tensor's
 * buffer from `tensor.dataToGPU()`); returns a new buffer owned by the caller. Nothing is
 * copied through the host.
 *
 * @example
 * ```ts ignore
 * const out = lowFrequencyCropGPUBuffer(device, input, { shape: [64, 3, 224, 224], size: 160, layout: "NCHW" });
 * ```
 */
export function lowFrequencyCropGPUBuffer(
  device: GPUDevice,
  input: GPUBuffer,
  options: CropOptions & { readonly shape: readonly number[] },
): GPUBuffer {
  const r = validateCropOptions(options.shape, { ...options, dtype: "float32" });
  const geometry: ImageGeometry = r;
  return applySeparableGPU(device, input, {
    geometry,
    factors: lowFrequencyCropGPUFactors(device, r),
  });
}

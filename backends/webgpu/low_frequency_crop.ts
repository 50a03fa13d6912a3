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
  nyquistSineVector,
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

/**
 * The crop's factors as cached GPU buffers on `device`: Re A_h, (Re A_w)ᵀ and, in paper mode
 * with both axes cropped, the rank-one Nyquist weights v_h⊗v_w (see the core's
 * `nyquistSineVector`), so both modes cost one real separable product.
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
  const left = cachedGPUMatrix(
    device,
    `crop:L:${r.h}:${r.outH}:${r.mode}`,
    () => Float32Array.from(lowFrequencyCropMatrix(r.h, r.outH, r.mode).re),
  );
  const right = cachedGPUMatrix(device, `crop:RT:${r.w}:${r.outW}:${r.mode}`, () => {
    const re = Float32Array.from(lowFrequencyCropMatrix(r.w, r.outW, r.mode).re);
    return transposeFactor(re, r.outW, r.w);
  });
  const factors = { left, right, parts: 1 as const, outH: r.outH, outW: r.outW };
  if (r.mode === "hermitian" || r.outH === r.h || r.outW === r.w) return factors;
  const nyquistWeights = cachedGPUMatrix(
    device,
    `crop:nyq:${r.h}:${r.outH}:${r.w}:${r.outW}`,
    () => {
      const vh = nyquistSineVector(r.h, r.outH), vw = nyquistSineVector(r.w, r.outW);
      const out = new Float32Array(r.h * r.w);
      for (let i = 0; i < r.h; i++) {
        for (let j = 0; j < r.w; j++) {
          out[i * r.w + j] = vh[i]! * vw[j]!;
        }
      }
      return out;
    },
  );
  return { ...factors, nyquistWeights };
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

/**
 * Image resize as a WGSL kernel on Deno's WebGPU, with the weights of the core reference
 * (`resizeMatrix`: PyTorch half-pixel conventions, Lanczos-3 like PIL).
 *
 * @module
 */
import {
  assertFiniteData,
  InvalidArgumentError,
  resizeMatrix,
  type ResizeOptions,
  validateResizeOptions,
} from "@efficienttrain/core";
import { resolveDevice } from "./device.ts";
import { applySeparableHost, cachedGPUMatrix, transposeFactor } from "./separable.ts";

/** Options of {@link resizeWebGPU}: the resize options plus the input shape. */
export interface WebGPUResizeOptions extends ResizeOptions {
  readonly shape: readonly number[];
  readonly device?: GPUDevice;
}

/**
 * Resize a float32 batch (host memory) on the GPU; resolves to the resized batch.
 *
 * @example
 * ```ts ignore
 * import { resizeWebGPU } from "@efficienttrain/backend-webgpu";
 * const y = await resizeWebGPU(new Float32Array(3 * 8 * 8), { shape: [1, 3, 8, 8], layout: "NCHW", size: 4, method: "lanczos" });
 * ```
 */
export async function resizeWebGPU(
  data: Float32Array,
  options: WebGPUResizeOptions,
): Promise<Float32Array> {
  const r = validateResizeOptions(options.shape, { ...options, dtype: "float32" });
  if (data.length !== r.n * r.c * r.h * r.w) {
    throw new InvalidArgumentError({
      argument: "data.length",
      value: String(data.length),
      reason: `shape [${options.shape}] needs ${r.n * r.c * r.h * r.w} elements`,
    });
  }
  if (r.checkFinite) assertFiniteData(data, "images");
  const device = await resolveDevice(options.device);
  const f = r.filter;
  const key = `${f.method}:${f.antialias ? 1 : 0}:${f.cubicCoefficient ?? ""}`;
  const matrix = (i: number, o: number, transposed: boolean): GPUBuffer =>
    cachedGPUMatrix(device, `resize:${i}:${o}:${key}:${transposed}`, () => {
      const m = Float32Array.from(resizeMatrix(i, o, f));
      return transposed ? transposeFactor(m, o, i) : m;
    });
  return await applySeparableHost(device, data, {
    geometry: r,
    factors: {
      left: matrix(r.h, r.outH, false),
      right: matrix(r.w, r.outW, true),
      parts: 1,
      outH: r.outH,
      outW: r.outW,
    },
  });
}

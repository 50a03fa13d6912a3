/**
 * Shared geometry for the wasm convolution-gradient kernels.
 *
 * @module
 */
import { backend_util } from "@tensorflow/tfjs-core";
import type { PatchGeometry } from "./im2col.ts";

/** Convolution geometry: tfjs' `Conv2DInfo` flattened into what our kernels read. */
export interface ConvGeometry extends PatchGeometry {
  readonly batchSize: number;
  readonly outChannels: number;
  readonly channelMul: number;
}

/**
 * Resolve padding/strides for an NHWC conv (or depthwise conv) exactly as tfjs does.
 *
 * @example
 * ```ts
 * import { convGeometry } from "./conv_geometry.ts";
 * const g = convGeometry([2, 8, 8, 3], [3, 3, 3, 4], { strides: 2, pad: "same" });
 * console.assert(g.outHeight === 4 && g.padTop === 0);
 * ```
 */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  options: {
    strides: number | [number, number];
    pad: "valid" | "same" | number | backend_util.ExplicitPadding;
    dilations?: number | [number, number];
    dimRoundingMode?: "floor" | "round" | "ceil";
    depthwise?: boolean;
    dataFormat?: string;
  },
): ConvGeometry {
  if (options.dataFormat !== undefined && options.dataFormat !== "NHWC") {
    throw new Error(`wasm conv gradients support NHWC only, got ${options.dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    options.strides,
    options.dilations ?? 1,
    options.pad as "same",
    options.dimRoundingMode,
    options.depthwise ?? false,
    "channelsLast",
  );
  return {
    batchSize: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    channelMul: info.outChannels / info.inChannels,
  };
}

// Bytes of scratch (one patch matrix) a chunk may use; bounds peak wasm heap growth.
let scratchBytes = 48 * 1024 * 1024;

/**
 * Set how many bytes of wasm heap one patch matrix may use (default 48 MiB); larger batches
 * are processed in chunks of images. Returns the previous value.
 *
 * @example
 * ```ts
 * import { setWasmScratchBytes } from "@efficienttrain/backend-tfjs";
 * const previous = setWasmScratchBytes(16 << 20);
 * setWasmScratchBytes(previous);
 * ```
 */
export function setWasmScratchBytes(bytes: number): number {
  if (!(bytes > 0)) throw new RangeError(`scratch bytes must be > 0, got ${bytes}`);
  const previous = scratchBytes;
  scratchBytes = bytes;
  return previous;
}

/**
 * How many images to process per chunk so `perImageFloats` floats each fit the scratch limit.
 *
 * @example
 * ```ts
 * import { imagesPerChunk } from "./conv_geometry.ts";
 * console.assert(imagesPerChunk(64, 1) === 64);
 * ```
 */
export function imagesPerChunk(batch: number, perImageFloats: number): number {
  return Math.max(1, Math.min(batch, Math.floor(scratchBytes / 4 / Math.max(1, perImageFloats))));
}

/**
 * True when a conv is a plain per-pixel GEMM: 1×1 filter, stride 1, no padding.
 *
 * @example
 * ```ts
 * import { convGeometry, isPointwise } from "./conv_geometry.ts";
 * console.assert(isPointwise(convGeometry([1, 4, 4, 8], [1, 1, 8, 8], { strides: 1, pad: 0 })));
 * ```
 */
export function isPointwise(g: ConvGeometry): boolean {
  return g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 &&
    g.strideWidth === 1 && g.padTop === 0 && g.padLeft === 0 &&
    g.outHeight === g.inHeight && g.outWidth === g.inWidth;
}

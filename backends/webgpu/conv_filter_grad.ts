/**
 * The filter gradients of convolution and depthwise convolution as WGSL kernels
 * ({@link FUSED_KERNELS}`.conv2dFilterGrad` and `.depthwiseFilterGrad`, which
 * `@efficienttrain/core` routes tfjs's `Conv2D` and `DepthwiseConv2dNative` gradients through).
 *
 * tfjs-webgpu computes both with one thread per filter element, each looping over every
 * output position of the batch: a 7×7×3×64 stem filter is 9,408 threads of 802,816 serial
 * steps each at batch 64 and 224 px, a few percent of a GPU's lanes. The filter gradient is a
 * matrix product, dW[(kh, kw, ci), co] = Σ over positions (b, oy, ox) of x's im2col row times
 * dy, with a long reduction (B·OH·OW) and a small output. So here it is an implicit GEMM:
 * 64×64 output tiles, each a workgroup of 256 threads computing 4×4 each from 16-deep slices of
 * the reduction staged in workgroup memory (x gathered through the im2col indexing, never
 * materialised; dy read as the `[positions, co]` matrix it already is), with the reduction
 * split over more workgroups where the output has few tiles, and the splits summed by a second
 * dispatch. The depthwise gradient has no channel reduction: one lane per channel, a
 * workgroup per (tap, 64 channels, split), the same split sum.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import {
  type MultiOutputSpec,
  runMultiOutput,
  type UniformValue,
  uniformValues,
} from "./multi_output.ts";
import type { WebGPUBackendLike } from "./program.ts";

/** Workgroups a kernel aims for before it splits the reduction further. */
const TARGET_GROUPS = 512;
/** The fewest reduction steps a split is given. */
const MIN_SPLIT = 256;
const TILE = 64;
const TILE_K = 16;

const POSITION_UNIFORMS = "outHeight : i32, outWidth : i32, inHeight : i32, inWidth : i32, " +
  "strideHeight : i32, strideWidth : i32, padTop : i32, padLeft : i32,";

// x's input coordinates for filter tap (kh, kw) at output position k = (b, oy, ox), as the flat
// index of its first channel, or −1 in the padding.
const INPUT_AT = `
fn inputAt(kh : i32, kw : i32, k : i32, channels : i32) -> i32 {
  let ox = k % uniforms.outWidth;
  let oy = (k / uniforms.outWidth) % uniforms.outHeight;
  let b = k / (uniforms.outWidth * uniforms.outHeight);
  let iy = oy * uniforms.strideHeight - uniforms.padTop + kh;
  let ix = ox * uniforms.strideWidth - uniforms.padLeft + kw;
  if (iy < 0 || iy >= uniforms.inHeight || ix < 0 || ix >= uniforms.inWidth) {
    return -1;
  }
  return ((b * uniforms.inHeight + iy) * uniforms.inWidth + ix) * channels;
}`;

// group = (split, row tile, column tile); out[split][m][n] (or dW itself without splits)
const CONV_FILTER_GEMM: MultiOutputSpec = {
  key: "et_conv2d_filter_gemm",
  outputs: ["Out"],
  inputs: ["X", "Dy"],
  uniforms: "m : i32, n : i32, k : i32, kPerSplit : i32, inChannels : i32, filterWidth : i32, " +
    POSITION_UNIFORMS,
  per: { lanes: 256 },
  declarations: `
var<workgroup> tileA : array<f32, ${TILE_K * TILE}>;
var<workgroup> tileB : array<f32, ${TILE_K * TILE}>;
${INPUT_AT}`,
  body: `let tilesN = (uniforms.n + ${TILE - 1}) / ${TILE};
    let tilesM = (uniforms.m + ${TILE - 1}) / ${TILE};
    let tileN = group % tilesN;
    let tileM = (group / tilesN) % tilesM;
    let split = group / (tilesN * tilesM);
    let kBegin = split * uniforms.kPerSplit;
    let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.k);
    let row0 = (lane / 16) * 4;
    let col0 = (lane % 16) * 4;
    // A lane stages the same filter row m = (kh, kw, ci) and dy column n of every slice (256
    // is a multiple of the tile width), so their decompositions stay out of the loop.
    let along = lane % ${TILE};
    let m = tileM * ${TILE} + along;
    let n = tileN * ${TILE} + along;
    let ci = m % uniforms.inChannels;
    let tap = m / uniforms.inChannels;
    let kh = tap / uniforms.filterWidth;
    let kw = tap % uniforms.filterWidth;
    var acc : array<f32, 16>;
    for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TILE_K}) {
      for (var t = 0; t < ${(TILE_K * TILE) / 256}; t = t + 1) {
        let e = lane + t * 256;
        let k = k0 + e / ${TILE};
        var a = 0.0;
        var b = 0.0;
        if (k < kEnd) {
          if (m < uniforms.m) {
            let at = inputAt(kh, kw, k, uniforms.inChannels);
            if (at >= 0) {
              a = X[at + ci];
            }
          }
          if (n < uniforms.n) {
            b = Dy[k * uniforms.n + n];
          }
        }
        tileA[e] = a;
        tileB[e] = b;
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TILE_K}; kk = kk + 1) {
        for (var i = 0; i < 4; i = i + 1) {
          let a = tileA[kk * ${TILE} + row0 + i];
          for (var j = 0; j < 4; j = j + 1) {
            acc[i * 4 + j] = acc[i * 4 + j] + a * tileB[kk * ${TILE} + col0 + j];
          }
        }
      }
      workgroupBarrier();
    }
    for (var i = 0; i < 4; i = i + 1) {
      let m = tileM * ${TILE} + row0 + i;
      for (var j = 0; j < 4; j = j + 1) {
        let n = tileN * ${TILE} + col0 + j;
        if (m < uniforms.m && n < uniforms.n) {
          Out[(split * uniforms.m + m) * uniforms.n + n] = acc[i * 4 + j];
        }
      }
    }`,
};

// group = (split, tap, block of 64 channels), one lane per channel; out[split][tap][c]
const DEPTHWISE_FILTER: MultiOutputSpec = {
  key: "et_depthwise_filter",
  outputs: ["Out"],
  inputs: ["X", "Dy"],
  uniforms: "channels : i32, taps : i32, k : i32, kPerSplit : i32, filterWidth : i32, " +
    POSITION_UNIFORMS,
  per: { lanes: 64 },
  body: `let blocks = (uniforms.channels + 63) / 64;
    let c = (group % blocks) * 64 + lane;
    let tap = (group / blocks) % uniforms.taps;
    let split = group / (blocks * uniforms.taps);
    let kBegin = split * uniforms.kPerSplit;
    let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.k);
    let kh = tap / uniforms.filterWidth;
    let kw = tap % uniforms.filterWidth;
    if (c < uniforms.channels) {
      // the positions k = (b, oy, ox) in order, with carries instead of a division per step
      var ox = kBegin % uniforms.outWidth;
      var oy = (kBegin / uniforms.outWidth) % uniforms.outHeight;
      var b = kBegin / (uniforms.outWidth * uniforms.outHeight);
      var sum = 0.0;
      for (var k = kBegin; k < kEnd; k = k + 1) {
        let iy = oy * uniforms.strideHeight - uniforms.padTop + kh;
        let ix = ox * uniforms.strideWidth - uniforms.padLeft + kw;
        if (iy >= 0 && iy < uniforms.inHeight && ix >= 0 && ix < uniforms.inWidth) {
          let at = ((b * uniforms.inHeight + iy) * uniforms.inWidth + ix) * uniforms.channels;
          sum = sum + X[at + c] * Dy[k * uniforms.channels + c];
        }
        ox = ox + 1;
        if (ox == uniforms.outWidth) {
          ox = 0;
          oy = oy + 1;
          if (oy == uniforms.outHeight) {
            oy = 0;
            b = b + 1;
          }
        }
      }
      Out[(split * uniforms.taps + tap) * uniforms.channels + c] = sum;
    }`,
};

const SUM_SPLITS: MultiOutputSpec = {
  key: "et_sum_splits",
  outputs: ["Out"],
  inputs: ["Partial"],
  uniforms: "splits : i32,",
  per: "element",
  body: `var sum = 0.0;
    for (var s = 0; s < uniforms.splits; s = s + 1) {
      sum = sum + Partial[s * uniforms.count + index];
    }
    Out[index] = sum;`,
};

/** How a reduction of `k` steps is split so `groups` workgroups per split reach the target. */
function splitReduction(
  k: number,
  groups: number,
  align: number,
): { splits: number; kPerSplit: number } {
  const wanted = Math.ceil(TARGET_GROUPS / groups);
  const most = Math.max(1, Math.floor(k / MIN_SPLIT));
  const even = Math.ceil(k / Math.max(1, Math.min(wanted, most)));
  const kPerSplit = Math.ceil(even / align) * align;
  return { splits: Math.ceil(k / kPerSplit), kPerSplit };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

interface FilterGradAttrs {
  readonly strides: number | [number, number];
  readonly pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  readonly dimRoundingMode?: "floor" | "round" | "ceil";
  readonly filterShape: [number, number, number, number];
}

/** Run `spec` into `[splits, …filterShape]` partial sums, then sum them unless one. */
function withSplits(
  backend: unknown,
  spec: MultiOutputSpec,
  inputs: tf.TensorInfo[],
  run: { filterShape: number[]; groups: number; splits: number; uniforms: UniformValue[] },
): tf.TensorInfo {
  const size = run.filterShape.reduce((a, b) => a * b, 1);
  const [partial] = runMultiOutput(backend, spec, inputs, {
    outputShapes: [run.splits === 1 ? run.filterShape : [run.splits * size]],
    count: run.groups * run.splits,
    uniforms: run.uniforms,
  });
  if (run.splits === 1) return partial;
  const [sum] = runMultiOutput(backend, SUM_SPLITS, [partial], {
    outputShapes: [run.filterShape],
    count: size,
    uniforms: uniformValues("int32", [run.splits]),
  });
  (backend as WebGPUBackendLike).disposeData(partial.dataId);
  return sum;
}

function convInfoOf(x: tf.TensorInfo, attrs: FilterGradAttrs, depthwise: boolean) {
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    "channelsLast",
  );
}

function positionUniforms(info: tf.backend_util.Conv2DInfo): UniformValue[] {
  return uniformValues("int32", [
    info.outHeight,
    info.outWidth,
    info.inHeight,
    info.inWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

function conv2dFilterGrad(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs as unknown as FilterGradAttrs;
  const info = convInfoOf(x, attrs, false);
  const m = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const k = info.batchSize * info.outHeight * info.outWidth;
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  const { splits, kPerSplit } = splitReduction(k, tiles, TILE_K);
  return withSplits(args.backend, CONV_FILTER_GEMM, [x, dy], {
    filterShape: [...attrs.filterShape],
    groups: tiles,
    splits,
    uniforms: [
      ...uniformValues("int32", [m, n, k, kPerSplit, info.inChannels, info.filterWidth]),
      ...positionUniforms(info),
    ],
  });
}

function depthwiseFilterGrad(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs as unknown as FilterGradAttrs;
  const info = convInfoOf(x, attrs, true);
  const taps = info.filterHeight * info.filterWidth;
  const k = info.batchSize * info.outHeight * info.outWidth;
  const groups = taps * Math.ceil(info.inChannels / 64);
  const { splits, kPerSplit } = splitReduction(k, groups, 1);
  return withSplits(args.backend, DEPTHWISE_FILTER, [x, dy], {
    filterShape: [...attrs.filterShape],
    groups,
    splits,
    uniforms: [
      ...uniformValues("int32", [info.inChannels, taps, k, kPerSplit, info.filterWidth]),
      ...positionUniforms(info),
    ],
  });
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { convFilterGradWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(convFilterGradWebgpuKernels().length === 2);
 * ```
 */
export function convFilterGradWebgpuKernels(): tf.KernelConfig[] {
  return [
    {
      kernelName: FUSED_KERNELS.conv2dFilterGrad,
      backendName: "webgpu",
      kernelFunc: conv2dFilterGrad as never,
    },
    {
      kernelName: FUSED_KERNELS.depthwiseFilterGrad,
      backendName: "webgpu",
      kernelFunc: depthwiseFilterGrad as never,
    },
  ];
}

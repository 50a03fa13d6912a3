/**
 * MaxPool and its gradient on the native backend, in plain JavaScript over NHWC with the
 * channel loop innermost (contiguous in memory). tfjs-cpu's versions walk channels outermost
 * and read through `TensorBuffer.get`, and its gradient visits every input pixel's flipped
 * window: on ResNet's stem pool at 128 px (batch 64, 64×64×64 → 32×32×64) that gradient alone
 * took 3.6 s of a 4.2 s step.
 *
 * Semantics are tfjs-cpu's, so the two agree value for value: the window is clipped to the
 * image (padding never wins), the maximum is the first strictly larger value in row-major
 * window order starting from −∞ (NaN never wins; an all-NaN window gives −∞ and no gradient),
 * and the gradient of each output goes to that one position, summed where windows overlap.
 *
 * @module
 */
import { backend_util, type KernelConfig, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, cpuKernel, f32, type KernelArgs, output, sizeOf } from "./kernel_util.ts";
import { take } from "./pool.ts";

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function poolInfo(x: TensorInfo, args: KernelArgs): backend_util.Conv2DInfo {
  const a = args.attrs as unknown as PoolAttrs;
  return backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

/**
 * Visit every output position with the clipped window it reads: `visit(outOffset, rows, cols)`
 * where `rows`/`cols` are the half-open input ranges and `outOffset` the output element index
 * of channel 0.
 */
function forEachWindow(
  info: backend_util.Conv2DInfo,
  visit: (b: number, outOffset: number, r0: number, r1: number, c0: number, c1: number) => void,
): void {
  const { batchSize, outHeight, outWidth, outChannels, inHeight, inWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const rc = yr * strideHeight - top;
      const r0 = Math.max(0, rc), r1 = Math.min(inHeight, rc + filterHeight);
      for (let yc = 0; yc < outWidth; yc++) {
        const cc = yc * strideWidth - left;
        const c0 = Math.max(0, cc), c1 = Math.min(inWidth, cc + filterWidth);
        visit(b, ((b * outHeight + yr) * outWidth + yc) * outChannels, r0, r1, c0, c1);
      }
    }
  }
}

/** Max pooling, NHWC float32. */
function maxPoolForward(args: KernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (!allFloat32(x)) return cpuKernel("MaxPool")(args) as TensorInfo;
  const info = poolInfo(x, args);
  const xs = f32(args.backend, x);
  const channels = info.inChannels, inWidth = info.inWidth;
  const imageSize = info.inHeight * inWidth * channels;
  const out = take(args.backend, sizeOf(info.outShape));
  out.fill(Number.NEGATIVE_INFINITY);
  forEachWindow(info, (b, o, r0, r1, c0, c1) => {
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const i = b * imageSize + (r * inWidth + c) * channels;
        for (let d = 0; d < channels; d++) {
          const v = xs[i + d];
          if (v > out[o + d]) out[o + d] = v;
        }
      }
    }
  });
  return output(args.backend, info.outShape, out);
}

/** The gradient of {@link maxPoolForward}: each output's `dy` added at its window's first maximum. */
function maxPoolBackward(args: KernelArgs): TensorInfo {
  const { dy, input } = args.inputs as Record<string, TensorInfo>;
  if (!allFloat32(dy, input)) return cpuKernel("MaxPoolGrad")(args) as TensorInfo;
  const info = poolInfo(input, args);
  const xs = f32(args.backend, input), dys = f32(args.backend, dy);
  const channels = info.inChannels, inWidth = info.inWidth;
  const imageSize = info.inHeight * inWidth * channels;
  const dx = take(args.backend, sizeOf(input.shape));
  dx.fill(0);
  const best = new Float32Array(channels);
  const at = new Int32Array(channels);
  forEachWindow(info, (b, o, r0, r1, c0, c1) => {
    best.fill(Number.NEGATIVE_INFINITY);
    at.fill(-1);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const i = b * imageSize + (r * inWidth + c) * channels;
        for (let d = 0; d < channels; d++) {
          const v = xs[i + d];
          if (v > best[d]) {
            best[d] = v;
            at[d] = i + d;
          }
        }
      }
    }
    for (let d = 0; d < channels; d++) if (at[d] >= 0) dx[at[d]] += dys[o + d];
  });
  return output(args.backend, input.shape, dx);
}

/**
 * The MaxPool kernels registered under the native backend's name.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs";
 * import { registerNativeBackend } from "@efficienttrain/backend-native";
 * if (await registerNativeBackend().then(() => true, () => false)) {
 *   await tf.setBackend("native");
 *   const x = tf.tensor4d([1, 5, 3, 2], [1, 2, 2, 1]);
 *   const dx = tf.grad((t) => tf.maxPool(t as tf.Tensor4D, 2, 2, "valid"))(x);
 *   console.assert(dx.dataSync().join() === "0,1,0,0");
 * }
 * ```
 */
export function maxPoolKernels(backendName: string): KernelConfig[] {
  return [
    { kernelName: "MaxPool", backendName, kernelFunc: maxPoolForward as never },
    { kernelName: "MaxPoolGrad", backendName, kernelFunc: maxPoolBackward as never },
  ];
}

/**
 * `Conv2D` and `FusedConv2D` for tfjs-wasm with `pad: "same"` made explicit. tfjs-wasm 4.22
 * hands XNNPACK its TensorFlow-SAME flag, and XNNPACK's padding for it disagrees with
 * TensorFlow's when a stride exceeds the filter (found by the shape sweep: a 3×3 input, a
 * 2×2 filter at stride 3 gives wrong values). tfjs-core's own padding for that case is
 * passed instead as explicit top/bottom/left/right, which tfjs-wasm forwards unchanged.
 *
 * @module
 */
import { backend_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { runWasm, type WasmKernelArgs } from "./heap.ts";

type ConvAttrs = {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: unknown;
  dimRoundingMode?: "floor" | "round" | "ceil";
};

function withExplicitSame(kernelName: string, args: WasmKernelArgs): TensorInfo {
  const attrs = args.attrs as unknown as ConvAttrs;
  const { x, filter } = args.inputs;
  if (attrs.pad === "same") {
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      "same",
      attrs.dimRoundingMode,
    );
    if (info.strideHeight > info.filterHeight || info.strideWidth > info.filterWidth) {
      const p = info.padInfo;
      const pad = [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]];
      return runWasm(kernelName, args.backend, args.inputs, { ...args.attrs, pad } as never);
    }
  }
  return runWasm(kernelName, args.backend, args.inputs, args.attrs);
}

/**
 * The kernel function registered as `Conv2D` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
 * const y = tf.conv2d(x, tf.ones([2, 2, 1, 1]), 3, "same");
 * console.assert(y.dataSync().join() === "12");
 * ```
 */
export function conv2dWasm(args: WasmKernelArgs): TensorInfo {
  return withExplicitSame("Conv2D", args);
}

/**
 * The kernel function registered as `FusedConv2D` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
 * const y = tf.fused.conv2d({ x, filter: tf.ones([2, 2, 1, 1]), strides: 3, pad: "same", bias: tf.tensor1d([1]) });
 * console.assert(y.dataSync().join() === "13");
 * ```
 */
export function fusedConv2dWasm(args: WasmKernelArgs): TensorInfo {
  return withExplicitSame("FusedConv2D", args);
}

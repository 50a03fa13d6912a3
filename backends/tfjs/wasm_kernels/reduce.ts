/**
 * `Sum` and `Mean` for tfjs-wasm over a contiguous block of axes that is not innermost (the
 * batch-norm statistics and their gradients over [N, H, W] of NHWC, global average pooling
 * over [H, W], bias gradients over the rows of a matrix). tfjs-wasm first transposes the
 * whole input so the reduced axes come last; this walks the input once instead, adding
 * channel rows into a float64 accumulator. Other reductions go to tfjs-wasm's kernel.
 *
 * @module
 */
import { backend_util, type SumAttrs, type TensorInfo, util } from "@tensorflow/tfjs-core";
import { alloc, f32, runWasm, type WasmKernelArgs } from "./heap.ts";

function reduceMiddle(args: WasmKernelArgs, name: "Sum" | "Mean"): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const shape = x.shape;
  const axes = util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  const first = axes[0], last = axes[axes.length - 1];
  const contiguous = axes.length > 0 && last - first + 1 === axes.length;
  if (x.dtype !== "float32" || !contiguous || last === shape.length - 1) {
    return runWasm(name, backend, { x }, { axis, keepDims });
  }
  const outer = shape.slice(0, first).reduce((a, b) => a * b, 1);
  const count = shape.slice(first, last + 1).reduce((a, b) => a * b, 1);
  const inner = shape.slice(last + 1).reduce((a, b) => a * b, 1);
  const outShape = keepDims
    ? backend_util.expandShapeToKeepDim(shape.filter((_, i) => !axes.includes(i)), axes)
    : shape.filter((_, i) => !axes.includes(i));
  const out = alloc(backend, outShape);
  const xv = f32(backend, x), ov = f32(backend, out);
  const acc = new Float64Array(inner);
  const scale = name === "Mean" && count > 0 ? 1 / count : 1;
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let s = o * count * inner;
    for (let r = 0; r < count; r++, s += inner) {
      for (let j = 0; j < inner; j++) acc[j] += xv[s + j];
    }
    const d = o * inner;
    for (let j = 0; j < inner; j++) ov[d + j] = acc[j] * scale;
  }
  return out;
}

/**
 * The kernel function registered as `Sum` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const s = tf.sum(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), [0, 1]);
 * console.assert(s.dataSync().join() === "16,20");
 * ```
 */
export function sumWasm(args: WasmKernelArgs): TensorInfo {
  return reduceMiddle(args, "Sum");
}

/**
 * The kernel function registered as `Mean` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const m = tf.mean(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]), [1, 2]);
 * console.assert(m.dataSync().join() === "4,5");
 * ```
 */
export function meanWasm(args: WasmKernelArgs): TensorInfo {
  return reduceMiddle(args, "Mean");
}

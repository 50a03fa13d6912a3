/**
 * `Transpose` for tfjs-wasm. Its own kernel has fast 3-d and 4-d paths but a slow 2-d one and
 * an element-by-element path above rank 4 (~7 M elements/s for attention's
 * [B, T, 3, heads, d] → [3, B, heads, T, d]). This one first merges axes that stay adjacent
 * (and drops size-1 axes), then tiles 2-d transposes in JS, hands rank 3–4 to tfjs-wasm's
 * fast paths, and walks the output in order for higher ranks, copying whole runs when the
 * innermost axis stays innermost.
 *
 * @module
 */
import type { TensorInfo, TransposeAttrs, TypedArray } from "@tensorflow/tfjs-core";
import { alloc, relabel, runWasm, type WasmKernelArgs, withShape } from "./heap.ts";
import { transposeMatrix } from "./layout.ts";

// Below this run length a scalar loop beats creating a subarray per run.
const SMALL_RUN = 16;

/**
 * Drop size-1 axes and merge axes that stay adjacent and in order under `perm`: the smallest
 * equivalent transpose.
 *
 * @example
 * ```ts
 * import { simplifyPermutation } from "./transpose.ts";
 * const s = simplifyPermutation([2, 3, 4, 5], [0, 2, 3, 1]); // NCHW → NHWC
 * console.assert(s.shape.join() === "2,3,20" && s.perm.join() === "0,2,1");
 * ```
 */
export function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = shape.map((d) => d !== 1);
  const renumber = new Map<number, number>();
  let next = 0;
  shape.forEach((_, i) => {
    if (keep[i]) renumber.set(i, next++);
  });
  const s1 = shape.filter((_, i) => keep[i]);
  const p1 = perm.filter((a) => keep[a]).map((a) => renumber.get(a)!);
  // Merge runs a, a+1, … that appear consecutively in p1.
  const groups: number[][] = [];
  for (const a of p1) {
    const g = groups[groups.length - 1];
    if (g !== undefined && g[g.length - 1] + 1 === a) g.push(a);
    else groups.push([a]);
  }
  const order = groups.map((g) => g[0]).sort((a, b) => a - b);
  const index = new Map(order.map((a, i) => [a, i]));
  const newShape = order.map((a) => groups.find((g) => g[0] === a)!.reduce((n, i) => n * s1[i], 1));
  return { shape: newShape, perm: groups.map((g) => index.get(g[0])!) };
}

/**
 * The kernel function registered as `Transpose` on `wasm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * await initBackend("wasm");
 * const t = tf.transpose(tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]), [2, 0, 1]);
 * console.assert(t.dataSync().join() === "1,4,2,5,3,6");
 * ```
 */
export function transposeWasm(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const { x } = args.inputs;
  const { perm } = args.attrs as unknown as TransposeAttrs;
  if (x.dtype === "string" || x.dtype === "complex64") {
    return runWasm("Transpose", backend, { x }, { perm });
  }
  const outShape = perm.map((a) => x.shape[a]);
  const { shape, perm: p } = simplifyPermutation(x.shape, perm);
  const r = shape.length;
  if (r === 3 || r === 4) {
    return relabel(
      runWasm("Transpose", backend, { x: withShape(x, shape) }, { perm: p }),
      outShape,
    );
  }
  const out = alloc(backend, outShape, x.dtype);
  const size = outShape.reduce((a, b) => a * b, 1);
  if (size === 0) return out;
  const src = backend.typedArrayFromHeap(x) as TypedArray;
  const dst = backend.typedArrayFromHeap(out) as TypedArray;
  if (r <= 1) {
    dst.set(src.subarray(0, size));
    return out;
  }
  if (r === 2) {
    transposeMatrix(src as Float32Array, dst as Float32Array, shape[0], shape[1]); // any dtype
    return out;
  }
  const inStride = new Array<number>(r);
  inStride[r - 1] = 1;
  for (let d = r - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  const oShape = p.map((a) => shape[a]);
  const oStride = p.map((a) => inStride[a]); // input stride of each output axis
  const lastPreserved = p[r - 1] === r - 1;
  // Odometer over output axes 0 … r−2; the innermost output axis is the inner loop.
  const outerDims = r - 1;
  const idx = new Array<number>(outerDims).fill(0);
  const n = oShape[r - 1], step = oStride[r - 1];
  let offset = 0;
  for (let o = 0; o < size; o += n) {
    if (lastPreserved) {
      if (n >= SMALL_RUN) dst.set(src.subarray(offset, offset + n), o);
      else for (let k = 0; k < n; k++) dst[o + k] = src[offset + k];
    } else {
      for (let k = 0, s = offset; k < n; k++, s += step) dst[o + k] = src[s];
    }
    for (let d = outerDims - 1; d >= 0; d--) {
      offset += oStride[d];
      if (++idx[d] < oShape[d]) break;
      offset -= oStride[d] * oShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

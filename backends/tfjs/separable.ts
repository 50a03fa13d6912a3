/**
 * Separable linear image operators y = Σ_s L_s · x · R_sᵀ as two GEMMs, shared by the
 * low-frequency crop (complex DFT-crop matrices, s ∈ {re, im}) and the matrix resizes
 * (s = 1), plus the per-backend cache of their float32 matrices.
 *
 * The complex case needs no complex arithmetic and no transposes: the H-axis matrix stacks
 * Re(A_h) and Im(A_h) row-interleaved ([2B_h, H]) so the first product comes out as
 * [B_h, 2, W] per plane, which is contiguous with the W-axis matrix [Re(A_w), −Im(A_w)]
 * ([B_w, 2W]); the second product then contracts over (s, w) at once:
 * Re(A_h x A_wᵀ) = Re A_h·x·Re A_wᵀ − Im A_h·x·Im A_wᵀ.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ComplexMatrix, type ImageGeometry, InvalidArgumentError } from "@efficienttrain/core";

/** The two float32 factors of a separable operator; `parts` is 1 (real) or 2 (complex). */
export interface SeparableFactors {
  /** [parts·outH, H]: the H-axis matrix, real and imaginary rows interleaved. */
  readonly left: tf.Tensor2D;
  /** [outW, parts·W]: the W-axis matrix, [Re | −Im] side by side. */
  readonly right: tf.Tensor2D;
  readonly parts: 1 | 2;
}

const cache = new Map<string, tf.Tensor2D>();

/**
 * A cached float32 tensor built once per (backend, key). Cached tensors are `tf.keep`-ed so
 * an enclosing `tf.tidy` does not free them; a disposed entry (engine reset) is rebuilt.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { cachedMatrix } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const a = cachedMatrix("doc:eye2", () => ({ values: new Float32Array([1, 0, 0, 1]), rows: 2, cols: 2 }));
 * console.assert(a === cachedMatrix("doc:eye2", () => { throw new Error("not rebuilt"); }));
 * ```
 */
export function cachedMatrix(
  key: string,
  build: () => { values: Float32Array; rows: number; cols: number },
): tf.Tensor2D {
  const full = `${tf.getBackend()}|${key}`;
  const hit = cache.get(full);
  if (hit && !hit.isDisposed) return hit;
  const { values, rows, cols } = build();
  const t = tf.keep(tf.tensor2d(values, [rows, cols], "float32"));
  cache.set(full, t);
  return t;
}

/**
 * Free every cached crop/resize matrix (all backends). Returns how many were freed.
 *
 * @example
 * ```ts
 * import { clearSeparableCache } from "@efficienttrain/backend-tfjs";
 * console.assert(clearSeparableCache() >= 0);
 * ```
 */
export function clearSeparableCache(): number {
  let freed = 0;
  for (const t of cache.values()) {
    if (!t.isDisposed) {
      t.dispose();
      freed++;
    }
  }
  cache.clear();
  return freed;
}

/**
 * Lay out the H-axis factor: rows 2k, 2k+1 = Re A[k], Im A[k] (or just Re A when real).
 *
 * @example
 * ```ts
 * import { leftFactorValues } from "@efficienttrain/backend-tfjs";
 * const v = leftFactorValues({ rows: 1, cols: 2, re: new Float64Array([1, 2]), im: new Float64Array([3, 4]) });
 * console.assert(v.join() === "1,2,3,4");
 * ```
 */
export function leftFactorValues(m: ComplexMatrix): Float32Array {
  if (!m.im) return Float32Array.from(m.re);
  const out = new Float32Array(2 * m.rows * m.cols);
  for (let k = 0; k < m.rows; k++) {
    out.set(m.re.subarray(k * m.cols, (k + 1) * m.cols), 2 * k * m.cols);
    out.set(m.im.subarray(k * m.cols, (k + 1) * m.cols), (2 * k + 1) * m.cols);
  }
  return out;
}

/**
 * Lay out the W-axis factor: row l = [Re A[l] | −Im A[l]] (or Re A[l] when real).
 *
 * @example
 * ```ts
 * import { rightFactorValues } from "@efficienttrain/backend-tfjs";
 * const v = rightFactorValues({ rows: 1, cols: 2, re: new Float64Array([1, 2]), im: new Float64Array([3, 4]) });
 * console.assert(v.join() === "1,2,-3,-4");
 * ```
 */
export function rightFactorValues(m: ComplexMatrix): Float32Array {
  if (!m.im) return Float32Array.from(m.re);
  const out = new Float32Array(2 * m.rows * m.cols);
  for (let l = 0; l < m.rows; l++) {
    for (let w = 0; w < m.cols; w++) {
      out[2 * l * m.cols + w] = m.re[l * m.cols + w]!;
      out[(2 * l + 1) * m.cols + w] = -m.im[l * m.cols + w]!;
    }
  }
  return out;
}

/**
 * y = Σ_s L_s x R_sᵀ on every plane of a float32 batch, in its own layout, with two
 * (broadcast-batched) GEMMs. Must be called inside `tf.tidy` or by a caller that disposes.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { applySeparable } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const eye = tf.tensor2d([1, 0, 0, 1], [2, 2]);
 * const g = { layout: "NHWC", n: 1, h: 2, w: 2, c: 1 } as const;
 * const y = applySeparable(x, g, { left: eye, right: eye, parts: 1 });
 * console.assert(y.dataSync().join() === "1,2,3,4");
 * ```
 */
export function applySeparable(
  x: tf.Tensor4D,
  g: ImageGeometry,
  factors: SeparableFactors,
): tf.Tensor4D {
  const { left, right, parts } = factors;
  const outH = left.shape[0] / parts, outW = right.shape[0];
  if (left.shape[1] !== g.h || right.shape[1] !== parts * g.w) {
    throw new InvalidArgumentError({
      argument: "factors",
      value: `[${left.shape}] / [${right.shape}]`,
      reason: `do not fit images of H×W = ${g.h}×${g.w}`,
    });
  }
  return tf.tidy(() => {
    const l3 = tf.reshape(left, [1, parts * outH, g.h]);
    if (g.layout === "NCHW") {
      const t = tf.matMul(l3, tf.reshape(x, [g.n * g.c, g.h, g.w]));
      const y = tf.matMul(tf.reshape(t, [g.n * g.c * outH, parts * g.w]), right, false, true);
      return tf.reshape(y, [g.n, g.c, outH, outW]);
    }
    const t = tf.matMul(l3, tf.reshape(x, [g.n, g.h, g.w * g.c]));
    // contracting W with C innermost as [W]×[W, C] products is slow for small C (3 columns
    // per GEMM), so move C before W on the (smaller) intermediate and run one 2-D GEMM
    const tc = tf.transpose(tf.reshape(t, [g.n * parts * outH, g.w, g.c]), [0, 2, 1]);
    const z = tf.reshape(tc, [g.n * outH, parts, g.c, g.w]);
    const zc = parts === 1 ? z : tf.transpose(z, [0, 2, 1, 3]);
    const y2 = tf.matMul(tf.reshape(zc, [g.n * outH * g.c, parts * g.w]), right, false, true);
    const y = tf.transpose(tf.reshape(y2, [g.n * outH, g.c, outW]), [0, 2, 1]);
    return tf.reshape(y, [g.n, outH, outW, g.c]);
  });
}

/**
 * Throw an {@link InvalidArgumentError} if a tensor holds NaN or ±Infinity (x·0 sums to 0
 * exactly when every element is finite; one scalar is read back).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { assertFiniteTensor } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * assertFiniteTensor(tf.ones([2]), "images");
 * ```
 */
export function assertFiniteTensor(x: tf.Tensor, argument: string): void {
  const probe = tf.tidy(() => tf.sum(tf.mul(x, tf.scalar(0))));
  const v = probe.dataSync()[0]!;
  probe.dispose();
  if (!Number.isFinite(v)) {
    throw new InvalidArgumentError({
      argument,
      value: "a tensor holding NaN or ±Infinity",
      reason: "images must be finite (checkFinite is on)",
    });
  }
}

/**
 * Layout shuffles (transposes with optional cropping) in plain JS. tfjs-wasm's Transpose
 * kernel moves ~150 M floats/s on large 2-d transposes, slower than these loops.
 *
 * @module
 */

// Below this run length a scalar loop beats creating a subarray per run.
const SMALL_RUN = 16;

/**
 * `[A, B, inner]` → `[B, A, inner]`.
 *
 * @example
 * ```ts
 * import { swapLeadingAxes } from "./layout.ts";
 * const out = new Float32Array(6);
 * swapLeadingAxes(Float32Array.from([1, 2, 3, 4, 5, 6]), out, [2, 3, 1]);
 * console.assert(out.join() === "1,4,2,5,3,6");
 * ```
 */
export function swapLeadingAxes(
  src: Float32Array,
  dst: Float32Array,
  [A, B, inner]: readonly [number, number, number],
): void {
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      const s = (a * B + b) * inner, d = (b * A + a) * inner;
      if (inner < SMALL_RUN) {
        for (let i = 0; i < inner; i++) dst[d + i] = src[s + i];
      } else {
        dst.set(src.subarray(s, s + inner), d);
      }
    }
  }
}

/**
 * NHWC `[N, H, W, C]` → `[C, Hc, Wc, N]`, keeping only rows < Hc and columns < Wc.
 *
 * @example
 * ```ts
 * import { nhwcToCHWN } from "./layout.ts";
 * const out = new Float32Array(4);
 * nhwcToCHWN(Float32Array.from([1, 2, 3, 4]), out, [2, 1, 1, 2], [1, 1]);
 * console.assert(out.join() === "1,3,2,4");
 * ```
 */
export function nhwcToCHWN(
  src: Float32Array,
  dst: Float32Array,
  [N, H, W, C]: readonly [number, number, number, number],
  [Hc, Wc]: readonly [number, number],
): void {
  const plane = Hc * Wc * N;
  for (let y = 0; y < Hc; y++) {
    for (let x = 0; x < Wc; x++) {
      const pixel = y * W + x, dp = (y * Wc + x) * N;
      for (let c = 0; c < C; c++) {
        const d = c * plane + dp;
        let s = pixel * C + c;
        for (let n = 0; n < N; n++, s += H * W * C) dst[d + n] = src[s];
      }
    }
  }
}

/**
 * Filter `[kh, kw, Ci, Co]` → rotated by 180° with channels swapped, `[kh, kw, Co, Ci]`: the
 * filter whose stride-1 convolution of dy is the input gradient.
 *
 * @example
 * ```ts
 * import { flipFilter } from "./layout.ts";
 * const out = new Float32Array(2);
 * flipFilter(Float32Array.from([1, 2]), out, [2, 1, 1, 1]);
 * console.assert(out.join() === "2,1");
 * ```
 */
export function flipFilter(
  src: Float32Array,
  dst: Float32Array,
  [kh, kw, ci, co]: readonly [number, number, number, number],
): void {
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const s0 = (y * kw + x) * ci * co;
      const d0 = ((kh - 1 - y) * kw + (kw - 1 - x)) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[d0 + o * ci + i] = src[s0 + i * co + o];
      }
    }
  }
}

/**
 * Row-major `[rows, cols]` → `[cols, rows]`, in 32×32 tiles so both sides stay in cache.
 * `src` and `dst` may be subarrays (one matrix of a batch).
 *
 * @example
 * ```ts
 * import { transposeMatrix } from "./layout.ts";
 * const out = new Float32Array(6);
 * transposeMatrix(Float32Array.from([1, 2, 3, 4, 5, 6]), out, 2, 3);
 * console.assert(out.join() === "1,4,2,5,3,6");
 * ```
 */
export function transposeMatrix(
  src: Float32Array | Int32Array | Uint8Array,
  dst: Float32Array | Int32Array | Uint8Array,
  rows: number,
  cols: number,
): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s + c];
      }
    }
  }
}

/**
 * im2col / col2im for NHWC convolutions: the patch matrix whose rows are output pixels and
 * whose columns are (ky, kx, ci) in the filter's [kh, kw, Ci, Co] order, so that a
 * convolution is `cols[M, K] · W[K, Co]`.
 *
 * @module
 */

/** The geometry both directions need (a subset of tfjs' `Conv2DInfo`). */
export interface PatchGeometry {
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
  readonly padTop: number;
  readonly padLeft: number;
}

// Below this many channels a scalar loop beats creating a subarray per run.
const SMALL_RUN = 16;

/**
 * Fill `cols` ([images·Ho·Wo, kh·kw·Ci]) with the patches of images [n0, n1) of `x` (NHWC).
 * Out-of-image taps are zero.
 *
 * @example
 * ```ts
 * import { im2col } from "./im2col.ts";
 * const g = { inHeight: 2, inWidth: 2, inChannels: 1, outHeight: 1, outWidth: 1,
 *   filterHeight: 2, filterWidth: 2, strideHeight: 1, strideWidth: 1, dilationHeight: 1,
 *   dilationWidth: 1, padTop: 0, padLeft: 0 };
 * const cols = new Float32Array(4);
 * im2col(new Float32Array([1, 2, 3, 4]), cols, g, { n0: 0, n1: 1 });
 * console.assert(cols.join() === "1,2,3,4");
 * ```
 */
export function im2col(
  x: Float32Array,
  cols: Float32Array,
  g: PatchGeometry,
  range: { n0: number; n1: number },
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw, padTop: pt, padLeft: pl } = g;
  const K = kh * kw * C;
  let row = 0;
  for (let n = range.n0; n < range.n1; n++) {
    const xn = n * H * W * C;
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, row++) {
        let dst = row * K;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) {
            cols.fill(0, dst, dst + kw * C);
            dst += kw * C;
            continue;
          }
          const xrow = xn + iy * W * C;
          for (let kx = 0; kx < kw; kx++, dst += C) {
            const ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= W) {
              cols.fill(0, dst, dst + C);
            } else if (C < SMALL_RUN) {
              const src = xrow + ix * C;
              for (let c = 0; c < C; c++) cols[dst + c] = x[src + c];
            } else {
              const src = xrow + ix * C;
              cols.set(x.subarray(src, src + C), dst);
            }
          }
        }
      }
    }
  }
}

/**
 * Scatter-add `cols` ([images·Ho·Wo, kh·kw·Ci]) back into `dx` (NHWC) for images [n0, n1):
 * the adjoint of {@link im2col}. `dx` must be zeroed by the caller for those images.
 *
 * @example
 * ```ts
 * import { col2im } from "./im2col.ts";
 * const g = { inHeight: 2, inWidth: 2, inChannels: 1, outHeight: 1, outWidth: 1,
 *   filterHeight: 2, filterWidth: 2, strideHeight: 1, strideWidth: 1, dilationHeight: 1,
 *   dilationWidth: 1, padTop: 0, padLeft: 0 };
 * const dx = new Float32Array(4);
 * col2im(new Float32Array([1, 2, 3, 4]), dx, g, { n0: 0, n1: 1 });
 * console.assert(dx.join() === "1,2,3,4");
 * ```
 */
export function col2im(
  cols: Float32Array,
  dx: Float32Array,
  g: PatchGeometry,
  range: { n0: number; n1: number },
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw, padTop: pt, padLeft: pl } = g;
  const K = kh * kw * C;
  let row = 0;
  for (let n = range.n0; n < range.n1; n++) {
    const xn = n * H * W * C;
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, row++) {
        let src = row * K;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) {
            src += kw * C;
            continue;
          }
          const xrow = xn + iy * W * C;
          for (let kx = 0; kx < kw; kx++, src += C) {
            const ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= W) continue;
            const dst = xrow + ix * C;
            for (let c = 0; c < C; c++) dx[dst + c] += cols[src + c];
          }
        }
      }
    }
  }
}

/**
 * Bicubic resampling of position embeddings and relative-position-bias tables, written as
 * explicit linear maps so that (a) `setInputSize` and the optimizer-state hook apply the very
 * same map, and (b) a forward pass at a size other than the current one can resample on the
 * fly with a differentiable matmul.
 *
 * The 1-D weights follow PyTorch's `F.interpolate(mode="bicubic", align_corners=False)`:
 * without antialias the cubic kernel has A = −0.75 and border taps are clamped; with
 * antialias (timm's `resample_abs_pos_embed` default) the kernel has A = −0.5, is widened
 * by the scale when downsampling, and the taps are renormalised at the borders.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { cubicKernel, type ParamResample } from "@efficienttrain/core";

/**
 * The `[outSize, inSize]` row-major matrix of 1-D bicubic interpolation.
 *
 * @example
 * ```ts
 * import { bicubicMatrix } from "@efficienttrain/models";
 * const m = bicubicMatrix(3, 3, { antialias: false });
 * console.assert(m.join() === "1,0,0,0,1,0,0,0,1");
 * ```
 */
export function bicubicMatrix(
  inSize: number,
  outSize: number,
  options: { antialias: boolean },
): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  if (!options.antialias) {
    for (let i = 0; i < outSize; i++) {
      const src = scale * (i + 0.5) - 0.5;
      const base = Math.floor(src);
      const t = src - base;
      for (let k = -1; k <= 2; k++) {
        const j = Math.min(Math.max(base + k, 0), inSize - 1);
        m[i * inSize + j] += cubicKernel(k - t, -0.75);
      }
    }
    return m;
  }
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = cubicKernel((j - center + 0.5) * invScale, -0.5);
      m[i * inSize + j] = w;
      total += w;
    }
    if (total !== 0) { for (let j = lo; j < hi; j++) m[i * inSize + j] /= total; }
  }
  return m;
}

/**
 * The 2-D separable map on a row-major `inSize × inSize` grid: `kron(M, M)`, shape
 * `[outSize², inSize²]`.
 *
 * @example
 * ```ts
 * import { bicubicMatrix2d } from "@efficienttrain/models";
 * console.assert(bicubicMatrix2d(2, 3, { antialias: true }).length === 36);
 * ```
 */
export function bicubicMatrix2d(
  inSize: number,
  outSize: number,
  options: { antialias: boolean },
): Float64Array {
  const m = bicubicMatrix(inSize, outSize, options);
  const n0 = inSize * inSize, n1 = outSize * outSize;
  const k = new Float64Array(n1 * n0);
  for (let oy = 0; oy < outSize; oy++) {
    for (let ox = 0; ox < outSize; ox++) {
      const row = (oy * outSize + ox) * n0;
      for (let iy = 0; iy < inSize; iy++) {
        const wy = m[oy * inSize + iy];
        if (wy === 0) continue;
        for (let ix = 0; ix < inSize; ix++) {
          k[row + iy * inSize + ix] = wy * m[ox * inSize + ix];
        }
      }
    }
  }
  return k;
}

/**
 * `m · x` on the device for the `[rowsOut, rowsIn]` host matrix `m` and a `[rowsIn, cols]`
 * tensor: the map is uploaded rather than the tensor read back, so resampling works on
 * backends without synchronous reads (tfjs-webgpu under Deno) and never leaves the device.
 * The float32 matrix is the one the models' on-the-fly resampling multiplies by.
 */
function applyRows(m: Float64Array, rowsIn: number, x: tf.Tensor2D): tf.Tensor2D {
  const rowsOut = m.length / rowsIn;
  return tf.tidy(() => tf.matMul(tf.tensor2d(Float32Array.from(m), [rowsOut, rowsIn]), x));
}

/**
 * Resample a ViT absolute position embedding `[1, prefix + g0², D]` to `[1, prefix + g1², D]`
 * (bicubic with antialias, prefix tokens such as `cls` untouched), like timm's
 * `resample_abs_pos_embed`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resamplePosEmbed } from "@efficienttrain/models";
 * const f = resamplePosEmbed(2, 3, { prefixTokens: 1 });
 * console.assert(f(tf.zeros([1, 5, 8])).shape[1] === 10);
 * ```
 */
export function resamplePosEmbed(
  oldGrid: number,
  newGrid: number,
  options: { prefixTokens: number },
): ParamResample {
  const m = bicubicMatrix2d(oldGrid, newGrid, { antialias: true });
  const prefix = options.prefixTokens;
  return (t: tf.Tensor): tf.Tensor => {
    const [one, tokens, dim] = t.shape;
    if (one !== 1 || tokens !== prefix + oldGrid * oldGrid) {
      throw new RangeError(
        `pos_embed resample expects [1, ${prefix + oldGrid * oldGrid}, D], got [${t.shape}]`,
      );
    }
    // exact identity (not a matmul by a near-identity) when the grid is unchanged
    if (oldGrid === newGrid) return tf.clone(t);
    return tf.tidy(() => {
      const rows = tf.reshape(t, [tokens, dim]) as tf.Tensor2D;
      const grid = applyRows(
        m,
        oldGrid * oldGrid,
        tf.slice(rows, [prefix, 0], [-1, dim]) as tf.Tensor2D,
      );
      const out = prefix > 0 ? tf.concat([tf.slice(rows, [0, 0], [prefix, dim]), grid], 0) : grid;
      return tf.reshape(out, [1, prefix + newGrid * newGrid, dim]);
    });
  };
}

/**
 * Resample a Swin relative-position-bias table `[(2w0−1)², heads]` to `[(2w1−1)², heads]`
 * (bicubic, no antialias, as the Swin/timm code does).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { resampleRelPosTable } from "@efficienttrain/models";
 * const f = resampleRelPosTable(7, 5);
 * console.assert(f(tf.zeros([169, 3])).shape[0] === 81);
 * ```
 */
export function resampleRelPosTable(oldWindow: number, newWindow: number): ParamResample {
  const s0 = 2 * oldWindow - 1, s1 = 2 * newWindow - 1;
  const m = bicubicMatrix2d(s0, s1, { antialias: false });
  return (t: tf.Tensor): tf.Tensor => {
    if (t.rank !== 2 || t.shape[0] !== s0 * s0) {
      throw new RangeError(`rel-pos table resample expects [${s0 * s0}, heads], got [${t.shape}]`);
    }
    if (s0 === s1) return tf.clone(t);
    return applyRows(m, s0 * s0, t as tf.Tensor2D);
  };
}

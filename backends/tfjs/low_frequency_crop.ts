/**
 * EfficientTrain's low-frequency crop on tfjs tensors (any tfjs backend).
 *
 * {@link lowFrequencyCrop} is the production path: y = Re(A_h x A_wᵀ) as two float32 GEMMs
 * with the DFT-crop matrices cached per (backend, size, bandwidth, mode). Paper mode costs the
 * same as hermitian: Im A is rank one (the unpaired Nyquist bin), so its cross term is a
 * scalar per plane times a ±1 checkerboard. It runs on every
 * backend (cpu, wasm, webgpu) since it only needs `MatMul`. {@link lowFrequencyCropFFT} is
 * the literal fft2 → crop → ifft2 through `tf.spectral`, kept as a cross-check and for
 * measurement; tfjs-wasm has no complex kernels, so it runs on cpu and webgpu only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  assertFloat32Images,
  cropBand,
  type CropMode,
  type CropOptions,
  InvalidArgumentError,
  lowFrequencyCropMatrix,
  nyquistSineVector,
  type ResolvedCrop,
  validateCropOptions,
} from "@efficienttrain/core";
import {
  applySeparable,
  assertFiniteTensor,
  cachedMatrix,
  type SeparableFactors,
} from "./separable.ts";

function validate(images: tf.Tensor, options: CropOptions): ResolvedCrop {
  const r = validateCropOptions(images.shape, { ...options, dtype: images.dtype });
  assertFloat32Images(images);
  if (r.checkFinite) assertFiniteTensor(images, "images");
  return r;
}

/** The crop's cached factors: a real separable product plus the paper-mode correction. */
export interface CropFactors extends SeparableFactors {
  /** v_h ([1, H]) and v_w ([1, W]) of `nyquistSineVector`; absent when the matrices are real. */
  readonly nyquistVectors: readonly [tf.Tensor2D, tf.Tensor2D] | undefined;
  /** (−1)^(k+l) / (H·W) ([outH, outW]); absent when the matrices are real. */
  readonly nyquistSigns: tf.Tensor2D | undefined;
}

/**
 * The cached float32 factors of the crop from H×W to outH×outW: Re A_h ([outH, H]) and
 * Re A_w ([outW, W]), and in paper mode the rank-one Nyquist correction (see the core's
 * `nyquistSineVector`), so both modes cost one real separable product.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { lowFrequencyCropFactors } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const f = lowFrequencyCropFactors({ h: 32, w: 32, outH: 24, outW: 24, mode: "paper" });
 * console.assert(f.parts === 1 && f.left.shape.join() === "24,32");
 * console.assert(f.nyquistSigns?.shape.join() === "24,24");
 * ```
 */
export function lowFrequencyCropFactors(
  spec: { h: number; w: number; outH: number; outW: number; mode: CropMode },
): CropFactors {
  const { h, w, outH, outW, mode } = spec;
  const real = (i: number, o: number): tf.Tensor2D =>
    cachedMatrix(`crop:${i}:${o}:${mode}`, () => ({
      values: Float32Array.from(lowFrequencyCropMatrix(i, o, mode).re),
      rows: o,
      cols: i,
    }));
  const factors = { left: real(h, outH), right: real(w, outW), parts: 1 as const };
  // Im A_h·x·Im A_wᵀ vanishes unless both axes keep an unpaired Nyquist bin
  const paired = mode === "hermitian" || outH === h || outW === w;
  if (paired) return { ...factors, nyquistVectors: undefined, nyquistSigns: undefined };
  const vector = (i: number, o: number): tf.Tensor2D =>
    cachedMatrix(`crop:nyq:${i}:${o}`, () => ({
      values: Float32Array.from(nyquistSineVector(i, o)),
      rows: 1,
      cols: i,
    }));
  const nyquistVectors = [vector(h, outH), vector(w, outW)] as const;
  const nyquistSigns = cachedMatrix(`crop:sign:${h}:${outH}:${w}:${outW}`, () => {
    const values = new Float32Array(outH * outW);
    for (let k = 0; k < outH; k++) {
      for (let l = 0; l < outW; l++) values[k * outW + l] = (-1) ** (k + l) / (h * w);
    }
    return { values, rows: outH, cols: outW };
  });
  return { ...factors, nyquistVectors, nyquistSigns };
}

/**
 * Low-frequency crop of a float32 batch (NHWC by default, or NCHW) to B×B (or [Bh, Bw]):
 * the authors' `freq_crop` in `paper` mode, the exactly-real variant in `hermitian` mode.
 * B = H returns a copy of the input. Bad arguments throw the core's tagged
 * {@link InvalidArgumentError}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { lowFrequencyCrop } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const x = tf.randomUniform([2, 32, 32, 3]) as tf.Tensor4D;
 * const y = lowFrequencyCrop(x, { size: 24 });
 * console.assert(y.shape.join() === "2,24,24,3");
 * console.assert(Math.abs(x.mean().dataSync()[0] - y.mean().dataSync()[0]) < 1e-5);
 * ```
 */
export function lowFrequencyCrop(images: tf.Tensor4D, options: CropOptions): tf.Tensor4D {
  const r = validate(images, options);
  if (r.outH === r.h && r.outW === r.w) return tf.clone(images);
  const f = lowFrequencyCropFactors(r);
  return tf.tidy(() => {
    const y = applySeparable(images, r, f);
    if (!f.nyquistVectors || !f.nyquistSigns) return y;
    // y −= s·(−1)^(k+l)/(H·W) with s = v_hᵀ·x·v_w per plane (the −Im·x·Imᵀ term), as
    // matrix products so no input-sized temporary is made and nothing broadcasts on both sides
    const [vh, vw] = f.nyquistVectors;
    const nhwc = r.layout === "NHWC";
    if (nhwc) {
      const t = tf.matMul(tf.reshape(vh, [1, 1, r.h]), tf.reshape(images, [r.n, r.h, r.w * r.c]));
      const s = tf.matMul(tf.reshape(vw, [1, 1, r.w]), tf.reshape(t, [r.n, r.w, r.c]));
      const signs = tf.reshape(f.nyquistSigns, [1, r.outH * r.outW, 1]);
      const correction = tf.reshape(tf.matMul(signs, s), [r.n, r.outH, r.outW, r.c]);
      return tf.sub(y, correction) as tf.Tensor4D;
    }
    const t = tf.matMul(tf.reshape(images, [r.n * r.c * r.h, r.w]), vw, false, true);
    const s = tf.matMul(tf.reshape(t, [r.n * r.c, r.h]), vh, false, true);
    const signs = tf.reshape(f.nyquistSigns, [1, r.outH * r.outW]);
    const correction = tf.reshape(tf.matMul(s, signs), [r.n, r.c, r.outH, r.outW]);
    return tf.sub(y, correction) as tf.Tensor4D;
  });
}

function alongLast(op: (t: tf.Tensor) => tf.Tensor, t: tf.Tensor): tf.Tensor {
  const n = t.shape[t.rank - 1]!;
  return tf.reshape(op(tf.reshape(t, [-1, n])), t.shape);
}

function real(t: tf.Tensor): tf.Tensor {
  return tf.reshape(tf.real(t), t.shape);
}

function imag(t: tf.Tensor): tf.Tensor {
  return tf.reshape(tf.imag(t), t.shape);
}

function cropAxisLast(
  re: tf.Tensor,
  im: tf.Tensor,
  inSize: number,
  outSize: number,
  mode: CropMode,
): [tf.Tensor, tf.Tensor] {
  const rank = re.rank;
  const take = (t: tf.Tensor, from: number): tf.Tensor => {
    const begin = new Array(rank).fill(0);
    begin[rank - 1] = ((from % inSize) + inSize) % inSize;
    const size = [...t.shape];
    size[rank - 1] = 1;
    return tf.slice(t, begin, size);
  };
  // gather the kept bins in output order 0, 1, …, B/2−1, −B/2 (or its split), …, −1
  const band = cropBand(inSize, outSize, mode);
  const bins = new Map<number, Array<{ from: number; weight: number }>>();
  for (const e of band) {
    const to = ((e.to % outSize) + outSize) % outSize;
    bins.set(to, [...(bins.get(to) ?? []), { from: e.from, weight: e.weight }]);
  }
  const gather = (t: tf.Tensor): tf.Tensor => {
    const cols: tf.Tensor[] = [];
    for (let k = 0; k < outSize; k++) {
      const parts = bins.get(k)!.map(({ from, weight }) =>
        weight === 1 ? take(t, from) : tf.mul(take(t, from), weight)
      );
      cols.push(parts.length === 1 ? parts[0]! : tf.addN(parts));
    }
    return tf.concat(cols, rank - 1);
  };
  return [gather(re), gather(im)];
}

/**
 * The same crop computed literally with `tf.spectral.fft`/`ifft` (fft2 → keep the band →
 * scale → ifft2 → real). Slower than {@link lowFrequencyCrop} here; kept to measure against
 * and as an independent float32 check. Needs a backend with complex kernels (cpu, webgpu);
 * on others it throws a tagged error naming the backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { lowFrequencyCrop, lowFrequencyCropFFT } from "@efficienttrain/backend-tfjs";
 * await tf.setBackend("cpu");
 * const x = tf.randomUniform([1, 3, 16, 16]) as tf.Tensor4D;
 * const a = lowFrequencyCrop(x, { size: 8, layout: "NCHW" });
 * const b = lowFrequencyCropFFT(x, { size: 8, layout: "NCHW" });
 * console.assert(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-5);
 * ```
 */
export function lowFrequencyCropFFT(images: tf.Tensor4D, options: CropOptions): tf.Tensor4D {
  const r = validate(images, options);
  const backend = tf.getBackend();
  if (!tf.getKernel("FFT", backend) || !tf.getKernel("Complex", backend)) {
    throw new InvalidArgumentError({
      argument: "backend",
      value: JSON.stringify(backend),
      reason: "this tfjs backend has no complex FFT kernels; use lowFrequencyCrop",
    });
  }
  if (r.outH === r.h && r.outW === r.w) return tf.clone(images);
  return tf.tidy(() => {
    const x = r.layout === "NHWC" ? tf.transpose(images, [0, 3, 1, 2]) : images; // N C H W
    // along W: fft, keep the W band
    let spec = alongLast(tf.spectral.fft, tf.complex(x, tf.zerosLike(x)));
    let [re, im] = cropAxisLast(real(spec), imag(spec), r.w, r.outW, r.mode);
    // along H (moved last): fft, keep the H band, ifft
    re = tf.transpose(re, [0, 1, 3, 2]);
    im = tf.transpose(im, [0, 1, 3, 2]);
    spec = alongLast(tf.spectral.fft, tf.complex(re, im));
    [re, im] = cropAxisLast(real(spec), imag(spec), r.h, r.outH, r.mode);
    spec = alongLast(tf.spectral.ifft, tf.complex(re, im));
    // back along W: ifft, take the real part, undo the (B/H)² of the two unnormalised DFTs
    spec = alongLast(
      tf.spectral.ifft,
      tf.complex(
        tf.transpose(real(spec), [0, 1, 3, 2]),
        tf.transpose(imag(spec), [0, 1, 3, 2]),
      ),
    );
    const y = tf.mul(real(spec), (r.outH * r.outW) / (r.h * r.w)) as tf.Tensor4D;
    return r.layout === "NHWC" ? tf.transpose(y, [0, 2, 3, 1]) : y;
  });
}

/**
 * One conformance suite for every low-frequency-crop implementation, measured against the
 * float64 reference of `@efficienttrain/core` (itself cross-checked against a naive DFT):
 * the reference, tfjs's GEMM crop on cpu / wasm / webgpu, tfjs's `tf.spectral` crop where
 * the backend has complex kernels, the WGSL kernel on host data and on tfjs-webgpu tensors.
 * Implementations that cannot run here (no WebGPU adapter) are skipped, and say why.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  cropBand,
  type CropOptions,
  lowFrequencyCropReference,
  Rng,
  validateCropOptions,
} from "@efficienttrain/core";
import { initBackend, lowFrequencyCrop, lowFrequencyCropFFT } from "@efficienttrain/backend-tfjs";
import {
  getWebGPUDevice,
  lowFrequencyCropTfjsWebGPU,
  lowFrequencyCropWebGPU,
} from "@efficienttrain/backend-webgpu";

type Shape = readonly number[];
type Options = CropOptions;

interface Implementation {
  readonly name: string;
  /** Why it cannot run here, or undefined. */
  readonly skip: string | undefined;
  readonly run: (x: Float32Array, shape: Shape, options: Options) => Promise<Float64Array>;
}

function tfjsImpl(
  name: string,
  backend: "cpu" | "wasm" | "webgpu",
  op: (x: tf.Tensor4D, o: Options) => tf.Tensor4D,
  skip: string | undefined,
): Implementation {
  return {
    name,
    skip,
    run: async (x, shape, options) => {
      await initBackend(backend);
      const t = tf.tensor4d(x, shape as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const y = op(t, options);
      const out = Float64Array.from(await y.data());
      tf.dispose([t, y]);
      // every implementation must be leak-free; only cached factors may appear (two matrices,
      // plus the two Nyquist-correction tensors in paper mode)
      assert.ok(tf.memory().numTensors - before <= 4, `${name} leaked tensors`);
      return out;
    },
  };
}

const gpu = await getWebGPUDevice();
const noGpu = gpu ? undefined : "no WebGPU adapter here";
const webgpuBackendSkip = noGpu ??
  await initBackend("webgpu").then(() => undefined, (e) => `tfjs-webgpu: ${e}`);
await initBackend("wasm");
const wasmFftSkip = tf.getKernel("FFT", "wasm") && tf.getKernel("Complex", "wasm")
  ? undefined
  : "tfjs-wasm registers no FFT/Complex kernels";
await initBackend("cpu");

const IMPLEMENTATIONS: readonly Implementation[] = [
  {
    name: "reference (float64, FFT)",
    skip: undefined,
    run: (x, shape, options) => Promise.resolve(lowFrequencyCropReference(x, shape, options)),
  },
  tfjsImpl("tfjs cpu, GEMM", "cpu", lowFrequencyCrop, undefined),
  tfjsImpl("tfjs cpu, tf.spectral FFT", "cpu", lowFrequencyCropFFT, undefined),
  tfjsImpl("tfjs wasm, GEMM", "wasm", lowFrequencyCrop, undefined),
  tfjsImpl("tfjs wasm, tf.spectral FFT", "wasm", lowFrequencyCropFFT, wasmFftSkip),
  tfjsImpl("tfjs webgpu, GEMM", "webgpu", lowFrequencyCrop, webgpuBackendSkip),
  tfjsImpl("tfjs webgpu, tf.spectral FFT", "webgpu", lowFrequencyCropFFT, webgpuBackendSkip),
  tfjsImpl("WGSL on tfjs-webgpu tensors", "webgpu", lowFrequencyCropTfjsWebGPU, webgpuBackendSkip),
  {
    name: "WGSL (host data)",
    skip: noGpu,
    run: async (x, shape, options) =>
      Float64Array.from(await lowFrequencyCropWebGPU(x, { ...options, shape })),
  },
];

function random(shape: Shape, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function planeMeans(data: ArrayLike<number>, shape: Shape, layout: "NHWC" | "NCHW"): number[] {
  const [n, a, b, c] = shape as [number, number, number, number];
  const [channels, pixels] = layout === "NHWC" ? [c, a * b] : [a, b * c];
  const means = new Array(n * channels).fill(0);
  for (let i = 0; i < data.length; i++) {
    const plane = layout === "NHWC"
      ? Math.floor(i / (pixels * channels)) * channels + (i % channels)
      : Math.floor(i / pixels);
    means[plane] += data[i]! / pixels;
  }
  return means;
}

const CASES: ReadonlyArray<{ shape: Shape; options: Options }> = [
  { shape: [3, 32, 32, 3], options: { size: 24 } }, // the 32 → 24 curriculum step
  { shape: [2, 3, 16, 16], options: { size: 12, layout: "NCHW" } },
  { shape: [2, 3, 12, 10], options: { size: [8, 6], layout: "NCHW" } },
  { shape: [2, 9, 9, 2], options: { size: 5, mode: "hermitian" } },
  { shape: [1, 2, 14, 11], options: { size: [8, 7], layout: "NCHW", mode: "hermitian" } },
];

for (const impl of IMPLEMENTATIONS) {
  const ignore = impl.skip !== undefined;
  const suffix = ignore ? ` (skipped: ${impl.skip})` : "";
  const opts = { ignore, sanitizeOps: false, sanitizeResources: false };

  Deno.test({
    ...opts,
    name: `${impl.name}: max abs error ≤ 1e-4 vs the float64 reference; mean preserved${suffix}`,
    fn: async () => {
      for (const [i, { shape, options }] of CASES.entries()) {
        const x = random(shape, 100 + i);
        const want = lowFrequencyCropReference(x, shape, options);
        const got = await impl.run(x, shape, options);
        const err = maxAbsDiff(got, want);
        assert.ok(err <= 1e-4, `${JSON.stringify({ shape, options })}: max abs error ${err}`);
        const layout = options.layout ?? "NHWC";
        const r = validateCropOptions(shape, options);
        const outShape = layout === "NHWC"
          ? [r.n, r.outH, r.outW, r.c]
          : [r.n, r.c, r.outH, r.outW];
        const meanErr = maxAbsDiff(planeMeans(got, outShape, layout), planeMeans(x, shape, layout));
        assert.ok(meanErr < 1e-5, `mean drift ${meanErr}`);
      }
    },
  });

  Deno.test({
    ...opts,
    name: `${impl.name}: B = H returns the input${suffix}`,
    fn: async () => {
      for (const mode of ["paper", "hermitian"] as const) {
        const shape = [2, 3, 10, 10];
        const x = random(shape, 7);
        const y = await impl.run(x, shape, { size: 10, layout: "NCHW", mode });
        assert.ok(maxAbsDiff(y, x) < 1e-6, mode);
      }
    },
  });

  Deno.test({
    ...opts,
    name: `${impl.name}: linear, f(a·x + b·z) = a·f(x) + b·f(z)${suffix}`,
    fn: async () => {
      const shape = [2, 12, 12, 2];
      const x = random(shape, 8), z = random(shape, 9);
      const mix = x.map((v, i) => 0.7 * v - 0.4 * z[i]!);
      for (const mode of ["paper", "hermitian"] as const) {
        const o = { size: 8, mode };
        const [fx, fz, fm] = [
          await impl.run(x, shape, o),
          await impl.run(z, shape, o),
          await impl.run(mix, shape, o),
        ];
        assert.ok(maxAbsDiff(fm, fx.map((v, i) => 0.7 * v - 0.4 * fz[i]!)) < 1e-5, mode);
      }
    },
  });

  Deno.test({
    ...opts,
    name: `${impl.name}: paper and hermitian differ exactly by the Nyquist cross term${suffix}`,
    fn: async () => {
      const [h, w, b] = [12, 10, 6];
      const shape = [1, 1, h, w];
      const o = { size: b, layout: "NCHW" as const };
      // sin·sin at the output Nyquist frequency on both axes: paper keeps only the −B/2 bins,
      // whose product is (i/2)(i/2) = −1/4, so y = −¼(−1)^(k+l); hermitian cancels it to 0
      const sines = new Float32Array(h * w).map((_, i) =>
        Math.sin((Math.PI * b * Math.floor(i / w)) / h) * Math.sin((Math.PI * b * (i % w)) / w)
      );
      const paper = await impl.run(sines, shape, { ...o, mode: "paper" });
      const herm = await impl.run(sines, shape, { ...o, mode: "hermitian" });
      for (let k = 0; k < b; k++) {
        for (let l = 0; l < b; l++) {
          assert.ok(Math.abs(paper[k * b + l]! + 0.25 * (-1) ** (k + l)) < 1e-5, `paper ${k},${l}`);
          assert.ok(Math.abs(herm[k * b + l]!) < 1e-5, `hermitian ${k},${l}`);
        }
      }
      // an image varying along one axis only has no cross term: both modes agree
      const rows = new Float32Array(h * w).map((_, i) =>
        Math.cos((Math.PI * b * Math.floor(i / w)) / h + 0.3)
      );
      const p1 = await impl.run(rows, shape, { ...o, mode: "paper" });
      const h1 = await impl.run(rows, shape, { ...o, mode: "hermitian" });
      assert.ok(maxAbsDiff(p1, h1) < 1e-5);
      // and it is ½·cos(0.3)·(−1)^k on every row k
      for (let k = 0; k < b; k++) {
        assert.ok(Math.abs(p1[k * b]! - 0.5 * Math.cos(0.3) * (-1) ** k) < 1e-5);
      }
    },
  });
}

Deno.test("the float64 reference equals a naive O(H²W²) DFT crop", () => {
  const shape = [1, 12, 10, 2];
  const x = random(shape, 42);
  for (const [size, mode] of [[[8, 6], "paper"], [[7, 6], "hermitian"]] as const) {
    const [bh, bw] = size;
    const y = lowFrequencyCropReference(x, shape, { size, mode });
    const [, h, w, c] = shape as [number, number, number, number];
    for (let ch = 0; ch < c; ch++) {
      // naive 2-D DFT of the plane
      const Xr = new Float64Array(h * w), Xi = new Float64Array(h * w);
      for (let f1 = 0; f1 < h; f1++) {
        for (let f2 = 0; f2 < w; f2++) {
          for (let n1 = 0; n1 < h; n1++) {
            for (let n2 = 0; n2 < w; n2++) {
              const a = -2 * Math.PI * ((f1 * n1) / h + (f2 * n2) / w);
              const v = x[(n1 * w + n2) * c + ch]!;
              Xr[f1 * w + f2]! += v * Math.cos(a);
              Xi[f1 * w + f2]! += v * Math.sin(a);
            }
          }
        }
      }
      // keep the band, scale by (Bh·Bw)/(H·W), naive inverse DFT of size Bh×Bw, real part
      const bandH = cropBand(h, bh, mode), bandW = cropBand(w, bw, mode);
      for (let k1 = 0; k1 < bh; k1++) {
        for (let k2 = 0; k2 < bw; k2++) {
          let s = 0;
          for (const e1 of bandH) {
            for (const e2 of bandW) {
              const src = (((e1.from % h) + h) % h) * w + (((e2.from % w) + w) % w);
              const a = 2 * Math.PI * ((e1.to * k1) / bh + (e2.to * k2) / bw);
              s += e1.weight * e2.weight * (Xr[src]! * Math.cos(a) - Xi[src]! * Math.sin(a));
            }
          }
          const want = (s * (bh * bw)) / (h * w) / (bh * bw);
          assert.ok(Math.abs(y[(k1 * bw + k2) * c + ch]! - want) < 1e-12, `${mode} ${k1},${k2}`);
        }
      }
    }
  }
});

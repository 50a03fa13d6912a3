/**
 * `deno bench -A bench/micro/fft_crop_bench.ts`: throughput of every low-frequency-crop
 * implementation at the two curriculum steps (32→24 for CIFAR-size images, 224→160 for
 * ImageNet-size images), batch 64, NCHW, 3 channels, and of the resizes the paper compares
 * against. Each group's baseline is tfjs-wasm's GEMM crop (what `--backend auto` runs here),
 * so deno prints every other implementation's ratio to it. Images/s = 64 × iter/s.
 *
 * Timed: the op and, where the result leaves the device, its readback (WebGPU, tfjs-webgpu).
 * Not timed: building the input tensor and, on GPUs, the first call (pipelines, uploads).
 * The float64 reference, tfjs-cpu and the llvmpipe software GPU are slow, so they run few
 * iterations. The `tf.spectral` crop runs at 32→24 only: tfjs-cpu's FFT kernel builds
 * tensors per row (≈20 s per 64×3×32×32 batch here) and tfjs-webgpu's FFT shader is an
 * O(n²) DFT, so at 224 either would run for many minutes.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type CropOptions,
  lowFrequencyCropReference,
  type ResizeOptions,
  resizeReference,
  Rng,
} from "@efficienttrain/core";
import {
  initBackend,
  lowFrequencyCrop,
  lowFrequencyCropFFT,
  resize,
} from "@efficienttrain/backend-tfjs";
import {
  getWebGPUDevice,
  lowFrequencyCropWebGPU,
  resizeWebGPU,
} from "@efficienttrain/backend-webgpu";

const BATCH = 64;
const gpu = await getWebGPUDevice();
const tfjsWebgpu = gpu !== undefined &&
  await initBackend("webgpu").then(() => true, () => false);

type TfjsName = "cpu" | "wasm" | "webgpu";

function images(h: number): Float32Array {
  const rng = new Rng(h);
  return Float32Array.from({ length: BATCH * 3 * h * h }, () => rng.next());
}

function tfjsBench(
  group: string,
  name: string,
  options: {
    backend: TfjsName;
    h: number;
    op: (x: tf.Tensor4D) => tf.Tensor4D;
    slow?: boolean;
    baseline?: boolean;
  },
): void {
  const data = images(options.h);
  Deno.bench({
    name,
    group,
    baseline: options.baseline ?? false,
    ignore: options.backend === "webgpu" && !tfjsWebgpu,
    ...(options.slow ? { n: 1, warmup: 0 } : { n: 10, warmup: 2 }),
    async fn(b) {
      await initBackend(options.backend);
      const x = tf.tensor4d(data, [BATCH, 3, options.h, options.h]);
      if (options.backend === "webgpu") {
        tf.dispose(options.op(x)); // first call: shader compilation
        await x.data(); // flush the queue
      }
      b.start();
      const y = options.op(x);
      if (options.backend === "webgpu") await y.data();
      else y.dataSync();
      b.end();
      tf.dispose([x, y]);
    },
  });
}

function hostBench(
  group: string,
  name: string,
  options: {
    h: number;
    run: (x: Float32Array) => Promise<unknown> | unknown;
    gpu?: boolean;
    slow?: boolean;
  },
): void {
  const data = images(options.h);
  Deno.bench({
    name,
    group,
    ignore: options.gpu === true && gpu === undefined,
    ...(options.slow ? { n: 1, warmup: 0 } : { n: 10, warmup: 2 }),
    async fn(b) {
      if (options.gpu) await options.run(data); // pipelines and matrix uploads
      b.start();
      await options.run(data);
      b.end();
    },
  });
}

for (const [h, size] of [[32, 24], [224, 160]] as const) {
  const big = h === 224;
  const group = `low-frequency crop ${h}→${size}, ${BATCH}×3×${h}×${h} NCHW`;
  const crop: CropOptions = { size, layout: "NCHW" };
  const shape = [BATCH, 3, h, h];
  tfjsBench(group, "tfjs wasm, GEMM", {
    backend: "wasm",
    h,
    op: (x) => lowFrequencyCrop(x, crop),
    baseline: true,
  });
  tfjsBench(group, "tfjs wasm, GEMM, hermitian", {
    backend: "wasm",
    h,
    op: (x) => lowFrequencyCrop(x, { ...crop, mode: "hermitian" }),
  });
  tfjsBench(group, "tfjs cpu, GEMM", {
    backend: "cpu",
    h,
    op: (x) => lowFrequencyCrop(x, crop),
    slow: big,
  });
  if (!big) {
    tfjsBench(group, "tfjs cpu, tf.spectral FFT", {
      backend: "cpu",
      h,
      op: (x) => lowFrequencyCropFFT(x, crop),
      slow: true,
    });
  }
  tfjsBench(group, "tfjs webgpu (llvmpipe), GEMM", {
    backend: "webgpu",
    h,
    op: (x) => lowFrequencyCrop(x, crop),
    slow: true,
  });
  if (!big) {
    tfjsBench(group, "tfjs webgpu (llvmpipe), tf.spectral FFT", {
      backend: "webgpu",
      h,
      op: (x) => lowFrequencyCropFFT(x, crop),
      slow: true,
    });
  }
  hostBench(group, "WGSL (llvmpipe), incl. upload + readback", {
    h,
    gpu: true,
    slow: true,
    run: (x) => lowFrequencyCropWebGPU(x, { ...crop, shape }),
  });
  hostBench(group, "float64 reference (FFT)", {
    h,
    slow: big,
    run: (x) => lowFrequencyCropReference(x, shape, crop),
  });
}

for (const [h, size] of [[32, 24], [224, 160]] as const) {
  const big = h === 224;
  const group = `resize ${h}→${size}, ${BATCH}×3×${h}×${h} NCHW (vs the crop)`;
  const shape = [BATCH, 3, h, h];
  tfjsBench(group, "tfjs wasm, low-frequency crop (GEMM)", {
    backend: "wasm",
    h,
    op: (x) => lowFrequencyCrop(x, { size, layout: "NCHW" }),
    baseline: true,
  });
  for (const method of ["bilinear", "bicubic", "area", "lanczos"] as const) {
    const o: ResizeOptions = { size, method, layout: "NCHW" };
    tfjsBench(group, `tfjs wasm, ${method}`, { backend: "wasm", h, op: (x) => resize(x, o) });
  }
  tfjsBench(group, "tfjs wasm, bilinear antialiased (GEMM)", {
    backend: "wasm",
    h,
    op: (x) => resize(x, { size, method: "bilinear", antialias: true, layout: "NCHW" }),
  });
  hostBench(group, "WGSL (llvmpipe) lanczos, incl. upload + readback", {
    h,
    gpu: true,
    slow: true,
    run: (x) => resizeWebGPU(x, { size, method: "lanczos", layout: "NCHW", shape }),
  });
  hostBench(group, "float64 reference lanczos", {
    h,
    slow: big,
    run: (x) => resizeReference(x, shape, { size, method: "lanczos", layout: "NCHW" }),
  });
}

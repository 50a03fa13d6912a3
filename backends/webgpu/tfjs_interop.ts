/**
 * Running the WGSL crop on tfjs-webgpu tensors without a round trip through the host: the
 * kernel is encoded on tfjs-webgpu's own GPUDevice, reads the tensor's GPUBuffer
 * (`tensor.dataToGPU()`), and its output buffer becomes a tfjs tensor
 * (`tf.tensor({ buffer })`, which copies it into tfjs's buffer pool so tfjs owns and frees
 * it). Tensors that tfjs-webgpu keeps on the CPU (it forwards small ops to the CPU) are
 * uploaded from host memory instead.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertFloat32Images, type CropOptions, validateCropOptions } from "@efficienttrain/core";
import { WebGPUError } from "./device.ts";
import { lowFrequencyCropGPUFactors } from "./low_frequency_crop.ts";
import { applySeparableGPU } from "./separable.ts";

/**
 * The GPUDevice tfjs-webgpu runs on once its backend is initialised (current or not), so WGSL
 * kernels can share buffers with tfjs tensors; `undefined` before that. The one place the
 * project reaches for it (`@efficienttrain/backend-tfjs` re-exports it).
 *
 * @example
 * ```ts
 * import { tfjsWebgpuDevice } from "@efficienttrain/backend-webgpu";
 * const device = tfjsWebgpuDevice(); // undefined unless the webgpu backend is initialised
 * console.assert(device === undefined || typeof device.createBuffer === "function");
 * ```
 */
export function tfjsWebgpuDevice(): GPUDevice | undefined {
  // Read the registry directly: findBackend() would start initialising webgpu as a side effect.
  const backend = tf.engine().registry["webgpu"] as unknown as { device?: GPUDevice } | undefined;
  return backend?.device;
}

/**
 * The WGSL low-frequency crop as a synchronous tfjs op on the `webgpu` backend: encoded on
 * tfjs's device, reading and producing tfjs tensors. Throws {@link WebGPUError} when the
 * current backend is not webgpu.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { lowFrequencyCropTfjsWebGPU } from "@efficienttrain/backend-webgpu";
 * await tf.setBackend("webgpu");
 * const y = lowFrequencyCropTfjsWebGPU(tf.randomUniform([8, 3, 32, 32]) as tf.Tensor4D, { size: 24, layout: "NCHW" });
 * ```
 */
export function lowFrequencyCropTfjsWebGPU(images: tf.Tensor4D, options: CropOptions): tf.Tensor4D {
  const device = tf.getBackend() === "webgpu" ? tfjsWebgpuDevice() : undefined;
  if (!device) {
    throw new WebGPUError({ reason: `the current tfjs backend is ${tf.getBackend()}, not webgpu` });
  }
  const r = validateCropOptions(images.shape, { ...options, dtype: images.dtype });
  assertFloat32Images(images);
  if (r.outH === r.h && r.outW === r.w) return tf.clone(images);
  let input: GPUBuffer;
  let release: () => void;
  try {
    const gpu = images.dataToGPU();
    input = gpu.buffer!;
    release = () => gpu.tensorRef.dispose();
  } catch {
    // tfjs-webgpu kept this tensor's data on the CPU (CPU forwarding of small ops)
    const host = images.dataSync() as Float32Array;
    input = device.createBuffer({
      size: host.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(input, 0, host as unknown as BufferSource);
    release = () => input.destroy();
  }
  try {
    const out = applySeparableGPU(device, input, {
      geometry: r,
      factors: lowFrequencyCropGPUFactors(device, r),
    });
    const shape: [number, number, number, number] = r.layout === "NHWC"
      ? [r.n, r.outH, r.outW, r.c]
      : [r.n, r.c, r.outH, r.outW];
    const y = tf.tensor({ buffer: out }, shape, "float32") as tf.Tensor4D;
    out.destroy(); // tfjs copied it; the copy was submitted first, so this is deferred safely
    return y;
  } finally {
    release();
  }
}

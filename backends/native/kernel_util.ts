/**
 * Shared plumbing for the native kernels: reading the cpu backend's typed arrays, making
 * outputs, and falling back to the tfjs-cpu kernel for cases the fast path does not cover.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/**
 * Below this many elements an op stays on tfjs-cpu's JavaScript kernel (a oneDNN call costs
 * more than it saves). Mutable through {@link setNativeMinElements} so conformance tests can
 * push every shape, however small, through oneDNN.
 */
export const nativeLimits: { minElements: number } = { minElements: 8192 };

/**
 * Set the element count below which native ops fall back to tfjs-cpu (default 8192); returns
 * the previous value. 0 sends every shape through oneDNN, as the conformance sweep does.
 *
 * @example
 * ```ts
 * import { setNativeMinElements } from "@efficienttrain/backend-native";
 * const previous = setNativeMinElements(0);
 * setNativeMinElements(previous);
 * ```
 */
export function setNativeMinElements(n: number): number {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`setNativeMinElements: expected an integer ≥ 0, got ${n}`);
  }
  const previous = nativeLimits.minElements;
  nativeLimits.minElements = n;
  return previous;
}

/** The arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  readonly inputs: tf.NamedTensorInfoMap;
  readonly backend: tf.KernelBackend;
  readonly attrs?: tf.NamedAttrMap;
}

/** A kernel function as registered with tfjs. */
export type NativeKernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * The Float32Array behind a tensor held by the cpu-style backend (no copy). tfjs-cpu's Cast
 * from bool/int32 to float32 keeps the Uint8Array/Int32Array (the dataId is shared with the
 * source tensor), so those are converted into a copy here rather than read as floats.
 */
export function f32(backend: tf.KernelBackend, t: tf.TensorInfo): Float32Array {
  const values = (backend as MathBackendCPU).data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  return Float32Array.from(values as ArrayLike<number>);
}

/** Wrap `values` (owned from now on by tfjs) as a float32 output tensor. */
export function output(
  backend: tf.KernelBackend,
  shape: readonly number[],
  values: Float32Array,
): tf.TensorInfo {
  return (backend as MathBackendCPU).makeTensorInfo(shape.slice(), "float32", values);
}

/** Number of elements of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const cpuKernels = new Map<string, tf.KernelFunc>();

/**
 * The tfjs-cpu implementation of `kernelName`, for the cases the native path leaves to it.
 * It runs on the native backend object, which is a `MathBackendCPU`.
 */
export function cpuKernel(kernelName: string): NativeKernelFunc {
  let k = cpuKernels.get(kernelName);
  if (k === undefined) {
    const config = tf.getKernel(kernelName, "cpu");
    if (!config) throw new Error(`tfjs-cpu has no kernel ${kernelName}`);
    k = config.kernelFunc;
    cpuKernels.set(kernelName, k);
  }
  return k as unknown as NativeKernelFunc;
}

/** True when every input is float32 (the only dtype the native paths handle). */
export function allFloat32(...ts: ReadonlyArray<tf.TensorInfo | undefined | null>): boolean {
  for (const t of ts) if (t && t.dtype !== "float32") return false;
  return true;
}

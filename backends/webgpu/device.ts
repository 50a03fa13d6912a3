/**
 * One GPUDevice per process for the WGSL kernels, obtained from Deno's `navigator.gpu`, or
 * supplied by the caller (for example tfjs-webgpu's device, so kernels and tfjs tensors live
 * on the same device and can share buffers).
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "@efficienttrain/core";

type WebGPUErrorFields = { reason: string };
const WebGPUErrorBase: TaggedErrorClass<"WebGPUError", WebGPUErrorFields> = taggedError(
  "WebGPUError",
);

/**
 * WebGPU is missing, no adapter/device could be obtained, or a GPU operation failed.
 *
 * @example
 * ```ts
 * import { WebGPUError } from "@efficienttrain/backend-webgpu";
 * console.assert(new WebGPUError({ reason: "no adapter" }).message.includes("no adapter"));
 * ```
 */
export class WebGPUError extends WebGPUErrorBase {
  /** Human-readable description. */
  override get message(): string {
    return `WebGPU: ${this.reason}`;
  }
}

/** What {@link getWebGPUDevice} found. */
export interface WebGPUDeviceInfo {
  readonly device: GPUDevice;
  /** Adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly description: string;
  /** A software (fallback) adapter such as Mesa llvmpipe. */
  readonly fallback: boolean;
}

let shared: Promise<WebGPUDeviceInfo | undefined> | undefined;

async function requestDevice(): Promise<WebGPUDeviceInfo | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() =>
    null
  );
  if (!adapter) return undefined;
  // ask for the adapter's full buffer limits: a 64×3×224×224 batch alone is 38.5 MB
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    device,
    description: info.description || info.vendor || "unknown adapter",
    fallback: info.isFallbackAdapter ??
      (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
  };
}

/**
 * The process-wide device for the WGSL kernels, or `undefined` when this runtime has no
 * WebGPU adapter. Requested once; later calls return the same device. If {@link useDevice}
 * was called first, that device is returned instead.
 *
 * @example
 * ```ts ignore
 * import { getWebGPUDevice } from "@efficienttrain/backend-webgpu";
 * const info = await getWebGPUDevice();
 * console.log(info?.description ?? "no WebGPU here");
 * ```
 */
export function getWebGPUDevice(): Promise<WebGPUDeviceInfo | undefined> {
  shared ??= requestDevice().catch(() => undefined);
  return shared;
}

/**
 * Make the kernels run on a device obtained elsewhere, typically tfjs-webgpu's
 * (`tfjsWebgpuDevice()` from `@efficienttrain/backend-tfjs`), so both share one device.
 *
 * @example
 * ```ts ignore
 * import { tfjsWebgpuDevice } from "@efficienttrain/backend-tfjs";
 * import { useDevice } from "@efficienttrain/backend-webgpu";
 * useDevice(tfjsWebgpuDevice()!, { description: "tfjs-webgpu's device" });
 * ```
 */
export function useDevice(
  device: GPUDevice,
  options: { readonly description?: string; readonly fallback?: boolean } = {},
): void {
  shared = Promise.resolve({
    device,
    description: options.description ?? "caller-supplied device",
    fallback: options.fallback ?? false,
  });
}

/**
 * The device to run on: the given one, else the shared one; throws {@link WebGPUError} when
 * there is none.
 *
 * @example
 * ```ts ignore
 * import { resolveDevice } from "@efficienttrain/backend-webgpu";
 * const device = await resolveDevice(undefined);
 * ```
 */
export async function resolveDevice(device: GPUDevice | undefined): Promise<GPUDevice> {
  if (device) return device;
  const info = await getWebGPUDevice();
  if (!info) {
    throw new WebGPUError({ reason: "no WebGPU adapter (navigator.gpu missing or empty)" });
  }
  return info.device;
}

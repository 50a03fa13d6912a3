/**
 * Registers this package's wasm kernels into tfjs' kernel registry, replacing tfjs-wasm's own
 * where ours are faster.
 *
 * @module
 */
import {
  getKernel,
  type KernelFunc,
  registerKernel,
  unregisterKernel,
} from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterWasm } from "./conv2d_backprop_filter.ts";
import { conv2dBackpropInputWasm } from "./conv2d_backprop_input.ts";
import {
  depthwiseConv2dBackpropFilterWasm,
  depthwiseConv2dBackpropInputWasm,
} from "./depthwise_conv2d_backprop.ts";
import { unsortedSegmentSumWasm } from "./unsorted_segment_sum.ts";
import { batchMatMulWasm } from "./batch_mat_mul.ts";
import { fusedMatMulWasm } from "./fused_mat_mul.ts";
import { conv2dWasm, fusedConv2dWasm } from "./same_padding.ts";
import { maxPoolGradWasm } from "./max_pool_grad.ts";
import { tileWasm } from "./tile.ts";
import { meanWasm, sumWasm } from "./reduce.ts";
import { transposeWasm } from "./transpose.ts";
import { identityWasm } from "./identity.ts";
import { erfWasm } from "./erf.ts";
import { castWasm } from "./cast.ts";
import { captureOriginal } from "./heap.ts";

/** Kernel name → our implementation, for backend `wasm`. */
export const WASM_KERNELS: Readonly<Record<string, KernelFunc>> = {
  BatchMatMul: batchMatMulWasm as unknown as KernelFunc,
  Cast: castWasm as unknown as KernelFunc,
  Conv2D: conv2dWasm as unknown as KernelFunc,
  FusedConv2D: fusedConv2dWasm as unknown as KernelFunc,
  Conv2DBackpropFilter: conv2dBackpropFilterWasm as unknown as KernelFunc,
  Conv2DBackpropInput: conv2dBackpropInputWasm as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dBackpropFilterWasm as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dBackpropInputWasm as unknown as KernelFunc,
  Erf: erfWasm as unknown as KernelFunc,
  _FusedMatMul: fusedMatMulWasm as unknown as KernelFunc,
  Identity: identityWasm as unknown as KernelFunc,
  MaxPoolGrad: maxPoolGradWasm as unknown as KernelFunc,
  Mean: meanWasm as unknown as KernelFunc,
  Sum: sumWasm as unknown as KernelFunc,
  Tile: tileWasm as unknown as KernelFunc,
  Transpose: transposeWasm as unknown as KernelFunc,
  UnsortedSegmentSum: unsortedSegmentSumWasm as unknown as KernelFunc,
};

/** Kernels of tfjs-wasm ours call directly; captured before any override. */
const WRAPPED = [
  "BatchMatMul",
  "_FusedMatMul",
  "Transpose",
  "Conv2D",
  "FusedConv2D",
  "Tile",
  "Sum",
  "Mean",
  "Identity",
  "Erf",
  "Cast",
];

let registered = false;

/**
 * Register {@link WASM_KERNELS} for backend `wasm` (idempotent). Called by
 * `initBackend("wasm")`; call it yourself only when selecting wasm through tfjs directly.
 *
 * @example
 * ```ts
 * import { getKernel } from "@tensorflow/tfjs-core";
 * import { registerWasmKernels } from "@efficienttrain/backend-tfjs";
 * registerWasmKernels();
 * console.assert(getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
 * ```
 */
export function registerWasmKernels(): void {
  if (registered) return;
  for (const name of WRAPPED) captureOriginal(name);
  for (const [kernelName, kernelFunc] of Object.entries(WASM_KERNELS)) {
    const existing = getKernel(kernelName, "wasm");
    if (existing !== undefined) unregisterKernel(kernelName, "wasm");
    // Keep tfjs-wasm's set-up hook: it binds the C function the original kernel (which ours
    // still calls) needs, and runs when the wasm backend initialises.
    registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc,
      setupFunc: existing?.setupFunc,
      disposeFunc: existing?.disposeFunc,
    });
  }
  registered = true;
}

export { setWasmScratchBytes } from "./conv_geometry.ts";
